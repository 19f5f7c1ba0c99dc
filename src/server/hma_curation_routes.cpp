// The HMA-compatible surface's curation routes (/c): banks (HMA's CAPS names onto Vigil's lower
// case, enabled_ratio), their content (one Vigil entry per HMA content), signal and content types,
// and exchanges mapped onto Vigil's exchange clients (fb_threatexchange, ncmec, stop_ncii). Writes
// go through the store as the acting key, audited like /v1; what Vigil cannot honour is refused
// with a message saying so (docs/hma.md lists each).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>

#include "exchange/exchange_client.h"
#include "exchange/exchange_json.h"
#include "server/api_service.h"
#include "server/api_support.h"
#include "server/hma_shapes.h"
#include "vigil/clock.h"

namespace vigil::server {
namespace {

constexpr const char* kHmaSource = "hma-api";

boost::json::object HmaBankJson(const Bank& bank) {
  return {{"name", HmaBankName(bank.name)}, {"matching_enabled_ratio", bank.enabled ? bank.enabled_ratio : 0.0}};
}

// HMA's bank name rule, then Vigil's (no leading '_', at most 64 characters).
std::optional<Response> CheckNewBankName(const std::string& name) {
  if (name.empty() || !(name[0] == '_' || (name[0] >= 'A' && name[0] <= 'Z')) || !ValidHmaName(name)) {
    return HmaError(http::status::bad_request, "Bank names must be UPPER_WITH_UNDERSCORE");
  }
  if (name[0] == '_' || name.size() > 64) {
    return HmaError(http::status::bad_request,
                    "Vigil bank names start with a letter or digit and have at most 64 characters: '" + name.substr(0, 80) + "'");
  }
  return std::nullopt;
}

// A number or a numeric string (Coop sends enabled_ratio as a string) in [0, 1].
Result<double> ReadRatio(const boost::json::value& value) {
  double ratio = -1;
  if (value.is_number()) {
    ratio = value.to_number<double>();
  } else if (value.is_string()) {
    const std::string text(value.as_string());
    char* end = nullptr;
    ratio = std::strtod(text.c_str(), &end);
    if (text.empty() || end == nullptr || *end != '\0') return Fail(ErrorCode::kInvalidArgument, "Invalid float: '" + text.substr(0, 64) + "'");
  } else {
    return Fail(ErrorCode::kInvalidArgument, "enabled_ratio must be a number");
  }
  if (!(ratio >= 0 && ratio <= 1)) return Fail(ErrorCode::kInvalidArgument, "enabled_ratio must be between 0.0 and 1.0");
  return ratio;
}

// `enabled` as HMA's clients send it: a JSON boolean, or "true"/"false"/"1"/"0" (any case), or 1/0.
Result<bool> ReadEnabled(const boost::json::value& value) {
  if (value.is_bool()) return value.as_bool();
  if (value.is_int64() && (value.as_int64() == 0 || value.as_int64() == 1)) return value.as_int64() == 1;
  if (value.is_string()) return HmaBool(value.as_string());
  return Fail(ErrorCode::kInvalidArgument, "invalid boolean parameter - prefer true/false");
}

Result<boost::json::object> JsonObjectBody(const Request& request, std::size_t max_bytes) {
  auto body = ParseHmaJsonBody(request, max_bytes);
  if (!body) return tl::unexpected(body.error());
  if (!body->is_object()) return Fail(ErrorCode::kInvalidArgument, "this endpoint expects a json object payload");
  return body->as_object();
}

// HMA's exchange API names and Vigil's kinds.
struct ExchangeApiName {
  const char* name;   // HMA's
  const char* kind;   // Vigil's
  const char* env;    // where the service reads its credentials (docs/hma.md)
};
constexpr ExchangeApiName kExchangeApis[] = {
    {"fb_threatexchange", "threatexchange", "VIGIL_EXCHANGE_FB_THREATEXCHANGE"},
    {"ncmec", "ncmec", "VIGIL_EXCHANGE_NCMEC"},
    {"stop_ncii", "stopncii", "VIGIL_EXCHANGE_STOP_NCII"},
};

const ExchangeApiName* FindExchangeApi(std::string_view name) {
  for (const auto& api : kExchangeApis) {
    if (name == api.name) return &api;
  }
  return nullptr;
}

const ExchangeApiName* ApiForKind(std::string_view kind) {
  for (const auto& api : kExchangeApis) {
    if (kind == api.kind) return &api;
  }
  return nullptr;
}

boost::json::object CredentialStatus(const Exchange& x) {
  const bool set = x.credentials.rfind("env:", 0) == 0 ? std::getenv(x.credentials.substr(4).c_str()) != nullptr
                                                        : !x.credentials.empty();
  boost::json::object out{{"supports_auth", true}, {"has_credentials", set}};
  out["source"] = set ? boost::json::value(x.credentials.rfind("env:", 0) == 0 ? "environment" : "file") : nullptr;
  return out;
}

// GET /c/exchange/<name>: HMA's config object for the exchange.
boost::json::object HmaExchangeJson(const Exchange& x) {
  const ExchangeApiName* api = ApiForKind(x.kind);
  boost::json::object out{{"name", HmaBankName(x.name)},
                          {"api", api != nullptr ? api->name : x.kind},
                          {"enabled", x.enabled},
                          {"credential_status", CredentialStatus(x)}};
  auto settings = boost::json::parse(x.settings.empty() ? "{}" : x.settings);
  if (settings.is_object()) {
    const auto& s = settings.as_object();
    if (x.kind == "threatexchange") {
      if (const auto* group = s.if_contains("privacy_group")) {
        out["privacy_group"] = group->is_string() ? boost::json::value(std::strtoll(group->as_string().c_str(), nullptr, 10)) : *group;
      }
    } else if (x.kind == "ncmec") {
      if (const auto* base = s.if_contains("base_url")) out["environment"] = *base;
      else if (const auto* environment = s.if_contains("environment")) out["environment"] = *environment;
      out["only_esp_ids"] = boost::json::array{};
    }
  }
  return out;
}

// HMA's api_json onto Vigil's settings for each kind.
Result<boost::json::object> SettingsFromApiJson(const ExchangeApiName& api, const boost::json::object& api_json) {
  boost::json::object settings;
  for (const auto& [key, value] : api_json) {
    if (key == "name" || key == "api" || key == "enabled") continue;
    if (std::string_view(api.name) == "fb_threatexchange" && key == "privacy_group") {
      settings["privacy_group"] = value;
    } else if (std::string_view(api.name) == "ncmec" && key == "environment") {
      if (!value.is_string()) return Fail(ErrorCode::kInvalidArgument, "Failed to parse `api_json` - environment must be a string");
      const std::string environment(value.as_string());
      if (environment.rfind("https://", 0) == 0) settings["base_url"] = environment;
      else settings["environment"] = environment;
    } else if (std::string_view(api.name) == "ncmec" && key == "only_esp_ids") {
      if (!value.is_array() || !value.as_array().empty()) {
        return Fail(ErrorCode::kInvalidArgument,
                    "Failed to parse `api_json` - only_esp_ids is not supported by Vigil (docs/hma.md); send []");
      }
    } else {
      return Fail(ErrorCode::kInvalidArgument,
                  "Failed to parse `api_json` - unknown field '" + std::string(key).substr(0, 64) + "' for " + api.name);
    }
  }
  if (std::string_view(api.name) == "fb_threatexchange" && !settings.contains("privacy_group")) {
    return Fail(ErrorCode::kInvalidArgument, "Failed to parse `api_json` - missing value for field \"privacy_group\"");
  }
  if (std::string_view(api.name) == "ncmec" && !settings.contains("base_url") && !settings.contains("environment")) {
    return Fail(ErrorCode::kInvalidArgument, "Failed to parse `api_json` - missing value for field \"environment\"");
  }
  return settings;
}

constexpr const char* kNoSecrets =
    "Vigil does not take exchange secrets over its API: set the variable named in docs/hma.md "
    "in the service's environment";

}  // namespace

// ---- banks ----

Response ApiService::HmaListBanks(ApiCall&) {
  auto banks = store_.ListBanks();
  if (!banks) return HmaError(StatusFor(banks.error().code), banks.error().message);
  boost::json::array out;
  for (const auto& bank : *banks) out.push_back(HmaBankJson(bank));
  return HmaJson(http::status::ok, out);
}

Response ApiService::HmaCreateBank(ApiCall& call) {
  auto body = JsonObjectBody(call.request, options_.max_json_bytes);
  if (!body) return HmaError(http::status::bad_request, body.error().message);
  const auto* name = body->if_contains("name");
  if (name == nullptr || name->is_null()) return HmaError(http::status::bad_request, "name is required");
  if (!name->is_string()) return HmaError(http::status::bad_request, "Bank names must be UPPER_WITH_UNDERSCORE");
  const std::string hma_name(name->as_string());
  if (auto refused = CheckNewBankName(hma_name)) return std::move(*refused);
  double ratio = 1.0;
  if (const auto* r = body->if_contains("enabled_ratio"); r != nullptr && !r->is_null()) {
    auto read = ReadRatio(*r);
    if (!read) return HmaError(http::status::bad_request, read.error().message);
    ratio = *read;
  } else if (const auto* enabled = body->if_contains("enabled"); enabled != nullptr && !enabled->is_null()) {
    auto on = ReadEnabled(*enabled);
    if (!on) return HmaError(http::status::bad_request, on.error().message);
    ratio = *on ? 1.0 : 0.0;
  }
  Bank bank;
  bank.name = VigilBankName(hma_name);
  bank.description = "made through the HMA-compatible API";
  bank.enabled = ratio > 0;
  bank.enabled_ratio = ratio;
  auto created = store_.CreateBank(bank, call.actor);
  if (!created) {
    if (created.error().code == ErrorCode::kAlreadyExists) return HmaError(http::status::forbidden, "Bank already exists");
    return HmaError(StatusFor(created.error().code), created.error().message);
  }
  (void)matcher_.Refresh();
  return HmaJson(http::status::created, HmaBankJson(*created));
}

Response ApiService::HmaGetBank(ApiCall& call) {
  const std::string& name = call.path["bank_name"];
  auto bank = store_.GetBank(VigilBankName(name));
  if (!bank) {
    if (bank.error().code == ErrorCode::kNotFound) return HmaError(http::status::not_found, "bank '" + name + "' not found");
    return HmaError(StatusFor(bank.error().code), bank.error().message);
  }
  return HmaJson(http::status::ok, HmaBankJson(*bank));
}

Response ApiService::HmaUpdateBank(ApiCall& call) {
  auto body = JsonObjectBody(call.request, options_.max_json_bytes);
  if (!body) return HmaError(http::status::bad_request, body.error().message);
  const std::string vigil_name = VigilBankName(call.path["bank_name"]);
  auto bank = store_.GetBank(vigil_name);
  if (!bank) {
    if (bank.error().code == ErrorCode::kNotFound) return HmaError(http::status::not_found, "Bank not found");
    return HmaError(StatusFor(bank.error().code), bank.error().message);
  }
  BankUpdate update;
  if (const auto* name = body->if_contains("name"); name != nullptr && !name->is_null()) {
    if (!name->is_string()) return HmaError(http::status::bad_request, "Bank names must be UPPER_WITH_UNDERSCORE");
    const std::string renamed(name->as_string());
    if (VigilBankName(renamed) != vigil_name) {
      if (auto refused = CheckNewBankName(renamed)) return std::move(*refused);
      if (store_.GetBank(VigilBankName(renamed))) return HmaError(http::status::forbidden, "Bank name already exists");
      return HmaError(http::status::bad_request,
                      "Vigil does not rename banks (their names are in audit records, metrics and exchanges): "
                      "create a bank with the new name instead");
    }
  }
  if (const auto* enabled = body->if_contains("enabled"); enabled != nullptr && !enabled->is_null()) {
    auto on = ReadEnabled(*enabled);
    if (!on) return HmaError(http::status::bad_request, on.error().message);
    update.enabled = *on;
    update.enabled_ratio = *on ? 1.0 : 0.0;
  }
  if (const auto* r = body->if_contains("enabled_ratio"); r != nullptr && !r->is_null()) {
    auto read = ReadRatio(*r);
    if (!read) return HmaError(http::status::bad_request, read.error().message);
    update.enabled_ratio = *read;
    update.enabled = *read > 0;
  }
  auto updated = store_.UpdateBank(vigil_name, update, call.actor);
  if (!updated) return HmaError(StatusFor(updated.error().code), updated.error().message);
  (void)matcher_.Refresh();
  return HmaJson(http::status::ok, HmaBankJson(*updated));
}

Response ApiService::HmaDeleteBank(ApiCall& call) {
  // HMA answers "Done" for a bank that is not there too.
  if (auto deleted = store_.DeleteBank(VigilBankName(call.path["bank_name"]), call.actor);
      !deleted && deleted.error().code != ErrorCode::kNotFound) {
    return HmaError(deleted.error().code == ErrorCode::kAlreadyExists ? http::status::bad_request
                                                                      : StatusFor(deleted.error().code),
                    deleted.error().message);
  }
  (void)matcher_.Refresh();
  return HmaJson(http::status::ok, boost::json::object{{"message", "Done"}});
}

// ---- bank content ----

Response ApiService::HmaAddSignals(ApiCall& call, const Bank& bank, const std::map<std::string, std::string>& signals) {
  if (signals.empty()) return HmaError(http::status::bad_request, "No signals given");
  ImportRequest request;
  request.format = "hma";
  request.source = kHmaSource;
  request.actor = call.actor;
  boost::json::object stored;
  std::vector<std::pair<std::string, std::string>> values;
  for (const auto& [name, value] : signals) {
    const HmaSignalType* type = FindHmaSignalType(name);
    if (type == nullptr) return HmaError(http::status::bad_request, "No such signal type " + name.substr(0, 64));
    auto normalized = HmaValidateSignal(*type, value);
    if (!normalized) return HmaError(http::status::bad_request, "Invalid " + name + " signal: " + normalized.error().message);
    ImportOp op;
    op.kind = ImportOp::Kind::kAdd;
    op.signal_type = type->vigil_type;
    op.value = *normalized;
    op.provenance.source = kHmaSource;
    op.provenance.member = call.actor;
    op.line = static_cast<std::int64_t>(request.ops.size() + 1);
    request.ops.push_back(std::move(op));
    stored[name] = *normalized;
    values.emplace_back(type->vigil_type, *normalized);
  }
  auto imported = store_.Import(bank.name, std::move(request));
  if (!imported) return HmaError(StatusFor(imported.error().code), imported.error().message);
  metrics_.CountImport(bank.name, "applied", imported->added, imported->removed);
  (void)AfterImport(bank.name, *imported);
  // The content's id: its first signal's entry (new, or the live one already there).
  auto entries = store_.FindLiveEntries(bank.name, {values.front()});
  if (!entries || entries->empty()) {
    return HmaError(http::status::bad_request, "the signal was not added: the bank overrides it (a disabled entry)");
  }
  return HmaJson(http::status::ok, boost::json::object{{"id", entries->front().id}, {"signals", std::move(stored)}});
}

Result<ImportResult> ApiService::HmaRemoveEntry(ApiCall& call, const Bank& bank, const BankEntry& entry) {
  ImportRequest request;
  request.format = "hma";
  request.source = kHmaSource;
  request.actor = call.actor;
  ImportOp op;
  op.kind = ImportOp::Kind::kRemove;
  op.signal_type = entry.signal_type;
  op.value = entry.value;
  op.line = 1;
  request.ops.push_back(std::move(op));
  auto imported = store_.Import(bank.name, std::move(request));
  if (imported) (void)AfterImport(bank.name, *imported);
  return imported;
}

Response ApiService::HmaAddSignal(ApiCall& call) {
  const std::string& name = call.path["bank_name"];
  auto bank = store_.GetBank(VigilBankName(name));
  if (!bank) return HmaError(http::status::not_found, "bank '" + name + "' not found");
  auto body = JsonObjectBody(call.request, options_.max_json_bytes);
  if (!body) return HmaError(http::status::bad_request, body.error().message);
  std::map<std::string, std::string> signals;
  for (const auto& [type, value] : *body) {
    if (type == "note") continue;
    if (!value.is_string()) return HmaError(http::status::bad_request, "Invalid " + std::string(type).substr(0, 64) + " signal: not a string");
    signals[std::string(type)] = std::string(value.as_string());
  }
  return HmaAddSignals(call, *bank, signals);
}

Response ApiService::HmaAddContent(ApiCall& call) {
  const std::string& name = call.path["bank_name"];
  auto bank = store_.GetBank(VigilBankName(name));
  if (!bank) return HmaError(http::status::not_found, "bank '" + name + "' not found");
  const bool from_url = !call.query["url"].empty();
  if (!from_url && MediaType(call.request) != "multipart/form-data") {
    return HmaError(http::status::bad_request, "Neither `url` nor multipart file upload was received");
  }
  auto hashed = HmaHashMedia(call, from_url, false);
  if (auto* error = std::get_if<Response>(&hashed)) return std::move(*error);
  return HmaAddSignals(call, *bank, std::get<HmaHashed>(hashed).signals);
}

Response ApiService::HmaGetContent(ApiCall& call) {
  const std::string& name = call.path["bank_name"];
  auto bank = store_.GetBank(VigilBankName(name));
  if (!bank) return HmaError(http::status::not_found, "bank '" + name + "' not found");
  const std::string& id_text = call.path["content_id"];
  auto id = PathIdParam(call.path, "content_id");
  if (!id) return HmaError(http::status::not_found, "content '" + id_text.substr(0, 32) + "' not found");
  auto entries = store_.GetEntries({*id});
  if (!entries || entries->empty() || entries->front().bank_id != bank->id) {
    return HmaError(http::status::not_found, "content '" + id_text + "' not found");
  }
  const BankEntry& entry = entries->front();
  boost::json::object out{{"id", entry.id},
                          {"disable_until_ts", entry.removed_at ? 0 : 1},
                          {"original_media_uri", nullptr},
                          {"bank", HmaBankJson(*bank)}};
  if (call.query["include_signals"] == "true" || call.query["include_signals"] == "True") {
    for (const auto& type : HmaSignalTypes()) {
      if (type.vigil_type == entry.signal_type) out["signals"] = boost::json::object{{type.name, entry.value}};
    }
  }
  return HmaJson(http::status::ok, out);
}

Response ApiService::HmaUpdateContent(ApiCall& call) {
  const std::string& name = call.path["bank_name"];
  auto bank = store_.GetBank(VigilBankName(name));
  if (!bank) return HmaError(http::status::not_found, "bank '" + name + "' not found");
  auto id = PathIdParam(call.path, "content_id");
  auto entries = id ? store_.GetEntries({*id}) : Result<std::vector<BankEntry>>(std::vector<BankEntry>{});
  if (!entries || entries->empty() || entries->front().bank_id != bank->id) {
    return HmaError(http::status::not_found, "content '" + call.path["content_id"].substr(0, 32) + "' not found");
  }
  BankEntry entry = entries->front();
  auto body = JsonObjectBody(call.request, options_.max_json_bytes);
  if (!body) return HmaError(http::status::bad_request, body.error().message);
  if (const auto* ts = body->if_contains("disable_until_ts"); ts != nullptr && !ts->is_null()) {
    std::int64_t until = -1;
    if (ts->is_int64()) until = ts->as_int64();
    else if (ts->is_string()) until = std::strtoll(ts->as_string().c_str(), nullptr, 10);
    else return HmaError(http::status::bad_request, "Invalid int: '" + boost::json::serialize(*ts).substr(0, 32) + "'");
    if (until < 0) return HmaError(http::status::bad_request, "disable_until_ts must be a non-negative integer");
    const std::int64_t now = SystemClock().NowMicros() / 1'000'000;
    if (until > now + 5ll * 365 * 86400) {
      return HmaError(http::status::bad_request, "disable_until_ts must be less than 5 years in the future");
    }
    const bool disable = until == 0 || until > now;
    if (disable && until != 0) {
      return HmaError(http::status::bad_request,
                      "Vigil does not disable content until a time: send disable_until_ts 0 to remove it from the bank "
                      "(a record is kept), or use POST /v1/entries/{id}/disable for a reviewer's override");
    }
    if (disable && !entry.removed_at) {
      auto removed = HmaRemoveEntry(call, *bank, entry);
      if (!removed) return HmaError(StatusFor(removed.error().code), removed.error().message);
      entry.removed_at = SystemClock().NowMicros();
    } else if (!disable && entry.removed_at) {
      return HmaError(http::status::bad_request,
                      "the content was removed from the bank; add its signal again (POST /c/bank/<bank>/signal)");
    }
  }
  boost::json::object out{{"id", entry.id},
                          {"disable_until_ts", entry.removed_at ? 0 : 1},
                          {"collab_metadata", boost::json::object{}},
                          {"original_media_uri", nullptr},
                          {"note", nullptr},
                          {"user_metadata", nullptr},
                          {"bank", HmaBankJson(*bank)}};
  return HmaJson(http::status::ok, out);
}

Response ApiService::HmaDeleteContent(ApiCall& call) {
  const std::string& name = call.path["bank_name"];
  auto bank = store_.GetBank(VigilBankName(name));
  if (!bank) return HmaError(http::status::not_found, "bank '" + name + "' not found");
  auto id = PathIdParam(call.path, "content_id");
  auto entries = id ? store_.GetEntries({*id}) : Result<std::vector<BankEntry>>(std::vector<BankEntry>{});
  if (!entries || entries->empty() || entries->front().bank_id != bank->id || entries->front().removed_at) {
    return HmaJson(http::status::ok, boost::json::object{{"deleted", 0}});
  }
  auto removed = HmaRemoveEntry(call, *bank, entries->front());
  if (!removed) return HmaError(StatusFor(removed.error().code), removed.error().message);
  return HmaJson(http::status::ok, boost::json::object{{"deleted", removed->removed > 0 ? 1 : 0}});
}

// ---- signal and content types ----

Response ApiService::HmaListSignalTypes(ApiCall&) {
  boost::json::array out;
  for (const auto& type : HmaSignalTypes()) out.push_back(boost::json::object{{"name", type.name}, {"enabled_ratio", 1.0}});
  return HmaJson(http::status::ok, out);
}

Response ApiService::HmaUpdateSignalType(ApiCall& call) {
  const std::string& name = call.path["signal_type_name"];
  if (FindHmaSignalType(name) == nullptr) return HmaError(http::status::bad_request, "No such signal type '" + name.substr(0, 64) + "'");
  auto body = JsonObjectBody(call.request, options_.max_json_bytes);
  if (!body) return HmaError(http::status::bad_request, body.error().message);
  const auto* r = body->if_contains("enabled_ratio");
  if (r == nullptr || r->is_null()) return HmaError(http::status::bad_request, "enabled_ratio is required");
  auto ratio = ReadRatio(*r);
  if (!ratio) return HmaError(http::status::bad_request, ratio.error().message);
  // In HMA every ratio from 0 to 1 leaves the type enabled; Vigil's signal types are always on.
  return Response{http::status::no_content, 11};
}

Response ApiService::HmaSignalTypeIndex(ApiCall& call) {
  auto types = HmaTypesQueried(call.query);
  if (!types) return HmaError(http::status::bad_request, types.error().message);
  // Vigil's index follows the store continuously: its size is the store's live entries.
  const auto stats = matcher_.Stats();
  const std::int64_t synced = index_synced_at_.load() / 1'000'000;
  boost::json::object out;
  for (const HmaSignalType* type : *types) {
    const auto size = HmaIndexSize(stats, *type);
    out[type->name] = boost::json::object{{"db_size", size},
                                          {"index_size", size},
                                          {"index_out_of_date", !ready_.load()},
                                          {"newest_db_item", synced > 0 ? synced : -1},
                                          {"index_built_to", synced > 0 ? synced : -1}};
  }
  return HmaJson(http::status::ok, out);
}

Response ApiService::HmaListContentTypes(ApiCall&) {
  boost::json::array out;
  for (const auto& type : HmaContentTypes()) out.push_back(boost::json::object{{"name", type.name}, {"enabled", true}});
  return HmaJson(http::status::ok, out);
}

// ---- exchanges ----

Response ApiService::HmaExchangeApis(ApiCall&) {
  boost::json::array out;
  for (const auto& api : kExchangeApis) out.emplace_back(api.name);
  return HmaJson(http::status::ok, out);
}

Response ApiService::HmaExchangeApi(ApiCall& call) {
  const std::string& name = call.path["api_name"];
  const ExchangeApiName* api = FindExchangeApi(name);
  if (api == nullptr) return HmaError(http::status::bad_request, "no such Exchange API '" + name.substr(0, 64) + "'");
  if (call.request.method() == http::verb::post) {
    auto body = JsonObjectBody(call.request, options_.max_json_bytes);
    if (!body) return HmaError(http::status::bad_request, body.error().message);
    if (const auto* creds = body->if_contains("credential_json"); creds != nullptr && !creds->is_null()) {
      return HmaError(http::status::bad_request, std::string(kNoSecrets) + " (" + api->env + ")");
    }
  }
  return HmaJson(http::status::ok, boost::json::object{{"supports_authentification", true},
                                                       {"has_set_authentification", std::getenv(api->env) != nullptr}});
}

Response ApiService::HmaExchangeApiSchema(ApiCall& call) {
  const std::string& name = call.path["api_name"];
  const ExchangeApiName* api = FindExchangeApi(name);
  if (api == nullptr) return HmaError(http::status::not_found, "Exchange API '" + name.substr(0, 64) + "' not found");
  auto field = [](const char* field_name, const char* type, bool required, const char* help) {
    return boost::json::object{{"name", field_name}, {"type", type}, {"required", required},
                               {"default", nullptr},  {"help", help}, {"choices", nullptr}};
  };
  boost::json::array config;
  if (std::string_view(api->name) == "fb_threatexchange") {
    config.push_back(field("privacy_group", "number", true, "ThreatPrivacyGroup ID for this collaboration"));
  } else if (std::string_view(api->name) == "ncmec") {
    config.push_back(field("environment", "string", true,
                           "NCMEC's hash sharing environment: its URL, or a name Vigil knows (docs/exchanges.md)"));
  }
  boost::json::array credentials{field("secret", "string", true, "read from the service's environment, never sent (docs/hma.md)")};
  return HmaJson(http::status::ok,
                 boost::json::object{{"config_schema", boost::json::object{{"fields", std::move(config)}}},
                                     {"credentials_schema", boost::json::object{{"fields", std::move(credentials)}}}});
}

Response ApiService::HmaCreateExchange(ApiCall& call) {
  auto body = JsonObjectBody(call.request, options_.max_json_bytes);
  if (!body) return HmaError(http::status::bad_request, body.error().message);
  const auto* bank_name = body->if_contains("bank");
  if (bank_name == nullptr || bank_name->is_null()) return HmaError(http::status::bad_request, "bank is required");
  if (!bank_name->is_string() || !ValidHmaName(bank_name->as_string())) {
    return HmaError(http::status::bad_request, "Field `bank` must match /^[A-Z0-9_]+$/");
  }
  const std::string name(bank_name->as_string());
  boost::json::object api_json;
  if (const auto* j = body->if_contains("api_json"); j != nullptr && !j->is_null()) {
    if (!j->is_object()) return HmaError(http::status::bad_request, "Field `api_json` must be object");
    api_json = j->as_object();
  }
  const auto* api_name = body->if_contains("api");
  if (api_name == nullptr || !api_name->is_string()) return HmaError(http::status::bad_request, "Field `api_type` is required");
  const ExchangeApiName* api = FindExchangeApi(api_name->as_string());
  if (api == nullptr) {
    return HmaError(http::status::bad_request, "No such exchange type '" + std::string(api_name->as_string()).substr(0, 64) + "'");
  }
  if (const auto* creds = body->if_contains("credential_json");
      creds != nullptr && !creds->is_null() && !(creds->is_object() && creds->as_object().empty())) {
    return HmaError(http::status::bad_request, std::string(kNoSecrets) + " (" + api->env + ")");
  }
  if (auto refused = CheckNewBankName(name)) return std::move(*refused);
  auto settings = SettingsFromApiJson(*api, api_json);
  if (!settings) return HmaError(http::status::bad_request, settings.error().message);
  Exchange x;
  x.name = VigilBankName(name);
  x.kind = api->kind;
  x.bank = x.name;
  x.enabled = true;
  if (const auto* enabled = api_json.if_contains("enabled"); enabled != nullptr && enabled->is_bool()) x.enabled = enabled->as_bool();
  x.settings = boost::json::serialize(*settings);
  x.credentials = std::string("env:") + api->env;
  if (auto checked = exchange::CheckExchangeSettings(x); !checked) {
    return HmaError(http::status::bad_request, "Failed to parse `api_json` - " + checked.error().message);
  }
  if (auto allowed = CheckExchangeHost(x); !allowed) return HmaError(http::status::bad_request, allowed.error().message);
  // HMA makes the exchange's bank with it, of the same name.
  Bank bank;
  bank.name = x.bank;
  bank.description = std::string("kept in sync by the ") + api->name + " exchange (made through the HMA-compatible API)";
  auto created_bank = store_.CreateBank(bank, call.actor);
  if (!created_bank) {
    if (created_bank.error().code == ErrorCode::kAlreadyExists) return HmaError(http::status::forbidden, "Bank already exists");
    return HmaError(StatusFor(created_bank.error().code), created_bank.error().message);
  }
  auto created = store_.Exchanges().CreateExchange(x, call.actor);
  if (!created) {
    (void)store_.DeleteBank(x.bank, call.actor);
    return HmaError(StatusFor(created.error().code), created.error().message);
  }
  (void)matcher_.Refresh();
  return HmaJson(http::status::created, boost::json::object{{"message", "Created successfully"}});
}

Response ApiService::HmaListExchanges(ApiCall&) {
  auto exchanges = store_.Exchanges().ListExchanges();
  if (!exchanges) return HmaError(StatusFor(exchanges.error().code), exchanges.error().message);
  boost::json::array out;
  for (const auto& x : *exchanges) out.emplace_back(HmaBankName(x.name));
  return HmaJson(http::status::ok, out);
}

Response ApiService::HmaGetExchange(ApiCall& call) {
  const std::string& name = call.path["exchange_name"];
  auto x = store_.Exchanges().GetExchange(VigilBankName(name));
  if (!x) return HmaError(http::status::not_found, "Exchange '" + name + "' not found");
  return HmaJson(http::status::ok, HmaExchangeJson(*x));
}

Response ApiService::HmaUpdateExchange(ApiCall& call) {
  const std::string& name = call.path["exchange_name"];
  auto x = store_.Exchanges().GetExchange(VigilBankName(name));
  if (!x) return HmaError(http::status::not_found, "Exchange '" + name + "' not found");
  auto body = JsonObjectBody(call.request, options_.max_json_bytes);
  if (!body) return HmaError(http::status::bad_request, body.error().message);
  ExchangeUpdate update;
  if (const auto* enabled = body->if_contains("enabled"); enabled != nullptr && !enabled->is_null()) {
    auto on = ReadEnabled(*enabled);
    if (!on) return HmaError(http::status::bad_request, on.error().message);
    update.enabled = *on;
  }
  auto updated = store_.Exchanges().UpdateExchange(x->name, update, call.actor);
  if (!updated) return HmaError(StatusFor(updated.error().code), updated.error().message);
  // HMA's own answer here is broken (its config's key names run together); this is its config.
  return HmaJson(http::status::ok, HmaExchangeJson(*updated));
}

Response ApiService::HmaDeleteExchange(ApiCall& call) {
  const std::string vigil_name = VigilBankName(call.path["exchange_name"]);
  auto x = store_.Exchanges().GetExchange(vigil_name);
  if (x) {
    if (auto deleted = store_.Exchanges().DeleteExchange(vigil_name, call.actor); !deleted) {
      return HmaError(StatusFor(deleted.error().code), deleted.error().message);
    }
    // And its bank, as HMA's does.
    if (auto deleted = store_.DeleteBank(x->bank, call.actor); !deleted && deleted.error().code != ErrorCode::kNotFound) {
      spdlog::warn(R"("msg":"exchange bank not deleted","bank":{},"error":{})", boost::json::serialize(boost::json::value(x->bank)),
                   boost::json::serialize(boost::json::value(deleted.error().ToString())));
    }
    (void)matcher_.Refresh();
  }
  return HmaJson(http::status::ok, boost::json::object{{"message", "Exchange deleted"}});
}

Response ApiService::HmaExchangeStatus(ApiCall& call) {
  const std::string& name = call.path["exchange_name"];
  auto x = store_.Exchanges().GetExchange(VigilBankName(name));
  if (!x) return HmaError(http::status::not_found, "Exchange '" + name + "' not found");
  const ExchangeStatus& s = x->status;
  const std::int64_t now = SystemClock().NowMicros();
  auto seconds = [](const std::optional<std::int64_t>& micros) {
    return micros ? boost::json::value(*micros / 1'000'000) : boost::json::value(nullptr);
  };
  boost::json::object out{{"checkpoint_ts", seconds(s.newest_item_at)},
                          {"fetched_items", s.total_fetched},
                          {"last_fetch_complete_ts", seconds(s.last_run_at)},
                          {"up_to_date", s.last_ok && s.last_run_at.has_value()}};
  out["last_fetch_succeeded"] = s.last_run_at ? boost::json::value(s.last_ok) : boost::json::value(nullptr);
  const bool running = !s.lease_holder.empty() && s.lease_until > now;
  out["running_fetch_start_ts"] = running ? seconds(s.last_run_at) : boost::json::value(nullptr);
  return HmaJson(http::status::ok, out);
}

Response ApiService::HmaExchangeCredentials(ApiCall& call) {
  const std::string& name = call.path["exchange_name"];
  auto x = store_.Exchanges().GetExchange(VigilBankName(name));
  if (!x) return HmaError(http::status::not_found, "Exchange '" + name + "' not found");
  if (call.request.method() == http::verb::post) {
    auto body = JsonObjectBody(call.request, options_.max_json_bytes);
    if (!body || !body->contains("credential_json")) {
      return HmaError(http::status::bad_request, "this endpoint expects a json object with `credential_json`");
    }
    const auto& creds = body->at("credential_json");
    if (!creds.is_null() && !(creds.is_object() && creds.as_object().empty())) {
      const ExchangeApiName* api = ApiForKind(x->kind);
      return HmaError(http::status::bad_request, std::string(kNoSecrets) + " (" + (api != nullptr ? api->env : "VIGIL_EXCHANGE_*") + ")");
    }
  }
  return HmaJson(http::status::ok, CredentialStatus(*x));
}

}  // namespace vigil::server

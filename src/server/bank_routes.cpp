// Routes for banks: list, create, show, update, delete; import a list; page through entries;
// the import log; export as CSV.
#include <algorithm>
#include <cctype>
#include <spdlog/spdlog.h>

#include <charconv>
#include <sstream>

#include "server/api_service.h"
#include "workflow/decision_workflow.h"
#include "server/api_support.h"
#include "vigil/hash_list.h"

namespace vigil::server {
namespace {

// Reads the optional bank fields of a create or update body.
Result<BankUpdate> ReadBankFields(const boost::json::object& body, bool creating) {
  BankUpdate update;
  for (const auto& [key, value] : body) {
    if (key == "name") continue;
    if (key == "negative") {
      if (creating) continue;  // read by CreateBank
      return Fail(ErrorCode::kInvalidArgument, "negative is set when a bank is made, not changed after");
    }
    if (key == "description") {
      if (!value.is_string() || value.as_string().size() > 4096) {
        return Fail(ErrorCode::kInvalidArgument, "description must be a string of at most 4096 characters");
      }
      update.description = std::string(value.as_string());
    } else if (key == "labels") {
      if (!value.is_array() || value.as_array().size() > 64) {
        return Fail(ErrorCode::kInvalidArgument, "labels must be an array of at most 64 strings");
      }
      std::vector<std::string> labels;
      for (const auto& label : value.as_array()) {
        if (!label.is_string() || label.as_string().empty() || label.as_string().size() > 64) {
          return Fail(ErrorCode::kInvalidArgument, "each label must be a string of 1-64 characters");
        }
        labels.emplace_back(label.as_string());
      }
      update.labels = std::move(labels);
    } else if (key == "category") {
      if (!value.is_string()) return Fail(ErrorCode::kInvalidArgument, "category must be a string (a taxonomy id such as csam)");
      update.category = std::string(value.as_string());
    } else if (key == "enabled" || key == "match_dihedral" || key == "match_trimmed") {
      if (!value.is_bool()) return Fail(ErrorCode::kInvalidArgument, std::string(key) + " must be true or false");
      (key == "enabled" ? update.enabled : key == "match_dihedral" ? update.match_dihedral : update.match_trimmed) =
          value.as_bool();
    } else if (key == "enabled_ratio") {
      const auto ratio = value.is_number() ? value.to_number<double>() : -1.0;
      if (!(ratio >= 0 && ratio <= 1)) {
        return Fail(ErrorCode::kInvalidArgument, "enabled_ratio must be a number from 0 to 1");
      }
      update.enabled_ratio = ratio;
    } else if (key == "pdq_max_distance" || key == "pdq_min_quality") {
      if (!value.is_int64()) return Fail(ErrorCode::kInvalidArgument, std::string(key) + " must be an integer");
      const int number = static_cast<int>(std::clamp<std::int64_t>(value.as_int64(), -1, 1000));
      (key == "pdq_max_distance" ? update.pdq_max_distance : update.pdq_min_quality) = number;
    } else {
      return Fail(ErrorCode::kInvalidArgument, "unknown field '" + std::string(key).substr(0, 64) + "'");
    }
  }
  return update;
}

}  // namespace

Response ApiService::ListBanks(ApiCall&) {
  auto banks = store_.ListBanks();
  if (!banks) return ErrorResponse(banks.error());
  boost::json::array out;
  for (const auto& bank : *banks) out.push_back(BankJson(bank));
  return JsonResponse(http::status::ok, boost::json::object{{"banks", std::move(out)}});
}

Response ApiService::CreateBank(ApiCall& call) {
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  const auto* name = body->if_contains("name");
  if (name == nullptr || !name->is_string()) {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "a string 'name' is required");
  }
  auto fields = ReadBankFields(*body, true);
  if (!fields) return ErrorResponse(fields.error());
  Bank bank;
  bank.name = std::string(name->as_string());
  bank.description = fields->description.value_or("");
  bank.labels = fields->labels.value_or(std::vector<std::string>{});
  bank.category = fields->category.value_or("");
  bank.enabled = fields->enabled.value_or(true);
  bank.enabled_ratio = fields->enabled_ratio.value_or(1.0);
  bank.pdq_max_distance = fields->pdq_max_distance.value_or(31);
  bank.pdq_min_quality = fields->pdq_min_quality.value_or(50);
  bank.match_dihedral = fields->match_dihedral.value_or(false);
  bank.match_trimmed = fields->match_trimmed.value_or(false);
  if (const auto* negative = body->if_contains("negative")) {
    if (!negative->is_bool()) return ErrorResponse(http::status::bad_request, "invalid_argument", "negative must be true or false");
    bank.negative = negative->as_bool();
  }
  auto created = store_.CreateBank(bank, call.actor);
  if (!created) return ErrorResponse(created.error());
  (void)matcher_.Refresh();
  return JsonResponse(http::status::created, BankJson(*created));
}

Response ApiService::GetBank(ApiCall& call) {
  auto bank = store_.GetBank(call.path["name"]);
  if (!bank) return ErrorResponse(bank.error());
  return JsonResponse(http::status::ok, BankJson(*bank));
}

Response ApiService::PatchBank(ApiCall& call) {
  auto body = ParseJsonObject(call.request, options_.max_json_bytes);
  if (!body) return ErrorResponse(body.error());
  if (body->contains("name")) {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "a bank cannot be renamed");
  }
  auto fields = ReadBankFields(*body, false);
  if (!fields) return ErrorResponse(fields.error());
  auto updated = store_.UpdateBank(call.path["name"], *fields, call.actor);
  if (!updated) return ErrorResponse(updated.error());
  (void)matcher_.Refresh();
  return JsonResponse(http::status::ok, BankJson(*updated));
}

Response ApiService::DeleteBank(ApiCall& call) {
  if (auto deleted = store_.DeleteBank(call.path["name"], call.actor); !deleted) return ErrorResponse(deleted.error());
  (void)matcher_.Refresh();
  Response response{http::status::no_content, 11};
  return response;
}

Response ApiService::ImportList(ApiCall& call) {
  const std::string bank = call.path["name"];
  const std::string format = call.query.count("format") != 0 ? call.query["format"] : "csv";
  ListParseOptions options;
  // Without a name, the list is named after the import itself: "api import by KEY" (an entry's
  // provenance must not read as if it came from an upload).
  options.source = call.query.count("source") != 0 ? call.query["source"].substr(0, 256) : "api import by " + call.actor;
  if (call.query.count("signal_type") != 0) options.signal_type = call.query["signal_type"];
  if (call.query.count("external_id") != 0) options.external_id = call.query["external_id"];
  if (call.query.count("classification") != 0) options.classification = call.query["classification"];
  // The line formats are read op by op from the body while the import runs: the parsed list is
  // never held whole. A bad line fails the import (logged as rejected by the store).
  auto reader = OpenHashList(format, call.request.body(), options);
  ImportRequest request;
  request.format = format;
  request.source = options.source;
  request.actor = call.actor;
  if (!reader) {
    // Logged, so the import log shows every attempt; a missing bank is a 404 either way.
    metrics_.CountImport(bank, "rejected", 0, 0);
    if (auto logged = store_.LogRejectedImport(bank, request, reader.error().message);
        !logged && logged.error().code == ErrorCode::kNotFound) {
      return ErrorResponse(logged.error());
    }
    return ErrorResponse(reader.error());
  }
  HashListReader& list = **reader;
  request.more_ops = [&list](ImportOp& op) { return list.Next(op); };
  request.checkpoint = list.checkpoint();
  if (call.query.count("checkpoint") != 0) request.checkpoint = call.query["checkpoint"].substr(0, 256);
  const auto checkpoint = request.checkpoint;
  auto imported = store_.Import(bank, std::move(request));
  const std::int64_t skipped = list.skipped();
  std::string().swap(call.request.body());  // read: the list's bytes go before the index refresh
  if (!imported) {
    metrics_.CountImport(bank, "rejected", 0, 0);
    return ErrorResponse(imported.error());
  }
  metrics_.CountImport(bank, "applied", imported->added, imported->removed);
  boost::json::object out{{"import_id", imported->import_id}, {"added", imported->added},
                          {"removed", imported->removed},     {"relabelled", imported->relabelled},
                          {"unchanged", imported->unchanged}, {"skipped", skipped},
                          {"overridden", imported->overridden}};
  out["checkpoint"] = checkpoint ? boost::json::value(*checkpoint) : nullptr;
  if (auto retro = AfterImport(bank, *imported); !retro.is_null()) out["retroactive"] = std::move(retro);
  return JsonResponse(http::status::ok, out);
}

boost::json::value ApiService::AfterImport(const std::string& bank, const ImportResult& imported) {
  if (auto refreshed = matcher_.Refresh(); !refreshed) {
    spdlog::error(R"("msg":"matcher refresh after import failed","error":{})",
                  boost::json::serialize(boost::json::value(refreshed.error().ToString())));
  }
  RefreshIndexGauges();
  if (retro_ == nullptr) return nullptr;
  // The new entries against the uploads of the look-back window (retroactive matching).
  auto found = store_.GetBank(bank);
  auto retro = found ? retro_->MatchNewEntries(*found, imported.added_entries)
                     : Result<RetroMatchResult>(tl::unexpected(found.error()));
  if (!retro) {
    spdlog::error(R"("msg":"retroactive matching failed","bank":{},"error":{})", boost::json::serialize(boost::json::value(bank)),
                  boost::json::serialize(boost::json::value(retro.error().ToString())));
    return boost::json::object{{"error", retro.error().ToString()}};
  }
  metrics_.CountLateMatches(bank, retro->matches_recorded, retro->failed);
  return RetroMatchJson(*retro);
}

// A file added to a bank by its bytes: hashed in the decoder sandbox like an upload (nothing of it
// is kept), its PDQ, SHA-256 and MD5 (a video's vPDQ) listed with the provenance the query gives,
// then searched against past uploads like any import.
Response ApiService::AddBankMedia(ApiCall& call) {
  const std::string bank = call.path["name"];
  auto found = store_.GetBank(bank);
  if (!found) return ErrorResponse(found.error());
  const auto type = MediaType(call.request);
  if (type.rfind("image/", 0) != 0 && type.rfind("video/", 0) != 0 && type != "application/octet-stream") {
    return ErrorResponse(http::status::unsupported_media_type, "unsupported",
                         "Content-Type must be image/*, video/* or application/octet-stream");
  }
  if (call.request.body().empty()) return ErrorResponse(http::status::bad_request, "invalid_argument", "empty body: send the media bytes");
  UploadRequest upload;
  upload.content_id = "bank-media";
  upload.bytes = std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(call.request.body().data()),
                                               call.request.body().size());
  auto described = uploads_.Describe(upload);  // hashed only: its matches do not matter here
  if (!described) return ErrorResponse(described.error());
  for (const char* name : {"source", "member", "external_id", "classification"}) {
    const std::string& value = call.query[name];
    if (value.size() > 256 || std::any_of(value.begin(), value.end(), [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
      return ErrorResponse(http::status::bad_request, "invalid_argument",
                           std::string(name) + ": at most 256 characters, no control characters");
    }
  }
  ImportRequest request;
  request.format = "media";
  request.source = call.query["source"].empty() ? "media added by " + call.actor : call.query["source"];
  request.actor = call.actor;
  const Provenance provenance{request.source, call.query["member"].empty() ? "platform" : call.query["member"],
                              call.query["external_id"], call.query["classification"]};
  // Values the bank lists already are left as they are: adding a file never relabels another
  // list's entries (an import of that list would).
  auto listed_values = ListedValues(*described);
  std::vector<std::pair<std::string, std::string>> values;
  for (const auto& v : listed_values) values.emplace_back(v.type, v.value);
  auto live_before = store_.FindLiveEntries(bank, values);
  if (!live_before) return ErrorResponse(live_before.error());
  std::set<std::pair<std::string, std::string>> listed_already;
  for (const auto& e : *live_before) listed_already.emplace(e.signal_type, e.value);
  for (auto& listed : listed_values) {
    if (listed_already.contains({listed.type, listed.value})) continue;
    ImportOp op;
    op.kind = ImportOp::Kind::kAdd;
    op.signal_type = listed.type;
    op.value = listed.value;
    op.payload = std::move(listed.payload);
    op.provenance = provenance;
    op.line = static_cast<std::int64_t>(request.ops.size() + 1);
    request.ops.push_back(std::move(op));
  }
  boost::json::object out{{"added", 0},
                          {"listed_already", listed_already.size()},
                          {"media_type", described->media_type}};
  if (!request.ops.empty()) {
    auto imported = store_.Import(bank, std::move(request));
    if (!imported) return ErrorResponse(imported.error());
    metrics_.CountImport(bank, "applied", imported->added, imported->removed);
    out["import_id"] = imported->import_id;
    out["added"] = imported->added;
    out["overridden"] = imported->overridden;
    if (auto retro = AfterImport(bank, *imported); !retro.is_null()) out["retroactive"] = std::move(retro);
  }
  boost::json::array entries;
  if (auto live = store_.FindLiveEntries(bank, values)) {
    for (const auto& e : *live) entries.push_back(boost::json::object{{"id", e.id}, {"signal_type", e.signal_type}, {"value", e.value}});
  }
  out["entries"] = std::move(entries);
  return JsonResponse(http::status::created, out);
}

Response ApiService::ListEntries(ApiCall& call) {
  auto after = QueryInt(call.query, "after", 0, 0, INT64_MAX);
  auto limit = QueryInt(call.query, "limit", 1000, 1, 10000);
  if (!after) return ErrorResponse(after.error());
  if (!limit) return ErrorResponse(limit.error());
  const bool removed = call.query["include_removed"] == "true";
  // ?value=, ?external_id=, ?classification=: a curator's search (exact values).
  Store::EntrySearch search{call.query["value"], call.query["external_id"], call.query["classification"], *after,
                            static_cast<int>(*limit), removed};
  // Hashes are stored in lower-case hex.
  std::transform(search.value.begin(), search.value.end(), search.value.begin(), [](unsigned char c) { return std::tolower(c); });
  const bool searching = !search.value.empty() || !search.external_id.empty() || !search.classification.empty();
  auto entries = searching ? store_.SearchEntries(call.path["name"], search)
                           : store_.ListEntries(call.path["name"], *after, static_cast<int>(*limit), removed);
  if (!entries) return ErrorResponse(entries.error());
  boost::json::array out;
  for (const auto& entry : *entries) out.push_back(EntryJson(entry));
  boost::json::object body{{"entries", std::move(out)}};
  body["next_after"] = static_cast<std::int64_t>(entries->size()) == *limit ? boost::json::value(entries->back().id)
                                                                            : boost::json::value(nullptr);
  return JsonResponse(http::status::ok, body);
}

Response ApiService::ListImports(ApiCall& call) {
  auto imports = store_.ListImports(call.path["name"]);
  if (!imports) return ErrorResponse(imports.error());
  boost::json::array out;
  for (const auto& record : *imports) {
    boost::json::object item{{"id", record.id},         {"format", record.format},   {"source", record.source},
                             {"actor", record.actor},   {"status", record.status},   {"error", record.error},
                             {"added", record.added},   {"removed", record.removed}, {"unchanged", record.unchanged},
                             {"started_at", IsoTime(record.started_at)}};
    item["checkpoint"] = record.checkpoint ? boost::json::value(*record.checkpoint) : nullptr;
    out.push_back(std::move(item));
  }
  return JsonResponse(http::status::ok, boost::json::object{{"imports", std::move(out)}});
}

Response ApiService::ExportVpdq(ApiCall& call) {
  auto bank = store_.GetBank(call.path["name"]);
  if (!bank) return ErrorResponse(bank.error());
  std::int64_t id = 0;
  const auto& text = call.path["entry_id"];
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc{} || end != text.data() + text.size() || id <= 0) {
    return ErrorResponse(http::status::bad_request, "invalid_argument", "entry id must be a positive integer");
  }
  auto entries = store_.GetEntries({id});
  if (!entries) return ErrorResponse(entries.error());
  if (entries->empty() || entries->front().bank_id != bank->id || entries->front().signal_type != "vpdq") {
    return ErrorResponse(http::status::not_found, "not_found", "no vpdq entry " + text + " in bank " + bank->name);
  }
  Response response{http::status::ok, 11};
  response.set(http::field::content_type, "text/plain; charset=utf-8");
  response.body() = entries->front().payload;
  return response;
}

Response ApiService::ExportBank(ApiCall& call) {
  std::ostringstream csv;
  std::int64_t after = 0;
  bool header = true;
  for (;;) {
    auto page = store_.ListEntries(call.path["name"], after, 10000, false);
    if (!page) return ErrorResponse(page.error());
    WriteEntriesCsv(*page, header, csv);
    header = false;
    if (page->size() < 10000) break;
    after = page->back().id;
  }
  Response response{http::status::ok, 11};
  response.set(http::field::content_type, "text/csv");
  response.body() = csv.str();
  return response;
}

}  // namespace vigil::server

namespace vigil::server {

boost::json::object OverrideJson(const EntryOverride& o) {
  return {{"id", o.id},
          {"bank", o.bank},
          {"signal_type", o.signal_type},
          {"value", o.value},
          {"reason", o.reason},
          {"created_by", o.created_by},
          {"created_at", IsoTime(o.created_at)},
          {"entry_id", o.entry_id},
          {"source", o.provenance.source},
          {"member", o.provenance.member},
          {"external_id", o.provenance.external_id},
          {"classification", o.provenance.classification},
          {"skipped_by_imports", o.skipped},
          {"revoked_at", OptTime(o.revoked_at)},
          {"revoked_by", o.revoked_by}};
}

// Local overrides: the values reviewers disabled, which re-imports of their lists leave out.
Response ApiService::ListOverrides(ApiCall& call) {
  auto overrides = store_.ListOverrides(call.query["bank"], call.query["revoked"] == "true");
  if (!overrides) return ErrorResponse(overrides.error());
  boost::json::array out;
  for (const auto& o : *overrides) out.push_back(OverrideJson(o));
  return JsonResponse(http::status::ok, boost::json::object{{"overrides", std::move(out)}});
}

Response ApiService::RevokeOverride(ApiCall& call) {
  auto id = PathIdParam(call.path, "id");
  if (!id) return ErrorResponse(id.error());
  auto revoked = store_.RevokeOverride(*id, call.actor);
  if (!revoked) return ErrorResponse(revoked.error());
  (void)matcher_.Refresh();
  return JsonResponse(http::status::ok, OverrideJson(*revoked));
}

}  // namespace vigil::server

// MakeExchangeClient and what the per-kind clients share (see exchange_client.h, client_kinds.h).
#include "exchange/exchange_client.h"

#include "exchange/client_kinds.h"

#include <algorithm>
#include <map>

namespace vigil::exchange {
namespace {

// A client that owns the fetcher it was given a pointer to.
class OwningClient final : public ExchangeClient {
 public:
  OwningClient(std::unique_ptr<HttpFetcher> fetcher, std::unique_ptr<ExchangeClient> client)
      : fetcher_(std::move(fetcher)), client_(std::move(client)) {}
  Result<SyncPage> Fetch(const std::string& checkpoint) override { return client_->Fetch(checkpoint); }
  Status SendFeedback(const FeedbackItem& item) override { return client_->SendFeedback(item); }
  bool takes_feedback() const override { return client_->takes_feedback(); }

 private:
  std::unique_ptr<HttpFetcher> fetcher_;  // declared first: destroyed after the client using it
  std::unique_ptr<ExchangeClient> client_;
};

// The host the exchange's settings send requests to (its base URL or list URL).
std::string ServiceHost(const ClientSetup& setup, const std::string& kind) {
  const auto& settings = setup.settings;
  if (kind == "ncmec") {
    auto base = NcmecBaseUrl(setup);
    auto parsed = base ? ParseHttpUrl(*base) : Result<Url>(tl::unexpected(base.error()));
    return parsed ? parsed->host : "";
  }
  const char* key = kind == "url" ? "url" : "base_url";
  std::string url;
  if (const auto* value = settings.if_contains(key); value != nullptr && value->is_string()) url = value->as_string();
  if (url.empty()) {
    if (kind == "stopncii") url = "https://api.stopncii.org/v1";
    else if (kind == "threatexchange") url = "https://graph.facebook.com/v9.0";
    else return "";
  }
  auto parsed = ParseHttpUrl(url);
  return parsed ? parsed->host : "";
}

}  // namespace

Result<std::string> TextSetting(const ClientSetup& setup, const char* key, const std::string& fallback) {
  const auto* value = setup.settings.if_contains(key);
  if (value == nullptr || value->is_null()) return fallback;
  if (!value->is_string()) {
    return Fail(ErrorCode::kInvalidArgument, "exchange '" + setup.exchange + "': setting " + key + " must be a string");
  }
  return std::string(value->as_string());
}

Result<std::int64_t> IntSetting(const ClientSetup& setup, const char* key, std::int64_t fallback) {
  const auto* value = setup.settings.if_contains(key);
  if (value == nullptr || value->is_null()) return fallback;
  if (!value->is_int64()) {
    return Fail(ErrorCode::kInvalidArgument, "exchange '" + setup.exchange + "': setting " + key + " must be an integer");
  }
  return value->as_int64();
}

Result<std::string> SameOriginLink(const std::string& base_url, const std::string& link, const std::string& service) {
  VIGIL_ASSIGN_OR_RETURN(auto base, ParseHttpUrl(base_url));
  if (link.size() > 8192) return Fail(ErrorCode::kInvalidArgument, service + ": a paging link longer than 8 KiB");
  if (!link.empty() && link[0] == '/' && (link.size() < 2 || link[1] != '/')) {
    const auto scheme_end = base_url.find("://");
    const auto path_start = base_url.find('/', scheme_end + 3);
    const std::string origin = path_start == std::string::npos ? base_url : base_url.substr(0, path_start);
    auto joined = origin + link;
    VIGIL_TRY(ParseHttpUrl(joined));
    return joined;
  }
  auto parsed = ParseHttpUrl(link);
  if (!parsed || parsed->host != base.host || parsed->port != base.port || parsed->tls != base.tls) {
    return Fail(ErrorCode::kInvalidArgument, service + ": a paging link to another origin was refused (not followed)");
  }
  return link;
}

Error UnexpectedAnswer(const std::string& service, const HttpReply& reply) {
  if (reply.status >= 300 && reply.status < 400) {
    return {ErrorCode::kInvalidArgument, service + " answered a redirect (HTTP " + std::to_string(reply.status) +
                                             "), which is not followed: configure the final URL"};
  }
  std::string start;
  for (char c : reply.body.substr(0, 200)) start += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c;
  return {reply.status >= 400 && reply.status < 500 ? ErrorCode::kInvalidArgument : ErrorCode::kCorrupt,
          service + " answered HTTP " + std::to_string(reply.status) + (start.empty() ? "" : ": " + start)};
}

Result<ParsedList> ParseServicePage(const ClientSetup& setup, const char* format, const std::string& service,
                                    const std::string& body) {
  ListParseOptions options;
  options.source = setup.exchange;
  options.max_bytes = setup.max_body_bytes;
  options.max_entries = setup.max_records_per_page;
  auto list = ParseHashList(format, body, options);
  if (!list) return Fail(list.error().code, service + "'s answer was refused: " + list.error().message);
  return list;
}

Result<boost::json::object> ParseCheckpoint(const std::string& checkpoint, const std::string& service) {
  if (checkpoint.empty()) return boost::json::object();
  boost::system::error_code ec;
  auto value = boost::json::parse(checkpoint, ec);
  if (ec || !value.is_object()) {
    return Fail(ErrorCode::kCorrupt, service + ": the bank's sync checkpoint is not this exchange's (was the bank "
                                               "synced by another kind?): clear it with `vigil exchange reset`");
  }
  return std::move(value.as_object());
}

std::vector<std::string> ServiceHosts(const std::string& kind) {
  if (kind == "stopncii") return {"api.stopncii.org"};
  if (kind == "threatexchange") return {"graph.facebook.com"};
  if (kind == "ncmec") {
    return {"report.cybertip.org", "lesp.ncmec.org", "hashsharing.ncmec.org", "exttest.cybertip.org", "betalesp.ncmec.org",
            "hashsharing-test.ncmec.org"};
  }
  return {};
}

Result<std::string> ExchangeHost(const Exchange& exchange) {
  ClientSetup setup;
  setup.exchange = exchange.name;
  boost::system::error_code ec;
  auto settings = boost::json::parse(exchange.settings, ec);
  if (ec || !settings.is_object()) {
    return Fail(ErrorCode::kInvalidArgument, "exchange '" + exchange.name + "': settings must be a JSON object");
  }
  setup.settings = std::move(settings.as_object());
  if (exchange.kind == "url") {
    VIGIL_ASSIGN_OR_RETURN(auto url, TextSetting(setup, "url", ""));
    if (url.rfind("file:", 0) == 0) return std::string();
  }
  auto host = ServiceHost(setup, exchange.kind);
  if (host.empty()) return Fail(ErrorCode::kInvalidArgument, "exchange '" + exchange.name + "': its settings name no usable URL");
  return host;
}

namespace {

// The settings each kind reads (docs/exchanges.md).
const std::vector<std::string>& KnownSettings(const std::string& kind) {
  static const std::map<std::string, std::vector<std::string>> known = {
      {"ncmec", {"environment", "base_url", "start", "only_esp_ids", "negative_reason", "allowed_hosts"}},
      {"stopncii", {"base_url", "start", "page_size", "allowed_hosts"}},
      {"threatexchange", {"privacy_group", "base_url", "start", "page_size", "allowed_hosts"}},
      {"url", {"url", "format", "signal_type", "max_bytes", "allowed_hosts"}},
  };
  static const std::vector<std::string> none;
  const auto it = known.find(kind);
  return it == known.end() ? none : it->second;
}

Result<std::unique_ptr<ExchangeClient>> MakeClient(const Exchange& exchange, const ClientOptions& options, bool settings_only);

}  // namespace

Status CheckExchangeSettings(const Exchange& exchange) {
  VIGIL_TRY(MakeClient(exchange, {}, true));
  return {};
}

Result<std::unique_ptr<ExchangeClient>> MakeExchangeClient(const Exchange& exchange, const ClientOptions& options) {
  return MakeClient(exchange, options, false);
}

namespace {

Result<std::unique_ptr<ExchangeClient>> MakeClient(const Exchange& exchange, const ClientOptions& options, bool settings_only) {
  ClientSetup setup;
  setup.exchange = exchange.name;
  setup.settings_only = settings_only;
  boost::system::error_code ec;
  auto settings = boost::json::parse(exchange.settings, ec);
  if (ec || !settings.is_object()) {
    return Fail(ErrorCode::kInvalidArgument, "exchange '" + exchange.name + "': settings must be a JSON object");
  }
  setup.settings = std::move(settings.as_object());
  const auto& known = KnownSettings(exchange.kind);
  for (const auto& [key, value] : setup.settings) {
    if (std::find(known.begin(), known.end(), std::string(key)) == known.end()) {
      std::string names;
      for (const auto& name : known) names += (names.empty() ? "" : ", ") + name;
      return Fail(ErrorCode::kInvalidArgument, "exchange '" + exchange.name + "': unknown setting '" +
                                                   std::string(key).substr(0, 64) + "' for a " + exchange.kind +
                                                   " exchange (known: " + names + ")");
    }
  }
  if (!settings_only && !exchange.credentials.empty()) {
    auto secret = LoadSecret(exchange.credentials);
    if (!secret) return Fail(secret.error().code, "exchange '" + exchange.name + "': " + secret.error().message);
    setup.secret = std::move(*secret);
  }
  setup.clock = options.clock != nullptr ? options.clock : &SystemClock();
  setup.retry = options.retry;
  setup.max_records_per_page = options.max_records_per_page;
  setup.max_body_bytes = options.limits.max_body_bytes;
  setup.list_roots = options.list_roots;
  std::unique_ptr<HttpFetcher> owned;
  if (options.fetcher != nullptr) {
    setup.fetcher = options.fetcher;
  } else {
    auto limits = options.limits;
    if (exchange.kind == "url") {
      // A list may be larger than an API page: its own bound (max_bytes) applies.
      auto max_bytes = IntSetting(setup, "max_bytes", 256ll << 20);
      if (max_bytes && *max_bytes > 0) limits.max_body_bytes = static_cast<std::uint64_t>(*max_bytes);
    }
    if (limits.allowed_hosts.empty()) {
      if (const auto host = ServiceHost(setup, exchange.kind); !host.empty()) limits.allowed_hosts.push_back(host);
    }
    if (const auto* hosts = setup.settings.if_contains("allowed_hosts"); hosts != nullptr && hosts->is_array()) {
      for (const auto& host : hosts->as_array()) {
        if (host.is_string()) limits.allowed_hosts.emplace_back(host.as_string());
      }
    }
    owned = MakeBeastFetcher(std::move(limits));
    setup.fetcher = owned.get();
  }
  Result<std::unique_ptr<ExchangeClient>> client = Fail(ErrorCode::kInvalidArgument, "");
  if (exchange.kind == "ncmec") client = MakeNcmecClient(std::move(setup));
  else if (exchange.kind == "stopncii") client = MakeStopNciiClient(std::move(setup));
  else if (exchange.kind == "threatexchange") client = MakeThreatExchangeClient(std::move(setup));
  else if (exchange.kind == "url") client = MakeUrlListClient(std::move(setup));
  else return Fail(ErrorCode::kInvalidArgument, "exchange '" + exchange.name + "': no client for kind '" + exchange.kind + "'");
  if (!client || !owned) return client;
  return std::unique_ptr<ExchangeClient>(std::make_unique<OwningClient>(std::move(owned), std::move(*client)));
}

}  // namespace

}  // namespace vigil::exchange

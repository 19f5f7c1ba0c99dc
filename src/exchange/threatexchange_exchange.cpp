// Meta ThreatExchange, Graph API (../shared/specs/ncmec.md §1.8; python-threatexchange's client):
//   sync      GET {base}/{privacy_group}/threat_updates/?access_token=..&start_time=S&stop_time=T
//             &limit=N&types=HASH_PDQ,HASH_MD5,HASH_VIDEO_MD5&fields=..., then each paging.next (a
//             full URL, refused unless on the base's origin) until none; T becomes the next start
//             once the window is exhausted. should_delete, or an indicator with no descriptors
//             left, removes its hash. HASH_PDQ -> pdq; HASH_MD5 and HASH_VIDEO_MD5 -> md5.
//   feedback  POST {base}/{descriptor_id}/?access_token=..&reactions=HELPFUL (affirmative) or
//             DISAGREE_WITH_TAGS (negative), the reactions HMA's writebacker uses.
// Credentials: the access token, APP_ID|SECRET. The token is never stored in the checkpoint:
// it is stripped from paging links and added again on each request.
#include <algorithm>
#include <boost/json.hpp>

#include "exchange/client_kinds.h"
#include "vigil/signal_type.h"

namespace vigil::exchange {
namespace {

// The indicator types asked for: Vigil's own, and those of the plug-ins this process knows.
std::string IndicatorTypes() {
  std::string types = "HASH_PDQ,HASH_MD5,HASH_VIDEO_MD5";
  for (const auto& info : SignalTypes()) {
    if (info.plugin && !info.threatexchange_type.empty()) types += "," + std::string(info.threatexchange_type);
  }
  return types;
}

constexpr const char* kFields =
    "id,indicator,type,last_updated,should_delete,descriptors%7Bid,owner%7Bid%7D,status%7D";

// The URL without its access_token parameter.
std::string WithoutToken(const std::string& url) {
  const auto query = url.find('?');
  if (query == std::string::npos) return url;
  std::string out = url.substr(0, query);
  std::string rest = url.substr(query + 1);
  char separator = '?';
  std::size_t at = 0;
  while (at <= rest.size()) {
    auto amp = rest.find('&', at);
    if (amp == std::string::npos) amp = rest.size();
    const auto parameter = rest.substr(at, amp - at);
    std::string lower = parameter.substr(0, 13);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!parameter.empty() && lower != "access_token=") {
      out += separator + parameter;
      separator = '&';
    }
    at = amp + 1;
  }
  return out;
}

std::string WithToken(const std::string& url, const std::string& token) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") + "access_token=" + UrlEncode(token);
}

class ThreatExchangeClient final : public ExchangeClient {
 public:
  ThreatExchangeClient(ClientSetup setup, std::string base, std::string group, std::int64_t start, std::int64_t limit)
      : setup_(std::move(setup)), base_(std::move(base)), group_(std::move(group)), start_(start), limit_(limit) {}

  Result<SyncPage> Fetch(const std::string& checkpoint) override {
    VIGIL_ASSIGN_OR_RETURN(auto state, ParseCheckpoint(checkpoint, "ThreatExchange"));
    std::int64_t start = start_, stop = 0;
    std::string next;
    if (const auto* v = state.if_contains("start"); v != nullptr && v->is_int64()) start = v->as_int64();
    if (const auto* v = state.if_contains("stop"); v != nullptr && v->is_int64()) stop = v->as_int64();
    if (const auto* v = state.if_contains("next"); v != nullptr && v->is_string()) next = v->as_string();
    std::string url;
    if (!next.empty() && stop != 0) {
      VIGIL_ASSIGN_OR_RETURN(url, SameOriginLink(base_, next, "ThreatExchange"));
    } else {
      stop = setup_.clock->NowMicros() / 1'000'000;
      url = base_ + "/" + group_ + "/threat_updates/?start_time=" + std::to_string(start) + "&stop_time=" +
            std::to_string(stop) + "&limit=" + std::to_string(limit_) + "&types=" + IndicatorTypes() + "&fields=" + kFields;
    }
    HttpCall call;
    call.url = WithToken(url, setup_.secret);
    VIGIL_ASSIGN_OR_RETURN(auto reply, SendWithRetry(*setup_.fetcher, call, setup_.retry, "ThreatExchange"));
    if (reply.status != 200) return tl::unexpected(UnexpectedAnswer("ThreatExchange", reply));
    SyncPage page;
    page.format = "threatexchange";
    VIGIL_ASSIGN_OR_RETURN(auto next_link, ParseThreatUpdates(reply.body, setup_.exchange, setup_.max_records_per_page,
                                                              setup_.max_body_bytes, page));
    boost::json::object after;
    if (!next_link.empty()) {
      VIGIL_ASSIGN_OR_RETURN(auto checked, SameOriginLink(base_, next_link, "ThreatExchange"));
      // And to this privacy group's threat_updates: a link elsewhere on the host is not followed
      // (the token goes with it).
      const auto base_path = ParseHttpUrl(base_)->target;
      const auto link_path = ParseHttpUrl(checked)->target;
      const std::string expected = (base_path == "/" ? "" : base_path) + "/" + group_ + "/threat_updates";
      const std::string path_only = link_path.substr(0, link_path.find('?'));
      if ((path_only != expected && path_only != expected + "/") || link_path.find("..") != std::string::npos) {
        return Fail(ErrorCode::kInvalidArgument,
                    "ThreatExchange: a paging link to another path than " + expected + " was refused (not followed)");
      }
      after["start"] = start;
      after["stop"] = stop;
      after["next"] = WithoutToken(checked);
      page.more = true;
    } else {
      after["start"] = stop;
    }
    page.checkpoint = boost::json::serialize(after);
    return page;
  }

  Status SendFeedback(const FeedbackItem& item) override {
    const auto& descriptor = item.provenance.external_id;
    if (descriptor.empty() || descriptor.size() > 32 ||
        !std::all_of(descriptor.begin(), descriptor.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return Fail(ErrorCode::kInvalidArgument, "entry " + std::to_string(item.entry_id) +
                                                   " has no ThreatExchange descriptor id (it did not come from ThreatExchange)");
    }
    const std::string reaction = item.verdict == "affirmative" ? "HELPFUL" : "DISAGREE_WITH_TAGS";
    HttpCall call;
    call.method = "POST";
    call.url = WithToken(base_ + "/" + descriptor + "/?reactions=" + reaction, setup_.secret);
    call.content_type = "application/x-www-form-urlencoded";
    call.body = "reactions=" + reaction;
    VIGIL_ASSIGN_OR_RETURN(auto reply, SendWithRetry(*setup_.fetcher, call, setup_.retry, "ThreatExchange"));
    if (reply.status / 100 != 2) return tl::unexpected(UnexpectedAnswer("ThreatExchange", reply));
    return {};
  }

  bool takes_feedback() const override { return true; }

 private:
  ClientSetup setup_;
  std::string base_, group_;
  std::int64_t start_, limit_;
};

}  // namespace

Result<std::unique_ptr<ExchangeClient>> MakeThreatExchangeClient(ClientSetup setup) {
  VIGIL_ASSIGN_OR_RETURN(auto base, TextSetting(setup, "base_url", "https://graph.facebook.com/v9.0"));
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (auto parsed = ParseHttpUrl(base); !parsed) {
    return Fail(ErrorCode::kInvalidArgument, "exchange '" + setup.exchange + "': base_url: " + parsed.error().message);
  }
  std::string group;
  if (const auto* v = setup.settings.if_contains("privacy_group"); v != nullptr) {
    if (v->is_int64()) group = std::to_string(v->as_int64());
    else if (v->is_string()) group = v->as_string();
  }
  if (group.empty() || group.size() > 32 || !std::all_of(group.begin(), group.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Fail(ErrorCode::kInvalidArgument, "exchange '" + setup.exchange + "': privacy_group must be the group's numeric id");
  }
  VIGIL_ASSIGN_OR_RETURN(auto start, IntSetting(setup, "start", 0));
  VIGIL_ASSIGN_OR_RETURN(auto limit, IntSetting(setup, "page_size", 500));
  if (limit < 1 || limit > 10'000) return Fail(ErrorCode::kInvalidArgument, "exchange '" + setup.exchange + "': page_size must be 1-10000");
  const auto bar = setup.secret.find('|');
  if (!setup.settings_only && (bar == std::string::npos || bar == 0 || bar + 1 == setup.secret.size())) {
    return Fail(ErrorCode::kInvalidArgument, "exchange '" + setup.exchange +
                                                 "': the ThreatExchange credentials must be an access token APP_ID|SECRET");
  }
  return std::unique_ptr<ExchangeClient>(
      std::make_unique<ThreatExchangeClient>(std::move(setup), std::move(base), std::move(group), start, limit));
}

}  // namespace vigil::exchange

// StopNCII's REST API v1 (../shared/specs/ncmec.md §1.8): every request carries the
// Ocp-Apim-Subscription-Key header and the endpoint's own x-functions-key.
//   sync      GET {base}/FetchHashes?startTimestamp=S&pageSize=N[&nextPageToken=T] while
//             hasMoreRecords; then nextSetTimestamp is where the next run starts. A record replaces
//             the earlier one for its hash; Withdrawn and Deleted records remove it.
//   feedback  POST {base}/SubmitFeedback {"count": 1, "hashFeedbacks": [{"hashValue", "feedbackValue",
//             "tags"}]}: Blocked (reviewed and confirmed) for affirmative, NotBlocked for negative.
// Credentials: a JSON object {"subscription_key", "fetch_key", "feedback_key"}.
#include <boost/json.hpp>

#include "exchange/client_kinds.h"
#include "vigil/hash_list.h"

namespace vigil::exchange {
namespace {

class StopNciiClient final : public ExchangeClient {
 public:
  StopNciiClient(ClientSetup setup, std::string base, std::string subscription, std::string fetch_key,
                 std::string feedback_key, std::int64_t start, std::int64_t page_size)
      : setup_(std::move(setup)),
        base_(std::move(base)),
        subscription_(std::move(subscription)),
        fetch_key_(std::move(fetch_key)),
        feedback_key_(std::move(feedback_key)),
        start_(start),
        page_size_(page_size) {}

  Result<SyncPage> Fetch(const std::string& checkpoint) override {
    VIGIL_ASSIGN_OR_RETURN(auto state, ParseCheckpoint(checkpoint, "StopNCII"));
    std::int64_t start = start_;
    std::string token;
    if (const auto* v = state.if_contains("start"); v != nullptr && v->is_int64()) start = v->as_int64();
    if (const auto* v = state.if_contains("token"); v != nullptr && v->is_string()) token = v->as_string();
    HttpCall call;
    call.url = base_ + "/FetchHashes?startTimestamp=" + std::to_string(start) + "&pageSize=" + std::to_string(page_size_);
    if (!token.empty()) call.url += "&nextPageToken=" + UrlEncode(token);
    call.headers = {{"Ocp-Apim-Subscription-Key", subscription_}, {"x-functions-key", fetch_key_}, {"Accept", "application/json"}};
    VIGIL_ASSIGN_OR_RETURN(auto reply, SendWithRetry(*setup_.fetcher, call, setup_.retry, "StopNCII"));
    if (reply.status != 200) return tl::unexpected(UnexpectedAnswer("StopNCII", reply));
    VIGIL_ASSIGN_OR_RETURN(auto list, ParseServicePage(setup_, "stopncii", "StopNCII", reply.body));
    SyncPage page;
    page.format = "stopncii";
    page.fetched = list.records;
    page.skipped = list.skipped;
    if (!list.newest.empty()) page.newest_at = std::stoll(list.newest) * 1'000'000;
    page.ops = std::move(list.ops);
    boost::json::object after;
    if (list.more) {
      if (list.next_page.empty() || list.next_page.size() > 8192) {
        return Fail(ErrorCode::kCorrupt, "StopNCII's answer says more records follow but gives no usable nextPageToken");
      }
      after["start"] = start;
      after["token"] = list.next_page;
      page.more = true;
    } else {
      std::int64_t next = start;
      if (list.checkpoint) next = std::stoll(*list.checkpoint);
      if (next < start) {
        return Fail(ErrorCode::kCorrupt, "StopNCII's nextSetTimestamp (" + std::to_string(next) +
                                             ") is before the page's start (" + std::to_string(start) + ")");
      }
      after["start"] = next;
    }
    page.checkpoint = boost::json::serialize(after);
    return page;
  }

  Status SendFeedback(const FeedbackItem& item) override {
    if (feedback_key_.empty()) {
      return Fail(ErrorCode::kUnavailable, "StopNCII feedback needs feedback_key in the exchange's credentials");
    }
    boost::json::object feedback{{"hashValue", item.value},
                                 {"feedbackValue", item.verdict == "affirmative" ? "Blocked" : "NotBlocked"},
                                 {"tags", boost::json::array()}};
    boost::json::object body{{"count", 1}, {"hashFeedbacks", boost::json::array{feedback}}};
    HttpCall call;
    call.method = "POST";
    call.url = base_ + "/SubmitFeedback";
    call.headers = {{"Ocp-Apim-Subscription-Key", subscription_}, {"x-functions-key", feedback_key_}};
    call.content_type = "application/json";
    call.body = boost::json::serialize(body);
    VIGIL_ASSIGN_OR_RETURN(auto reply, SendWithRetry(*setup_.fetcher, call, setup_.retry, "StopNCII"));
    if (reply.status / 100 != 2) return tl::unexpected(UnexpectedAnswer("StopNCII", reply));
    return {};
  }

  bool takes_feedback() const override { return true; }

 private:
  ClientSetup setup_;
  std::string base_, subscription_, fetch_key_, feedback_key_;
  std::int64_t start_, page_size_;
};

}  // namespace

Result<std::unique_ptr<ExchangeClient>> MakeStopNciiClient(ClientSetup setup) {
  VIGIL_ASSIGN_OR_RETURN(auto base, TextSetting(setup, "base_url", "https://api.stopncii.org/v1"));
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (auto parsed = ParseHttpUrl(base); !parsed) {
    return Fail(ErrorCode::kInvalidArgument, "exchange '" + setup.exchange + "': base_url: " + parsed.error().message);
  }
  VIGIL_ASSIGN_OR_RETURN(auto start, IntSetting(setup, "start", 10));
  VIGIL_ASSIGN_OR_RETURN(auto page_size, IntSetting(setup, "page_size", 800));
  if (page_size < 1 || page_size > 10'000) {
    return Fail(ErrorCode::kInvalidArgument, "exchange '" + setup.exchange + "': page_size must be 1-10000");
  }
  boost::system::error_code ec;
  auto secret = boost::json::parse(setup.secret, ec);
  auto key = [&](const char* name) -> std::string {
    if (ec || !secret.is_object()) return "";
    const auto* v = secret.as_object().if_contains(name);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  auto subscription = key("subscription_key"), fetch_key = key("fetch_key"), feedback_key = key("feedback_key");
  if (!setup.settings_only && (subscription.empty() || fetch_key.empty())) {
    return Fail(ErrorCode::kInvalidArgument,
                "exchange '" + setup.exchange + "': StopNCII credentials must be a JSON object with subscription_key and "
                                                "fetch_key (and feedback_key for feedback)");
  }
  return std::unique_ptr<ExchangeClient>(std::make_unique<StopNciiClient>(std::move(setup), std::move(base),
                                                                          std::move(subscription), std::move(fetch_key),
                                                                          std::move(feedback_key), start, page_size));
}

}  // namespace vigil::exchange

// NCMEC hash sharing v2 (../shared/specs/ncmec.md §1.7): HTTP Basic, XML in the
// https://hashsharing.ncmec.org/hashsharing/v2 namespace.
//   sync      GET {base}/v2/entries?from=F&to=T, then each <paging><next> (a path under the same
//             origin) until none. Entries are not returned in time order, so the window's end
//             becomes the next `from` only once the window is exhausted; until then the checkpoint
//             keeps the window and the next link, which is reused with the same from/to bounds.
//             <deletedImage>/<deletedVideo> tombstone their entry. only_esp_ids keeps the entries
//             of those members (a filter on <member id>, as NCMEC offers no such query).
//   feedback  PUT {base}/v2/entries/{espId}/{entryId}/{MD5|SHA1|PDQ}/feedback with
//             <feedbackSubmission><affirmative/> or <negative><reasonIds><guid>..., the reason from
//             the settings' negative_reason, else the first GET {base}/v2/feedback/{TYPE}/reasons
//             offers.
#include <pugixml.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "exchange/client_kinds.h"
#include "util/iso_time.h"
#include "vigil/hash_list.h"

namespace vigil::exchange {
namespace {

constexpr const char* kNamespace = "https://hashsharing.ncmec.org/hashsharing/v2";

const std::map<std::string, std::string>& Environments() {
  static const std::map<std::string, std::string> environments = {
      {"industry", "https://report.cybertip.org/hashsharing"},
      {"industry-exploitative", "https://report.cybertip.org/exploitative-hashsharing"},
      {"law-enforcement", "https://lesp.ncmec.org/csam-hashsharing"},
      {"ngo", "https://hashsharing.ncmec.org/npo"},
      {"ngo-exploitative", "https://hashsharing.ncmec.org/exploitative"},
      {"ngo-generative-ai-csam", "https://hashsharing.ncmec.org/generative-ai-csam"},
      {"ngo-generative-ai-exploitative", "https://hashsharing.ncmec.org/generative-ai-exploitative"},
      {"industry-test", "https://exttest.cybertip.org/hashsharing"},
      {"industry-exploitative-test", "https://exttest.cybertip.org/exploitative-hashsharing"},
      {"law-enforcement-test", "https://betalesp.ncmec.org/csam-hashsharing"},
      {"ngo-test", "https://hashsharing-test.ncmec.org/npo"},
      {"ngo-exploitative-test", "https://hashsharing-test.ncmec.org/exploitative"},
      {"ngo-generative-ai-csam-test", "https://hashsharing-test.ncmec.org/generative-ai-csam"},
      {"ngo-generative-ai-exploitative-test", "https://hashsharing-test.ncmec.org/generative-ai-exploitative"},
  };
  return environments;
}

std::string IsoSeconds(std::int64_t micros) {
  auto text = IsoTime(micros - micros % 1'000'000);  // "...T10:00:00.000000Z"
  if (const auto dot = text.find('.'); dot != std::string::npos) text = text.substr(0, dot) + "Z";
  return text;
}

// A <paging><next> link: a path under the environment's base ("/v2/entries?..."), as NCMEC
// writes it; anything else (another host, another path) is refused.
Result<std::string> NextUrl(const std::string& base, const std::string& next) {
  if (next.size() > 8192 || next.rfind("/v2/entries?", 0) != 0 || next.find("..") != std::string::npos ||
      next.find('#') != std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument,
                "NCMEC: a paging link other than /v2/entries?... under the environment was refused (not followed): "
                "another origin or path");
  }
  auto url = base + next;
  VIGIL_TRY(ParseHttpUrl(url));
  return url;
}

class NcmecClient final : public ExchangeClient {
 public:
  NcmecClient(ClientSetup setup, std::string base, std::string start, std::set<std::string> members)
      : setup_(std::move(setup)), base_(std::move(base)), start_(std::move(start)), members_(std::move(members)) {
    authorization_ = "Basic " + Base64(setup_.secret);
  }

  Result<SyncPage> Fetch(const std::string& checkpoint) override {
    VIGIL_ASSIGN_OR_RETURN(auto state, ParseCheckpoint(checkpoint, "NCMEC"));
    std::string from = start_, to, next;
    if (const auto* v = state.if_contains("from"); v != nullptr && v->is_string()) from = v->as_string();
    if (const auto* v = state.if_contains("to"); v != nullptr && v->is_string()) to = v->as_string();
    if (const auto* v = state.if_contains("next"); v != nullptr && v->is_string()) next = v->as_string();
    std::string url;
    if (!next.empty() && !to.empty()) {
      VIGIL_ASSIGN_OR_RETURN(url, NextUrl(base_, next));
    } else {
      to = IsoSeconds(setup_.clock->NowMicros());
      url = base_ + "/v2/entries?from=" + UrlEncode(from) + "&to=" + UrlEncode(to);
    }
    VIGIL_ASSIGN_OR_RETURN(auto reply, Get(url));
    if (reply.status != 200) return tl::unexpected(UnexpectedAnswer("NCMEC", reply));
    VIGIL_ASSIGN_OR_RETURN(auto list, ParseServicePage(setup_, "ncmec", "NCMEC", reply.body));
    SyncPage page;
    page.format = "ncmec";
    page.fetched = list.records;
    page.skipped = list.skipped;
    if (!list.newest.empty()) page.newest_at = ParseIsoTime(list.newest);
    if (!members_.empty()) {
      std::erase_if(list.ops, [&](const ImportOp& op) { return members_.count(op.provenance.member) == 0; });
    }
    page.ops = std::move(list.ops);
    boost::json::object after;
    if (!list.next_page.empty()) {
      // Checked now, so a bad link fails this page (nothing of it applied) rather than the next run.
      VIGIL_TRY(NextUrl(base_, list.next_page));
      after["from"] = from;
      after["to"] = to;
      after["next"] = list.next_page;
      page.more = true;
    } else {
      after["from"] = to;  // the window is exhausted: the next run asks for what came after it
    }
    page.checkpoint = boost::json::serialize(after);
    return page;
  }

  Status SendFeedback(const FeedbackItem& item) override {
    std::string type = item.signal_type;
    std::transform(type.begin(), type.end(), type.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
    if (type != "MD5" && type != "SHA1" && type != "PDQ") {
      return Fail(ErrorCode::kInvalidArgument, "NCMEC takes no feedback on " + item.signal_type + " entries");
    }
    if (item.provenance.member.empty() || item.provenance.external_id.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "entry " + std::to_string(item.entry_id) +
                                                   " has no NCMEC member and id (it did not come from NCMEC)");
    }
    std::string body = std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<feedbackSubmission xmlns=\"") + kNamespace + "\">";
    if (item.verdict == "affirmative") {
      body += "<affirmative/>";
    } else {
      VIGIL_ASSIGN_OR_RETURN(auto reason, NegativeReason(type));
      pugi::xml_document doc;  // the GUID escaped as XML text
      auto guid = doc.append_child("guid");
      guid.text().set(reason.c_str());
      std::ostringstream text;
      guid.print(text, "", pugi::format_raw);
      body += "<negative><reasonIds>" + text.str() + "</reasonIds></negative>";
    }
    body += "</feedbackSubmission>";
    HttpCall call;
    call.method = "PUT";
    call.url = base_ + "/v2/entries/" + UrlEncode(item.provenance.member) + "/" + UrlEncode(item.provenance.external_id) +
               "/" + type + "/feedback";
    call.headers = {{"Authorization", authorization_}};
    call.content_type = "application/xml; charset=utf-8";
    call.body = std::move(body);
    VIGIL_ASSIGN_OR_RETURN(auto reply, SendWithRetry(*setup_.fetcher, call, setup_.retry, "NCMEC"));
    if (reply.status / 100 != 2) return tl::unexpected(UnexpectedAnswer("NCMEC", reply));
    return {};
  }

  bool takes_feedback() const override { return true; }

 private:
  Result<HttpReply> Get(const std::string& url) {
    HttpCall call;
    call.url = url;
    call.headers = {{"Authorization", authorization_}, {"Accept", "application/xml"}};
    return SendWithRetry(*setup_.fetcher, call, setup_.retry, "NCMEC");
  }

  Result<std::string> NegativeReason(const std::string& type) {
    VIGIL_ASSIGN_OR_RETURN(auto configured, TextSetting(setup_, "negative_reason", ""));
    if (!configured.empty()) return configured;
    if (const auto known = reasons_.find(type); known != reasons_.end()) return known->second;
    VIGIL_ASSIGN_OR_RETURN(auto reply, Get(base_ + "/v2/feedback/" + type + "/reasons"));
    if (reply.status != 200) return tl::unexpected(UnexpectedAnswer("NCMEC", reply));
    pugi::xml_document doc;
    if (!doc.load_buffer(reply.body.data(), reply.body.size(), pugi::parse_default, pugi::encoding_utf8)) {
      return Fail(ErrorCode::kCorrupt, "NCMEC's feedback reasons are not well-formed XML");
    }
    // The first element anywhere carrying a guid attribute.
    auto found = doc.find_node([](const pugi::xml_node& node) { return !node.attribute("guid").empty(); });
    if (!found) {
      return Fail(ErrorCode::kNotFound, "NCMEC offers no feedback reason for " + type +
                                            ": set the exchange's negative_reason setting");
    }
    std::string guid = found.attribute("guid").value();
    if (guid.empty() || guid.size() > 64) return Fail(ErrorCode::kCorrupt, "NCMEC's feedback reason has an unusable guid");
    reasons_[type] = guid;
    return guid;
  }

  ClientSetup setup_;
  std::string base_, start_;
  std::set<std::string> members_;
  std::string authorization_;
  std::map<std::string, std::string> reasons_;
};

}  // namespace

Result<std::string> NcmecBaseUrl(const ClientSetup& setup) {
  VIGIL_ASSIGN_OR_RETURN(auto base, TextSetting(setup, "base_url", ""));
  if (base.empty()) {
    VIGIL_ASSIGN_OR_RETURN(auto environment, TextSetting(setup, "environment", "industry-test"));
    const auto found = Environments().find(environment);
    if (found == Environments().end()) {
      std::string names;
      for (const auto& [name, url] : Environments()) names += (names.empty() ? "" : ", ") + name;
      return Fail(ErrorCode::kInvalidArgument, "exchange '" + setup.exchange + "': unknown NCMEC environment '" +
                                                   environment + "' (one of " + names + ")");
    }
    base = found->second;
  }
  while (!base.empty() && base.back() == '/') base.pop_back();
  if (auto parsed = ParseHttpUrl(base); !parsed) {
    return Fail(ErrorCode::kInvalidArgument, "exchange '" + setup.exchange + "': base_url: " + parsed.error().message);
  }
  return base;
}

Result<std::unique_ptr<ExchangeClient>> MakeNcmecClient(ClientSetup setup) {
  VIGIL_ASSIGN_OR_RETURN(auto base, NcmecBaseUrl(setup));
  if (!setup.settings_only && setup.secret.find(':') == std::string::npos) {
    return Fail(ErrorCode::kInvalidArgument, "exchange '" + setup.exchange +
                                                 "': NCMEC credentials must be USERNAME:PASSWORD (from the environment or a file)");
  }
  VIGIL_ASSIGN_OR_RETURN(auto start, TextSetting(setup, "start", "2000-01-01T00:00:00Z"));
  if (!ParseIsoTime(start)) {
    return Fail(ErrorCode::kInvalidArgument, "exchange '" + setup.exchange + "': start must be an ISO 8601 UTC time");
  }
  std::set<std::string> members;
  if (const auto* ids = setup.settings.if_contains("only_esp_ids"); ids != nullptr) {
    if (!ids->is_array()) {
      return Fail(ErrorCode::kInvalidArgument, "exchange '" + setup.exchange + "': only_esp_ids must be a list of member ids");
    }
    for (const auto& id : ids->as_array()) {
      if (id.is_int64()) members.insert(std::to_string(id.as_int64()));
      else if (id.is_string()) members.insert(std::string(id.as_string()));
      else return Fail(ErrorCode::kInvalidArgument, "exchange '" + setup.exchange + "': only_esp_ids holds a non-id");
    }
  }
  return std::unique_ptr<ExchangeClient>(std::make_unique<NcmecClient>(std::move(setup), std::move(base), std::move(start),
                                                                       std::move(members)));
}

}  // namespace vigil::exchange

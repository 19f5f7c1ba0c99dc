// The hash-sharing stand-ins (see exchange_standins.h), on the project's own HTTP server.
#include "exchange_standins.h"

#include <algorithm>
#include <boost/json.hpp>
#include <deque>
#include <functional>
#include <thread>

#include "net/http_fetch.h"
#include "server/http_server.h"
#include "util/iso_time.h"

namespace vigil::testing {
namespace {

namespace http = boost::beast::http;

std::string Decode(const std::string& text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (text[i] == '+') {
      out += ' ';
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string XmlEscape(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '&') out += "&amp;";
    else if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '"') out += "&quot;";
    else out += c;
  }
  return out;
}

std::string IsoSeconds(std::int64_t micros) {
  auto text = IsoTime(micros - micros % 1'000'000);
  if (const auto dot = text.find('.'); dot != std::string::npos) text = text.substr(0, dot) + "Z";
  return text;
}

// A fixed, not time-ordered order for NCMEC's records (it documents none).
std::uint64_t Scramble(const std::string& key) { return std::hash<std::string>{}(key) * 0x9E3779B97F4A7C15ull; }

constexpr const char* kNamespace = "https://hashsharing.ncmec.org/hashsharing/v2";

}  // namespace

struct StandInServer::State {
  std::unique_ptr<server::HttpServer> server;
  struct Pending {
    int skip;
    StandInFault fault;
    int times;
  };
  std::map<std::string, std::deque<Pending>> faults;
  std::map<std::string, int> requests;
};

StandInServer::StandInServer() : state_(std::make_unique<State>()) {}
StandInServer::~StandInServer() { Stop(); }

void StandInServer::Stop() {
  if (state_->server) state_->server->Stop();
  state_->server.reset();
}

bool StandInServer::Start() {
  server::HttpServerOptions options;
  options.port = 0;
  options.threads = 8;  // delayed answers (StandInFault::Delay) sleep on these: others keep flowing
  options.worker_threads = 1;
  server::HttpCallbacks callbacks;
  callbacks.handle = [this](server::Request& request, const server::RequestInfo&) {
    Call call;
    call.method = std::string(request.method_string());
    call.target = std::string(request.target());
    call.body = request.body();
    const auto question = call.target.find('?');
    call.path = call.target.substr(0, question);
    if (question != std::string::npos) {
      const std::string query = call.target.substr(question + 1);
      std::size_t at = 0;
      while (at <= query.size()) {
        auto amp = query.find('&', at);
        if (amp == std::string::npos) amp = query.size();
        const auto pair = query.substr(at, amp - at);
        const auto eq = pair.find('=');
        if (!pair.empty()) call.query[Decode(pair.substr(0, eq))] = eq == std::string::npos ? "" : Decode(pair.substr(eq + 1));
        at = amp + 1;
      }
    }
    for (const auto& field : request) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      call.headers[name] = std::string(field.value());
    }
    Reply reply;
    int delay_ms = 0;
    bool faulted = false;
    {
      std::lock_guard lock(mutex_);
      const std::string endpoint = Endpoint(call);
      ++state_->requests[endpoint];
      faulted = false;
      if (auto it = state_->faults.find(endpoint); it != state_->faults.end() && !it->second.empty()) {
        auto& pending = it->second.front();
        if (pending.skip > 0) {
          --pending.skip;
        } else {
          faulted = pending.fault.kind != StandInFault::kDelay;
          if (pending.fault.kind == StandInFault::kDelay) {
            delay_ms = pending.fault.retry_after;
          } else if (pending.fault.kind == StandInFault::kHttp500) {
            reply.status = 500;
            reply.body = "<html>Internal Server Error</html>";
            reply.content_type = "text/html";
          } else if (pending.fault.kind == StandInFault::kHttp429) {
            reply.status = 429;
            reply.body = "Too Many Requests";
            reply.retry_after = pending.fault.retry_after;
          } else {
            reply.body = pending.fault.body;
            reply.content_type = pending.fault.content_type;
          }
          if (--pending.times <= 0) it->second.pop_front();
        }
      }
    }
    delay_ms += latency_ms_.load();
    if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    {
      std::lock_guard lock(mutex_);
      if (!faulted) reply = Answer(call);
    }
    server::Response response{static_cast<http::status>(reply.status), request.version()};
    response.set(http::field::content_type, reply.content_type);
    if (reply.retry_after >= 0) response.set(http::field::retry_after, std::to_string(reply.retry_after));
    if (!reply.location.empty()) response.set(http::field::location, reply.location);
    response.body() = std::move(reply.body);
    response.prepare_payload();
    return response;
  };
  state_->server = std::make_unique<server::HttpServer>(options, std::move(callbacks));
  return static_cast<bool>(state_->server->Start());
}

std::string StandInServer::origin() const { return "http://127.0.0.1:" + std::to_string(state_->server->port()); }

void StandInServer::FailAt(const std::string& endpoint, int skip, StandInFault fault, int times) {
  std::lock_guard lock(mutex_);
  state_->faults[endpoint].push_back({skip, std::move(fault), times});
}

int StandInServer::Requests(const std::string& endpoint) const {
  std::lock_guard lock(mutex_);
  const auto it = state_->requests.find(endpoint);
  return it == state_->requests.end() ? 0 : it->second;
}

// ---- NCMEC hash sharing v2 -------------------------------------------------------------------

NcmecStandIn::NcmecStandIn(std::string user, std::string password, int page_size)
    : user_(std::move(user)), password_(std::move(password)), page_size_(page_size) {}

std::string NcmecStandIn::base_url() const { return origin() + "/hashsharing"; }

void NcmecStandIn::Put(const Record& record) {
  std::lock_guard lock(mutex_);
  records_[record.member + "/" + record.id] = record;
  window_key_.clear();
}

void NcmecStandIn::Delete(const std::string& member, const std::string& id, std::int64_t timestamp) {
  std::lock_guard lock(mutex_);
  auto& record = records_[member + "/" + id];
  record.member = member;
  record.id = id;
  record.deleted = true;
  record.timestamp = timestamp;
  window_key_.clear();
}

std::map<std::string, std::string> NcmecStandIn::Feedback() const {
  std::lock_guard lock(mutex_);
  return feedback_;
}

int NcmecStandIn::FeedbackPuts() const {
  std::lock_guard lock(mutex_);
  return feedback_puts_;
}

std::string NcmecStandIn::Endpoint(const Call& call) const {
  if (call.path.find("/feedback") != std::string::npos && call.method == "PUT") return "feedback";
  if (call.path.find("/reasons") != std::string::npos) return "reasons";
  if (call.path.rfind("/hashsharing/v2/entries", 0) == 0) return "entries";
  return call.path;
}

NcmecStandIn::Reply NcmecStandIn::Answer(Call& call) {
  Reply reply;
  const auto auth = call.headers.find("authorization");
  if (auth == call.headers.end() || auth->second != "Basic " + net::Base64(user_ + ":" + password_)) {
    reply.status = 401;
    reply.body = "<html>401 Unauthorized</html>";
    return reply;
  }
  const std::string prefix = "/hashsharing/v2/";
  if (call.path.rfind(prefix, 0) != 0) {
    reply.status = 404;
    return reply;
  }
  const std::string rest = call.path.substr(prefix.size());
  const std::string head = std::string("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  if (rest == "status" && call.method == "GET") {
    reply.body = head + "<status xmlns=\"" + kNamespace + "\"><ipAddress>127.0.0.1</ipAddress><username>" + XmlEscape(user_) +
                 "</username><member id=\"1\">Stand-in Platform</member></status>";
    return reply;
  }
  if (rest == "entries" && call.method == "GET") {
    const auto from = ParseIsoTime(call.query["from"]);
    const auto to = ParseIsoTime(call.query["to"]);
    if (!from || !to || *to < *from) {
      reply.status = 400;
      reply.body = head + "<error>from and to must be ISO 8601 times, from before to</error>";
      return reply;
    }
    const int start = call.query.count("start") ? std::stoi(call.query["start"]) : 1;
    const int size = call.query.count("size") ? std::stoi(call.query["size"]) : page_size_;
    const std::string key = call.query["from"] + "|" + call.query["to"];
    if (key != window_key_) {
      std::vector<std::pair<std::uint64_t, const Record*>> order;
      for (const auto& [id, record] : records_) {
        if (record.timestamp >= *from && record.timestamp <= *to + 999'999) order.emplace_back(Scramble(id), &record);
      }
      std::sort(order.begin(), order.end());
      window_.clear();
      for (const auto& [scramble, record] : order) window_.push_back(record);
      window_key_ = key;
    }
    const auto& window = window_;
    const int max = call.query.count("max") ? std::stoi(call.query["max"]) : static_cast<int>(window.size());
    const int first = start - 1;
    const int last = std::min({first + size, max, static_cast<int>(window.size())});
    std::string images, videos;
    std::string max_images, max_videos;
    int image_count = 0, video_count = 0;
    for (int i = first; i < last; ++i) {
      const Record& r = *window[static_cast<std::size_t>(i)];
      const std::string stamp = IsoSeconds(r.timestamp);
      std::string& group = r.video ? videos : images;
      std::string& group_max = r.video ? max_videos : max_images;
      ++(r.video ? video_count : image_count);
      if (group_max < stamp) group_max = stamp;
      const std::string kind = r.video ? "video" : "image";
      if (r.deleted) {
        group += "<deleted" + std::string(r.video ? "Video" : "Image") + "><member id=\"" + XmlEscape(r.member) +
                 "\">Member</member><id>" + XmlEscape(r.id) + "</id><timestamp>" + stamp + "</timestamp></deleted" +
                 (r.video ? "Video" : "Image") + ">";
        continue;
      }
      group += "<" + kind + "><member id=\"" + XmlEscape(r.member) + "\">Member</member><timestamp>" + stamp +
               "</timestamp><id>" + XmlEscape(r.id) + "</id><classification>" + XmlEscape(r.classification) +
               "</classification><fingerprints>";
      if (!r.md5.empty()) group += "<md5>" + r.md5 + "</md5>";
      if (!r.sha1.empty()) group += "<sha1>" + r.sha1 + "</sha1>";
      if (!r.pdq.empty()) group += "<pdq>" + r.pdq + "</pdq>";
      group += "<pdna>" + std::string(16, '1') + "</pdna>";
      group += "</fingerprints><feedback/></" + kind + ">";
    }
    reply.body = head + "<queryResult xmlns=\"" + kNamespace + "\">";
    reply.body += "<images count=\"" + std::to_string(image_count) + "\"" +
                  (max_images.empty() ? "" : " maxTimestamp=\"" + max_images + "\"") + ">" + images + "</images>";
    reply.body += "<videos count=\"" + std::to_string(video_count) + "\"" + (max_videos.empty() ? std::string() : " maxTimestamp=\"" + max_videos + "\"") + ">" + videos + "</videos>";
    if (last < std::min(max, static_cast<int>(window.size()))) {
      reply.body += "<paging><next>" +
                    XmlEscape("/v2/entries?from=" + net::UrlEncode(call.query["from"]) + "&to=" + net::UrlEncode(call.query["to"]) +
                              "&start=" + std::to_string(last + 1) + "&size=" + std::to_string(size) +
                              "&max=" + std::to_string(std::min(max, static_cast<int>(window.size())))) +
                    "</next></paging>";
    }
    reply.body += "</queryResult>";
    return reply;
  }
  if (rest.rfind("feedback/", 0) == 0 && rest.size() > 8 && call.method == "GET") {
    const std::string type = rest.substr(9, rest.find('/', 9) - 9);
    reply.body = head + "<availableFeedbackReasons xmlns=\"" + kNamespace + "\"><reason guid=\"01234567-abcd-0123-4567-0123456789" +
                 (type == "PDQ" ? "01" : "00") + "\" name=\"Not CSAM\" type=\"" + XmlEscape(type) + "\"/></availableFeedbackReasons>";
    return reply;
  }
  if (call.method == "PUT" && rest.rfind("entries/", 0) == 0) {
    // entries/{espId}/{entryId}/{TYPE}/feedback
    std::vector<std::string> parts;
    std::size_t at = 0;
    while (at <= rest.size()) {
      auto slash = rest.find('/', at);
      if (slash == std::string::npos) slash = rest.size();
      parts.push_back(Decode(rest.substr(at, slash - at)));
      at = slash + 1;
    }
    if (parts.size() != 5 || parts[4] != "feedback") {
      reply.status = 404;
      return reply;
    }
    const std::string key = parts[1] + "/" + parts[2];
    const auto found = records_.find(key);
    if (found == records_.end() || found->second.deleted) {
      reply.status = 404;
      reply.body = head + "<error>no such entry</error>";
      return reply;
    }
    ++feedback_puts_;
    std::string verdict;
    if (call.body.find("<affirmative/>") != std::string::npos) {
      verdict = "affirmative";
    } else if (const auto g = call.body.find("<guid>"); g != std::string::npos && call.body.find("<negative>") != std::string::npos) {
      verdict = "negative:" + call.body.substr(g + 6, call.body.find("</guid>") - g - 6);
    } else {
      reply.status = 400;
      reply.body = head + "<error>feedbackSubmission needs affirmative or negative with reasonIds</error>";
      return reply;
    }
    feedback_[key + "/" + parts[3]] = verdict;
    reply.body = head + "<submissionResult xmlns=\"" + kNamespace + "\"/>";
    return reply;
  }
  reply.status = 404;
  return reply;
}

// ---- StopNCII ---------------------------------------------------------------------------------

StopNciiStandIn::StopNciiStandIn(std::string subscription_key, std::string fetch_key, std::string feedback_key)
    : subscription_(std::move(subscription_key)), fetch_key_(std::move(fetch_key)), feedback_key_(std::move(feedback_key)) {}

std::string StopNciiStandIn::base_url() const { return origin() + "/v1"; }

void StopNciiStandIn::Put(const Record& record) {
  std::lock_guard lock(mutex_);
  records_[record.signal_type + ":" + record.hash] = record;
}

std::map<std::string, std::string> StopNciiStandIn::Feedback() const {
  std::lock_guard lock(mutex_);
  return feedback_;
}

int StopNciiStandIn::FeedbackPosts() const {
  std::lock_guard lock(mutex_);
  return feedback_posts_;
}

std::string StopNciiStandIn::Endpoint(const Call& call) const {
  const auto slash = call.path.rfind('/');
  return call.path.substr(slash + 1);
}

StopNciiStandIn::Reply StopNciiStandIn::Answer(Call& call) {
  Reply reply;
  reply.content_type = "application/json";
  auto header = [&](const char* name) {
    const auto it = call.headers.find(name);
    return it == call.headers.end() ? std::string() : it->second;
  };
  const std::string endpoint = Endpoint(call);
  const std::string& function_key = endpoint == "SubmitFeedback" ? feedback_key_ : fetch_key_;
  if (header("ocp-apim-subscription-key") != subscription_ || header("x-functions-key") != function_key) {
    reply.status = 401;
    reply.body = R"({"statusCode": 401, "message": "Access denied due to invalid subscription key."})";
    return reply;
  }
  if (endpoint == "FetchHashes" && call.method == "GET") {
    const std::int64_t start = call.query.count("startTimestamp") ? std::stoll(call.query["startTimestamp"]) : 0;
    const int size = call.query.count("pageSize") ? std::stoi(call.query["pageSize"]) : 800;
    std::size_t offset = 0;
    if (call.query.count("nextPageToken")) offset = std::stoull(call.query["nextPageToken"].substr(7));  // "offset:N"
    std::vector<const Record*> set;
    for (const auto& [key, record] : records_) {
      if (record.modified >= start) set.push_back(&record);
    }
    std::sort(set.begin(), set.end(), [](const Record* a, const Record* b) { return a->modified < b->modified; });
    std::int64_t set_max = start;
    for (const auto* record : set) set_max = std::max(set_max, record->modified + 1);
    boost::json::array records;
    for (std::size_t i = offset; i < set.size() && i < offset + static_cast<std::size_t>(size); ++i) {
      const Record& r = *set[i];
      boost::json::object cases;
      cases[r.case_number.empty() ? "case-" + r.hash.substr(0, 8) : r.case_number] = r.status;
      records.push_back({{"lastModtimestamp", r.modified}, {"hashValue", r.hash}, {"hashStatus", r.status},
                         {"caseNumbers", cases}, {"signalType", r.signal_type}, {"CSPFeedbacks", boost::json::array()}});
    }
    const bool more = offset + static_cast<std::size_t>(size) < set.size();
    boost::json::object body{{"count", records.size()}, {"hashRecords", records}, {"hasMoreRecords", more},
                             {"nextSetTimestamp", set_max}};
    if (more) body["nextPageToken"] = "offset:" + std::to_string(offset + static_cast<std::size_t>(size));
    reply.body = boost::json::serialize(body);
    return reply;
  }
  if (endpoint == "SubmitFeedback" && call.method == "POST") {
    boost::system::error_code ec;
    auto body = boost::json::parse(call.body, ec);
    if (ec || !body.is_object() || !body.as_object().contains("hashFeedbacks")) {
      reply.status = 400;
      reply.body = R"({"message": "hashFeedbacks required"})";
      return reply;
    }
    ++feedback_posts_;
    for (const auto& item : body.as_object().at("hashFeedbacks").as_array()) {
      const auto& o = item.as_object();
      feedback_[std::string(o.at("hashValue").as_string())] = std::string(o.at("feedbackValue").as_string());
    }
    reply.body = R"({"message": "ok"})";
    return reply;
  }
  reply.status = 404;
  reply.body = R"({"message": "Resource not found"})";
  return reply;
}

// ---- ThreatExchange ---------------------------------------------------------------------------

ThreatExchangeStandIn::ThreatExchangeStandIn(std::string token, std::string privacy_group, int page_size)
    : token_(std::move(token)), group_(std::move(privacy_group)), page_size_(page_size) {}

std::string ThreatExchangeStandIn::base_url() const { return origin() + "/v9.0"; }

void ThreatExchangeStandIn::Put(const Indicator& indicator) {
  std::lock_guard lock(mutex_);
  indicators_[indicator.id] = indicator;
}

std::map<std::string, std::string> ThreatExchangeStandIn::Reactions() const {
  std::lock_guard lock(mutex_);
  return reactions_;
}

int ThreatExchangeStandIn::ReactionPosts() const {
  std::lock_guard lock(mutex_);
  return reaction_posts_;
}

std::string ThreatExchangeStandIn::Endpoint(const Call& call) const {
  if (call.path.find("threat_updates") != std::string::npos) return "threat_updates";
  return call.method == "POST" ? "reactions" : call.path;
}

ThreatExchangeStandIn::Reply ThreatExchangeStandIn::Answer(Call& call) {
  Reply reply;
  reply.content_type = "application/json";
  if (call.query["access_token"] != token_) {
    reply.status = 400;
    reply.body = R"({"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}})";
    return reply;
  }
  if (call.path == "/v9.0/" + group_ + "/threat_updates/" && call.method == "GET") {
    const std::int64_t start = std::stoll(call.query["start_time"]);
    const std::int64_t stop = std::stoll(call.query["stop_time"]);
    const int limit = call.query.count("limit") ? std::stoi(call.query["limit"]) : page_size_;
    const std::size_t after = call.query.count("after") ? std::stoull(call.query["after"]) : 0;
    std::vector<const Indicator*> window;
    for (const auto& [id, indicator] : indicators_) {
      if (indicator.updated >= start && indicator.updated < stop) window.push_back(&indicator);
    }
    boost::json::array data;
    const std::size_t page = static_cast<std::size_t>(std::min(limit, page_size_));
    for (std::size_t i = after; i < window.size() && i < after + page; ++i) {
      const Indicator& x = *window[i];
      boost::json::object item{{"id", x.id}, {"indicator", x.indicator}, {"type", x.type},
                               {"last_updated", x.updated}, {"should_delete", x.should_delete}};
      if (!x.should_delete) {
        boost::json::object descriptor{{"id", x.descriptor_id}, {"status", "MALICIOUS"}};
        descriptor["owner"] = boost::json::object{{"id", x.owner}};
        boost::json::array list;
        list.push_back(std::move(descriptor));
        item["descriptors"] = boost::json::object{{"data", std::move(list)}};
      }
      data.push_back(std::move(item));
    }
    boost::json::object body{{"data", data}};
    if (after + page < window.size()) {
      boost::json::object paging;
      paging["cursors"] = boost::json::object{{"after", std::to_string(after + page)}};
      paging["next"] = origin() + call.path + "?access_token=" + net::UrlEncode(token_) + "&start_time=" +
                                     std::to_string(start) + "&stop_time=" + std::to_string(stop) + "&limit=" +
                                     std::to_string(limit) + "&after=" + std::to_string(after + page);
      body["paging"] = std::move(paging);
    }
    reply.body = boost::json::serialize(body);
    return reply;
  }
  if (call.method == "POST") {
    const std::string descriptor = call.path.substr(call.path.rfind('/', call.path.size() - 2) + 1);
    std::string id = descriptor;
    if (!id.empty() && id.back() == '/') id.pop_back();
    const auto reaction = call.query["reactions"];
    if (reaction.empty()) {
      reply.status = 400;
      reply.body = R"({"error": {"message": "reactions required", "type": "GraphMethodException", "code": 100}})";
      return reply;
    }
    ++reaction_posts_;
    reactions_[id] = reaction;
    reply.body = R"({"success": true})";
    return reply;
  }
  reply.status = 404;
  reply.body = R"({"error": {"message": "Unknown path", "type": "GraphMethodException", "code": 100}})";
  return reply;
}

// ---- classifiers ------------------------------------------------------------------------------


void ClassifierStandIn::SetPriority(const std::string& base64, const std::string& priority) {
  std::lock_guard lock(mutex_);
  priorities_[base64] = priority;
}

void ClassifierStandIn::SetSaferScore(const std::string& bytes, double score) {
  std::lock_guard lock(mutex_);
  safer_[bytes] = score;
}

void ClassifierStandIn::SetScore(const std::string& content_id, double score) {
  std::lock_guard lock(mutex_);
  scores_[content_id] = score;
}

std::string ClassifierStandIn::LastJsonRequest() const {
  std::lock_guard lock(mutex_);
  return last_json_;
}

std::string ClassifierStandIn::Endpoint(const Call& call) const {
  if (call.path == "/v1beta1/images:classify") return "google";
  if (call.path == "/api/v2/task/sync") return "safer";
  if (call.path == "/classify") return "json";
  return "other";
}

StandInServer::Reply ClassifierStandIn::Answer(Call& call) {
  auto JsonReply = [](unsigned status, std::string body) {
    Reply r;
    r.status = status;
    r.body = std::move(body);
    r.content_type = "application/json";
    return r;
  };
  Reply reply;
  reply.content_type = "application/json";
  const std::string endpoint = Endpoint(call);
  boost::system::error_code ec;
  if (endpoint == "google") {
    if (call.query["key"] != key_) return JsonReply(403, R"({"error":{"code":403,"message":"API key not valid"}})");
    auto doc = boost::json::parse(call.body, ec);
    if (ec || !doc.is_object() || !doc.as_object().contains("images")) return JsonReply(400, R"({"error":{"code":400}})");
    boost::json::array priorities;
    for (const auto& image : doc.at("images").as_array()) {
      auto it = priorities_.find(std::string(image.as_string()));
      priorities.emplace_back(it == priorities_.end() ? "VERY_LOW" : it->second);
    }
    reply.body = boost::json::serialize(boost::json::object{{"reviewPriorities", priorities}, {"model_version", "standin-7"}});
    return reply;
  }
  if (endpoint == "safer") {
    if (call.headers["authorization"] != "Token " + key_) return JsonReply(401, R"({"message":"bad token"})");
    // The file field's bytes: after its part's blank line, up to the closing boundary.
    const auto type = call.headers["content-type"];
    const auto b = type.find("boundary=");
    const std::string boundary = b == std::string::npos ? "" : "--" + type.substr(b + 9);
    const auto start = call.body.find("\r\n\r\n");
    const auto end = call.body.rfind("\r\n" + boundary + "--");
    if (boundary.size() <= 2 || start == std::string::npos || end == std::string::npos || end < start + 4 ||
        call.body.find("name=\"media\"") == std::string::npos) {
      return JsonReply(400, R"({"message":"no media"})");
    }
    const std::string file = call.body.substr(start + 4, end - start - 4);
    auto it = safer_.find(file);
    const double csam = it == safer_.end() ? 0.01 : it->second;
    boost::json::object prediction{{"csam_classifier", boost::json::object{{"csam", csam}, {"pornography", 0.0}, {"other", 1.0 - csam}}}};
    boost::json::object file_result{{"fileType", "image"}, {"reasons", boost::json::array{}}, {"classifierPrediction", prediction}};
    boost::json::array output{boost::json::object{{"file", file_result}, {"hashes", boost::json::array{}}}};
    reply.body = boost::json::serialize(boost::json::object{
        {"id", "task-1"}, {"status", boost::json::array{boost::json::object{{"response", boost::json::object{{"output", output}}}}}}});
    return reply;
  }
  if (endpoint == "json") {
    last_json_ = call.body;
    auto doc = boost::json::parse(call.body, ec);
    if (ec || !doc.is_object()) return JsonReply(400, R"({"error":"not json"})");
    const auto* id = doc.as_object().if_contains("id");
    auto it = id != nullptr && id->is_string() ? scores_.find(std::string(id->as_string())) : scores_.end();
    const double s = it == scores_.end() ? 0.0 : it->second;
    reply.body = boost::json::serialize(boost::json::object{
        {"model", "standin-model"}, {"version", "1.2"}, {"scores", boost::json::object{{"match", s}, {"other", 1.0 - s}}}});
    return reply;
  }
  return JsonReply(404, "{}");
}

}  // namespace vigil::testing

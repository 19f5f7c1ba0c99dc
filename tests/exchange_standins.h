// Stand-ins for the hash-sharing services Vigil syncs with, written from their public
// documentation (../shared/specs/ncmec.md §1.7-1.8 and the open-source clients it names), on the
// project's own HTTP server, for tests and the exchange benchmark:
//   NcmecStandIn           NCMEC hash sharing v2: Basic auth, GET /v2/status, /v2/entries with
//                          from/to windows and <paging><next> (records in no time order),
//                          tombstones, GET /v2/feedback/{TYPE}/reasons, PUT .../feedback
//   StopNciiStandIn        StopNCII v1: the two key headers, FetchHashes with nextPageToken and
//                          nextSetTimestamp, Withdrawn/Deleted records, SubmitFeedback
//   ThreatExchangeStandIn  Graph API threat_updates for a privacy group with paging.next, should_delete,
//                          reactions on descriptors
// Each can be told to fail: the N-th next request to an endpoint answers 500, 429 with Retry-After,
// or a body of the test's choosing (hostile answers). Thread safety: every method may be called
// while the server runs.
#pragma once

#include <cstdint>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace vigil::testing {

struct StandInFault {
  enum Kind { kHttp500, kHttp429, kBody, kDelay } kind = kHttp500;
  int retry_after = 0;     // kHttp429: the Retry-After header (seconds)
  std::string body;        // kBody: answered with 200 and this body
  std::string content_type = "application/xml";

  static StandInFault Http500() { return {}; }
  static StandInFault Http429(int retry_after) {
    StandInFault f;
    f.kind = kHttp429;
    f.retry_after = retry_after;
    return f;
  }
  // Answers as usual, after `ms` milliseconds.
  static StandInFault Delay(int ms) {
    StandInFault f;
    f.kind = kDelay;
    f.retry_after = ms;
    return f;
  }
  static StandInFault Body(std::string text) {
    StandInFault f;
    f.kind = kBody;
    f.body = std::move(text);
    return f;
  }
};

// The shared part: a server on a free loopback port, fault queues and request counts.
class StandInServer {
 public:
  StandInServer();
  virtual ~StandInServer();
  bool Start();
  void Stop();
  std::string origin() const;  // http://127.0.0.1:PORT
  // The request to `endpoint` after `skip` more have passed answers with `fault`, `times` times.
  void FailAt(const std::string& endpoint, int skip, StandInFault fault, int times = 1);
  int Requests(const std::string& endpoint) const;
  // Every answer waits this long first (outside the lock: answers overlap), e.g. a 20 ms model.
  void SetLatency(int ms) { latency_ms_ = ms; }

 protected:
  struct Reply {
    unsigned status = 200;
    std::string body;
    std::string content_type = "application/xml";
    int retry_after = -1;
    std::string location;  // a redirect's Location ("" : none)
  };
  struct Call {
    std::string method, target, path, body;
    std::map<std::string, std::string> query;  // decoded
    std::map<std::string, std::string> headers;  // lower-case names
  };
  // The endpoint a call counts under ("entries", "FetchHashes", ...), and its answer.
  virtual std::string Endpoint(const Call& call) const = 0;
  virtual Reply Answer(Call& call) = 0;
  mutable std::mutex mutex_;  // held while Answer runs; guards the subclass's state too

 private:
  std::atomic<int> latency_ms_{0};
  struct State;
  std::unique_ptr<State> state_;
};

class NcmecStandIn final : public StandInServer {
 public:
  struct Record {
    std::string member = "42", id;
    std::int64_t timestamp = 0;  // microseconds
    std::string classification = "A1";
    std::string md5, sha1, pdq;
    bool video = false, deleted = false;
  };
  NcmecStandIn(std::string user, std::string password, int page_size = 1000);
  std::string base_url() const;  // origin + "/hashsharing"
  // Adds or replaces (by member and id) a record; deleting keeps a tombstone.
  void Put(const Record& record);
  void Delete(const std::string& member, const std::string& id, std::int64_t timestamp);
  // The feedback each (member, id, TYPE) holds now ("affirmative", "negative:GUID"), and PUTs seen.
  std::map<std::string, std::string> Feedback() const;
  int FeedbackPuts() const;

 protected:
  std::string Endpoint(const Call& call) const override;
  Reply Answer(Call& call) override;

 private:
  std::string user_, password_;
  int page_size_;
  std::map<std::string, Record> records_;  // member/id -> record
  // The last window asked for, in its (scrambled) order: a million-record window is paged through
  // a thousand times.
  std::string window_key_;
  std::vector<const Record*> window_;
  std::map<std::string, std::string> feedback_;
  int feedback_puts_ = 0;
};

class StopNciiStandIn final : public StandInServer {
 public:
  struct Record {
    std::string signal_type = "ImagePDQ", hash, status = "Active", case_number;
    std::int64_t modified = 0;  // seconds
  };
  StopNciiStandIn(std::string subscription_key, std::string fetch_key, std::string feedback_key);
  std::string base_url() const;  // origin + "/v1"
  void Put(const Record& record);  // replaces the record for its (type, hash)
  std::map<std::string, std::string> Feedback() const;  // hash -> feedbackValue
  int FeedbackPosts() const;

 protected:
  std::string Endpoint(const Call& call) const override;
  Reply Answer(Call& call) override;

 private:
  std::string subscription_, fetch_key_, feedback_key_;
  std::map<std::string, Record> records_;
  std::map<std::string, std::string> feedback_;
  int feedback_posts_ = 0;
};

class ThreatExchangeStandIn final : public StandInServer {
 public:
  struct Indicator {
    std::string id, indicator, type = "HASH_PDQ", descriptor_id, owner = "1000";
    std::int64_t updated = 0;  // seconds
    bool should_delete = false;
  };
  ThreatExchangeStandIn(std::string token, std::string privacy_group, int page_size = 2);
  std::string base_url() const;  // origin + "/v9.0"
  void Put(const Indicator& indicator);  // by id
  std::map<std::string, std::string> Reactions() const;  // descriptor id -> last reaction
  int ReactionPosts() const;

 protected:
  std::string Endpoint(const Call& call) const override;
  Reply Answer(Call& call) override;

 private:
  std::string token_, group_;
  int page_size_;
  std::map<std::string, Indicator> indicators_;
  std::map<std::string, std::string> reactions_;
  int reaction_posts_ = 0;
};

// Classifier services, in the shapes Vigil's adapters speak (classify/http_classifiers.h):
//   POST /v1beta1/images:classify?key=K   Google Content Safety: {"images": [base64...]} ->
//                                         {"reviewPriorities": [...], "model_version"}
//   POST /api/v2/task/sync                Thorn Safer Predict (Hive's sync API): multipart "media",
//                                         "Authorization: Token K" -> status[0].response.output
//   POST /classify                        a platform's own model: {"image", "id"} -> {"model",
//                                         "version", "scores": {"match": s, "other": 1 - s}}
// The answers are what the test set for those bytes (or content id); endpoints count as "google",
// "safer" and "json".
class ClassifierStandIn final : public StandInServer {
 public:
  explicit ClassifierStandIn(std::string key) : key_(std::move(key)) {}
  // Stopped here, while Answer is still this class's: an answer still waiting (a delay) finishes.
  ~ClassifierStandIn() override { Stop(); }
  ClassifierStandIn(const ClassifierStandIn&) = delete;
  ClassifierStandIn& operator=(const ClassifierStandIn&) = delete;
  // Google: the priority of an image (by its base64); others answer VERY_LOW.
  void SetPriority(const std::string& base64, const std::string& priority);
  // Safer: the csam class's score for these file bytes; others score 0.01.
  void SetSaferScore(const std::string& bytes, double score);
  // The generic model: the "match" score for an upload's content id; others score 0.
  void SetScore(const std::string& content_id, double score);
  // The last generic request's body, as sent.
  std::string LastJsonRequest() const;

 protected:
  std::string Endpoint(const Call& call) const override;
  Reply Answer(Call& call) override;

 private:
  std::string key_;
  std::map<std::string, std::string> priorities_;
  std::map<std::string, double> safer_, scores_;
  std::string last_json_;
};

}  // namespace vigil::testing

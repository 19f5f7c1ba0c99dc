// Classifiers that are services over HTTP, in three shapes:
//   google-content-safety  Google's Content Safety API as its public clients call it: POST
//                          {"images": [base64, ...]} (up to 32 a call) to .../v1beta1/images:classify
//                          with the key in the query; the answer's "reviewPriorities" (VERY_LOW ..
//                          VERY_HIGH) become the label "review_priority" scored 0, .25, .5, .75, 1,
//                          "model_version" the version.
//   safer-predict          Thorn's Safer Predict classifier as Hive's public reference describes it:
//                          the file POSTed as multipart form field "media" with "Authorization: Token
//                          KEY"; every class of the answer's classifierPrediction (e.g. csam_classifier:
//                          {csam, pornography, other}) becomes a label with its score.
//   http-json              a platform's own model server: a JSON request made from a template whose
//                          string values "{{image_base64}}", "{{content_id}}", "{{media_type}}",
//                          "{{sha256}}", "{{md5}}", "{{pdq}}" are replaced, and the labels read from
//                          the answer at a JSON pointer (an object of label: score, or an array of
//                          {"label", "score"}).
// Neither service's real endpoint was reached by the tests here: they run against stand-ins
// written from the same documentation.
//
// Every answer is hostile until checked: at most 1 MiB, JSON, scores finite numbers within 0..1,
// at most 64 labels of at most 64 bytes, one result per upload sent. Status codes: 401/403 are a
// refused key (kPermissionDenied), 429 throttled (kResourceExhausted, not retried), 5xx and no
// answer kUnavailable / kIoError (retried by the GuardedClassifier).
//
// Thread safety: Classify may be called from many threads at once (each call has its own
// connection).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/http_fetch.h"
#include "vigil/classifier.h"

namespace vigil::classify {

struct HttpClassifierConfig {
  std::string name;
  std::string kind;  // "google-content-safety", "safer-predict" or "http-json"
  std::string url;   // "" : the service's documented endpoint (google-content-safety, safer-predict)
  std::string key;   // the secret itself (loaded from env: or file: by the caller); may be empty
  std::vector<std::string> media_types{"image/*"};  // what it is sent ("image/*" patterns)
  std::chrono::milliseconds timeout{2000};         // one request, connection included
  std::uint64_t max_upload_bytes = 10u << 20;      // larger uploads are not sent
  // http-json only.
  std::string request_template = R"({"image": "{{image_base64}}"})";
  std::string scores_pointer = "/scores";  // RFC 6901 pointer into the answer
  std::string model_pointer;               // "" : the model is `model`
  std::string version_pointer;             // "" : no version
  std::string model;                       // the model's name when the answer names none
  std::string auth_header = "Authorization";
  std::string auth_scheme = "Bearer";      // the key is sent as "<scheme> <key>" ("" : the key alone)
};

// Makes the adapter for `config.kind`; kInvalidArgument naming what is wrong (an unknown kind, a
// URL that is not https (or http to this host), a template that is not JSON).
// `fetcher` makes the HTTP client for one call (default: Beast with the config's limits).
using FetcherFactory = std::function<std::unique_ptr<net::HttpFetcher>(const net::FetchLimits&)>;
Result<std::unique_ptr<Classifier>> MakeHttpClassifier(HttpClassifierConfig config, FetcherFactory fetcher = {});

}  // namespace vigil::classify

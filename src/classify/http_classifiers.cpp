// Classifiers over HTTP: Google's Content Safety API, Thorn's Safer Predict and a generic JSON shape
// (see the header).
#include "classify/http_classifiers.h"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cmath>
#include <random>

#include "classify/label_json.h"
#include "util/strict_json.h"

namespace vigil::classify {
namespace {

constexpr std::uint64_t kMaxAnswerBytes = 1u << 20;

bool MediaMatches(const std::vector<std::string>& patterns, std::string_view media_type) {
  for (const auto& p : patterns) {
    if (p == "*" || p == media_type) return true;
    if (p.size() >= 2 && p.ends_with("/*") && media_type.starts_with(std::string_view(p).substr(0, p.size() - 1))) return true;
  }
  return false;
}

// A short text at `pointer` (a number is written as text: a version may be 3); "" otherwise.
std::string TextAt(const boost::json::value& doc, const std::string& pointer) {
  if (pointer.empty()) return {};
  const auto* v = AtPointer(doc, pointer);
  if (v != nullptr && (v->is_int64() || v->is_uint64())) return boost::json::serialize(*v);
  if (v == nullptr || !v->is_string() || v->as_string().size() > 200) return {};
  return std::string(v->as_string());
}

// The service's name in errors: the URL's host, never its query (Google's key is there).
class HttpClassifier : public Classifier {
 public:
  HttpClassifier(HttpClassifierConfig config, net::Url url, FetcherFactory fetcher)
      : config_(std::move(config)), url_(std::move(url)), fetcher_(std::move(fetcher)) {}

  const std::string& name() const override { return config_.name; }
  bool Accepts(std::string_view media_type) const override { return MediaMatches(config_.media_types, media_type); }

  std::vector<Result<Classification>> Classify(std::span<const ClassifierInput> inputs) override {
    std::vector<Result<Classification>> out;
    for (const auto& input : inputs) {
      if (SendsMedia() && input.bytes.size() > config_.max_upload_bytes) {
        out.emplace_back(Fail(ErrorCode::kTooLarge, "the upload is " + std::to_string(input.bytes.size()) +
                                                        " bytes; " + config_.name + " is sent at most " +
                                                        std::to_string(config_.max_upload_bytes)));
        continue;
      }
      out.emplace_back(ClassifyOne(input));
    }
    return out;
  }

 protected:
  virtual Result<Classification> ClassifyOne(const ClassifierInput& input) = 0;
  // Whether the upload's bytes are sent (a template of hashes alone sends none).
  virtual bool SendsMedia() const { return true; }

  // Sends and checks the status; the body of a 2xx answer.
  Result<std::string> Exchange(net::HttpCall call) {
    net::FetchLimits limits;
    limits.timeout = config_.timeout;
    limits.max_body_bytes = kMaxAnswerBytes;
    auto fetcher = fetcher_ ? fetcher_(limits) : net::MakeBeastFetcher(limits);
    auto reply = fetcher->Send(call);
    if (!reply) return tl::unexpected(Error{reply.error().code, config_.name + ": " + reply.error().message});
    const unsigned status = reply->status;
    if (status >= 200 && status < 300) return std::move(reply->body);
    const std::string who = config_.name + " (" + url_.host + ") answered HTTP " + std::to_string(status);
    if (status == 401 || status == 403) return Fail(ErrorCode::kPermissionDenied, who + ": the key was refused");
    if (status == 429) return Fail(ErrorCode::kResourceExhausted, who + ": throttled");
    if (status >= 500) return Fail(ErrorCode::kUnavailable, who);
    return Fail(ErrorCode::kInvalidArgument, who + ": the request was refused");
  }

  Result<boost::json::value> ParseAnswer(const std::string& body) {
    auto doc = ParseStrictJson(body, 32);
    if (!doc) return Fail(ErrorCode::kCorrupt, config_.name + " answered something other than JSON: " + doc.error().message);
    return doc;
  }

  HttpClassifierConfig config_;
  net::Url url_;
  FetcherFactory fetcher_;
};

class GoogleContentSafety final : public HttpClassifier {
 public:
  using HttpClassifier::HttpClassifier;
  std::size_t max_batch() const override { return 32; }

  std::vector<Result<Classification>> Classify(std::span<const ClassifierInput> inputs) override {
    std::vector<Result<Classification>> out(inputs.size(), Fail(ErrorCode::kInternal, "not sent"));
    boost::json::array images;
    std::vector<std::size_t> sent;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      if (inputs[i].bytes.size() > config_.max_upload_bytes) {
        out[i] = Fail(ErrorCode::kTooLarge, "the upload is over the " + std::to_string(config_.max_upload_bytes) +
                                                " bytes " + config_.name + " is sent");
        continue;
      }
      images.emplace_back(net::Base64(std::string(reinterpret_cast<const char*>(inputs[i].bytes.data()), inputs[i].bytes.size())));
      sent.push_back(i);
    }
    if (sent.empty()) return out;
    for (std::size_t start = 0; start < sent.size(); start += 32) {
      const std::size_t end = std::min(sent.size(), start + 32);
      boost::json::array batch(images.begin() + static_cast<std::ptrdiff_t>(start), images.begin() + static_cast<std::ptrdiff_t>(end));
      auto answers = Call(batch);
      for (std::size_t k = start; k < end; ++k) {
        out[sent[k]] = answers ? Result<Classification>((*answers)[k - start]) : Result<Classification>(tl::unexpected(answers.error()));
      }
    }
    return out;
  }

 private:
  Result<Classification> ClassifyOne(const ClassifierInput&) override { return Fail(ErrorCode::kInternal, "unused"); }

  Result<std::vector<Classification>> Call(const boost::json::array& images) {
    net::HttpCall call;
    call.method = "POST";
    call.url = config_.url + (config_.url.find('?') == std::string::npos ? "?" : "&") + "key=" + net::UrlEncode(config_.key);
    call.content_type = "application/json";
    call.body = boost::json::serialize(boost::json::object{{"images", images}});
    VIGIL_ASSIGN_OR_RETURN(auto body, Exchange(std::move(call)));
    VIGIL_ASSIGN_OR_RETURN(auto doc, ParseAnswer(body));
    const auto* o = doc.if_object();
    const auto* priorities = o != nullptr ? o->if_contains("reviewPriorities") : nullptr;
    if (priorities == nullptr || !priorities->is_array()) {
      return Fail(ErrorCode::kCorrupt, config_.name + " answered without \"reviewPriorities\"");
    }
    if (priorities->as_array().size() != images.size()) {
      return Fail(ErrorCode::kCorrupt, config_.name + " answered " + std::to_string(priorities->as_array().size()) +
                                           " priorities for " + std::to_string(images.size()) + " images");
    }
    const std::string version = TextAt(doc, "/model_version");
    std::vector<Classification> out;
    for (const auto& p : priorities->as_array()) {
      static constexpr std::pair<std::string_view, double> kScores[] = {
          {"VERY_LOW", 0}, {"LOW", 0.25}, {"MEDIUM", 0.5}, {"HIGH", 0.75}, {"VERY_HIGH", 1}};
      const auto* text = p.if_string();
      const auto* known = text == nullptr ? std::end(kScores)
                                          : std::find_if(std::begin(kScores), std::end(kScores),
                                                         [&](const auto& k) { return k.first == std::string_view(*text); });
      if (known == std::end(kScores)) return Fail(ErrorCode::kCorrupt, config_.name + " answered a priority that is not VERY_LOW..VERY_HIGH");
      Classification c;
      c.model = "content-safety";
      c.version = version;
      c.labels.push_back({"review_priority", known->second});
      out.push_back(std::move(c));
    }
    return out;
  }
};

class SaferPredict final : public HttpClassifier {
 public:
  using HttpClassifier::HttpClassifier;

 private:
  Result<Classification> ClassifyOne(const ClassifierInput& input) override {
    // multipart/form-data with one file field, "media".
    std::string boundary = "vigil-";
    std::mt19937_64 random(std::random_device{}());
    for (int i = 0; i < 24; ++i) boundary += "0123456789abcdef"[random() % 16];
    net::HttpCall call;
    call.method = "POST";
    call.url = config_.url;
    call.headers.emplace_back("Authorization", "Token " + config_.key);
    call.content_type = "multipart/form-data; boundary=" + boundary;
    call.body.append("--").append(boundary).append("\r\n");
    call.body.append("Content-Disposition: form-data; name=\"media\"; filename=\"upload\"\r\n");
    call.body.append("Content-Type: ").append(input.media_type).append("\r\n\r\n");
    call.body.append(reinterpret_cast<const char*>(input.bytes.data()), input.bytes.size());
    call.body.append("\r\n--").append(boundary).append("--\r\n");
    VIGIL_ASSIGN_OR_RETURN(auto body, Exchange(std::move(call)));
    VIGIL_ASSIGN_OR_RETURN(auto doc, ParseAnswer(body));
    // The task's output: at the top level, or inside the sync API's status[0].response.
    const boost::json::value* output = AtPointer(doc, "/output");
    if (output == nullptr) output = AtPointer(doc, "/status/0/response/output");
    if (output != nullptr && output->is_array() && !output->as_array().empty()) output = &output->as_array().front();
    const boost::json::value* prediction = output != nullptr ? AtPointer(*output, "/file/classifierPrediction") : nullptr;
    if (prediction == nullptr || !prediction->is_object() || prediction->as_object().empty()) {
      return Fail(ErrorCode::kCorrupt, config_.name + " answered without a file's classifierPrediction");
    }
    Classification c;
    c.model = "safer-predict";
    for (const auto& [model, classes] : prediction->as_object()) {
      VIGIL_ASSIGN_OR_RETURN(auto labels, LabelsFromNode(classes));
      c.version = std::string(model).substr(0, 200);  // e.g. "csam_classifier"
      for (auto& l : labels) {
        if (c.labels.size() == kMaxLabels) return Fail(ErrorCode::kCorrupt, config_.name + " answered over 64 labels");
        c.labels.push_back(std::move(l));
      }
    }
    return c;
  }
};

class JsonClassifier final : public HttpClassifier {
 public:
  JsonClassifier(HttpClassifierConfig config, net::Url url, FetcherFactory fetcher, boost::json::value request)
      : HttpClassifier(std::move(config), std::move(url), std::move(fetcher)), request_(std::move(request)),
        sends_media_(Mentions(request_, "{{image_base64}}")) {}

 private:
  static bool Mentions(const boost::json::value& node, std::string_view placeholder) {
    if (const auto* s = node.if_string()) return std::string_view(*s) == placeholder;
    if (const auto* o = node.if_object()) {
      return std::any_of(o->begin(), o->end(), [&](const auto& kv) { return Mentions(kv.value(), placeholder); });
    }
    if (const auto* a = node.if_array()) {
      return std::any_of(a->begin(), a->end(), [&](const auto& v) { return Mentions(v, placeholder); });
    }
    return false;
  }
  bool SendsMedia() const override { return sends_media_; }

  // The template with its placeholders replaced: only whole string values are, so a value can
  // never break out of its string.
  boost::json::value Fill(const boost::json::value& node, const ClassifierInput& input) const {
    if (const auto* s = node.if_string()) {
      const std::string_view text = *s;
      auto hash = [&](const char* type) {
        auto it = input.hashes.find(type);
        return it == input.hashes.end() ? std::string() : it->second;
      };
      if (text == "{{image_base64}}") {
        return boost::json::value(net::Base64(std::string(reinterpret_cast<const char*>(input.bytes.data()), input.bytes.size())));
      }
      if (text == "{{content_id}}") return boost::json::value(input.content_id);
      if (text == "{{media_type}}") return boost::json::value(input.media_type);
      if (text == "{{sha256}}") return boost::json::value(hash("sha256"));
      if (text == "{{md5}}") return boost::json::value(hash("md5"));
      if (text == "{{pdq}}") return boost::json::value(hash("pdq"));
      return node;
    }
    if (const auto* o = node.if_object()) {
      boost::json::object filled;
      for (const auto& [k, v] : *o) filled[k] = Fill(v, input);
      return filled;
    }
    if (const auto* a = node.if_array()) {
      boost::json::array filled;
      for (const auto& v : *a) filled.push_back(Fill(v, input));
      return filled;
    }
    return node;
  }

  Result<Classification> ClassifyOne(const ClassifierInput& input) override {
    net::HttpCall call;
    call.method = "POST";
    call.url = config_.url;
    call.content_type = "application/json";
    if (!config_.key.empty()) {
      call.headers.emplace_back(config_.auth_header, config_.auth_scheme.empty() ? config_.key : config_.auth_scheme + " " + config_.key);
    }
    call.body = boost::json::serialize(Fill(request_, input));
    VIGIL_ASSIGN_OR_RETURN(auto body, Exchange(std::move(call)));
    VIGIL_ASSIGN_OR_RETURN(auto doc, ParseAnswer(body));
    const auto* scores = AtPointer(doc, config_.scores_pointer);
    if (scores == nullptr) return Fail(ErrorCode::kCorrupt, config_.name + " answered nothing at " + config_.scores_pointer);
    auto labels = LabelsFromNode(*scores);
    if (!labels) return Fail(ErrorCode::kCorrupt, config_.name + ": " + labels.error().message);
    Classification c;
    c.model = config_.model_pointer.empty() ? config_.model : TextAt(doc, config_.model_pointer);
    if (c.model.empty()) c.model = config_.model.empty() ? config_.name : config_.model;
    c.version = TextAt(doc, config_.version_pointer);
    c.labels = std::move(*labels);
    return c;
  }

  boost::json::value request_;
  bool sends_media_ = true;
};

}  // namespace

Result<std::unique_ptr<Classifier>> MakeHttpClassifier(HttpClassifierConfig config, FetcherFactory fetcher) {
  const std::string where = "classifier '" + config.name + "': ";
  if (config.url.empty()) {
    if (config.kind == "google-content-safety") config.url = "https://contentsafety.googleapis.com/v1beta1/images:classify";
    if (config.kind == "safer-predict") config.url = "https://api.thehive.ai/api/v2/task/sync";
  }
  if (config.kind != "google-content-safety" && config.kind != "safer-predict" && config.kind != "http-json") {
    return Fail(ErrorCode::kInvalidArgument,
                where + "unknown kind '" + config.kind + "' (google-content-safety, safer-predict, http-json)");
  }
  if (config.url.empty()) return Fail(ErrorCode::kInvalidArgument, where + "an http-json classifier needs a 'url'");
  auto url = net::ParseHttpUrl(config.url);
  if (!url) return Fail(ErrorCode::kInvalidArgument, where + url.error().message);
  if (config.kind != "http-json" && config.key.empty()) {
    return Fail(ErrorCode::kInvalidArgument, where + config.kind + " needs a key ('key' names where it is)");
  }
  if (config.kind == "google-content-safety") {
    return std::unique_ptr<Classifier>(new GoogleContentSafety(std::move(config), std::move(*url), std::move(fetcher)));
  }
  if (config.kind == "safer-predict") {
    return std::unique_ptr<Classifier>(new SaferPredict(std::move(config), std::move(*url), std::move(fetcher)));
  }
  auto request = ParseStrictJson(config.request_template, 16);
  if (!request) return Fail(ErrorCode::kInvalidArgument, where + "'request' is not JSON: " + request.error().message);
  if (!config.scores_pointer.empty() && config.scores_pointer.front() != '/') {
    return Fail(ErrorCode::kInvalidArgument, where + "'scores' must be a JSON pointer (\"/scores\", \"/result/0/labels\")");
  }
  return std::unique_ptr<Classifier>(new JsonClassifier(std::move(config), std::move(*url), std::move(fetcher), std::move(*request)));
}

}  // namespace vigil::classify

// The classifiers file and the set of guarded classifiers it makes (see the header).
#include "classify/classifier_set.h"

#include <algorithm>
#include <filesystem>
#include <future>
#include <set>
#include <sstream>
#include <toml++/toml.h>

#include "classify/batching_classifier.h"
#include "util/toml_guard.h"
#include "vigil/file_hasher.h"

namespace vigil::classify {
namespace {

constexpr std::string_view kKeys[] = {"name",          "kind",        "url",           "key",          "media_types",
                                      "timeout_ms",    "attempts",    "backoff_ms",    "rate_per_second", "burst",
                                      "circuit_failures", "circuit_open_seconds", "max_upload_bytes", "request", "max_in_flight",
                                      "scores",        "model",       "model_pointer", "version",      "auth_header",
                                      "auth_scheme",   "card",        "workers",      "batch_wait_ms"};

bool ValidName(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

}  // namespace

Result<std::vector<ClassifierSpec>> ParseClassifiers(std::string_view text, const std::string& source) {
  VIGIL_ASSIGN_OR_RETURN(toml::table table, ParseTomlChecked(text, source));
  for (const auto& [key, node] : table) {
    if (key.str() != "classifier") {
      return Fail(ErrorCode::kInvalidArgument, source + ":" + std::to_string(node.source().begin.line) + ": unknown key '" +
                                                   std::string(key.str()) + "' (classifiers are [[classifier]] tables)");
    }
  }
  std::vector<ClassifierSpec> out;
  const toml::array* array = table["classifier"].as_array();
  if (table.contains("classifier") && array == nullptr) {
    return Fail(ErrorCode::kInvalidArgument, source + ": 'classifier' must be an array of tables ([[classifier]])");
  }
  if (array == nullptr) return out;
  if (array->size() > 16) return Fail(ErrorCode::kInvalidArgument, source + ": at most 16 classifiers");
  std::set<std::string> names;
  for (const auto& element : *array) {
    ClassifierSpec spec;
    spec.line = static_cast<int>(element.source().begin.line);
    const toml::table* t = element.as_table();
    // The line of `key` when the table has it (the table's own line otherwise), and the classifier.
    auto where = [&](const char* key = nullptr) {
      int line = spec.line;
      if (key != nullptr && t != nullptr) {
        if (const auto* node = t->get(key)) line = static_cast<int>(node->source().begin.line);
      }
      return source + ":" + std::to_string(line) + (spec.http.name.empty() ? "" : " (classifier '" + spec.http.name + "')") + ": ";
    };
    if (t == nullptr) return Fail(ErrorCode::kInvalidArgument, where() + "each classifier must be a table");
    for (const auto& [key, node] : *t) {
      if (std::find(std::begin(kKeys), std::end(kKeys), key.str()) == std::end(kKeys)) {
        return Fail(ErrorCode::kInvalidArgument, source + ":" + std::to_string(node.source().begin.line) +
                                                     ": unknown classifier key '" + std::string(key.str()) + "'");
      }
    }
    Status status;
    auto text_of = [&](const char* key, std::string& out_text) {
      if (const auto* node = t->get(key)) {
        if (auto v = node->value<std::string>(); v && v->size() <= 4096) out_text = *v;
        else status = Fail(ErrorCode::kInvalidArgument, where(key) + "'" + key + "' must be a string (at most 4 KiB)");
      }
    };
    auto int_of = [&](const char* key, std::int64_t min, std::int64_t max, auto apply) {
      if (const auto* node = t->get(key)) {
        auto v = node->value<std::int64_t>();
        if (v && *v >= min && *v <= max) apply(*v);
        else status = Fail(ErrorCode::kInvalidArgument, where(key) + "'" + key + "' must be an integer within " +
                                                            std::to_string(min) + ".." + std::to_string(max));
      }
    };
    HttpClassifierConfig& h = spec.http;
    text_of("name", h.name);
    if (!ValidName(h.name)) return Fail(ErrorCode::kInvalidArgument, where() + "'name' must be 1-64 of a-z, 0-9, - and _");
    if (!names.insert(h.name).second) return Fail(ErrorCode::kInvalidArgument, where() + "a classifier of this name comes earlier");
    text_of("kind", h.kind);
    text_of("url", h.url);
    text_of("key", h.key);
    text_of("request", h.request_template);
    text_of("scores", h.scores_pointer);
    text_of("model", h.model);
    text_of("model_pointer", h.model_pointer);
    text_of("version", h.version_pointer);
    text_of("auth_header", h.auth_header);
    text_of("auth_scheme", h.auth_scheme);
    text_of("card", spec.card);
    if (const auto* node = t->get("media_types")) {
      h.media_types.clear();
      const auto* list = node->as_array();
      if (list == nullptr || list->empty()) status = Fail(ErrorCode::kInvalidArgument, where("media_types") + "'media_types' must be a non-empty list of strings");
      else {
        for (const auto& item : *list) {
          if (auto v = item.value<std::string>()) h.media_types.push_back(*v);
          else status = Fail(ErrorCode::kInvalidArgument, where("media_types") + "'media_types' must be a list of strings");
        }
      }
    }
    int_of("timeout_ms", 1, 120'000, [&](std::int64_t v) { h.timeout = std::chrono::milliseconds(v); });
    int_of("max_upload_bytes", 1, std::int64_t{1} << 30, [&](std::int64_t v) { h.max_upload_bytes = static_cast<std::uint64_t>(v); });
    int_of("attempts", 1, 5, [&](std::int64_t v) { spec.limits.attempts = static_cast<int>(v); });
    int_of("backoff_ms", 0, 10'000, [&](std::int64_t v) { spec.limits.backoff = std::chrono::milliseconds(v); });
    int_of("burst", 0, 100'000, [&](std::int64_t v) { spec.limits.burst = static_cast<int>(v); });
    int_of("circuit_failures", 0, 1000, [&](std::int64_t v) { spec.limits.circuit_failures = static_cast<int>(v); });
    int_of("max_in_flight", 0, 4096, [&](std::int64_t v) { spec.limits.max_in_flight = static_cast<int>(v); });
    int_of("workers", 1, 64, [&](std::int64_t v) { spec.workers = static_cast<int>(v); });
    int_of("batch_wait_ms", 0, 1000, [&](std::int64_t v) { spec.batch_wait = std::chrono::milliseconds(v); });
    int_of("circuit_open_seconds", 1, 86'400, [&](std::int64_t v) { spec.limits.circuit_open = std::chrono::seconds(v); });
    if (const auto* node = t->get("rate_per_second")) {
      auto v = node->value<double>();
      if (v && *v >= 0 && *v <= 1e6) spec.limits.rate_per_second = *v;
      else status = Fail(ErrorCode::kInvalidArgument, where("rate_per_second") + "'rate_per_second' must be a number within 0..1000000");
    }
    if (!status) return tl::unexpected(status.error());
    if (h.kind.empty()) return Fail(ErrorCode::kInvalidArgument, where() + "'kind' is required (google-content-safety, safer-predict, http-json, onnx)");
    if (spec.batch_wait.count() > 0 && h.kind != "google-content-safety") {
      return Fail(ErrorCode::kInvalidArgument, where("batch_wait_ms") + "'batch_wait_ms' is read by classifiers that take batches "
                                                                        "(google-content-safety), not " + h.kind);
    }
    if (h.kind == "onnx") {
      // A local model: its card says everything else; settings of the HTTP kinds are refused.
      for (const char* key : {"url", "key", "timeout_ms", "max_upload_bytes", "request", "scores", "model", "model_pointer", "version",
                              "auth_header", "auth_scheme"}) {
        if (t->contains(key)) {
          return Fail(ErrorCode::kInvalidArgument, where(key) + "'" + key + "' is not read by onnx classifiers (the model card describes the model)");
        }
      }
      if (spec.card.empty()) return Fail(ErrorCode::kInvalidArgument, where() + "an onnx classifier needs 'card' (the model card's path)");
      for (const auto& m : h.media_types) {
        if (!m.starts_with("image/")) {
          return Fail(ErrorCode::kInvalidArgument, where("media_types") + "an onnx classifier takes images only, not '" + m.substr(0, 64) + "'");
        }
      }
      out.push_back(std::move(spec));
      continue;
    }
    for (const char* key : {"card", "workers"}) {
      if (t->contains(key)) return Fail(ErrorCode::kInvalidArgument, where(key) + "'" + key + "' is read by onnx classifiers only, not " + h.kind);
    }
    // Settings of the generic adapter on a hosted kind would be ignored: said, not ignored.
    if (h.kind != "http-json") {
      for (const char* key : {"request", "scores", "model", "model_pointer", "version", "auth_header", "auth_scheme"}) {
        if (t->contains(key)) {
          return Fail(ErrorCode::kInvalidArgument, where(key) + "'" + key + "' is read by http-json classifiers only, not " + h.kind);
        }
      }
    }
    for (const auto& m : h.media_types) {
      if (!m.starts_with("image/") && !m.starts_with("video/")) {
        return Fail(ErrorCode::kInvalidArgument, where("media_types") + "media type '" + m.substr(0, 64) +
                                                     "' is not an image or video type (uploads are images and videos)");
      }
    }
    if (!h.key.empty() && !h.key.starts_with("env:") && !h.key.starts_with("file:")) {
      return Fail(ErrorCode::kInvalidArgument, where("key") + "'key' says where the secret is (env:NAME or file:/path), never the secret itself");
    }
    // The adapter's own checks (kind, URL, template), with a stand-in key.
    HttpClassifierConfig probe = h;
    if (!probe.key.empty()) probe.key = "checked";
    if (auto made = MakeHttpClassifier(probe); !made) {
      std::string why = made.error().message;
      const std::string prefix = "classifier '" + h.name + "': ";
      if (why.starts_with(prefix)) why.erase(0, prefix.size());
      const char* at = why.find("'request'") != std::string::npos ? "request"
                       : why.find("unknown kind") != std::string::npos ? "kind"
                       : why.find("needs a key") != std::string::npos ? nullptr
                       : "url";
      return Fail(ErrorCode::kInvalidArgument, where(at) + why);
    }
    out.push_back(std::move(spec));
  }
  return out;
}

Result<std::shared_ptr<ClassifierSet>> ClassifierSet::Make(std::vector<ClassifierSpec> specs, const Clock& clock,
                                                           FetcherFactory fetcher, ModelHost models) {
  std::vector<std::unique_ptr<GuardedClassifier>> classifiers;
  std::map<std::string, std::vector<std::string>> known_labels;
  for (auto& spec : specs) {
    const ClassifierLimits limits = spec.limits;
    if (spec.http.kind == "onnx") {
      const std::string name = spec.http.name;
      if (spec.local == nullptr) return Fail(ErrorCode::kInvalidArgument, "classifier '" + name + "': its model is not loaded");
      if (!models) {
        return Fail(ErrorCode::kUnsupported, "classifier '" + name + "': local models run in the decoder sandbox, which this command does not start");
      }
      auto started = models(*spec.local);
      if (!started) {
        const std::string path = spec.local->model_path.empty() ? "" : " (" + spec.local->model_path + ")";
        return Fail(started.error().code, "classifier '" + name + "'" + path + ": " + started.error().message);
      }
      if (started->outputs != spec.local->card.labels.size()) {
        return Fail(ErrorCode::kInvalidArgument, "classifier '" + name + "': the model answers " + std::to_string(started->outputs) +
                                                     " numbers and its card's [output] labels name " +
                                                     std::to_string(spec.local->card.labels.size()) + " (one label per output, \"\" for one left out)");
      }
      classifiers.push_back(std::make_unique<GuardedClassifier>(
          MakeLocalModelClassifier(name, spec.local->card, spec.http.media_types, std::move(started->run)), limits, clock));
      for (const auto& label : spec.local->card.labels) {
        if (!label.empty()) known_labels[name].push_back(label);
      }
      continue;
    }
    VIGIL_ASSIGN_OR_RETURN(auto adapter, MakeHttpClassifier(std::move(spec.http), fetcher));
    if (spec.batch_wait.count() > 0 && adapter->max_batch() > 1) {
      adapter = std::make_unique<BatchingClassifier>(std::move(adapter), spec.batch_wait);
    }
    classifiers.push_back(std::make_unique<GuardedClassifier>(std::move(adapter), limits, clock));
  }
  auto set = std::make_shared<ClassifierSet>(std::move(classifiers));
  set->known_labels_ = std::move(known_labels);
  return set;
}

std::optional<std::vector<std::string>> ClassifierSet::KnownLabels(const std::string& name) const {
  auto it = known_labels_.find(name);
  if (it == known_labels_.end()) return std::nullopt;
  return it->second;
}

Result<std::shared_ptr<ClassifierSet>> ClassifierSet::Load(const std::string& path, const Clock& clock, ModelHost models) {
  // Regular files only, at most 1 MiB (a FIFO or a device named here would otherwise hang the start).
  auto bytes = ReadFileLimited(path, 1u << 20);
  if (!bytes) return Fail(bytes.error().code, path + ": cannot read the classifiers file: " + bytes.error().message);
  const std::string text(bytes->begin(), bytes->end());
  VIGIL_ASSIGN_OR_RETURN(auto specs, ParseClassifiers(text, path));
  for (auto& spec : specs) {
    if (spec.http.kind == "onnx") {
      std::filesystem::path card(spec.card);
      if (card.is_relative()) card = std::filesystem::path(path).parent_path() / card;
      auto local = LoadLocalModel(spec.http.name, card.string());
      if (!local) return Fail(local.error().code, path + ": classifier '" + spec.http.name + "': " + local.error().message);
      local->workers = spec.workers;
      spec.local = std::make_shared<const LocalModel>(std::move(*local));
      continue;
    }
    if (spec.http.key.empty()) continue;
    auto secret = net::LoadSecret(spec.http.key);
    if (!secret) return Fail(secret.error().code, path + ": classifier '" + spec.http.name + "': " + secret.error().message);
    spec.http.key = std::move(*secret);
  }
  return Make(std::move(specs), clock, {}, std::move(models));
}

std::vector<Classification> ClassifierSet::ClassifyUpload(const ClassifierInput& input) const {
  std::vector<GuardedClassifier*> taking;
  for (const auto& c : classifiers_) {
    if (c->Accepts(input.media_type)) taking.push_back(c.get());
  }
  std::vector<Classification> out(taking.size());
  // The first on this thread, the others alongside it: an upload waits for the slowest, not the sum.
  std::vector<std::future<Classification>> others;
  for (std::size_t i = 1; i < taking.size(); ++i) {
    others.push_back(std::async(std::launch::async, [c = taking[i], &input] { return c->ClassifyOne(input); }));
  }
  if (!taking.empty()) out[0] = taking[0]->ClassifyOne(input);
  for (std::size_t i = 1; i < taking.size(); ++i) out[i] = others[i - 1].get();
  return out;
}

Status CheckRulesNameClassifiers(const PolicyRules& rules, const ClassifierSet* set, const std::string& source) {
  std::vector<std::string> running;
  if (set != nullptr) {
    for (const auto& s : set->Stats()) running.push_back(s.name);
  }
  for (const auto& rule : rules.rules()) {
    if (!rule.min_score) continue;
    const std::string where = source + ":" + std::to_string(rule.line) + " (rule '" + rule.name + "'): ";
    if (running.empty()) {
      return Fail(ErrorCode::kInvalidArgument, where + "fires on classifier scores, and no classifiers are configured ([classifiers] file)");
    }
    for (const auto& name : rule.classifiers) {
      if (std::find(running.begin(), running.end(), name) != running.end()) continue;
      std::string known;
      for (const auto& r : running) known += (known.empty() ? "" : ", ") + r;
      return Fail(ErrorCode::kInvalidArgument, where + "no classifier '" + name + "' is configured (" + known + ")");
    }
    // Labels, where every classifier the rule reads says its labels ahead.
    if (rule.labels.empty()) continue;
    const std::vector<std::string>& reads = rule.classifiers.empty() ? running : rule.classifiers;
    std::set<std::string> answerable;
    bool all_known = true;
    for (const auto& name : reads) {
      auto labels = set->KnownLabels(name);
      if (!labels) {
        all_known = false;
        break;
      }
      answerable.insert(labels->begin(), labels->end());
    }
    if (!all_known) continue;
    for (const auto& label : rule.labels) {
      if (answerable.contains(label)) continue;
      std::string known;
      for (const auto& l : answerable) known += (known.empty() ? "" : ", ") + l;
      return Fail(ErrorCode::kInvalidArgument, where + "no label '" + label + "' is answered by the classifiers it reads (" + known + ")");
    }
  }
  return {};
}

std::vector<ClassifierSet::Status> ClassifierSet::Stats() const {
  std::vector<Status> out;
  for (const auto& c : classifiers_) out.push_back({c->name(), c->Stats()});
  return out;
}

}  // namespace vigil::classify

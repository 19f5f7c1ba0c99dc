// A local model as a Classifier (local_model_classifier.h).
#include "classify/local_model_classifier.h"

#include "classify/known_model.h"

#include <chrono>
#include <cmath>

namespace vigil::classify {
namespace {

bool Takes(const std::vector<std::string>& types, std::string_view media_type) {
  for (const auto& t : types) {
    if (t == media_type || (t.ends_with("/*") && media_type.starts_with(std::string_view(t).substr(0, t.size() - 1)))) return true;
  }
  return false;
}

class LocalModelClassifier final : public Classifier, public KnownModel {
 public:
  LocalModelClassifier(std::string name, ModelCard card, std::vector<std::string> media_types, ModelRunner runner)
      : name_(std::move(name)), card_(std::move(card)), media_types_(std::move(media_types)), runner_(std::move(runner)) {}

  const std::string& name() const override { return name_; }
  bool Accepts(std::string_view media_type) const override { return Takes(media_types_, media_type); }
  const std::string& model_name() const override { return card_.name; }
  const std::string& model_version() const override { return card_.version; }

  std::vector<Result<Classification>> Classify(std::span<const ClassifierInput> inputs) override {
    std::vector<Result<Classification>> out;
    out.reserve(inputs.size());
    for (const auto& input : inputs) out.push_back(ClassifyOne(input));
    return out;
  }

 private:
  Result<Classification> ClassifyOne(const ClassifierInput& input) {
    const auto start = std::chrono::steady_clock::now();
    auto outputs = runner_(input.bytes);
    if (!outputs) return Fail(outputs.error().code, "model '" + card_.name + "': " + outputs.error().message);
    auto labels = ScoresFromOutputs(card_, *outputs);
    if (!labels) return Fail(labels.error().code, "model '" + card_.name + "': " + labels.error().message);
    Classification c;
    c.classifier = name_;
    c.model = card_.name;
    c.version = card_.version;
    c.labels = std::move(*labels);
    c.latency_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
    return c;
  }

  std::string name_;
  ModelCard card_;
  std::vector<std::string> media_types_;
  ModelRunner runner_;
};

}  // namespace

Result<std::vector<LabelScore>> ScoresFromOutputs(const ModelCard& card, std::span<const float> outputs) {
  if (outputs.size() != card.labels.size()) {
    return Fail(ErrorCode::kInvalidArgument, "the model answered " + std::to_string(outputs.size()) + " outputs; its card names " +
                                                 std::to_string(card.labels.size()));
  }
  std::vector<double> scores(outputs.begin(), outputs.end());
  for (std::size_t i = 0; i < scores.size(); ++i) {
    if (!std::isfinite(scores[i])) {
      const std::string named = card.labels[i].empty() ? "" : " ('" + card.labels[i] + "')";
      return Fail(ErrorCode::kInvalidArgument, "output " + std::to_string(i) + named + " is not a finite number");
    }
  }
  if (card.activation == Activation::kSigmoid) {
    for (double& s : scores) s = 1.0 / (1.0 + std::exp(-s));
  } else if (card.activation == Activation::kSoftmax) {
    double top = scores[0];
    for (double s : scores) top = std::max(top, s);
    double sum = 0;
    for (double& s : scores) sum += (s = std::exp(s - top));
    for (double& s : scores) s /= sum;
  }
  std::vector<LabelScore> out;
  for (std::size_t i = 0; i < scores.size(); ++i) {
    const std::string& label = card.labels[i];
    if (label.empty()) continue;
    if (!(scores[i] >= 0 && scores[i] <= 1)) {
      return Fail(ErrorCode::kInvalidArgument, "output " + std::to_string(i) + " ('" + label + "') scored " + std::to_string(scores[i]) +
                                                   ", not within 0..1 (does the card need activation = sigmoid or softmax?)");
    }
    auto threshold = card.thresholds.find(label);
    if (threshold != card.thresholds.end() && scores[i] < threshold->second) continue;
    out.push_back({label, scores[i]});
  }
  return out;
}

std::unique_ptr<Classifier> MakeLocalModelClassifier(std::string name, ModelCard card, std::vector<std::string> media_types,
                                                     ModelRunner runner) {
  return std::make_unique<LocalModelClassifier>(std::move(name), std::move(card), std::move(media_types), std::move(runner));
}

}  // namespace vigil::classify

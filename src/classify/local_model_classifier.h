// A local model (ONNX, described by its card: model_card.h) as a Classifier. The model runs in the
// decoder sandbox (the runner given here sends each upload to a worker that holds it); this side
// turns the model's raw outputs into scores: the card's activation, its labels, its thresholds,
// and the same checks as any service's answer (finite scores within 0..1, or the upload gets an
// error naming the model and the output).
//
// Thread safety: Classify may be called from many threads at once if the runner may.
#pragma once

#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "classify/model_card.h"
#include "vigil/classifier.h"

namespace vigil::classify {

// Runs the model on one upload's bytes (decoded and made into the card's input in the sandbox):
// the model's outputs.
using ModelRunner = std::function<Result<std::vector<float>>(std::span<const std::uint8_t> bytes)>;

// A local model started where it runs: its runner, and how many numbers the model answers (found
// when it was loaded; checked against the card's labels before any upload is scored).
struct StartedModel {
  ModelRunner run;
  std::size_t outputs = 0;
};

// Starts what runs a local model (the service: a sandbox pool holding it); an error (the kernel
// refuses the sandbox, the model does not load there) fails the start.
using ModelHost = std::function<Result<StartedModel>(const LocalModel& model)>;

// The scores of a model's raw outputs under its card (activation, labels, thresholds), or
// kInvalidArgument naming the output when the count is wrong or a score is not within 0..1.
Result<std::vector<LabelScore>> ScoresFromOutputs(const ModelCard& card, std::span<const float> outputs);

// `media_types`: what it takes (image types only: the model runs on one decoded picture).
std::unique_ptr<Classifier> MakeLocalModelClassifier(std::string name, ModelCard card, std::vector<std::string> media_types,
                                                     ModelRunner runner);

}  // namespace vigil::classify

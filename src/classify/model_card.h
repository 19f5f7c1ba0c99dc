// A local classifier model's card: the small TOML file beside an ONNX model that says how a picture
// becomes its input and what its outputs mean. Vigil runs such a model in its decoder sandbox
// (sandbox/sandbox_pool.h, kind "onnx" in the classifiers file); the card is what makes its
// scores comparable across platforms and releases, so every field is checked and none is guessed.
//
//   model = "brightness.onnx"     # the ONNX file, relative to the card
//   sha256 = "9f2c..."            # the model file's SHA-256: another file is refused
//   name = "brightness-demo"      # what the scores call the model
//   version = "1"
//
//   [input]
//   width = 32                    # the picture is resized to this (area averaging) ...
//   height = 32
//   layout = "nchw"               # or "nhwc"
//   colour = "rgb"                # or "bgr", "grey"
//   scale = 0.00392156862745098   # pixel * scale, then (- mean) / std per channel
//   mean = [0.485, 0.456, 0.406]
//   std = [0.229, 0.224, 0.225]
//
//   [output]
//   labels = ["bright", "dark"]   # one per output, in order; "" leaves that output out
//   activation = "none"           # or "sigmoid" (each output), "softmax" (all outputs)
//
//   [thresholds]                  # optional: a label scored below its threshold is left out of
//   bright = 0.5                  # the stored answer, so no rule sees it
//
// Thread safety: functions only; call from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "media/tensor_input.h"
#include "vigil/status.h"

namespace vigil::classify {

enum class Activation { kNone, kSigmoid, kSoftmax };

struct ModelCard {
  std::string model_file;  // as the card says (relative to the card's folder unless absolute)
  std::string sha256;      // lower-case hex
  std::string name;
  std::string version;
  media::TensorSpec input;
  std::vector<std::string> labels;  // one per output; "" for an output left out
  Activation activation = Activation::kNone;
  std::map<std::string, double> thresholds;
};

inline constexpr std::size_t kMaxModelOutputs = 100'000;
inline constexpr std::uint64_t kMaxModelBytes = 1ull << 30;

// Parses a card's text; `source` names it in errors (with the line of the setting that is wrong).
Result<ModelCard> ParseModelCard(std::string_view text, const std::string& source);

// A model ready to be handed to the sandbox: its card and the model file's bytes, whose SHA-256
// matched the card's.
struct LocalModel {
  std::string classifier;  // the classifiers file's name for it
  ModelCard card;
  std::shared_ptr<const std::vector<std::uint8_t>> onnx;
  std::string model_path;  // where it was read from (for messages)
  int workers = 0;  // sandbox workers to hold it (0: the service's choice)
};

// Reads the card at `card_path` and the model file it names (regular files only; the model at
// most kMaxModelBytes) and checks the model's SHA-256 against the card: a mismatch or a missing
// sha256 is refused, naming the file's actual digest so an operator can check it and say it.
Result<LocalModel> LoadLocalModel(const std::string& classifier, const std::string& card_path);

}  // namespace vigil::classify

// Model cards and the model files they describe (model_card.h).
#include "classify/model_card.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <toml++/toml.h>

#include "util/toml_guard.h"
#include "vigil/digest.h"
#include "vigil/file_hasher.h"

namespace vigil::classify {
namespace {

std::string Line(const toml::node& node) { return std::to_string(node.source().begin.line); }

bool IsHex64(const std::string& s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// Characters a reader does not see, or that change what the rest of a line looks like: C0 and C1
// controls and DEL; the soft hyphen (U+00AD); the Arabic letter mark (U+061C); zero-width and
// directional marks (U+200B-U+200F); line and paragraph separators and the directional embeddings
// and overrides (U+2028-U+202E); the directional isolates (U+2066-U+2069); the byte-order mark
// (U+FEFF). A label or model name is shown to reviewers and written in logs.
bool HasHiddenCharacters(std::string_view text) {
  auto at = [&](std::size_t i) -> unsigned char { return i < text.size() ? static_cast<unsigned char>(text[i]) : 0u; };
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = at(i);
    if (c < 0x20 || c == 0x7f) return true;
    if (c == 0xC2 && ((at(i + 1) >= 0x80 && at(i + 1) <= 0x9F) || at(i + 1) == 0xAD)) return true;
    if (c == 0xD8 && at(i + 1) == 0x9C) return true;
    if (c == 0xE2 && at(i + 1) == 0x80 && ((at(i + 2) >= 0x8B && at(i + 2) <= 0x8F) || (at(i + 2) >= 0xA8 && at(i + 2) <= 0xAE))) return true;
    if (c == 0xE2 && at(i + 1) == 0x81 && at(i + 2) >= 0xA6 && at(i + 2) <= 0xA9) return true;
    if (c == 0xEF && at(i + 1) == 0xBB && at(i + 2) == 0xBF) return true;
  }
  return false;
}

// `text` for an error message: at most 64 bytes, ASCII as it is and every other byte as \xNN (a
// label read from a file never writes a terminal escape or a direction override into a message,
// and a NUL does not cut it short).
std::string Shown(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 64)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

bool ValidLabel(const std::string& label) { return !label.empty() && label.size() <= 64 && !HasHiddenCharacters(label); }

// Every key of `table` must be one of `known`: a misspelt setting is an error, never a default.
Status OnlyKeys(const toml::table& table, std::initializer_list<std::string_view> known, const std::string& source,
                const std::string& where) {
  for (const auto& [key, node] : table) {
    if (std::find(known.begin(), known.end(), key.str()) == known.end()) {
      return Fail(ErrorCode::kInvalidArgument, source + ":" + Line(node) + ": unknown key '" + std::string(key.str()) + "'" + where);
    }
  }
  return {};
}

}  // namespace

Result<ModelCard> ParseModelCard(std::string_view text, const std::string& source) {
  VIGIL_ASSIGN_OR_RETURN(toml::table root, ParseTomlChecked(text, source));
  VIGIL_TRY(OnlyKeys(root, {"model", "sha256", "name", "version", "input", "output", "thresholds"}, source, ""));
  auto fail = [&](const toml::node* node, const std::string& why) -> Result<ModelCard> {
    return Fail(ErrorCode::kInvalidArgument, source + ":" + (node != nullptr ? Line(*node) : std::string("1")) + ": " + why);
  };
  ModelCard card;
  auto text_of = [&](const toml::table& t, const char* key, std::string& out, bool required) -> Status {
    const toml::node* node = t.get(key);
    if (node == nullptr) {
      if (required) return Fail(ErrorCode::kInvalidArgument, source + ": '" + key + "' is required");
      return {};
    }
    auto v = node->value<std::string>();
    if (!v || v->size() > 4096) return Fail(ErrorCode::kInvalidArgument, source + ":" + Line(*node) + ": '" + key + "' must be a string");
    out = *v;
    return {};
  };
  VIGIL_TRY(text_of(root, "model", card.model_file, true));
  VIGIL_TRY(text_of(root, "sha256", card.sha256, false));
  VIGIL_TRY(text_of(root, "name", card.name, true));
  VIGIL_TRY(text_of(root, "version", card.version, false));
  if (card.model_file.empty()) return fail(root.get("model"), "'model' names the ONNX file");
  if (!card.sha256.empty() && !IsHex64(card.sha256)) return fail(root.get("sha256"), "'sha256' must be 64 lower-case hex digits");
  if (card.name.empty() || card.name.size() > 128 || HasHiddenCharacters(card.name)) {
    return fail(root.get("name"), "'name' must be 1-128 bytes without control characters");
  }
  if (card.version.size() > 128 || HasHiddenCharacters(card.version)) {
    return fail(root.get("version"), "'version' must be at most 128 bytes without control characters");
  }

  const toml::table* input = root["input"].as_table();
  if (input == nullptr) return fail(root.get("input"), "an [input] table is required (width, height, layout, colour, scale, mean, std)");
  VIGIL_TRY(OnlyKeys(*input, {"width", "height", "layout", "colour", "color", "scale", "mean", "std"}, source, " in [input]"));
  auto side = [&](const char* key, std::uint32_t& out) -> Status {
    const toml::node* node = input->get(key);
    auto v = node != nullptr ? node->value<std::int64_t>() : std::nullopt;
    if (!v || *v < 1 || *v > media::kMaxTensorSide) {
      return Fail(ErrorCode::kInvalidArgument, source + ":" + (node != nullptr ? Line(*node) : Line(*input)) + ": [input] '" + key +
                                                   "' must be an integer within 1.." + std::to_string(media::kMaxTensorSide));
    }
    out = static_cast<std::uint32_t>(*v);
    return {};
  };
  VIGIL_TRY(side("width", card.input.width));
  VIGIL_TRY(side("height", card.input.height));
  std::string layout = "nchw", colour = "rgb";
  VIGIL_TRY(text_of(*input, "layout", layout, false));
  VIGIL_TRY(text_of(*input, "colour", colour, false));
  VIGIL_TRY(text_of(*input, "color", colour, false));
  if (auto l = media::ParseTensorLayout(layout)) card.input.layout = *l;
  else return fail(input->get("layout"), "[input] " + l.error().message);
  if (auto c = media::ParseColourOrder(colour)) card.input.colour = *c;
  else return fail(input->get(input->contains("color") ? "color" : "colour"), "[input] " + c.error().message);
  if (const toml::node* node = input->get("scale")) {
    auto v = node->value<double>();
    if (!v || !std::isfinite(*v) || *v == 0) return fail(node, "[input] 'scale' must be a finite number other than 0");
    card.input.scale = *v;
  }
  const std::size_t channels = card.input.channels();
  auto triple = [&](const char* key, std::array<double, 3>& out, bool nonzero) -> Status {
    const toml::node* node = input->get(key);
    if (node == nullptr) return {};
    const toml::array* a = node->as_array();
    if (a == nullptr || a->size() != channels) {
      return Fail(ErrorCode::kInvalidArgument, source + ":" + Line(*node) + ": [input] '" + key + "' must be " + std::to_string(channels) +
                                                   " number" + (channels == 1 ? "" : "s") + " (one per channel, in the model's colour order)");
    }
    for (std::size_t i = 0; i < channels; ++i) {
      auto v = (*a)[i].value<double>();
      if (!v || !std::isfinite(*v) || (nonzero && *v == 0)) {
        return Fail(ErrorCode::kInvalidArgument, source + ":" + Line(*node) + ": [input] '" + key + "' must hold finite numbers" +
                                                     (nonzero ? " other than 0" : ""));
      }
      out[i] = *v;
    }
    if (channels == 1) out[1] = out[2] = out[0];
    return {};
  };
  VIGIL_TRY(triple("mean", card.input.mean, false));
  VIGIL_TRY(triple("std", card.input.std, true));

  const toml::table* output = root["output"].as_table();
  if (output == nullptr) return fail(root.get("output"), "an [output] table is required (labels, activation)");
  VIGIL_TRY(OnlyKeys(*output, {"labels", "activation"}, source, " in [output]"));
  const toml::node* labels_node = output->get("labels");
  const toml::array* labels = labels_node != nullptr ? labels_node->as_array() : nullptr;
  if (labels == nullptr || labels->empty() || labels->size() > kMaxModelOutputs) {
    return fail(labels_node != nullptr ? labels_node : output, "[output] 'labels' must list 1.." + std::to_string(kMaxModelOutputs) +
                                                                  " labels, one per output of the model");
  }
  std::set<std::string> seen;
  for (const auto& item : *labels) {
    auto v = item.value<std::string>();
    if (!v) return fail(labels_node, "[output] 'labels' must be strings");
    if (!v->empty()) {
      if (!ValidLabel(*v)) return fail(labels_node, "[output] label '" + Shown(*v) + "' must be 1-64 bytes without control characters");
      if (!seen.insert(*v).second) return fail(labels_node, "[output] label '" + Shown(*v) + "' comes twice");
    }
    card.labels.push_back(v->empty() ? std::string() : *v);
  }
  if (seen.empty()) return fail(labels_node, "[output] 'labels' names no output (\"\" leaves an output out)");
  if (seen.size() > 64) return fail(labels_node, "[output] at most 64 outputs may be named (the rest \"\")");
  std::string activation = "none";
  VIGIL_TRY(text_of(*output, "activation", activation, false));
  if (activation == "none") card.activation = Activation::kNone;
  else if (activation == "sigmoid") card.activation = Activation::kSigmoid;
  else if (activation == "softmax") card.activation = Activation::kSoftmax;
  else return fail(output->get("activation"), "[output] 'activation' must be none, sigmoid or softmax");

  if (const toml::node* node = root.get("thresholds")) {
    const toml::table* thresholds = node->as_table();
    if (thresholds == nullptr) return fail(node, "'thresholds' must be a table of label = score");
    for (const auto& [key, value] : *thresholds) {
      const std::string label(key.str());
      if (!seen.contains(label)) return fail(&value, "[thresholds] '" + Shown(label) + "' is not one of the labels");
      auto v = value.value<double>();
      if (!v || !(*v >= 0 && *v <= 1)) return fail(&value, "[thresholds] '" + Shown(label) + "' must be a score within 0..1");
      card.thresholds[label] = *v;
    }
  }
  return card;
}

Result<LocalModel> LoadLocalModel(const std::string& classifier, const std::string& card_path) {
  auto card_bytes = ReadFileLimited(card_path, 1u << 20);
  if (!card_bytes) return Fail(card_bytes.error().code, card_path + ": cannot read the model card: " + card_bytes.error().message);
  VIGIL_ASSIGN_OR_RETURN(auto card, ParseModelCard(std::string(card_bytes->begin(), card_bytes->end()), card_path));
  // The model lives in its card's folder (or below it, symlinks followed): a card cannot name any
  // file the service can read (whose digest the message below would give away).
  const std::filesystem::path relative(card.model_file);
  if (relative.is_absolute() || std::any_of(relative.begin(), relative.end(), [](const auto& part) { return part == ".."; })) {
    return Fail(ErrorCode::kInvalidArgument, card_path + ": 'model' must name a file in the card's folder (no absolute path, no ..)");
  }
  std::error_code folder_error, model_error;
  const auto folder = std::filesystem::canonical(std::filesystem::absolute(card_path).parent_path(), folder_error);
  const std::filesystem::path model_path = std::filesystem::absolute(card_path).parent_path() / relative;
  const auto resolved = std::filesystem::weakly_canonical(model_path, model_error);
  const auto inside = resolved.lexically_relative(folder);
  if (folder_error || model_error || inside.empty() || *inside.begin() == "..") {
    return Fail(ErrorCode::kInvalidArgument, card_path + ": the model " + model_path.string() + " resolves outside the card's folder");
  }
  auto model = ReadFileLimited(model_path, kMaxModelBytes);
  if (!model) return Fail(model.error().code, card_path + ": cannot read the model " + model_path.string() + ": " + model.error().message);
  const std::string actual = Sha256Hex(std::span<const std::uint8_t>(*model));
  if (card.sha256.empty()) {
    return Fail(ErrorCode::kInvalidArgument, card_path + ": the card must give the model file's sha256 (" + model_path.string() +
                                                 " has " + actual + ")");
  }
  if (card.sha256 != actual) {
    return Fail(ErrorCode::kInvalidArgument, card_path + ": " + model_path.string() + " has sha256 " + actual + ", not the card's " +
                                                 card.sha256 + " (a different model file)");
  }
  LocalModel out;
  out.classifier = classifier;
  out.card = std::move(card);
  out.onnx = std::make_shared<const std::vector<std::uint8_t>>(std::move(*model));
  out.model_path = model_path.string();
  return out;
}

}  // namespace vigil::classify

// A model's input description as JSON (model_request.h).
#include "sandbox/model_request.h"

namespace vigil::sandbox {

namespace json = boost::json;

json::object TensorSpecToJson(const media::TensorSpec& spec) {
  return json::object{{"width", spec.width},
                      {"height", spec.height},
                      {"layout", media::TensorLayoutName(spec.layout)},
                      {"colour", media::ColourOrderName(spec.colour)},
                      {"scale", spec.scale},
                      {"mean", json::array{spec.mean[0], spec.mean[1], spec.mean[2]}},
                      {"std", json::array{spec.std[0], spec.std[1], spec.std[2]}}};
}

Result<media::TensorSpec> TensorSpecFromJson(const json::value& value) {
  const auto* o = value.if_object();
  if (o == nullptr) return Fail(ErrorCode::kInvalidArgument, "the model's input is not a JSON object");
  media::TensorSpec spec;
  auto side = [&](const char* key, std::uint32_t& out) -> Status {
    const auto* v = o->if_contains(key);
    if (v == nullptr || !v->is_number()) return Fail(ErrorCode::kInvalidArgument, std::string("the model's input has no ") + key);
    boost::system::error_code ec;
    const auto n = v->to_number<std::uint32_t>(ec);
    if (ec) return Fail(ErrorCode::kInvalidArgument, std::string("the model's input ") + key + " is not a size");
    out = n;
    return {};
  };
  auto text = [&](const char* key) -> std::string {
    const auto* v = o->if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  auto number = [&](const json::value* v, double& out) -> bool {
    if (v == nullptr || !v->is_number()) return false;
    out = v->to_number<double>();
    return true;
  };
  auto triple = [&](const char* key, std::array<double, 3>& out) -> Status {
    const auto* v = o->if_contains(key);
    const auto* a = v != nullptr ? v->if_array() : nullptr;
    if (a == nullptr || a->size() != 3) return Fail(ErrorCode::kInvalidArgument, std::string("the model's input ") + key + " is not 3 numbers");
    for (std::size_t i = 0; i < 3; ++i) {
      if (!number(&(*a)[i], out[i])) return Fail(ErrorCode::kInvalidArgument, std::string("the model's input ") + key + " is not 3 numbers");
    }
    return {};
  };
  VIGIL_TRY(side("width", spec.width));
  VIGIL_TRY(side("height", spec.height));
  VIGIL_ASSIGN_OR_RETURN(spec.layout, media::ParseTensorLayout(text("layout")));
  VIGIL_ASSIGN_OR_RETURN(spec.colour, media::ParseColourOrder(text("colour")));
  if (!number(o->if_contains("scale"), spec.scale)) return Fail(ErrorCode::kInvalidArgument, "the model's input has no scale");
  VIGIL_TRY(triple("mean", spec.mean));
  VIGIL_TRY(triple("std", spec.std));
  VIGIL_TRY(media::CheckTensorSpec(spec));
  return spec;
}

}  // namespace vigil::sandbox

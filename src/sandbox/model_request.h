// How a model's input description travels to a sandbox worker (the kLoadModel request's options):
// a TensorSpec (media/tensor_input.h) as JSON, read back strictly on the worker's side.
//
// Thread safety: functions only; call from any thread.
#pragma once

#include <boost/json.hpp>

#include "media/tensor_input.h"
#include "vigil/status.h"

namespace vigil::sandbox {

boost::json::object TensorSpecToJson(const media::TensorSpec& spec);
// kInvalidArgument naming the field that is missing, of the wrong type or not usable.
Result<media::TensorSpec> TensorSpecFromJson(const boost::json::value& value);

}  // namespace vigil::sandbox

// Local classifier models (ONNX) run by OpenCV's DNN module, which lives in a module of its own
// (libvigil-onnx.so, util/module_loader.h) so that only the processes that run a model load
// OpenCV: the sandbox workers of a pool started with models (sandbox_pool.h), which load the
// module before they confine themselves and parse each model after, under the filter.
//
// A model is parsed from bytes (never a path: the worker cannot open files), run once on a tensor
// of zeros of the card's shape to check that it takes that input, and from then on runs one
// tensor at a time on the calling thread (OpenCV's own threads are turned off: a worker is one
// upload at a time, and the pool's workers are the parallelism).
//
// Thread safety: LoadModelRuntime may be called from any thread. A LoadedModel is used by one
// thread at a time.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "vigil/status.h"

namespace vigil::sandbox {

inline constexpr const char* kOnnxModuleFile = "libvigil-onnx.so";

class LoadedModel {
 public:
  virtual ~LoadedModel() = default;
  // The model's first output, flattened, for one input tensor of `shape` (batch of one).
  virtual Result<std::vector<float>> Run(std::span<const float> input, const std::array<int, 4>& shape) = 0;
};

// What the module exports, as the data symbol vigil_onnx_module_v1.
struct ModelRuntime {
  // kInvalidArgument with OpenCV's reason when the bytes are not a model it can run.
  Result<std::unique_ptr<LoadedModel>> (*load)(std::span<const std::uint8_t> onnx);
};

// The module's entry point, or kUnavailable naming the module and why it cannot be loaded.
Result<const ModelRuntime*> LoadModelRuntime();

}  // namespace vigil::sandbox

// The ONNX model runtime over OpenCV's DNN module: the body of libvigil-onnx.so (model_runtime.h).
#include <opencv2/core.hpp>
#include <opencv2/core/ocl.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/dnn.hpp>

#include <exception>
#include <string>

#include "sandbox/model_runtime.h"

namespace vigil::sandbox {
namespace {

// OpenCV's messages go into the Error, not to standard error.
int Quiet(int, const char*, const char*, const char*, int, void*) { return 0; }

// One thread, no OpenCL, no log lines: set once, when the module is loaded (before the worker
// confines itself, so nothing here needs a file or a thread later).
struct Setup {
  Setup() {
    cv::redirectError(Quiet);
    cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
    cv::setNumThreads(0);
    cv::ocl::setUseOpenCL(false);
  }
};
const Setup kSetup;

std::string Why(const std::exception& e) {
  if (const auto* cv_error = dynamic_cast<const cv::Exception*>(&e)) {
    std::string message = cv_error->err.empty() ? cv_error->msg : cv_error->err;
    return message.size() > 400 ? message.substr(0, 400) + "..." : message;
  }
  return e.what();
}

class OpenCvModel final : public LoadedModel {
 public:
  explicit OpenCvModel(cv::dnn::Net net) : net_(std::move(net)) {}

  Result<std::vector<float>> Run(std::span<const float> input, const std::array<int, 4>& shape) override {
    std::size_t expected = 1;
    for (int d : shape) expected *= static_cast<std::size_t>(d);
    if (input.size() != expected) return Fail(ErrorCode::kInvalidArgument, "the input tensor does not have its shape's size");
    try {
      // OpenCV reads the tensor without changing it; the Mat only borrows the floats.
      cv::Mat blob(4, shape.data(), CV_32F, const_cast<float*>(input.data()));
      net_.setInput(blob);
      cv::Mat out = net_.forward();
      if (out.depth() != CV_32F) out.convertTo(out, CV_32F);
      if (!out.isContinuous()) out = out.clone();
      const auto* begin = out.ptr<float>();
      return std::vector<float>(begin, begin + out.total());
    } catch (const std::bad_alloc&) {
      throw;  // the worker answers it as over its memory limit
    } catch (const std::exception& e) {
      return Fail(ErrorCode::kInvalidArgument, "the model did not run: " + Why(e));
    }
  }

 private:
  cv::dnn::Net net_;
};

Result<std::unique_ptr<LoadedModel>> Load(std::span<const std::uint8_t> onnx) {
  (void)kSetup;
  if (onnx.empty()) return Fail(ErrorCode::kInvalidArgument, "the model file is empty");
  try {
    cv::dnn::Net net = cv::dnn::readNetFromONNX(reinterpret_cast<const char*>(onnx.data()), onnx.size());
    if (net.empty()) return Fail(ErrorCode::kInvalidArgument, "OpenCV read no layers from the model");
    net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
    return std::unique_ptr<LoadedModel>(new OpenCvModel(std::move(net)));
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidArgument, "not an ONNX model OpenCV can run: " + Why(e));
  }
}

}  // namespace
}  // namespace vigil::sandbox

extern "C" const vigil::sandbox::ModelRuntime vigil_onnx_module_v1{&vigil::sandbox::Load};

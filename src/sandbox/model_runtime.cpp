// The ONNX module's loader (model_runtime.h).
#include "sandbox/model_runtime.h"

#include "util/module_loader.h"

namespace vigil::sandbox {

Result<const ModelRuntime*> LoadModelRuntime() {
  VIGIL_ASSIGN_OR_RETURN(auto address, LoadModuleSymbol(kOnnxModuleFile, "vigil_onnx_module_v1"));
  return static_cast<const ModelRuntime*>(address);
}

}  // namespace vigil::sandbox

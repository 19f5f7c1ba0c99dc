// The version string, from the CMake project version.
#include "vigil/version.h"

namespace vigil {
std::string_view Version() { return VIGIL_VERSION; }
}  // namespace vigil

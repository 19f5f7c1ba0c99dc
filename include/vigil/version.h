// The library's version, for `vigil version` and the API's metadata.
#pragma once

#include <string_view>

namespace vigil {
std::string_view Version();
}  // namespace vigil

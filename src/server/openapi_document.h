// The OpenAPI 3 description of the HTTP API: docs/openapi.json, compiled in.
#pragma once

#include <string_view>

namespace vigil::server {

std::string_view OpenApiDocument();

}  // namespace vigil::server

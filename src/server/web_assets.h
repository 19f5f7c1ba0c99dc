// The review console's files (web/), compiled into the server so a deployment is one binary.
#pragma once

#include <string_view>

namespace vigil::server {

struct WebAsset {
  std::string_view path;
  std::string_view content_type;
  std::string_view body;
};

// The asset served at `path` ("/ui", "/ui/app.js", ...), or null.
const WebAsset* FindWebAsset(std::string_view path);

}  // namespace vigil::server

// libFuzzer target for multipart/form-data bodies (the HMA-compatible API's uploads): the boundary
// from a Content-Type and the parser. The first input line is the Content-Type, the rest the body.
// A parse must return parts or an error that says why; every part must have a name, lie inside the
// body, and there are never more than the limit.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server/multipart_form.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string_view content_type = input.substr(0, newline);
  const std::string_view body = newline == std::string_view::npos ? std::string_view{} : input.substr(newline + 1);
  auto boundary = vigil::server::FormBoundary(content_type);
  if (!boundary) {
    if (boundary.error().message.empty()) __builtin_trap();
    return 0;
  }
  if (boundary->empty() || boundary->size() > 70) __builtin_trap();
  auto parts = vigil::server::ParseMultipartForm(body, *boundary, 8);
  if (!parts) {
    if (parts.error().message.empty()) __builtin_trap();
    return 0;
  }
  if (parts->size() > 8) __builtin_trap();
  for (const auto& part : *parts) {
    if (part.name.empty()) __builtin_trap();
    if (part.data.data() < body.data() || part.data.data() + part.data.size() > body.data() + body.size()) __builtin_trap();
  }
  return 0;
}

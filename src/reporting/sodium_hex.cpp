// Hex codecs for the reporting library (see sodium_hex.h).
#include "reporting/sodium_hex.h"

#include <sodium.h>

namespace vigil::reporting {

std::string Hex(const unsigned char* data, std::size_t size) {
  std::string out(size * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), data, size);
  out.pop_back();
  return out;
}

Result<std::string> Unhex(const std::string& hex, std::size_t expected, const char* what) {
  std::string out(hex.size() / 2 + 1, '\0');
  std::size_t size = 0;
  if ((expected != 0 && hex.size() != expected * 2) ||
      sodium_hex2bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), hex.data(), hex.size(), nullptr, &size,
                     nullptr) != 0 ||
      (expected != 0 && size != expected)) {
    return Fail(ErrorCode::kInvalidArgument,
                std::string(what) + (expected != 0 ? " must be " + std::to_string(expected * 2) + " hex digits" : " is not hex"));
  }
  out.resize(size);
  return out;
}

}  // namespace vigil::reporting

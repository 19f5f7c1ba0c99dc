// multipart/form-data bodies (RFC 7578), as HMA clients send media: `curl --form photo=@x.png`.
// Debian has no C++ library for them (GMime parses e-mail, on GLib), so this is a small strict
// parser with limits, fuzzed (fuzz/fuzz_multipart_form.cpp): the boundary from the Content-Type
// (1-70 characters), at most `max_parts` parts, part headers at most 8 KiB, a
// Content-Disposition of form-data with a name on every part, and a closing delimiter. Part
// contents are views into the body, never copied.
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil::server {

struct FormPart {
  std::string name;          // the form field's name
  std::string filename;      // "" when the part is not a file
  std::string content_type;  // the part's Content-Type, "" when none
  std::string_view data;     // into the body
};

// The boundary parameter of a multipart/form-data Content-Type; kInvalidArgument otherwise.
Result<std::string> FormBoundary(std::string_view content_type);

// kInvalidArgument naming what is wrong (and where) for a malformed body.
Result<std::vector<FormPart>> ParseMultipartForm(std::string_view body, std::string_view boundary,
                                                 std::size_t max_parts = 16);

}  // namespace vigil::server

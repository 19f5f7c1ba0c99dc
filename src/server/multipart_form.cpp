// A strict multipart/form-data parser (see multipart_form.h).
#include "server/multipart_form.h"

#include <algorithm>
#include <optional>

namespace vigil::server {
namespace {

constexpr std::size_t kMaxPartHeaderBytes = 8 << 10;

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// The value of parameter `name` in "type; a=b; name="v"" (quoted strings unescaped), or nullopt.
std::optional<std::string> Parameter(std::string_view header, std::string_view name) {
  std::size_t at = header.find(';');
  while (at != std::string_view::npos && at < header.size()) {
    std::string_view rest = Trim(header.substr(at + 1));
    const auto equals = rest.find('=');
    if (equals == std::string_view::npos) return std::nullopt;
    const std::string key = Lower(Trim(rest.substr(0, equals)));
    rest = Trim(rest.substr(equals + 1));
    std::string value;
    std::size_t consumed = 0;
    if (!rest.empty() && rest.front() == '"') {
      std::size_t i = 1;
      for (; i < rest.size() && rest[i] != '"'; ++i) {
        if (rest[i] == '\\' && i + 1 < rest.size()) ++i;
        value += rest[i];
      }
      if (i >= rest.size()) return std::nullopt;  // unterminated quote
      consumed = i + 1;
    } else {
      consumed = std::min(rest.find(';'), rest.size());
      value = std::string(Trim(rest.substr(0, consumed)));
    }
    if (key == name) return value;
    const auto next = rest.find(';', consumed);
    if (next == std::string_view::npos) return std::nullopt;
    at = static_cast<std::size_t>(rest.data() - header.data()) + next;
  }
  return std::nullopt;
}

}  // namespace

Result<std::string> FormBoundary(std::string_view content_type) {
  const auto type = Lower(Trim(content_type.substr(0, content_type.find(';'))));
  if (type != "multipart/form-data") {
    return Fail(ErrorCode::kInvalidArgument, "expected a multipart/form-data body");
  }
  auto boundary = Parameter(content_type, "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 70) {
    return Fail(ErrorCode::kInvalidArgument, "multipart/form-data needs a boundary of 1-70 characters");
  }
  return *boundary;
}

Result<std::vector<FormPart>> ParseMultipartForm(std::string_view body, std::string_view boundary,
                                                 std::size_t max_parts) {
  if (boundary.empty() || boundary.size() > 70) return Fail(ErrorCode::kInvalidArgument, "bad multipart boundary");
  const std::string delimiter = "--" + std::string(boundary);
  // The first delimiter opens the body (or follows a preamble's CRLF).
  std::size_t at = 0;
  if (body.substr(0, delimiter.size()) != delimiter) {
    const auto first = body.find("\r\n" + delimiter);
    if (first == std::string_view::npos) return Fail(ErrorCode::kInvalidArgument, "multipart body has no boundary line");
    at = first + 2;
  }
  const std::string next_delimiter = "\r\n" + delimiter;
  std::vector<FormPart> parts;
  for (;;) {
    at += delimiter.size();
    if (body.substr(at, 2) == "--") return parts;  // the closing delimiter
    // Transport padding, then CRLF.
    while (at < body.size() && (body[at] == ' ' || body[at] == '\t')) ++at;
    if (body.substr(at, 2) != "\r\n") return Fail(ErrorCode::kInvalidArgument, "multipart boundary line not followed by CRLF");
    at += 2;
    if (parts.size() >= max_parts) {
      return Fail(ErrorCode::kInvalidArgument, "more than " + std::to_string(max_parts) + " parts in the form");
    }
    const auto header_end = body.find("\r\n\r\n", at);
    const bool no_headers = body.substr(at, 2) == "\r\n";
    if (!no_headers && (header_end == std::string_view::npos || header_end - at > kMaxPartHeaderBytes)) {
      return Fail(ErrorCode::kInvalidArgument, "form part " + std::to_string(parts.size() + 1) +
                                                   ": headers missing their blank line or over 8 KiB");
    }
    FormPart part;
    bool form_data = false;
    if (!no_headers) {
      std::string_view headers = body.substr(at, header_end - at);
      while (!headers.empty()) {
        const auto eol = headers.find("\r\n");
        const std::string_view line = headers.substr(0, eol);
        headers = eol == std::string_view::npos ? std::string_view{} : headers.substr(eol + 2);
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) {
          return Fail(ErrorCode::kInvalidArgument, "form part " + std::to_string(parts.size() + 1) + ": a header line without ':'");
        }
        const std::string name = Lower(Trim(line.substr(0, colon)));
        const std::string_view value = Trim(line.substr(colon + 1));
        if (name == "content-disposition") {
          form_data = Lower(Trim(value.substr(0, value.find(';')))) == "form-data";
          part.name = Parameter(value, "name").value_or("");
          part.filename = Parameter(value, "filename").value_or("");
        } else if (name == "content-type") {
          part.content_type = std::string(value);
        }
      }
      at = header_end + 4;
    } else {
      at += 2;
    }
    if (!form_data || part.name.empty()) {
      return Fail(ErrorCode::kInvalidArgument, "form part " + std::to_string(parts.size() + 1) +
                                                   " needs Content-Disposition: form-data; name=\"...\"");
    }
    const auto end = body.find(next_delimiter, at);
    if (end == std::string_view::npos) {
      return Fail(ErrorCode::kInvalidArgument, "form part '" + part.name.substr(0, 64) + "' is not closed by the boundary");
    }
    part.data = body.substr(at, end - at);
    parts.push_back(std::move(part));
    at = end + 2;
  }
}

}  // namespace vigil::server

// Recursive, deterministic expansion of command-line paths (file_walker.h).
#include "cli/file_walker.h"

#include <algorithm>
#include <cstdio>
#include <system_error>

#include "util/utf8.h"

namespace fs = std::filesystem;

namespace vigil::cli {
namespace {

WalkEntry Refused(fs::path path, std::string why, ErrorCode code) { return {std::move(path), std::move(why), code}; }

// Every regular file below `root`, and an error entry for anything else found there.
void Walk(const fs::path& root, std::vector<WalkEntry>& out) {
  std::vector<fs::path> pending{root};
  while (!pending.empty()) {
    const fs::path dir = std::move(pending.back());
    pending.pop_back();
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    if (ec) {
      out.push_back(Refused(dir, "cannot list directory: " + ec.message(),
                            ec == std::errc::permission_denied ? ErrorCode::kPermissionDenied : ErrorCode::kIoError));
      continue;
    }
    for (; it != fs::directory_iterator(); it.increment(ec)) {
      if (ec) {
        out.push_back(Refused(dir, "cannot list directory: " + ec.message(), ErrorCode::kIoError));
        break;
      }
      std::error_code se;
      const fs::file_status st = it->symlink_status(se);
      const fs::path& p = it->path();
      if (se) {
        out.push_back(Refused(p, se.message(), ErrorCode::kIoError));
      } else if (fs::is_symlink(st)) {
        out.push_back(Refused(p, "a symbolic link, not followed (name its target on the command line)",
                              ErrorCode::kUnsupported));
      } else if (fs::is_directory(st)) {
        pending.push_back(p);
      } else if (fs::is_regular_file(st)) {
        out.push_back({p, {}, ErrorCode::kNotFound});
      } else {
        out.push_back(Refused(p, "not a regular file (a FIFO, device or socket)", ErrorCode::kUnsupported));
      }
    }
  }
}

}  // namespace

std::vector<WalkEntry> ExpandPaths(const std::vector<std::string>& args) {
  std::vector<WalkEntry> out;
  for (const std::string& arg : args) {
    std::error_code ec;
    const fs::path root(arg);
    const fs::file_status st = fs::status(root, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) {
      out.push_back(Refused(root, ec.message(), ErrorCode::kIoError));  // a link loop, no permission
    } else if (ec || !fs::exists(st)) {
      out.push_back(Refused(root, "no such file or directory", ErrorCode::kNotFound));
    } else if (fs::is_regular_file(st)) {
      out.push_back({root, {}, ErrorCode::kNotFound});
    } else if (!fs::is_directory(st)) {
      out.push_back(Refused(root, "not a regular file (a FIFO, device or socket)", ErrorCode::kUnsupported));
    } else {
      std::vector<WalkEntry> found;
      Walk(root, found);
      std::sort(found.begin(), found.end(), [](const WalkEntry& a, const WalkEntry& b) { return a.path < b.path; });
      for (auto& f : found) out.push_back(std::move(f));
    }
  }
  return out;
}

std::string PathText(const fs::path& path) {
  const std::string& raw = path.native();
  if (IsValidUtf8(raw) && !HasControlCharacter(raw)) return raw;
  std::string out;
  for (std::size_t i = 0; i < raw.size();) {
    // The longest valid UTF-8 sequence without control characters starting here, else one byte.
    std::size_t n = 0;
    for (std::size_t len = 1; len <= 4 && i + len <= raw.size(); ++len) {
      const std::string_view piece(raw.data() + i, len);
      if (IsValidUtf8(piece) && !HasControlCharacter(piece)) {
        n = len;
        break;
      }
    }
    if (n == 0) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02X", static_cast<unsigned char>(raw[i]));
      out += hex;
      ++i;
    } else {
      out.append(raw, i, n);
      i += n;
    }
  }
  return out;
}

}  // namespace vigil::cli

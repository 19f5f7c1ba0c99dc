// Recursive, deterministic expansion of command-line paths.
#include "cli/file_walker.h"

#include <algorithm>
#include <system_error>

namespace fs = std::filesystem;

namespace vigil::cli {

std::vector<WalkEntry> ExpandPaths(const std::vector<std::string>& args) {
  std::vector<WalkEntry> out;
  for (const std::string& arg : args) {
    std::error_code ec;
    const fs::path root(arg);
    const fs::file_status st = fs::status(root, ec);
    if (ec || !fs::exists(st)) {
      out.push_back({root, "no such file or directory"});
      continue;
    }
    if (!fs::is_directory(st)) {
      out.push_back({root, {}});
      continue;
    }
    std::vector<fs::path> files;
    fs::recursive_directory_iterator it(root, fs::directory_options::skip_permission_denied, ec);
    if (ec) {
      out.push_back({root, "cannot list directory: " + ec.message()});
      continue;
    }
    for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (ec) {
        out.push_back({it->path(), "cannot list directory: " + ec.message()});
        break;
      }
      std::error_code fe;
      if (it->is_regular_file(fe)) files.push_back(it->path());
    }
    std::sort(files.begin(), files.end());
    for (auto& f : files) out.push_back({std::move(f), {}});
  }
  return out;
}

}  // namespace vigil::cli

// Expands the paths given on the command line into the list of files to process: files as given,
// directories walked recursively (sorted, symlinked directories not followed).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace vigil::cli {

struct WalkEntry {
  std::filesystem::path path;
  std::string error;  // non-empty when the path could not be listed or does not exist
};

std::vector<WalkEntry> ExpandPaths(const std::vector<std::string>& args);

}  // namespace vigil::cli

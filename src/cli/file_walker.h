// Expands the paths given on the command line into the list of files to process: files as given,
// directories walked recursively in sorted order. Inside a walked directory only regular files
// are taken: symbolic links are not followed (a link could lead anywhere, and would credit its
// target to the folder it sits in), and links, FIFOs, devices, sockets and folders that cannot
// be listed are each reported as an entry with an error, never skipped in silence. A path given on
// the command line may be a link; it must lead to a regular file or a directory.
// Thread safety: pure functions.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "vigil/status.h"

namespace vigil::cli {

struct WalkEntry {
  std::filesystem::path path;
  std::string error;  // non-empty when the path is not a file to process, and why
  ErrorCode code = ErrorCode::kNotFound;
};

std::vector<WalkEntry> ExpandPaths(const std::vector<std::string>& args);

// A path as text fit for JSON and terminals: its bytes when they are UTF-8 without control
// characters, otherwise with each offending byte written as \xNN.
std::string PathText(const std::filesystem::path& path);

}  // namespace vigil::cli

// libFuzzer target for what a stream worker takes from NATS before any decoding: an upload event's
// headers (stream/upload_event.h) and a media path read beneath a root (stream/media_roots.h).
// Input: fields separated by NUL bytes: content id, user id, metadata, media path, then the
// payload. Checks: a parsed event's ids pass the upload workflow's own checks; the JSON written
// for an error result and a dead letter parses back; a path read from the root returns the one
// regular file inside it, never what a link or ".." leads to.
#include <unistd.h>

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "stream/media_roots.h"
#include "stream/upload_event.h"
#include "workflow/upload_workflow.h"

namespace {

const std::string kInside = "the only file beneath the root";

// A root with one file, a folder, and links that lead out of it.
const vigil::stream::MediaRoots& Roots() {
  static const auto* roots = [] {
    char dir[] = "/tmp/vigil-fuzz-roots.XXXXXX";
    const std::filesystem::path root = ::mkdtemp(dir);
    std::filesystem::create_directories(root / "root" / "sub");
    std::ofstream(root / "root" / "sub" / "a.png") << kInside;
    std::ofstream(root / "secret") << "outside";
    std::error_code ec;
    std::filesystem::create_symlink("/etc/hostname", root / "root" / "abs", ec);
    std::filesystem::create_symlink("../secret", root / "root" / "up", ec);
    std::filesystem::create_symlink("sub", root / "root" / "inner", ec);
    return new vigil::stream::MediaRoots(vigil::stream::MediaRoots::Open({(root / "root").string()}).value());
  }();
  return *roots;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> fields(1);
  std::size_t i = 0;
  for (; i < size && fields.size() < 5; ++i) {
    if (data[i] == 0) fields.emplace_back();
    else fields.back() += static_cast<char>(data[i]);
  }
  fields.resize(5);
  const std::size_t payload = size - i;
  auto header = [&](const char* name) -> std::optional<std::string> {
    const std::string n = name;
    const std::string& v = n == vigil::stream::kContentIdHeader ? fields[0]
                           : n == vigil::stream::kUserIdHeader  ? fields[1]
                           : n == vigil::stream::kMetadataHeader ? fields[2]
                                                                 : fields[3];
    if (v.empty() && n != vigil::stream::kContentIdHeader) return std::nullopt;
    return v;
  };
  auto event = vigil::stream::ParseUploadEvent(header, payload, 1 << 20);
  if (event) {
    if (!vigil::CheckUploadIds(event->content_id, event->user_id)) __builtin_trap();
    if (!boost::json::parse(vigil::stream::ErrorEventJson(*event, {vigil::ErrorCode::kCorrupt, "x"})).is_object()) {
      __builtin_trap();
    }
    if (!boost::json::parse(vigil::stream::DeadLetterJson(*event, "s", 1, 2, "why")).is_object()) __builtin_trap();
  }
  if (!fields[3].empty()) {
    auto read = Roots().Read(fields[3], 1 << 20);
    if (read && std::string(read->begin(), read->end()) != kInside) __builtin_trap();  // read outside the root
  }
  return 0;
}

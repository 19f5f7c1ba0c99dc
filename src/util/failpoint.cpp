// Fail points (see failpoint.h).
#include "util/failpoint.h"

#include <unistd.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

namespace vigil {
namespace {

struct Points {
  std::mutex mutex;
  std::map<std::string, long, std::less<>> remaining;  // name -> hits left before the exit
};

Points& Parsed() {
  static Points* points = [] {
    auto* p = new Points;
    const char* spec = std::getenv("VIGIL_FAILPOINTS");
    std::string s = spec != nullptr ? spec : "";
    std::size_t start = 0;
    while (start < s.size()) {
      std::size_t end = s.find(',', start);
      if (end == std::string::npos) end = s.size();
      const std::string item = s.substr(start, end - start);
      const auto eq = item.find('=');
      if (eq != std::string::npos && item.compare(eq + 1, 4, "exit") == 0) {
        long nth = 1;
        if (const auto colon = item.find(':', eq); colon != std::string::npos) nth = std::atol(item.c_str() + colon + 1);
        p->remaining[item.substr(0, eq)] = nth > 0 ? nth : 1;
      }
      start = end + 1;
    }
    return p;
  }();
  return *points;
}

}  // namespace

void FailPoint(std::string_view name) {
  static const bool any = std::getenv("VIGIL_FAILPOINTS") != nullptr;
  if (!any) return;
  Points& points = Parsed();
  std::lock_guard lock(points.mutex);
  auto it = points.remaining.find(name);
  if (it == points.remaining.end()) return;
  if (--it->second == 0) _exit(86);
}

}  // namespace vigil

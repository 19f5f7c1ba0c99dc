// LoadModuleSymbol: dlopen of Vigil's modules from the executable's lib/vigil folder, once per
// process, with the result (or the failure) cached.
#include "util/module_loader.h"

#include <dlfcn.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace vigil {
namespace {

bool IsFolder(const std::string& path) {
  struct stat st{};
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<std::string> FindModuleFolder() {
  char exe[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return Fail(ErrorCode::kUnsupported, "cannot find the executable's folder (/proc/self/exe is unreadable)");
  std::string folder(exe, static_cast<std::size_t>(n));
  folder.erase(folder.find_last_of('/') + 1);  // keeps the trailing slash
  for (std::string candidate : {folder + "lib/vigil", folder + "../lib/vigil"}) {
    if (IsFolder(candidate)) return candidate;
  }
  return Fail(ErrorCode::kUnsupported, "no module folder: neither " + folder + "lib/vigil nor " + folder +
                                           "../lib/vigil exists (is Vigil installed whole?)");
}

struct Loaded {
  std::mutex mu;
  std::optional<Result<std::string>> folder;            // found once
  std::map<std::string, Result<void*>, std::less<>> handles;  // by file
  std::map<std::string, Result<void*>, std::less<>> symbols;  // by "file:symbol"
};

Loaded& State() {
  static Loaded* loaded = new Loaded;  // never destroyed: modules stay loaded until exit
  return *loaded;
}

Result<std::string> FolderLocked(Loaded& s) {
  if (!s.folder) s.folder = FindModuleFolder();
  return *s.folder;
}

}  // namespace

Result<std::string> ModuleFolder() {
  Loaded& s = State();
  std::lock_guard lock(s.mu);
  return FolderLocked(s);
}

Result<void*> LoadModuleSymbol(std::string_view file, std::string_view symbol) {
  Loaded& s = State();
  std::lock_guard lock(s.mu);
  const std::string key = std::string(file) + ":" + std::string(symbol);
  if (auto it = s.symbols.find(key); it != s.symbols.end()) return it->second;
  auto handle_it = s.handles.find(file);
  if (handle_it == s.handles.end()) {
    Result<void*> handle = [&]() -> Result<void*> {
      auto folder = FolderLocked(s);
      if (!folder) return Fail(ErrorCode::kUnsupported, "cannot load " + std::string(file) + ": " + folder.error().message);
      const std::string path = *folder + "/" + std::string(file);
      void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (h == nullptr) {
        const char* why = dlerror();
        return Fail(ErrorCode::kUnsupported, "cannot load " + path + ": " + (why != nullptr ? why : "unknown reason"));
      }
      return h;
    }();
    handle_it = s.handles.emplace(std::string(file), std::move(handle)).first;
  }
  Result<void*> address = [&]() -> Result<void*> {
    if (!handle_it->second) return tl::unexpected(handle_it->second.error());
    dlerror();
    void* a = dlsym(*handle_it->second, std::string(symbol).c_str());
    if (a == nullptr) {
      return Fail(ErrorCode::kUnsupported, std::string(file) + " has no " + std::string(symbol) +
                                               " (a module from another Vigil version?)");
    }
    return a;
  }();
  return s.symbols.emplace(key, std::move(address)).first->second;
}

}  // namespace vigil

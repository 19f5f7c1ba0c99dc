// LoadModuleSymbol: dlopen of Vigil's modules from the executable's lib/vigil folder, once per
// process, with the result (or the failure) cached. Before dlopen, a module must pass the checks a
// root-run binary needs (util/module_loader.h): owner and permissions of its folder and file, an
// ELF file whose segments lie within it (a truncated file would crash the loader with SIGBUS), and
// the version of the executable that loads it.
#include "util/module_loader.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "vigil/version.h"

namespace vigil {
namespace {

struct ExecutableInfo {
  std::string folder;  // with a trailing slash
  uid_t owner = 0;
  gid_t group = 0;
};

Result<ExecutableInfo> FindExecutable() {
  char exe[PATH_MAX];
  const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n <= 0) return Fail(ErrorCode::kUnavailable, "cannot find the executable's folder (/proc/self/exe is unreadable)");
  ExecutableInfo info;
  info.folder.assign(exe, static_cast<std::size_t>(n));
  info.folder.erase(info.folder.find_last_of('/') + 1);
  struct stat st{};
  if (stat(std::string(exe, static_cast<std::size_t>(n)).c_str(), &st) == 0) {
    info.owner = st.st_uid;
    info.group = st.st_gid;
  }
  return info;
}

// A folder or file a module may come from: owned by root or by the executable's owner, and
// writable by no one else (like sshd's StrictModes): else anyone who can write there could run code
// as whoever runs Vigil. Group-writable is allowed for the executable's own group only (a build
// under umask 002 with a user-private group). `name` is how messages call it (never a path).
Status CheckTrusted(const std::string& name, const struct stat& st, const ExecutableInfo& exe) {
  if (st.st_uid != 0 && st.st_uid != exe.owner) {
    return Fail(ErrorCode::kUnavailable, name + " is owned by uid " + std::to_string(st.st_uid) +
                                             ", neither root nor the executable's owner: not loaded");
  }
  if ((st.st_mode & S_IWOTH) != 0) {
    return Fail(ErrorCode::kUnavailable, name + " is writable by others: not loaded");
  }
  if ((st.st_mode & S_IWGRP) != 0 && st.st_gid != exe.group) {
    return Fail(ErrorCode::kUnavailable, name + " is writable by group " + std::to_string(st.st_gid) +
                                             ", not the executable's: not loaded");
  }
  return {};
}

Result<std::string> FindModuleFolder(const ExecutableInfo& exe) {
  for (const std::string& candidate : {exe.folder + "lib/vigil", exe.folder + "../lib/vigil"}) {
    struct stat st{};
    if (stat(candidate.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    VIGIL_TRY(CheckTrusted(candidate == exe.folder + "lib/vigil" ? "the module folder lib/vigil beside the executable"
                                                                 : "the module folder ../lib/vigil from the executable's",
                           st, exe));
    return candidate;
  }
  return Fail(ErrorCode::kUnavailable,
              "no module folder: neither lib/vigil beside the executable nor ../lib/vigil from its folder exists "
              "(is Vigil installed whole?)");
}

// The file is a 64-bit ELF shared object whose program segments and section headers lie within
// it: mmap of a truncated file succeeds and the first touch of the missing pages raises SIGBUS.
Status CheckElf(const std::string& path, int fd, std::uint64_t size) {
  Elf64_Ehdr eh{};
  if (size < sizeof eh || pread(fd, &eh, sizeof eh, 0) != static_cast<ssize_t>(sizeof eh) ||
      std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_type != ET_DYN) {
    return Fail(ErrorCode::kUnavailable, path + " is not a 64-bit ELF shared object");
  }
  auto within = [size](std::uint64_t offset, std::uint64_t bytes) { return offset <= size && bytes <= size - offset; };
  if (eh.e_phentsize != sizeof(Elf64_Phdr) || !within(eh.e_phoff, std::uint64_t{eh.e_phnum} * sizeof(Elf64_Phdr)) ||
      (eh.e_shnum != 0 && !within(eh.e_shoff, std::uint64_t{eh.e_shnum} * eh.e_shentsize))) {
    return Fail(ErrorCode::kUnavailable, path + " is truncated (its headers lie past its " + std::to_string(size) + " bytes)");
  }
  std::vector<Elf64_Phdr> ph(eh.e_phnum);
  const auto ph_bytes = static_cast<ssize_t>(ph.size() * sizeof(Elf64_Phdr));
  if (pread(fd, ph.data(), static_cast<std::size_t>(ph_bytes), static_cast<off_t>(eh.e_phoff)) != ph_bytes) {
    return Fail(ErrorCode::kUnavailable, "cannot read " + path);
  }
  for (const auto& p : ph) {
    if (p.p_type == PT_LOAD && !within(p.p_offset, p.p_filesz)) {
      return Fail(ErrorCode::kUnavailable, path + " is truncated (a segment ends past its " + std::to_string(size) + " bytes)");
    }
  }
  return {};
}

// Checks the module file. dlopen then opens it again by its path: only someone who may write the
// folder (its owner, after CheckTrusted) could swap it between the two. (Loading through
// /proc/self/fd/N instead would close that window, but the dynamic loader recognises objects by
// name, and a reused descriptor number made it hand back the module loaded before.) `name` is what
// messages call it: its name, not its path (a message can reach an API client).
Status CheckModuleFile(const std::string& path, const std::string& name, const ExecutableInfo& exe) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
  if (fd < 0) return Fail(ErrorCode::kUnavailable, "cannot open " + name + ": " + std::strerror(errno));
  struct stat st{};
  Status checked = fstat(fd, &st) != 0 ? Fail(ErrorCode::kUnavailable, "cannot stat " + name)
                   : !S_ISREG(st.st_mode) ? Fail(ErrorCode::kUnavailable, name + " is not a regular file")
                                          : CheckTrusted(name, st, exe);
  if (checked) checked = CheckElf(name, fd, static_cast<std::uint64_t>(st.st_size));
  close(fd);
  return checked;
}

struct Loaded {
  std::mutex mu;
  std::optional<Result<ExecutableInfo>> exe;                  // found once
  std::optional<Result<std::string>> folder;                  // found once
  std::map<std::string, Result<void*>, std::less<>> handles;  // by file
  std::map<std::string, Result<void*>, std::less<>> symbols;  // by "file:symbol"
};

Loaded& State() {
  static Loaded* loaded = new Loaded;  // never destroyed: modules stay loaded until exit
  return *loaded;
}

Result<ExecutableInfo> ExecutableLocked(Loaded& s) {
  if (!s.exe) s.exe = FindExecutable();
  return *s.exe;
}

Result<std::string> FolderLocked(Loaded& s) {
  if (!s.folder) {
    auto exe = ExecutableLocked(s);
    s.folder = exe ? FindModuleFolder(*exe) : Result<std::string>(tl::unexpected(exe.error()));
  }
  return *s.folder;
}

// Messages name the module file, not its path: a decoder module's error can reach an API client.
Result<void*> Open(Loaded& s, std::string_view file) {
  const std::string name(file);
  auto found = FolderLocked(s);
  if (!found) return tl::unexpected(Error{found.error().code, "cannot load " + name + ": " + found.error().message});
  const std::string& folder = *found;
  const std::string path = folder + "/" + name;
  VIGIL_ASSIGN_OR_RETURN(const ExecutableInfo exe, ExecutableLocked(s));
  VIGIL_TRY(CheckModuleFile(path, name, exe));
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    const char* reason = dlerror();
    std::string why = reason != nullptr ? reason : "unknown reason";
    if (why.rfind(path + ": ", 0) == 0) why.erase(0, path.size() + 2);  // it leads with the path
    return Fail(ErrorCode::kUnavailable, "cannot load " + name + ": " + why);
  }
  const auto* version = static_cast<const char*>(dlsym(h, "vigil_module_version"));
  if (version == nullptr) {
    return Fail(ErrorCode::kUnavailable, name + " is not a Vigil module (it has no vigil_module_version): not used");
  }
  if (std::string_view(version) != Version()) {
    return Fail(ErrorCode::kUnavailable, name + " is from Vigil " + version + ", not " + std::string(Version()) +
                                             " like the executable: not used");
  }
  return h;
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
  if (handle_it == s.handles.end()) handle_it = s.handles.emplace(std::string(file), Open(s, file)).first;
  Result<void*> address = [&]() -> Result<void*> {
    if (!handle_it->second) return tl::unexpected(handle_it->second.error());
    void* a = dlsym(*handle_it->second, std::string(symbol).c_str());
    if (a == nullptr) {
      return Fail(ErrorCode::kUnavailable,
                  std::string(file) + " has no " + std::string(symbol) + ": not a Vigil module of this version");
    }
    return a;
  }();
  return s.symbols.emplace(key, std::move(address)).first->second;
}

}  // namespace vigil

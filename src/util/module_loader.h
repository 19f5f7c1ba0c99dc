// Vigil's own optional modules: shared objects that carry a heavy dependency (FFmpeg, libheif,
// libvips, the service) so that a process which never needs it never loads it. `vigil hash
// photo.jpg` and a sandbox worker start like a small C program; the first video, HEIF image or
// service command loads its module.
//
// Where modules are: lib/vigil beside the executable (the build tree: build/ci/vigil and
// build/ci/lib/vigil/), else ../lib/vigil from the executable's folder (an installed /usr/bin/vigil
// and /usr/lib/vigil/; a test in build/ci/tests/). The folder comes from /proc/self/exe, never from
// the environment or the current directory. Because Vigil often runs as root, the folder and each
// module must be owned by root or by the executable's owner and writable by no one else (group
// write only for the executable's own group) (a copy of
// the binary in /tmp/x/ would otherwise load what anyone put in /tmp/lib/vigil). Before dlopen a
// module must be an ELF shared object whose segments lie within the file (a truncated one would
// crash the process with SIGBUS), and after it, export vigil_module_version equal to the
// executable's Version(): a module from another release (an upgrade under a running service) is
// refused, not mixed in.
//
// Thread safety: every function may be called from any thread; a module is loaded once per process
// and stays loaded (a failure to load is remembered too, so a confined process that can no longer
// open files reports the original reason).
#pragma once

#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil {

// The address of `symbol` in module `file` ("libvigil-ffmpeg.so"), loading it on first use.
// kUnavailable (a broken installation, not the caller's input or key) naming the module file and
// why when it cannot be loaded, fails a check or lacks the symbol. Messages never hold a path
// (a decoder module's error can reach an API client): the module by its file name, the folder as
// "lib/vigil beside the executable" (ModuleFolder() gives the path, for logs).
Result<void*> LoadModuleSymbol(std::string_view file, std::string_view symbol);

// The folder modules are loaded from (for messages and `vigil version --verbose`-style output).
Result<std::string> ModuleFolder();

}  // namespace vigil

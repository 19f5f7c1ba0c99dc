// Vigil's own optional modules: shared objects that carry a heavy dependency (FFmpeg, libheif,
// libvips, the service) so that a process which never needs it never loads it. `vigil hash
// photo.jpg` and a sandbox worker start like a small C program; the first video, HEIF image or
// service command loads its module.
//
// Where modules are: lib/vigil beside the executable (the build tree: build/ci/vigil and
// build/ci/lib/vigil/), else ../lib/vigil from the executable's folder (an installed /usr/bin/vigil
// and /usr/lib/vigil/; a test in build/ci/tests/). The folder comes from /proc/self/exe, never from
// the environment or the current directory, so a caller cannot make Vigil load a module of theirs.
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
// kUnsupported naming the module, where it was looked for and the loader's reason when it cannot
// be loaded or lacks the symbol.
Result<void*> LoadModuleSymbol(std::string_view file, std::string_view symbol);

// The folder modules are loaded from (for messages and `vigil version --verbose`-style output).
Result<std::string> ModuleFolder();

}  // namespace vigil

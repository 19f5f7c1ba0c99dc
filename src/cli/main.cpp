// The vigil executable: a small front door. The commands that must start like a small C program
// run here: `hash` (in shell loops and cron jobs), `version`, and `sandbox-worker` (which the
// service spawns for every decoder worker). Every other command runs in a module loaded for it
// (util/module_loader.h): libvigil-commands.so (the service, the stores, reporting: PostgreSQL,
// libxml2, libarchive...) or, for `eval`, libvigil-eval.so (libvips). `vigil --help` lists them all.
#include <cstdio>
#include <string_view>

#include "cli/app.h"
#include "util/module_loader.h"

int main(int argc, char** argv) {
  using namespace vigil::cli;
  const std::string_view command = argc > 1 ? argv[1] : "";
  if (command == "hash" || command == "version" || command == "--version" || command == "sandbox-worker") {
    return RunCommandLine(argc, argv, {&RegisterHashCommand, &RegisterVersionCommand, &RegisterSandboxWorkerCommand});
  }
  const char* module = command == "eval" ? "libvigil-eval.so" : "libvigil-commands.so";
  auto entry = vigil::LoadModuleSymbol(module, "vigil_cli_module_v1");
  if (!entry) {
    std::fprintf(stderr, "vigil: %s\n", entry.error().message.c_str());
    return 2;
  }
  return static_cast<const CliModule*>(*entry)->main(argc, argv);
}

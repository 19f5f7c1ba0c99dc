// The vigil command line's top level, shared by the executable (cli/main.cpp) and the command
// modules it loads: the description, the version flag and footer, the given commands registered on
// one CLI11 app, then parse and run. Single-threaded: called once, from main.
#pragma once

#include <initializer_list>

#include "cli/commands.h"

namespace vigil::cli {

using Register = Action (*)(CLI::App&);

// Registers `commands` (each returns its action), parses argv and runs the parsed command's
// action; returns the process exit status (2 for a usage error).
int RunCommandLine(int argc, char** argv, std::initializer_list<Register> commands);

// `vigil version`.
Action RegisterVersionCommand(CLI::App& app);

// What a command module (libvigil-commands.so, libvigil-eval.so) exports as the data symbol
// vigil_cli_module_v1: the module's main, given the executable's argv.
struct CliModule {
  int (*main)(int argc, char** argv);
};

}  // namespace vigil::cli

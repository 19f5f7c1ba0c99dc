// libvigil-eval.so: `vigil eval` and libvips behind it, loaded only for that command.
#include "cli/app.h"

namespace vigil::cli {
namespace {

int EvalMain(int argc, char** argv) { return RunCommandLine(argc, argv, {&RegisterEvalCommand}); }

}  // namespace
}  // namespace vigil::cli

extern "C" const vigil::cli::CliModule vigil_cli_module_v1{&vigil::cli::EvalMain};

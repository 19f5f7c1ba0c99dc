// libvigil-commands.so: every command but the front door's own (cli/main.cpp) and `eval`, which
// it lists (with its summary) so that `vigil --help` shows the whole tool.
#include <cstdio>

#include "cli/app.h"

namespace vigil::cli {
namespace {

// `eval` runs in its own module; the front door sends it there before this one is loaded.
Action RegisterEvalListing(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("eval", kEvalSummary);
  cmd->allow_extras();
  return [cmd]() -> int {
    if (!cmd->parsed()) return -1;
    std::fprintf(stderr, "vigil eval: runs from libvigil-eval.so; start it as `vigil eval`\n");
    return 2;
  };
}

int CommandsMain(int argc, char** argv) {
  return RunCommandLine(argc, argv,
                        {&RegisterHashCommand, &RegisterIndexCommand, &RegisterServeCommand, &RegisterKeysCommand, &RegisterPeopleCommand,
                         &RegisterBankCommand, &RegisterLookupCommand, &RegisterEvalListing, &RegisterWorkflowCommands,
                         &RegisterReportCommands, &RegisterSandboxCommands, &RegisterDocsCommands, &RegisterScanCommand, &RegisterClassifiersCommand,
                         &RegisterWorkerCommand, &RegisterPublishCommand, &RegisterUploadsCommand, &RegisterPartnerCommand,
                         &RegisterBundleCommand, &RegisterExchangeCommand,
                         &RegisterVersionCommand});
}

}  // namespace
}  // namespace vigil::cli

extern "C" const vigil::cli::CliModule vigil_cli_module_v1{&vigil::cli::CommandsMain};

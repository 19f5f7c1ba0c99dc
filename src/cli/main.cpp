// The vigil command-line tool: a thin layer over libvigil. Subcommands live in their own files.
#include <CLI/CLI.hpp>
#include <iostream>

#include "cli/commands.h"
#include "vigil/version.h"

int main(int argc, char** argv) {
  CLI::App app{"Vigil: find known harmful content by hash matching, and act on it"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(vigil::Version()));
  app.footer("Run 'vigil COMMAND --help' for a command's options.");

  std::vector<vigil::cli::Action> actions;
  actions.push_back(vigil::cli::RegisterHashCommand(app));
  actions.push_back(vigil::cli::RegisterIndexCommand(app));
  actions.push_back(vigil::cli::RegisterServeCommand(app));
  actions.push_back(vigil::cli::RegisterKeysCommand(app));
  actions.push_back(vigil::cli::RegisterBankCommand(app));
  actions.push_back(vigil::cli::RegisterLookupCommand(app));
  actions.push_back(vigil::cli::RegisterEvalCommand(app));
  actions.push_back(vigil::cli::RegisterWorkflowCommands(app));
  actions.push_back(vigil::cli::RegisterReportCommands(app));
  actions.push_back(vigil::cli::RegisterSandboxCommands(app));
  actions.push_back(vigil::cli::RegisterDocsCommands(app));
  actions.push_back(vigil::cli::RegisterScanCommand(app));
  CLI::App* version = app.add_subcommand("version", "Print the version");
  actions.push_back([version]() -> int {
    if (!version->parsed()) return -1;
    std::cout << "vigil " << vigil::Version() << "\n";
    return 0;
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  for (auto& action : actions) {
    if (int rc = action(); rc >= 0) return rc;
  }
  return 2;
}

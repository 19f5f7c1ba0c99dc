// RunCommandLine and `vigil version` (cli/app.h).
#include "cli/app.h"

#include <iostream>
#include <vector>

#include "vigil/version.h"

namespace vigil::cli {

int RunCommandLine(int argc, char** argv, std::initializer_list<Register> commands) {
  CLI::App app{"Vigil: find known harmful content by hash matching, and act on it"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string(vigil::Version()));
  app.footer("Run 'vigil COMMAND --help' for a command's options.");
  std::vector<Action> actions;
  for (Register command : commands) actions.push_back(command(app));
  // CLI11 answers an unknown first word with "A subcommand is required": name it instead.
  if (argc > 1 && argv[1][0] != '-') {
    const std::string word = argv[1];
    const auto named = app.get_subcommands([&word](CLI::App* sub) { return sub->get_name() == word; });
    if (named.empty()) {
      std::cerr << "vigil: unknown command '" << word.substr(0, 64) << "' ('vigil --help' lists the commands)\n";
      return 2;
    }
  }
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

Action RegisterVersionCommand(CLI::App& app) {
  CLI::App* version = app.add_subcommand("version", "Print the version");
  return [version]() -> int {
    if (!version->parsed()) return -1;
    std::cout << "vigil " << vigil::Version() << "\n";
    return 0;
  };
}

}  // namespace vigil::cli

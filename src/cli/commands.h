// The vigil CLI's subcommands. Each registers its options on a CLI11 app and returns the action
// to run once parsing succeeds; the action returns the process exit status.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace vigil::cli {

using Action = std::function<int()>;

// `vigil eval`'s summary, also listed by the command module that does not carry it (cli/main.cpp).
inline constexpr const char* kEvalSummary =
    "Measure detection quality on benign images: recall per transform, false positives, plots";

Action RegisterHashCommand(CLI::App& app);
Action RegisterIndexCommand(CLI::App& app);
Action RegisterServeCommand(CLI::App& app);
Action RegisterKeysCommand(CLI::App& app);
Action RegisterPeopleCommand(CLI::App& app);
Action RegisterBankCommand(CLI::App& app);
Action RegisterLookupCommand(CLI::App& app);
Action RegisterEvalCommand(CLI::App& app);
Action RegisterWorkflowCommands(CLI::App& app);
Action RegisterReportCommands(CLI::App& app);
Action RegisterSandboxCommands(CLI::App& app);
Action RegisterSandboxWorkerCommand(CLI::App& app);
Action RegisterDocsCommands(CLI::App& app);
Action RegisterScanCommand(CLI::App& app);
Action RegisterClassifiersCommand(CLI::App& app);
Action RegisterWorkerCommand(CLI::App& app);
Action RegisterPublishCommand(CLI::App& app);
Action RegisterUploadsCommand(CLI::App& app);
Action RegisterPartnerCommand(CLI::App& app);
Action RegisterBundleCommand(CLI::App& app);
Action RegisterExchangeCommand(CLI::App& app);

}  // namespace vigil::cli

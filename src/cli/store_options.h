// Options shared by the commands that work on the store directly (serve, keys, bank, import,
// lookup): --data-dir for the embedded SQLite database, or --database-url for PostgreSQL.
#pragma once

#include <CLI/CLI.hpp>
#include <boost/json/fwd.hpp>
#include <memory>
#include <string>

#include "vigil/store.h"

namespace vigil::cli {

struct StoreFlags {
  std::string data_dir = "vigil-data";
  std::string database_url;
  std::string hash_plugins;  // --hash-plugins: a plug-ins file whose signal types lists and requests may name
};

void AddStoreFlags(CLI::App& app, StoreFlags& flags);

// Opens (creating the data directory and applying migrations as needed) or prints why not; first
// registers the signal types of --hash-plugins' file (no plug-in code is loaded).
std::unique_ptr<Store> OpenStoreOrReport(const StoreFlags& flags, const char* command,
                                         const WorkflowOptions& workflow = {});

// Who runs the command on the host, for the audit log: the effective user, and the one sudo names.
std::string OsUser();
// The audit log's actor for maintenance on the host: "operator:" and OsUser(). A person's acts take
// that person's own API key instead (report_command.cpp).
std::string OperatorActor();

// Prints an error as "vigil COMMAND: message" on stderr; returns 1.
int ReportError(const char* command, const Error& error);

// One JSON value on a line of standard output (the commands' machine-readable output).
void PrintJson(const boost::json::value& value);

}  // namespace vigil::cli

// Store flags and opening for the store-backed commands.
#include "cli/store_options.h"

#include "signals/hash_plugin_spec.h"

#include <pwd.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstdio>
#include <iostream>
#include <filesystem>

namespace vigil::cli {

// Who runs the command on the host, for the audit log: the effective user, and the one sudo names.
std::string OperatorActor() { return "operator:" + OsUser(); }

std::string OsUser() {
  const passwd* entry = getpwuid(geteuid());
  std::string user = entry != nullptr && entry->pw_name != nullptr ? entry->pw_name : "uid " + std::to_string(geteuid());
  if (const char* sudo = std::getenv("SUDO_USER"); sudo != nullptr && *sudo != '\0' && user != sudo) {
    user += " (sudo from " + std::string(sudo) + ")";
  }
  return user;
}


void AddStoreFlags(CLI::App& app, StoreFlags& flags) {
  app.add_option("--data-dir", flags.data_dir, "Data directory (SQLite database vigil.db inside; created if missing)")
      ->capture_default_str();
  app.add_option("--database-url", flags.database_url,
                 "PostgreSQL connection string or URI; overrides --data-dir's SQLite database")
      ->envname("VIGIL_DATABASE_URL");
  app.add_option("--hash-plugins", flags.hash_plugins,
                 "A licensed-hash plug-ins file (docs/hash-plugins.md): lists and exports may hold its signal types "
                 "(each plug-in file's SHA-256 is checked, its code not loaded; `vigil serve` also runs the plug-ins "
                 "in its sandbox)")
      ->envname("VIGIL_HASH_PLUGINS");
}

void PrintJson(const boost::json::value& value) { std::cout << boost::json::serialize(value) << "\n"; }

int ReportError(const char* command, const Error& error) {
  std::fprintf(stderr, "vigil %s: %s\n", command, error.ToString().c_str());
  return 1;
}

std::unique_ptr<Store> OpenStoreOrReport(const StoreFlags& flags, const char* command, const WorkflowOptions& workflow) {
  if (!flags.hash_plugins.empty()) {
    auto plugins = LoadHashPluginsFile(flags.hash_plugins);
    Status registered = plugins ? RegisterHashPlugins(*plugins) : Status(tl::unexpected(plugins.error()));
    if (!registered) {
      ReportError(command, registered.error());
      return nullptr;
    }
  }
  StoreOptions options;
  options.workflow = workflow;
  if (flags.database_url.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(flags.data_dir, ec);
    if (ec) {
      ReportError(command, {ErrorCode::kIoError, "cannot create data directory " + flags.data_dir + ": " + ec.message()});
      return nullptr;
    }
    options.sqlite_path = (std::filesystem::path(flags.data_dir) / "vigil.db").string();
  } else {
    options.postgres_url = flags.database_url;
  }
  auto store = Store::Open(options);
  if (!store) {
    ReportError(command, store.error());
    return nullptr;
  }
  return std::move(*store);
}

}  // namespace vigil::cli

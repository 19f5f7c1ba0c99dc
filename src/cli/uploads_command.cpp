// `vigil uploads maintain|partitions`: the upload maintenance that every server and worker runs in
// the background (store/upload_retention.h), on demand or from cron, and a look at the partitions.
// Retention deletes records, so `maintain` never guesses the window: it takes --retention-days or
// the [uploads] table of a --config file.
#include <boost/json.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/store_options.h"
#include "server/server_config.h"

namespace vigil::cli {
namespace {

struct UploadsArgs {
  StoreFlags store;
  std::string config_path;
  int retention_days = -1;
  int ahead_days = -1;
  bool json = false;
};

boost::json::array PartitionsJson(const std::vector<UploadPartition>& partitions) {
  boost::json::array out;
  for (const auto& p : partitions) {
    boost::json::object o{{"name", p.name}, {"rows", p.rows}};
    if (p.to != 0) {
      o["from_us"] = p.from;
      o["to_us"] = p.to;
    }
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

Action RegisterUploadsCommand(CLI::App& app) {
  auto args = std::make_shared<UploadsArgs>();
  CLI::App* cmd = app.add_subcommand("uploads", "Partitions and retention of uploads that matched nothing");
  cmd->require_subcommand(1);
  cmd->footer("--data-dir, --database-url and --config go before or after the subcommand.");
  cmd->fallthrough();
  AddStoreFlags(*cmd, args->store);
  cmd->add_option("--config", args->config_path,
                  "The service's TOML configuration: its database and [uploads] table (flags win)")
      ->check(CLI::ExistingFile);
  CLI::App* maintain = cmd->add_subcommand(
      "maintain", "Make the coming days' partitions and remove uploads older than the retention window (what "
                  "servers and workers do every [uploads] maintenance_minutes)");
  maintain->add_option("--retention-days", args->retention_days,
                       "Keep uploads that matched nothing this many days; 0: for good (required without --config)")
      ->check(CLI::Range(0, 36'500));
  maintain->add_option("--ahead-days", args->ahead_days, "Make daily partitions this many days ahead (PostgreSQL)")
      ->check(CLI::Range(0, 60));
  maintain->add_flag("--json", args->json, "Print the pass as one JSON object");
  maintain->footer("Exit 0: done; 3: another server, worker or command was maintaining (nothing done); 1: an error.\n"
                   "--data-dir, --database-url and --config (see `vigil uploads --help`) may follow the subcommand.");
  CLI::App* partitions = cmd->add_subcommand("partitions", "List the upload partitions with their estimated rows");
  partitions->add_flag("--json", args->json, "Print them as one JSON array");
  partitions->footer("--data-dir, --database-url and --config (see `vigil uploads --help`) may follow the subcommand.");
  return [=]() -> int {
    if (!cmd->parsed()) return -1;
    server::ServerConfig config;
    StoreFlags flags = args->store;
    if (!args->config_path.empty()) {
      if (auto loaded = server::LoadServerConfig(args->config_path, config); !loaded) {
        return ReportError("uploads", loaded.error());
      }
      if (flags.database_url.empty()) flags.database_url = config.database_url;
      if (flags.data_dir == StoreFlags{}.data_dir) flags.data_dir = config.data_dir;
    } else if (maintain->parsed() && args->retention_days < 0) {
      return ReportError("uploads maintain",
                         Error{ErrorCode::kInvalidArgument,
                               "give --retention-days N (0: keep for good) or --config FILE: retention deletes records"});
    }
    UploadRetention retention = config.uploads.retention;
    if (args->retention_days >= 0) retention.keep_days = args->retention_days;
    if (args->ahead_days >= 0) retention.partitions_ahead_days = args->ahead_days;
    auto store = OpenStoreOrReport(flags, "uploads");
    if (!store) return 1;
    if (partitions->parsed()) {
      auto listed = store->ListUploadPartitions();
      if (!listed) return ReportError("uploads partitions", listed.error());
      if (args->json) {
        std::cout << boost::json::serialize(PartitionsJson(*listed)) << "\n";
      } else {
        for (const auto& p : *listed) std::cout << p.name << "\t" << p.rows << "\n";
      }
      return 0;
    }
    auto pass = store->MaintainUploads(retention);
    if (!pass) return ReportError("uploads maintain", pass.error());
    if (args->json) {
      boost::json::object o{{"skipped", pass->skipped},
                            {"retention_days", retention.keep_days},
                            {"partitions_created", boost::json::array(pass->partitions_created.begin(),
                                                                      pass->partitions_created.end())},
                            {"partitions_dropped", boost::json::array(pass->partitions_dropped.begin(),
                                                                      pass->partitions_dropped.end())},
                            {"uploads_removed", pass->uploads_removed},
                            {"uploads_kept", pass->uploads_kept},
                            {"warnings", boost::json::array(pass->warnings.begin(), pass->warnings.end())},
                            {"partitions", PartitionsJson(pass->partitions)}};
      std::cout << boost::json::serialize(o) << "\n";
    } else if (pass->skipped) {
      std::cout << "another server or worker is maintaining uploads now; nothing done\n";
    } else {
      std::cout << "partitions made: " << pass->partitions_created.size()
                << ", dropped: " << pass->partitions_dropped.size() << "; uploads removed: " << pass->uploads_removed
                << ", kept for accounts with a case or action: " << pass->uploads_kept << "\n";
      for (const auto& warning : pass->warnings) std::cerr << "vigil uploads maintain: " << warning << "\n";
    }
    return pass->skipped ? 3 : 0;
  };
}

}  // namespace vigil::cli

// `vigil scan`: an offline backfill of existing storage through the upload workflow, the same path
// POST /v1/content takes (hash, match, record with the policy's outcome, keep media for review),
// in this process, one JSON line per file and a progress bar.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstdio>
#include <mutex>
#include <thread>

#include "cli/commands.h"
#include "cli/file_walker.h"
#include "cli/progress.h"
#include "cli/service_setup.h"
#include "cli/store_options.h"
#include "server/server_config.h"
#include "store/record_json.h"
#include "vigil/file_hasher.h"
#include "workflow/upload_workflow.h"

namespace vigil::cli {
namespace {

struct ScanArgs {
  StoreFlags store;
  std::string config;  // the service's configuration file
  std::vector<std::string> paths;
  std::string rules;
  std::string user;
  bool user_from_parent = false;
  std::string id_prefix;
  std::string media_dir;
  bool keep_media = true;
  unsigned jobs = 0;
  bool quiet = false;
  DecodeLimits limits;
};

// The content id: the prefix and the path as given on the command line (relative paths stay
// relative, so a rerun from the same directory finds the same ids and is answered as a replay).
std::string ContentIdFor(const ScanArgs& args, const std::filesystem::path& path) {
  return args.id_prefix + path.lexically_normal().string();
}

boost::json::object ScanLine(const std::filesystem::path& path, const std::string& content_id,
                             const RecordedUpload& recorded) {
  const ContentRecord& content = recorded.content;
  boost::json::array matches;
  for (const auto& m : content.matches) {
    matches.push_back({{"bank", m.bank_name}, {"signal_type", m.signal_type}, {"distance", m.distance},
                       {"entry_id", m.entry_id}});
  }
  boost::json::object line{{"path", PathText(path)},
                           {"content_id", content_id},
                           {"media_type", content.media_type},
                           {"state", content.state},
                           {"matches", std::move(matches)},
                           {"replayed", recorded.replayed}};
  if (!content.classifications.empty()) line["classifications"] = ClassificationsJson(content.classifications);
  if (!content.policy_outcome.empty()) {
    boost::system::error_code ec;
    auto outcome = boost::json::parse(content.policy_outcome, ec);
    line["policy"] = ec ? boost::json::value(content.policy_outcome) : outcome;
  }
  if (recorded.opened) {
    line["case_id"] = recorded.opened->id;
  } else if (const auto* policy = line.if_contains("policy"); policy != nullptr && policy->is_object()) {
    // A replay: the case the first outcome opened or grew, as recorded with it.
    if (const auto* id = policy->as_object().if_contains("case_id"); id != nullptr && id->is_int64()) line["case_id"] = *id;
  }
  return line;
}

// Set by SIGINT/SIGTERM: no file is started after it; those started finish and are printed whole.
std::atomic<bool> interrupted{false};

void OnInterrupt(int) { interrupted.store(true); }

int RunScan(const ScanArgs& args, bool data_dir_given) {
  // The service's configuration, when given, decides what the service would: the database, the
  // review SLAs and leases, the rules file, decoding limits and video options.
  server::ServerConfig config;
  if (!args.config.empty()) {
    if (auto loaded = server::LoadServerConfig(args.config, config); !loaded) return ReportError("scan", loaded.error());
  } else {
    config.api.decode_limits = args.limits;
  }
  if (data_dir_given || config.data_dir.empty()) config.data_dir = args.store.data_dir;
  if (!args.store.database_url.empty()) config.database_url = args.store.database_url;
  const std::string rules_path = !args.rules.empty() ? args.rules : config.api.rules_path;
  std::shared_ptr<const PolicyRules> rules;
  if (!rules_path.empty()) {
    auto loaded = PolicyRules::Load(rules_path);
    if (!loaded) return ReportError("scan", loaded.error());
    rules = std::make_shared<const PolicyRules>(std::move(*loaded));
  }
  if (!args.config.empty() && !config.hash_plugins_file.empty()) SetUpLogging(config.log_level);
  auto plugins = RegisterConfiguredPlugins(config);  // before the index loads: it keeps the types it knows
  if (!plugins) return ReportError("scan", plugins.error());
  auto store = OpenStoreOrReport({config.data_dir, config.database_url, ""}, "scan", config.workflow);
  if (!store) return 1;
  Matcher matcher(*store);
  if (auto loaded = matcher.Load(); !loaded) return ReportError("scan", loaded.error());
  std::unique_ptr<MediaStore> media;
  if (args.keep_media) {
    std::string dir = args.media_dir;
    if (dir.empty() && (config.database_url.empty() || !args.config.empty())) {
      dir = (std::filesystem::path(config.data_dir) / "media").string();  // where the service keeps them
    }
    if (dir.empty()) {
      return ReportError("scan", {ErrorCode::kInvalidArgument,
                                  "with --database-url, say where kept media go (--media-dir, the service's "
                                  "DATA_DIR/media) or pass --no-keep-media"});
    }
    media = OpenMediaDirectory(dir);
  }
  UploadWorkflowOptions options;
  options.decode_limits = config.api.decode_limits;
  options.video = config.api.video;
  options.video_match = config.api.video_match;
  options.actor = "cli:scan";
  // Hashed with the configuration's plug-ins too, in their sandbox, as the service would.
  if (*plugins) {
    auto started = StartHashPlugins(config, **plugins, matcher);
    if (!started) return ReportError("scan", started.error());
    options.plugin_signals = std::move(started->signals);
  }
  // Scored as the service would score them, by the configuration's classifiers. Their start-up
  // lines (a local model loaded in its sandbox, a worker lost) are JSON on stderr, as the service's.
  if (!config.classifiers_file.empty()) SetUpLogging(config.log_level);
  auto classifiers = LoadClassifiers(config, rules.get(), rules_path);
  if (!classifiers) return ReportError("scan", classifiers.error());
  if (*classifiers) {
    options.classify = [set = *classifiers](const ClassifierInput& input) { return set->ClassifyUpload(input); };
  }
  UploadWorkflow workflow(store->Cases(), matcher, HashMedia, media.get(), options);
  workflow.SetRules(rules);

  if (!rules) {
    std::fprintf(stderr,
                 "vigil scan: no rules (--rules, or the config's rules_file): matches are recorded and nothing acts; "
                 "a file scanned now keeps that outcome when scanned again\n");
  }
  if (args.user.empty() && !args.user_from_parent) {
    std::fprintf(stderr,
                 "vigil scan: no --user or --user-from-parent: uploads are recorded without a user (no account "
                 "action, nothing reportable about an uploader)\n");
  }
  std::vector<std::filesystem::path> files;
  std::size_t failed = 0;
  for (const auto& entry : ExpandPaths(args.paths)) {
    if (!entry.error.empty()) {
      std::printf("%s\n", boost::json::serialize(boost::json::object{{"path", PathText(entry.path)},
                                                                      {"error", entry.error},
                                                                      {"error_code", std::string(ErrorCodeName(entry.code))}})
                              .c_str());
      ++failed;
      continue;
    }
    files.push_back(entry.path);
  }

  std::mutex out_mu;
  std::atomic<std::size_t> next{0}, done{0}, errors{failed};
  auto work = [&] {
    for (std::size_t i = next++; i < files.size() && !interrupted.load(); i = next++) {
      const auto& path = files[i];
      const std::string content_id = ContentIdFor(args, path);
      boost::json::object line;
      auto recorded = [&]() -> Result<RecordedUpload> {
        auto bytes = ReadFileLimited(path, static_cast<std::size_t>(options.decode_limits.max_file_bytes));
        if (!bytes) return tl::unexpected(bytes.error());
        UploadRequest upload;
        upload.content_id = content_id;
        upload.user_id = args.user_from_parent ? path.parent_path().filename().string() : args.user;
        upload.bytes = *bytes;
        return workflow.Submit(upload);
      }();
      if (recorded) {
        line = ScanLine(path, content_id, *recorded);
      } else {
        line = {{"path", PathText(path)}, {"content_id", PathText(content_id)}, {"error", recorded.error().message},
                {"error_code", std::string(ErrorCodeName(recorded.error().code))}};
        ++errors;
      }
      const std::string text = boost::json::serialize(line);
      std::lock_guard lock(out_mu);
      std::fwrite(text.data(), 1, text.size(), stdout);
      std::fputc('\n', stdout);
      ++done;
    }
  };
  const unsigned jobs = args.jobs > 0 ? args.jobs : std::max(1u, std::thread::hardware_concurrency());
  // Before the threads start: a signal then always finds the handler, whichever thread takes it.
  struct sigaction on_interrupt{};
  on_interrupt.sa_handler = OnInterrupt;
  sigemptyset(&on_interrupt.sa_mask);
  sigaction(SIGINT, &on_interrupt, nullptr);
  sigaction(SIGTERM, &on_interrupt, nullptr);
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < std::min<std::size_t>(jobs, std::max<std::size_t>(files.size(), 1)); ++t) threads.emplace_back(work);
  ProgressBar progress(files.size(), "scanning", !args.quiet && isatty(STDERR_FILENO));
  while (done < files.size() && !interrupted.load()) {
    progress.Update(done, errors);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  for (auto& t : threads) t.join();
  progress.Update(done, errors);
  progress.Finish();
  std::fflush(stdout);
  if (interrupted.load() && done < files.size()) {
    std::fprintf(stderr, "vigil scan: interrupted after %zu of %zu files; run it again to go on (those done replay)\n",
                 done.load(), files.size());
    return 130;
  }
  return errors == 0 ? 0 : 1;
}

}  // namespace

Action RegisterScanCommand(CLI::App& app) {
  auto args = std::make_shared<ScanArgs>();
  CLI::App* cmd = app.add_subcommand(
      "scan", "Backfill: hash, match and apply the policy to files already in storage, as uploads would be");
  cmd->footer(
      "Each file goes through the same upload workflow as POST /v1/content: hashed (in this process),\n"
      "matched against every enabled bank, recorded with its matches and the policy's outcome in one\n"
      "transaction (block, hold, case, report queue, account action), its bytes kept for review when it\n"
      "opens or joins a case. The content id is --id-prefix plus the path as given; a rerun answers\n"
      "files already recorded with their first outcome (\"replayed\": true), so an interrupted scan can\n"
      "simply be run again.\n"
      "Output: one JSON object per file, in completion order:\n"
      "  {\"path\",\"content_id\",\"media_type\",\"state\",\"matches\":[{\"bank\",\"signal_type\",\"distance\",\n"
      "  \"entry_id\"}],\"replayed\",\"classifications\"?,\"policy\"?,\"case_id\"?} or\n"
      "  {\"path\",\"content_id\"?,\"error\",\"error_code\"}. With --config, files are scored by its classifiers\n"
      "  ([classifiers] file) as uploads would be.\n"
      "Exit status: 0 every file recorded, 1 some failed, 2 bad usage, 130 interrupted (SIGINT/SIGTERM: the\n"
      "files started finish and are printed; run it again to go on).");
  cmd->add_option("paths", args->paths, "Files and directories (walked recursively; inside them only regular files are taken, links, FIFOs and devices are reported, not followed)")->required();
  cmd->add_option("--config", args->config,
                  "The service's configuration file: its database, rules file, review SLAs, decoding limits "
                  "(what POST /v1/content would apply)");
  cmd->add_option("--rules", args->rules,
                  "Policy rules file (TOML; default: the config's rules_file); without any, matches are recorded and nothing acts");
  cmd->add_option("--user", args->user, "The uploader's user id for every file");
  cmd->add_flag("--user-from-parent", args->user_from_parent,
                "Each file's user id is the name of the folder it is in (STORAGE/USER/FILE)");
  cmd->add_option("--id-prefix", args->id_prefix, "Prepended to each file's path to make its content id");
  cmd->add_option("--media-dir", args->media_dir,
                  "Where the bytes of files that open a case are kept (default: DATA_DIR/media, the service's)");
  cmd->add_flag("!--no-keep-media", args->keep_media, "Keep no bytes (reviewers then see no media)");
  cmd->add_option("-j,--jobs", args->jobs, "Worker threads (default: all cores)");
  cmd->add_option("--max-file-bytes", args->limits.max_file_bytes, "Largest file accepted (without --config)")
      ->capture_default_str();
  cmd->add_option("--max-pixels", args->limits.max_pixels, "Largest width*height accepted (without --config)")
      ->capture_default_str();
  cmd->add_flag("-q,--quiet", args->quiet, "No progress bar");
  AddStoreFlags(*cmd, args->store);
  return [cmd, args]() -> int {
    if (!cmd->parsed()) return -1;
    if (args->user_from_parent && !args->user.empty()) {
      return ReportError("scan", {ErrorCode::kInvalidArgument, "--user and --user-from-parent exclude each other"});
    }
    return RunScan(*args, cmd->count("--data-dir") != 0);
  };
}

}  // namespace vigil::cli

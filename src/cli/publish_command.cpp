// `vigil publish`: files as upload events on NATS JetStream (docs/stream.md), for back-fills of
// existing storage, tests and benchmarks. Optionally waits for every event's result (or dead
// letter) and prints a summary with publish-to-result latencies.
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <unordered_map>

#include "cli/commands.h"
#include "cli/file_walker.h"
#include "cli/progress.h"
#include "cli/store_options.h"
#include "stream/jetstream.h"
#include "stream/upload_event.h"
#include "vigil/file_hasher.h"

namespace vigil::cli {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct PublishArgs {
  std::vector<std::string> paths;
  std::string nats_url = "nats://127.0.0.1:4222";
  std::string credentials_file;
  std::string subject = "vigil.uploads.files";
  std::string result_subject = "vigil.results";
  std::string dead_letter_subject = "vigil.dead";
  std::string user;
  bool user_from_parent = false;
  std::string id_prefix;
  std::string metadata;
  bool by_path = false;
  std::size_t max_inline_bytes = 1 << 20;
  bool wait = false;
  double timeout_seconds = 300;
  bool quiet = false;
};

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1) + 0.5);
  return values[std::min(i, values.size() - 1)];
}

int RunPublish(const PublishArgs& args) {
  if (!args.metadata.empty()) {
    boost::system::error_code ec;
    if (!boost::json::parse(args.metadata, ec).is_object() || ec) {
      return ReportError("publish", {ErrorCode::kInvalidArgument, "--metadata must be a JSON object"});
    }
  }
  stream::NatsConnectOptions options;
  options.url = args.nats_url;
  options.credentials_file = args.credentials_file;
  options.name = "vigil-publish";
  auto nats = stream::JetStreamConnection::Connect(options);
  if (!nats) return ReportError("publish", nats.error());
  // Listening before the first publish: no result can come before its listener.
  std::unique_ptr<stream::Listener> results, dead;
  if (args.wait) {
    auto r = (*nats)->Listen(args.result_subject);
    auto d = (*nats)->Listen(args.dead_letter_subject);
    if (!r) return ReportError("publish", r.error());
    if (!d) return ReportError("publish", d.error());
    results = std::move(*r);
    dead = std::move(*d);
  }

  std::vector<std::pair<std::filesystem::path, std::string>> files;  // path, content id
  std::size_t failed = 0;
  for (const auto& entry : ExpandPaths(args.paths)) {
    if (!entry.error.empty()) {
      std::fprintf(stderr, "vigil publish: %s: %s\n", entry.path.c_str(), entry.error.c_str());
      ++failed;
      continue;
    }
    files.emplace_back(entry.path, args.id_prefix + entry.path.lexically_normal().string());
  }
  std::unordered_map<std::string, SteadyClock::time_point> sent_at;
  ProgressBar progress(files.size(), "publishing", !args.quiet && isatty(STDERR_FILENO));
  std::size_t done = 0;
  for (const auto& [path, content_id] : files) {
    std::vector<std::pair<std::string, std::string>> headers{{stream::kContentIdHeader, content_id}};
    const std::string user = args.user_from_parent ? path.parent_path().filename().string() : args.user;
    if (!user.empty()) headers.emplace_back(stream::kUserIdHeader, user);
    if (!args.metadata.empty()) headers.emplace_back(stream::kMetadataHeader, args.metadata);
    std::vector<std::uint8_t> bytes;
    if (args.by_path) {
      std::error_code ec;
      const auto absolute = std::filesystem::absolute(path, ec).lexically_normal();
      headers.emplace_back(stream::kMediaPathHeader, absolute.string());
    } else {
      auto read = ReadFileLimited(path, args.max_inline_bytes);
      if (!read) {
        std::fprintf(stderr, "vigil publish: %s: %s%s\n", path.c_str(), read.error().message.c_str(),
                     read.error().code == ErrorCode::kTooLarge ? " (publish it with --by-path)" : "");
        ++failed;
        progress.Update(++done, failed);
        continue;
      }
      bytes = std::move(*read);
    }
    if (auto sent = (*nats)->PublishAsync(args.subject, headers, bytes, content_id); !sent) {
      std::fprintf(stderr, "vigil publish: %s: %s\n", path.c_str(), sent.error().message.c_str());
      ++failed;
    } else {
      sent_at[content_id] = SteadyClock::now();
    }
    progress.Update(++done, failed);
  }
  auto outcome = (*nats)->WaitPublished(std::chrono::seconds(60));
  progress.Finish();
  if (!outcome) return ReportError("publish", outcome.error());
  if (outcome->failed > 0) {
    std::fprintf(stderr, "vigil publish: %lld events were not stored: %s\n", static_cast<long long>(outcome->failed),
                 outcome->first_error.c_str());
    failed += static_cast<std::size_t>(outcome->failed);
  }
  // An event JetStream had already (same content id within its window) is not processed again.
  for (const auto& id : outcome->duplicates) sent_at.erase(id);
  const std::size_t published = sent_at.size();
  boost::json::object summary{{"files", files.size()},
                              {"published", published},
                              {"duplicates", outcome->duplicates.size()},
                              {"failed", failed},
                              {"subject", args.subject}};
  int status = failed == 0 ? 0 : 1;
  if (args.wait) {
    std::size_t matched = 0, unhashable = 0, dead_letters = 0;
    std::vector<double> latencies;
    std::set<std::string> answered;
    const auto deadline = SteadyClock::now() + std::chrono::duration<double>(args.timeout_seconds);
    ProgressBar waiting(published, "waiting for results", !args.quiet && isatty(STDERR_FILENO));
    while (answered.size() < published && SteadyClock::now() < deadline) {
      for (auto* listener : {results.get(), dead.get()}) {
        auto msg = listener->Next(listener == results.get() ? std::chrono::milliseconds(50) : std::chrono::milliseconds(1));
        if (!msg) continue;
        boost::system::error_code ec;
        const auto text = msg->data();
        auto value = boost::json::parse(std::string_view(reinterpret_cast<const char*>(text.data()), text.size()), ec);
        if (ec || !value.is_object()) continue;
        const auto& o = value.as_object();
        const auto* id = o.if_contains("content_id");
        if (id == nullptr || !id->is_string()) continue;
        const std::string content_id(id->as_string());
        const auto it = sent_at.find(content_id);
        if (it == sent_at.end() || !answered.insert(content_id).second) continue;
        latencies.push_back(std::chrono::duration<double>(SteadyClock::now() - it->second).count());
        if (listener == dead.get()) {
          ++dead_letters;
        } else if (o.contains("error")) {
          ++unhashable;
        } else if (const auto* m = o.if_contains("matches"); m != nullptr && m->is_array() && !m->as_array().empty()) {
          ++matched;
        }
      }
      waiting.Update(answered.size(), dead_letters + unhashable);
    }
    waiting.Finish();
    summary["answered"] = answered.size();
    summary["matched"] = matched;
    summary["unhashable"] = unhashable;
    summary["dead_letters"] = dead_letters;
    summary["unanswered"] = published - answered.size();
    summary["latency_p50_ms"] = static_cast<std::int64_t>(Percentile(latencies, 0.5) * 1000 + 0.5);
    summary["latency_p99_ms"] = static_cast<std::int64_t>(Percentile(latencies, 0.99) * 1000 + 0.5);
    if (answered.size() < published || dead_letters > 0 || unhashable > 0) status = 1;
  }
  std::printf("%s\n", boost::json::serialize(summary).c_str());
  return status;
}

}  // namespace

Action RegisterPublishCommand(CLI::App& app) {
  auto args = std::make_shared<PublishArgs>();
  CLI::App* cmd = app.add_subcommand("publish", "Publish files as upload events on NATS JetStream for `vigil worker`");
  cmd->footer(
      "Each file becomes one event on --subject: Vigil-Content-Id is --id-prefix plus the path as given\n"
      "(also its Nats-Msg-Id: publishing it again within the stream's window stores nothing new), the\n"
      "media inline, or with --by-path its absolute path as Vigil-Media-Path (the workers must have it\n"
      "under a media root). With --wait, waits for each event's result or dead letter.\n"
      "Output: one JSON summary {files, published, duplicates, failed, subject[, answered, matched,\n"
      "unhashable, dead_letters, unanswered, latency_p50_ms, latency_p99_ms]}.\n"
      "Exit status: 0 all published (and, with --wait, answered without error), 1 otherwise, 2 bad usage.");
  cmd->add_option("paths", args->paths, "Files and directories (walked recursively; inside them only regular files are taken, links, FIFOs and devices are reported, not followed)")->required();
  cmd->add_option("--nats", args->nats_url, "NATS server URL(s), comma-separated")->capture_default_str();
  cmd->add_option("--credentials", args->credentials_file, "NATS credentials file");
  cmd->add_option("--subject", args->subject, "Subject of the events (the workers' stream must capture it)")
      ->capture_default_str();
  cmd->add_option("--result-subject", args->result_subject, "Where results come (with --wait)")->capture_default_str();
  cmd->add_option("--dead-letter-subject", args->dead_letter_subject, "Where dead letters come (with --wait)")
      ->capture_default_str();
  cmd->add_option("--user", args->user, "The uploader's user id for every file");
  cmd->add_flag("--user-from-parent", args->user_from_parent, "Each file's user id is the name of its folder");
  cmd->add_option("--id-prefix", args->id_prefix, "Prepended to each file's path to make its content id");
  cmd->add_option("--metadata", args->metadata, "A JSON object sent with every event (Vigil-Metadata)");
  cmd->add_flag("--by-path", args->by_path, "Send paths (Vigil-Media-Path) instead of the bytes");
  cmd->add_option("--max-inline-bytes", args->max_inline_bytes, "Largest file sent inline")->capture_default_str();
  cmd->add_flag("--wait", args->wait, "Wait for every result and print latencies");
  cmd->add_option("--timeout", args->timeout_seconds, "Seconds to wait for results (with --wait)")->capture_default_str();
  cmd->add_flag("-q,--quiet", args->quiet, "No progress bar");
  return [cmd, args]() -> int {
    if (!cmd->parsed()) return -1;
    if (args->user_from_parent && !args->user.empty()) {
      return ReportError("publish", {ErrorCode::kInvalidArgument, "--user and --user-from-parent exclude each other"});
    }
    return RunPublish(*args);
  };
}

}  // namespace vigil::cli

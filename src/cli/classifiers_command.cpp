// `vigil classifiers check`: loads a service configuration's classifiers as `vigil serve` would
// (keys from where they say, each local model's card and file, the model parsed and run once in
// its sandbox) and checks the rules file against them, then scores any pictures given with every
// classifier that takes them. Prints one JSON line per classifier, then one per picture; exits 0
// when everything loads. For operators checking a new classifiers file or model card before a
// restart, without a database.
#include <boost/json.hpp>
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/service_setup.h"
#include "cli/store_options.h"
#include "server/server_config.h"
#include "signals/media_hashing.h"
#include "store/record_json.h"
#include "vigil/file_hasher.h"
#include "vigil/policy.h"

namespace vigil::cli {
namespace {

struct ClassifiersArgs {
  std::string config;
  std::string rules;
  std::vector<std::string> pictures;
};

int RunCheck(const ClassifiersArgs& args) {
  server::ServerConfig config;
  if (auto loaded = server::LoadServerConfig(args.config, config); !loaded) return ReportError("classifiers check", loaded.error());
  if (config.classifiers_file.empty()) {
    return ReportError("classifiers check", {ErrorCode::kInvalidArgument, args.config + ": no [classifiers] file is configured"});
  }
  const std::string rules_path = !args.rules.empty() ? args.rules : config.api.rules_path;
  std::unique_ptr<PolicyRules> rules;
  if (!rules_path.empty()) {
    auto loaded = PolicyRules::Load(rules_path);
    if (!loaded) return ReportError("classifiers check", loaded.error());
    rules = std::make_unique<PolicyRules>(std::move(*loaded));
  }
  SetUpLogging(config.log_level);
  auto set = LoadClassifiers(config, rules.get(), rules_path);
  if (!set) return ReportError("classifiers check", set.error());
  for (const auto& status : (*set)->Stats()) {
    boost::json::object line{{"classifier", status.name}};
    if (auto labels = (*set)->KnownLabels(status.name)) {
      boost::json::array known;
      for (const auto& l : *labels) known.push_back(boost::json::string(l));
      line["labels"] = std::move(known);
    }
    line["loaded"] = true;
    PrintJson(line);
  }
  int failed = 0;
  for (const auto& path : args.pictures) {
    auto bytes = ReadFileLimited(path, config.api.decode_limits.max_file_bytes);
    if (!bytes) {
      PrintJson(boost::json::object{{"path", path}, {"error", bytes.error().ToString()}});
      ++failed;
      continue;
    }
    MediaHashOptions options;
    options.limits = config.api.decode_limits;
    auto hashed = HashMedia(*bytes, options);
    if (!hashed) {
      PrintJson(boost::json::object{{"path", path}, {"error", hashed.error().ToString()}});
      ++failed;
      continue;
    }
    ClassifierInput input{path, hashed->media_type, *bytes, {}};
    const auto answers = (*set)->ClassifyUpload(input);
    PrintJson(boost::json::object{{"path", path}, {"media_type", hashed->media_type}, {"classifications", ClassificationsJson(answers)}});
    for (const auto& a : answers) failed += a.ok() ? 0 : 1;
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace

Action RegisterClassifiersCommand(CLI::App& app) {
  CLI::App* group = app.add_subcommand("classifiers", "Check the classifiers a service configuration runs");
  group->require_subcommand(1);
  auto args = std::make_shared<ClassifiersArgs>();
  CLI::App* check = group->add_subcommand(
      "check", "Load the configuration's classifiers as `vigil serve` would (local models in their sandbox), check the rules "
               "against them, and score any pictures given; one JSON line each");
  check->add_option("--config", args->config, "The service's configuration file (its [classifiers] file)")->required();
  check->add_option("--rules", args->rules, "A rules file to check against them (default: the configuration's rules_file)");
  check->add_option("pictures", args->pictures, "Pictures to score with every classifier that takes them");
  return [check, args]() -> int {
    if (!check->parsed()) return -1;
    return RunCheck(*args);
  };
}

}  // namespace vigil::cli

// `vigil lookup` (match signals against every enabled bank, directly on the store) and
// `vigil store check` (integrity check of the database).
#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/store_options.h"
#include "util/json_number.h"
#include "vigil/matcher.h"

namespace vigil::cli {
namespace {

struct LookupArgs {
  StoreFlags store;
  std::string type = "pdq";
  std::vector<std::string> values;
  int quality = -1;
};

}  // namespace

Action RegisterLookupCommand(CLI::App& app) {
  auto a = std::make_shared<LookupArgs>();
  CLI::App* lookup = app.add_subcommand("lookup", "Match hashes against every enabled bank; JSON line per match");
  lookup->add_option("values", a->values, "Hash values (hex); for --type vpdq, vPDQ files (the reference's format)")
      ->required();
  lookup->add_option("--type", a->type, "pdq, md5, sha1, sha256 or vpdq (a plug-in's type is looked up by the service: POST /v1/lookup)")->capture_default_str();
  lookup->add_option("--quality", a->quality, "PDQ quality of the query (banks' quality floors apply)")
      ->check(CLI::Range(0, 100));
  AddStoreFlags(*lookup, a->store);

  auto check_flags = std::make_shared<StoreFlags>();
  CLI::App* store_cmd = app.add_subcommand("store", "Database maintenance");
  store_cmd->require_subcommand(1);
  CLI::App* check = store_cmd->add_subcommand("check", "Check the database's integrity; exit 1 on problems");
  AddStoreFlags(*check, *check_flags);

  return [=]() -> int {
    if (check->parsed()) {
      auto store = OpenStoreOrReport(*check_flags, "store check");
      if (!store) return 1;
      auto problems = store->CheckIntegrity();
      if (!problems) return ReportError("store check", problems.error());
      for (const auto& problem : *problems) std::cout << problem << "\n";
      std::cout << (problems->empty() ? "ok" : "problems found") << "\n";
      return problems->empty() ? 0 : 1;
    }
    if (!lookup->parsed()) return -1;
    auto store = OpenStoreOrReport(a->store, "lookup");
    if (!store) return 1;
    Matcher matcher(*store);
    if (auto loaded = matcher.Load(); !loaded) return ReportError("lookup", loaded.error());
    for (const auto& value : a->values) {
      if (a->type == "vpdq") {
        std::ifstream in(value);
        if (!in) return ReportError("lookup", {ErrorCode::kNotFound, value + ": cannot open"});
        std::ostringstream text;
        text << in.rdbuf();
        auto frames = ParseVpdq(text.str());
        if (!frames) return ReportError("lookup", WithContext(frames.error(), value));
        auto hits = matcher.LookupVideo(*frames);
        if (!hits) return ReportError("lookup", WithContext(hits.error(), value));
        for (const auto& hit : *hits) {
          std::cout << boost::json::serialize(boost::json::object{{"query", value},
                                                                  {"bank", hit.bank_name},
                                                                  {"entry_id", hit.entry_id},
                                                                  {"signal_type", "vpdq"},
                                                                  {"distance", hit.distance},
                                                                  {"query_match_percent", JsonNumber(hit.query_match_percent)},
                                                                  {"compared_match_percent", JsonNumber(hit.compared_match_percent)}})
                    << "\n";
        }
        continue;
      }
      auto hits = matcher.Lookup({a->type, value, a->quality >= 0 ? std::optional<int>(a->quality) : std::nullopt, ""});
      if (!hits) return ReportError("lookup", hits.error());
      for (const auto& hit : *hits) {
        std::cout << boost::json::serialize(boost::json::object{{"query", value},
                                                                {"bank", hit.bank_name},
                                                                {"entry_id", hit.entry_id},
                                                                {"signal_type", hit.signal_type},
                                                                {"distance", hit.distance}})
                  << "\n";
      }
    }
    return 0;
  };
}

}  // namespace vigil::cli

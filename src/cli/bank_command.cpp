// `vigil bank ...` and `vigil import`: banks and hash-list imports directly on the store, without
// a server. A running server picks the changes up within its refresh interval. `vigil import
// --retroactive-days N` also searches the new entries against the uploads of those days, as the
// service does for imports through its API (workflow/retro_matcher.h).
#include <algorithm>
#include <boost/json.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/retro_context.h"
#include "cli/store_options.h"
#include "match/past_upload_index.h"
#include "store/record_json.h"
#include "vigil/clock.h"
#include "vigil/file_hasher.h"
#include "vigil/hash_list.h"
#include "vigil/matcher.h"
#include "vigil/policy.h"
#include "workflow/decision_workflow.h"
#include "workflow/retro_matcher.h"
#include "workflow/upload_workflow.h"

namespace vigil::cli {
namespace {

struct BankArgs {
  StoreFlags store;
  std::string name, description, format = "csv", file, signal_type = "pdq", source, checkpoint;
  std::string external_id, classification;
  std::vector<std::string> labels;
  int max_distance = -1, min_quality = -1;
  std::string enabled;  // "true" / "false" / ""
  std::string match_dihedral, match_trimmed;  // likewise
  bool include_removed = false;
  bool negative = false;     // create: an allow-list of known false positives
  int retroactive_days = 0;  // import: search the new entries against this many days of uploads
  std::string rules;         // import: the rules that decide about late matches
  std::int64_t case_id = 0;  // sweep: the case decided violating
  std::string own_bank = "platform";
  int sweep_distance = -1;
};


Result<RetroMatchResult> MatchRetroactively(Store& store, const BankArgs& a, const std::vector<IndexedEntry>& added) {
  VIGIL_ASSIGN_OR_RETURN(auto bank, store.GetBank(a.name));
  VIGIL_ASSIGN_OR_RETURN(auto context, LoadRetro(store, a.retroactive_days, a.rules, "retroactive"));
  return context->retro.MatchNewEntries(bank, added);
}

// A sweep run by hand (one that failed in the service, or after the window or rules changed):
// what `vigil serve` does after a violating decision (workflow/decision_workflow.h).
int RunSweep(Store& store, const BankArgs& a) {
  auto c = store.Cases().GetCase(a.case_id);
  if (!c) return ReportError("bank sweep", c.error());
  // Only a case decided violating, with a file not restored on appeal, has anything to sweep for:
  // say so rather than print a sweep that found nothing.
  const Decision* last = nullptr;
  for (const auto& d : c->decisions) {
    if (d.verdict != Verdict::kEscalate) last = &d;
  }
  const bool restored = std::all_of(c->items.begin(), c->items.end(), [](const auto& i) { return i.state == "restored"; });
  if (c->status != CaseStatus::kDecided || last == nullptr || last->verdict != Verdict::kViolating || restored) {
    return ReportError("bank sweep", Error{ErrorCode::kInvalidArgument,
                                           "case " + std::to_string(a.case_id) +
                                               (restored && last != nullptr && last->verdict == Verdict::kViolating
                                                    ? " was overturned on appeal: its files are restored, nothing to sweep for"
                                                    : " is not decided violating: only a violating decision sweeps")});
  }
  auto context = LoadRetro(store, a.retroactive_days, a.rules, "sweep");
  if (!context) return ReportError("bank sweep", context.error());
  DecisionWorkflowOptions decision_options;
  decision_options.own_bank = a.own_bank;
  decision_options.sweeper = &(*context)->retro;
  decision_options.sweep.pdq_max_distance = a.sweep_distance;
  DecisionWorkflow decisions(store, decision_options);
  auto swept = decisions.Sweep(*c, OperatorActor());
  if (!swept) return ReportError("bank sweep", swept.error());
  PrintJson(SweepJson(*swept));
  return swept->failed == 0 ? 0 : 1;
}

int RunImport(Store& store, const BankArgs& a) {
  ListParseOptions options;
  options.source = a.source.empty() ? a.file : a.source;
  options.signal_type = a.signal_type;
  options.external_id = a.external_id;
  options.classification = a.classification;
  // Refused before reading when over the limit; read op by op from this one buffer while the
  // import runs (the line formats), so the parsed list is never held whole.
  auto bytes = ReadFileLimited(a.file, options.max_bytes);
  if (!bytes) return ReportError("import", bytes.error());
  const std::string_view data(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  ImportRequest request;
  request.format = a.format;
  request.source = options.source;
  request.actor = OperatorActor();
  auto reader = OpenHashList(a.format, data, options);
  if (!reader) {
    (void)store.LogRejectedImport(a.name, request, reader.error().message);
    return ReportError("import", reader.error());
  }
  HashListReader& list = **reader;
  request.more_ops = [&list](ImportOp& op) { return list.Next(op); };
  request.checkpoint = a.checkpoint.empty() ? list.checkpoint() : std::optional<std::string>(a.checkpoint);
  auto result = store.Import(a.name, std::move(request));
  if (!result) return ReportError("import", result.error());
  boost::json::object out{{"bank", a.name},
                          {"import_id", result->import_id},
                          {"added", result->added},
                          {"removed", result->removed},
                          {"relabelled", result->relabelled},
                          {"unchanged", result->unchanged},
                          {"overridden", result->overridden},
                          {"skipped", list.skipped()}};
  if (a.retroactive_days > 0) {
    // The new entries against the uploads of the window, as `vigil serve` does for API imports.
    auto retro = MatchRetroactively(store, a, result->added_entries);
    if (!retro) return ReportError("import", retro.error());
    out["retroactive"] = RetroMatchJson(*retro);
  }
  PrintJson(out);
  return 0;
}

}  // namespace

Action RegisterBankCommand(CLI::App& app) {
  auto a = std::make_shared<BankArgs>();
  CLI::App* bank = app.add_subcommand("bank", "Create, list, show, update, delete and export banks");
  bank->require_subcommand(1);
  bank->fallthrough();  // store flags may follow the subcommand
  AddStoreFlags(*bank, a->store);
  auto add_threshold_flags = [&](CLI::App* cmd) {
    cmd->add_option("--description", a->description, "What the bank holds");
    cmd->add_option("--label", a->labels, "A label (repeatable)");
    cmd->add_option("--pdq-max-distance", a->max_distance, "PDQ match threshold (default 31)")->check(CLI::Range(0, 63));
    cmd->add_option("--pdq-min-quality", a->min_quality, "Minimum query PDQ quality (default 50)")->check(CLI::Range(0, 100));
    cmd->add_option("--match-dihedral", a->match_dihedral,
                    "true: also match uploads' 8 rotations/flips (docs/evaluation.md)")
        ->check(CLI::IsMember({"true", "false"}));
    cmd->add_option("--match-trimmed", a->match_trimmed,
                    "true: also match uploads' content inside detected borders (docs/evaluation.md)")
        ->check(CLI::IsMember({"true", "false"}));
  };
  CLI::App* create = bank->add_subcommand("create", "Create a bank");
  create->add_option("name", a->name, "Bank name: a-z, 0-9, '-', '_'")->required();
  create->add_flag("--negative", a->negative,
                   "An allow-list of known false positives: uploads matching it have their other matches suppressed");
  add_threshold_flags(create);
  CLI::App* list = bank->add_subcommand("list", "List banks as JSON lines");
  CLI::App* show = bank->add_subcommand("show", "Show one bank as JSON");
  show->add_option("name", a->name, "Bank name")->required();
  CLI::App* update = bank->add_subcommand("update", "Change a bank's settings");
  update->add_option("name", a->name, "Bank name")->required();
  add_threshold_flags(update);
  update->add_option("--enabled", a->enabled, "true or false")->check(CLI::IsMember({"true", "false"}));
  CLI::App* remove = bank->add_subcommand("delete", "Delete a bank (soft: it stops matching, rows stay for audit)");
  remove->add_option("name", a->name, "Bank name")->required();
  CLI::App* entries = bank->add_subcommand("entries", "Print a bank's entries as JSON lines");
  entries->add_option("name", a->name, "Bank name")->required();
  entries->add_flag("--include-removed", a->include_removed, "Include tombstoned entries");
  CLI::App* exporter = bank->add_subcommand("export", "Write a bank's live entries as plain CSV on stdout");
  exporter->add_option("name", a->name, "Bank name")->required();
  CLI::App* imports = bank->add_subcommand("imports", "Print a bank's import log as JSON lines");
  imports->add_option("name", a->name, "Bank name")->required();
  CLI::App* quarantine = bank->add_subcommand(
      "quarantine", "List the list entries in flood quarantine as JSON lines, or release one (--release ENTRY_ID)");
  std::shared_ptr<std::int64_t> release = std::make_shared<std::int64_t>(0);
  quarantine->add_option("--release", *release, "Let this entry act again (a curator found it sound); audited");
  CLI::App* rematch = bank->add_subcommand(
      "rematch", "Search every live entry of the bank against the uploads of the window again (retroactive matching)");
  rematch->footer("Uploads already holding a match of an entry are left as they are: this records only what an\n"
                  "interrupted or failed run left out. Prints the same `retroactive` object as an import.");
  rematch->add_option("name", a->name, "Bank name")->required();
  rematch->add_option("--retroactive-days", a->retroactive_days, "The window: uploads of this many days")
      ->required()
      ->check(CLI::Range(1, 36'500));
  rematch->add_option("--rules", a->rules, "The rules that decide about late matches")->check(CLI::ExistingFile);
  CLI::App* sweep = bank->add_subcommand(
      "sweep", "Sweep the uploads of the window for copies of a case's files, as a violating decision does");
  sweep->footer("For a case decided violating: its files' entries in the own bank (<own-bank>-<category>) are\n"
                "searched against past uploads and each copy is recorded, blocked or held per the rules and put\n"
                "in a case of its account's, never an account action or a report. Copies recorded before, and\n"
                "uploads a person has decided, are left as they are. Prints the sweep's figures as JSON.");
  sweep->add_option("case_id", a->case_id, "The case decided violating")->required()->check(CLI::PositiveNumber);
  sweep->add_option("--retroactive-days", a->retroactive_days, "The window: uploads of this many days")
      ->required()
      ->check(CLI::Range(1, 36'500));
  sweep->add_option("--rules", a->rules, "The rules that decide for the copies (found = \"sweep\")")->check(CLI::ExistingFile);
  sweep->add_option("--own-bank", a->own_bank, "The own banks' name ([workflow] own_bank)")->capture_default_str();
  sweep->add_option("--pdq-max-distance", a->sweep_distance,
                    "PDQ copies within this distance, 0-63 as for banks (-1: the own bank's)")
      ->capture_default_str()
      ->check(CLI::Range(-1, 63));

  CLI::App* import = app.add_subcommand("import", "Import a hash list into a bank (one transaction)");
  import->add_option("bank", a->name, "Bank name")->required();
  import->add_option("file", a->file, "The list file")->required()->check(CLI::ExistingFile);
  import->add_option("--format", a->format, "csv, text, hma, ncmec, stopncii or vpdq (one video's vPDQ output)")
      ->capture_default_str()
      ->check(CLI::IsMember({"csv", "text", "hma", "ncmec", "stopncii", "vpdq"}));
  import->add_option("--external-id", a->external_id, "For --format vpdq: the entry's external id");
  import->add_option("--classification", a->classification, "For --format vpdq: the entry's classification");
  import->add_option("--signal-type", a->signal_type, "Signal type of a 'text' list (a plug-in's type with --hash-plugins)")->capture_default_str();
  import->add_option("--source", a->source, "Provenance: the list's name (default: the file name)");
  import->add_option("--checkpoint", a->checkpoint, "Sync checkpoint to store with the bank");
  import->add_option("--retroactive-days", a->retroactive_days,
                     "Also search the new entries against the uploads of this many days (retroactive matching)")
      ->check(CLI::Range(1, 36'500));
  import->add_option("--rules", a->rules, "With --retroactive-days: the rules that decide about late matches")
      ->check(CLI::ExistingFile);
  AddStoreFlags(*import, a->store);

  return [=]() -> int {
    if (!bank->parsed() && !import->parsed()) return -1;
    auto store = OpenStoreOrReport(a->store, import->parsed() ? "import" : "bank");
    if (!store) return 1;
    if (import->parsed()) return RunImport(*store, *a);
    if (sweep->parsed()) return RunSweep(*store, *a);
    if (quarantine->parsed()) {
      if (quarantine->get_option("--release")->count() > 0) {
        if (*release <= 0) {
          return ReportError("bank quarantine", Error{ErrorCode::kInvalidArgument,
                                                      "--release takes an entry id (`vigil bank quarantine` lists them)"});
        }
        if (auto released = store->Cases().ReleaseQuarantine(*release, OperatorActor()); !released) {
          return ReportError("bank quarantine", released.error());
        }
        PrintJson(boost::json::object{{"entry_id", *release}, {"released", true}});
        return 0;
      }
      auto listed = store->Cases().ListQuarantine();
      if (!listed) return ReportError("bank quarantine", listed.error());
      for (const auto& q : *listed) {
        PrintJson(boost::json::object{{"entry_id", q.entry_id}, {"bank", q.bank}, {"signal_type", q.signal_type},
                                      {"value", q.value}, {"since_us", q.since}, {"distinct_users", q.distinct_users}});
      }
      return 0;
    }
    if (rematch->parsed()) {
      std::vector<IndexedEntry> live;
      for (std::int64_t after = 0;;) {
        auto page = store->ListEntries(a->name, after, 10'000, false);
        if (!page) return ReportError("bank rematch", page.error());
        if (page->empty()) break;
        for (const auto& e : *page) live.push_back({e.id, e.bank_id, e.signal_type, e.value, e.payload});
        after = page->back().id;
      }
      auto retro = MatchRetroactively(*store, *a, live);
      if (!retro) return ReportError("bank rematch", retro.error());
      auto out = RetroMatchJson(*retro);
      out["bank"] = a->name;
      PrintJson(out);
      return retro->failed == 0 ? 0 : 1;
    }
    BankUpdate changes;
    if (!a->description.empty()) changes.description = a->description;
    if (!a->labels.empty()) changes.labels = a->labels;
    if (a->max_distance >= 0) changes.pdq_max_distance = a->max_distance;
    if (a->min_quality >= 0) changes.pdq_min_quality = a->min_quality;
    if (!a->enabled.empty()) changes.enabled = a->enabled == "true";
    if (!a->match_dihedral.empty()) changes.match_dihedral = a->match_dihedral == "true";
    if (!a->match_trimmed.empty()) changes.match_trimmed = a->match_trimmed == "true";
    if (create->parsed()) {
      Bank b;
      b.name = a->name;
      b.description = a->description;
      b.labels = a->labels;
      if (a->max_distance >= 0) b.pdq_max_distance = a->max_distance;
      if (a->min_quality >= 0) b.pdq_min_quality = a->min_quality;
      b.match_dihedral = a->match_dihedral == "true";
      b.match_trimmed = a->match_trimmed == "true";
      b.negative = a->negative;
      auto created = store->CreateBank(b, OperatorActor());
      if (!created) return ReportError("bank create", created.error());
      PrintJson(BankJson(*created));
    } else if (list->parsed()) {
      auto banks = store->ListBanks();
      if (!banks) return ReportError("bank list", banks.error());
      for (const auto& b : *banks) PrintJson(BankJson(b));
    } else if (show->parsed()) {
      auto b = store->GetBank(a->name);
      if (!b) return ReportError("bank show", b.error());
      PrintJson(BankJson(*b));
    } else if (update->parsed()) {
      auto b = store->UpdateBank(a->name, changes, OperatorActor());
      if (!b) return ReportError("bank update", b.error());
      PrintJson(BankJson(*b));
    } else if (remove->parsed()) {
      if (auto deleted = store->DeleteBank(a->name, OperatorActor()); !deleted) return ReportError("bank delete", deleted.error());
    } else if (imports->parsed()) {
      auto log = store->ListImports(a->name);
      if (!log) return ReportError("bank imports", log.error());
      for (const auto& r : *log) {
        PrintJson(boost::json::object{{"id", r.id}, {"format", r.format}, {"source", r.source}, {"status", r.status},
                                      {"error", r.error}, {"added", r.added}, {"removed", r.removed},
                                      {"unchanged", r.unchanged}, {"actor", r.actor}});
      }
    } else {
      std::int64_t after = 0;
      bool header = true;
      for (;;) {
        auto page = store->ListEntries(a->name, after, 10000, entries->parsed() && a->include_removed);
        if (!page) return ReportError(entries->parsed() ? "bank entries" : "bank export", page.error());
        if (entries->parsed()) {
          for (const auto& e : *page) PrintJson(EntryJson(e));
        } else {
          WriteEntriesCsv(*page, header, std::cout);
        }
        header = false;
        if (page->size() < 10000) break;
        after = page->back().id;
      }
    }
    return 0;
  };
}

}  // namespace vigil::cli

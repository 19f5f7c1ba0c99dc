// `vigil exchange ...`: banks kept in sync with NCMEC hash sharing, StopNCII, ThreatExchange or a
// plain list (docs/exchanges.md), directly on the store: configure them, sync one now, send review
// decisions back, and read their status and feedback. `vigil serve` syncs enabled exchanges on
// their interval; a sync by hand takes the same lease, so it never overlaps the service's.
// Results are JSON lines on stdout; progress goes to stderr.
#include <unistd.h>

#include <boost/json.hpp>
#include <iostream>

#include "cli/commands.h"
#include "cli/retro_context.h"
#include "cli/store_options.h"
#include "exchange/exchange_json.h"
#include "exchange/exchange_sync.h"
#include "vigil/clock.h"
#include "vigil/exchange.h"

namespace vigil::cli {
namespace {

struct ExchangeArgs {
  StoreFlags store;
  std::string name, kind, bank, settings, credentials, feedback_switch;
  std::int64_t interval = 300;
  bool feedback = false, disabled = false, list_items = false, quiet = false;
  std::int64_t entry = 0;
  int retroactive_days = 0;
  std::string rules;
};

std::string Actor() { return OperatorActor(); }

// This process, as a lease holder: host and pid.
std::string Holder() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string("cli@") + host + ":" + std::to_string(::getpid());
}


Result<std::unique_ptr<exchange::ExchangeClient>> ClientFor(Store& store, const std::string& name) {
  VIGIL_ASSIGN_OR_RETURN(auto x, store.Exchanges().GetExchange(name));
  exchange::ClientOptions options;
  options.list_roots = {"/"};  // the operator on the host may name any file
  return exchange::MakeExchangeClient(x, options);
}

}  // namespace

Action RegisterExchangeCommand(CLI::App& app) {
  auto args = std::make_shared<ExchangeArgs>();
  CLI::App* cmd = app.add_subcommand("exchange", "Banks kept in sync with NCMEC, StopNCII, ThreatExchange or a list URL");
  cmd->require_subcommand(1);
  cmd->fallthrough();
  AddStoreFlags(*cmd, args->store);
  CLI::App* add = cmd->add_subcommand("add", "Bind a bank to a hash-sharing service (docs/exchanges.md has each kind's settings)");
  add->add_option("name", args->name, "The exchange's name: 1-64 of a-z, 0-9, - and _")->required();
  add->add_option("--kind", args->kind, "ncmec, stopncii, threatexchange or url")
      ->required()
      ->check(CLI::IsMember({"ncmec", "stopncii", "threatexchange", "url"}));
  add->add_option("--bank", args->bank, "The bank it keeps in sync (one exchange per bank)")->required();
  add->add_option("--settings", args->settings, "A JSON object: environment or base_url, filters, list url and format");
  add->add_option("--credentials", args->credentials, "Where the secret is: env:VARIABLE or file:/path (never the secret)");
  add->add_option("--interval", args->interval, "Seconds between the service's syncs (60 to 604800)")->capture_default_str();
  add->add_flag("--feedback", args->feedback, "Send review decisions on its entries back to the service");
  add->add_flag("--disabled", args->disabled, "Add it switched off (the service does not sync it)");
  CLI::App* list = cmd->add_subcommand("list", "List exchanges with their status as JSON lines");
  CLI::App* show = cmd->add_subcommand("show", "One exchange and its status, as JSON");
  show->add_option("name", args->name, "The exchange")->required();
  CLI::App* set = cmd->add_subcommand("set", "Change an exchange's settings, credentials, interval or feedback");
  set->add_option("name", args->name, "The exchange")->required();
  set->add_option("--settings", args->settings, "A JSON object replacing its settings");
  set->add_option("--credentials", args->credentials, "env:VARIABLE or file:/path");
  set->add_option("--interval", args->interval, "Seconds between syncs (60 to 604800)");
  set->add_option("--feedback", args->feedback_switch, "on or off")->check(CLI::IsMember({"on", "off"}));
  CLI::App* enable = cmd->add_subcommand("enable", "Let the service sync it on its interval");
  enable->add_option("name", args->name, "The exchange")->required();
  CLI::App* disable = cmd->add_subcommand("disable", "Stop the service syncing it (the bank stays as it is)");
  disable->add_option("name", args->name, "The exchange")->required();
  CLI::App* remove = cmd->add_subcommand("remove", "Forget an exchange (its bank, entries and checkpoint stay)");
  remove->add_option("name", args->name, "The exchange")->required();
  CLI::App* reset = cmd->add_subcommand("reset", "Forget the bank's checkpoint: the next sync starts from the beginning");
  reset->add_option("name", args->name, "The exchange")->required();
  CLI::App* unlock = cmd->add_subcommand("unlock", "Free an exchange's lease (left by a process killed mid-sync)");
  unlock->add_option("name", args->name, "The exchange")->required();
  CLI::App* sync = cmd->add_subcommand("sync", "Sync one exchange now, from the bank's checkpoint");
  sync->add_option("name", args->name, "The exchange")->required();
  sync->add_option("--retroactive-days", args->retroactive_days,
                   "Search the entries it adds against this many days of past uploads (0: not)")
      ->check(CLI::Range(0, 3650));
  sync->add_option("--rules", args->rules, "The rules that decide about uploads found")->check(CLI::ExistingFile);
  sync->add_flag("-q,--quiet", args->quiet, "No progress on stderr");
  CLI::App* feedback = cmd->add_subcommand("feedback", "Send queued review decisions to the service, or --list them");
  feedback->add_option("name", args->name, "The exchange")->required();
  feedback->add_flag("--list", args->list_items, "List feedback items (newest first) instead of sending");
  feedback->add_option("--entry", args->entry, "With --list: only this entry's");
  return [=]() -> int {
    if (!cmd->parsed()) return -1;
    auto store = OpenStoreOrReport(args->store, "exchange");
    if (!store) return 1;
    auto& exchanges = store->Exchanges();
    const auto now = SystemClock().NowMicros();
    auto print_one = [&](const char* what, const Result<Exchange>& x) {
      if (!x) return ReportError(what, x.error());
      PrintJson(exchange::ExchangeJson(*x, now));
      return 0;
    };
    if (add->parsed()) {
      Exchange x;
      x.name = args->name;
      x.kind = args->kind;
      x.bank = args->bank;
      x.enabled = !args->disabled;
      x.interval_seconds = args->interval;
      x.feedback = args->feedback;
      x.settings = args->settings.empty() ? "{}" : args->settings;
      x.credentials = args->credentials;
      if (auto checked = exchange::CheckExchangeSettings(x); !checked) return ReportError("exchange add", checked.error());
      return print_one("exchange add", exchanges.CreateExchange(x, Actor()));
    }
    if (list->parsed()) {
      auto all = exchanges.ListExchanges();
      if (!all) return ReportError("exchange list", all.error());
      for (const auto& x : *all) PrintJson(exchange::ExchangeJson(x, now));
      return 0;
    }
    if (show->parsed()) return print_one("exchange show", exchanges.GetExchange(args->name));
    if (set->parsed() || enable->parsed() || disable->parsed()) {
      ExchangeUpdate u;
      if (enable->parsed()) u.enabled = true;
      if (disable->parsed()) u.enabled = false;
      if (set->parsed()) {
        if (set->count("--settings") > 0) u.settings = args->settings;
        if (set->count("--credentials") > 0) u.credentials = args->credentials;
        if (set->count("--interval") > 0) u.interval_seconds = args->interval;
        if (!args->feedback_switch.empty()) u.feedback = args->feedback_switch == "on";
        if (u.settings) {
          auto before = exchanges.GetExchange(args->name);
          if (!before) return ReportError("exchange set", before.error());
          before->settings = *u.settings;
          if (auto checked = exchange::CheckExchangeSettings(*before); !checked) return ReportError("exchange set", checked.error());
        }
      }
      return print_one("exchange set", exchanges.UpdateExchange(args->name, u, Actor()));
    }
    if (remove->parsed()) {
      if (auto removed = exchanges.DeleteExchange(args->name, Actor()); !removed) return ReportError("exchange remove", removed.error());
      return 0;
    }
    if (unlock->parsed()) {
      if (auto done = exchanges.BreakLease(args->name, Actor()); !done) return ReportError("exchange unlock", done.error());
      return 0;
    }
    if (reset->parsed()) {
      if (auto done = exchanges.ResetCheckpoint(args->name, Actor()); !done) return ReportError("exchange reset", done.error());
      return 0;
    }
    if (feedback->parsed() && args->list_items) {
      if (auto x = exchanges.GetExchange(args->name); !x) return ReportError("exchange feedback", x.error());
      auto items = exchanges.ListFeedback(args->name, args->entry, 1000);
      if (!items) return ReportError("exchange feedback", items.error());
      for (const auto& item : *items) PrintJson(exchange::FeedbackJson(item));
      return 0;
    }
    auto client = ClientFor(*store, args->name);
    if (!client) return ReportError(sync->parsed() ? "exchange sync" : "exchange feedback", client.error());
    if (feedback->parsed()) {
      exchange::FeedbackOptions options;
      options.holder = Holder();
      auto sent = exchange::SendExchangeFeedback(*store, args->name, **client, options);
      if (!sent) return ReportError("exchange feedback", sent.error());
      PrintJson(exchange::FeedbackOutcomeJson(*sent));
      return 0;
    }
    // sync
    std::unique_ptr<RetroContext> retro;
    if (args->retroactive_days > 0) {
      auto context = LoadRetro(*store, args->retroactive_days, args->rules, "retroactive");
      if (!context) return ReportError("exchange sync", context.error());
      retro = std::move(*context);
    }
    exchange::SyncOptions options;
    options.holder = Holder();
    std::int64_t pages = 0, added = 0, late_matches = 0;
    options.on_import = [&](const std::string& bank, const ImportResult& result) {
      ++pages;
      added += result.added;
      if (!args->quiet) {
        std::cerr << "\rvigil exchange sync: " << args->name << ": page " << pages << ", " << added << " added" << std::flush;
      }
      if (retro && !result.added_entries.empty()) {
        auto target = store->GetBank(bank);
        auto found = target ? retro->retro.MatchNewEntries(*target, result.added_entries)
                            : Result<RetroMatchResult>(tl::unexpected(target.error()));
        if (found) late_matches += found->matches_recorded;
        else std::cerr << "\nvigil exchange sync: retroactive matching failed: " << found.error().message << "\n";
      }
    };
    auto outcome = exchange::SyncExchange(*store, args->name, **client, options);
    if (!args->quiet && pages > 0) std::cerr << "\n";
    if (!outcome) return ReportError("exchange sync", outcome.error());
    auto o = exchange::SyncOutcomeJson(*outcome);
    if (retro) o["late_matches"] = late_matches;
    PrintJson(o);
    return 0;
  };
}

}  // namespace vigil::cli

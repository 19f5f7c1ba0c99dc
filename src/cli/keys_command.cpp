// `vigil keys create|list|rotate|revoke`: API keys, directly on the store. `create` prints the new key
// alone on stdout (it is shown once; only its SHA-256 is stored). Run on the host, with direct
// access to the database, it may mint custodian, legal and admin keys without a second admin (the
// API may not): host access is that second factor, and the audit log names the OS user.
#include <boost/json.hpp>
#include <cstdlib>
#include <iostream>

#include "cli/commands.h"
#include "cli/store_options.h"
#include "util/iso_time.h"
#include "vigil/clock.h"

namespace vigil::cli {
namespace {

struct KeysArgs {
  StoreFlags store;
  std::string name, role;
  int expires_days = 0;
  int overlap_hours = 24;
};

}  // namespace

Action RegisterKeysCommand(CLI::App& app) {
  auto args = std::make_shared<KeysArgs>();
  CLI::App* keys = app.add_subcommand("keys", "Create, list, rotate and revoke API keys");
  keys->require_subcommand(1);
  keys->fallthrough();  // --data-dir may follow the subcommand: `vigil keys create --data-dir D`
  AddStoreFlags(*keys, args->store);
  CLI::App* create = keys->add_subcommand("create", "Create a key and print it (once) on stdout");
  create->add_option("--name", args->name,
                     "A name for the key (who or what uses it): 1-64 of a-z, 0-9, '.', '_', '-', '@'; never reused")
      ->required();
  create->add_option("--role", args->role, "submitter, reviewer, bank-admin, auditor, admin, legal (reports, legal process) or custodian (evidence); several, comma-separated, for one person who holds them (\"reviewer,legal\")")
      ->required()
      ->check(CLI::Validator(
          [](std::string& roles) {
            auto canonical = CanonicalRoles(roles);
            return canonical ? std::string() : canonical.error().message;
          },
          "ROLE[,ROLE...]"));
  create->add_option("--expires-days", args->expires_days, "It stops authenticating after this many days (default: never)")
      ->check(CLI::Range(1, 3650));
  CLI::App* list = keys->add_subcommand("list", "List keys (never their secrets) as JSON lines");
  CLI::App* rotate = keys->add_subcommand(
      "rotate", "A new secret for a live key, printed once; the previous one works for --overlap-hours more");
  rotate->add_option("--name", args->name, "The key's name")->required();
  rotate->add_option("--overlap-hours", args->overlap_hours, "How long the previous secret keeps working (0-720; 24)")
      ->check(CLI::Range(0, 720));
  CLI::App* revoke = keys->add_subcommand("revoke", "Revoke the live key with this name");
  revoke->add_option("--name", args->name, "The key's name")->required();
  return [=]() -> int {
    if (!keys->parsed()) return -1;
    auto store = OpenStoreOrReport(args->store, "keys");
    if (!store) return 1;
    if (create->parsed()) {
      auto key = store->CreateApiKeyOnHost(args->name, args->role, OsUser());
      if (!key) return ReportError("keys create", key.error());
      if (args->expires_days > 0) {
        const std::int64_t at = SystemClock().NowMicros() + std::int64_t{args->expires_days} * 86'400'000'000;
        if (auto set = store->SetApiKeyExpiry(key->record.name, at, OperatorActor()); !set) {
          return ReportError("keys create", set.error());
        }
      }
      if (HoldsSensitiveRole(key->record.role)) {
        std::cerr << "keys create: " << key->record.role << " key '" << key->record.name
                  << "' minted on the host without a second admin; the audit log records it as " << key->record.created_by
                  << "\n";
      }
      std::cout << key->secret << std::endl;
      return 0;
    }
    if (list->parsed()) {
      auto all = store->ListApiKeys();
      if (!all) return ReportError("keys list", all.error());
      for (const auto& key : *all) {
        boost::json::object o{{"name", key.name},         {"role", key.role},
                              {"prefix", key.prefix},     {"status", key.status},
                              {"created_by", key.created_by}, {"approved_by", key.approved_by},
                              {"revoked", key.revoked_at.has_value()}};
        o["expires_at"] = key.expires_at ? boost::json::value(IsoTime(*key.expires_at)) : nullptr;
        o["previous_until"] = key.previous_until ? boost::json::value(IsoTime(*key.previous_until)) : nullptr;
        std::cout << boost::json::serialize(o) << "\n";
      }
      return 0;
    }
    if (rotate->parsed()) {
      auto key = store->RotateApiKey(args->name, std::int64_t{args->overlap_hours} * 3600, OperatorActor());
      if (!key) return ReportError("keys rotate", key.error());
      std::cerr << "keys rotate: new secret for '" << key->record.name << "'; the previous one works "
                << (key->record.previous_until ? "until " + IsoTime(*key->record.previous_until) : std::string("no longer"))
                << "\n";
      std::cout << key->secret << std::endl;
      return 0;
    }
    if (auto revoked = store->RevokeApiKey(args->name, OperatorActor()); !revoked) return ReportError("keys revoke", revoked.error());
    return 0;
  };
}

}  // namespace vigil::cli

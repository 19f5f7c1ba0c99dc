// `vigil partner ...` and `vigil bundle ...`: signed hash sharing with partner platforms, directly
// on the store (workflow/bundle_sharing.h). A partner is another platform, the Ed25519 key its
// bundles must be signed with, the bank they go into and whether they match at once ("live") or
// wait for a curator ("review"). Results are JSON lines on stdout.
#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <fstream>
#include <iostream>
#include <string_view>

#include "cli/commands.h"
#include "cli/retro_context.h"
#include "cli/store_options.h"
#include "lists/hash_bundle.h"
#include "vigil/file_hasher.h"
#include "vigil/legal_package.h"
#include "vigil/sharing.h"
#include "workflow/bundle_sharing.h"

namespace vigil::cli {
namespace {

struct SharingArgs {
  StoreFlags store;
  std::string name, key, bank, trust = "review", sharer, key_file, out, file;
  bool changes = false;
  std::int64_t id = 0;
  int retroactive_days = 0;  // import/approve: search the entries added against this many days of uploads
  std::string rules;         // and the rules that decide about what they find
};

std::string Actor() { return OperatorActor(); }

// A file's bytes (ReadFileLimited: regular files within the limit only), its path in errors.
Result<std::vector<std::uint8_t>> ReadFile(const std::string& path, std::size_t max) {
  auto bytes = ReadFileLimited(path, max);
  if (!bytes) return tl::unexpected(WithContext(bytes.error(), path));
  return bytes;
}

std::string_view Text(const std::vector<std::uint8_t>& bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

boost::json::object PartnerJson(const Partner& p) {
  return {{"name", p.name}, {"public_key", p.public_key}, {"bank", p.bank}, {"trust", p.trust},
          {"created_by", p.created_by}, {"removed", p.removed_at.has_value()}};
}

boost::json::object ReceivedJson(const ReceivedBundle& b) {
  boost::json::object o{{"id", b.id},           {"partner", b.partner},   {"sharer", b.sharer},
                        {"bank", b.sharer_bank}, {"sequence", b.sequence}, {"kind", b.kind},
                        {"status", b.status},   {"entries", b.entries},   {"removals", b.removals},
                        {"sha256", b.sha256}};
  if (b.import_id) o["import_id"] = *b.import_id;
  return o;
}


int PrintReceipt(Store& store, const SharingArgs& a, const char* command, const Result<BundleReceipt>& receipt) {
  if (!receipt) return ReportError(command, receipt.error());
  auto o = ReceivedJson(receipt->record);
  // What the entries a bundle added find among past uploads, as for any import.
  if (receipt->import && a.retroactive_days > 0 && !receipt->import->added_entries.empty()) {
    auto partner = store.Sharing().PartnerByKey(receipt->record.signer);
    if (!partner) return ReportError(command, partner.error());
    auto target = store.GetBank(partner->bank);
    if (!target) return ReportError(command, target.error());
    auto context = LoadRetro(store, a.retroactive_days, a.rules, "retroactive");
    if (!context) return ReportError(command, context.error());
    auto retro = (*context)->retro.MatchNewEntries(*target, receipt->import->added_entries);
    if (!retro) return ReportError(command, retro.error());
    o["retroactive"] = RetroMatchJson(*retro);
  }
  if (receipt->import) {
    o["added"] = receipt->import->added;
    o["removed"] = receipt->import->removed;
    o["unchanged"] = receipt->import->unchanged + receipt->import->relabelled;
  }
  if (receipt->skipped_removals > 0) o["removals_left_alone"] = receipt->skipped_removals;
  if (receipt->skipped_adds > 0) o["adds_left_alone"] = receipt->skipped_adds;
  PrintJson(o);
  return 0;
}

}  // namespace

Action RegisterPartnerCommand(CLI::App& app) {
  auto args = std::make_shared<SharingArgs>();
  CLI::App* partner = app.add_subcommand("partner", "Partner platforms whose signed hash bundles this platform accepts");
  partner->require_subcommand(1);
  partner->fallthrough();
  AddStoreFlags(*partner, args->store);
  CLI::App* add = partner->add_subcommand("add", "Trust a partner's Ed25519 key for bundles into one bank");
  add->add_option("name", args->name, "This platform's name for the partner: 1-64 of a-z, 0-9, - and _")->required();
  add->add_option("--key", args->key, "The partner's public key (64 hex digits; they print it with `vigil bundle keygen`)")->required();
  add->add_option("--bank", args->bank, "The bank its bundles are imported into")->required();
  add->add_option("--trust", args->trust, "live: entries match at once; review: each bundle waits for `vigil bundle approve`")
      ->check(CLI::IsMember({"live", "review"}))
      ->capture_default_str();
  CLI::App* list = partner->add_subcommand("list", "List partners as JSON lines");
  CLI::App* remove = partner->add_subcommand("remove", "Stop accepting a partner's bundles (what it sent stays)");
  remove->add_option("name", args->name, "The partner")->required();
  return [=]() -> int {
    if (!partner->parsed()) return -1;
    auto store = OpenStoreOrReport(args->store, "partner");
    if (!store) return 1;
    if (add->parsed()) {
      Partner p;
      p.name = args->name;
      p.public_key = args->key;
      p.bank = args->bank;
      p.trust = args->trust;
      auto added = store->Sharing().AddPartner(p, Actor());
      if (!added) return ReportError("partner add", added.error());
      PrintJson(PartnerJson(*added));
      return 0;
    }
    if (list->parsed()) {
      auto all = store->Sharing().ListPartners(true);
      if (!all) return ReportError("partner list", all.error());
      for (const auto& p : *all) PrintJson(PartnerJson(p));
      return 0;
    }
    if (auto removed = store->Sharing().RemovePartner(args->name, Actor()); !removed) {
      return ReportError("partner remove", removed.error());
    }
    return 0;
  };
}

Action RegisterBundleCommand(CLI::App& app) {
  auto args = std::make_shared<SharingArgs>();
  CLI::App* bundle = app.add_subcommand("bundle", "Export a bank as a signed bundle; receive, list and decide partners' bundles");
  bundle->require_subcommand(1);
  bundle->fallthrough();
  AddStoreFlags(*bundle, args->store);
  CLI::App* keygen = bundle->add_subcommand("keygen", "Make this platform's signing key (a file, mode 0600) and print its public key");
  keygen->add_option("-o,--out", args->out, "Where to write the key (refused if it exists)")->required();
  CLI::App* exp = bundle->add_subcommand("export", "Write a bank as a signed bundle (all of it, or --changes since the last export)");
  exp->add_option("bank", args->bank, "The bank")->required();
  exp->add_option("--as", args->sharer, "This platform's name, as partners know it")->required();
  exp->add_option("--key-file", args->key_file, "The signing key (`vigil bundle keygen`)")->required();
  exp->add_flag("--changes", args->changes, "Only what changed since this bank's last exported bundle");
  exp->add_option("-o,--out", args->out, "Where to write the bundle")->required();
  CLI::App* imp = bundle->add_subcommand("import", "Receive a partner's bundle (its signature, order and sequence checked)");
  imp->add_option("file", args->file, "The bundle")->required()->check(CLI::ExistingFile);
  CLI::App* list = bundle->add_subcommand("list", "List received bundles as JSON lines, newest first");
  list->add_option("--partner", args->name, "Only this partner's");
  CLI::App* approve = bundle->add_subcommand("approve", "Apply a held bundle (partners trusted for review)");
  approve->add_option("id", args->id, "The received bundle's id")->required();
  for (CLI::App* cmd : {imp, approve}) {
    cmd->add_option("--retroactive-days", args->retroactive_days,
                    "Search the entries it adds against this many days of past uploads (0: not)")
        ->check(CLI::Range(0, 3650));
    cmd->add_option("--rules", args->rules, "The rules that decide about uploads found (found = \"later\")")
        ->check(CLI::ExistingFile);
  }
  CLI::App* reject = bundle->add_subcommand("reject", "Reject a held bundle: nothing of it is applied");
  reject->add_option("id", args->id, "The received bundle's id")->required();
  return [=]() -> int {
    if (!bundle->parsed()) return -1;
    if (keygen->parsed()) {
      const std::string seed = NewSigningSeed();
      const int fd = ::open(args->out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0) return ReportError("bundle keygen", Error{ErrorCode::kAlreadyExists, args->out + ": cannot create (it may exist)"});
      const std::string line = seed + "\n";
      const bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
      ::close(fd);
      if (!ok) return ReportError("bundle keygen", Error{ErrorCode::kIoError, args->out + ": cannot write"});
      PrintJson(boost::json::object{{"key_file", args->out}, {"public_key", *SigningPublicKey(seed)}});
      return 0;
    }
    auto store = OpenStoreOrReport(args->store, "bundle");
    if (!store) return 1;
    const std::string actor = Actor();
    if (exp->parsed()) {
      auto key = ReadFile(args->key_file, 1024);
      if (!key) return ReportError("bundle export", key.error());
      std::string seed(Text(*key));
      while (!seed.empty() && (seed.back() == '\n' || seed.back() == '\r' || seed.back() == ' ')) seed.pop_back();
      auto exported = ExportBundle(*store, args->bank, {args->sharer, seed, args->changes, actor});
      if (!exported) return ReportError("bundle export", exported.error());
      const std::string tmp = args->out + ".tmp";
      {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << exported->document;
        if (!out.flush()) return ReportError("bundle export", Error{ErrorCode::kIoError, tmp + ": cannot write"});
      }
      if (std::rename(tmp.c_str(), args->out.c_str()) != 0) {
        return ReportError("bundle export", Error{ErrorCode::kIoError, args->out + ": cannot write"});
      }
      const auto& r = exported->record;
      PrintJson(boost::json::object{{"bank", r.bank},       {"sequence", r.sequence}, {"kind", r.kind},
                                {"entries", r.entries}, {"removals", r.removals}, {"through_import", r.through_import},
                                {"sha256", r.sha256},   {"out", args->out}});
      return 0;
    }
    if (imp->parsed()) {
      auto document = ReadFile(args->file, BundleLimits{}.max_bytes);
      if (!document) return ReportError("bundle import", document.error());
      return PrintReceipt(*store, *args, "bundle import", ReceiveBundle(*store, Text(*document), actor));
    }
    if (list->parsed()) {
      auto all = store->Sharing().ListReceived(args->name, 1000);
      if (!all) return ReportError("bundle list", all.error());
      for (const auto& b : *all) PrintJson(ReceivedJson(b));
      return 0;
    }
    if (approve->parsed()) return PrintReceipt(*store, *args, "bundle approve", ApproveBundle(*store, args->id, actor));
    if (auto rejected = RejectBundle(*store, args->id, actor); !rejected) return ReportError("bundle reject", rejected.error());
    return 0;
  };
}

}  // namespace vigil::cli

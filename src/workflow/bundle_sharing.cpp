// Signed hash sharing between platforms (see bundle_sharing.h).
#include "workflow/bundle_sharing.h"

#include <set>

#include "lists/hash_bundle.h"
#include "reporting/ed25519.h"
#include "vigil/clock.h"
#include "vigil/digest.h"
#include "vigil/signal_type.h"

namespace vigil {
namespace {

std::string SourceOf(const Partner& partner, const std::string& sharer_bank) {
  return "partner:" + partner.name + "/" + sharer_bank;
}

std::string Describe(const HashBundle& b) {
  return "bundle " + std::to_string(b.sequence) + " of bank '" + b.bank + "' from '" + b.sharer + "'";
}

// The bundle's ops for the partner's bank: its entries, and its removals of entries that came
// from this partner and bank (a full bundle: those it no longer lists).
Result<std::vector<ImportOp>> OpsFor(Store& store, const Partner& partner, const HashBundle& bundle,
                                     std::int64_t& skipped_removals, std::int64_t& skipped_adds) {
  const std::string source = SourceOf(partner, bundle.bank);
  std::vector<ImportOp> ops;
  ops.reserve(bundle.entries.size());
  // Values the bank holds live from elsewhere (a list, another partner) are left as they are: an
  // add would relabel them as this partner's, and its next full bundle could then remove them.
  std::set<std::pair<std::string, std::string>> elsewhere;
  for (std::size_t at = 0; at < bundle.entries.size(); at += 10'000) {
    std::vector<std::pair<std::string, std::string>> values;
    for (std::size_t i = at; i < std::min(bundle.entries.size(), at + 10'000); ++i) {
      values.emplace_back(bundle.entries[i].signal_type, bundle.entries[i].value);
    }
    VIGIL_ASSIGN_OR_RETURN(auto live, store.FindLiveEntries(partner.bank, values));
    std::vector<std::int64_t> ids;
    for (const auto& l : live) ids.push_back(l.id);
    VIGIL_ASSIGN_OR_RETURN(auto held, store.GetEntries(ids));
    for (const auto& entry : held) {
      if (entry.provenance.source != source) elsewhere.emplace(entry.signal_type, entry.value);
    }
  }
  std::set<std::pair<std::string, std::string>> listed;
  for (std::size_t i = 0; i < bundle.entries.size(); ++i) {
    const BundleEntry& e = bundle.entries[i];
    if (elsewhere.count({e.signal_type, e.value})) {
      ++skipped_adds;
      continue;
    }
    ImportOp op;
    op.kind = ImportOp::Kind::kAdd;
    op.signal_type = e.signal_type;
    op.value = e.value;
    op.payload = e.payload;
    op.provenance = {source, e.provenance.member.empty() ? bundle.sharer : e.provenance.member, e.provenance.external_id,
                     e.provenance.classification};
    op.line = static_cast<std::int64_t>(i + 1);
    listed.emplace(e.signal_type, e.value);
    ops.push_back(std::move(op));
  }
  std::vector<std::pair<std::string, std::string>> removals;
  if (bundle.full) {
    // This partner's entries of that bank that the bundle no longer lists.
    for (std::int64_t after = 0;;) {
      VIGIL_ASSIGN_OR_RETURN(auto page, store.ListEntries(partner.bank, after, 10'000, false));
      if (page.empty()) break;
      for (const auto& entry : page) {
        if (entry.provenance.source == source && !listed.count({entry.signal_type, entry.value})) {
          removals.emplace_back(entry.signal_type, entry.value);
        }
      }
      after = page.back().id;
    }
  } else if (!bundle.removed.empty()) {
    std::vector<std::pair<std::string, std::string>> wanted;
    for (const auto& r : bundle.removed) {
      auto normalized = NormalizeSignal(r.signal_type, r.value);
      if (!normalized) return tl::unexpected(normalized.error());
      wanted.emplace_back(r.signal_type, *normalized);
    }
    VIGIL_ASSIGN_OR_RETURN(auto live, store.FindLiveEntries(partner.bank, wanted));
    std::vector<std::int64_t> ids;
    for (const auto& l : live) ids.push_back(l.id);
    VIGIL_ASSIGN_OR_RETURN(auto entries, store.GetEntries(ids));
    for (const auto& entry : entries) {
      if (entry.provenance.source == source) removals.emplace_back(entry.signal_type, entry.value);
    }
    skipped_removals = static_cast<std::int64_t>(bundle.removed.size() - removals.size());
  }
  for (auto& [type, value] : removals) {
    ImportOp op;
    op.kind = ImportOp::Kind::kRemove;
    op.signal_type = std::move(type);
    op.value = std::move(value);
    op.provenance.source = source;
    ops.push_back(std::move(op));
  }
  return ops;
}

Result<ImportResult> Apply(Store& store, const Partner& partner, const HashBundle& bundle, const std::string& sha256,
                           const std::string& actor, BundleReceipt& receipt) {
  VIGIL_ASSIGN_OR_RETURN(auto ops, OpsFor(store, partner, bundle, receipt.skipped_removals, receipt.skipped_adds));
  ImportRequest request;
  request.format = "bundle";
  request.source = "bundle " + std::to_string(bundle.sequence) + " of " + bundle.sharer + "/" + bundle.bank +
                   " from partner " + partner.name + " sha256=" + sha256;
  request.actor = actor;
  request.ops = std::move(ops);
  return store.Import(partner.bank, std::move(request));
}

struct Opened {
  Partner partner;
  HashBundle bundle;
  std::string sha256;
};

Result<Opened> Open(Store& store, std::string_view document) {
  VIGIL_ASSIGN_OR_RETURN(auto envelope, ParseBundleEnvelope(document));
  auto partner = store.Sharing().PartnerByKey(envelope.signer);
  if (!partner) {
    if (partner.error().code != ErrorCode::kNotFound) return tl::unexpected(partner.error());
    return Fail(ErrorCode::kPermissionDenied, "bundle: signed by the key " + envelope.signer.substr(0, 16) +
                                                  "..., which no partner holds (`vigil partner add` names a partner's key)");
  }
  VIGIL_ASSIGN_OR_RETURN(bool valid, reporting::Ed25519Verify(partner->public_key, envelope.payload, envelope.signature));
  if (!valid) {
    return Fail(ErrorCode::kPermissionDenied, "bundle: the signature does not match its contents: it was changed after "
                                              "partner '" + partner->name + "' signed it, or not signed by them");
  }
  VIGIL_ASSIGN_OR_RETURN(auto bundle, ParseBundlePayload(envelope.payload));
  // Every value in its normal form now, not when a curator approves (a bad one would then reject
  // the bundle and stop the partner's changes until a full bundle).
  auto bad = [](const std::string& where, const std::string& why) {
    return Fail(ErrorCode::kInvalidArgument, "bundle: " + where + ": " + why);
  };
  for (std::size_t i = 0; i < bundle.entries.size(); ++i) {
    const auto& e = bundle.entries[i];
    const std::string where = "entries[" + std::to_string(i) + "]";
    if (e.signal_type == "vpdq") {
      if (e.payload.empty()) return bad(where, "a vpdq entry needs its frames ('payload')");
      if (e.value.size() != 64 || e.value.find_first_not_of("0123456789abcdef") != std::string::npos) {
        return bad(where, "a vpdq entry's value is the SHA-256 of its frames, 64 lowercase hex digits");
      }
      continue;
    }
    auto normal = NormalizeSignal(e.signal_type, e.value);
    if (!normal) return bad(where, normal.error().message);
    if (*normal != e.value) return bad(where, "the value is not in its normal form (lowercase hex)");
  }
  for (std::size_t i = 0; i < bundle.removed.size(); ++i) {
    if (auto normal = NormalizeSignal(bundle.removed[i].signal_type, bundle.removed[i].value); !normal) {
      return bad("removed[" + std::to_string(i) + "]", normal.error().message);
    }
  }
  return Opened{std::move(*partner), std::move(bundle), Sha256Hex(document)};
}

// Whether `bundle` may follow what was received before from that partner and bank.
Status CheckOrder(const Opened& o, const std::optional<ReceivedBundle>& last) {
  const HashBundle& b = o.bundle;
  if (last && last->sequence >= b.sequence) {
    if (last->sequence == b.sequence && last->sha256 == o.sha256) {
      return Fail(ErrorCode::kAlreadyExists, Describe(b) + " was received already (" + last->status + ")");
    }
    return Fail(ErrorCode::kAlreadyExists, Describe(b) + " is a replay: bundle " + std::to_string(last->sequence) +
                                               " of that bank from partner '" + o.partner.name + "' was received already");
  }
  if (b.full) return {};
  if (!last) {
    if (b.since_import == 0) return {};
    return Fail(ErrorCode::kInvalidArgument, Describe(b) + " holds changes since import " + std::to_string(b.since_import) +
                                                 " but nothing was received before it: ask the partner for a full bundle");
  }
  if (last->status == "rejected") {
    return Fail(ErrorCode::kInvalidArgument, Describe(b) + " holds changes after bundle " + std::to_string(last->sequence) +
                                                 ", which was rejected: ask the partner for a full bundle");
  }
  if (b.sequence != last->sequence + 1 || b.since_import != last->through_import) {
    return Fail(ErrorCode::kInvalidArgument,
                Describe(b) + " is out of order: it holds changes since import " + std::to_string(b.since_import) +
                    ", the last received (bundle " + std::to_string(last->sequence) + ") reached import " +
                    std::to_string(last->through_import) + "; bundle " + std::to_string(last->sequence + 1) + " is missing");
  }
  return {};
}

ReceivedBundle RecordOf(const Opened& o, const std::string& status, const std::string& actor) {
  ReceivedBundle r;
  r.partner_id = o.partner.id;
  r.sharer = o.bundle.sharer;
  r.sharer_bank = o.bundle.bank;
  r.sequence = o.bundle.sequence;
  r.kind = o.bundle.full ? "full" : "changes";
  r.since_import = o.bundle.since_import;
  r.through_import = o.bundle.through_import;
  r.sha256 = o.sha256;
  r.signer = o.partner.public_key;
  r.status = status;
  r.entries = static_cast<std::int64_t>(o.bundle.entries.size());
  r.removals = static_cast<std::int64_t>(o.bundle.removed.size());
  r.received_by = actor;
  return r;
}

Result<BundleReceipt> ApplyRecorded(Store& store, const Opened& o, ReceivedBundle record, const std::string& actor) {
  BundleReceipt receipt;
  auto applied = Apply(store, o.partner, o.bundle, o.sha256, actor, receipt);
  if (!applied) {
    // Nothing was applied: the bundle is marked rejected so that a corrected one can follow.
    (void)store.Sharing().SetReceivedStatus(record.id, "rejected", std::nullopt, actor);
    return Fail(applied.error().code, Describe(o.bundle) + ": " + applied.error().message);
  }
  VIGIL_TRY(store.Sharing().SetReceivedStatus(record.id, "applied", applied->import_id, actor));
  VIGIL_ASSIGN_OR_RETURN(receipt.record, store.Sharing().GetReceived(record.id));
  receipt.import = std::move(*applied);
  return receipt;
}

}  // namespace

Result<BundleExport> ExportBundle(Store& store, const std::string& bank_name, const BundleExportOptions& options) {
  if (options.sharer.empty()) return Fail(ErrorCode::kInvalidArgument, "bundle export: this platform's name is not set ([sharing] name)");
  VIGIL_ASSIGN_OR_RETURN(auto public_key, reporting::Ed25519PublicKey(options.signing_seed));
  VIGIL_ASSIGN_OR_RETURN(auto bank, store.GetBank(bank_name));
  VIGIL_ASSIGN_OR_RETURN(auto last, store.Sharing().LastExport(bank_name));
  VIGIL_ASSIGN_OR_RETURN(auto through, store.LatestImportId());
  HashBundle b;
  b.sharer = options.sharer;
  b.bank = bank.name;
  b.category = bank.category;
  b.sequence = last ? last->sequence + 1 : 1;
  b.full = !options.changes;
  b.since_import = options.changes && last ? last->through_import : 0;
  b.through_import = through;
  b.created_at = SystemClock().NowMicros();
  std::vector<SharedRemoval> removed;
  VIGIL_ASSIGN_OR_RETURN(auto entries, store.Sharing().EntriesForBundle(bank.name, b.full, b.since_import, through, &removed));
  for (auto& s : entries) {
    b.entries.push_back({s.entry.signal_type, s.entry.value, s.entry.payload, s.entry.provenance, s.confirmed, s.rejected});
  }
  for (auto& r : removed) b.removed.push_back({r.signal_type, r.value});
  BundleEnvelope envelope;
  envelope.payload = WriteBundlePayload(b);
  envelope.signer = public_key;
  VIGIL_ASSIGN_OR_RETURN(envelope.signature, reporting::Ed25519Sign(options.signing_seed, envelope.payload));
  BundleExport out;
  out.document = WriteBundleEnvelope(envelope);
  ExportedBundle record;
  record.bank = bank.name;
  record.sequence = b.sequence;
  record.kind = b.full ? "full" : "changes";
  record.since_import = b.since_import;
  record.through_import = b.through_import;
  record.sha256 = Sha256Hex(out.document);
  record.entries = static_cast<std::int64_t>(b.entries.size());
  record.removals = static_cast<std::int64_t>(b.removed.size());
  record.created_by = options.actor;
  VIGIL_ASSIGN_OR_RETURN(out.record, store.Sharing().RecordExport(record));
  return out;
}

Result<BundleReceipt> ReceiveBundle(Store& store, std::string_view document, const std::string& actor) {
  VIGIL_ASSIGN_OR_RETURN(auto opened, Open(store, document));
  VIGIL_ASSIGN_OR_RETURN(auto last, store.Sharing().LastReceived(opened.partner.public_key, opened.bundle.bank));
  // The same bundle again after a crash between recording it and applying it: apply it now.
  if (last && last->sequence == opened.bundle.sequence && last->sha256 == opened.sha256 && last->status == "applying") {
    return ApplyRecorded(store, opened, *last, actor);
  }
  VIGIL_TRY(CheckOrder(opened, last));
  if (opened.partner.trust == "review" || (last && last->status == "held")) {
    ReceivedBundle held = RecordOf(opened, "held", actor);
    held.document = std::string(document);
    BundleReceipt receipt;
    VIGIL_ASSIGN_OR_RETURN(receipt.record, store.Sharing().RecordReceived(held));
    return receipt;
  }
  VIGIL_ASSIGN_OR_RETURN(auto record, store.Sharing().RecordReceived(RecordOf(opened, "applying", actor)));
  return ApplyRecorded(store, opened, std::move(record), actor);
}

Result<BundleReceipt> ApproveBundle(Store& store, std::int64_t id, const std::string& actor) {
  VIGIL_ASSIGN_OR_RETURN(auto record, store.Sharing().GetReceived(id));
  if (record.status != "held") {
    return Fail(ErrorCode::kInvalidArgument, "bundle " + std::to_string(id) + " is " + record.status + ", not held");
  }
  VIGIL_ASSIGN_OR_RETURN(auto earlier, store.Sharing().ListReceived(record.partner, 1000));
  for (const auto& e : earlier) {
    if (e.sharer_bank == record.sharer_bank && e.sequence < record.sequence && e.status == "held") {
      return Fail(ErrorCode::kInvalidArgument, "bundle " + std::to_string(id) + " follows bundle " + std::to_string(e.id) +
                                                   " (sequence " + std::to_string(e.sequence) + "), still held: decide that one first");
    }
  }
  // Changes apply on top of the bundle before them: not after one that was rejected.
  const ReceivedBundle* previous = nullptr;
  for (const auto& e : earlier) {
    if (e.sharer_bank == record.sharer_bank && e.sequence < record.sequence && (previous == nullptr || e.sequence > previous->sequence)) {
      previous = &e;
    }
  }
  if (record.kind == "changes" && record.since_import != 0 &&
      (previous == nullptr || previous->status != "applied" || previous->through_import != record.since_import)) {
    return Fail(ErrorCode::kInvalidArgument,
                "bundle " + std::to_string(id) + " holds changes on top of bundle " +
                    (previous != nullptr ? std::to_string(previous->sequence) + ", which is " + previous->status
                                         : std::string("one never received")) +
                    ": reject it and ask the partner for a full bundle");
  }
  // The document is checked again: the partner's key may have been removed since.
  VIGIL_ASSIGN_OR_RETURN(auto opened, Open(store, record.document));
  if (opened.partner.id != record.partner_id || opened.sha256 != record.sha256) {
    return Fail(ErrorCode::kInternal, "bundle " + std::to_string(id) + ": the held document is not the one received");
  }
  return ApplyRecorded(store, opened, record, actor);
}

Status RejectBundle(Store& store, std::int64_t id, const std::string& actor) {
  VIGIL_ASSIGN_OR_RETURN(auto record, store.Sharing().GetReceived(id));
  if (record.status != "held") {
    return Fail(ErrorCode::kInvalidArgument, "bundle " + std::to_string(id) + " is " + record.status + ", not held");
  }
  return store.Sharing().SetReceivedStatus(id, "rejected", std::nullopt, actor);
}

}  // namespace vigil

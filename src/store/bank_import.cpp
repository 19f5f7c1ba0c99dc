// An import's ops applied in memory, then written in batches (see bank_import.h).
#include "store/bank_import.h"

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "vigil/signal_type.h"
#include "vigil/video.h"

namespace vigil::store {
namespace {

constexpr std::size_t kInsertBatch = 400;   // rows per multi-row INSERT (11 parameters each)
constexpr std::size_t kUpdateBatch = 1000;  // ids per UPDATE ... IN (...)
constexpr std::size_t kLoadPage = 50'000;   // live entries read per query
constexpr std::size_t kLookupBatch = 500;   // values or external ids per targeted read
// An import of at most this many ops, all given up front, reads only the entries they name
// (LoadFor); a larger one, or one that streams its ops, reads the whole bank (Load).
constexpr std::size_t kTargetedLoadOps = 200'000;

struct Entry {
  std::int64_t id = 0;  // 0: added by this import, not written yet
  std::string signal_type, value, payload;
  Provenance provenance;
  bool live = true;
  bool relabelled = false;  // provenance changed; written at the end (existing rows only)
  std::int64_t listed_at = 0;  // new entries: the list's time for the record (0: none)
};

std::string Key(std::string_view type, std::string_view value) {
  std::string key(type);
  key += ':';
  key += value;
  return key;
}

// The live entries are a set of positions in the entries vector, hashed and compared by the
// entry's (signal_type, value) and looked up by that pair: no key string per entry (a million-entry
// import held a million extra "type:value" copies).
struct EntryKey {
  std::string_view type, value;
};
EntryKey KeyOf(const Entry& e) { return {e.signal_type, e.value}; }

struct EntryKeyHash {
  using is_transparent = void;
  const std::vector<Entry>* entries;
  std::size_t operator()(const EntryKey& k) const noexcept {
    return std::hash<std::string_view>{}(k.value) ^ (std::hash<std::string_view>{}(k.type) * 0x9e3779b97f4a7c15ull);
  }
  std::size_t operator()(std::size_t at) const noexcept { return (*this)(KeyOf((*entries)[at])); }
};

struct EntryKeyEqual {
  using is_transparent = void;
  const std::vector<Entry>* entries;
  EntryKey Of(const EntryKey& k) const { return k; }
  EntryKey Of(std::size_t at) const { return KeyOf((*entries)[at]); }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    const EntryKey x = Of(a), y = Of(b);
    return x.type == y.type && x.value == y.value;
  }
};

// Appends "$N" and a separator (gcc 12 warns falsely on chained std::string + here).
void AppendPlaceholder(std::string& sql, std::size_t n, const char* after) {
  sql.push_back('$');
  sql.append(std::to_string(n));
  sql.append(after);
}

class ImportApplier {
 public:
  ImportApplier(SqlConnection& db, std::int64_t bank_id, std::int64_t import_id, std::int64_t now)
      : db_(db), bank_id_(bank_id), import_id_(import_id), now_(now) {}
  ImportApplier(const ImportApplier&) = delete;  // by_key_ points at entries_
  ImportApplier& operator=(const ImportApplier&) = delete;

  // The bank's live entries, read in pages by id so the driver's copy of the rows stays one page
  // (a million-entry bank read at once held every row twice).
  Status Load() {
    std::int64_t after = 0;
    for (;;) {
      auto rows = db_.Query(
          "SELECT id, signal_type, value, source, member, external_id, classification FROM bank_entries "
          "WHERE bank_id = $1 AND removed_at IS NULL AND id > $2 ORDER BY id LIMIT " +
              std::to_string(kLoadPage),
          {bank_id_, after});
      if (!rows) return tl::unexpected(rows.error());
      for (const auto& row : *rows) {
        entries_.push_back({row.Int(0), row.Text(1), row.Text(2), {}, {row.Text(3), row.Text(4), row.Text(5), row.Text(6)}});
        by_key_.insert(entries_.size() - 1);
        after = entries_.back().id;
      }
      if (rows->size() < kLoadPage) break;
    }
    return LoadOverrides();
  }

  // Only the live entries `ops` can touch: those holding a value an op names, and every entry of a
  // record (member, external id) an op removes or prunes. An incremental import (a sync's page of a
  // thousand records into a bank of millions) then reads what it changes, not the whole bank. The
  // outcome is the same as after Load: no op looks at an entry it does not name.
  Status LoadFor(const std::vector<ImportOp>& ops) {
    std::map<std::string, std::set<std::string>> values;                // signal type -> values
    std::map<std::string, std::set<std::string>> records;               // member -> external ids
    for (const auto& op : ops) {
      if (!op.value.empty()) values[op.signal_type].insert(op.value);
      if (op.kind == ImportOp::Kind::kPrune || (op.kind == ImportOp::Kind::kRemove && op.value.empty()) ||
          op.kind == ImportOp::Kind::kAdd) {
        // An add may move an entry into a record that a later prune of this import reads.
        records[op.provenance.member].insert(op.provenance.external_id);
      }
    }
    std::unordered_set<std::int64_t> loaded;
    auto load = [&](const std::string& column, const std::string& key, const std::vector<const std::string*>& batch) -> Status {
      std::string sql = "SELECT id, signal_type, value, source, member, external_id, classification FROM bank_entries "
                        "WHERE bank_id = $1 AND removed_at IS NULL AND " + column + " = $2 AND " +
                        (column == "signal_type" ? "value" : "external_id") + " IN (";
      std::vector<SqlValue> params{bank_id_, key};
      for (std::size_t i = 0; i < batch.size(); ++i) {
        AppendPlaceholder(sql, i + 3, i + 1 < batch.size() ? ", " : ")");
        params.emplace_back(*batch[i]);
      }
      VIGIL_ASSIGN_OR_RETURN(auto rows, db_.Query(sql + " ORDER BY id", params));
      for (const auto& row : rows) {
        if (!loaded.insert(row.Int(0)).second) continue;
        entries_.push_back({row.Int(0), row.Text(1), row.Text(2), {}, {row.Text(3), row.Text(4), row.Text(5), row.Text(6)}});
        by_key_.insert(entries_.size() - 1);
      }
      return {};
    };
    auto each = [&](const std::string& column, const std::map<std::string, std::set<std::string>>& groups) -> Status {
      for (const auto& [key, members] : groups) {
        std::vector<const std::string*> batch;
        for (const auto& value : members) {
          batch.push_back(&value);
          if (batch.size() == kLookupBatch) {
            VIGIL_TRY(load(column, key, batch));
            batch.clear();
          }
        }
        if (!batch.empty()) VIGIL_TRY(load(column, key, batch));
      }
      return {};
    };
    VIGIL_TRY(each("signal_type", values));
    VIGIL_TRY(each("member", records));
    // Positions in id order, as Load gives them (the order new rows and relabels are written in
    // does not depend on it, but a record's entries are visited in position order).
    std::vector<std::size_t> order(entries_.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return entries_[a].id < entries_[b].id; });
    std::vector<Entry> sorted;
    sorted.reserve(entries_.size());
    for (const auto at : order) sorted.push_back(std::move(entries_[at]));
    by_key_.clear();
    entries_ = std::move(sorted);
    for (std::size_t i = 0; i < entries_.size(); ++i) by_key_.insert(i);
    return LoadOverrides();
  }

 private:
  Status LoadOverrides() {
    // Local overrides: values this platform disabled, which a re-import must not bring back.
    auto overrides = db_.Query("SELECT id, signal_type, value FROM overrides WHERE bank_id = $1 AND revoked_at IS NULL",
                               {bank_id_});
    if (!overrides) return tl::unexpected(overrides.error());
    for (const auto& row : *overrides) overrides_[Key(row.Text(1), row.Text(2))].id = row.Int(0);
    return {};
  }

 public:

  // An add's strings move into the applier; the op is spent after this.
  Status Apply(ImportOp& op) {
    switch (op.kind) {
      case ImportOp::Kind::kAdd: return Add(op);
      case ImportOp::Kind::kRemove:
        if (op.value.empty()) {
          for (const auto at : RecordEntries(op.provenance)) Tombstone(at);
        } else if (const auto it = by_key_.find(EntryKey{op.signal_type, op.value}); it != by_key_.end()) {
          Tombstone(*it);
        }
        return {};
      case ImportOp::Kind::kPrune: {
        const std::unordered_set<std::string> keep(op.keep.begin(), op.keep.end());
        for (const auto at : RecordEntries(op.provenance)) {
          if (!keep.contains(Key(entries_[at].signal_type, entries_[at].value))) Tombstone(at);
        }
        return {};
      }
    }
    return {};
  }

  // Writes everything; fills the result.
  Result<ImportResult> Finish() {
    ImportResult result;
    result.import_id = import_id_;
    result.unchanged = unchanged_;
    // New entries that are still live, in op order (ids ascend with it: the matcher relies on that).
    std::vector<std::size_t> inserts;
    for (const auto at : added_order_) {
      if (entries_[at].live) inserts.push_back(at);
    }
    for (std::size_t begin = 0; begin < inserts.size(); begin += kInsertBatch) {
      const std::size_t end = std::min(inserts.size(), begin + kInsertBatch);
      std::string sql =
          "INSERT INTO bank_entries (bank_id, signal_type, value, source, member, external_id, classification, "
          "added_at, import_id, payload, listed_at) VALUES ";
      std::vector<SqlValue> params;
      params.reserve((end - begin) * 11);
      for (std::size_t i = begin; i < end; ++i) {
        const Entry& e = entries_[inserts[i]];
        const std::size_t n = params.size();
        sql.append(i == begin ? "(" : ", (");
        for (std::size_t p = 1; p <= 11; ++p) AppendPlaceholder(sql, n + p, p < 11 ? ", " : ")");
        params.insert(params.end(), {bank_id_, e.signal_type, e.value, e.provenance.source, e.provenance.member,
                                     e.provenance.external_id, e.provenance.classification, now_, import_id_,
                                     e.payload.empty() ? SqlValue{} : SqlValue{e.payload},
                                     e.listed_at > 0 ? SqlValue{e.listed_at} : SqlValue{}});
      }
      sql += " RETURNING id, signal_type, value";
      VIGIL_ASSIGN_OR_RETURN(auto rows, db_.Query(sql, params));
      if (rows.size() != end - begin) return Fail(ErrorCode::kInternal, "import: INSERT returned a wrong row count");
      for (const auto& row : rows) {
        const std::string type = row.Text(1), value = row.Text(2);
        const auto it = by_key_.find(EntryKey{type, value});
        if (it == by_key_.end()) return Fail(ErrorCode::kInternal, "import: INSERT returned an unknown row");
        entries_[*it].id = row.Int(0);
      }
    }
    result.added = static_cast<std::int64_t>(inserts.size());
    // The new entries move into the result (for the matcher's index): nothing looks them up again,
    // and the rest of Finish reads only ids, flags and provenance.
    by_key_.clear();
    result.added_entries.reserve(inserts.size());
    for (const auto at : inserts) {
      Entry& e = entries_[at];
      result.added_entries.push_back({e.id, bank_id_, std::move(e.signal_type), std::move(e.value), std::move(e.payload)});
    }

    for (const auto& e : entries_) {
      if (e.id == 0 || !e.live || !e.relabelled) continue;
      auto updated = db_.Execute(
          "UPDATE bank_entries SET source = $1, member = $2, external_id = $3, classification = $4 WHERE id = $5",
          {e.provenance.source, e.provenance.member, e.provenance.external_id, e.provenance.classification, e.id});
      if (!updated) return tl::unexpected(updated.error());
    }
    result.relabelled = relabelled_;

    // Tombstones of rows that existed before this import (an entry added and removed within the
    // same list never reaches the table).
    for (const auto& e : entries_) {
      if (!e.live && e.id != 0) result.removed_entry_ids.push_back(e.id);
    }
    for (std::size_t begin = 0; begin < result.removed_entry_ids.size(); begin += kUpdateBatch) {
      const std::size_t end = std::min(result.removed_entry_ids.size(), begin + kUpdateBatch);
      std::string sql = "UPDATE bank_entries SET removed_at = $1, removed_import_id = $2 WHERE removed_at IS NULL AND id IN (";
      std::vector<SqlValue> params{now_, import_id_};
      for (std::size_t i = begin; i < end; ++i) {
        if (i != begin) sql.append(", ");
        AppendPlaceholder(sql, params.size() + 1, "");
        params.emplace_back(result.removed_entry_ids[i]);
      }
      sql += ")";
      VIGIL_ASSIGN_OR_RETURN(auto updated, db_.Execute(sql, params));
      if (static_cast<std::size_t>(updated) != end - begin) {
        return Fail(ErrorCode::kInternal, "import: an entry changed under the import's lock");
      }
    }
    result.removed = static_cast<std::int64_t>(result.removed_entry_ids.size());
    for (const auto& [key, skipped] : overrides_) {
      if (skipped.times == 0) continue;
      const auto& p = skipped.provenance;
      auto updated = db_.Execute(
          "UPDATE overrides SET skipped = skipped + $1, source = $2, member = $3, external_id = $4, classification = $5, "
          "payload = $6 WHERE id = $7",
          {skipped.times, p.source, p.member, p.external_id, p.classification,
           skipped.payload.empty() ? SqlValue{} : SqlValue{skipped.payload}, skipped.id});
      if (!updated) return tl::unexpected(updated.error());
    }
    result.overridden = overridden_;
    return result;
  }

 private:
  Status Add(ImportOp& op) {
    if (!overrides_.empty()) {
      if (auto o = overrides_.find(Key(op.signal_type, op.value)); o != overrides_.end()) {
        // Kept out, with the list's latest provenance for the day the override is revoked.
        ++o->second.times;
        o->second.provenance = std::move(op.provenance);
        o->second.payload = std::move(op.payload);
        ++overridden_;
        return {};
      }
    }
    if (const auto it = by_key_.find(EntryKey{op.signal_type, op.value}); it != by_key_.end()) {
      const std::size_t at = *it;
      Entry& existing = entries_[at];
      const auto& p = existing.provenance;
      const auto& q = op.provenance;
      if (p.source == q.source && p.member == q.member && p.external_id == q.external_id &&
          p.classification == q.classification) {
        ++unchanged_;
        return {};
      }
      ++relabelled_;
      UnindexRecord(at);
      existing.provenance = std::move(op.provenance);
      existing.relabelled = existing.id != 0;
      IndexRecord(at);
      return {};
    }
    const std::size_t at = entries_.size();
    entries_.push_back({0, std::move(op.signal_type), std::move(op.value), std::move(op.payload), std::move(op.provenance),
                        true, false, op.listed_at});
    by_key_.insert(at);
    added_order_.push_back(at);
    IndexRecord(at);
    return {};
  }

  void Tombstone(std::size_t at) {
    Entry& e = entries_[at];
    if (!e.live) return;
    e.live = false;
    by_key_.erase(at);
    UnindexRecord(at);
  }

  // The (member, external_id) -> entries map is built on first use: most lists never need it.
  std::vector<std::size_t> RecordEntries(const Provenance& p) {
    if (!records_built_) {
      for (std::size_t i = 0; i < entries_.size(); ++i) {
        if (entries_[i].live) IndexRecord(i, true);
      }
      records_built_ = true;
    }
    const auto it = records_.find({p.member, p.external_id});
    if (it == records_.end()) return {};
    // A copy: the caller tombstones as it goes. In position order, so the outcome never depends
    // on hashing.
    std::vector<std::size_t> entries(it->second.begin(), it->second.end());
    std::sort(entries.begin(), entries.end());
    return entries;
  }
  void IndexRecord(std::size_t at, bool building = false) {
    if (!records_built_ && !building) return;
    const auto& p = entries_[at].provenance;
    records_[{p.member, p.external_id}].insert(at);
  }
  void UnindexRecord(std::size_t at) {
    if (!records_built_) return;
    const auto& p = entries_[at].provenance;
    const auto it = records_.find({p.member, p.external_id});
    if (it == records_.end()) return;
    it->second.erase(at);  // constant time: a record relabelled entry by entry stays linear
    if (it->second.empty()) records_.erase(it);
  }

  SqlConnection& db_;
  std::int64_t bank_id_, import_id_, now_;
  std::vector<Entry> entries_;
  // Live entries only; declared after entries_, which its hash and equality read.
  std::unordered_set<std::size_t, EntryKeyHash, EntryKeyEqual> by_key_{0, EntryKeyHash{&entries_},
                                                                      EntryKeyEqual{&entries_}};
  std::vector<std::size_t> added_order_;
  std::map<std::pair<std::string, std::string>, std::unordered_set<std::size_t>> records_;
  bool records_built_ = false;
  std::int64_t unchanged_ = 0, relabelled_ = 0, overridden_ = 0;
  // Live overrides of this bank by "type:value", with what the import tried to add.
  struct Skipped {
    std::int64_t id = 0;
    std::int64_t times = 0;
    Provenance provenance;
    std::string payload;
  };
  std::unordered_map<std::string, Skipped> overrides_;
};

}  // namespace

Result<ImportResult> ApplyImport(SqlConnection& db, std::int64_t bank_id, std::int64_t import_id,
                                 const std::string& source, std::vector<ImportOp> ops,
                                 const std::function<Result<bool>(ImportOp&)>& more_ops, std::int64_t now) {
  ImportApplier applier(db, bank_id, import_id, now);
  if (!more_ops && ops.size() <= kTargetedLoadOps) {
    VIGIL_TRY(applier.LoadFor(ops));
  } else {
    VIGIL_TRY(applier.Load());
  }
  // The store checks every op again (lists are parsed first, but an op may come from elsewhere).
  auto apply = [&](ImportOp& op) -> Status {
    if (op.kind == ImportOp::Kind::kAdd || !op.value.empty()) {
      auto normalized = NormalizeSignal(op.signal_type, op.value);
      const Error* error = !normalized ? &normalized.error() : nullptr;
      Error not_normal{ErrorCode::kInvalidArgument, "value is not normalised"};
      if (normalized && *normalized != op.value) error = &not_normal;
      if (error != nullptr) {
        return Fail(error->code, source + ": line " + std::to_string(op.line) + ": " + error->message);
      }
    }
    if (op.kind == ImportOp::Kind::kAdd) {
      // A payload-carrying type (vpdq) needs its payload, and the value must be its identity.
      const SignalTypeInfo* info = FindSignalType(op.signal_type);
      if (info != nullptr && info->has_payload) {
        auto frames = ParseVpdq(op.payload);
        if (op.payload.empty() || !frames || VpdqIdentity(*frames) != op.value) {
          return Fail(ErrorCode::kInvalidArgument, source + ": line " + std::to_string(op.line) + ": " +
                                                       op.signal_type + " entries carry their frames: import them "
                                                       "with format=vpdq");
        }
      }
    }
    return applier.Apply(op);
  };
  for (auto& op : ops) VIGIL_TRY(apply(op));
  std::vector<ImportOp>().swap(ops);  // applied: free them before the rows are written
  if (more_ops) {
    for (;;) {
      ImportOp op;
      VIGIL_ASSIGN_OR_RETURN(auto more, more_ops(op));
      if (!more) break;
      VIGIL_TRY(apply(op));
    }
  }
  return applier.Finish();
}

}  // namespace vigil::store

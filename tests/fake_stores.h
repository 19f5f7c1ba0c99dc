// In-memory fakes of the narrow store interfaces (include/vigil/store.h, cases.h), for tests of
// the layers above them without a database: the matcher over a FakeEntryFeed, the upload workflow
// over a FakeUploadRecorder. They keep the contracts those layers rely on (entries in id order,
// removals by import, one answer per recorded upload, replays and conflicts) and nothing else.
// Not thread-safe: a test drives them from one thread.
#pragma once

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "vigil/cases.h"
#include "vigil/store.h"

namespace vigil::testing {

class FakeEntryFeed final : public EntryFeed {
 public:
  // A bank with the defaults a new bank gets (enabled, PDQ distance 31, quality 50).
  std::int64_t AddBank(const std::string& name, const std::string& category = "") {
    Bank bank;
    bank.id = static_cast<std::int64_t>(banks_.size()) + 1;
    bank.name = name;
    bank.category = category;
    banks_.push_back(bank);
    return bank.id;
  }
  Bank& bank(std::int64_t id) { return banks_.at(static_cast<std::size_t>(id - 1)); }

  // Each add or remove is an import of its own, as a one-line list would be.
  std::int64_t AddEntry(std::int64_t bank_id, const std::string& signal_type, const std::string& value) {
    ++last_import_;
    entries_.push_back({next_entry_++, bank_id, signal_type, value, ""});
    return entries_.back().id;
  }
  void RemoveEntry(std::int64_t entry_id) {
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const IndexedEntry& e) { return e.id == entry_id; });
    if (it == entries_.end()) return;
    removals_.push_back({entry_id, ++last_import_, it->signal_type, it->value});
    entries_.erase(it);
  }
  // The next call fails as a database that went away would.
  void FailNextCall() { fail_next_ = true; }

  Result<std::vector<Bank>> ListBanks() override {
    VIGIL_TRY(MaybeFail());
    return banks_;
  }
  Result<std::vector<IndexedEntry>> LiveEntriesAfter(std::int64_t after_id, int limit) override {
    VIGIL_TRY(MaybeFail());
    std::vector<IndexedEntry> page;
    for (const auto& e : entries_) {
      if (e.id > after_id && static_cast<int>(page.size()) < limit) page.push_back(e);
    }
    return page;
  }
  Result<std::vector<EntryRemoval>> RemovalsAfter(std::int64_t after_import_id) override {
    VIGIL_TRY(MaybeFail());
    std::vector<EntryRemoval> out;
    for (const auto& r : removals_) {
      if (r.import_id > after_import_id) out.push_back(r);
    }
    return out;
  }
  Result<std::int64_t> LatestImportId() override {
    VIGIL_TRY(MaybeFail());
    return last_import_;
  }

 private:
  Status MaybeFail() {
    if (!fail_next_) return {};
    fail_next_ = false;
    return Fail(ErrorCode::kUnavailable, "the fake feed's database went away (injected)");
  }

  std::vector<Bank> banks_;
  std::vector<IndexedEntry> entries_;
  std::vector<EntryRemoval> removals_;
  std::int64_t next_entry_ = 1, last_import_ = 0;
  bool fail_next_ = false;
};

// Records uploads in memory: the policy is evaluated on facts built from the matches (bank names
// and categories from the feed's banks), media are kept (through the policy's keep_media) when the outcome
// holds the upload for review, and a replay or a conflicting retry is answered as the Store does.
class FakeUploadRecorder final : public UploadRecorder {
 public:
  explicit FakeUploadRecorder(FakeEntryFeed& banks) : banks_(banks) {}

  Result<RecordedUpload> RecordUpload(const ContentRecord& content, const UploadPolicy& policy,
                                      const std::string&) override {
    ++calls;
    if (auto it = recorded.find(content.content_id); it != recorded.end()) {
      const ContentRecord& first = it->second.content;
      if (first.hashes.at("sha256") != content.hashes.at("sha256") || first.user_id != content.user_id) {
        return Fail(ErrorCode::kAlreadyExists, "content id " + content.content_id + " is taken");
      }
      RecordedUpload again = it->second;
      again.replayed = true;
      return again;
    }
    RecordedUpload out;
    out.content = content;
    if (policy.evaluate && !content.matches.empty()) {
      VIGIL_ASSIGN_OR_RETURN(auto facts, PolicyFacts(content));
      const PolicyOutcome outcome = policy.evaluate(facts);
      if (outcome.block) out.content.state = "blocked";
      if (outcome.hold) {
        if (policy.keep_media) VIGIL_TRY(policy.keep_media(content.hashes.at("sha256")));
        Case opened;
        opened.id = ++last_case_;
        out.opened = opened;
      }
    }
    recorded[content.content_id] = out;
    return out;
  }
  std::vector<Result<RecordedUpload>> RecordUnmatchedUploads(std::span<const ContentRecord> contents) override {
    ++batches;
    std::vector<Result<RecordedUpload>> out;
    for (const auto& c : contents) {
      if (!c.matches.empty()) {
        out.emplace_back(Fail(ErrorCode::kInvalidArgument, "content '" + c.content_id + "' matched: record it alone"));
      } else {
        out.push_back(RecordUpload(c, {}, "policy"));
      }
    }
    return out;
  }
  Result<ContentFacts> PolicyFacts(const ContentRecord& content) override {
    ContentFacts facts;
    facts.media_type = content.media_type;
    for (const auto& m : content.matches) {
      MatchFacts f;
      f.bank = banks_.bank(m.bank_id).name;
      f.bank_category = banks_.bank(m.bank_id).category;
      f.signal_type = m.signal_type;
      f.distance = m.distance;
      f.quality = m.quality;
      facts.matches.push_back(f);
    }
    return facts;
  }
  Result<int> PriorConfirmedCases(const std::string&) override { return 0; }

  std::map<std::string, RecordedUpload> recorded;  // by content id
  int calls = 0;
  int batches = 0;

 private:
  FakeEntryFeed& banks_;
  std::int64_t last_case_ = 0;
};

}  // namespace vigil::testing

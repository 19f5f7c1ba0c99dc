// The upload workflow: hash, match, record with the policy's outcome (see the header).
#include "workflow/upload_workflow.h"

#include "vigil/upload_metadata.h"

#include <algorithm>

#include "util/utf8.h"
#include "vigil/video.h"

namespace vigil {

Status CheckUploadIds(const std::string& content_id, const std::string& user_id) {
  if (content_id.empty()) return Fail(ErrorCode::kInvalidArgument, "content_id is required (1-256 bytes)");
  if (content_id.size() > 256) {
    return Fail(ErrorCode::kInvalidArgument,
                "content_id is " + std::to_string(content_id.size()) + " bytes long; at most 256 bytes (of UTF-8)");
  }
  if (user_id.size() > 256) {
    return Fail(ErrorCode::kInvalidArgument,
                "user_id is " + std::to_string(user_id.size()) + " bytes long; at most 256 bytes (of UTF-8)");
  }
  // Ids are shown to people and written in JSON and reports: UTF-8, no control characters.
  for (const auto& [name, value] : {std::pair<const char*, const std::string*>{"content_id", &content_id},
                                    {"user_id", &user_id}}) {
    if (HasControlCharacter(*value)) {
      return Fail(ErrorCode::kInvalidArgument, std::string(name) + " contains a control character (NUL, a line break, DEL...)");
    }
    if (!IsValidUtf8(*value)) return Fail(ErrorCode::kInvalidArgument, std::string(name) + " is not valid UTF-8");
  }
  return {};
}

UploadWorkflow::UploadWorkflow(UploadRecorder& recorder, const Matcher& matcher, MediaHasher hasher, MediaStore* media,
                               UploadWorkflowOptions options)
    : recorder_(recorder), matcher_(matcher), hasher_(std::move(hasher)), media_(media), options_(std::move(options)) {
  if (!hasher_) hasher_ = HashMedia;
}

void UploadWorkflow::SetRules(std::shared_ptr<const PolicyRules> rules) {
  std::lock_guard lock(rules_mu_);
  rules_ = std::move(rules);
}

std::shared_ptr<const PolicyRules> UploadWorkflow::Rules() const {
  std::lock_guard lock(rules_mu_);
  return rules_;
}

Result<std::vector<MatchRecord>> UploadWorkflow::Match(const HashedMedia& hashed,
                                                       const std::vector<PluginSignalMatch>& plugins) const {
  std::vector<MatchRecord> matches;
  std::int64_t allowed_by = 0;  // the first allow-list (negative bank) entry the upload matched
  auto allow_listed = [&](const auto& hit) {
    if (hit.negative && allowed_by == 0) allowed_by = hit.entry_id;
    return hit.negative;
  };
  auto found = [&](const std::string& bank, const std::string& signal_type) {
    if (options_.on_match) options_.on_match(bank, signal_type);
  };
  auto record = [](const MatchHit& hit) {
    MatchRecord match;
    match.bank_id = hit.bank_id;
    match.entry_id = hit.entry_id;
    match.signal_type = hit.signal_type;
    match.distance = hit.distance;
    return match;
  };
  for (const auto& [type, value] : hashed.signals) {
    if (type == "vpdq") continue;  // matched by its frames below
    LookupSignal query{type, value, type == "pdq" ? hashed.pdq_quality : std::nullopt, ""};
    VIGIL_ASSIGN_OR_RETURN(auto hits, matcher_.Lookup(query));
    for (const auto& hit : hits) {
      if (allow_listed(hit)) continue;
      MatchRecord match = record(hit);
      if (type == "pdq") match.quality = hashed.pdq_quality;
      matches.push_back(std::move(match));
      found(hit.bank_name, hit.signal_type);
    }
  }
  // Rotations/flips and border-trimmed content, for the banks that enable those measures; an entry
  // already matched by the upload's own hashes keeps that match.
  for (const auto& [label, measure, hash] : hashed.extra) {
    LookupSignal query{"pdq", hash.ToHex(), hashed.pdq_quality, measure};
    VIGIL_ASSIGN_OR_RETURN(auto hits, matcher_.Lookup(query));
    for (const auto& hit : hits) {
      if (allow_listed(hit)) continue;
      const std::int64_t entry_id = hit.entry_id;
      if (std::any_of(matches.begin(), matches.end(), [entry_id](const MatchRecord& m) { return m.entry_id == entry_id; })) {
        continue;
      }
      MatchRecord match;
      match.bank_id = hit.bank_id;
      match.entry_id = hit.entry_id;
      match.signal_type = "pdq";
      match.distance = hit.distance;
      match.quality = hashed.pdq_quality;
      match.measure = label;
      matches.push_back(std::move(match));
      found(hit.bank_name, "pdq");
    }
  }
  if (hashed.video && !VpdqMatchableHashes(hashed.video->frames, options_.video_match.min_quality).empty()) {
    VIGIL_ASSIGN_OR_RETURN(auto hits, matcher_.LookupVideo(hashed.video->frames, options_.video_match));
    for (const auto& hit : hits) {
      if (allow_listed(hit)) continue;
      MatchRecord match;
      match.bank_id = hit.bank_id;
      match.entry_id = hit.entry_id;
      match.signal_type = "vpdq";
      match.distance = hit.distance;
      match.query_match_percent = hit.query_match_percent;
      match.compared_match_percent = hit.compared_match_percent;
      matches.push_back(std::move(match));
      found(hit.bank_name, "vpdq");
    }
  }
  // Licensed-hash plug-ins' matches, found in their sandbox.
  for (const auto& plugin : plugins) {
    for (const auto& hit : plugin.hits) {
      if (allow_listed(hit)) continue;
      matches.push_back(record(hit));
      found(hit.bank_name, hit.signal_type);
    }
  }
  // An upload on an allow-list: its matches are recorded as suppressed, and no policy acts on them.
  for (auto& m : matches) m.suppressed_by = allowed_by;
  return matches;
}

Result<HashedMedia> UploadWorkflow::HashInto(const UploadRequest& upload, bool extra, ContentRecord& content,
                                             std::vector<PluginSignalMatch>& plugins) const {
  VIGIL_TRY(CheckUploadIds(upload.content_id, upload.user_id));
  VIGIL_TRY(ParseUploadMetadata(upload.metadata_json));  // the keys Vigil reads, checked before a byte is decoded
  if (upload.bytes.empty()) return Fail(ErrorCode::kInvalidArgument, "empty upload: send the media bytes");
  MediaHashOptions hash_options;
  hash_options.limits = options_.decode_limits;
  hash_options.video = options_.video;
  if (extra) hash_options.extra = {matcher_.AnyBankUses("dihedral"), matcher_.AnyBankUses("trimmed")};
  VIGIL_ASSIGN_OR_RETURN(auto hashed, hasher_(upload.bytes, hash_options));
  content.content_id = upload.content_id;
  content.user_id = upload.user_id;
  if (!upload.metadata_json.empty()) content.metadata_json = upload.metadata_json;
  content.media_type = hashed.media_type;
  content.byte_size = static_cast<std::int64_t>(upload.bytes.size());
  content.hashes = hashed.signals;
  content.pdq_quality = hashed.pdq_quality;
  if (hashed.video) content.vpdq = FormatVpdq(hashed.video->frames);
  if (options_.plugin_signals) {
    VIGIL_ASSIGN_OR_RETURN(plugins, options_.plugin_signals(upload.bytes, hash_options));
    for (const auto& plugin : plugins) {
      if (!plugin.value.empty()) content.hashes[plugin.signal_type] = plugin.value;
    }
  }
  return hashed;
}

Result<PreparedUpload> UploadWorkflow::Prepare(const UploadRequest& upload) const {
  PreparedUpload prepared;
  prepared.bytes = upload.bytes;
  std::vector<PluginSignalMatch> plugins;
  VIGIL_ASSIGN_OR_RETURN(auto hashed, HashInto(upload, true, prepared.content, plugins));
  VIGIL_ASSIGN_OR_RETURN(prepared.content.matches, Match(hashed, plugins));
  if (options_.classify) {
    ClassifierInput input;
    input.content_id = upload.content_id;
    input.media_type = prepared.content.media_type;
    input.bytes = upload.bytes;
    input.hashes = prepared.content.hashes;
    prepared.content.classifications = options_.classify(input);
  }
  return prepared;
}

Result<ContentRecord> UploadWorkflow::Describe(const UploadRequest& upload) const {
  ContentRecord content;
  std::vector<PluginSignalMatch> plugins;
  VIGIL_TRY(HashInto(upload, false, content, plugins));
  return content;
}

Result<RecordedUpload> UploadWorkflow::Record(const PreparedUpload& prepared) const {
  // The upload, its matches and what the policy does about them commit together; the bytes of an
  // upload that opens or joins a case are kept before that commit.
  UploadPolicy policy;
  if (auto rules = Rules()) {
    policy.evaluate = [rules](const ContentFacts& facts) { return rules->Evaluate(facts); };
  }
  if (media_ != nullptr) {
    policy.keep_media = [this, &prepared](const std::string& sha256) { return media_->Keep(sha256, prepared.bytes); };
  }
  return recorder_.RecordUpload(prepared.content, policy, options_.actor);
}

Result<RecordedUpload> UploadWorkflow::RecordLate(const std::string& content_id,
                                                  const std::vector<MatchRecord>& matches) const {
  UploadPolicy policy;  // no media: an upload that matched nothing was never kept
  if (auto rules = Rules()) {
    policy.evaluate = [rules](const ContentFacts& facts) { return rules->Evaluate(facts); };
  }
  return recorder_.RecordLateMatches(content_id, matches, policy, options_.actor);
}

Result<RecordedUpload> UploadWorkflow::RecordSwept(const std::string& content_id, const std::vector<MatchRecord>& matches,
                                                   bool block_by_default, const std::string& category) const {
  UploadPolicy policy;
  policy.evaluate = [rules = Rules(), block_by_default, category](const ContentFacts& facts) {
    // No match left to act on (an allow-list suppressed it, or its entry is quarantined: held as such).
    if (facts.matches.empty()) return PolicyOutcome{};
    PolicyOutcome outcome = rules ? rules->Evaluate(facts) : PolicyOutcome{};
    if (outcome.rules.empty()) {
      outcome.block = block_by_default;
      outcome.hold_priority = 1;
      const Taxonomy& taxonomy = rules ? rules->taxonomy() : Taxonomy::BuiltIn();
      if (const Category* c = taxonomy.Find(category)) outcome.category = *c;
      outcome.rules.push_back("sweep");
    }
    // A person decides each account a sweep finds: never an automated account action or report.
    outcome.hold = true;
    outcome.account = AccountAction::kNone;
    outcome.account_days.reset();
    outcome.queue_report = false;
    return outcome;
  };
  return recorder_.RecordLateMatches(content_id, matches, policy, options_.actor);
}

Result<std::int64_t> UploadWorkflow::AllowListEntry(const std::vector<LookupSignal>& signals) const {
  for (const auto& signal : signals) {
    VIGIL_ASSIGN_OR_RETURN(auto hits, matcher_.Lookup(signal));
    for (const auto& hit : hits) {
      if (hit.negative) return hit.entry_id;
    }
  }
  return std::int64_t{0};
}

std::vector<Result<RecordedUpload>> UploadWorkflow::RecordUnmatched(std::span<const PreparedUpload> prepared) const {
  std::vector<ContentRecord> contents;
  contents.reserve(prepared.size());
  for (const auto& p : prepared) contents.push_back(p.content);
  return recorder_.RecordUnmatchedUploads(contents);
}

Result<RecordedUpload> UploadWorkflow::Submit(const UploadRequest& upload) const {
  VIGIL_ASSIGN_OR_RETURN(auto prepared, Prepare(upload));
  return Record(prepared);
}

}  // namespace vigil

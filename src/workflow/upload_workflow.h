// The upload workflow: one upload's life from bytes to its recorded outcome, the same path for the
// HTTP API (POST /v1/content), the CLI's offline backfill (`vigil scan`) and any other caller.
//
//   Submit(upload):
//     1. checks the ids (1-256 bytes of content id, at most 256 of user id, no control characters);
//     2. hashes the bytes through the MediaHasher seam (in-process, or a sandboxed worker pool):
//        images get digests, PDQ and the extra measures some enabled bank uses; videos get vPDQ;
//        licensed-hash plug-ins, where configured, hash it in their own sandbox workers and match
//        it there against their types' entries;
//     3. matches every signal against the matcher's enabled banks (videos by their frames), and
//        has the configured classifiers score it (classifier.h; a classifier that fails, times out
//        or is switched off by its circuit breaker costs the upload its scores, nothing more);
//     4. records the upload, its matches and the policy's outcome (block, hold, case, report queue,
//        account action) in one store transaction, keeping the bytes in the MediaStore before that
//        commit when the outcome opens or grows a case.
//   A retry with the same content id, user and bytes answers the first outcome again (`replayed`);
//   the same id with other bytes or another user is kAlreadyExists. Nothing is recorded when any
//   step fails.
//
// Thread safety: Submit may run on many threads at once; SetRules may be called meanwhile (each
// Submit uses the rules current when it starts).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>

#include "signals/media_hashing.h"
#include "store/media_store.h"
#include "vigil/cases.h"
#include "vigil/matcher.h"
#include "vigil/policy.h"
#include "vigil/store.h"

namespace vigil {

// Hashes hostile bytes (HashMedia in-process, or a sandboxed worker's answer).
using MediaHasher = std::function<Result<HashedMedia>(std::span<const std::uint8_t>, const MediaHashOptions&)>;

struct UploadRequest {
  std::string content_id;     // the platform's id for the upload (1-256 bytes)
  std::string user_id;        // the uploader; empty when unknown (then nothing can be reported)
  std::string metadata_json;  // a JSON object (ip_event, ...) or empty
  std::span<const std::uint8_t> bytes;
};

// An upload hashed and matched, not yet recorded (Prepare): `bytes` are the request's, which the
// caller keeps alive until it is recorded.
struct PreparedUpload {
  ContentRecord content;  // matches filled in
  std::span<const std::uint8_t> bytes;
};

struct UploadWorkflowOptions {
  DecodeLimits decode_limits;
  VideoHashOptions video;        // one frame a second by default
  VpdqMatchOptions video_match;  // HMA's defaults
  std::string actor = "policy";  // who the audit log says applied the policy
  // The classifiers that score each upload (classify/classifier_set.h); empty: none.
  std::function<std::vector<Classification>(const ClassifierInput&)> classify;
  // Licensed-hash plug-ins (sandbox/plugin_signals.h): each plug-in's value of the upload, stored
  // with it, and the entries of its type it matches, recorded like any match. Empty: none. An
  // error (a plug-in crashed or looped on this upload) fails the upload, as a decoder's would.
  std::function<Result<std::vector<PluginSignalMatch>>(std::span<const std::uint8_t>, const MediaHashOptions&)> plugin_signals;
  // Called once per match found (bank name, signal type): metrics.
  std::function<void(const std::string& bank, const std::string& signal_type)> on_match;
};

class UploadWorkflow {
 public:
  // `media` may be null: then nothing is kept (a case opened meanwhile has no media to review).
  UploadWorkflow(UploadRecorder& recorder, const Matcher& matcher, MediaHasher hasher, MediaStore* media,
                 UploadWorkflowOptions options);

  // Hash, match, record with the policy's outcome; see the top of this file.
  Result<RecordedUpload> Submit(const UploadRequest& upload) const;

  // Submit in two steps, for callers that record many uploads at once (stream workers): Prepare
  // does steps 1-3 and records nothing; Record is step 4 for one upload; RecordUnmatched records
  // uploads that matched nothing and have no classifier scores (no policy applies to them) in one
  // transaction, one answer each, in order (an upload with matches is kInvalidArgument there:
  // Record it, and one with classifications: NeedsPolicy says which).
  Result<PreparedUpload> Prepare(const UploadRequest& upload) const;
  // Steps 1-2 only: the upload checked and hashed (by the workflow's hasher: the decoder sandbox
  // in the service), not matched nor recorded. For callers that need the hashes alone (HMA's
  // lookups, which match by HMA's rules; a file added to a bank).
  Result<ContentRecord> Describe(const UploadRequest& upload) const;
  Result<RecordedUpload> Record(const PreparedUpload& prepared) const;
  // Whether a prepared upload goes through Record (the policy may act on it), not RecordUnmatched.
  static bool NeedsPolicy(const PreparedUpload& prepared) {
    return !prepared.content.matches.empty() || !prepared.content.classifications.empty();
  }
  std::vector<Result<RecordedUpload>> RecordUnmatched(std::span<const PreparedUpload> prepared) const;
  // Matches found after the upload was recorded (RetroMatcher, workflow/retro_matcher.h), with the
  // rules current now (see UploadRecorder::RecordLateMatches).
  Result<RecordedUpload> RecordLate(const std::string& content_id, const std::vector<MatchRecord>& matches) const;
  // A copy found by a sweep (RetroMatcher::Sweep; its matches carry sweep_of): as RecordLate, but
  // the rules may only decide for the content. Whatever they say, the copy is held for a person (a
  // case for its account) and nothing is done to the account or reported; when no rule fires,
  // `block_by_default` says whether the copy is blocked meanwhile, and the case's category is the
  // sweeping decision's (`category`).
  Result<RecordedUpload> RecordSwept(const std::string& content_id, const std::vector<MatchRecord>& matches,
                                     bool block_by_default, const std::string& category) const;
  // The first allow-list (negative bank) entry any of these signals matches; 0: none.
  Result<std::int64_t> AllowListEntry(const std::vector<LookupSignal>& signals) const;

  // The rules applied to each upload from now on; null: matches are recorded and nothing acts.
  void SetRules(std::shared_ptr<const PolicyRules> rules);
  std::shared_ptr<const PolicyRules> Rules() const;

 private:
  Result<std::vector<MatchRecord>> Match(const HashedMedia& hashed, const std::vector<PluginSignalMatch>& plugins) const;
  // Checks and hashes the upload (the extra measures only when `extra`), filling `content`, and
  // `plugins` with the plug-ins' values and matches.
  Result<HashedMedia> HashInto(const UploadRequest& upload, bool extra, ContentRecord& content,
                               std::vector<PluginSignalMatch>& plugins) const;

  UploadRecorder& recorder_;
  const Matcher& matcher_;
  MediaHasher hasher_;
  MediaStore* media_;
  UploadWorkflowOptions options_;
  mutable std::mutex rules_mu_;
  std::shared_ptr<const PolicyRules> rules_;
};

// Checks an upload's ids: what Submit refuses (kInvalidArgument naming the field).
Status CheckUploadIds(const std::string& content_id, const std::string& user_id);

}  // namespace vigil

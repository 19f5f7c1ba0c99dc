// Migrations. Each is SQL common to SQLite and PostgreSQL, with {{ID}} for the auto-increment
// key. Times are BIGINT microseconds since the epoch; booleans are INTEGER 0/1; JSON is TEXT.
// Never edit a released migration: add a new one.
#include "store/schema.h"

#include <algorithm>
#include <array>
#include <string>

#include "vigil/clock.h"

namespace vigil::store {
namespace {

constexpr std::array<std::string_view, 19> kMigrations = {
    // 1: banks, entries, content, matches, keys, imports, audit.
    R"sql(
CREATE TABLE banks (
  id {{ID}},
  name TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  labels TEXT NOT NULL DEFAULT '[]',
  enabled INTEGER NOT NULL DEFAULT 1,
  pdq_max_distance INTEGER NOT NULL DEFAULT 31,
  pdq_min_quality INTEGER NOT NULL DEFAULT 50,
  sync_checkpoint TEXT,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  deleted_at BIGINT
);
CREATE UNIQUE INDEX banks_live_name ON banks(name) WHERE deleted_at IS NULL;

CREATE TABLE imports (
  id {{ID}},
  bank_id BIGINT NOT NULL REFERENCES banks(id),
  format TEXT NOT NULL,
  source TEXT NOT NULL DEFAULT '',
  actor TEXT NOT NULL DEFAULT '',
  status TEXT NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  added BIGINT NOT NULL DEFAULT 0,
  removed BIGINT NOT NULL DEFAULT 0,
  unchanged BIGINT NOT NULL DEFAULT 0,
  checkpoint TEXT,
  started_at BIGINT NOT NULL,
  finished_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX imports_bank ON imports(bank_id, id);

CREATE TABLE bank_entries (
  id {{ID}},
  bank_id BIGINT NOT NULL REFERENCES banks(id),
  signal_type TEXT NOT NULL,
  value TEXT NOT NULL,
  source TEXT NOT NULL DEFAULT '',
  member TEXT NOT NULL DEFAULT '',
  external_id TEXT NOT NULL DEFAULT '',
  classification TEXT NOT NULL DEFAULT '',
  added_at BIGINT NOT NULL,
  import_id BIGINT REFERENCES imports(id),
  removed_at BIGINT,
  removed_import_id BIGINT REFERENCES imports(id)
);
CREATE UNIQUE INDEX bank_entries_live ON bank_entries(bank_id, signal_type, value) WHERE removed_at IS NULL;
CREATE INDEX bank_entries_record ON bank_entries(bank_id, member, external_id) WHERE removed_at IS NULL;
CREATE INDEX bank_entries_removed ON bank_entries(removed_import_id) WHERE removed_import_id IS NOT NULL;

CREATE TABLE content (
  id {{ID}},
  content_id TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL DEFAULT '',
  media_type TEXT NOT NULL DEFAULT '',
  byte_size BIGINT NOT NULL DEFAULT 0,
  md5 TEXT,
  sha1 TEXT,
  sha256 TEXT,
  pdq TEXT,
  pdq_quality INTEGER,
  submitted_at BIGINT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX content_user ON content(user_id);

CREATE TABLE matches (
  id {{ID}},
  content_row BIGINT NOT NULL REFERENCES content(id),
  bank_id BIGINT NOT NULL REFERENCES banks(id),
  entry_id BIGINT NOT NULL REFERENCES bank_entries(id),
  signal_type TEXT NOT NULL,
  distance INTEGER NOT NULL,
  quality INTEGER,
  matched_at BIGINT NOT NULL
);
CREATE INDEX matches_content ON matches(content_row);
CREATE INDEX matches_bank ON matches(bank_id, matched_at);

CREATE TABLE api_keys (
  id {{ID}},
  name TEXT NOT NULL,
  role TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE,
  prefix TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE UNIQUE INDEX api_keys_live_name ON api_keys(name) WHERE revoked_at IS NULL;

CREATE TABLE audit_log (
  id {{ID}},
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL DEFAULT '',
  detail TEXT NOT NULL DEFAULT ''
);
)sql",
    // 2: video. A vPDQ entry's value is the SHA-256 of its canonical frame list, which lives in
    // `payload`; uploads keep their frame list; a match keeps its video percentages in `detail`.
    R"sql(
ALTER TABLE bank_entries ADD COLUMN payload TEXT;
ALTER TABLE content ADD COLUMN vpdq TEXT;
ALTER TABLE matches ADD COLUMN detail TEXT;
)sql",
    // 3: per-bank matching measures beyond the reference hash (docs/evaluation.md): the upload's
    // eight rotations/flips, and its hash inside detected borders.
    R"sql(
ALTER TABLE banks ADD COLUMN match_dihedral INTEGER NOT NULL DEFAULT 0;
ALTER TABLE banks ADD COLUMN match_trimmed INTEGER NOT NULL DEFAULT 0;
)sql",
    // 4: the workflow: a hash-chained audit log, accounts, cases and their items, decisions, media
    // views, enforcement actions with statements of reasons, appeals, false-positive feedback,
    // and the state of each upload.
    R"sql(
ALTER TABLE audit_log ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY,
  records BIGINT NOT NULL,
  last_id BIGINT NOT NULL,
  last_hash TEXT NOT NULL
);
ALTER TABLE content ADD COLUMN state TEXT NOT NULL DEFAULT 'visible';
ALTER TABLE content ADD COLUMN media_sha256 TEXT;
ALTER TABLE bank_entries ADD COLUMN disabled_reason TEXT;
CREATE TABLE accounts (
  user_id TEXT PRIMARY KEY,
  state TEXT NOT NULL,
  until_at BIGINT,
  updated_at BIGINT NOT NULL
);
CREATE TABLE cases (
  id {{ID}},
  user_id TEXT NOT NULL,
  status TEXT NOT NULL,
  priority INTEGER NOT NULL,
  sla_due BIGINT NOT NULL,
  assigned_to TEXT NOT NULL DEFAULT '',
  lease_until BIGINT NOT NULL DEFAULT 0,
  second_review INTEGER NOT NULL DEFAULT 0,
  report_queued INTEGER NOT NULL DEFAULT 0,
  rules TEXT NOT NULL DEFAULT '[]',
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX cases_one_open_per_user ON cases(user_id) WHERE status IN ('open', 'in_review', 'escalated');
CREATE INDEX cases_status ON cases(status, priority, sla_due);
CREATE TABLE case_items (
  case_id BIGINT NOT NULL REFERENCES cases(id),
  content_row BIGINT NOT NULL REFERENCES content(id),
  PRIMARY KEY (case_id, content_row)
);
CREATE TABLE decisions (
  id {{ID}},
  case_id BIGINT NOT NULL REFERENCES cases(id),
  reviewer TEXT NOT NULL,
  verdict TEXT NOT NULL,
  classification TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  viewed TEXT NOT NULL DEFAULT '[]',
  second_review INTEGER NOT NULL DEFAULT 0,
  account_action TEXT NOT NULL DEFAULT '',
  account_days INTEGER,
  decided_at BIGINT NOT NULL
);
CREATE TABLE media_views (
  id {{ID}},
  case_id BIGINT NOT NULL REFERENCES cases(id),
  content_id TEXT NOT NULL,
  reviewer TEXT NOT NULL,
  at BIGINT NOT NULL
);
CREATE TABLE actions (
  id {{ID}},
  user_id TEXT NOT NULL,
  content_id TEXT NOT NULL DEFAULT '',
  kind TEXT NOT NULL,
  until_at BIGINT,
  ground TEXT NOT NULL,
  facts TEXT NOT NULL,
  automated INTEGER NOT NULL,
  redress TEXT NOT NULL,
  actor TEXT NOT NULL,
  case_id BIGINT NOT NULL DEFAULT 0,
  decision_id BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  notified_at BIGINT
);
CREATE INDEX actions_user ON actions(user_id, id);
CREATE TABLE appeals (
  id {{ID}},
  action_id BIGINT NOT NULL REFERENCES actions(id),
  user_id TEXT NOT NULL,
  statement TEXT NOT NULL,
  status TEXT NOT NULL,
  assigned_to TEXT NOT NULL DEFAULT '',
  original_decider TEXT NOT NULL DEFAULT '',
  decided_by TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  sla_due BIGINT NOT NULL,
  decided_at BIGINT
);
CREATE UNIQUE INDEX appeals_one_per_action ON appeals(action_id);
CREATE TABLE entry_feedback (
  id {{ID}},
  entry_id BIGINT NOT NULL REFERENCES bank_entries(id),
  reason TEXT NOT NULL,
  reviewer TEXT NOT NULL,
  at BIGINT NOT NULL
);
)sql",
    // 5: reporting and preservation: CyberTipline reports and each file's progress, the evidence
    // vault's items, law-enforcement legal process and the cases it concerns.
    R"sql(
CREATE TABLE reports (
  id {{ID}},
  case_id BIGINT NOT NULL REFERENCES cases(id),
  user_id TEXT NOT NULL,
  state TEXT NOT NULL,
  in_flight TEXT NOT NULL DEFAULT '',
  ncmec_report_id TEXT NOT NULL DEFAULT '',
  report_xml TEXT NOT NULL,
  created_by TEXT NOT NULL,
  approved_by TEXT NOT NULL DEFAULT '',
  approved_at BIGINT,
  filed_at BIGINT,
  last_code INTEGER NOT NULL DEFAULT -1,
  last_error TEXT NOT NULL DEFAULT '',
  last_request_id TEXT NOT NULL DEFAULT '',
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL,
  version BIGINT NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX reports_one_live_per_case ON reports(case_id) WHERE state <> 'retracted';
CREATE INDEX reports_state ON reports(state, id);
CREATE TABLE report_files (
  report_id BIGINT NOT NULL REFERENCES reports(id),
  position INTEGER NOT NULL,
  content_id TEXT NOT NULL,
  sha256 TEXT NOT NULL,
  state TEXT NOT NULL,
  ncmec_file_id TEXT NOT NULL DEFAULT '',
  ncmec_md5 TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (report_id, position)
);
CREATE TABLE evidence (
  id {{ID}},
  address TEXT NOT NULL,
  kind TEXT NOT NULL,
  media_type TEXT NOT NULL,
  size BIGINT NOT NULL,
  case_id BIGINT NOT NULL DEFAULT 0,
  report_id BIGINT NOT NULL DEFAULT 0,
  content_id TEXT NOT NULL DEFAULT '',
  wrapped_key TEXT NOT NULL,
  nonce TEXT NOT NULL,
  preserved_at BIGINT NOT NULL,
  hold_until BIGINT NOT NULL,
  purged_at BIGINT
);
CREATE INDEX evidence_case ON evidence(case_id, id);
CREATE INDEX evidence_hold ON evidence(hold_until) WHERE purged_at IS NULL;
CREATE TABLE legal_requests (
  id {{ID}},
  type TEXT NOT NULL,
  agency TEXT NOT NULL,
  case_number TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  due_at BIGINT,
  scope TEXT NOT NULL,
  status TEXT NOT NULL,
  created_by TEXT NOT NULL,
  produced_at BIGINT,
  produced_by TEXT NOT NULL DEFAULT '',
  package_sha256 TEXT NOT NULL DEFAULT ''
);
CREATE TABLE legal_request_cases (
  request_id BIGINT NOT NULL REFERENCES legal_requests(id),
  case_id BIGINT NOT NULL REFERENCES cases(id),
  PRIMARY KEY (request_id, case_id)
);
CREATE INDEX audit_log_target ON audit_log(target, id);
)sql",
    // 6: indexes the workflow and the transparency report look up by (a year of history had made
    // the per-case decision lookups and the report's time ranges scans: 37 s for 150k events).
    R"sql(
CREATE INDEX decisions_case ON decisions(case_id, id);
CREATE INDEX decisions_reviewer ON decisions(reviewer);
CREATE INDEX decisions_time ON decisions(decided_at);
CREATE INDEX media_views_case ON media_views(case_id, reviewer);
CREATE INDEX actions_time ON actions(created_at);
CREATE INDEX appeals_time ON appeals(created_at);
CREATE INDEX appeals_decider ON appeals(original_decider, status);
CREATE INDEX reports_filed ON reports(filed_at);
CREATE INDEX reports_in_flight ON reports(id) WHERE in_flight <> '';
CREATE INDEX legal_requests_received ON legal_requests(received_at);
)sql",
    // 7: what a go-live trial found wrong. The taxonomy of violations on banks, cases, decisions and
    // actions; statements of reasons apart from staff-only detail; per-file classifications; the
    // policy outcome committed with its upload; appeals of whole decisions; local overrides of list
    // entries that re-imports respect; reports that follow their case; P0 = most urgent. API keys:
    // sensitive roles pending a second admin, who minted and approved each key (backfilled from the
    // audit log), and names never reused: a unique index over every name, case-insensitively, after
    // suffixing all but one row of each name (the live one, else the newest) with "~revoked-<id>"
    // ("~<id>" for a live case variant), so older duplicates cannot fail the migration.
    R"sql(
ALTER TABLE banks ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE cases ADD COLUMN report_problem TEXT NOT NULL DEFAULT '';
UPDATE cases SET priority = 3 - priority;
ALTER TABLE decisions ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE decisions ADD COLUMN cybertip INTEGER NOT NULL DEFAULT 0;
ALTER TABLE decisions ADD COLUMN file_classifications TEXT NOT NULL DEFAULT '{}';
ALTER TABLE decisions ADD COLUMN user_statement TEXT NOT NULL DEFAULT '';
UPDATE decisions SET cybertip = 1, category = 'csam' WHERE verdict = 'violating';
ALTER TABLE actions ADD COLUMN category TEXT NOT NULL DEFAULT '';
ALTER TABLE actions ADD COLUMN legal_basis TEXT NOT NULL DEFAULT '';
ALTER TABLE actions ADD COLUMN internal_detail TEXT NOT NULL DEFAULT '';
ALTER TABLE actions ADD COLUMN undone_by BIGINT;
CREATE INDEX actions_decision ON actions(decision_id) WHERE decision_id <> 0;
CREATE INDEX actions_case ON actions(case_id) WHERE case_id <> 0;
ALTER TABLE content ADD COLUMN outcome TEXT;
ALTER TABLE appeals ADD COLUMN decision_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE appeals ADD COLUMN case_id BIGINT NOT NULL DEFAULT 0;
ALTER TABLE appeals ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
UPDATE appeals SET outcome = status WHERE status IN ('upheld', 'overturned');
UPDATE appeals SET case_id = COALESCE((SELECT a.case_id FROM actions a WHERE a.id = appeals.action_id), 0),
                   decision_id = COALESCE((SELECT a.decision_id FROM actions a WHERE a.id = appeals.action_id), 0);
CREATE TABLE appeal_actions (
  appeal_id BIGINT NOT NULL REFERENCES appeals(id),
  action_id BIGINT NOT NULL REFERENCES actions(id),
  undone INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (appeal_id, action_id)
);
CREATE UNIQUE INDEX appeal_actions_one_appeal ON appeal_actions(action_id);
INSERT INTO appeal_actions (appeal_id, action_id, undone)
  SELECT id, action_id, CASE WHEN status = 'overturned' THEN 1 ELSE 0 END FROM appeals;
CREATE TABLE overrides (
  id {{ID}},
  bank_id BIGINT NOT NULL REFERENCES banks(id),
  signal_type TEXT NOT NULL,
  value TEXT NOT NULL,
  reason TEXT NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  entry_id BIGINT NOT NULL DEFAULT 0,
  source TEXT NOT NULL DEFAULT '',
  member TEXT NOT NULL DEFAULT '',
  external_id TEXT NOT NULL DEFAULT '',
  classification TEXT NOT NULL DEFAULT '',
  payload TEXT,
  skipped BIGINT NOT NULL DEFAULT 0,
  revoked_at BIGINT,
  revoked_by TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX overrides_live ON overrides(bank_id, signal_type, value) WHERE revoked_at IS NULL;
INSERT INTO overrides (bank_id, signal_type, value, reason, created_by, created_at, entry_id, source, member,
                       external_id, classification, payload)
  SELECT e.bank_id, e.signal_type, e.value, e.disabled_reason,
         COALESCE((SELECT f.reviewer FROM entry_feedback f WHERE f.entry_id = e.id ORDER BY f.id LIMIT 1), 'review'),
         e.removed_at, e.id, e.source, e.member, e.external_id, e.classification, e.payload
  FROM bank_entries e
  WHERE e.disabled_reason IS NOT NULL AND e.id = (SELECT MAX(x.id) FROM bank_entries x WHERE x.bank_id = e.bank_id
        AND x.signal_type = e.signal_type AND x.value = e.value AND x.disabled_reason IS NOT NULL);
ALTER TABLE reports ADD COLUMN withdraw_reason TEXT NOT NULL DEFAULT '';
DROP INDEX reports_one_live_per_case;
CREATE UNIQUE INDEX reports_one_live_per_case ON reports(case_id) WHERE state NOT IN ('retracted', 'voided');
ALTER TABLE api_keys ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE api_keys ADD COLUMN created_by TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN approved_by TEXT NOT NULL DEFAULT '';
ALTER TABLE api_keys ADD COLUMN approved_at BIGINT;
UPDATE api_keys SET created_by = COALESCE((SELECT a.actor FROM audit_log a WHERE a.target = api_keys.name
                                           AND a.action = 'key.create' AND a.at >= api_keys.created_at
                                           ORDER BY a.id LIMIT 1), '');
UPDATE api_keys SET name = name || CASE WHEN revoked_at IS NULL THEN '~' ELSE '~revoked-' END || CAST(id AS TEXT)
  WHERE EXISTS (SELECT 1 FROM api_keys k WHERE LOWER(k.name) = LOWER(api_keys.name) AND k.id <> api_keys.id
                AND ((k.revoked_at IS NULL AND api_keys.revoked_at IS NOT NULL)
                     OR ((k.revoked_at IS NULL) = (api_keys.revoked_at IS NULL) AND k.id > api_keys.id)));
DROP INDEX api_keys_live_name;
CREATE UNIQUE INDEX api_keys_name ON api_keys(LOWER(name));
)sql",
    // 8: uploads that matched nothing move to their own table, `uploads`, which retention may
    // empty (store/upload_retention.h); `content` keeps what matched or anything was done about,
    // for good. On PostgreSQL `uploads` is partitioned by day of submission (uploads_pYYYYMMDD,
    // made ahead of time by the maintenance; uploads_default catches anything else), so retention
    // drops a day at a time. A content id is taken in one table or the other, never both.
    // Each upload has a row_id (increasing, never reused) for the index of past uploads to follow.
    // And the database's identity, so that a matcher snapshot is never loaded against another.
    R"sql(
{{POSTGRES}}CREATE SEQUENCE uploads_row_id;{{END}}
CREATE TABLE uploads (
  {{POSTGRES}}row_id BIGINT NOT NULL DEFAULT nextval('uploads_row_id'),{{END}}{{SQLITE}}row_id INTEGER PRIMARY KEY,{{END}}
  content_id TEXT NOT NULL,
  user_id TEXT NOT NULL DEFAULT '',
  media_type TEXT NOT NULL DEFAULT '',
  byte_size BIGINT NOT NULL DEFAULT 0,
  md5 TEXT,
  sha1 TEXT,
  sha256 TEXT,
  pdq TEXT,
  pdq_quality INTEGER,
  submitted_at BIGINT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}',
  vpdq TEXT,
  outcome TEXT
){{POSTGRES}} PARTITION BY RANGE (submitted_at){{END}};
{{POSTGRES}}CREATE TABLE uploads_default PARTITION OF uploads DEFAULT;
CREATE INDEX uploads_content_id ON uploads(content_id);
CREATE INDEX uploads_row ON uploads(row_id);
CREATE INDEX uploads_default_time ON uploads_default(submitted_at);{{END}}
{{SQLITE}}CREATE UNIQUE INDEX uploads_content_id ON uploads(content_id);
CREATE INDEX uploads_time ON uploads(submitted_at);{{END}}
CREATE INDEX uploads_user ON uploads(user_id);
INSERT INTO uploads (content_id, user_id, media_type, byte_size, md5, sha1, sha256, pdq, pdq_quality, submitted_at,
                     metadata, vpdq, outcome)
  SELECT content_id, user_id, media_type, byte_size, md5, sha1, sha256, pdq, pdq_quality, submitted_at, metadata,
         vpdq, outcome FROM content
  WHERE state = 'visible' AND media_sha256 IS NULL
    AND id NOT IN (SELECT content_row FROM matches) AND id NOT IN (SELECT content_row FROM case_items)
    AND content_id NOT IN (SELECT content_id FROM actions) AND content_id NOT IN (SELECT content_id FROM evidence)
    AND content_id NOT IN (SELECT content_id FROM report_files)
    AND content_id NOT IN (SELECT content_id FROM media_views);
DELETE FROM content WHERE content_id IN (SELECT content_id FROM uploads);
ALTER TABLE matches ADD COLUMN retroactive INTEGER NOT NULL DEFAULT 0;
ALTER TABLE matches ADD COLUMN suppressed_by BIGINT;
ALTER TABLE banks ADD COLUMN negative INTEGER NOT NULL DEFAULT 0;
ALTER TABLE matches ADD COLUMN quarantined INTEGER NOT NULL DEFAULT 0;
CREATE INDEX matches_entry_time ON matches(entry_id, matched_at);
CREATE INDEX case_items_content ON case_items(content_row);
CREATE TABLE entry_quarantine (
  id {{ID}},
  entry_id BIGINT NOT NULL REFERENCES bank_entries(id),
  since BIGINT NOT NULL,
  distinct_users BIGINT NOT NULL,
  released_at BIGINT,
  released_by TEXT NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX entry_quarantine_live ON entry_quarantine(entry_id) WHERE released_at IS NULL;
DROP INDEX cases_one_open_per_user;
CREATE UNIQUE INDEX cases_one_open_per_user ON cases(user_id)
  WHERE status IN ('open', 'in_review', 'escalated') AND user_id <> '';
CREATE TABLE store_identity (id TEXT NOT NULL);
{{POSTGRES}}INSERT INTO store_identity (id) VALUES (gen_random_uuid()::text);{{END}}
{{SQLITE}}INSERT INTO store_identity (id) VALUES (lower(hex(randomblob(16))));{{END}}
)sql",
    // 9: sweeps (workflow/retro_matcher.h): a match found by sweeping past uploads for copies of a
    // file confirmed violating names the case whose decision started the sweep. A case's items
    // say when they joined it and a case when it was last claimed: a decision covers only what its
    // reviewer could see (an upload added after the claim is refused until the case is claimed again).
    // And on SQLite, `uploads` row numbers are never reused: an INTEGER PRIMARY KEY without
    // AUTOINCREMENT took the largest number again once that row had moved to `content`, and the
    // index of past uploads, which follows rows past the last it read, never saw the new upload.
    R"sql(
ALTER TABLE matches ADD COLUMN sweep_of BIGINT;
CREATE INDEX matches_sweep ON matches(sweep_of) WHERE sweep_of IS NOT NULL;
ALTER TABLE case_items ADD COLUMN added_at BIGINT;
ALTER TABLE cases ADD COLUMN claimed_at BIGINT;
{{SQLITE}}CREATE TABLE uploads_numbered (
  row_id INTEGER PRIMARY KEY AUTOINCREMENT,
  content_id TEXT NOT NULL,
  user_id TEXT NOT NULL DEFAULT '',
  media_type TEXT NOT NULL DEFAULT '',
  byte_size BIGINT NOT NULL DEFAULT 0,
  md5 TEXT,
  sha1 TEXT,
  sha256 TEXT,
  pdq TEXT,
  pdq_quality INTEGER,
  submitted_at BIGINT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}',
  vpdq TEXT,
  outcome TEXT
);
INSERT INTO uploads_numbered (row_id, content_id, user_id, media_type, byte_size, md5, sha1, sha256, pdq, pdq_quality,
                              submitted_at, metadata, vpdq, outcome)
  SELECT row_id, content_id, user_id, media_type, byte_size, md5, sha1, sha256, pdq, pdq_quality, submitted_at,
         metadata, vpdq, outcome FROM uploads;
DROP TABLE uploads;
ALTER TABLE uploads_numbered RENAME TO uploads;
CREATE UNIQUE INDEX uploads_content_id ON uploads(content_id);
CREATE INDEX uploads_time ON uploads(submitted_at);
CREATE INDEX uploads_user ON uploads(user_id);{{END}}
)sql",
    // 10: hash sharing between platforms: partners and their trusted keys, bundles received (and
    // held for review), bundles this platform exported.
    R"sql(
CREATE TABLE partners (
  id {{ID}},
  name TEXT NOT NULL UNIQUE,
  public_key TEXT NOT NULL,
  bank TEXT NOT NULL,
  trust TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  removed_at BIGINT
);
CREATE UNIQUE INDEX partners_live_key ON partners(public_key) WHERE removed_at IS NULL;
CREATE TABLE partner_bundles (
  id {{ID}},
  partner_id BIGINT NOT NULL REFERENCES partners(id),
  sharer TEXT NOT NULL,
  sharer_bank TEXT NOT NULL,
  sequence BIGINT NOT NULL,
  kind TEXT NOT NULL,
  since_import BIGINT NOT NULL,
  through_import BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  signer TEXT NOT NULL,
  status TEXT NOT NULL,
  entries BIGINT NOT NULL,
  removals BIGINT NOT NULL,
  document TEXT,
  import_id BIGINT REFERENCES imports(id),
  received_at BIGINT NOT NULL,
  received_by TEXT NOT NULL,
  decided_at BIGINT,
  decided_by TEXT,
  UNIQUE (partner_id, sharer_bank, sequence)
);
CREATE TABLE bundle_exports (
  id {{ID}},
  bank_id BIGINT NOT NULL REFERENCES banks(id),
  sequence BIGINT NOT NULL,
  kind TEXT NOT NULL,
  since_import BIGINT NOT NULL,
  through_import BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  entries BIGINT NOT NULL,
  removals BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  UNIQUE (bank_id, sequence)
);
)sql",
    // 11: exchanges: banks kept in sync with a hash-sharing service, their status and lease, and
    // the feedback queue that sends review decisions back; entries keep the list's own time for
    // their record.
    R"sql(
CREATE TABLE exchanges (
  id {{ID}},
  name TEXT NOT NULL UNIQUE,
  kind TEXT NOT NULL,
  bank_id BIGINT NOT NULL UNIQUE REFERENCES banks(id),
  enabled INTEGER NOT NULL DEFAULT 1,
  interval_seconds BIGINT NOT NULL,
  feedback INTEGER NOT NULL DEFAULT 0,
  settings TEXT NOT NULL DEFAULT '{}',
  credentials TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  created_by TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  last_run_at BIGINT,
  last_success_at BIGINT,
  last_ok INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  last_fetched BIGINT NOT NULL DEFAULT 0,
  last_added BIGINT NOT NULL DEFAULT 0,
  last_removed BIGINT NOT NULL DEFAULT 0,
  total_fetched BIGINT NOT NULL DEFAULT 0,
  runs BIGINT NOT NULL DEFAULT 0,
  failures BIGINT NOT NULL DEFAULT 0,
  newest_item_at BIGINT,
  lease_holder TEXT NOT NULL DEFAULT '',
  lease_until BIGINT NOT NULL DEFAULT 0,
  decision_cursor BIGINT NOT NULL DEFAULT 0,
  disable_cursor BIGINT NOT NULL DEFAULT 0,
  appeal_cursor BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE exchange_feedback (
  id {{ID}},
  exchange_id BIGINT NOT NULL REFERENCES exchanges(id),
  entry_id BIGINT NOT NULL REFERENCES bank_entries(id),
  source TEXT NOT NULL,
  source_id BIGINT NOT NULL,
  verdict TEXT NOT NULL,
  reason TEXT NOT NULL DEFAULT '',
  state TEXT NOT NULL,
  attempts BIGINT NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  sent_at BIGINT,
  UNIQUE (exchange_id, source, source_id, entry_id)
);
CREATE INDEX exchange_feedback_due ON exchange_feedback(exchange_id, state, next_attempt_at);
ALTER TABLE bank_entries ADD COLUMN listed_at BIGINT;
CREATE INDEX exchange_feedback_entry ON exchange_feedback(entry_id);
)sql",
    // 12: the share of HMA-compatible lookups a bank takes part in, in millionths.
    R"sql(
ALTER TABLE banks ADD COLUMN enabled_ratio_ppm BIGINT NOT NULL DEFAULT 1000000;
)sql",
    // 13: events to the platform (include/vigil/events.h): the outbox, written with each change,
    // and the webhook sender's lease.
    R"sql(
CREATE TABLE events (
  id {{ID}},
  kind TEXT NOT NULL,
  user_id TEXT NOT NULL DEFAULT '',
  content_id TEXT NOT NULL DEFAULT '',
  case_id BIGINT NOT NULL DEFAULT 0,
  data TEXT NOT NULL DEFAULT '{}',
  created_at BIGINT NOT NULL,
  delivered_at BIGINT,
  attempts BIGINT NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL DEFAULT 0,
  last_error TEXT NOT NULL DEFAULT '',
  dead INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_user ON events(user_id, id);
CREATE INDEX events_pending ON events(id) WHERE delivered_at IS NULL;
CREATE TABLE event_delivery (
  id INTEGER PRIMARY KEY,
  lease_holder TEXT NOT NULL DEFAULT '',
  lease_until BIGINT NOT NULL DEFAULT 0
);
INSERT INTO event_delivery (id, lease_holder, lease_until) VALUES (1, '', 0);
)sql",
    // 14: reports about uploads from users and staff (CaseReview::ReportContent).
    R"sql(
CREATE TABLE user_reports (
  id {{ID}},
  case_id BIGINT NOT NULL,
  content_row BIGINT NOT NULL,
  source TEXT NOT NULL,
  reporter TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL DEFAULT '',
  category TEXT NOT NULL DEFAULT '',
  priority INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX user_reports_case ON user_reports(case_id);
)sql",
    // 15: review queues (include/vigil/review_queues.h) and reviewers' wellness limits, breaks and
    // exposure (include/vigil/wellness.h).
    R"sql(
ALTER TABLE cases ADD COLUMN queue TEXT NOT NULL DEFAULT 'general';
CREATE INDEX cases_queue ON cases(queue, status);
CREATE TABLE queue_members (
  queue TEXT NOT NULL,
  reviewer TEXT NOT NULL,
  added_by TEXT NOT NULL,
  added_at BIGINT NOT NULL,
  PRIMARY KEY (queue, reviewer)
);
ALTER TABLE media_views ADD COLUMN covered_at BIGINT;
CREATE INDEX media_views_reviewer ON media_views(reviewer, at);
CREATE TABLE reviewer_wellness (
  reviewer TEXT PRIMARY KEY,
  manager_limit INTEGER,
  manager_set_by TEXT NOT NULL DEFAULT '',
  own_limit INTEGER,
  period_start BIGINT NOT NULL DEFAULT 0,
  period_reveals INTEGER NOT NULL DEFAULT 0,
  break_until BIGINT NOT NULL DEFAULT 0,
  updated_at BIGINT NOT NULL
);
CREATE TABLE reviewer_breaks (
  id {{ID}},
  reviewer TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  until_at BIGINT NOT NULL,
  forced INTEGER NOT NULL
);
CREATE INDEX reviewer_breaks_reviewer ON reviewer_breaks(reviewer, started_at);
)sql",
    // 16: API keys that expire, and rotation: the previous secret keeps working until
    // previous_until (two live secrets for one key during a rotation).
    R"sql(
ALTER TABLE api_keys ADD COLUMN expires_at BIGINT;
ALTER TABLE api_keys ADD COLUMN previous_hash TEXT;
ALTER TABLE api_keys ADD COLUMN previous_until BIGINT;
CREATE INDEX api_keys_previous ON api_keys(previous_hash);
)sql",
    // 17: people who sign in through the organisation's OpenID provider (bound to a Vigil name by
    // issuer and subject), their server-side sessions, and sign-ins in progress.
    R"sql(
CREATE TABLE people (
  name TEXT PRIMARY KEY,
  issuer TEXT NOT NULL,
  subject TEXT NOT NULL,
  display_name TEXT NOT NULL DEFAULT '',
  email TEXT NOT NULL DEFAULT '',
  roles TEXT NOT NULL DEFAULT '',
  first_seen BIGINT NOT NULL,
  last_seen BIGINT NOT NULL
);
CREATE UNIQUE INDEX people_subject ON people(issuer, subject);
CREATE TABLE sessions (
  id {{ID}},
  token_hash TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  roles TEXT NOT NULL,
  issuer TEXT NOT NULL,
  subject TEXT NOT NULL,
  display_name TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  last_seen BIGINT NOT NULL,
  idle_seconds BIGINT NOT NULL,
  absolute_until BIGINT NOT NULL,
  ended_at BIGINT,
  end_reason TEXT NOT NULL DEFAULT '',
  remote TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_live ON sessions(ended_at, created_at);
CREATE TABLE sign_in_flows (
  state_hash TEXT PRIMARY KEY,
  nonce TEXT NOT NULL,
  verifier TEXT NOT NULL,
  browser TEXT NOT NULL,
  return_to TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL
);
CREATE INDEX sign_in_flows_created ON sign_in_flows(created_at);
)sql",
    // 18: what the classifiers answered for an upload (a JSON array; '' : none ran), kept with it in
    // whichever table holds it.
    R"sql(
ALTER TABLE content ADD COLUMN classifications TEXT NOT NULL DEFAULT '';
ALTER TABLE uploads ADD COLUMN classifications TEXT NOT NULL DEFAULT '';
)sql",
    // 19: the upload's values of licensed-hash plug-in signal types (a JSON object, type -> hex;
    // '' : none), kept with it in whichever table holds it.
    R"sql(
ALTER TABLE content ADD COLUMN plugin_hashes TEXT NOT NULL DEFAULT '';
ALTER TABLE uploads ADD COLUMN plugin_hashes TEXT NOT NULL DEFAULT '';
)sql",
};

}  // namespace

int LatestSchemaVersion() { return static_cast<int>(kMigrations.size()); }

Result<int> CurrentSchemaVersion(SqlConnection& connection) {
  VIGIL_ASSIGN_OR_RETURN(auto rows, connection.Query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
  return static_cast<int>(rows.at(0).Int(0));
}

Status Migrate(SqlConnection& connection, int up_to) {
  const int target = up_to > 0 ? std::min(up_to, LatestSchemaVersion()) : LatestSchemaVersion();
  if (auto created = connection.ExecuteScript(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)");
      !created) {
    return created;
  }
  VIGIL_ASSIGN_OR_RETURN(auto transaction, SqlTransaction::Start(connection));
  if (connection.dialect() == SqlDialect::kPostgres) {
    // Two servers starting at once: one migrates, the other waits here and then finds it done.
    if (auto locked = connection.Execute("LOCK TABLE schema_migrations IN EXCLUSIVE MODE"); !locked) {
      return tl::unexpected(locked.error());
    }
  }
  VIGIL_ASSIGN_OR_RETURN(auto current, CurrentSchemaVersion(connection));
  if (current > LatestSchemaVersion()) {
    return Fail(ErrorCode::kUnsupported, "the database has schema version " + std::to_string(current) +
                                             ", newer than this build's " +
                                             std::to_string(LatestSchemaVersion()) + "; upgrade vigil");
  }
  for (int version = current + 1; version <= target; ++version) {
    const auto sql = ExpandDialect(kMigrations[static_cast<std::size_t>(version - 1)], connection.dialect());
    if (auto applied = connection.ExecuteScript(sql); !applied) {
      return Fail(applied.error().code,
                  "migration " + std::to_string(version) + " failed: " + applied.error().message);
    }
    if (auto recorded = connection.Execute("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                                           {std::int64_t{version}, SystemClock().NowMicros()});
        !recorded) {
      return tl::unexpected(recorded.error());
    }
  }
  return transaction.Commit();
}

}  // namespace vigil::store

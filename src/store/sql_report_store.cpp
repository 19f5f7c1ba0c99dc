// Reports, evidence items, legal requests and transparency facts on SQL (see
// include/vigil/reports.h). Each change is one transaction with its audit record; report updates
// are compare-and-set on `version`, so two processes driving the same report cannot both act.
#include "store/sql_report_store.h"

#include "store/event_records.h"

#include <algorithm>
#include <boost/json.hpp>

#include "store/audit_chain.h"

namespace vigil::store {
namespace {

constexpr const char* kReportColumns =
    "id, case_id, user_id, state, in_flight, ncmec_report_id, report_xml, created_by, approved_by, approved_at, "
    "filed_at, last_code, last_error, last_request_id, attempts, created_at, updated_at, version, withdraw_reason";
constexpr const char* kEvidenceColumns =
    "id, address, kind, media_type, size, case_id, report_id, content_id, wrapped_key, nonce, preserved_at, "
    "hold_until, purged_at";
constexpr const char* kLegalColumns =
    "id, type, agency, case_number, received_at, due_at, scope, status, created_by, produced_at, produced_by, "
    "package_sha256";

SqlValue Opt(const std::optional<std::int64_t>& v) { return v ? SqlValue{*v} : SqlValue{}; }

EvidenceItem EvidenceFromRow(const SqlRow& r) {
  EvidenceItem e;
  e.id = r.Int(0);
  e.address = r.Text(1);
  e.kind = r.Text(2);
  e.media_type = r.Text(3);
  e.size = r.Int(4);
  e.case_id = r.Int(5);
  e.report_id = r.Int(6);
  e.content_id = r.Text(7);
  e.wrapped_key = r.Text(8);
  e.nonce = r.Text(9);
  e.preserved_at = r.Int(10);
  e.hold_until = r.Int(11);
  e.purged_at = r.OptInt(12);
  return e;
}

std::string DetectionSource(const std::string& bank, const std::string& metadata) {
  if (!bank.empty()) return "hash:" + bank;
  boost::system::error_code ec;
  const auto value = boost::json::parse(metadata, ec);
  if (!ec && value.is_object()) {
    if (const auto* d = value.as_object().if_contains("detected_by"); d != nullptr && d->is_string()) {
      const std::string s(d->as_string());
      if (s == "classifier" || s == "user_report" || s == "escalation") return s;
    }
  }
  return "other";
}

class SqlReportStore final : public ReportStore {
 public:
  SqlReportStore(ConnectionPool& pool, const Clock& clock) : pool_(pool), clock_(clock) {}

  Result<CyberTipReport> CreateReport(const CyberTipReport& d) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    const auto now = clock_.NowMicros();
    auto row = db->Query(
        "INSERT INTO reports (case_id, user_id, state, report_xml, created_by, created_at, updated_at) VALUES "
        "($1, $2, 'draft', $3, $4, $5, $5) RETURNING id",
        {d.case_id, d.user_id, d.report_xml, d.created_by, now});
    if (!row) {
      if (row.error().code == ErrorCode::kAlreadyExists) {
        return Fail(ErrorCode::kAlreadyExists, "case " + std::to_string(d.case_id) + " already has a report");
      }
      return tl::unexpected(row.error());
    }
    const std::int64_t id = row->front().Int(0);
    VIGIL_TRY(WriteFiles(*db, id, d.files, true));
    VIGIL_TRY(AppendAudit(*db, now, d.created_by, "report.draft", Target(id),
                          "case=" + std::to_string(d.case_id) + " files=" + std::to_string(d.files.size())));
    VIGIL_TRY(txn.Commit());
    return GetOn(*db, id);
  }

  Result<CyberTipReport> GetReport(std::int64_t id) override {
    auto db = pool_.Acquire();
    return GetOn(*db, id);
  }

  Result<std::vector<CyberTipReport>> ListReports(std::optional<ReportState> state, int limit) override {
    std::string sql = std::string("SELECT ") + kReportColumns + " FROM reports";
    std::vector<SqlValue> params;
    if (state) {
      sql += " WHERE state = $1";
      params.emplace_back(std::string(ReportStateName(*state)));
    }
    sql += " ORDER BY id DESC LIMIT " + std::to_string(std::clamp(limit, 1, 1000));
    return ListWhere(sql, params);
  }

  Result<std::vector<CyberTipReport>> ListUnsettledReports(int limit) override {
    return ListWhere(std::string("SELECT ") + kReportColumns +
                         " FROM reports WHERE state IN ('approved', 'open') OR in_flight <> '' OR (state = 'draft' AND "
                         "withdraw_reason <> '') ORDER BY id LIMIT " +
                         std::to_string(std::clamp(limit, 1, 1000)),
                     {});
  }

  Result<std::vector<CyberTipReport>> ListWhere(const std::string& sql, const std::vector<SqlValue>& params) {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(sql, params));
    std::vector<CyberTipReport> out;
    for (const auto& r : rows) {
      VIGIL_ASSIGN_OR_RETURN(auto report, FromRow(*db, r));
      out.push_back(std::move(report));
    }
    return out;
  }

  Result<CyberTipReport> UpdateReport(const CyberTipReport& r, const std::string& actor, const std::string& audit_action,
                                      const std::string& detail) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    const auto now = clock_.NowMicros();
    VIGIL_ASSIGN_OR_RETURN(auto before, db->Query("SELECT state FROM reports WHERE id = $1", {r.id}));
    const bool newly_filed = r.state == ReportState::kFiled && !before.empty() && before.front().Text(0) != "filed";
    auto changed = db->Execute(
        "UPDATE reports SET state = $1, in_flight = $2, ncmec_report_id = $3, approved_by = $4, approved_at = $5, "
        "filed_at = $6, last_code = $7, last_error = $8, last_request_id = $9, attempts = $10, updated_at = $11, "
        "withdraw_reason = $14, report_xml = $15, version = version + 1 WHERE id = $12 AND version = $13",
        {std::string(ReportStateName(r.state)), InFlightStepName(r.in_flight), r.ncmec_report_id, r.approved_by,
         Opt(r.approved_at ? r.approved_at : (r.approved_by.empty() ? std::nullopt : std::optional(now))),
         Opt(r.filed_at ? r.filed_at : (r.state == ReportState::kFiled ? std::optional(now) : std::nullopt)),
         std::int64_t{r.last_code}, r.last_error, r.last_request_id, std::int64_t{r.attempts}, now, r.id, r.version,
         r.withdraw_reason, r.report_xml});
    if (!changed) return tl::unexpected(changed.error());
    if (*changed == 0) {
      return Fail(ErrorCode::kAlreadyExists,
                  "report " + std::to_string(r.id) + " was changed by someone else (stale version " +
                      std::to_string(r.version) + ")");
    }
    VIGIL_TRY(WriteFiles(*db, r.id, r.files, false));
    VIGIL_TRY(AppendAudit(*db, now, actor, audit_action, Target(r.id), detail));
    if (newly_filed) {
      boost::json::object data{{"report_id", r.id}, {"ncmec_report_id", r.ncmec_report_id}};
      VIGIL_TRY(InsertEvent(*db, {"report.filed", r.user_id, "", r.case_id, boost::json::serialize(data)}, now));
    }
    VIGIL_TRY(txn.Commit());
    return GetOn(*db, r.id);
  }

  Result<EvidenceItem> AddEvidence(const EvidenceItem& e, const std::string& actor) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    auto row = db->Query(
        "INSERT INTO evidence (address, kind, media_type, size, case_id, report_id, content_id, wrapped_key, nonce, "
        "preserved_at, hold_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        {e.address, e.kind, e.media_type, e.size, e.case_id, e.report_id, e.content_id, e.wrapped_key, e.nonce,
         e.preserved_at, e.hold_until});
    if (!row) return tl::unexpected(row.error());
    const std::int64_t id = row->front().Int(0);
    VIGIL_TRY(AppendAudit(*db, e.preserved_at, actor, "evidence.preserve", "evidence:" + std::to_string(id),
                          "case=" + std::to_string(e.case_id) + " kind=" + e.kind + " sha256=" + e.address +
                              " content=" + e.content_id));
    VIGIL_TRY(txn.Commit());
    return GetEvidenceOn(*db, id);
  }

  Result<EvidenceItem> GetEvidence(std::int64_t id) override {
    auto db = pool_.Acquire();
    return GetEvidenceOn(*db, id);
  }

  Result<std::vector<EvidenceItem>> ListEvidence(std::int64_t case_id) override {
    auto db = pool_.Acquire();
    return EvidenceWhere(*db, case_id == 0 ? "purged_at IS NULL" : "case_id = $1",
                         case_id == 0 ? std::vector<SqlValue>{} : std::vector<SqlValue>{case_id});
  }

  Result<std::vector<EvidenceItem>> ExpiredEvidence(std::int64_t now) override {
    auto db = pool_.Acquire();
    return EvidenceWhere(*db, "purged_at IS NULL AND hold_until < $1", {now});
  }

  Result<int> ExtendHold(std::int64_t case_id, std::int64_t until, const std::string& actor,
                         const std::string& reason) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    auto changed = db->Execute(
        "UPDATE evidence SET hold_until = $1 WHERE case_id = $2 AND purged_at IS NULL AND hold_until < $1",
        {until, case_id});
    if (!changed) return tl::unexpected(changed.error());
    VIGIL_TRY(AppendAudit(*db, clock_.NowMicros(), actor, "evidence.hold", std::to_string(case_id),
                          "until=" + std::to_string(until) + " items=" + std::to_string(*changed) + " reason=" + reason));
    VIGIL_TRY(txn.Commit());
    return static_cast<int>(*changed);
  }

  Result<bool> MarkPurged(std::int64_t id, std::int64_t now, const std::string& actor) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    auto changed = db->Execute(
        "UPDATE evidence SET purged_at = $1, wrapped_key = '' WHERE id = $2 AND purged_at IS NULL AND hold_until < $1",
        {now, id});
    if (!changed) return tl::unexpected(changed.error());
    if (*changed == 0) return false;
    VIGIL_TRY(AppendAudit(*db, now, actor, "evidence.purge", "evidence:" + std::to_string(id), "retention ended"));
    VIGIL_TRY(txn.Commit());
    return true;
  }

  Result<int> RewrapEvidenceKeys(const std::vector<std::pair<std::int64_t, std::string>>& wrapped_keys,
                                 const std::string& actor) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    int changed = 0;
    for (const auto& [id, wrapped] : wrapped_keys) {
      VIGIL_ASSIGN_OR_RETURN(auto n, db->Execute("UPDATE evidence SET wrapped_key = $1 WHERE id = $2 AND purged_at IS NULL", {wrapped, id}));
      changed += static_cast<int>(n);
    }
    VIGIL_TRY(AppendAudit(*db, clock_.NowMicros(), actor, "evidence.rotate_key", "vault",
                          std::to_string(changed) + " item keys rewrapped with a new master key"));
    VIGIL_TRY(txn.Commit());
    return changed;
  }

  Result<LegalRequest> CreateLegalRequest(const LegalRequest& r) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    auto row = db->Query(
        "INSERT INTO legal_requests (type, agency, case_number, received_at, due_at, scope, status, created_by) "
        "VALUES ($1, $2, $3, $4, $5, $6, 'open', $7) RETURNING id",
        {r.type, r.agency, r.case_number, r.received_at, Opt(r.due_at), r.scope, r.created_by});
    if (!row) return tl::unexpected(row.error());
    const std::int64_t id = row->front().Int(0);
    for (std::int64_t case_id : r.case_ids) {
      auto linked = db->Execute("INSERT INTO legal_request_cases (request_id, case_id) VALUES ($1, $2)", {id, case_id});
      if (!linked) {
        if (linked.error().code == ErrorCode::kAlreadyExists) continue;
        return Fail(ErrorCode::kNotFound, "legal request: no case " + std::to_string(case_id));
      }
    }
    VIGIL_TRY(AppendAudit(*db, clock_.NowMicros(), r.created_by, "legal.receive", "legal:" + std::to_string(id),
                          r.type + " from " + r.agency + " (" + r.case_number + ")"));
    VIGIL_TRY(txn.Commit());
    return GetLegalOn(*db, id);
  }

  Result<LegalRequest> GetLegalRequest(std::int64_t id) override {
    auto db = pool_.Acquire();
    return GetLegalOn(*db, id);
  }

  Result<std::vector<LegalRequest>> ListLegalRequests(const std::string& status) override {
    auto db = pool_.Acquire();
    std::string sql = std::string("SELECT ") + kLegalColumns + " FROM legal_requests";
    std::vector<SqlValue> params;
    if (!status.empty()) {
      sql += " WHERE status = $1";
      params.emplace_back(status);
    }
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(sql + " ORDER BY id DESC LIMIT 1000", params));
    std::vector<LegalRequest> out;
    for (const auto& r : rows) {
      VIGIL_ASSIGN_OR_RETURN(auto request, LegalFromRow(*db, r));
      out.push_back(std::move(request));
    }
    return out;
  }

  Result<LegalRequest> RecordProduction(std::int64_t id, const std::string& package_sha256,
                                        const std::string& actor) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    const auto now = clock_.NowMicros();
    auto changed = db->Execute(
        "UPDATE legal_requests SET status = 'produced', produced_at = $1, produced_by = $2, package_sha256 = $3 "
        "WHERE id = $4",
        {now, actor, package_sha256, id});
    if (!changed) return tl::unexpected(changed.error());
    if (*changed == 0) return Fail(ErrorCode::kNotFound, "no legal request " + std::to_string(id));
    VIGIL_TRY(AppendAudit(*db, now, actor, "legal.produce", "legal:" + std::to_string(id),
                          "manifest sha256=" + package_sha256));
    VIGIL_TRY(txn.Commit());
    return GetLegalOn(*db, id);
  }

  Result<std::vector<CustodyRecord>> CustodyLog(const std::vector<std::string>& targets) override {
    auto db = pool_.Acquire();
    std::vector<CustodyRecord> out;
    if (targets.empty()) return out;
    std::string sql =
        "SELECT id, at, actor, action, target, detail, COALESCE(prev_hash, ''), COALESCE(hash, '') FROM audit_log "
        "WHERE target IN (";
    std::vector<SqlValue> params;
    for (std::size_t i = 0; i < targets.size(); ++i) {
      sql += (i ? ", $" : "$") + std::to_string(i + 1);
      params.emplace_back(targets[i]);
    }
    auto rows = db->Query(sql + ") ORDER BY id", params);
    if (!rows) return tl::unexpected(rows.error());
    for (const auto& r : *rows) {
      out.push_back({r.Int(0), r.Int(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5), r.Text(6), r.Text(7)});
    }
    return out;
  }

  Result<CustodyRecord> AuditChainRecord(std::int64_t id) override {
    auto db = pool_.Acquire();
    const std::string columns =
        "SELECT id, at, actor, action, target, detail, COALESCE(prev_hash, ''), COALESCE(hash, '') FROM audit_log ";
    VIGIL_ASSIGN_OR_RETURN(auto rows, id > 0 ? db->Query(columns + "WHERE id = $1", {id}) : db->Query(columns + "ORDER BY id DESC LIMIT 1"));
    if (rows.empty()) {
      return Fail(ErrorCode::kNotFound, id > 0 ? "no audit record " + std::to_string(id) : "the audit log is empty");
    }
    const auto& r = rows.front();
    return CustodyRecord{r.Int(0), r.Int(1), r.Text(2), r.Text(3), r.Text(4), r.Text(5), r.Text(6), r.Text(7)};
  }

  Result<TransparencyFacts> TransparencyFactsBetween(std::int64_t from, std::int64_t to) override {
    auto db = pool_.Acquire();
    TransparencyFacts facts;
    auto actions = db->Query(
        "SELECT a.kind, a.until_at, a.created_at, a.content_id, c.submitted_at, c.metadata, "
        "(SELECT b.name FROM matches m JOIN banks b ON b.id = m.bank_id WHERE m.content_row = c.id ORDER BY m.id "
        "LIMIT 1), a.user_id, a.category, a.decision_id, "
        "(SELECT m.sweep_of FROM matches m WHERE m.content_row = c.id ORDER BY m.id LIMIT 1) "
        "FROM actions a LEFT JOIN content c ON a.content_id <> '' "
        "AND c.content_id = a.content_id WHERE a.created_at >= $1 AND a.created_at < $2 ORDER BY a.id",
        {from, to});
    if (!actions) return tl::unexpected(actions.error());
    for (const auto& r : *actions) {
      TransparencyFacts::Action a;
      a.kind = r.Text(0);
      a.temporary = !r.IsNull(1);
      a.at = r.Int(2);
      a.content_id = r.Text(3);
      if (!a.content_id.empty()) {
        a.uploaded_at = r.OptInt(4);
        // A copy found by a sweep: its first match names the case whose decision swept for it.
        a.source = r.IsNull(10) ? DetectionSource(r.Text(6), r.Text(5)) : "sweep";
      }
      a.user_id = r.Text(7);
      a.category = r.Text(8);
      a.decision_id = r.Int(9);
      facts.actions.push_back(std::move(a));
    }
    auto decided = db->Query(
        "SELECT d.decided_at, d.verdict, (SELECT MIN(m.matched_at) FROM case_items ci JOIN matches m ON "
        "m.content_row = ci.content_row WHERE ci.case_id = d.case_id) FROM decisions d WHERE d.decided_at >= $1 AND "
        "d.decided_at < $2 AND d.id = (SELECT MIN(d2.id) FROM decisions d2 WHERE d2.case_id = d.case_id)",
        {from, to});
    if (!decided) return tl::unexpected(decided.error());
    for (const auto& r : *decided) {
      if (r.IsNull(2)) continue;
      facts.decisions.push_back({r.Int(2), r.Int(0), r.Text(1)});
    }
    VIGIL_ASSIGN_OR_RETURN(auto filed, db->Query("SELECT filed_at FROM reports WHERE filed_at >= $1 AND filed_at < $2", {from, to}));
    for (const auto& r : filed) facts.reports_filed.push_back(r.Int(0));
    auto appeals = db->Query(
        "SELECT created_at, decided_at, status FROM appeals WHERE created_at >= $1 AND created_at < $2", {from, to});
    if (!appeals) return tl::unexpected(appeals.error());
    for (const auto& r : *appeals) facts.appeals.push_back({r.Int(0), r.OptInt(1), r.Text(2) == "overturned"});
    auto legal = db->Query(
        "SELECT received_at, produced_at FROM legal_requests WHERE received_at >= $1 AND received_at < $2", {from, to});
    if (!legal) return tl::unexpected(legal.error());
    for (const auto& r : *legal) facts.legal_requests.push_back({r.Int(0), r.OptInt(1)});
    return facts;
  }

 private:
  static std::string Target(std::int64_t report_id) { return "report:" + std::to_string(report_id); }

  Status WriteFiles(SqlConnection& db, std::int64_t id, const std::vector<ReportedFile>& files, bool insert) {
    for (std::size_t i = 0; i < files.size(); ++i) {
      const auto& f = files[i];
      auto done = insert ? db.Execute(
                               "INSERT INTO report_files (report_id, position, content_id, sha256, state, "
                               "ncmec_file_id, ncmec_md5) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                               {id, static_cast<std::int64_t>(i), f.content_id, f.sha256, std::string(ReportedFileStateName(f.state)), f.ncmec_file_id,
                                f.ncmec_md5})
                         : db.Execute(
                               "UPDATE report_files SET state = $1, ncmec_file_id = $2, ncmec_md5 = $3 WHERE "
                               "report_id = $4 AND position = $5 AND content_id = $6",
                               {std::string(ReportedFileStateName(f.state)), f.ncmec_file_id, f.ncmec_md5, id, static_cast<std::int64_t>(i), f.content_id});
      if (!done) return tl::unexpected(done.error());
      if (*done != 1) return Fail(ErrorCode::kInvalidArgument, "report " + std::to_string(id) + ": its files changed");
    }
    return {};
  }

  Result<ReportingHealth> Health() override {
    auto db = pool_.Acquire();
    ReportingHealth h;
    VIGIL_ASSIGN_OR_RETURN(auto states, db->Query("SELECT state, COUNT(*) FROM reports GROUP BY state"));
    for (const auto& row : states) h.reports_by_state[row.Text(0)] = row.Int(1);
    auto counts = db->Query(
        "SELECT (SELECT COUNT(*) FROM reports WHERE (state IN ('approved', 'open') OR in_flight <> '') AND last_error <> ''), "
        "(SELECT COUNT(*) FROM reports WHERE state = 'open' AND withdraw_reason <> ''), "
        "(SELECT COUNT(*) FROM reports WHERE state = 'filed' AND withdraw_reason <> ''), "
        "(SELECT COUNT(*) FROM cases WHERE report_problem <> '')");
    if (!counts) return tl::unexpected(counts.error());
    const auto& row = counts->front();
    h.stalled = row.Int(0);
    h.withdrawals_pending = row.Int(1);
    h.filed_followups = row.Int(2);
    h.unreportable_cases = row.Int(3);
    return h;
  }

  Result<CyberTipReport> FromRow(SqlConnection& db, const SqlRow& r) {
    CyberTipReport c;
    c.id = r.Int(0);
    c.case_id = r.Int(1);
    c.user_id = r.Text(2);
    auto state = ParseReportState(r.Text(3));
    if (!state) return Fail(ErrorCode::kCorrupt, "report " + std::to_string(c.id) + ": " + state.error().message);
    c.state = *state;
    auto in_flight = ParseInFlightStep(r.Text(4));
    if (!in_flight) return Fail(ErrorCode::kCorrupt, "report " + std::to_string(c.id) + ": " + in_flight.error().message);
    c.in_flight = std::move(*in_flight);
    c.ncmec_report_id = r.Text(5);
    c.report_xml = r.Text(6);
    c.created_by = r.Text(7);
    c.approved_by = r.Text(8);
    c.approved_at = r.OptInt(9);
    c.filed_at = r.OptInt(10);
    c.last_code = static_cast<int>(r.Int(11));
    c.last_error = r.Text(12);
    c.last_request_id = r.Text(13);
    c.attempts = static_cast<int>(r.Int(14));
    c.created_at = r.Int(15);
    c.updated_at = r.Int(16);
    c.version = r.Int(17);
    c.withdraw_reason = r.Text(18);
    auto files = db.Query(
        "SELECT content_id, sha256, state, ncmec_file_id, ncmec_md5 FROM report_files WHERE report_id = $1 ORDER BY "
        "position",
        {c.id});
    if (!files) return tl::unexpected(files.error());
    for (const auto& f : *files) {
      auto file_state = ParseReportedFileState(f.Text(2));
      if (!file_state) {
        return Fail(ErrorCode::kCorrupt, "report " + std::to_string(c.id) + ": " + file_state.error().message);
      }
      c.files.push_back({f.Text(0), f.Text(1), *file_state, f.Text(3), f.Text(4)});
    }
    return c;
  }

  Result<CyberTipReport> GetOn(SqlConnection& db, std::int64_t id) {
    VIGIL_ASSIGN_OR_RETURN(auto rows, db.Query(std::string("SELECT ") + kReportColumns + " FROM reports WHERE id = $1", {id}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "no report " + std::to_string(id));
    return FromRow(db, rows.front());
  }

  Result<EvidenceItem> GetEvidenceOn(SqlConnection& db, std::int64_t id) {
    VIGIL_ASSIGN_OR_RETURN(auto items, EvidenceWhere(db, "id = $1", {id}));
    if (items.empty()) return Fail(ErrorCode::kNotFound, "no evidence item " + std::to_string(id));
    return items.front();
  }

  Result<std::vector<EvidenceItem>> EvidenceWhere(SqlConnection& db, const std::string& where,
                                                  const std::vector<SqlValue>& params) {
    auto rows = db.Query(std::string("SELECT ") + kEvidenceColumns + " FROM evidence WHERE " + where + " ORDER BY id",
                         params);
    if (!rows) return tl::unexpected(rows.error());
    std::vector<EvidenceItem> out;
    for (const auto& r : *rows) out.push_back(EvidenceFromRow(r));
    return out;
  }

  Result<LegalRequest> LegalFromRow(SqlConnection& db, const SqlRow& r) {
    LegalRequest l;
    l.id = r.Int(0);
    l.type = r.Text(1);
    l.agency = r.Text(2);
    l.case_number = r.Text(3);
    l.received_at = r.Int(4);
    l.due_at = r.OptInt(5);
    l.scope = r.Text(6);
    l.status = r.Text(7);
    l.created_by = r.Text(8);
    l.produced_at = r.OptInt(9);
    l.produced_by = r.Text(10);
    l.package_sha256 = r.Text(11);
    VIGIL_ASSIGN_OR_RETURN(auto cases, db.Query("SELECT case_id FROM legal_request_cases WHERE request_id = $1 ORDER BY case_id", {l.id}));
    for (const auto& c : cases) l.case_ids.push_back(c.Int(0));
    return l;
  }

  Result<LegalRequest> GetLegalOn(SqlConnection& db, std::int64_t id) {
    VIGIL_ASSIGN_OR_RETURN(auto rows, db.Query(std::string("SELECT ") + kLegalColumns + " FROM legal_requests WHERE id = $1", {id}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "no legal request " + std::to_string(id));
    return LegalFromRow(db, rows.front());
  }

  ConnectionPool& pool_;
  const Clock& clock_;
};

}  // namespace

std::unique_ptr<ReportStore> MakeSqlReportStore(ConnectionPool& pool, const Clock& clock) {
  return std::make_unique<SqlReportStore>(pool, clock);
}

}  // namespace vigil::store

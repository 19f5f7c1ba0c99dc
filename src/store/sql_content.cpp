// Uploads and their matches in SQL (see sql_content.h).
#include "store/sql_content.h"

#include <algorithm>

#include <boost/json.hpp>

#include "store/record_json.h"
#include "vigil/signal_type.h"
#include "vigil/video.h"

namespace vigil::store {
namespace {
// The upload's values of plug-in signal types, as the plugin_hashes column keeps them.
std::string PluginHashesText(const std::map<std::string, std::string>& hashes) {
  boost::json::object out;
  for (const auto& [type, value] : hashes) {
    if (const SignalTypeInfo* info = FindSignalType(type); info != nullptr && info->plugin) out[type] = value;
  }
  return out.empty() ? std::string() : boost::json::serialize(out);
}

void ReadPluginHashes(const std::string& text, std::map<std::string, std::string>& hashes) {
  if (text.empty()) return;
  boost::system::error_code ec;
  const auto parsed = boost::json::parse(text, ec);
  if (ec || !parsed.is_object()) return;
  for (const auto& [type, value] : parsed.as_object()) {
    if (value.is_string()) hashes[std::string(type)] = std::string(value.as_string());
  }
}
}  // namespace

Result<std::int64_t> InsertContentOn(SqlConnection& db, const ContentRecord& content, std::int64_t now) {
  auto hash = [&](const char* type) -> SqlValue {
    auto it = content.hashes.find(type);
    return it == content.hashes.end() ? SqlValue{} : SqlValue{it->second};
  };
  auto inserted = db.Query(
      "INSERT INTO content (content_id, user_id, media_type, byte_size, md5, sha1, sha256, pdq, pdq_quality, "
      "submitted_at, metadata, vpdq, classifications, plugin_hashes) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
      "$12, $13, $14) RETURNING id",
      {content.content_id, content.user_id, content.media_type, content.byte_size, hash("md5"), hash("sha1"),
       hash("sha256"), hash("pdq"),
       content.pdq_quality ? SqlValue{std::int64_t{*content.pdq_quality}} : SqlValue{}, now,
       content.metadata_json, content.vpdq.empty() ? SqlValue{} : SqlValue{content.vpdq},
       ClassificationsText(content.classifications), PluginHashesText(content.hashes)});
  if (!inserted) {
    if (inserted.error().code == ErrorCode::kAlreadyExists) {
      return Fail(ErrorCode::kAlreadyExists, "content '" + content.content_id + "' was already submitted");
    }
    return tl::unexpected(inserted.error());
  }
  const auto row_id = inserted->at(0).Int(0);
  for (const auto& match : content.matches) VIGIL_TRY(InsertMatchOn(db, row_id, match, now));
  return row_id;
}

Status InsertMatchOn(SqlConnection& db, std::int64_t content_row, const MatchRecord& match, std::int64_t now) {
  SqlValue detail;
  boost::json::object fields;
  if (match.query_match_percent) fields["query_match_percent"] = *match.query_match_percent;
  if (match.compared_match_percent) fields["compared_match_percent"] = *match.compared_match_percent;
  if (!match.measure.empty()) fields["measure"] = match.measure;
  if (!fields.empty()) detail = boost::json::serialize(fields);
  VIGIL_TRY(db.Execute(
      "INSERT INTO matches (content_row, bank_id, entry_id, signal_type, distance, quality, matched_at, detail, "
      "retroactive, suppressed_by, quarantined, sweep_of) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
      {content_row, match.bank_id, match.entry_id, match.signal_type, std::int64_t{match.distance},
       match.quality ? SqlValue{std::int64_t{*match.quality}} : SqlValue{}, now, detail,
       std::int64_t{match.retroactive ? 1 : 0}, match.suppressed_by != 0 ? SqlValue{match.suppressed_by} : SqlValue{},
       std::int64_t{match.quarantined ? 1 : 0}, match.sweep_of != 0 ? SqlValue{match.sweep_of} : SqlValue{}}));
  return {};
}

Result<std::optional<std::int64_t>> KeepInContentOn(SqlConnection& db, const std::string& content_id) {
  VIGIL_ASSIGN_OR_RETURN(auto there, db.Query("SELECT id FROM content WHERE content_id = $1", {content_id}));
  if (!there.empty()) return std::optional<std::int64_t>(there[0].Int(0));
  VIGIL_ASSIGN_OR_RETURN(auto moved, db.Query(std::string("INSERT INTO content (") + kUploadRecordColumns + ") SELECT " +
                                                  kUploadRecordColumns +
                                                  " FROM uploads WHERE content_id = $1 RETURNING id",
                                              {content_id}));
  if (moved.empty()) return std::optional<std::int64_t>();
  VIGIL_TRY(db.Execute("DELETE FROM uploads WHERE content_id = $1", {content_id}));
  return std::optional<std::int64_t>(moved[0].Int(0));
}

namespace {
constexpr const char* kContentColumns =
    "id, content_id, user_id, media_type, byte_size, md5, sha1, sha256, pdq, pdq_quality, submitted_at, metadata, "
    "vpdq, state, outcome, classifications, plugin_hashes";
// The same columns from `uploads` (no row id; nothing was done about an upload there).
constexpr const char* kUploadColumns =
    "0, content_id, user_id, media_type, byte_size, md5, sha1, sha256, pdq, pdq_quality, submitted_at, metadata, "
    "vpdq, 'visible', outcome, classifications, plugin_hashes";

// "$first, $first+1, ..." for `count` parameters.
std::string Placeholders(std::size_t first, std::size_t count) {
  std::string out;
  for (std::size_t i = 0; i < count; ++i) out += (i == 0 ? "$" : ", $") + std::to_string(first + i);
  return out;
}
}  // namespace

ContentRecord ContentFromRow(const SqlRow& row) {
  ContentRecord content;
  content.id = row.Int(0);
  content.content_id = row.Text(1);
  content.user_id = row.Text(2);
  content.media_type = row.Text(3);
  content.byte_size = row.Int(4);
  const char* types[] = {"md5", "sha1", "sha256", "pdq"};
  for (std::size_t i = 0; i < 4; ++i) {
    if (!row.IsNull(5 + i)) content.hashes[types[i]] = row.Text(5 + i);
  }
  if (auto quality = row.OptInt(9)) content.pdq_quality = static_cast<int>(*quality);
  content.submitted_at = row.Int(10);
  content.metadata_json = row.Text(11);
  content.vpdq = row.Text(12);
  // A video's identity: the SHA-256 of its canonical frame list (what video banks list).
  if (!content.vpdq.empty()) {
    if (auto frames = ParseVpdq(content.vpdq)) content.hashes["vpdq"] = VpdqIdentity(*frames);
  }
  content.state = row.Text(13);
  content.policy_outcome = row.Text(14);
  content.classifications = ClassificationsFromText(row.Text(15));
  ReadPluginHashes(row.Text(16), content.hashes);
  return content;
}

Status LockContentIdsOn(SqlConnection& db, std::vector<std::string> ids) {
  if (db.dialect() != SqlDialect::kPostgres || ids.empty()) return {};
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  std::string sql = "SELECT COUNT(pg_advisory_xact_lock(hashtextextended('content:' || v, 7215))) FROM (SELECT v FROM (VALUES ";
  std::vector<SqlValue> params;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    sql += (i == 0 ? "($" : ", ($") + std::to_string(i + 1) + "::text)";
    params.emplace_back(ids[i]);
  }
  sql += ") AS t(v) ORDER BY v) AS sorted";  // in order, so two batches never wait on each other in a cycle
  VIGIL_TRY(db.Query(sql, params));
  return {};
}

Result<std::vector<ContentRecord>> ReadContentsWithoutMatchesOn(SqlConnection& db, const std::vector<std::string>& ids) {
  std::vector<ContentRecord> out;
  if (ids.empty()) return out;
  std::vector<SqlValue> params(ids.begin(), ids.end());
  const std::string in = " WHERE content_id IN (" + Placeholders(1, ids.size()) + ")";
  VIGIL_ASSIGN_OR_RETURN(auto rows, db.Query(std::string("SELECT ") + kContentColumns + " FROM content" + in +
                                                 " UNION ALL SELECT " + kUploadColumns + " FROM uploads" + in,
                                             params));
  for (const auto& row : rows) out.push_back(ContentFromRow(row));
  return out;
}

Status InsertUploadsOn(SqlConnection& db, std::span<const ContentRecord> contents, std::int64_t now) {
  if (contents.empty()) return {};
  std::string sql =
      "INSERT INTO uploads (content_id, user_id, media_type, byte_size, md5, sha1, sha256, pdq, pdq_quality, "
      "submitted_at, metadata, vpdq, outcome, classifications, plugin_hashes) VALUES ";
  constexpr std::size_t kColumns = 15;
  std::vector<SqlValue> params;
  params.reserve(contents.size() * kColumns);
  for (std::size_t i = 0; i < contents.size(); ++i) {
    const auto& c = contents[i];
    auto hash = [&](const char* type) -> SqlValue {
      auto it = c.hashes.find(type);
      return it == c.hashes.end() ? SqlValue{} : SqlValue{it->second};
    };
    sql += (i == 0 ? "(" : ", (") + Placeholders(i * kColumns + 1, kColumns) + ")";
    for (auto& v : std::initializer_list<SqlValue>{
             SqlValue{c.content_id}, SqlValue{c.user_id}, SqlValue{c.media_type}, SqlValue{c.byte_size}, hash("md5"),
             hash("sha1"), hash("sha256"), hash("pdq"),
             c.pdq_quality ? SqlValue{std::int64_t{*c.pdq_quality}} : SqlValue{},
             SqlValue{c.submitted_at != 0 ? c.submitted_at : now}, SqlValue{c.metadata_json},
             c.vpdq.empty() ? SqlValue{} : SqlValue{c.vpdq},
             c.policy_outcome.empty() ? SqlValue{} : SqlValue{c.policy_outcome},
             SqlValue{ClassificationsText(c.classifications)}, SqlValue{PluginHashesText(c.hashes)}}) {
      params.push_back(v);
    }
  }
  auto inserted = db.Execute(sql, params);
  if (!inserted) return tl::unexpected(inserted.error());
  return {};
}

Result<ContentRecord> ReadContentOn(SqlConnection& db, const std::string& content_id) {
  auto rows = db.Query(std::string("SELECT ") + kContentColumns + " FROM content WHERE content_id = $1", {content_id});
  if (!rows) return tl::unexpected(rows.error());
  if (rows->empty()) {
    // An upload that matched nothing (no matches to read), unless retention has dropped it.
    rows = db.Query(std::string("SELECT ") + kUploadColumns + " FROM uploads WHERE content_id = $1", {content_id});
    if (!rows) return tl::unexpected(rows.error());
    if (rows->empty()) return Fail(ErrorCode::kNotFound, "no content with id '" + content_id + "'");
    return ContentFromRow(rows->front());
  }
  ContentRecord content = ContentFromRow(rows->front());
  auto matches = db.Query(
      "SELECT m.id, m.bank_id, b.name, m.entry_id, m.signal_type, e.value, m.distance, m.quality, e.source, "
      "e.member, e.external_id, e.classification, m.matched_at, m.detail, m.retroactive, m.suppressed_by, m.quarantined, "
      "m.sweep_of FROM matches m "
      "JOIN banks b ON b.id = m.bank_id "
      "JOIN bank_entries e ON e.id = m.entry_id WHERE m.content_row = $1 ORDER BY m.distance, m.id",
      {content.id});
  if (!matches) return tl::unexpected(matches.error());
  for (const auto& m : *matches) {
    MatchRecord match;
    match.id = m.Int(0);
    match.bank_id = m.Int(1);
    match.bank_name = m.Text(2);
    match.entry_id = m.Int(3);
    match.signal_type = m.Text(4);
    match.entry_value = m.Text(5);
    match.distance = static_cast<int>(m.Int(6));
    if (auto quality = m.OptInt(7)) match.quality = static_cast<int>(*quality);
    match.provenance = {m.Text(8), m.Text(9), m.Text(10), m.Text(11)};
    match.matched_at = m.Int(12);
    match.retroactive = m.Int(14) != 0;
    match.suppressed_by = m.Int(15);
    match.quarantined = m.Int(16) != 0;
    match.sweep_of = m.Int(17);
    if (!m.IsNull(13)) {
      boost::system::error_code ec;
      const auto detail = boost::json::parse(m.Text(13), ec);
      if (!ec && detail.is_object()) {
        if (const auto* q = detail.as_object().if_contains("query_match_percent"); q && q->is_number()) {
          match.query_match_percent = q->to_number<double>();
        }
        if (const auto* c = detail.as_object().if_contains("compared_match_percent"); c && c->is_number()) {
          match.compared_match_percent = c->to_number<double>();
        }
        if (const auto* measure = detail.as_object().if_contains("measure"); measure && measure->is_string()) {
          match.measure = std::string(measure->as_string());
        }
      }
    }
    content.matches.push_back(std::move(match));
  }
  for (auto& match : content.matches) {
    VIGIL_ASSIGN_OR_RETURN(auto counts, EntryReviewCountsOn(db, match.entry_id));
    match.entry_confirmed = counts.first;
    match.entry_rejected = counts.second;
  }
  return content;
}

Result<std::pair<std::int64_t, std::int64_t>> EntryReviewCountsOn(SqlConnection& db, std::int64_t entry_id) {
  // A violating decision an appeal overturned (the upload restored) counts as a rejection: the
  // match was wrong after all.
  constexpr const char* kDecided =
      "SELECT COUNT(DISTINCT m.content_row) FROM matches m JOIN case_items i ON i.content_row = m.content_row "
      "JOIN decisions d ON d.case_id = i.case_id JOIN content t ON t.id = m.content_row WHERE m.entry_id = $1 AND ";
  VIGIL_ASSIGN_OR_RETURN(
      auto rows, db.Query(std::string("SELECT (") + kDecided + "d.verdict = 'violating' AND t.state <> 'restored'), (" +
                              kDecided + "(d.verdict = 'not_violating' OR (d.verdict = 'violating' AND t.state = 'restored'))) "
                              "+ (SELECT COUNT(*) FROM entry_feedback f WHERE f.entry_id = $1)",
                          {entry_id}));
  return std::make_pair(rows.at(0).Int(0), rows.at(0).Int(1));
}

}  // namespace vigil::store

// People and console sessions on SQL (include/vigil/sessions.h): a person's name is bound to their
// provider's issuer and subject; a session row holds the SHA-256 of its secret, never the secret.
#include "store/sql_session_store.h"

#include "store/audit_chain.h"

#include <algorithm>
#include <chrono>
#include "vigil/digest.h"
#include "vigil/roles.h"

namespace vigil::store {
namespace {

constexpr std::int64_t kSecond = 1'000'000;
// A session's last request is written at most this often (the idle timeout's precision).
constexpr std::int64_t kTouchEvery = 60 * kSecond;

// A value of the audit log's detail, quoted ("..."; quotes and backslashes escaped): what a provider
// sends cannot pose as another field.
std::string Quoted(const std::string& value) {
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// subject="abc" issuer="https://idp" display_name="Dana Scully": who a record names, for the audit log.
std::string Who(const std::string& issuer, const std::string& subject, const std::string& display_name) {
  std::string out = "subject=";
  out.append(Quoted(subject)).append(" issuer=").append(Quoted(issuer));
  if (!display_name.empty()) out.append(" display_name=").append(Quoted(display_name));
  return out;
}

class SqlSessionStore final : public SessionStore {
 public:
  explicit SqlSessionStore(ConnectionPool& pool) : pool_(pool) {}

  Status BeginSignIn(const SignInFlow& flow) override {
    auto db = pool_.Acquire();
    // Sign-ins nobody finished are forgotten as new ones begin.
    VIGIL_TRY(db->Execute("DELETE FROM sign_in_flows WHERE created_at < $1", {flow.created_at - kSignInMicros}));
    VIGIL_TRY(db->Execute("INSERT INTO sign_in_flows (state_hash, nonce, verifier, browser, return_to, created_at) "
                          "VALUES ($1, $2, $3, $4, $5, $6)",
                          {Sha256Hex(flow.state), flow.nonce, flow.verifier, flow.browser, flow.return_to, flow.created_at}));
    return {};
  }

  Result<SignInFlow> TakeSignIn(const std::string& state, const std::string& browser, std::int64_t now) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    const std::string hash = Sha256Hex(state);
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query("SELECT nonce, verifier, browser, return_to, created_at FROM sign_in_flows "
                                                "WHERE state_hash = $1",
                                                {hash}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "no sign-in is waiting for this answer (used already, or never begun here)");
    const auto& row = rows.front();
    SignInFlow flow{state, row.Text(0), row.Text(1), row.Text(2), row.Text(3), row.Int(4)};
    // Another browser's answer is not used up here: the browser that began it may still finish it.
    if (flow.browser != browser) {
      return Fail(ErrorCode::kPermissionDenied, "this sign-in was begun in another browser (or its cookie was lost): sign in again");
    }
    // Deleted whatever follows: an answer is used once.
    VIGIL_ASSIGN_OR_RETURN(auto deleted, db->Execute("DELETE FROM sign_in_flows WHERE state_hash = $1", {hash}));
    VIGIL_TRY(txn.Commit());
    if (deleted == 0) return Fail(ErrorCode::kNotFound, "this sign-in was used already");
    if (flow.created_at <= now - kSignInMicros) {
      return Fail(ErrorCode::kNotFound, "this sign-in took longer than 10 minutes: sign in again");
    }
    return flow;
  }

  Result<NewSession> StartSession(const Person& person, const SessionTimeouts& timeouts, const std::string& remote,
                                  std::int64_t now) override {
    VIGIL_ASSIGN_OR_RETURN(const std::string roles, CanonicalRoles(person.roles));
    auto secret = RandomHex(32);
    if (!secret) return tl::unexpected(secret.error());
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    // The name is the person's only if no key has it and no other subject was bound to it first.
    VIGIL_ASSIGN_OR_RETURN(auto keys, db->Query("SELECT 1 FROM api_keys WHERE LOWER(name) = $1", {person.name}));
    // The same answer whoever holds the name (a key or another person): a refusal tells the one
    // signing in nothing about which names keys have.
    const std::string taken = "the name '" + person.name + "' is taken in Vigil by someone else; ask an admin (vigil people)";
    if (!keys.empty()) return Fail(ErrorCode::kAlreadyExists, taken);
    VIGIL_ASSIGN_OR_RETURN(auto bound, db->Query("SELECT name, issuer, subject FROM people WHERE name = $1 OR "
                                                 "(issuer = $2 AND subject = $3)",
                                                 {person.name, person.issuer, person.subject}));
    // The messages name nobody else: they go back to whoever signed in (the audit log and
    // GET /v1/people tell admins who holds what).
    for (const auto& row : bound) {
      if (row.Text(0) != person.name) {
        return Fail(ErrorCode::kAlreadyExists, "you signed in before as '" + row.Text(0) + "', not '" + person.name +
                                                   "': a person's Vigil name does not change (the audit log names "
                                                   "them by it); ask an admin (vigil people)");
      }
      // The same subject under the issuer the service used before: the provider moved (its own
      // binding, so nothing of anyone else's is told).
      if (row.Text(2) == person.subject && row.Text(1) != person.issuer) {
        return Fail(ErrorCode::kAlreadyExists, "you signed in before through another issuer (" + row.Text(1) +
                                                   "): ask an admin to move people to the new one (vigil people move-issuer)");
      }
      if (row.Text(1) != person.issuer || row.Text(2) != person.subject) return Fail(ErrorCode::kAlreadyExists, taken);
    }
    if (bound.empty()) {
      // The same person signing in twice at once (two tabs): one insert wins, and the binding is
      // read back either way.
      VIGIL_TRY(db->Execute("INSERT INTO people (name, issuer, subject, display_name, email, roles, first_seen, last_seen) "
                            "VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT DO NOTHING",
                            {person.name, person.issuer, person.subject, person.display_name, person.email, roles, now}));
      VIGIL_ASSIGN_OR_RETURN(auto mine, db->Query("SELECT 1 FROM people WHERE name = $1 AND issuer = $2 AND subject = $3",
                                                  {person.name, person.issuer, person.subject}));
      if (mine.empty()) return Fail(ErrorCode::kAlreadyExists, taken);
    } else {
      VIGIL_TRY(db->Execute("UPDATE people SET display_name = $1, email = $2, roles = $3, last_seen = $4 WHERE name = $5",
                            {person.display_name, person.email, roles, now, person.name}));
    }
    const std::int64_t absolute_until = now + timeouts.absolute_seconds * kSecond;
    VIGIL_ASSIGN_OR_RETURN(
        auto inserted,
        db->Query("INSERT INTO sessions (token_hash, name, roles, issuer, subject, display_name, created_at, last_seen, "
                  "idle_seconds, absolute_until, remote) VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10) RETURNING id",
                  {Sha256Hex(*secret), person.name, roles, person.issuer, person.subject, person.display_name, now,
                   timeouts.idle_seconds, absolute_until, remote.substr(0, 64)}));
    const std::int64_t id = inserted.at(0).Int(0);
    VIGIL_TRY(AppendAudit(*db, now, person.name, "session.start", "session:" + std::to_string(id),
                          Who(person.issuer, person.subject, person.display_name) + " roles=" + roles +
                              " remote=" + remote.substr(0, 64)));
    VIGIL_TRY(txn.Commit());
    NewSession out;
    out.record = {id, person.name, roles, person.issuer, person.subject, person.display_name, now, now,
                  now + timeouts.idle_seconds * kSecond, absolute_until, std::nullopt, "", remote.substr(0, 64)};
    out.secret = std::move(*secret);
    return out;
  }

  Result<SessionRecord> TouchSession(const std::string& secret, std::int64_t now) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(std::string(kSelect) + " WHERE token_hash = $1 AND ended_at IS NULL",
                                                {Sha256Hex(secret)}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "no such session (signed out, timed out or ended)");
    SessionRecord session = FromRow(rows.front());
    const char* ended = now >= session.absolute_until ? "absolute timeout" : now >= session.idle_until ? "idle timeout" : nullptr;
    if (ended != nullptr) {
      VIGIL_TRY(EndOn(*db, session, "system", ended, now));
      return Fail(ErrorCode::kNotFound, std::string("the session ended (") + ended + "): sign in again");
    }
    if (now - session.last_seen >= kTouchEvery) {
      VIGIL_TRY(db->Execute("UPDATE sessions SET last_seen = $1 WHERE id = $2 AND last_seen < $1", {now, session.id}));
      session.idle_until += now - session.last_seen;
      session.last_seen = now;
    }
    return session;
  }

  Status EndSession(std::int64_t id, const std::string& actor, const std::string& reason, std::int64_t now) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(std::string(kSelect) + " WHERE id = $1 AND ended_at IS NULL", {id}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "no live session " + std::to_string(id));
    return EndOn(*db, FromRow(rows.front()), actor, reason, now);
  }

  Result<SessionRecord> GetSession(std::int64_t id) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(std::string(kSelect) + " WHERE id = $1", {id}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "no session " + std::to_string(id));
    return FromRow(rows.front());
  }

  Result<std::vector<SessionRecord>> ListSessions(bool live_only, int limit, std::int64_t now) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(
        auto rows, db->Query(std::string(kSelect) +
                                 (live_only ? " WHERE ended_at IS NULL AND absolute_until > $1 AND "
                                              "last_seen + idle_seconds * 1000000 > $1"
                                            : " WHERE $1 = $1") +
                                 " ORDER BY id DESC LIMIT $2",
                             {now, std::int64_t{limit}}));
    std::vector<SessionRecord> out;
    for (const auto& row : rows) out.push_back(FromRow(row));
    return out;
  }

  Result<std::vector<Person>> ListPeople() override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(std::string(kPeople) + " ORDER BY name"));
    std::vector<Person> out;
    for (const auto& row : rows) out.push_back(PersonFromRow(row));
    return out;
  }

  Result<Person> GetPerson(const std::string& name) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query(std::string(kPeople) + " WHERE name = $1", {name}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "nobody named '" + name.substr(0, 64) + "' has signed in");
    return PersonFromRow(rows.front());
  }

  Result<std::int64_t> MoveIssuer(const std::string& from, const std::string& to, const std::string& actor) override {
    if (from.empty() || to.empty() || from == to) return Fail(ErrorCode::kInvalidArgument, "give two different issuers");
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    VIGIL_ASSIGN_OR_RETURN(auto clash, db->Query("SELECT a.name FROM people a JOIN people b ON a.subject = b.subject "
                                                 "WHERE a.issuer = $1 AND b.issuer = $2",
                                                 {from, to}));
    if (!clash.empty()) {
      return Fail(ErrorCode::kAlreadyExists, "'" + clash.front().Text(0) + "' has signed in under both issuers already: "
                                                 "rebind such people one by one (vigil people rebind)");
    }
    VIGIL_ASSIGN_OR_RETURN(auto moved, db->Execute("UPDATE people SET issuer = $1 WHERE issuer = $2", {to, from}));
    VIGIL_TRY(AppendAudit(*db, NowOf(*db), actor, "people.move_issuer", "people",
                          "from=" + Quoted(from) + " to=" + Quoted(to) + " people=" + std::to_string(moved)));
    VIGIL_TRY(txn.Commit());
    return moved;
  }

  Status Rebind(const std::string& name, const std::string& issuer, const std::string& subject,
                const std::string& actor) override {
    const auto printable = [](const std::string& text) {
      return std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f; });
    };
    if (issuer.empty() || subject.empty() || subject.size() > 255 || !printable(subject) || !printable(issuer)) {
      return Fail(ErrorCode::kInvalidArgument,
                  "give the provider's issuer and the person's subject (1-255 characters, no control characters)");
    }
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    VIGIL_ASSIGN_OR_RETURN(auto rows, db->Query("SELECT issuer, subject FROM people WHERE name = $1", {name}));
    if (rows.empty()) return Fail(ErrorCode::kNotFound, "nobody named '" + name.substr(0, 64) + "' has signed in");
    VIGIL_ASSIGN_OR_RETURN(auto taken, db->Query("SELECT name FROM people WHERE issuer = $1 AND subject = $2 AND name <> $3",
                                                 {issuer, subject, name}));
    if (!taken.empty()) return Fail(ErrorCode::kAlreadyExists, "that subject is '" + taken.front().Text(0) + "''s");
    const std::int64_t now = NowOf(*db);
    VIGIL_TRY(db->Execute("UPDATE people SET issuer = $1, subject = $2 WHERE name = $3", {issuer, subject, name}));
    VIGIL_ASSIGN_OR_RETURN(auto live, db->Query("SELECT id FROM sessions WHERE name = $1 AND ended_at IS NULL", {name}));
    for (const auto& session : live) {
      VIGIL_TRY(db->Execute("UPDATE sessions SET ended_at = $1, end_reason = 'rebound' WHERE id = $2", {now, session.Int(0)}));
      VIGIL_TRY(AppendAudit(*db, now, actor, "session.end", "session:" + std::to_string(session.Int(0)),
                            "person=" + name + " rebound to another subject"));
    }
    VIGIL_TRY(AppendAudit(*db, now, actor, "people.rebind", name,
                          "was " + Who(rows.front().Text(0), rows.front().Text(1), "") + "; now " + Who(issuer, subject, "")));
    return txn.Commit();
  }

  Status AuditRefusedSignIn(const Person& person, const std::string& why) override {
    auto db = pool_.Acquire();
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(*db));
    VIGIL_TRY(AppendAudit(*db, NowFor(person), "anonymous", "session.refused", person.name.empty() ? "-" : person.name,
                          Who(person.issuer, person.subject, person.display_name) + ": " + why));
    return txn.Commit();
  }

 private:
  static constexpr const char* kSelect =
      "SELECT id, name, roles, issuer, subject, display_name, created_at, last_seen, idle_seconds, absolute_until, "
      "ended_at, end_reason, remote FROM sessions";
  static constexpr const char* kPeople =
      "SELECT name, issuer, subject, display_name, email, roles, first_seen, last_seen FROM people";

  static std::int64_t NowFor(const Person& person) { return person.last_seen; }
  // The latest time the database has seen (its audit log's), for changes made from the host with
  // no clock of their own: the audit log's times never go back.
  static std::int64_t NowOf(SqlConnection& db) {
    auto rows = db.Query("SELECT COALESCE(MAX(at), 0) FROM audit_log");
    const auto wall = std::chrono::duration_cast<std::chrono::microseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
    return rows && !rows->empty() ? std::max<std::int64_t>(wall, rows->front().Int(0)) : wall;
  }

  static SessionRecord FromRow(const SqlRow& row) {
    SessionRecord s{row.Int(0),  row.Text(1), row.Text(2), row.Text(3), row.Text(4),  row.Text(5), row.Int(6),
                    row.Int(7),  0,           row.Int(9),  row.OptInt(10), row.Text(11), row.Text(12)};
    s.idle_until = s.last_seen + row.Int(8) * kSecond;
    return s;
  }

  static Person PersonFromRow(const SqlRow& row) {
    return {row.Text(0), row.Text(1), row.Text(2), row.Text(3), row.Text(4), row.Text(5), row.Int(6), row.Int(7)};
  }

  static Status EndOn(SqlConnection& db, const SessionRecord& session, const std::string& actor, const std::string& reason,
                      std::int64_t now) {
    VIGIL_ASSIGN_OR_RETURN(auto txn, SqlTransaction::Start(db));
    VIGIL_ASSIGN_OR_RETURN(auto changed, db.Execute("UPDATE sessions SET ended_at = $1, end_reason = $2 WHERE id = $3 AND "
                                                    "ended_at IS NULL",
                                                    {now, reason, session.id}));
    if (changed == 0) return Fail(ErrorCode::kNotFound, "no live session " + std::to_string(session.id));
    VIGIL_TRY(AppendAudit(db, now, actor, "session.end", "session:" + std::to_string(session.id),
                          "person=" + session.name + " " + reason));
    return txn.Commit();
  }

  ConnectionPool& pool_;
};

}  // namespace

std::unique_ptr<SessionStore> MakeSqlSessionStore(ConnectionPool& pool) { return std::make_unique<SqlSessionStore>(pool); }

}  // namespace vigil::store

// People who sign in to the console through the organisation's OpenID provider, and their
// server-side sessions. A person is bound to a Vigil name (what the audit log, claims, decisions and
// queue memberships name) on first sign-in, by the provider's issuer and subject: the same name
// never goes to another subject or to an API key. A session is a random secret held in the
// browser's cookie; the store keeps only its SHA-256, the person, the roles the provider's groups
// gave at sign-in, and its timeouts: idle (no request for that long) and absolute (since sign-in).
// A sign-in in progress (state, nonce, PKCE verifier) is kept here too, so the provider's redirect
// may land on any replica; it is used once and lapses after kSignInMicros.
//
// Audited: a session's start ("session.start", with the subject, display name and roles), its end
// by sign-out, timeout or an admin ("session.end"), and a refused sign-in ("session.refused").
//
// Thread safety: implementations are safe to call from many threads and replicas at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "vigil/status.h"

namespace vigil {

// How long a sign-in may take between the redirect to the provider and its answer.
inline constexpr std::int64_t kSignInMicros = std::int64_t{10} * 60 * 1'000'000;

// Who the provider says signed in.
struct Person {
  std::string name;  // the Vigil name (lower case), bound to issuer + subject
  std::string issuer, subject;
  std::string display_name, email;
  std::string roles;  // what their groups gave at their last sign-in ("reviewer,legal")
  std::int64_t first_seen = 0, last_seen = 0;
};

// A sign-in in progress: what the callback checks the provider's answer against.
struct SignInFlow {
  std::string state;     // the random value sent to the provider (stored as its SHA-256)
  std::string nonce;     // must come back in the ID token
  std::string verifier;  // the PKCE code verifier
  std::string browser;   // SHA-256 of the random value in the browser's sign-in cookie
  std::string return_to;  // a console path to go back to
  std::int64_t created_at = 0;
};

struct SessionTimeouts {
  std::int64_t idle_seconds = 30 * 60;
  std::int64_t absolute_seconds = 12 * 3600;
};

struct SessionRecord {
  std::int64_t id = 0;
  std::string name;   // the person's Vigil name
  std::string roles;  // "reviewer,legal"
  std::string issuer, subject, display_name;
  std::int64_t created_at = 0, last_seen = 0;
  std::int64_t idle_until = 0;      // last_seen + idle timeout (as of the last recorded request)
  std::int64_t absolute_until = 0;  // created_at + absolute timeout
  std::optional<std::int64_t> ended_at;
  std::string end_reason;  // "signed out", "idle timeout", "absolute timeout", "ended by <admin>"
  std::string remote;      // the client address it signed in from
};

struct NewSession {
  SessionRecord record;
  std::string secret;  // for the cookie, shown once; only its SHA-256 is stored
};

class SessionStore {
 public:
  virtual ~SessionStore() = default;
  virtual Status BeginSignIn(const SignInFlow& flow) = 0;
  // The sign-in begun with `state` in the browser whose sign-in cookie hashes to `browser`, taken (a
  // second call finds nothing): kNotFound when unknown, taken already, or older than kSignInMicros
  // at `now`; kPermissionDenied, leaving it for its own browser, when `browser` is another's.
  virtual Result<SignInFlow> TakeSignIn(const std::string& state, const std::string& browser, std::int64_t now) = 0;
  // Binds the person's name to their issuer and subject (kAlreadyExists when the name belongs to
  // another subject or to an API key; kInvalidArgument for a name keys could not have) and opens a
  // session with their roles. Audited.
  virtual Result<NewSession> StartSession(const Person& person, const SessionTimeouts& timeouts,
                                          const std::string& remote, std::int64_t now) = 0;
  // The live session whose secret this is, its last request moved to `now` (written at most once a
  // minute, so the idle timeout is kept to within a minute across replicas). kNotFound for unknown
  // or ended sessions; a session past a timeout is ended here (audited) and kNotFound.
  virtual Result<SessionRecord> TouchSession(const std::string& secret, std::int64_t now) = 0;
  // Ends a live session (sign-out: `actor` is its person; or an admin). kNotFound if none.
  virtual Status EndSession(std::int64_t id, const std::string& actor, const std::string& reason, std::int64_t now) = 0;
  // One session by id, live or ended (kNotFound).
  virtual Result<SessionRecord> GetSession(std::int64_t id) = 0;
  // Live sessions (or the last `limit` of all), newest first.
  virtual Result<std::vector<SessionRecord>> ListSessions(bool live_only, int limit, std::int64_t now) = 0;
  // People who have signed in, by name; one by name (kNotFound).
  virtual Result<std::vector<Person>> ListPeople() = 0;
  virtual Result<Person> GetPerson(const std::string& name) = 0;
  // A sign-in the service refused (no role, a name taken): audited so that admins see the attempt.
  virtual Status AuditRefusedSignIn(const Person& person, const std::string& why) = 0;
  // The provider moved (a new issuer URL, the same subjects): every person bound to `from` is bound
  // to `to`. How many were moved. Audited.
  virtual Result<std::int64_t> MoveIssuer(const std::string& from, const std::string& to, const std::string& actor) = 0;
  // A person's name bound to another subject (their account at the provider was made again); their
  // live sessions end. kNotFound for nobody of that name; kAlreadyExists when the subject is
  // another name's. Audited.
  virtual Status Rebind(const std::string& name, const std::string& issuer, const std::string& subject,
                        const std::string& actor) = 0;
};

}  // namespace vigil

// A small HTTP/1.1 server on Boost.Beast with C++20 coroutines, built to face clients without a
// key: keep-alive and pipelining, and for every request
//   1. the header is read (size limit, a deadline from the first byte) and checked against
//      RFC 9112 (one Host; Transfer-Encoding only "chunked"; not both it and Content-Length);
//   2. the service admits it from the header alone (route, key, role, rate, body limit) before a
//      byte of body is read: a refused request costs no body memory and is answered at once, also
//      to a client that sent "Expect: 100-continue" (which an admitted one gets "100 Continue");
//   3. the body is read under the same deadline into a buffer that grows as bytes arrive;
//   4. the handler runs with no deadline (on the worker pool when the admission says so), then the
//      answer is written under its own deadline: slow work never loses its answer to the request
//      deadline, and an answer that cannot be delivered is reported, never dropped silently.
// With a certificate and key (HttpServerOptions::tls_*) every connection is TLS 1.2 or 1.3 with
// forward-secret AEAD ciphers only (the handshake under the request deadline; older clients are
// refused), and every answer carries Strict-Transport-Security; ReloadTls() (SIGHUP in `vigil
// serve`) reads renewed files for new connections while open ones go on.
// Connections are capped in total and per client address (refused with 503 and closed), and so
// are the bytes of request bodies being read at once (503 from the header); at the
// descriptor limit the accept loop backs off, sheds the waiting connection with a reserve
// descriptor and reports it. Stop() closes the listener, lets requests in flight finish and
// answers them with "Connection: close", then ends idle connections.
//
// Thread safety: each connection runs on its own strand (its reads, writes, deadline and close are
// serialised, whichever I/O thread runs them); the callbacks are called from many threads at once
// and must be thread-safe. Start/Stop/port are for the owning thread.
#pragma once

#include <any>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "vigil/status.h"

namespace vigil::server {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using RequestHeader = http::request_header<>;
using Response = http::response<http::string_body>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8750;  // 0: pick a free port (see HttpServer::port)
  int threads = 0;            // 0: one per core
  std::uint64_t max_body_bytes = 64ull << 20;
  std::uint32_t max_header_bytes = 16 << 10;
  std::chrono::milliseconds request_timeout{30'000};  // reading one request, header and body
  std::chrono::milliseconds idle_timeout{60'000};     // between keep-alive requests
  std::chrono::milliseconds write_timeout{30'000};    // writing one answer
  std::chrono::milliseconds drain_timeout{30'000};    // graceful shutdown waits this long at most
  int worker_threads = 0;  // for requests admitted with `offload` (decoding); 0: one per core
  // Open connections at once: 0 picks the descriptor limit (RLIMIT_NOFILE) less a reserve of 256
  // for the store, decoder workers and files. Past it, or past the per-address cap, a new
  // connection gets 503 and is closed.
  int max_connections = 0;
  int max_connections_per_address = 512;
  // Request bodies being read at once, all connections together, from their declared lengths
  // (chunked bodies count the body limit): a request that would take it past this gets 503 from its
  // header. 0: 16 x max_body_bytes.
  std::uint64_t max_inflight_body_bytes = 0;
  // TLS: PEM files of the certificate (with its chain) and of its private key; both empty: plain
  // HTTP. Read at Start and by ReloadTls.
  std::string tls_cert_file, tls_key_file;
};

// The service's verdict on a request from its header, before any body byte is read.
struct Admission {
  std::optional<Response> refusal;  // set: answered with this; the body is never read
  std::uint64_t max_body_bytes = 0;  // 0: the server's limit; otherwise the smaller of the two
  bool offload = false;              // run the handler on the worker pool (it blocks for long)
  std::any context;                  // handed to the handler (the authenticated key, say)
};

struct RequestInfo {
  std::string remote;  // the peer's address
  std::any context;    // from the admission
};

// Things the server did on its own, for logs and metrics.
enum class HttpEvent {
  kRefused,          // answered before the handler ran (malformed, too large, timed out, not admitted)
  kAnswerLost,       // the handler ran but its answer could not be written (the client left)
  kConnectionCap,    // a connection refused by the total or per-address cap
  kAcceptBackoff,    // accept failed for lack of descriptors; the loop paused
};

struct HttpCallbacks {
  // Required. Called for every well-formed, admitted request.
  std::function<Response(Request& request, const RequestInfo& info)> handle;
  // Optional: admits every request when empty.
  std::function<Admission(const RequestHeader& header, const std::string& remote)> admit;
  // Optional. `status` is the status answered (or that could not be delivered); `detail` says why,
  // and for kAnswerLost is "METHOD TARGET" (the target may carry ids: log with care).
  std::function<void(HttpEvent event, unsigned status, const std::string& detail)> observe;
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpCallbacks callbacks);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the I/O threads. kUnavailable when the address cannot be bound.
  Status Start();
  // The bound port (useful with port 0).
  std::uint16_t port() const;
  // Connections open now (for tests and metrics).
  int connections() const;
  // Reads the certificate and key files again: new connections use them, open ones keep theirs. On
  // an error (a missing file, a key that is not the certificate's) the ones in use stay and the
  // error says why. kInvalidArgument when the server has no TLS.
  Status ReloadTls();
  bool tls() const;
  // Graceful stop (see above); blocks until the threads have finished. Safe to call twice.
  void Stop();
  // Blocks until SIGINT or SIGTERM, then stops gracefully; a SIGHUP meanwhile reloads TLS. Call
  // BlockShutdownSignals() first, before any thread starts, so that every thread leaves those
  // signals to this one.
  void RunUntilSignalled();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// Blocks SIGINT, SIGTERM and SIGHUP in the calling thread and those it starts.
void BlockShutdownSignals();
// Blocks until SIGINT or SIGTERM (after BlockShutdownSignals); calls `on_hangup` for each SIGHUP
// meanwhile (ignored when empty).
void WaitForShutdownSignal(const std::function<void()>& on_hangup = {});

// A JSON error answer {"error": {"code", "message"}} that closes the connection.
Response HttpErrorResponse(http::status status, const std::string& code, const std::string& message);

}  // namespace vigil::server

// A small HTTP/1.1 server on Boost.Beast with C++20 coroutines: keep-alive and pipelining, a
// header size limit, a body limit checked against Content-Length before the body is read (413
// without reading it), a whole-request deadline (slow clients are cut off), and graceful
// shutdown: Stop() closes the listener, lets requests in flight finish and answers them with
// "Connection: close", then ends idle connections.
//
// Handlers run on the server's I/O threads, or on its worker pool when the offload predicate says
// so, and return the whole response.
#pragma once

#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "vigil/status.h"

namespace vigil::server {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 8750;  // 0: pick a free port (see HttpServer::port)
  int threads = 0;            // 0: one per core
  std::uint64_t max_body_bytes = 64ull << 20;
  std::uint32_t max_header_bytes = 16 << 10;
  std::chrono::milliseconds request_timeout{30'000};  // whole request, headers and body
  std::chrono::milliseconds idle_timeout{60'000};     // between keep-alive requests
  std::chrono::milliseconds drain_timeout{30'000};    // graceful shutdown waits this long at most
  int worker_threads = 0;  // for requests the offload predicate picks (decoding); 0: one per core
};

// Called for every well-formed request. `remote` is the peer address.
using RequestHandler = std::function<Response(Request& request, const std::string& remote)>;
// Called for requests refused before a handler ran (too large, malformed, timed out): to log and
// count them. The response has already been built.
using RefusalObserver = std::function<void(unsigned status, const std::string& reason)>;
// Picks requests whose handler blocks for long (decoding a video, say): they run on a separate
// worker pool so that the I/O threads keep answering lookups meanwhile.
using OffloadPredicate = std::function<bool(const Request& request)>;

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, RequestHandler handler, RefusalObserver on_refusal = {},
             OffloadPredicate offload = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the I/O threads. kUnavailable when the address cannot be bound.
  Status Start();
  // The bound port (useful with port 0).
  std::uint16_t port() const;
  // Graceful stop (see above); blocks until the threads have finished. Safe to call twice.
  void Stop();
  // Blocks until SIGINT or SIGTERM, then stops gracefully. Call BlockShutdownSignals() first,
  // before any thread starts, so that every thread leaves those signals to this one.
  void RunUntilSignalled();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

void BlockShutdownSignals();

}  // namespace vigil::server

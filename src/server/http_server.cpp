// The HTTP server (see http_server.h). One coroutine per connection, each on its own strand so that
// the deadline's close never races the connection's next read or write. The header is read and
// admitted before any body byte is buffered; the body buffer grows as bytes arrive.
#include "server/http_server.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <boost/json.hpp>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace vigil::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;

namespace {

template <class Stream>
constexpr bool kIsTls = !std::is_same_v<Stream, beast::tcp_stream>;

// A server context from PEM files: TLS 1.2 and 1.3 only; for 1.2, forward-secret AEAD suites only.
Result<std::shared_ptr<ssl::context>> MakeTlsContext(const std::string& cert_file, const std::string& key_file) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use |
                       ssl::context::no_compression);
  SSL_CTX* native = context->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  SSL_CTX_set_options(native, SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(native, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
    return Fail(ErrorCode::kInvalidArgument, "TLS: the cipher list is not supported by this OpenSSL");
  }
  beast::error_code ec;
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) return Fail(ErrorCode::kInvalidArgument, "TLS certificate '" + cert_file + "': " + ec.message());
  context->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) return Fail(ErrorCode::kInvalidArgument, "TLS private key '" + key_file + "': " + ec.message());
  if (SSL_CTX_check_private_key(native) != 1) {
    return Fail(ErrorCode::kInvalidArgument, "TLS private key '" + key_file + "' is not the key of '" + cert_file + "'");
  }
  return context;
}

// Sent, best effort, to a connection refused by a cap or at the descriptor limit.
// What one read takes from the socket at most (Beast's own read size).
constexpr std::size_t kReadChunkBytes = 64 << 10;

constexpr std::string_view kBusyAnswer =
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nRetry-After: 1\r\n"
    "Content-Length: 88\r\n\r\n"
    R"({"error":{"code":"unavailable","message":"too many connections: try again in a moment"}})";
static_assert(kBusyAnswer.size() - kBusyAnswer.find("\r\n\r\n") - 4 == 88);

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// RFC 9112 framing rules that Beast leaves to the application: what it would otherwise take as an
// empty body (and parse the rest as another request) or accept without a Host.
std::optional<std::string> FramingProblem(const RequestHeader& header) {
  const auto hosts = header.count(http::field::host);
  if (header.version() >= 11 && hosts == 0) return "an HTTP/1.1 request needs a Host header";
  if (hosts > 1) return "more than one Host header";
  const auto encodings = header.count(http::field::transfer_encoding);
  if (encodings > 0) {
    // HTTP/1.0 has no chunked framing; a 1.0 message with Transfer-Encoding is faulty (RFC 9112 6.1).
    if (header.version() < 11) return "Transfer-Encoding in an HTTP/1.0 request";
    if (encodings > 1 || !IEquals(Trim(header[http::field::transfer_encoding]), "chunked")) {
      return "Transfer-Encoding other than a single 'chunked' is not accepted";
    }
    if (header.count(http::field::content_length) > 0) return "both Transfer-Encoding and Content-Length";
  }
  return std::nullopt;
}

}  // namespace

Response HttpErrorResponse(http::status status, const std::string& code, const std::string& message) {
  Response response{status, 11};
  response.set(http::field::content_type, "application/json");
  response.set("X-Content-Type-Options", "nosniff");
  boost::json::object error{{"code", code}, {"message", message}};
  response.body() = boost::json::serialize(boost::json::object{{"error", std::move(error)}});
  response.keep_alive(false);
  response.prepare_payload();
  return response;
}

struct HttpServer::State {
  HttpServerOptions options;
  HttpCallbacks callbacks;
  asio::io_context io;
  std::unique_ptr<asio::thread_pool> workers;
  tcp::acceptor acceptor{asio::make_strand(io)};
  std::vector<std::thread> threads;
  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};
  std::atomic<int> open{0};
  std::atomic<int> lingering_refusals{0};
  std::atomic<std::uint64_t> inflight_body{0};
  std::uint64_t max_inflight_body = 0;
  std::mutex mu;
  std::condition_variable drained;
  std::mutex addresses_mu;
  std::unordered_map<std::string, int> per_address;
  int max_connections = 0;
  int reserve_fd = -1;  // given up at the descriptor limit to shed one waiting connection
  std::uint16_t port = 0;
  bool started = false;
  bool stopped = false;
  std::mutex tls_mu;
  std::shared_ptr<ssl::context> tls;  // null: plain HTTP; swapped by ReloadTls

  std::shared_ptr<ssl::context> CurrentTls() {
    std::lock_guard lock(tls_mu);
    return tls;
  }

  ~State() {
    if (reserve_fd >= 0) ::close(reserve_fd);
  }

  void Observe(HttpEvent event, unsigned status, const std::string& detail) {
    if (callbacks.observe) callbacks.observe(event, status, detail);
  }

  // Counts a request from its header to its answer, for the graceful stop.
  struct InFlight {
    State* s;
    explicit InFlight(State* state) : s(state) { s->in_flight.fetch_add(1); }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;
    ~InFlight() {
      if (s->in_flight.fetch_sub(1) == 1) {
        std::lock_guard lock(s->mu);
        s->drained.notify_all();
      }
    }
  };

  // Holds a request body's share of the in-flight budget while it is read and handled.
  class BodyShare {
   public:
    BodyShare() = default;
    BodyShare(State* s, std::uint64_t bytes) : s_(s), bytes_(bytes) {}
    BodyShare(BodyShare&& other) noexcept : s_(std::exchange(other.s_, nullptr)), bytes_(other.bytes_) {}
    BodyShare& operator=(BodyShare&& other) noexcept {
      Release();
      s_ = std::exchange(other.s_, nullptr);
      bytes_ = other.bytes_;
      return *this;
    }
    ~BodyShare() { Release(); }

   private:
    void Release() {
      if (s_ != nullptr) s_->inflight_body.fetch_sub(bytes_);
      s_ = nullptr;
    }
    State* s_ = nullptr;
    std::uint64_t bytes_ = 0;
  };

  // A share of the budget for `bytes`, or nothing when it would go past it.
  std::optional<BodyShare> TakeBody(std::uint64_t bytes) {
    if (bytes == 0) return BodyShare{};
    std::uint64_t current = inflight_body.load();
    do {
      if (current + bytes > max_inflight_body) return std::nullopt;
    } while (!inflight_body.compare_exchange_weak(current, current + bytes));
    return BodyShare(this, bytes);
  }

  // Holds a connection's place under the caps while it is open.
  class Slot {
   public:
    Slot(State* s, std::string address) : s_(s), address_(std::move(address)) {}
    Slot(Slot&& other) noexcept : s_(std::exchange(other.s_, nullptr)), address_(std::move(other.address_)) {}
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
      if (s_ == nullptr) return;
      s_->open.fetch_sub(1);
      std::lock_guard lock(s_->addresses_mu);
      if (auto it = s_->per_address.find(address_); it != s_->per_address.end() && --it->second <= 0) {
        s_->per_address.erase(it);
      }
    }
    const std::string& address() const { return address_; }

   private:
    State* s_;
    std::string address_;
  };

  // A place for a new connection, or nothing when a cap is reached.
  std::optional<Slot> TakeSlot(const std::string& address) {
    if (open.fetch_add(1) >= max_connections) {
      open.fetch_sub(1);
      return std::nullopt;
    }
    std::lock_guard lock(addresses_mu);
    int& count = per_address[address];
    if (count >= options.max_connections_per_address) {
      open.fetch_sub(1);
      return std::nullopt;
    }
    ++count;
    return Slot(this, address);
  }

  asio::awaitable<void> Session(tcp::socket socket, Slot slot) {
    try {
      if (auto context = CurrentTls()) {
        // The context stays alive with this frame: a reload swaps the server's, not this one's.
        beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *context);
        beast::get_lowest_layer(stream).expires_after(options.request_timeout);
        auto [handshake_ec] = co_await stream.async_handshake(ssl::stream_base::server, asio::as_tuple(asio::use_awaitable));
        if (handshake_ec) {
          Observe(HttpEvent::kRefused, 400, "TLS handshake failed: " + handshake_ec.message());
          co_return;
        }
        co_await Serve(stream, slot.address());
      } else {
        beast::tcp_stream stream(std::move(socket));
        co_await Serve(stream, slot.address());
      }
    } catch (const std::exception&) {
      // A connection ends; the service goes on (bad_alloc reading a request, say).
    }
  }

  template <class Stream>
  asio::awaitable<void> Serve(Stream& stream, const std::string& remote) {
    // Bytes read but not yet parsed are capped: Beast's header_limit covers the header only, and a
    // chunked request's trailer block, or one chunk-size line with its extensions, is held whole
    // until it ends. Without the cap, a keyless request with an endless trailer took memory without
    // bound (the attack pass: 4 connections, +760 MB). Body bytes pass through as they are parsed.
    beast::flat_buffer buffer(static_cast<std::size_t>(options.max_header_bytes) + kReadChunkBytes);
    bool first = true;
    while (!stopping) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(options.max_header_bytes);
      // No body limit while the header is read: Beast would refuse a large Content-Length before the
      // service could say the key is missing. The limit is set once the request is admitted.
      parser.body_limit(boost::none);
      // Idle wait for the next request, then a deadline for reading it whole.
      beast::get_lowest_layer(stream).expires_after(first ? options.request_timeout : options.idle_timeout);
      first = false;
      auto [header_ec, header_bytes] =
          co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
      (void)header_bytes;
      if (header_ec) {
        co_await RefuseRead(stream, header_ec);
        break;
      }
      InFlight counted(this);
      beast::get_lowest_layer(stream).expires_after(options.request_timeout);
      const RequestHeader& header = parser.get().base();
      if (auto problem = FramingProblem(header)) {
        co_await Refuse(stream, HttpErrorResponse(http::status::bad_request, "invalid_argument", *problem), *problem);
        break;
      }
      Admission admission = callbacks.admit ? callbacks.admit(header, remote) : Admission{};
      if (admission.refusal) {
        admission.refusal->keep_alive(false);
        admission.refusal->prepare_payload();
        co_await Refuse(stream, std::move(*admission.refusal), "not admitted");
        break;
      }
      std::uint64_t body_limit = options.max_body_bytes;
      if (admission.max_body_bytes > 0) body_limit = std::min(body_limit, admission.max_body_bytes);
      parser.body_limit(body_limit);
      const auto length = parser.content_length();
      if (length && *length > body_limit) {
        co_await Refuse(stream,
                        HttpErrorResponse(http::status::payload_too_large, "too_large",
                                          "request body of " + std::to_string(*length) + " bytes exceeds the limit of " +
                                              std::to_string(body_limit)),
                        "body too large");
        break;
      }
      const bool has_body = parser.chunked() || (length && *length > 0);
      // Bodies being read at once share one budget, from what they declare (a chunked one counts
      // its limit): past it the request is told to come back, before its body costs anything.
      auto share = TakeBody(parser.chunked() ? body_limit : length.value_or(0));
      if (!share) {
        auto busy = HttpErrorResponse(http::status::service_unavailable, "unavailable",
                                      "too many request bodies in flight: try again in a moment");
        busy.set(http::field::retry_after, "1");
        co_await Refuse(stream, std::move(busy), "body budget");
        break;
      }
      if (const auto expect = header[http::field::expect]; !expect.empty()) {
        if (!IEquals(Trim(expect), "100-continue")) {
          co_await Refuse(stream,
                          HttpErrorResponse(http::status::expectation_failed, "invalid_argument",
                                            "only 'Expect: 100-continue' is supported"),
                          "unsupported Expect");
          break;
        }
        if (has_body && !parser.is_done()) {
          http::response<http::empty_body> go_on{http::status::continue_, header.version()};
          auto [continue_ec, n] = co_await http::async_write(stream, go_on, asio::as_tuple(asio::use_awaitable));
          (void)n;
          if (continue_ec) break;
        }
      }
      // Grown as bytes arrive: a declared size is a claim, not a reason to commit memory.
      if (length && *length > 0) parser.get().body().reserve(static_cast<std::size_t>(std::min<std::uint64_t>(*length, 64 << 10)));
      if (!parser.is_done()) {
        auto [body_ec, body_bytes] =
            co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
        (void)body_bytes;
        if (body_ec) {
          co_await RefuseRead(stream, body_ec);
          break;
        }
      }
      Request request = parser.release();
      RequestInfo info{remote, std::move(admission.context)};
      // The handler's time is its own: no read deadline runs while it works.
      beast::get_lowest_layer(stream).expires_never();
      Response response;
      if (admission.offload) {
        // Long work runs on the worker pool; this coroutine waits without holding an I/O thread,
        // and resumes on its connection's strand.
        response = co_await asio::co_spawn(
            workers->get_executor(),
            [this, &request, &info]() -> asio::awaitable<Response> { co_return RunHandler(request, info); },
            asio::use_awaitable);
      } else {
        response = RunHandler(request, info);
      }
      const bool keep_alive = request.keep_alive() && !stopping && response.keep_alive();
      response.keep_alive(keep_alive);
      if constexpr (kIsTls<Stream>) response.set(http::field::strict_transport_security, "max-age=31536000");
      response.prepare_payload();
      beast::get_lowest_layer(stream).expires_after(options.write_timeout);
      auto [write_ec, written] = co_await http::async_write(stream, response, asio::as_tuple(asio::use_awaitable));
      (void)written;
      if (write_ec) {
        // "METHOD /path?query": the observer decides what of it to log.
        Observe(HttpEvent::kAnswerLost, response.result_int(),
                std::string(request.method_string()) + " " + std::string(request.target().substr(0, 2048)));
        break;
      }
      if (!keep_alive) break;
    }
    co_await LingeringClose(stream, std::chrono::seconds(1), 8u << 20);
  }

  // Closes our side, then drops what the client is still sending for a moment: closing with unread
  // bytes resets the connection and can destroy the answer in flight.
  // TLS: the close_notify exchange, under the same short wait, then the socket closes.
  static asio::awaitable<void> LingeringClose(beast::ssl_stream<beast::tcp_stream>& stream, std::chrono::milliseconds wait,
                                              std::size_t at_most) {
    (void)at_most;
    beast::get_lowest_layer(stream).expires_after(wait);
    co_await stream.async_shutdown(asio::as_tuple(asio::use_awaitable));
    beast::error_code ignored;
    beast::get_lowest_layer(stream).socket().close(ignored);
  }

  static asio::awaitable<void> LingeringClose(beast::tcp_stream& stream, std::chrono::milliseconds wait,
                                              std::size_t at_most) {
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(wait);
    std::size_t discarded = 0;
    char sink[8192];
    while (discarded < at_most) {
      auto [read_ec, n] = co_await stream.async_read_some(asio::buffer(sink), asio::as_tuple(asio::use_awaitable));
      if (read_ec) break;
      discarded += n;
    }
    stream.socket().close(ignored);
  }

  Response RunHandler(Request& request, const RequestInfo& info) {
    try {
      return callbacks.handle(request, info);
    } catch (const std::exception&) {
      return HttpErrorResponse(http::status::internal_server_error, "internal", "internal error");
    }
  }

  // Answers a request refused before its handler, and counts it.
  template <class Stream>
  asio::awaitable<void> Refuse(Stream& stream, Response response, const std::string& reason) {
    Observe(HttpEvent::kRefused, response.result_int(), reason);
    response.keep_alive(false);
    if constexpr (kIsTls<Stream>) {
      response.set(http::field::strict_transport_security, "max-age=31536000");
      response.prepare_payload();
    }
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
    co_await http::async_write(stream, response, asio::as_tuple(asio::use_awaitable));
  }

  // Answers a request that could not be read, where an answer still makes sense.
  template <class Stream>
  asio::awaitable<void> RefuseRead(Stream& stream, const beast::error_code& ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == asio::error::connection_reset ||
        ec == asio::error::operation_aborted || ec == ssl::error::stream_truncated) {
      co_return;
    }
    if (ec == beast::error::timeout) {
      // The deadline closed the socket: nothing can be written any more.
      Observe(HttpEvent::kRefused, 408, "request timeout");
      co_return;
    }
    if (ec == http::error::body_limit) {
      co_await Refuse(stream,
                      HttpErrorResponse(http::status::payload_too_large, "too_large",
                                        "request body exceeds the limit for this request"),
                      "body too large");
    } else if (ec == http::error::header_limit || ec == http::error::buffer_overflow) {
      co_await Refuse(stream,
                      HttpErrorResponse(http::status::request_header_fields_too_large, "too_large",
                                        "request headers, trailers or a chunk-size line exceed " +
                                            std::to_string(options.max_header_bytes) + " bytes"),
                      "headers too large");
    } else {
      co_await Refuse(stream,
                      HttpErrorResponse(http::status::bad_request, "invalid_argument",
                                        "malformed HTTP request: " + ec.message()),
                      "malformed request");
    }
  }

  // A connection over a cap: told so, then closed after a short linger (at most 64 such at once;
  // beyond that they are closed at once).
  asio::awaitable<void> RefuseConnection(tcp::socket socket) {
    lingering_refusals.fetch_add(1);
    try {
      beast::tcp_stream stream(std::move(socket));
      stream.expires_after(std::chrono::milliseconds(500));
      co_await asio::async_write(stream, asio::buffer(kBusyAnswer.data(), kBusyAnswer.size()),
                                 asio::as_tuple(asio::use_awaitable));
      co_await LingeringClose(stream, std::chrono::milliseconds(250), 64u << 10);
    } catch (const std::exception&) {
    }
    lingering_refusals.fetch_sub(1);
  }

  // At the descriptor limit: give up the reserve descriptor to accept and close one waiting
  // connection (so it is told instead of left hanging), then take the reserve back.
  void ShedOneConnection() {
    if (reserve_fd >= 0) {
      ::close(reserve_fd);
      reserve_fd = -1;
    }
    const int fd = ::accept4(acceptor.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
      (void)!::send(fd, kBusyAnswer.data(), kBusyAnswer.size(), MSG_NOSIGNAL);
      ::close(fd);
    }
    reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }

  asio::awaitable<void> Accept() {
    asio::steady_timer backoff(acceptor.get_executor());
    while (!stopping) {
      tcp::socket socket(asio::make_strand(io));
      auto [ec] = co_await acceptor.async_accept(socket, asio::as_tuple(asio::use_awaitable));
      if (ec) {
        if (stopping || ec == asio::error::operation_aborted) break;
        if (ec == asio::error::no_descriptors || ec.value() == ENFILE || ec == asio::error::no_buffer_space ||
            ec == asio::error::no_memory) {
          // Out of descriptors (or kernel memory): retrying at once would spin on the same error.
          Observe(HttpEvent::kAcceptBackoff, 503, ec.message());
          ShedOneConnection();
          backoff.expires_after(std::chrono::milliseconds(100));
          co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
        }
        continue;  // e.g. a connection reset before it was accepted
      }
      beast::error_code endpoint_ec;
      const auto endpoint = socket.remote_endpoint(endpoint_ec);
      const std::string address = endpoint_ec ? std::string() : endpoint.address().to_string();
      auto slot = TakeSlot(address);
      if (!slot) {
        Observe(HttpEvent::kConnectionCap, 503, "connection cap reached for " + address);
        if (lingering_refusals.load() < 64) {
          auto executor = socket.get_executor();
          asio::co_spawn(executor, RefuseConnection(std::move(socket)), asio::detached);
        }
        continue;  // otherwise the socket closes here
      }
      socket.set_option(tcp::no_delay(true), endpoint_ec);
      auto executor = socket.get_executor();
      asio::co_spawn(executor, Session(std::move(socket), std::move(*slot)), asio::detached);
    }
  }
};

HttpServer::HttpServer(HttpServerOptions options, HttpCallbacks callbacks) : state_(std::make_unique<State>()) {
  state_->options = std::move(options);
  state_->callbacks = std::move(callbacks);
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  auto& s = *state_;
  if (!s.callbacks.handle) return Fail(ErrorCode::kInvalidArgument, "the HTTP server needs a request handler");
  beast::error_code ec;
  const auto address = asio::ip::make_address(s.options.host, ec);
  if (ec) return Fail(ErrorCode::kInvalidArgument, "bad listen address '" + s.options.host + "': " + ec.message());
  if (s.options.tls_cert_file.empty() != s.options.tls_key_file.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "TLS needs both a certificate file and a private key file");
  }
  if (!s.options.tls_cert_file.empty()) {
    VIGIL_ASSIGN_OR_RETURN(s.tls, MakeTlsContext(s.options.tls_cert_file, s.options.tls_key_file));
  }
  const tcp::endpoint endpoint(address, s.options.port);
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Fail(ErrorCode::kUnavailable, "cannot listen on " + s.options.host + ":" +
                                             std::to_string(s.options.port) + ": " + ec.message());
  }
  s.port = s.acceptor.local_endpoint().port();
  s.max_connections = s.options.max_connections;
  if (s.max_connections <= 0) {
    rlimit files{};
    getrlimit(RLIMIT_NOFILE, &files);
    const auto limit = files.rlim_cur == RLIM_INFINITY ? rlim_t{1} << 20 : files.rlim_cur;
    s.max_connections = static_cast<int>(std::clamp<rlim_t>(limit > 256 ? limit - 256 : 16, 16, 1 << 20));
  }
  s.max_inflight_body = s.options.max_inflight_body_bytes > 0 ? s.options.max_inflight_body_bytes
                                                                : 16 * s.options.max_body_bytes;
  s.reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int workers = s.options.worker_threads > 0 ? s.options.worker_threads
                                                    : static_cast<int>(std::thread::hardware_concurrency());
  s.workers = std::make_unique<asio::thread_pool>(static_cast<std::size_t>(std::max(workers, 1)));
  asio::co_spawn(s.acceptor.get_executor(), s.Accept(), asio::detached);
  int threads = s.options.threads > 0 ? s.options.threads : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::max(threads, 1);
  for (int i = 0; i < threads; ++i) s.threads.emplace_back([&s] { s.io.run(); });
  s.started = true;
  return {};
}

std::uint16_t HttpServer::port() const { return state_->port; }

bool HttpServer::tls() const { return !state_->options.tls_cert_file.empty(); }

Status HttpServer::ReloadTls() {
  auto& s = *state_;
  if (!tls()) return Fail(ErrorCode::kInvalidArgument, "this server has no TLS to reload");
  VIGIL_ASSIGN_OR_RETURN(auto context, MakeTlsContext(s.options.tls_cert_file, s.options.tls_key_file));
  std::lock_guard lock(s.tls_mu);
  s.tls = std::move(context);
  return {};
}

int HttpServer::connections() const { return state_->open.load(); }

void HttpServer::Stop() {
  auto& s = *state_;
  if (!s.started || s.stopped) return;
  s.stopped = true;
  s.stopping = true;
  asio::post(s.acceptor.get_executor(), [&s] {
    beast::error_code ignored;
    s.acceptor.close(ignored);
  });
  {
    std::unique_lock lock(s.mu);
    s.drained.wait_for(lock, s.options.drain_timeout, [&s] { return s.in_flight.load() == 0; });
  }
  s.io.stop();  // ends idle keep-alive connections
  for (auto& thread : s.threads) thread.join();
  s.threads.clear();
  if (s.workers) s.workers->join();
}

void BlockShutdownSignals() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

void WaitForShutdownSignal(const std::function<void()>& on_hangup) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  for (;;) {
    int received = 0;
    if (sigwait(&signals, &received) != 0) continue;
    if (received != SIGHUP) return;
    if (on_hangup) on_hangup();
  }
}

void HttpServer::RunUntilSignalled() {
  WaitForShutdownSignal([this] { (void)ReloadTls(); });
  Stop();
}

}  // namespace vigil::server

// The HTTP server facing clients without a key: connection storms that reach the deadline
// together, refusals before the body is read, RFC 9112 framing, Expect: 100-continue, answers of
// slow handlers, connection caps and the descriptor limit. Built from the server's own sources
// only, so that scripts/test also runs it under ThreadSanitizer in seconds.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <gtest/gtest.h>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "server/http_server.h"

namespace vigil::server {
namespace {

using namespace std::chrono_literals;

// Raises this process's descriptor limit to its hard limit (storms open thousands of sockets).
void RaiseDescriptorLimit() {
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  setrlimit(RLIMIT_NOFILE, &files);
}

// A TCP connection to the server from `source` (any 127.x.y.z: each is its own client address).
int Connect(std::uint16_t port, const char* source = "127.0.0.1") {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in local{};
  local.sin_family = AF_INET;
  inet_pton(AF_INET, source, &local.sin_addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
    ::close(fd);
    return -1;
  }
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Reads until the peer closes, `stop_after` appears, or `wait` passes.
std::string Receive(int fd, std::chrono::milliseconds wait, std::string_view stop_after = {}) {
  std::string out;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  char buffer[65536];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    const auto n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    out.append(buffer, static_cast<std::size_t>(n));
    if (!stop_after.empty() && out.find(stop_after) != std::string::npos) break;
  }
  return out;
}

// One request on a fresh connection; the whole reply, or "" when none came.
std::string Exchange(std::uint16_t port, std::string_view request, std::chrono::milliseconds wait = 5s,
                     const char* source = "127.0.0.1") {
  const int fd = Connect(port, source);
  if (fd < 0) return "";
  std::string reply;
  if (SendAll(fd, request)) reply = Receive(fd, wait);
  ::close(fd);
  return reply;
}

constexpr std::string_view kHealthz = "GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";

Response Text(http::status status, std::string body) {
  Response response{status, 11};
  response.set(http::field::content_type, "text/plain");
  response.body() = std::move(body);
  return response;
}

// A server under test with its callbacks' observations.
struct Fixture {
  std::atomic<int> handled{0};
  std::atomic<int> lost{0};
  std::atomic<int> capped{0};
  std::atomic<int> refused{0};
  std::unique_ptr<HttpServer> server;

  // Keys are checked from the header: routes under /private need "Authorization: Bearer k".
  // /slow sleeps ?ms before answering; /big answers 16 MiB.
  void Start(HttpServerOptions options) {
    options.host = "127.0.0.1";
    options.port = 0;
    HttpCallbacks callbacks;
    callbacks.admit = [](const RequestHeader& header, const std::string&) {
      Admission admission;
      if (header.target().starts_with("/private") && header[http::field::authorization] != "Bearer k") {
        admission.refusal = Text(http::status::unauthorized, "no key");
      }
      admission.offload = header.target().starts_with("/slow");
      return admission;
    };
    callbacks.handle = [this](Request& request, const RequestInfo&) {
      handled.fetch_add(1);
      const std::string_view target = request.target();
      if (target.starts_with("/slow")) std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(std::string(target.substr(9)))));
      if (target == "/big") return Text(http::status::ok, std::string(16u << 20, 'x'));
      return Text(http::status::ok, "ok " + std::to_string(request.body().size()));
    };
    callbacks.observe = [this](HttpEvent event, unsigned, const std::string&) {
      if (event == HttpEvent::kAnswerLost) lost.fetch_add(1);
      if (event == HttpEvent::kConnectionCap) capped.fetch_add(1);
      if (event == HttpEvent::kRefused) refused.fetch_add(1);
    };
    server = std::make_unique<HttpServer>(options, std::move(callbacks));
    ASSERT_TRUE(server->Start());
  }
  std::uint16_t port() const { return server->port(); }
};

// Polls /healthz every few milliseconds until stopped; counts answers that were not 200.
class HealthProbe {
 public:
  explicit HealthProbe(std::uint16_t port) {
    thread_ = std::thread([this, port] {
      while (!stop_) {
        const auto started = std::chrono::steady_clock::now();
        const std::string reply = Exchange(port, kHealthz, 5s);
        const auto took = std::chrono::steady_clock::now() - started;
        std::lock_guard lock(mu_);
        ++probes_;
        if (!reply.starts_with("HTTP/1.1 200")) ++failures_;
        slowest_ = std::max(slowest_, std::chrono::duration_cast<std::chrono::milliseconds>(took));
        std::this_thread::sleep_for(10ms);
      }
    });
  }
  ~HealthProbe() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  int probes() const { return probes_; }
  int failures() const { return failures_; }
  std::chrono::milliseconds slowest() const { return slowest_; }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  int probes_ = 0, failures_ = 0;
  std::chrono::milliseconds slowest_{0};
};

TEST(HttpServer, IdleConnectionStormsReachingTheDeadlineTogetherNeitherCrashNorStopHealthz) {
  RaiseDescriptorLimit();
  Fixture f;
  HttpServerOptions options;
  options.threads = 2;
  options.request_timeout = 300ms;
  options.idle_timeout = 300ms;
  f.Start(options);
  HealthProbe probe(f.port());
  for (int round = 0; round < 4; ++round) {
    std::vector<int> fds;
    for (int i = 0; i < 1200; ++i) {
      const std::string source = "127.0.1." + std::to_string(2 + i % 200);
      const int fd = Connect(f.port(), source.c_str());
      if (fd < 0) continue;
      // A third send nothing, a third half a header, a third a whole request and then nothing.
      if (i % 3 == 1) SendAll(fd, "GET /x HTTP/1.1\r\nHost: t\r\n");
      if (i % 3 == 2) SendAll(fd, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
      fds.push_back(fd);
    }
    EXPECT_GT(fds.size(), 1000u);
    std::this_thread::sleep_for(700ms);  // every deadline fires at about the same moment
    for (int fd : fds) ::close(fd);
  }
  probe.Stop();
  EXPECT_GT(probe.probes(), 20);
  EXPECT_EQ(probe.failures(), 0);
  EXPECT_TRUE(Exchange(f.port(), kHealthz).starts_with("HTTP/1.1 200"));
}

TEST(HttpServer, ConnectionsClosedMidRequestDoNotDisturbTheOthers) {
  RaiseDescriptorLimit();
  Fixture f;
  HttpServerOptions options;
  options.threads = 2;
  options.request_timeout = 200ms;
  f.Start(options);
  HealthProbe probe(f.port());
  for (int i = 0; i < 2000; ++i) {
    const std::string source = "127.0.2." + std::to_string(2 + i % 100);
    const int fd = Connect(f.port(), source.c_str());
    if (fd < 0) continue;
    SendAll(fd, i % 2 ? "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc" : "GET /x HTTP/1.1\r\nHost: t\r\n\r\n");
    linger hard{1, 0};  // a reset, not a close
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    ::close(fd);
  }
  std::this_thread::sleep_for(400ms);
  probe.Stop();
  EXPECT_EQ(probe.failures(), 0);
  EXPECT_TRUE(Exchange(f.port(), kHealthz).starts_with("HTTP/1.1 200"));
}

TEST(HttpServer, AKeylessRequestIsRefusedFromItsHeaderBeforeAnyBodyIsSent) {
  Fixture f;
  f.Start({});
  const int fd = Connect(f.port());
  ASSERT_GE(fd, 0);
  // Declares 64 MiB and sends none of it: the refusal must come anyway.
  ASSERT_TRUE(SendAll(fd, "POST /private/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 67108864\r\n\r\n"));
  const std::string reply = Receive(fd, 2s, "no key");
  ::close(fd);
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 401")) << reply;
  EXPECT_NE(reply.find("Connection: close"), std::string::npos);
  EXPECT_EQ(f.handled.load(), 0);
}

TEST(HttpServer, AKeylessExpectContinueGetsItsRefusalInsteadOf100Continue) {
  Fixture f;
  f.Start({});
  const int fd = Connect(f.port());
  ASSERT_TRUE(SendAll(fd, "POST /private/upload HTTP/1.1\r\nHost: t\r\nContent-Length: 2000000\r\nExpect: 100-continue\r\n\r\n"));
  const std::string reply = Receive(fd, 2s, "no key");
  ::close(fd);
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 401")) << reply;
  EXPECT_EQ(reply.find("100 Continue"), std::string::npos);
}

TEST(HttpServer, AnAdmittedExpectContinueGets100ContinueThenItsAnswer) {
  Fixture f;
  f.Start({});
  const int fd = Connect(f.port());
  ASSERT_TRUE(SendAll(fd, "POST /private/upload HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer k\r\nContent-Length: 5\r\n"
                          "Expect: 100-continue\r\n\r\n"));
  const std::string interim = Receive(fd, 2s, "\r\n\r\n");
  EXPECT_TRUE(interim.starts_with("HTTP/1.1 100 Continue")) << interim;
  ASSERT_TRUE(SendAll(fd, "hello"));
  const std::string reply = Receive(fd, 2s, "ok 5");
  ::close(fd);
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
}

TEST(HttpServer, AnUnknownExpectationIsRefusedWith417) {
  Fixture f;
  f.Start({});
  const std::string reply = Exchange(f.port(), "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\nExpect: teapot\r\n\r\nx");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 417")) << reply;
}

TEST(HttpServer, TransferEncodingThatIsNotExactlyChunkedIsRefusedAndNothingAfterItIsParsed) {
  Fixture f;
  f.Start({});
  for (const std::string encoding : {"xchunked", "chunked, identity", "identity"}) {
    const std::string reply = Exchange(f.port(), "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: " + encoding +
                                                     "\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n");
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 400")) << encoding << ": " << reply;
    EXPECT_EQ(reply.find("HTTP/1.1", 5), std::string::npos) << "a second answer: " << reply;
  }
  EXPECT_EQ(f.handled.load(), 0);
}

TEST(HttpServer, ChunkedBodiesAreStillRead) {
  Fixture f;
  f.Start({});
  const std::string reply =
      Exchange(f.port(), "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
  EXPECT_NE(reply.find("ok 3"), std::string::npos);
}

// Sends `head`, then `filler` repeatedly (up to `total` bytes, stopping when the server closes),
// then `tail` (which completes the request), and returns what came back.
std::string SendEndless(std::uint16_t port, const std::string& head, const std::string& filler, std::size_t total,
                        const std::string& tail) {
  const int fd = Connect(port, "127.0.0.1");
  if (fd < 0) return "";
  bool open = SendAll(fd, head);
  for (std::size_t sent = 0; open && sent < total; sent += filler.size()) open = SendAll(fd, filler);
  if (open) SendAll(fd, tail);
  std::string reply = Receive(fd, 2s);
  ::close(fd);
  return reply;
}

// The attack pass: a keyless chunked request whose trailer block never ends was held whole
// (+145 MB resident for 143 MB of trailers, then answered 200). Trailers are capped like headers.
TEST(HttpServer, AnEndlessTrailerBlockIsRefusedNotHeld) {
  Fixture f;
  f.Start({});
  const std::string reply =
      SendEndless(f.port(), "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n",
                  "X-T: " + std::string(8000, 'a') + "\r\n", 4u << 20, "\r\n");
  EXPECT_EQ(f.handled.load(), 0) << "the request was handled after megabytes of trailers";
  if (!reply.empty()) {
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 431")) << reply.substr(0, 200);
  }
  EXPECT_GE(f.refused.load(), 1);
  EXPECT_TRUE(Exchange(f.port(), kHealthz).starts_with("HTTP/1.1 200"));
}

// ... and so is one chunk-size line with endless extensions.
TEST(HttpServer, AnEndlessChunkExtensionIsRefusedNotHeld) {
  Fixture f;
  f.Start({});
  const std::string reply = SendEndless(
      f.port(), "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n1;x=", std::string(8000, 'a'), 4u << 20,
      "\r\na\r\n0\r\n\r\n");
  EXPECT_EQ(f.handled.load(), 0);
  if (!reply.empty()) {
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 431")) << reply.substr(0, 200);
  }
  EXPECT_GE(f.refused.load(), 1);
}

// Small trailers are still read.
TEST(HttpServer, ChunkedBodiesWithSmallTrailersAreRead) {
  Fixture f;
  f.Start({});
  const std::string reply = Exchange(
      f.port(), "POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
}

// HTTP/1.0 has no chunked framing: a 1.0 request with Transfer-Encoding is refused, not read as chunked.
TEST(HttpServer, TransferEncodingOnHttp10IsRefused) {
  Fixture f;
  f.Start({});
  const std::string reply =
      Exchange(f.port(), "POST /x HTTP/1.0\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 400")) << reply;
  EXPECT_EQ(f.handled.load(), 0);
}

TEST(HttpServer, BothTransferEncodingAndContentLengthAreRefused) {
  Fixture f;
  f.Start({});
  const std::string reply = Exchange(
      f.port(), "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 400")) << reply;
}

TEST(HttpServer, AnHttp11RequestWithoutHostIsRefused) {
  Fixture f;
  f.Start({});
  EXPECT_TRUE(Exchange(f.port(), "GET /x HTTP/1.1\r\n\r\n").starts_with("HTTP/1.1 400"));
}

TEST(HttpServer, TwoHostHeadersAreRefused) {
  Fixture f;
  f.Start({});
  EXPECT_TRUE(Exchange(f.port(), "GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n").starts_with("HTTP/1.1 400"));
}

TEST(HttpServer, AHandlerSlowerThanTheRequestDeadlineStillDeliversItsAnswer) {
  Fixture f;
  HttpServerOptions options;
  options.request_timeout = 200ms;
  f.Start(options);
  const std::string reply = Exchange(f.port(), "POST /slow?ms=700 HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 2\r\n\r\nhi", 5s);
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
  EXPECT_EQ(f.lost.load(), 0);
}

TEST(HttpServer, AnAnswerTheClientLeftBeforeIsReportedAsLostNotDroppedSilently) {
  Fixture f;
  f.Start({});
  const int fd = Connect(f.port());
  ASSERT_TRUE(SendAll(fd, "GET /slow?ms=300 HTTP/1.1\r\nHost: t\r\n\r\n"));
  linger hard{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
  ::close(fd);
  for (int i = 0; i < 100 && f.lost.load() == 0; ++i) std::this_thread::sleep_for(20ms);
  EXPECT_EQ(f.lost.load(), 1);
}

TEST(HttpServer, ConnectionsOverThePerAddressCapGet503WhileOtherAddressesAreServed) {
  Fixture f;
  HttpServerOptions options;
  options.max_connections_per_address = 4;
  f.Start(options);
  std::vector<int> held;
  for (int i = 0; i < 4; ++i) held.push_back(Connect(f.port(), "127.0.3.2"));
  std::this_thread::sleep_for(100ms);
  const std::string refused = Exchange(f.port(), kHealthz, 2s, "127.0.3.2");
  EXPECT_TRUE(refused.starts_with("HTTP/1.1 503")) << refused;
  EXPECT_TRUE(Exchange(f.port(), kHealthz, 2s, "127.0.3.3").starts_with("HTTP/1.1 200"));
  EXPECT_GE(f.capped.load(), 1);
  for (int fd : held) ::close(fd);
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(Exchange(f.port(), kHealthz, 2s, "127.0.3.2").starts_with("HTTP/1.1 200"));
}

TEST(HttpServer, ConnectionsOverTheTotalCapGet503) {
  Fixture f;
  HttpServerOptions options;
  options.max_connections = 8;
  f.Start(options);
  std::vector<int> held;
  for (int i = 0; i < 8; ++i) held.push_back(Connect(f.port(), ("127.0.4." + std::to_string(2 + i)).c_str()));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(f.server->connections(), 8);
  EXPECT_TRUE(Exchange(f.port(), kHealthz, 2s, "127.0.4.99").starts_with("HTTP/1.1 503"));
  for (int fd : held) ::close(fd);
}

TEST(HttpServer, BodiesInFlightShareOneBudgetAndTheOnePastItIsToldToComeBack) {
  Fixture f;
  HttpServerOptions options;
  options.max_body_bytes = 1 << 20;
  options.max_inflight_body_bytes = 2 << 20;
  f.Start(options);
  // Two admitted requests each declaring 900 KiB and sending a little: they hold 1.8 MiB.
  std::vector<int> held;
  for (int i = 0; i < 2; ++i) {
    const int fd = Connect(f.port(), ("127.0.6." + std::to_string(2 + i)).c_str());
    ASSERT_TRUE(SendAll(fd, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 921600\r\n\r\nabc"));
    held.push_back(fd);
  }
  std::this_thread::sleep_for(100ms);
  const std::string third = Exchange(f.port(), "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 921600\r\n\r\n", 2s,
                                     "127.0.6.9");
  EXPECT_TRUE(third.starts_with("HTTP/1.1 503")) << third;
  EXPECT_NE(third.find("Retry-After: 1"), std::string::npos);
  for (int fd : held) ::close(fd);
  std::this_thread::sleep_for(200ms);
  // The budget is given back when those requests end.
  EXPECT_TRUE(Exchange(f.port(), "POST /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc", 2s)
                  .starts_with("HTTP/1.1 200"));
}

// CPU seconds a process has used (user + system), from /proc.
double CpuSeconds(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  const auto close_paren = text.rfind(')');
  std::istringstream fields(text.substr(close_paren + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; fields >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
    if (i == 15) break;
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

TEST(HttpServer, AtTheDescriptorLimitTheAcceptLoopBacksOffInsteadOfSpinningAndRecovers) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  // At the descriptor limit the sanitizers' own runtime fails (UBSan's vptr check opens a pipe to
  // probe memory, finds no descriptor, and reports a false "invalid vptr"): the release build runs it.
  GTEST_SKIP() << "needs descriptors the sanitizer runtime takes at the limit";
#endif
  RaiseDescriptorLimit();
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // The server alone in a process with few descriptors.
    rlimit files{64, 64};
    setrlimit(RLIMIT_NOFILE, &files);
    HttpServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 1;
    options.worker_threads = 1;
    options.max_connections = 1000;  // above the descriptor limit on purpose
    options.idle_timeout = 60s;
    options.request_timeout = 60s;
    HttpCallbacks callbacks;
    callbacks.handle = [](Request&, const RequestInfo&) { return Text(http::status::ok, "ok"); };
    HttpServer server(options, std::move(callbacks));
    if (!server.Start()) _exit(2);
    const std::uint16_t port = server.port();
    (void)!write(ready[1], &port, sizeof port);
    pause();
    _exit(0);
  }
  std::uint16_t port = 0;
  ASSERT_EQ(read(ready[0], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  std::vector<int> held;
  for (int i = 0; i < 120; ++i) {
    const int fd = Connect(port, ("127.0.5." + std::to_string(2 + i)).c_str());
    if (fd >= 0) held.push_back(fd);
  }
  std::this_thread::sleep_for(300ms);
  const double before = CpuSeconds(child);
  std::this_thread::sleep_for(1s);
  const double used = CpuSeconds(child) - before;
  EXPECT_LT(used, 0.25) << "the accept loop spins at the descriptor limit";
  for (int fd : held) ::close(fd);
  std::this_thread::sleep_for(300ms);
  const std::string recovered = Exchange(port, kHealthz, 3s);
  EXPECT_TRUE(recovered.starts_with("HTTP/1.1 200")) << recovered.substr(0, 300);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST(HttpServer, StopAnswersARequestInFlightThenEnds) {
  Fixture f;
  f.Start({});
  std::string reply;
  std::thread client([&] { reply = Exchange(f.port(), "GET /slow?ms=300 HTTP/1.1\r\nHost: t\r\n\r\n", 5s); });
  std::this_thread::sleep_for(100ms);
  f.server->Stop();
  client.join();
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
  EXPECT_NE(reply.find("Connection: close"), std::string::npos);
}

}  // namespace
}  // namespace vigil::server

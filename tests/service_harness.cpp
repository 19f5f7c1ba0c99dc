// The service test harness (see service_harness.h): child processes with posix_spawn, and a
// blocking Boost.Beast client with timeouts so a hung server fails a test instead of hanging it.
#include "service_harness.h"

#include <algorithm>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <atomic>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace vigil::testing {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Spawns argv[0] with stdout/stderr redirected to files; returns the pid.
pid_t SpawnProgram(const std::vector<std::string>& args, const std::filesystem::path& out,
                   const std::filesystem::path& err) {
  std::vector<std::string> argv_storage = args;
  std::vector<char*> argv;
  for (auto& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  return rc == 0 ? pid : -1;
}

// Spawns the vigil executable.
pid_t Spawn(const std::vector<std::string>& args, const std::filesystem::path& out, const std::filesystem::path& err) {
  std::vector<std::string> argv{VIGIL_TEST_CLI};
  argv.insert(argv.end(), args.begin(), args.end());
  return SpawnProgram(argv, out, err);
}

// Waits for a child; the exit status, or -1 (signalled, or still running at the deadline).
int WaitFor(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (done < 0 || std::chrono::steady_clock::now() > deadline) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

std::filesystem::path ScratchFile(const std::string& stem) {
  static std::atomic<int> counter{0};
  return std::filesystem::temp_directory_path() /
         ("vigil-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" + stem);
}

}  // namespace

namespace {

std::atomic<bool> g_tls{false};

// One request and its answer on a connected stream (plain or TLS).
template <class Stream>
void Exchange(Stream& stream, HttpReply& reply, const std::string& method, const std::string& target,
              const std::string& body, const std::map<std::string, std::string>& headers) {
    http::request<http::string_body> request{http::string_to_verb(method), target, 11};
    request.set(http::field::host, "127.0.0.1");
    for (const auto& [name, value] : headers) request.set(name, value);
    request.body() = body;
    request.prepare_payload();
    // A server may answer (413, say) and close before the body is all sent: read the answer anyway.
    beast::error_code write_ec;
    http::write(stream, request, write_ec);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(1ull << 30);
    http::read(stream, buffer, parser);
    const auto& response = parser.get();
    reply.status = response.result_int();
    reply.body = response.body();
    for (const auto& field : response) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      // A header sent more than once (Set-Cookie) keeps every value, one per line.
      auto& value = reply.headers[name];
      value += (value.empty() ? "" : "\n") + std::string(field.value());
    }
}

}  // namespace

void UseTls(bool on) { g_tls = on; }

HttpReply Http(std::uint16_t port, const std::string& method, const std::string& target, const std::string& body,
               const std::map<std::string, std::string>& headers) {
  HttpReply reply;
  try {
    asio::io_context io;
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
    if (g_tls) {
      // The test's own self-signed certificate: not verified.
      asio::ssl::context context(asio::ssl::context::tls_client);
      context.set_verify_mode(asio::ssl::verify_none);
      beast::ssl_stream<beast::tcp_stream> stream(io, context);
      beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(60));
      beast::get_lowest_layer(stream).connect(endpoint);
      stream.handshake(asio::ssl::stream_base::client);
      Exchange(stream, reply, method, target, body, headers);
    } else {
      beast::tcp_stream stream(io);
      stream.expires_after(std::chrono::seconds(60));
      stream.connect(endpoint);
      Exchange(stream, reply, method, target, body, headers);
    }
  } catch (const std::exception&) {
    reply.status = 0;
  }
  return reply;
}

HttpReply HttpJson(std::uint16_t port, const std::string& method, const std::string& target, const std::string& key,
                   const std::string& json) {
  std::map<std::string, std::string> headers;
  if (!key.empty()) headers["Authorization"] = "Bearer " + key;
  if (!json.empty()) headers["Content-Type"] = "application/json";
  return Http(port, method, target, json, headers);
}

HttpReply HttpMedia(std::uint16_t port, const std::string& target, const std::string& key, const std::string& bytes,
                    const std::string& content_type) {
  return Http(port, "POST", target, bytes, {{"Authorization", "Bearer " + key}, {"Content-Type", content_type}});
}

std::string RawExchange(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds wait) {
  std::string received;
  try {
    asio::io_context io;
    beast::tcp_stream stream(io);
    stream.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    asio::write(stream.socket(), asio::buffer(bytes));
    stream.expires_after(wait);
    char chunk[4096];
    for (;;) {
      beast::error_code ec;
      const auto n = stream.read_some(asio::buffer(chunk), ec);
      received.append(chunk, n);
      if (ec) break;
    }
  } catch (const std::exception&) {
  }
  return received;
}

CommandRun RunVigil(const std::vector<std::string>& args) {
  std::vector<std::string> argv{VIGIL_TEST_CLI};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProgram(argv);
}

CommandRun RunProgram(const std::vector<std::string>& argv) {
  const auto out = ScratchFile("out"), err = ScratchFile("err");
  CommandRun run;
  const pid_t pid = SpawnProgram(argv, out, err);
  if (pid > 0) run.status = WaitFor(pid, std::chrono::minutes(10));
  run.out = ReadText(out);
  run.err = ReadText(err);
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  return run;
}

std::string CreateKey(const std::vector<std::string>& store_flags, const std::string& role, const std::string& name) {
  std::vector<std::string> args{"keys", "create", "--role", role, "--name", name};
  args.insert(args.end(), store_flags.begin(), store_flags.end());
  auto run = RunVigil(args);
  if (run.status != 0) return "";
  while (!run.out.empty() && (run.out.back() == '\n' || run.out.back() == '\r')) run.out.pop_back();
  return run.out;
}

ServerProcess::ServerProcess(std::filesystem::path work_dir, std::vector<std::string> args)
    : work_dir_(std::move(work_dir)), args_(std::move(args)) {
  port_file_ = work_dir_ / "serve.port";
  log_file_ = work_dir_ / "serve.log";
}

ServerProcess::~ServerProcess() { Kill(); }

bool ServerProcess::Start(std::chrono::milliseconds timeout) {
  std::filesystem::create_directories(work_dir_);
  std::filesystem::remove(port_file_);
  // A port the server picks, unless the test names one (an OpenID redirect URI must know it first).
  std::vector<std::string> args{"serve", "--port-file", port_file_.string()};
  if (std::find(args_.begin(), args_.end(), "--listen") == args_.end()) args.insert(args.end(), {"--listen", "127.0.0.1:0"});
  args.insert(args.end(), args_.begin(), args_.end());
  pid_ = Spawn(args, work_dir_ / "serve.out", log_file_);
  if (pid_ <= 0) return false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;  // exited early: the log says why
      return false;
    }
    if (std::filesystem::exists(port_file_)) {
      port_ = static_cast<std::uint16_t>(std::stoi(ReadText(port_file_)));
      if (Http(port_, "GET", "/readyz").status == 200) return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

int ServerProcess::Terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const int status = WaitFor(pid_, timeout);
  if (status == -1) Kill();
  pid_ = -1;
  return status;
}

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string ServerProcess::Log() const { return ReadText(log_file_); }

std::uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

}  // namespace vigil::testing

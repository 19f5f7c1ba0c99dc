// Test harness for the service: starts the real `vigil serve` executable as a child process on
// a free loopback port, talks HTTP/1.1 to it with a small Boost.Beast client, and runs other vigil
// commands (keys, import, store check) against the same data directory.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace vigil::testing {

struct HttpReply {
  unsigned status = 0;  // 0: the connection failed or was closed without a response
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names; a repeated header's values one per line
};

// Every request from here on over TLS (the server's certificate is not verified), or plain again.
void UseTls(bool on);

// One request on a fresh connection. `headers` are added as given.
HttpReply Http(std::uint16_t port, const std::string& method, const std::string& target,
               const std::string& body = {}, const std::map<std::string, std::string>& headers = {});

// Shorthands: JSON bodies with a bearer key.
HttpReply HttpJson(std::uint16_t port, const std::string& method, const std::string& target, const std::string& key,
                   const std::string& json = {});
HttpReply HttpMedia(std::uint16_t port, const std::string& target, const std::string& key, const std::string& bytes,
                    const std::string& content_type = "image/jpeg");

// Writes raw bytes to the server and returns whatever comes back until it closes (or `wait`).
std::string RawExchange(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds wait);

struct CommandRun {
  int status = -1;  // exit status; -1 if it did not exit normally
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs the vigil executable with these arguments (no shell), capturing stdout and stderr.
CommandRun RunVigil(const std::vector<std::string>& args);
// Runs any program (argv[0] is its path), capturing stdout and stderr.
CommandRun RunProgram(const std::vector<std::string>& argv);

// A `vigil serve` child process. `args` carry the store flags (--data-dir or --database-url) and
// anything else; the port is picked by the server and read from its --port-file in `work_dir`,
// where its log also goes.
class ServerProcess {
 public:
  ServerProcess(std::filesystem::path work_dir, std::vector<std::string> args);
  ~ServerProcess();  // SIGKILL if still running
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Starts the process and waits until /readyz answers 200 (false after `timeout`).
  bool Start(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  std::uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  // SIGTERM, then waits for the exit status (-1 if it did not exit in time or by a signal).
  int Terminate(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void Kill();  // SIGKILL, and reap
  std::string Log() const;  // what the server wrote on stderr

 private:
  std::filesystem::path work_dir_;
  std::vector<std::string> args_;
  std::filesystem::path port_file_, log_file_;
  pid_t pid_ = -1;
  std::uint16_t port_ = 0;
};

// A loopback port free a moment ago (bind to 0, read it, close): racy against other processes, good
// enough for a server that must know its port before it starts (an OpenID redirect URI, NATS).
std::uint16_t FreePort();

// Creates a key with the CLI and returns its secret ("" on failure).
std::string CreateKey(const std::vector<std::string>& store_flags, const std::string& role, const std::string& name);

}  // namespace vigil::testing

// TLS in the HTTP server and in `vigil serve`: certificates made by the test (self-signed, OpenSSL),
// a client speaking TLS 1.2/1.3 served with Strict-Transport-Security, a client offering only TLS
// 1.0/1.1 refused, a renewed certificate read by ReloadTls (and by SIGHUP in `vigil serve`) for new
// connections while an open one goes on, and a bad renewal leaving the certificate in use.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <thread>

#include "server/http_server.h"
#include "service_harness.h"
#include "test_images.h"
#include "test_tls.h"

namespace vigil {
namespace {

using server::HttpServer;
using server::HttpServerOptions;

using testing::PemPair;

PemPair SelfSigned(const std::string& cn) { return testing::SelfSignedCertificate(cn); }

int Connect(std::uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in remote{};
  remote.sin_family = AF_INET;
  remote.sin_port = htons(port);
  inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&remote), sizeof remote) != 0) {
    ::close(fd);
    return -1;
  }
  timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

// A blocking TLS client on one connection: the versions it offers, the server's certificate's CN,
// requests in turn on the same connection (keep-alive).
class TlsClient {
 public:
  TlsClient(std::uint16_t port, int min_version, int max_version) {
    ctx_ = SSL_CTX_new(TLS_client_method());
    // Old protocol versions are off by default here too (Debian's security level): allow them in
    // the client, so that a refusal is the server's.
    SSL_CTX_set_security_level(ctx_, 0);
    SSL_CTX_set_cipher_list(ctx_, "DEFAULT:@SECLEVEL=0");
    SSL_CTX_set_min_proto_version(ctx_, min_version);
    SSL_CTX_set_max_proto_version(ctx_, max_version);
    fd_ = Connect(port);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    connected_ = fd_ >= 0 && SSL_connect(ssl_) == 1;
  }
  ~TlsClient() {
    if (ssl_ != nullptr) SSL_free(ssl_);
    if (fd_ >= 0) ::close(fd_);
    SSL_CTX_free(ctx_);
  }
  bool connected() const { return connected_; }
  std::string PeerName() const {
    X509* cert = SSL_get1_peer_certificate(ssl_);
    if (cert == nullptr) return "";
    char cn[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
    X509_free(cert);
    return cn;
  }
  // One GET; the reply's head and body up to its Content-Length.
  std::string Get(const std::string& target) {
    const std::string request = "GET " + target + " HTTP/1.1\r\nHost: t\r\n\r\n";
    if (SSL_write(ssl_, request.data(), static_cast<int>(request.size())) <= 0) return "";
    std::string reply;
    char buffer[16384];
    while (true) {
      const auto end = reply.find("\r\n\r\n");
      if (end != std::string::npos) {
        const auto at = reply.find("Content-Length: ");
        const std::size_t length = at == std::string::npos ? 0 : std::stoul(reply.substr(at + 16));
        if (reply.size() >= end + 4 + length) return reply;
      }
      const int n = SSL_read(ssl_, buffer, sizeof buffer);
      if (n <= 0) return reply;
      reply.append(buffer, static_cast<std::size_t>(n));
    }
  }

 private:
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  int fd_ = -1;
  bool connected_ = false;
};

class TlsTest : public ::testing::Test {
 protected:
  void Write(const PemPair& pem) {
    std::ofstream(cert_) << pem.cert;
    std::ofstream(key_) << pem.key;
  }
  void StartServer() {
    HttpServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    options.tls_cert_file = cert_.string();
    options.tls_key_file = key_.string();
    server::HttpCallbacks callbacks;
    callbacks.admit = [](const server::RequestHeader& header, const std::string&) {
      server::Admission admission;
      if (header.target() == "/private") admission.refusal = server::HttpErrorResponse(server::http::status::unauthorized, "unauthenticated", "no key");
      return admission;
    };
    callbacks.handle = [](server::Request&, const server::RequestInfo&) {
      server::Response response{server::http::status::ok, 11};
      response.body() = "ok";
      return response;
    };
    server_ = std::make_unique<HttpServer>(options, std::move(callbacks));
    auto started = server_->Start();
    ASSERT_TRUE(started) << started.error().message;
  }
  testing::TempDir dir_;
  std::filesystem::path cert_ = dir_.path() / "cert.pem", key_ = dir_.path() / "key.pem";
  std::unique_ptr<HttpServer> server_;
};

TEST_F(TlsTest, ATls12Or13ClientIsServedWithStrictTransportSecurity) {
  Write(SelfSigned("first.test"));
  StartServer();
  for (const int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    TlsClient client(server_->port(), version, version);
    ASSERT_TRUE(client.connected()) << version;
    const auto reply = client.Get("/healthz");
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
    EXPECT_NE(reply.find("Strict-Transport-Security: max-age=31536000"), std::string::npos) << reply;
  }
  // Refusals before any handler carry it too.
  TlsClient refused(server_->port(), TLS1_2_VERSION, TLS1_3_VERSION);
  ASSERT_TRUE(refused.connected());
  const auto reply = refused.Get("/private");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 401")) << reply;
  EXPECT_NE(reply.find("Strict-Transport-Security: max-age=31536000"), std::string::npos) << reply;
}

TEST_F(TlsTest, AClientOfferingOnlyTls10Or11IsRefused) {
  Write(SelfSigned("first.test"));
  StartServer();
  EXPECT_FALSE(TlsClient(server_->port(), TLS1_VERSION, TLS1_1_VERSION).connected());
  EXPECT_FALSE(TlsClient(server_->port(), TLS1_1_VERSION, TLS1_1_VERSION).connected());
  // The same client, allowed TLS 1.2, gets in: the refusal was the server's.
  EXPECT_TRUE(TlsClient(server_->port(), TLS1_VERSION, TLS1_2_VERSION).connected());
}

TEST_F(TlsTest, PlainHttpOnATlsPortGetsNoAnswer) {
  Write(SelfSigned("first.test"));
  StartServer();
  const int fd = Connect(server_->port());
  ASSERT_GE(fd, 0);
  const std::string request = "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n";
  ASSERT_EQ(::send(fd, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  char buffer[256];
  const auto n = ::recv(fd, buffer, sizeof buffer, 0);
  EXPECT_EQ(std::string(buffer, n > 0 ? static_cast<std::size_t>(n) : 0).find("HTTP/1.1 200"), std::string::npos);
  ::close(fd);
}

TEST_F(TlsTest, ARenewedCertificateServesNewConnectionsWhileAnOpenOneGoesOn) {
  Write(SelfSigned("first.test"));
  StartServer();
  TlsClient open(server_->port(), TLS1_2_VERSION, TLS1_3_VERSION);
  ASSERT_TRUE(open.connected());
  EXPECT_TRUE(open.Get("/a").starts_with("HTTP/1.1 200"));
  Write(SelfSigned("renewed.test"));
  ASSERT_TRUE(server_->ReloadTls());
  TlsClient fresh(server_->port(), TLS1_2_VERSION, TLS1_3_VERSION);
  ASSERT_TRUE(fresh.connected());
  EXPECT_EQ(fresh.PeerName(), "renewed.test");
  EXPECT_EQ(open.PeerName(), "first.test");
  EXPECT_TRUE(open.Get("/b").starts_with("HTTP/1.1 200")) << "the open connection goes on";
}

TEST_F(TlsTest, ARenewalWhoseKeyIsNotTheCertificatesLeavesTheOneInUse) {
  Write(SelfSigned("first.test"));
  StartServer();
  const PemPair other = SelfSigned("other.test");
  std::ofstream(cert_) << SelfSigned("renewed.test").cert;
  std::ofstream(key_) << other.key;
  auto reloaded = server_->ReloadTls();
  ASSERT_FALSE(reloaded);
  EXPECT_NE(reloaded.error().message.find("TLS private key"), std::string::npos) << reloaded.error().message;
  TlsClient client(server_->port(), TLS1_2_VERSION, TLS1_3_VERSION);
  ASSERT_TRUE(client.connected());
  EXPECT_EQ(client.PeerName(), "first.test");
}

TEST_F(TlsTest, VigilServeReadsARenewedCertificateOnSighup) {
  Write(SelfSigned("first.test"));
  std::ofstream(dir_.path() / "vigil.toml") << "[tls]\ncert_file = \"" << cert_.string() << "\"\nkey_file = \""
                                             << key_.string() << "\"\n";
  // ServerProcess waits for /readyz in plain HTTP: over TLS it never answers, so the port file is
  // read here once the server writes it.
  const auto port_file = dir_.path() / "port";
  const auto log = dir_.path() / "serve.log";
  const pid_t pid = fork();
  if (pid == 0) {
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 2);
    const std::string cli = VIGIL_TEST_CLI;
    execl(cli.c_str(), cli.c_str(), "serve", "--data-dir", (dir_.path() / "data").c_str(), "--listen", "127.0.0.1:0",
          "--port-file", port_file.c_str(), "--config", (dir_.path() / "vigil.toml").c_str(), "--no-access-log",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  std::uint16_t port = 0;
  for (int i = 0; i < 300 && port == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream in(port_file);
    int p = 0;
    if (in >> p) port = static_cast<std::uint16_t>(p);
  }
  ASSERT_NE(port, 0) << testing::ReadText(log);
  TlsClient open(port, TLS1_2_VERSION, TLS1_3_VERSION);
  ASSERT_TRUE(open.connected()) << testing::ReadText(log);
  EXPECT_TRUE(open.Get("/healthz").starts_with("HTTP/1.1 200"));
  Write(SelfSigned("renewed.test"));
  ASSERT_EQ(kill(pid, SIGHUP), 0);
  std::string name;
  for (int i = 0; i < 100 && name != "renewed.test"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    TlsClient fresh(port, TLS1_2_VERSION, TLS1_3_VERSION);
    if (fresh.connected()) name = fresh.PeerName();
  }
  EXPECT_EQ(name, "renewed.test") << testing::ReadText(log);
  EXPECT_TRUE(open.Get("/healthz").starts_with("HTTP/1.1 200")) << "the open connection goes on";
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << testing::ReadText(log);
  EXPECT_NE(testing::ReadText(log).find("TLS certificate reloaded"), std::string::npos);
}

}  // namespace
}  // namespace vigil

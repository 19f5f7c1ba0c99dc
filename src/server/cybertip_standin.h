// A stand-in for NCMEC's CyberTipline reporting API, for tests and for operators rehearsing filing
// end to end (`vigil report standin`; never NCMEC, nothing leaves the machine): the documented endpoints (status,
// submit, upload, fileinfo, finish, retract), HTTP Basic authentication, the documented response
// codes, and report state (open, finished, retracted) so that double filing would show. Faults can
// be queued per endpoint: a response code, an HTTP 500 without acting, or acting and then
// answering HTTP 500 (the request took effect but the client never learns it).
//
// Thread safety: every method may be called while the server runs.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace vigil::server {

class CyberTipStandIn {
 public:
  struct Fault {
    // kAlteredUpload: /upload stores the file but answers an MD5 other than the file's (what it
    // holds is not what was sent).
    enum Kind { kCode, kHttp500, kActThenHttp500, kAlteredUpload } kind = kCode;
    int code = 1000;
  };
  struct Report {
    std::string id;
    std::string state = "open";  // open, finished, retracted
    std::string xml;
    std::string esp_identifier;
    std::vector<std::string> file_ids;
    std::map<std::string, std::string> file_md5;      // file id -> MD5 of what was uploaded
    std::map<std::string, std::string> file_details;  // file id -> the last fileDetails document
  };

  CyberTipStandIn(std::string user, std::string password, std::string xsd_path = {});
  ~CyberTipStandIn();

  // Listens on `host`:`port` (0: a free port); false when it cannot bind.
  bool Start(const std::string& host = "127.0.0.1", std::uint16_t port = 0);
  std::string base_url() const;  // http://HOST:PORT/ispws

  // Queues `fault` for the next `times` requests to `path` ("/upload").
  void FailNext(const std::string& path, Fault fault, int times = 1);

  std::vector<Report> Reports() const;
  int Finished(const std::string& esp_identifier) const;  // reports finished for this user
  int Requests(const std::string& path) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace vigil::server

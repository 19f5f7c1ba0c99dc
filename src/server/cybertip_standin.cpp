// The CyberTipline stand-in (see cybertip_standin.h), on the project's own HTTP server.
#include "server/cybertip_standin.h"

#include <libxml/parser.h>

#include "net/http_fetch.h"
#include "server/http_server.h"
#include "vigil/cybertip.h"
#include "vigil/digest.h"
#include "vigil/file_hasher.h"

namespace vigil::server {
namespace {

namespace http = boost::beast::http;

std::string Between(const std::string& text, const std::string& open, const std::string& close) {
  const auto a = text.find(open);
  if (a == std::string::npos) return {};
  const auto b = text.find(close, a + open.size());
  return b == std::string::npos ? std::string() : text.substr(a + open.size(), b - a - open.size());
}

std::string Element(const std::string& xml, const std::string& name) {
  return Between(xml, "<" + name + ">", "</" + name + ">");
}

bool WellFormed(const std::string& xml) {
  xmlDoc* doc = xmlReadMemory(xml.data(), static_cast<int>(xml.size()), "in.xml", nullptr,
                              XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
  if (doc == nullptr) return false;
  xmlFreeDoc(doc);
  return true;
}

std::string Answer(int code, const std::string& description, const std::string& extra = {}) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<reportResponse><responseCode>" + std::to_string(code) +
         "</responseCode><responseDescription>" + description + "</responseDescription>" + extra + "</reportResponse>";
}

std::string FormValue(const std::string& body, const std::string& name) {
  const std::string key = name + "=";
  const auto at = body.find(key);
  if (at == std::string::npos) return {};
  return body.substr(at + key.size(), body.find('&', at) - at - key.size());
}

// The named part of a multipart/form-data body.
std::string Part(const std::string& body, const std::string& boundary, const std::string& name) {
  const std::string delimiter = "--" + boundary;
  std::size_t at = 0;
  while ((at = body.find(delimiter, at)) != std::string::npos) {
    at += delimiter.size();
    const auto headers_end = body.find("\r\n\r\n", at);
    if (headers_end == std::string::npos) return {};
    const std::string headers = body.substr(at, headers_end - at);
    const auto next = body.find("\r\n" + delimiter, headers_end + 4);
    if (next == std::string::npos) return {};
    if (headers.find("name=\"" + name + "\"") != std::string::npos) {
      return body.substr(headers_end + 4, next - headers_end - 4);
    }
    at = next;
  }
  return {};
}

}  // namespace

struct CyberTipStandIn::State {
  std::string user, password, xsd_path;
  std::string host = "127.0.0.1";
  mutable std::mutex mutex;
  std::map<std::string, Report> reports;
  std::vector<std::string> order;
  std::map<std::string, std::deque<Fault>> faults;
  std::map<std::string, int> requests;
  int next_id = 70001;
  int next_file = 1;
  int next_request = 1;
  std::unique_ptr<server::HttpServer> server;

  server::Response Handle(server::Request& request) {
    std::lock_guard lock(mutex);
    server::Response response{http::status::ok, request.version()};
    response.set(http::field::content_type, "text/xml; charset=utf-8");
    response.set("Request-ID", "standin-" + std::to_string(next_request++));
    const std::string expected = "Basic " + net::Base64(user + ":" + password);
    if (std::string(request[http::field::authorization]) != expected) {
      response.result(http::status::unauthorized);
      response.body().clear();
      return response;
    }
    std::string path(request.target());
    const std::string prefix = "/ispws";
    if (path.rfind(prefix, 0) == 0) path = path.substr(prefix.size());
    ++requests[path];
    if (path == "/xsd") {  // the schema itself, as NCMEC serves it to registered reporters
      auto schema = ReadFileLimited(xsd_path, 8u << 20);
      if (schema) response.body().assign(schema->begin(), schema->end());
      return response;
    }
    Fault fault;
    bool faulty = false;
    if (auto it = faults.find(path); it != faults.end() && !it->second.empty()) {
      fault = it->second.front();
      it->second.pop_front();
      faulty = true;
    }
    if (faulty && fault.kind == Fault::kHttp500) {
      response.result(http::status::internal_server_error);
      response.body() = "<html>Internal Server Error</html>";
      return response;
    }
    if (faulty && fault.kind == Fault::kCode) {
      response.body() = Answer(fault.code, "injected fault");
      return response;
    }
    response.body() = Act(path, request);
    if (faulty && fault.kind == Fault::kAlteredUpload) {
      const auto at = response.body().find("<hash>");
      if (at != std::string::npos) response.body().replace(at + 6, 32, std::string(32, '0'));
    }
    if (faulty && fault.kind == Fault::kActThenHttp500) {
      response.result(http::status::internal_server_error);
      response.body() = "<html>Gateway Timeout</html>";
    }
    return response;
  }

  std::string Act(const std::string& path, server::Request& request) {
    const std::string& body = request.body();
    if (path == "/status") return Answer(0, "Success");
    if (path == "/submit") {
      if (!WellFormed(body) || body.find("<report>") == std::string::npos) return Answer(4110, "Malformed XML");
      if (!xsd_path.empty() && !ValidateAgainstSchema(body, xsd_path)) return Answer(4100, "Validation failed");
      Report r;
      r.id = std::to_string(next_id++);
      r.xml = body;
      r.esp_identifier = Element(body, "espIdentifier");
      reports[r.id] = r;
      order.push_back(r.id);
      return Answer(0, "Success", "<reportId>" + r.id + "</reportId>");
    }
    if (path == "/upload") {
      const std::string type(request[http::field::content_type]);
      const auto b = type.find("boundary=");
      if (b == std::string::npos) return Answer(4000, "Invalid request");
      const std::string boundary = type.substr(b + 9);
      const std::string id = Part(body, boundary, "id");
      const std::string file = Part(body, boundary, "file");
      auto it = reports.find(id);
      if (it == reports.end()) return Answer(5001, "Report does not exist");
      if (it->second.state == "finished") return Answer(5102, "Report already finished");
      if (it->second.state == "retracted") return Answer(5101, "Report already retracted");
      if (file.empty()) return Answer(4200, "Malformed file");
      const std::string file_id = "f" + std::to_string(next_file++);
      const std::string md5 =
          ComputeDigests({reinterpret_cast<const std::uint8_t*>(file.data()), file.size()}).md5;
      it->second.file_ids.push_back(file_id);
      it->second.file_md5[file_id] = md5;
      return Answer(0, "Success", "<reportId>" + id + "</reportId><fileId>" + file_id + "</fileId><hash>" + md5 +
                                      "</hash>");
    }
    if (path == "/fileinfo") {
      if (!WellFormed(body) || body.find("<fileDetails>") == std::string::npos) return Answer(4110, "Malformed XML");
      const std::string id = Element(body, "reportId");
      const std::string file_id = Element(body, "fileId");
      auto it = reports.find(id);
      if (it == reports.end()) return Answer(5001, "Report does not exist");
      if (it->second.state == "finished") return Answer(5102, "Report already finished");
      if (it->second.state == "retracted") return Answer(5101, "Report already retracted");
      if (!it->second.file_md5.count(file_id)) return Answer(5002, "File does not exist");
      it->second.file_details[file_id] = body;
      return Answer(0, "Success", "<reportId>" + id + "</reportId>");
    }
    if (path == "/finish" || path == "/retract") {
      const std::string id = FormValue(body, "id");
      auto it = reports.find(id);
      if (it == reports.end()) return Answer(5001, "Report does not exist");
      if (it->second.state == "finished") return Answer(5102, "Report already finished");
      if (it->second.state == "retracted") return Answer(5101, "Report already retracted");
      if (path == "/retract") {
        it->second.state = "retracted";
        return Answer(0, "Success", "<reportId>" + id + "</reportId>");
      }
      it->second.state = "finished";
      std::string files;
      for (const auto& f : it->second.file_ids) files += "<fileId>" + f + "</fileId>";
      return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<reportDoneResponse><responseCode>0</responseCode>"
             "<reportId>" +
             id + "</reportId><files>" + files + "</files></reportDoneResponse>";
    }
    return Answer(1210, "Resource not found");
  }

};

CyberTipStandIn::CyberTipStandIn(std::string user, std::string password, std::string xsd_path)
    : state_(std::make_unique<State>()) {
  state_->user = std::move(user);
  state_->password = std::move(password);
  state_->xsd_path = std::move(xsd_path);
}

CyberTipStandIn::~CyberTipStandIn() {
  if (state_->server) state_->server->Stop();
}

bool CyberTipStandIn::Start(const std::string& host, std::uint16_t port) {
  server::HttpServerOptions options;
  options.host = host;
  options.port = port;
  options.threads = 1;
  options.worker_threads = 1;
  server::HttpCallbacks callbacks;
  callbacks.handle = [this](server::Request& request, const server::RequestInfo&) { return state_->Handle(request); };
  state_->host = host;
  state_->server = std::make_unique<server::HttpServer>(options, std::move(callbacks));
  return static_cast<bool>(state_->server->Start());
}

std::string CyberTipStandIn::base_url() const {
  return "http://" + state_->host + ":" + std::to_string(state_->server->port()) + "/ispws";
}

void CyberTipStandIn::FailNext(const std::string& path, Fault fault, int times) {
  std::lock_guard lock(state_->mutex);
  for (int i = 0; i < times; ++i) state_->faults[path].push_back(fault);
}

std::vector<CyberTipStandIn::Report> CyberTipStandIn::Reports() const {
  std::lock_guard lock(state_->mutex);
  std::vector<Report> out;
  for (const auto& id : state_->order) out.push_back(state_->reports.at(id));
  return out;
}

int CyberTipStandIn::Finished(const std::string& esp_identifier) const {
  std::lock_guard lock(state_->mutex);
  int n = 0;
  for (const auto& [id, r] : state_->reports) n += r.state == "finished" && r.esp_identifier == esp_identifier;
  return n;
}

int CyberTipStandIn::Requests(const std::string& path) const {
  std::lock_guard lock(state_->mutex);
  auto it = state_->requests.find(path);
  return it == state_->requests.end() ? 0 : it->second;
}

}  // namespace vigil::server

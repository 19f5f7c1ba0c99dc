// A plain list at an https URL or in a local file, as HMA's local_file and URL fetchers: the whole
// list on every fetch, in one of the import formats (csv, text, hma, ncmec, stopncii). Entries the
// bank holds that the list no longer does are removed (the sync adds those removals). The
// checkpoint is the list's SHA-256: an unchanged list imports nothing. Hosts are limited to the
// URL's own (and the settings' allowed_hosts), no redirect is followed, and the size is bounded
// (max_bytes, default 256 MiB). Settings: url (https://... or file:/absolute/path), format,
// signal_type (for text), max_bytes. Credentials (optional): an Authorization header's value.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <climits>
#include <cstdlib>

#include "exchange/client_kinds.h"
#include "vigil/digest.h"
#include "vigil/hash_list.h"

namespace vigil::exchange {
namespace {

Result<std::string> ReadListFile(const std::string& path, std::uint64_t max_bytes, const std::vector<std::string>& roots) {
  // Checked as written first (so whether a file outside exists is never told), then resolved, so
  // a link cannot lead out of the allowed directories.
  auto inside = [&](const std::string& candidate) {
    return std::any_of(roots.begin(), roots.end(), [&](const std::string& root) {
      if (root == "/") return true;
      std::string prefix = root;
      while (prefix.size() > 1 && prefix.back() == '/') prefix.pop_back();
      return candidate.rfind(prefix + "/", 0) == 0;
    });
  };
  const auto outside = Fail(ErrorCode::kPermissionDenied, "the list file " + path + " is outside the directories lists "
                                                          "may be read from ([exchanges] list_directory)");
  std::error_code ec;
  if (!inside(std::filesystem::path(path).lexically_normal().string())) return outside;
  char* real = ::realpath(path.c_str(), nullptr);
  if (real == nullptr) return Fail(ErrorCode::kNotFound, "cannot find the list file " + path);
  const std::string resolved(real);
  std::free(real);
  if (!inside(resolved)) return outside;
  const int fd = ::open(resolved.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
  if (fd < 0) return Fail(ErrorCode::kNotFound, "cannot open the list file " + path);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Fail(ErrorCode::kInvalidArgument, "the list " + path + " is not a regular file");
  }
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes) {
    ::close(fd);
    return Fail(ErrorCode::kTooLarge, "the list " + path + " is over " + std::to_string(max_bytes) + " bytes");
  }
  std::string data(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < data.size()) {
    const auto n = ::read(fd, data.data() + done, data.size() - done);
    if (n <= 0) {
      ::close(fd);
      return Fail(ErrorCode::kIoError, "cannot read the list " + path);
    }
    done += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return data;
}

class UrlListClient final : public ExchangeClient {
 public:
  UrlListClient(ClientSetup setup, std::string url, std::string format, std::string signal_type, std::uint64_t max_bytes)
      : setup_(std::move(setup)),
        url_(std::move(url)),
        format_(std::move(format)),
        signal_type_(std::move(signal_type)),
        max_bytes_(max_bytes) {}

  Result<SyncPage> Fetch(const std::string& checkpoint) override {
    std::string data;
    if (url_.rfind("file:", 0) == 0) {
      VIGIL_ASSIGN_OR_RETURN(data, ReadListFile(url_.substr(5), max_bytes_, setup_.list_roots));
    } else {
      HttpCall call;
      call.url = url_;
      if (!setup_.secret.empty()) call.headers.emplace_back("Authorization", setup_.secret);
      VIGIL_ASSIGN_OR_RETURN(auto reply, SendWithRetry(*setup_.fetcher, call, setup_.retry, "the list's host"));
      if (reply.status >= 300 && reply.status < 400) {  // never followed
        return Fail(ErrorCode::kInvalidArgument, "the list's host answered a redirect (HTTP " + std::to_string(reply.status) +
                                                     "), which is not followed: configure the list's final URL");
      }
      if (reply.status != 200) return tl::unexpected(UnexpectedAnswer("the list's host", reply));
      if (reply.body.size() > max_bytes_) return Fail(ErrorCode::kTooLarge, "the list is over " + std::to_string(max_bytes_) + " bytes");
      data = std::move(reply.body);
    }
    SyncPage page;
    page.format = format_;
    page.full_list = true;
    page.checkpoint = "sha256:" + Sha256Hex(std::string_view(data));
    if (page.checkpoint == checkpoint) {
      page.unchanged = true;
      return page;
    }
    ListParseOptions options;
    options.source = setup_.exchange;
    options.signal_type = signal_type_;
    options.max_bytes = max_bytes_;
    auto list = ParseHashList(format_, data, options);
    if (!list) return Fail(list.error().code, "the list was refused: " + list.error().message);
    page.fetched = static_cast<std::int64_t>(list->ops.size());
    page.skipped = list->skipped;
    for (auto& op : list->ops) {
      if (op.provenance.source.empty()) op.provenance.source = setup_.exchange;
    }
    page.ops = std::move(list->ops);
    return page;
  }

  Status SendFeedback(const FeedbackItem&) override {
    return Fail(ErrorCode::kUnsupported, "a plain list takes no feedback");
  }
  bool takes_feedback() const override { return false; }

 private:
  ClientSetup setup_;
  std::string url_, format_, signal_type_;
  std::uint64_t max_bytes_;
};

}  // namespace

Result<std::unique_ptr<ExchangeClient>> MakeUrlListClient(ClientSetup setup) {
  auto fail = [&](const std::string& what) { return Fail(ErrorCode::kInvalidArgument, "exchange '" + setup.exchange + "': " + what); };
  VIGIL_ASSIGN_OR_RETURN(auto url, TextSetting(setup, "url", ""));
  if (url.rfind("file:", 0) == 0) {
    if (url.size() < 7 || url[5] != '/') return fail("url file:PATH needs an absolute path (file:/srv/lists/list.csv)");
  } else if (auto parsed = ParseHttpUrl(url); !parsed) {
    return fail("url: " + parsed.error().message);
  }
  VIGIL_ASSIGN_OR_RETURN(auto format, TextSetting(setup, "format", "csv"));
  const auto formats = HashListFormats();
  if (format == "vpdq" || std::find(formats.begin(), formats.end(), format) == formats.end()) {
    return fail("format must be csv, text, hma, ncmec or stopncii, not '" + format + "'");
  }
  VIGIL_ASSIGN_OR_RETURN(auto signal_type, TextSetting(setup, "signal_type", "pdq"));
  VIGIL_ASSIGN_OR_RETURN(auto max_bytes, IntSetting(setup, "max_bytes", 256ll << 20));
  if (max_bytes < 1 || max_bytes > (4ll << 30)) return fail("max_bytes must be 1 byte to 4 GiB");
  if (setup.max_body_bytes < static_cast<std::uint64_t>(max_bytes)) setup.max_body_bytes = static_cast<std::uint64_t>(max_bytes);
  return std::unique_ptr<ExchangeClient>(std::make_unique<UrlListClient>(std::move(setup), std::move(url), std::move(format),
                                                                         std::move(signal_type), static_cast<std::uint64_t>(max_bytes)));
}

}  // namespace vigil::exchange

// Hashing one upload (see media_hashing.h), and the JSON forms that cross the sandbox's pipe.
#include "signals/media_hashing.h"

#include <charconv>

#include "vigil/file_hasher.h"
#include "vigil/signal_type.h"

namespace vigil {
namespace {

namespace json = boost::json;

std::string VideoMediaType(const VideoHashResult& video) {
  if (video.container.find("mp4") != std::string::npos) return "video/mp4";
  if (video.container.find("webm") != std::string::npos) return "video/webm";
  if (video.container == "avi") return "video/x-msvideo";
  if (video.container == "flv") return "video/x-flv";
  if (video.container == "mpegts") return "video/mp2t";
  if (video.container == "mpeg") return "video/mpeg";
  if (video.container == "ogg") return "video/ogg";
  return "video/" + video.container.substr(0, video.container.find(','));
}

// Doubles cross as their shortest exact decimal text: Boost.JSON's number parsing is not always
// correctly rounded, and a frame time or a sampling rate must arrive bit for bit.
json::string Exact(double v) {
  char buf[64];
  const auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  return json::string(std::string_view(buf, static_cast<std::size_t>(end - buf)));
}

bool FromExact(const json::value& v, double& out) {
  if (!v.is_string()) return false;
  const auto& s = v.as_string();
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size();
}

Error Malformed(const std::string& what) { return {ErrorCode::kCorrupt, "sandbox message: " + what}; }

// Typed reads of a JSON object's members; a missing or mistyped member is an error.
class Reader {
 public:
  explicit Reader(const json::value& v) : o_(v.if_object()) {}
  bool ok() const { return o_ != nullptr && error_.empty(); }
  const std::string& error() const { return error_; }

  template <typename T>
  void Get(const char* key, T& out) {
    const json::value* v = Find(key);
    if (v == nullptr) return;
    if constexpr (std::is_same_v<T, bool>) {
      if (v->is_bool()) return void(out = v->as_bool());
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (v->is_string()) return void(out = std::string(v->as_string()));
    } else if constexpr (std::is_floating_point_v<T>) {
      if (double d = 0; FromExact(*v, d)) return void(out = static_cast<T>(d));
    } else {
      std::error_code ec;
      const auto n = v->to_number<T>(ec);
      if (!ec) return void(out = n);
    }
    error_ = std::string("'") + key + "' has the wrong type";
  }
  const json::value* Find(const char* key) {
    if (o_ == nullptr) {
      error_ = "not an object";
      return nullptr;
    }
    const json::value* v = o_->if_contains(key);
    if (v == nullptr) error_ = std::string("'") + key + "' is missing";
    return v;
  }

 private:
  const json::object* o_;
  std::string error_;
};

json::object DigestsJson(const FileDigests& d) { return {{"md5", d.md5}, {"sha1", d.sha1}, {"sha256", d.sha256}}; }

}  // namespace

Result<HashedMedia> HashMedia(std::span<const std::uint8_t> bytes, const MediaHashOptions& options) {
  HashedMedia out;
  if (LooksLikeVideo(bytes)) {
    VideoHasher hasher(options.video);
    auto video = hasher.HashBytes(bytes);
    if (!video) return tl::unexpected(video.error());
    out.media_type = VideoMediaType(*video);
    out.width = video->width;
    out.height = video->height;
    out.signals = {{"md5", video->digests.md5}, {"sha1", video->digests.sha1}, {"sha256", video->digests.sha256},
                   {"vpdq", VpdqIdentity(video->frames)}};
    out.video = std::move(*video);
    return out;
  }
  FileHashOptions hash_options;
  hash_options.limits = options.limits;
  hash_options.dihedral = options.extra.dihedral;
  hash_options.trimmed = options.extra.trimmed;
  FileHasher hasher(hash_options);
  VIGIL_ASSIGN_OR_RETURN(auto hashed, hasher.HashBytes(bytes));
  out.media_type = "image/" + std::string(ImageFormatName(hashed.format));
  out.width = hashed.width;
  out.height = hashed.height;
  out.signals = {{"pdq", hashed.pdq.hash.ToHex()},
                 {"md5", hashed.digests.md5},
                 {"sha1", hashed.digests.sha1},
                 {"sha256", hashed.digests.sha256}};
  out.pdq_quality = hashed.pdq.quality;
  if (hashed.dihedral) {
    for (int k = 1; k < kDihedralCount; ++k) {
      out.extra.emplace_back("dihedral:" + std::string(DihedralName(static_cast<Dihedral>(k))), "dihedral",
                             hashed.dihedral->hashes[static_cast<std::size_t>(k)]);
    }
  }
  for (const PdqResult& trimmed : hashed.trimmed) out.extra.emplace_back("trimmed", "trimmed", trimmed.hash);
  return out;
}

namespace {

// Every option with its name, for both directions of the JSON form (`o` const or not).
template <typename Options, typename F>
void EachOption(Options& o, F&& f) {
  auto& l = o.limits;
  auto& v = o.video.limits;
  f("max_file_bytes", l.max_file_bytes);
  f("max_pixels", l.max_pixels);
  f("max_dimension", l.max_dimension);
  f("max_jpeg_scans", l.max_jpeg_scans);
  f("jpeg_fast_min_side", l.jpeg_fast_min_side);
  f("seconds_per_hash", o.video.seconds_per_hash);
  f("allow_truncated", o.video.allow_truncated);
  f("video_max_file_bytes", v.max_file_bytes);
  f("video_max_pixels", v.max_pixels);
  f("video_max_dimension", v.max_dimension);
  f("video_max_duration_seconds", v.max_duration_seconds);
  f("video_max_frames", v.max_frames);
  f("video_max_wall_seconds", v.max_wall_seconds);
  f("video_threads", v.threads);
  f("dihedral", o.extra.dihedral);
  f("trimmed", o.extra.trimmed);
}

}  // namespace

json::object MediaHashOptionsToJson(const MediaHashOptions& o) {
  json::object out;
  EachOption(o, [&](const char* name, const auto& value) {
    if constexpr (std::is_floating_point_v<std::decay_t<decltype(value)>>) {
      out[name] = Exact(value);
    } else {
      out[name] = value;
    }
  });
  return out;
}

Result<MediaHashOptions> MediaHashOptionsFromJson(const json::value& value) {
  MediaHashOptions o;
  Reader r(value);
  EachOption(o, [&](const char* name, auto& field) { r.Get(name, field); });
  if (!r.ok()) return tl::unexpected(Malformed("options: " + r.error()));
  return o;
}

json::object HashedMediaToJson(const HashedMedia& m) {
  json::object signals;
  for (const auto& [type, value] : m.signals) signals[type] = value;
  json::array extra;
  for (const auto& [label, measure, hash] : m.extra) extra.push_back(json::array{json::string(label), json::string(measure), json::string(hash.ToHex())});
  json::object out{{"media_type", m.media_type}, {"width", m.width}, {"height", m.height}, {"signals", std::move(signals)},
                   {"extra", std::move(extra)}};
  if (m.pdq_quality) out["pdq_quality"] = *m.pdq_quality;
  if (m.video) {
    const auto& v = *m.video;
    json::array frames;
    frames.reserve(v.frames.size());
    for (const auto& f : v.frames) {
      frames.push_back(json::array{f.frame, f.quality, json::string(f.pdq.ToHex()), Exact(f.timestamp)});
    }
    out["video"] = json::object{{"frames", std::move(frames)},
                                {"digests", DigestsJson(v.digests)},
                                {"container", v.container},
                                {"codec", v.codec},
                                {"width", v.width},
                                {"height", v.height},
                                {"frame_rate", Exact(v.frame_rate)},
                                {"duration_seconds", Exact(v.duration_seconds)},
                                {"frames_decoded", v.frames_decoded},
                                {"frames_declared", v.frames_declared},
                                {"truncated", v.truncated}};
  }
  return out;
}

Result<HashedMedia> HashedMediaFromJson(const json::value& value) {
  HashedMedia m;
  Reader r(value);
  r.Get("media_type", m.media_type);
  r.Get("width", m.width);
  r.Get("height", m.height);
  if (!r.ok()) return tl::unexpected(Malformed(r.error()));
  const auto& o = value.as_object();
  const auto* signals = o.if_contains("signals");
  if (signals == nullptr || !signals->is_object()) return tl::unexpected(Malformed("'signals' is missing"));
  // The answer comes from a process that decoded hostile bytes: what it says is checked like input.
  const std::string_view media_type = m.media_type;
  if ((media_type.rfind("image/", 0) != 0 && media_type.rfind("video/", 0) != 0) || media_type.size() > 40 ||
      media_type.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789/.+-") != std::string_view::npos) {
    return tl::unexpected(Malformed("media type '" + m.media_type.substr(0, 40) + "' is not one Vigil gives"));
  }
  for (const auto& [type, v] : signals->as_object()) {
    if (!v.is_string()) return tl::unexpected(Malformed("signal '" + std::string(type) + "' is not a string"));
    auto normal = NormalizeSignal(type, v.as_string());
    if (!normal || *normal != v.as_string()) return tl::unexpected(Malformed("signal '" + std::string(type) + "' is malformed"));
    m.signals[std::string(type)] = std::move(*normal);
  }
  if (const auto* q = o.if_contains("pdq_quality"); q != nullptr) {
    if (!q->is_int64()) return tl::unexpected(Malformed("'pdq_quality' is not an integer"));
    m.pdq_quality = static_cast<int>(q->as_int64());
  }
  const auto* extra = o.if_contains("extra");
  if (extra == nullptr || !extra->is_array()) return tl::unexpected(Malformed("'extra' is missing"));
  for (const auto& e : extra->as_array()) {
    const auto* a = e.if_array();
    if (a == nullptr || a->size() != 3 || !(*a)[0].is_string() || !(*a)[1].is_string() || !(*a)[2].is_string()) {
      return tl::unexpected(Malformed("an extra hash is not [label, measure, hex]"));
    }
    auto hash = PdqHash::FromHex(std::string((*a)[2].as_string()));
    if (!hash) return tl::unexpected(Malformed("an extra hash: " + hash.error().message));
    m.extra.emplace_back(std::string((*a)[0].as_string()), std::string((*a)[1].as_string()), *hash);
  }
  if (const auto* video = o.if_contains("video"); video != nullptr) {
    VideoHashResult v;
    Reader vr(*video);
    vr.Get("container", v.container);
    vr.Get("codec", v.codec);
    vr.Get("width", v.width);
    vr.Get("height", v.height);
    vr.Get("frame_rate", v.frame_rate);
    vr.Get("duration_seconds", v.duration_seconds);
    vr.Get("frames_decoded", v.frames_decoded);
    vr.Get("frames_declared", v.frames_declared);
    vr.Get("truncated", v.truncated);
    if (const auto* d = vr.Find("digests"); d != nullptr) {
      Reader dr(*d);
      dr.Get("md5", v.digests.md5);
      dr.Get("sha1", v.digests.sha1);
      dr.Get("sha256", v.digests.sha256);
      if (!dr.ok()) return tl::unexpected(Malformed("video digests: " + dr.error()));
    }
    const auto* frames = vr.Find("frames");
    if (!vr.ok() || frames == nullptr || !frames->is_array()) return tl::unexpected(Malformed("video: " + vr.error()));
    v.frames.reserve(frames->as_array().size());
    for (const auto& f : frames->as_array()) {
      const auto* a = f.if_array();
      double timestamp = 0;
      if (a == nullptr || a->size() != 4 || !(*a)[0].is_int64() || !(*a)[1].is_int64() || !(*a)[2].is_string() ||
          !FromExact((*a)[3], timestamp)) {
        return tl::unexpected(Malformed("a video frame is not [frame, quality, hex, timestamp]"));
      }
      auto hash = PdqHash::FromHex(std::string((*a)[2].as_string()));
      if (!hash) return tl::unexpected(Malformed("a video frame: " + hash.error().message));
      v.frames.push_back({(*a)[0].as_int64(), static_cast<int>((*a)[1].as_int64()), *hash, timestamp});
    }
    m.video = std::move(v);
  }
  return m;
}

}  // namespace vigil

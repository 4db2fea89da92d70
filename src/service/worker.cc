#include "service/worker.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stop_token>
#include <thread>

#include "assess/assess.h"
#include "base/text.h"
#include "convert/convert.h"
#include "formats/probe.h"
#include "io/arriving_source.h"
#include "io/sinks.h"
#include "io/sources.h"
#include "rules/check.h"
#include "rules/messages.h"
#include "sandbox/sandbox.h"
#include "service/runtime.h"
#include "service/store_pump.h"

namespace ig::service {
namespace {

namespace fs = std::filesystem;

std::int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct Download {
  CURL* curl = nullptr;
  int fd = -1;
  bool write_failed = false;
  ArrivalFront* front = nullptr;  // told of the announced size and of every byte written
  bool announced = false;
  std::uint64_t bytes = 0;
  std::uint64_t max = 0;
  bool too_big = false;
  std::string head;  // the first bytes, for an error body
  const std::function<bool(std::uint64_t, std::uint64_t)>* on_progress = nullptr;
  bool aborted = false;
  EVP_MD_CTX* sha256 = nullptr;
  EVP_MD_CTX* md5 = nullptr;
  std::string etag;  // of the 200 answer, quotes removed
};

struct DigestDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Digest = std::unique_ptr<EVP_MD_CTX, DigestDeleter>;

Digest new_digest(const EVP_MD* md) {
  Digest d(EVP_MD_CTX_new());
  if (d && EVP_DigestInit_ex(d.get(), md, nullptr) != 1) d.reset();
  return d;
}

std::string hex_digest(EVP_MD_CTX* c) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (c == nullptr || EVP_DigestFinal_ex(c, out, &n) != 1) return {};
  return to_hex(std::string_view(reinterpret_cast<const char*>(out), n));
}

// A single-part S3 object's ETag is the MD5 of its bytes: 32 hex digits (multipart ones end "-N").
bool is_md5_etag(const std::string& etag) {
  return etag.size() == 32 && std::all_of(etag.begin(), etag.end(),
                                          [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; });
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* d = static_cast<Download*>(user);
  const std::string_view line(data, size * n);
  if (line.size() > 5 &&
      (line.substr(0, 5) == "ETag:" || line.substr(0, 5) == "etag:" || line.substr(0, 5) == "Etag:")) {
    std::string v(line.substr(5));
    v.erase(std::remove_if(v.begin(), v.end(), [](char c) { return c == '"' || c == ' ' || c == '\r' || c == '\n'; }),
            v.end());
    d->etag = to_lower(v);
  }
  return size * n;
}

std::size_t on_data(char* data, std::size_t size, std::size_t n, void* user) {
  auto* d = static_cast<Download*>(user);
  const std::size_t len = size * n;
  if (!d->announced) {
    // The first bytes of the body: a 200 answer's Content-Length is the size its readers wait
    // for, and an object larger than the limit is refused before any of it is stored.
    d->announced = true;
    long status = 0;
    curl_off_t length = -1;
    curl_easy_getinfo(d->curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(d->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    if (status == 200 && length >= 0) {
      if (static_cast<std::uint64_t>(length) > d->max) {
        d->too_big = true;
        return 0;
      }
      if (d->front != nullptr) d->front->announce(static_cast<std::uint64_t>(length));
    }
  }
  if (d->bytes + len > d->max) {
    d->too_big = true;
    return 0;
  }
  if (d->head.size() < 4096) d->head.append(data, std::min<std::size_t>(len, 4096 - d->head.size()));
  if (!write_all(d->fd, data, len)) {
    d->write_failed = true;
    return 0;
  }
  if (d->sha256 != nullptr) EVP_DigestUpdate(d->sha256, data, len);
  if (d->md5 != nullptr) EVP_DigestUpdate(d->md5, data, len);
  d->bytes += len;
  if (d->front != nullptr) d->front->advance(len);
  return len;
}

int on_transfer(void* user, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* d = static_cast<Download*>(user);
  if (d->on_progress == nullptr || !*d->on_progress) return 0;
  if (!(*d->on_progress)(static_cast<std::uint64_t>(now), static_cast<std::uint64_t>(total))) {
    d->aborted = true;
    return 1;
  }
  return 0;
}

// "host:port" of an http(s) URL, and the host alone.
std::pair<std::string, std::string> authority(const std::string& url) {
  const auto scheme = url.find("://");
  if (scheme == std::string::npos) return {};
  const auto start = scheme + 3;
  const auto end = url.find_first_of("/?#", start);
  std::string a = url.substr(start, end == std::string::npos ? std::string::npos : end - start);
  if (const auto at = a.rfind('@'); at != std::string::npos) a = a.substr(at + 1);
  return {a, a.substr(0, a.rfind(':') == std::string::npos ? a.size() : a.rfind(':'))};
}

bool endpoint_matches(const std::string& pattern, const std::string& hostport, const std::string& host) {
  if (pattern.rfind("*.", 0) == 0) {
    const std::string suffix = pattern.substr(1);  // ".cos.ap-guangzhou.myqcloud.com"
    auto ends = [&](const std::string& s) { return s.size() > suffix.size() && s.ends_with(suffix); };
    return ends(hostport) || ends(host);
  }
  return pattern == hostport || pattern == host;
}

// The regions of the Chinese mainland that may import from another region.
bool mainland_open_region(const std::string& region) {
  static const char* const kRegions[] = {"ap-guangzhou", "ap-shanghai",  "ap-nanjing",  "ap-beijing",
                                         "ap-chengdu",   "ap-chongqing", "ap-shenzhen", "ap-tianjin"};
  return std::find(std::begin(kRegions), std::end(kRegions), region) != std::end(kRegions);
}

catalog::Outcome failure(std::string code, const ig::Message& cause, Lang lang) {
  catalog::Outcome out;
  out.error_code = std::move(code);
  out.error_message = render(cause, lang);
  out.error_cause = message_json(cause);
  return out;
}

}  // namespace

bool region_allows(const std::string& import_region, const std::string& object_region) {
  if (import_region.empty() || object_region.empty() || import_region == object_region) return true;
  return mainland_open_region(import_region);
}

Fetched fetch_object(const std::string& url, const std::string& region, const std::string& destination,
                     const WorkerConfig& config, const std::function<bool(std::uint64_t, std::uint64_t)>& on_progress,
                     ArrivalFront* front) {
  Fetched f;
  // However this ends, the readers following the download are told: complete only when the
  // bytes are all there and verified.
  struct Finish {
    ArrivalFront* front;
    const Fetched& f;
    ~Finish() {
      if (front != nullptr) front->finish(f.ok);
    }
  } finish{front, f};
  // (not a structured binding: clang 14 cannot capture one in the lambda below)
  const std::pair<std::string, std::string> where = authority(url);
  const auto endpoint = std::find_if(config.storage.begin(), config.storage.end(), [&](const StorageEndpoint& e) {
    return endpoint_matches(e.host, where.first, where.second);
  });
  if (endpoint == config.storage.end()) {
    f.error_code = "InvalidUrl";
    f.cause = {"url.not-storage", {where.first.empty() ? url.substr(0, 200) : where.first}};
    return f;
  }
  if (!region_allows(region, endpoint->region)) {
    f.error_code = "InvalidUrl";
    f.cause = {"url.region", {endpoint->region, region}};
    return f;
  }
  Download d;
  d.max = config.max_download_bytes;
  d.on_progress = &on_progress;
  const Digest sha256 = new_digest(EVP_sha256());
  const Digest md5 = new_digest(EVP_md5());
  d.sha256 = sha256.get();
  d.md5 = md5.get();
  d.front = front;
  // Written as it arrives, without a buffer of ours: what the front says has arrived is in the file.
  d.fd = ::open(destination.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (d.fd < 0) {
    f.error_code = "InternalError";
    f.cause = {"import.internal", {fmt::format("cannot create the scratch file {}", destination)}};
    return f;
  }
  CURL* curl = curl_easy_init();
  d.curl = curl;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &d);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &d);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_transfer);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &d);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect could leave the object storage
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024);  // fewer, larger writes
  // A download that stalls (under 1 KiB/s for the stall time) is abandoned.
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(config.stall_seconds));
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_off_t announced = -1;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced);
  curl_easy_cleanup(curl);
  const bool flushed = ::close(d.fd) == 0 && !d.write_failed;
  f.bytes = d.bytes;
  if (d.too_big) {
    f.error_code = "InvalidFormatSize";
    f.cause = {"url.too-big", {std::to_string(config.max_download_bytes)}};
  } else if (d.aborted) {
    f.error_code = "InternalError";
    f.cause = {"import.internal", {"the task was taken over by another worker"}};
  } else if (rc != CURLE_OK && status == 0) {
    f.error_code = "InvalidUrl";
    f.cause = {"url.unreachable", {curl_easy_strerror(rc)}};
  } else if (status == 404) {
    f.error_code = "InvalidUrl";
    f.cause = {"url.deleted", {}};
  } else if (status >= 400 && status < 500 && status != 404) {
    // 403 "Request has expired" for a presigned URL past its time; a refusal of an unsigned
    // URL means the object is private (S3 answers 403, Swift's s3api 400 or 401).
    const bool expired = d.head.find("expired") != std::string::npos || d.head.find("Expired") != std::string::npos;
    const bool unsigned_url = url.find("Signature=") == std::string::npos &&
                              url.find("X-Amz-Signature=") == std::string::npos &&
                              url.find("q-signature=") == std::string::npos && url.find("sign=") == std::string::npos;
    f.error_code = "InvalidUrl";
    f.cause = expired         ? ig::Message{"url.expired", {}}
              : unsigned_url  ? ig::Message{"url.private", {}}
              : status == 403 ? ig::Message{"url.denied", {}}
                              : ig::Message{"url.status", {std::to_string(status)}};
  } else if (status == 200 && rc == CURLE_OPERATION_TIMEDOUT) {
    // Not the URL's fault: the storage or the network stopped sending.
    f.error_code = "InternalError";
    f.cause = {"url.stalled", {std::to_string(config.stall_seconds), std::to_string(d.bytes)}};
  } else if (status == 200 && (rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR) && announced > 0) {
    f.error_code = "InternalError";
    f.cause = {"url.cut", {std::to_string(d.bytes), std::to_string(announced)}};
  } else if (status != 200 || rc != CURLE_OK || !flushed) {
    f.error_code = "InvalidUrl";
    f.cause = {"url.status",
               {fmt::format("{}{}", status, rc != CURLE_OK ? std::string(": ") + curl_easy_strerror(rc) : "")}};
  } else if (const std::string md5_hex = hex_digest(d.md5); is_md5_etag(d.etag) && md5_hex != d.etag) {
    // The bytes are not those the storage holds: damaged on the way.
    f.error_code = "InternalError";
    f.cause = {"url.corrupt", {d.etag, md5_hex}};
  } else {
    f.ok = true;
    f.path = destination;
    f.sha256 = hex_digest(d.sha256);
    return f;
  }
  std::error_code ec;
  fs::remove(destination, ec);
  return f;
}

std::string image_key(const std::string& image_id) {
  return image_id + ".qcow2";
}

std::string data_disk_key(const std::string& image_id, std::int64_t n) {
  return fmt::format("{}-data{}.qcow2", image_id, n);
}

void remove_import_files(store::ImageStore& store, const std::string& data_dir, const std::string& image_id,
                         bool keep_downloads) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(data_dir) / "scratch", ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(image_id + ".", 0) != 0 && name.rfind(image_id + "-", 0) != 0) continue;
    if (keep_downloads && !name.ends_with(".part")) continue;
    fs::remove(e.path(), ec);
  }
  // The stored images and unfinished puts. Best effort: what a store that is down now keeps is
  // removed by the next attempt or by DeleteImages.
  (void)store.remove_all(image_id + ".");
  (void)store.remove_all(image_id + "-");
}

namespace {

std::string sha256_of_file(const std::string& path) {
  const Digest d = new_digest(EVP_sha256());
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr || !d) {
    if (f != nullptr) std::fclose(f);
    return {};
  }
  std::vector<char> buffer(1 << 20);
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), f)) > 0) EVP_DigestUpdate(d.get(), buffer.data(), n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  return failed ? std::string() : hex_digest(d.get());
}

}  // namespace

std::optional<Fetched> kept_download(const std::string& path) {
  const std::string mark = path + ".sha256";
  std::error_code ec;
  if (fs::exists(path, ec) && fs::exists(mark, ec)) {
    std::string recorded;
    if (std::FILE* m = std::fopen(mark.c_str(), "rb"); m != nullptr) {
      char buffer[65] = {};
      recorded.assign(buffer, std::fread(buffer, 1, 64, m));
      std::fclose(m);
    }
    if (recorded.size() == 64 && sha256_of_file(path) == recorded) {
      Fetched f;
      f.ok = true;
      f.path = path;
      f.bytes = fs::file_size(path, ec);
      f.sha256 = recorded;
      return f;
    }
  }
  fs::remove(mark, ec);
  fs::remove(path, ec);
  return std::nullopt;
}

void keep_download(const std::string& path, Fetched& f) {
  const std::string mark = path + ".sha256";
  std::error_code ec;
  fs::rename(path + ".part", path, ec);
  if (!ec) {
    if (std::FILE* m = std::fopen((mark + ".part").c_str(), "wb"); m != nullptr) {
      const bool written = std::fwrite(f.sha256.data(), 1, f.sha256.size(), m) == f.sha256.size();
      if (std::fclose(m) == 0 && written) fs::rename(mark + ".part", mark, ec);
    }
  }
  f.path = path;
}

Fetched fetch_once(const std::string& url, const std::string& region, const std::string& path,
                   const WorkerConfig& config, const std::function<bool(std::uint64_t, std::uint64_t)>& on_progress) {
  if (std::optional<Fetched> kept = kept_download(path)) return *kept;
  Fetched f = fetch_object(url, region, path + ".part", config, on_progress);
  if (f.ok) keep_download(path, f);
  return f;
}

namespace {

std::string file_name_of(const std::string& url) {
  std::string name = url.substr(0, url.find('?'));
  return name.substr(name.rfind('/') + 1);
}

// The sandboxed reader of an upload (import_disk_once), a program of its own started with
// run_sandboxed(SandboxProgram): what it needs crosses as a JSON request — the rules, the limits,
// the file's name — and three descriptors: the download (read as it arrives), the pipe to the
// StorePump, the download's shared front. Its result is a JSON object: {"ok": true, "size",
// "virtual_size", "cloud_init"}, {"ok": false, "code", "cause"}, or {"ok": false, "retry": true}.
constexpr std::string_view kUploadReader = "import-upload-reader";

// Limits cross by name, every field.
template <typename F>
void for_each_limit(Limits& l, F&& f) {
  f("max_virtual_size_bytes", l.max_virtual_size_bytes);
  f("max_table_bytes", l.max_table_bytes);
  f("max_metadata_cache_bytes", l.max_metadata_cache_bytes);
  f("max_cluster_bytes", l.max_cluster_bytes);
  f("max_descriptor_bytes", l.max_descriptor_bytes);
  f("max_header_extensions", l.max_header_extensions);
  f("max_metadata_entries", l.max_metadata_entries);
  f("max_l2_tables", l.max_l2_tables);
  f("max_output_bytes", l.max_output_bytes);
  f("sandbox_memory_bytes", l.sandbox_memory_bytes);
  f("sandbox_cpu_seconds", l.sandbox_cpu_seconds);
  f("sandbox_wall_seconds", l.sandbox_wall_seconds);
  f("sandbox_output_bytes", l.sandbox_output_bytes);
  f("sandbox_result_bytes", l.sandbox_result_bytes);
}

std::string reader_request(const CheckOptions& options, bool system_disk, bool import_unverified,
                           const std::string& name) {
  nlohmann::json limits = nlohmann::json::object();
  Limits l = options.assess.limits;
  for_each_limit(l, [&](const char* key, auto value) { limits[key] = value; });
  return nlohmann::json{{"name", name},
                        {"system_disk", system_disk},
                        {"import_unverified", import_unverified},
                        {"file_name", options.assess.file_name},
                        {"force", options.force},
                        {"os_type", options.os_type},
                        {"os_version", options.os_version},
                        {"architecture", options.architecture},
                        {"max_virtual_size", options.max_virtual_size},
                        {"max_qcow2_size", options.max_qcow2_size},
                        {"limits", limits}}
      .dump();
}

std::string read_upload(std::string_view request, std::span<const int> fds, SandboxChannel& channel) {
  nlohmann::json r;
  auto refuse = [&r](const std::string& code, const ig::Message& cause) {
    r["ok"] = false;
    r["code"] = code;
    r["cause"] = message_json(cause);
    return r.dump();
  };
  auto internal = [&](std::string what) { return refuse(kInternalError, {"import.internal", {std::move(what)}}); };
  // The request comes from the worker that started this process; still, every field is checked.
  const nlohmann::json q = nlohmann::json::parse(request, nullptr, /*allow_exceptions=*/false);
  auto field = [&](const char* key, auto& out) {
    using T = std::remove_reference_t<decltype(out)>;
    if (!q.is_object() || !q.contains(key)) return false;
    const nlohmann::json& v = q[key];
    if constexpr (std::is_same_v<T, bool>) {
      if (!v.is_boolean()) return false;
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (!v.is_string()) return false;
    } else {
      if (!v.is_number_unsigned()) return false;
    }
    out = v.get<T>();
    return true;
  };
  CheckOptions options;
  bool system_disk = false;
  bool import_unverified = false;
  std::string name;
  bool good = fds.size() == 3 && field("name", name) && field("system_disk", system_disk) &&
              field("import_unverified", import_unverified) && field("file_name", options.assess.file_name) &&
              field("force", options.force) && field("os_type", options.os_type) &&
              field("os_version", options.os_version) && field("architecture", options.architecture) &&
              field("max_virtual_size", options.max_virtual_size) && field("max_qcow2_size", options.max_qcow2_size) &&
              q.contains("limits") && q["limits"].is_object();
  if (good) {
    const nlohmann::json& lj = q["limits"];
    for_each_limit(options.assess.limits, [&](const char* key, auto& value) {
      using T = std::remove_reference_t<decltype(value)>;
      if (!lj.contains(key) || !lj[key].is_number_unsigned()) {
        good = false;
        return;
      }
      value = lj[key].get<T>();
    });
  }
  if (!good) return internal("the reader's request is malformed");
  options.assess.inspect_guest = system_disk;
  options.assess.max_virtual_size = options.max_virtual_size;
  options.assess.exact_above = options.max_qcow2_size;
  options.assess.measure_only_if_decisive = true;  // the inspection's bytes may come long before the last
  const int fd = fds[0];
  const int data_w = fds[1];
  auto front = SharedArrivalFront::map(fds[2]);
  if (!front) return internal(front.error().message);
  auto arriving = ArrivingSource::open(fd, **front, name);
  if (!arriving) return internal(arriving.error().message);
  const std::shared_ptr<const ArrivingSource> source = std::move(*arriving);
  // While the file arrives, the reads of its last bytes that would wait are answered with zeros
  // (ArrivingSource::guess_tail): the probe and the partition reader look there first. What was
  // concluded from a guess holds once the real bytes are zero too; if they are not, the disk is
  // judged again, or read again whole (`retry`). A refusal by the format check may rest on the
  // guess, so it waits for the end; any other refusal is given at once.
  source->guess_tail((*front)->state.load() != ArrivalFront::kComplete);
  auto retry = [&r] {
    r["ok"] = false;
    r["retry"] = true;
    return r.dump();
  };
  auto judged = [&](const Assessment& a) {
    return system_disk ? judge(a.facts, options) : judge_data_disk(a.facts, options);
  };
  // Only a file with no header (raw, or a fixed VHD whose footer is at the end) is guessed at:
  // a container's reader maps guest data onto the file's last bytes too.
  if (auto head = probe(*source); !head || !head->empty()) source->guess_tail(false);
  auto assessed = assess(source, options.assess);
  if (!assessed) return internal(assessed.error().message);
  const CheckReport report = judged(*assessed);
  if (!report.pass && !report.unverified && source->guessed() && report.failed_check == "format") return retry();
  if (report.unverified && source->guessed()) {
    // What could not be read may be what was guessed: decided on the real bytes.
    auto held = source->guesses_held();
    if (!held) return internal(held.error().message);
    if (!*held) return retry();
  }
  if (report.unverified && !import_unverified) return refuse(kInternalError, {"import.unverified", {report.reason}});
  if (!report.pass && !report.unverified) return refuse(report.error_code, report.reason);
  source->guess_tail(false);
  // A raw disk is converted from the file itself; other readers may keep metadata they read, so
  // a guess must have held before they convert.
  const bool raw = assessed->image->info().format == Format::kRaw;
  if (source->guessed() && !raw) {
    auto held = source->guesses_held();
    if (!held) return internal(held.error().message);
    if (!*held) return retry();
  }
  r["cloud_init"] = report.cloud_init && report.cloud_init->enabled;
  r["virtual_size"] = assessed->image->info().virtual_size;
  ConvertOptions co;
  co.progress = [&channel](std::uint64_t done, std::uint64_t all) { channel.progress(done, all); };
  // The child only writes the pipe; the store's commit is the worker's.
  PipeSink out_sink(data_w, options.assess.limits.sandbox_output_bytes);
  if (auto opened = out_sink.open(assessed->facts.qcow2_exact_size.value_or(assessed->facts.qcow2_size.value_or(0)));
      !opened) {
    return internal(opened.error().message);
  }
  auto stats = convert(*assessed->image, out_sink, co);
  if (!stats) return internal(fmt::format("conversion to qcow2 failed: {}", stats.error().message));
  if (source->guessed() && raw) {
    auto held = source->guesses_held();  // waits for the end of the download
    if (!held) return internal(held.error().message);
    if (!*held) {
      // The end is not zeros: the disk is judged again on its real bytes (the conversion read
      // them already). Still a raw disk that passes: the conversion stands.
      auto whole = assess(source, options.assess);
      if (!whole) return internal(whole.error().message);
      const CheckReport rejudged = judged(*whole);
      if (!whole->image || whole->image->info().format != Format::kRaw) return retry();
      if (rejudged.unverified && !import_unverified)
        return refuse(kInternalError, {"import.unverified", {rejudged.reason}});
      if (!rejudged.pass && !rejudged.unverified) return refuse(rejudged.error_code, rejudged.reason);
    }
  }
  r["ok"] = true;
  r["size"] = stats->output_size;
  return r.dump();
}

const SandboxEntryRegistration kUploadReaderEntry{kUploadReader, &read_upload};

}  // namespace

// One disk of an import, the system disk or a data disk, by one path: fetched once, assessed,
// judged by its rules, and the very image that was judged converted into the store under `key`.
//
// The stages overlap (issue 17): the download is written to scratch as it arrives, and the
// sandboxed reader reads it through an ArrivingSource, whose reads wait for their bytes. The check
// runs from the first bytes, the conversion follows the download front, and a refusal is known as
// soon as the bytes that decide it have arrived: the rest of the download is then abandoned. The
// object is requested once; a download kept from an earlier attempt is read without a request.
DiskOutcome Worker::import_disk(const DiskJob& job, const std::stop_token& stop, ProgressMeter& progress) {
  bool again = false;
  DiskOutcome out = import_disk_once(job, stop, progress, again);
  if (again) out = import_disk_once(job, stop, progress, again);  // from the kept, complete download
  return out;
}

DiskOutcome Worker::import_disk_once(const DiskJob& job, const std::stop_token& stop, ProgressMeter& progress,
                                     bool& again) {
  again = false;
  DiskOutcome out;
  auto fail = [&out](std::string code, ig::Message cause) {
    out.error_code = std::move(code);
    out.cause = std::move(cause);
    return out;
  };
  auto internal = [&fail](std::string what) { return fail(kInternalError, {"import.internal", {std::move(what)}}); };
  auto front = SharedArrivalFront::create();
  if (!front) return internal(front.error().message);
  const std::optional<Fetched> kept = kept_download(job.scratch);
  const std::string download = kept ? job.scratch : job.scratch + ".part";
  // The reader's descriptor. A fresh download writes the same file through its own.
  const int fd = ::open(download.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return internal(fmt::format("cannot open the scratch file {}: {}", download, std::strerror(errno)));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  progress.start_disk(job.number, job.progress_from, job.progress_to, ProgressMeter::Clock::now());
  if (kept) {
    (*front)->announce(kept->bytes);
    (*front)->advance(kept->bytes);
    (*front)->finish(true);
    progress.fetched(kept->bytes, kept->bytes);
  }

  CheckOptions options = job.rules;
  options.assess.file_name = file_name_of(job.url);
  // The upload is read, judged and converted in the sandbox (sandbox/sandbox.h): a process started
  // for it (read_upload above; spawned, not forked, so that it holds none of this process's locks
  // or credentials) that can read the download and write one pipe, and nothing else. It cannot reach the store (an S3
  // store needs sockets), so the qcow2 it converts comes through the pipe to a thread of this
  // process that writes it into the store as it arrives (StorePump); this process commits it
  // once the child has ended well and the download is complete and verified.
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return internal(fmt::format("pipe: {}", std::strerror(errno)));
  const int data_r = pipe_fds[0];
  int data_w = pipe_fds[1];
  StorePump pump(store_, job.key, options.assess.limits.sandbox_output_bytes);
  std::thread pumping([&pump, data_r] { pump.run(data_r); });
  // The download runs on its own thread, started once the child exists (SandboxSpec::after_fork).
  std::thread fetching;
  Fetched fetched;
  std::atomic<bool> abandon{false};           // the reader's verdict came first: stop the download
  std::atomic<bool> failed_by_itself{false};  // the download failed before anything abandoned it
  // However this function ends: the download stopped and joined, the parent's write end closed
  // (the pump then sees the end of what the child wrote), the pump joined, the read end closed.
  struct Threads {
    int& w;
    int r;
    std::thread& pump;
    std::thread& fetch;
    std::atomic<bool>& abandon;
    void finish_pump() {
      if (w >= 0) ::close(w);
      w = -1;
      if (pump.joinable()) pump.join();
    }
    ~Threads() {
      abandon = true;
      if (fetch.joinable()) fetch.join();
      finish_pump();
      ::close(r);
    }
  } threads{data_w, data_r, pumping, fetching, abandon};

  SandboxSpec spec;
  spec.keep_fds = {fd, data_w, front->fd()};
  spec.limits = options.assess.limits;
  spec.stop = stop;
  spec.on_progress = [&](std::uint64_t done, std::uint64_t all) { progress.converted(done, all); };
  spec.after_fork = [&] {
    if (kept) return;
    fetching = std::thread([&] {
      const auto began = std::chrono::steady_clock::now();
      fetched = fetch_object(
          job.url, job.region, download, config_,
          [&](std::uint64_t done, std::uint64_t all) {
            progress.fetched(done, all);
            return !stop.stop_requested() && !abandon;
          },
          &**front);
      if (!fetched.ok && !abandon) failed_by_itself = true;
      // Kept at once, with its record, while the reader may still be converting (its descriptor
      // survives the rename): a crash from here on retries from this file, without a request.
      if (fetched.ok) {
        keep_download(job.scratch, fetched);
        const std::chrono::duration<double> took = std::chrono::steady_clock::now() - began;
        log_event("info", "download finished",
                  {{"key", job.key},
                   {"bytes", std::to_string(fetched.bytes)},
                   {"seconds", fmt::format("{:.3f}", took.count())}});
      }
    });
  };
  // This program again (its main() runs sandbox_child_main() first).
  SandboxProgram program{std::string(kUploadReader),
                         reader_request(options, job.system_disk, config_.import_unverified, download)};
  auto run = run_sandboxed(program, spec);
  threads.finish_pump();  // the child has ended: what it wrote is all there will be

  // What the reader found: a conversion, a refusal, or a sandbox outcome.
  struct Found {
    bool ok = false;
    std::string code;
    ig::Message cause;
    nlohmann::json result;
    bool retry = false;  // read the disk again once its download is complete
  } found;
  if (!run) {
    found = {false, kInternalError, {"import.internal", {run.error().message}}, {}};
  } else if (!run->ok()) {
    // InternalError is SPEC §3's catch-all; the cause names the budget or the fault.
    found = {false, kInternalError, sandbox_message(*run, spec.limits), {}};
  } else {
    const nlohmann::json r = nlohmann::json::parse(run->result, nullptr, /*allow_exceptions=*/false);
    const auto cause = r.is_object() && r.contains("cause") && r["cause"].is_string()
                           ? parse_message_json(r["cause"].get<std::string>())
                           : std::nullopt;
    const ig::Message malformed{"import.internal", {"the sandboxed reader's result is malformed"}};
    if (!r.is_object() || !r.contains("ok") || !r["ok"].is_boolean()) {
      found = {false, kInternalError, malformed, {}};
    } else if (!r["ok"].get<bool>() && r.contains("retry") && r["retry"] == true) {
      found.retry = true;
    } else if (!r["ok"].get<bool>()) {
      const bool named = r.contains("code") && r["code"].is_string() && cause;
      found = {false, named ? r["code"].get<std::string>() : kInternalError, named ? *cause : malformed, {}};
    } else if (!r.contains("size") || !r["size"].is_number_unsigned() || !r.contains("virtual_size") ||
               !r["virtual_size"].is_number_unsigned() || !r.contains("cloud_init") || !r["cloud_init"].is_boolean()) {
      found = {false, kInternalError, malformed, {}};
    } else {
      found = {true, "", {}, r};
    }
  }
  // A refusal ends the download at once; a conversion waits for the download's end and its
  // verification (the ETag) before anything is committed.
  if (fetching.joinable()) {
    if (!found.ok && !found.retry) abandon = true;
    fetching.join();
    if (!found.ok && !found.retry && !failed_by_itself) {
      const std::uint64_t announced = (*front)->size.load();
      log_event(
          "info", "download abandoned: the reader's verdict came first",
          {{"key", job.key},
           {"fetched", std::to_string(fetched.bytes)},
           {"announced", announced == ArrivalFront::kUnknown ? std::string("unknown") : std::to_string(announced)},
           {"code", found.code}});
    }
  }
  if (!kept) {
    // A rule's verdict rests on bytes that had arrived, so it stands whatever the download did
    // after. Any other end after a failed download is the download's failure (the reader's
    // error then is only its consequence).
    const bool verdict = !found.ok && !found.retry && found.code != kInternalError;
    if (!fetched.ok && failed_by_itself && !verdict) return fail(fetched.error_code, fetched.cause);
    if (fetched.ok && metrics_ != nullptr) metrics_->bytes_fetched(fetched.bytes);
  }
  if (found.retry) {
    // The download is complete and kept: the second pass reads it whole, without a request.
    again = kept || fetched.ok;
    if (!again) return internal("the download ended before the disk could be read whole");
    return out;
  }
  if (!found.ok) return fail(found.code, found.cause);
  out.sha256 = kept ? kept->sha256 : fetched.sha256;
  out.supports_cloudinit = found.result["cloud_init"].get<bool>();
  out.virtual_size = found.result["virtual_size"].get<std::uint64_t>();
  const std::uint64_t size = found.result["size"].get<std::uint64_t>();
  if (auto committed = pump.commit(); !committed) return internal(committed.error().message);
  if (metrics_ != nullptr) metrics_->bytes_written(size);
  out.ok = true;
  return out;
}

catalog::Outcome Worker::import(const catalog::Task& task, const std::stop_token& stop, ProgressMeter& progress) {
  const catalog::Image& img = task.image;
  const Lang lang = parse_lang(img.language).value_or(Lang::kEn);
  std::error_code ec;
  fs::create_directories(fs::path(config_.data_dir) / "scratch", ec);
  struct Cleanup {
    std::vector<std::string> paths;
    ~Cleanup() {
      std::error_code e;
      for (const std::string& p : paths) {
        fs::remove(p, e);
        fs::remove(p + ".sha256", e);
      }
    }
  } cleanup;
  // Progress: the system disk is the first 90 % when data disks follow (they share the rest).
  const std::int64_t disks = 1 + static_cast<std::int64_t>(img.data_disk_urls.size());
  const std::int64_t system_share = disks == 1 ? 100 : 90;
  std::vector<DiskJob> jobs;
  for (std::int64_t i = 0; i < disks; ++i) {
    DiskJob job;
    job.system_disk = i == 0;
    job.number = i + 1;
    job.url = i == 0 ? img.image_url : img.data_disk_urls[static_cast<std::size_t>(i - 1)];
    job.region = img.region;
    job.scratch = i == 0 ? fmt::format("{}/scratch/{}.src", config_.data_dir, img.image_id)
                         : fmt::format("{}/scratch/{}.data{}", config_.data_dir, img.image_id, i - 1);
    job.key = i == 0 ? image_key(img.image_id) : data_disk_key(img.image_id, i);
    job.progress_from = i == 0 ? 0 : system_share + (100 - system_share) * (i - 1) / (disks - 1);
    job.progress_to = i == 0 ? system_share : system_share + (100 - system_share) * i / (disks - 1);
    job.rules.force = img.force;
    job.rules.os_type = img.os_name;
    job.rules.os_version = img.os_version;
    job.rules.architecture = img.architecture;
    job.rules.assess.limits = config_.limits;
    cleanup.paths.push_back(job.scratch);
    jobs.push_back(std::move(job));
  }
  catalog::Outcome out;
  for (const DiskJob& job : jobs) {
    const DiskOutcome d = import_disk(job, stop, progress);
    if (!d.ok) {
      out = failure(
          d.error_code,
          job.system_disk ? d.cause : ig::Message{"import.data-disk", {std::to_string(&job - jobs.data()), d.cause}},
          lang);
      return out;
    }
    const std::int64_t gib = static_cast<std::int64_t>((d.virtual_size + (1ULL << 30) - 1) >> 30);
    if (job.system_disk) {
      out.source_sha256 = d.sha256;
      out.size_gib = gib;
      out.supports_cloudinit = d.supports_cloudinit;
    } else {
      out.data_disks.push_back(catalog::DataDisk{static_cast<std::int64_t>(out.data_disks.size()), gib});
    }
  }
  out.ok = true;
  return out;
}

catalog::InboxMessage message_for(const catalog::Image& image, const catalog::Outcome& outcome) {
  const Lang lang = parse_lang(image.language).value_or(Lang::kEn);
  catalog::InboxMessage m;
  m.account = image.account;
  m.image_id = image.image_id;
  m.language = std::string(lang_code(lang));
  const std::string source = image.image_url.substr(0, image.image_url.find('?'));
  if (outcome.ok) {
    m.kind = "IMPORT_SUCCEEDED";
    m.title = render({"notice.ok.title", {image.name}}, lang);
    m.content =
        render({"notice.ok.body", {image.name, image.image_id, source, std::to_string(outcome.size_gib)}}, lang);
  } else {
    m.kind = "IMPORT_FAILED";
    m.error_code = outcome.error_code;
    m.title = render({"notice.failed.title", {image.name}}, lang);
    m.content = render(
        {"notice.failed.body", {image.name, image.image_id, source, outcome.error_code, outcome.error_message}}, lang);
  }
  return m;
}

Result<bool> Worker::run_once() {
  auto task = IG_TRY(catalog_.claim_task(now_unix(), config_.lease_seconds));
  if (!task) return false;
  const auto started = std::chrono::steady_clock::now();
  const std::string task_id = std::to_string(task->task_id);
  const std::string attempt = std::to_string(task->attempt);
  log_event("info", "import started", {{"ImageId", task->image.image_id}, {"task", task_id}, {"attempt", attempt}});
  // A previous attempt that crashed may have left a partial download or a partial conversion
  // behind; its complete downloads are kept for reuse.
  if (task->attempt > 1) remove_import_files(store_, config_.data_dir, task->image.image_id, true);
  // The lease is renewed by a heartbeat, a quarter of the lease apart, whatever the import is
  // doing; when the catalog says another worker holds the task, the import is stopped.
  std::stop_source stop;
  ProgressMeter progress(1 + static_cast<std::int64_t>(task->image.data_disk_urls.size()));
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::atomic<bool> released{false};  // stopped for a shutdown, not because the lease was lost
  std::thread heartbeat([&] {
    const auto period = std::chrono::milliseconds(std::max<std::int64_t>(config_.lease_seconds * 250, 200));
    const auto now = std::chrono::steady_clock::now;
    auto renew_at = now() + period;
    auto recorded_at = now();
    std::uint64_t recorded = 0;  // the meter's version last recorded
    std::unique_lock lock(m);
    // Woken every 100 ms to notice a shutdown soon. The lease is renewed every `period`, and the
    // progress recorded with it, or sooner — once a second at most — when it has moved.
    while (!cv.wait_for(lock, std::chrono::milliseconds(100), [&] { return done; })) {
      if (shutdown_ != nullptr && *shutdown_ && !stop.stop_requested()) {
        released = true;
        stop.request_stop();
      }
      const auto at = now();
      const std::uint64_t version = progress.version();
      const bool moved = version != recorded && at - recorded_at >= std::chrono::seconds(1);
      if (at < renew_at && !moved) continue;
      renew_at = at + period;
      recorded_at = at;
      recorded = version;
      lock.unlock();
      auto renewed = catalog_.progress_task(*task, progress.at(at), now_unix() + config_.lease_seconds);
      if (!renewed && renewed.error().code == ErrorCode::kLeaseLost) stop.request_stop();
      lock.lock();
    }
  });
  const catalog::Outcome outcome = import(*task, stop.get_token(), progress);
  {
    std::lock_guard lock(m);
    done = true;
  }
  cv.notify_all();
  heartbeat.join();
  if (released && !outcome.ok) {
    // Stopped by a shutdown: the task goes back to the queue for another worker, with its partial
    // outputs removed (its complete downloads stay for a retry here; swept once it ends elsewhere).
    remove_import_files(store_, config_.data_dir, task->image.image_id, true);
    auto given_back = catalog_.release_task(*task);
    log_event(given_back ? "info" : "warn", "import released for another worker",
              {{"ImageId", task->image.image_id},
               {"task", task_id},
               {"attempt", attempt},
               {"error", given_back ? "" : given_back.error().message}});
    return true;
  }
  // A catalog that is briefly down (a PostgreSQL restart or fail-over) is waited for, with
  // backoff, for up to three leases: the import is done and recording it is all that is left.
  // Past that the lease has run out and another worker does the import again.
  const catalog::InboxMessage message = message_for(task->image, outcome);
  auto finished = catalog_.finish_task(*task, outcome, message);
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(3 * config_.lease_seconds);
  for (auto wait = std::chrono::milliseconds(250);
       !finished && finished.error().code == ErrorCode::kUnavailable && std::chrono::steady_clock::now() < give_up;
       wait = std::min<std::chrono::milliseconds>(wait * 2, std::chrono::seconds(4))) {
    log_event("warn", "recording the import: the catalog is unavailable, retrying",
              {{"ImageId", task->image.image_id}, {"task", task_id}, {"error", finished.error().message}});
    std::this_thread::sleep_for(wait);
    finished = catalog_.finish_task(*task, outcome, message);
  }
  if (!finished) {
    log_event("warn", "import not recorded",
              {{"ImageId", task->image.image_id},
               {"task", task_id},
               {"attempt", attempt},
               {"error", finished.error().message}});
    return finished.error();
  }
  const std::string state = outcome.ok ? "NORMAL" : "IMPORTFAILED";
  log_event("info", "import finished",
            {{"ImageId", task->image.image_id},
             {"task", task_id},
             {"attempt", attempt},
             {"state", state},
             {"code", outcome.error_code}});
  if (metrics_ != nullptr) {
    metrics_->import_finished(state, outcome.error_code,
                              std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  }
  // A failed import keeps no files (a data disk may have failed after the system disk was
  // stored). When finish_task refuses, another worker holds the task and its files: leave them.
  if (!outcome.ok) remove_import_files(store_, config_.data_dir, task->image.image_id, false);
  return true;
}

std::int64_t sweep_scratch(catalog::Catalog& catalog, const std::string& data_dir) {
  std::error_code ec;
  std::int64_t removed = 0;
  for (const auto& e : fs::directory_iterator(fs::path(data_dir) / "scratch", ec)) {
    const std::string name = e.path().filename().string();
    const std::string image_id = name.substr(0, name.find('.'));
    // A catalog that cannot answer now keeps the files until the next sweep.
    auto importing = catalog.importing(image_id);
    if (!importing || *importing) continue;
    std::error_code gone;
    if (fs::remove(e.path(), gone)) ++removed;
  }
  return removed;
}

void Worker::run(const std::atomic<bool>& stop) {
  // Scratch files of imports that ended while this host's worker was dead (another worker
  // finished them) are swept at start and then, while idle, every 10 s (a directory listing and
  // a query per file: little, and the disk space of a 50 GiB download comes back soon).
  constexpr auto kSweepEvery = std::chrono::seconds(10);
  auto sweep = [&] {
    if (const std::int64_t n = sweep_scratch(catalog_, config_.data_dir); n != 0)
      log_event("info", "scratch swept", {{"files", std::to_string(n)}});
    return std::chrono::steady_clock::now();
  };
  shutdown_ = &stop;
  auto swept = sweep();
  while (!stop) {
    auto worked = run_once();
    if (!worked || !*worked) {
      if (std::chrono::steady_clock::now() - swept > kSweepEvery) swept = sweep();
      for (int i = 0; i < 3 && !stop; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
}

}  // namespace ig::service

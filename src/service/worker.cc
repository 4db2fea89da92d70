#include "service/worker.h"

#include <curl/curl.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "convert/convert.h"
#include "formats/open_image.h"
#include "io/sinks.h"
#include "io/sources.h"
#include "rules/check.h"
#include "rules/messages.h"

namespace ig::service {
namespace {

namespace fs = std::filesystem;

std::int64_t now_unix() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct Download {
  std::FILE* file = nullptr;
  std::uint64_t bytes = 0;
  std::uint64_t max = 0;
  bool too_big = false;
  std::string head;  // the first bytes, for an error body
};

std::size_t on_data(char* data, std::size_t size, std::size_t n, void* user) {
  auto* d = static_cast<Download*>(user);
  const std::size_t len = size * n;
  if (d->bytes + len > d->max) {
    d->too_big = true;
    return 0;
  }
  if (d->head.size() < 4096) d->head.append(data, std::min<std::size_t>(len, 4096 - d->head.size()));
  if (std::fwrite(data, 1, len, d->file) != len) return 0;
  d->bytes += len;
  return len;
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

}  // namespace

Fetched fetch_object(const std::string& url, const std::string& destination, const WorkerConfig& config) {
  Fetched f;
  // (not a structured binding: clang 14 cannot capture one in the lambda below)
  const std::pair<std::string, std::string> where = authority(url);
  const std::string& hostport = where.first;
  const std::string& host = where.second;
  const bool allowed = std::any_of(config.storage_hosts.begin(), config.storage_hosts.end(),
                                   [&](const std::string& h) { return h == hostport || h == host; });
  if (!allowed) {
    f.error_code = "InvalidUrl";
    f.cause = fmt::format("{} is not an object-storage address of this cloud", hostport.empty() ? url : hostport);
    return f;
  }
  Download d;
  d.max = config.max_download_bytes;
  d.file = std::fopen(destination.c_str(), "wb");
  if (d.file == nullptr) {
    f.error_code = "InternalError";
    f.cause = fmt::format("cannot create the scratch file {}", destination);
    return f;
  }
  CURL* curl = curl_easy_init();
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &d);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // a redirect could leave the object storage
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 120L);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  const bool flushed = std::fclose(d.file) == 0;
  f.bytes = d.bytes;
  if (d.too_big) {
    f.error_code = "InvalidFormatSize";
    f.cause = fmt::format("the object is larger than {} bytes", config.max_download_bytes);
  } else if (rc != CURLE_OK && status == 0) {
    f.error_code = "InvalidUrl";
    f.cause = fmt::format("the object storage cannot be reached: {}", curl_easy_strerror(rc));
  } else if (status == 403) {
    f.error_code = "InvalidUrl";
    const bool expired = d.head.find("expired") != std::string::npos || d.head.find("Expired") != std::string::npos;
    const bool unsigned_url =
        url.find("Signature=") == std::string::npos && url.find("X-Amz-Signature=") == std::string::npos;
    f.cause = expired        ? "the signed URL has expired (a signed URL may be used only once, and only in time)"
              : unsigned_url ? "the object is private and the URL is not signed"
                             : "the object storage denied access to the object";
  } else if (status == 404) {
    f.error_code = "InvalidUrl";
    f.cause = "the object does not exist (deleted?)";
  } else if (status != 200 || rc != CURLE_OK || !flushed) {
    f.error_code = "InvalidUrl";
    f.cause = fmt::format("the object storage answered HTTP {}{}", status,
                          rc != CURLE_OK ? std::string(": ") + curl_easy_strerror(rc) : "");
  } else {
    f.ok = true;
    f.path = destination;
    return f;
  }
  std::error_code ec;
  fs::remove(destination, ec);
  return f;
}

Outcome Worker::import(const Task& task) {
  Outcome out;
  const Image& img = task.image;
  const Lang lang = parse_lang(config_.language).value_or(Lang::kEn);
  std::error_code ec;
  fs::create_directories(fs::path(config_.data_dir) / "scratch", ec);
  fs::create_directories(fs::path(config_.data_dir) / "images", ec);
  const std::string scratch = (fs::path(config_.data_dir) / "scratch" / (img.image_id + ".src")).string();
  const Fetched f = fetch_object(img.image_url, scratch, config_);
  if (!f.ok) {
    out.error_code = f.error_code;
    out.error_message = f.cause;
    return out;
  }
  struct Cleanup {
    std::string path;
    ~Cleanup() {
      std::error_code e;
      fs::remove(path, e);
    }
  } cleanup{scratch};
  auto file = FileSource::open(scratch);
  if (!file) {
    out.error_code = "InternalError";
    out.error_message = file.error().message;
    return out;
  }
  const SourcePtr source(std::move(*file));
  CheckOptions options;
  options.force = img.force;
  options.os_type = img.os_name;
  options.os_version = img.os_version;
  options.architecture = img.architecture;
  options.file_name = img.image_url.substr(0, img.image_url.find('?'));
  options.file_name = options.file_name.substr(options.file_name.rfind('/') + 1);
  auto report = check_image(source, options);
  if (!report) {
    out.error_code = "InternalError";
    out.error_message = report.error().message;
    return out;
  }
  if (!report->pass) {
    out.error_code = report->error_code;
    out.error_message = render({"verdict.fail", {report->error_code, render(report->reason, lang)}}, lang);
    return out;
  }
  OpenOptions open;
  open.file_name = options.file_name;
  auto image = open_image(source, open);
  if (!image) {
    out.error_code = "InternalError";
    out.error_message = image.error().message;
    return out;
  }
  const std::string target = (fs::path(config_.data_dir) / "images" / (img.image_id + ".qcow2")).string();
  auto sink = AtomicFileSink::create(target, scratch);
  if (!sink) {
    out.error_code = "InternalError";
    out.error_message = sink.error().message;
    return out;
  }
  ConvertOptions co;
  auto stats = convert(**image, **sink, co);
  if (!stats) {
    out.error_code = "InternalError";
    out.error_message = fmt::format("conversion to qcow2 failed: {}", stats.error().message);
    return out;
  }
  out.ok = true;
  out.size_gib = static_cast<std::int64_t>(((*image)->info().virtual_size + (1ULL << 30) - 1) >> 30);
  out.supports_cloudinit = report->cloud_init && report->cloud_init->enabled;
  return out;
}

Result<bool> Worker::run_once() {
  auto task = IG_TRY(catalog_.claim_task(now_unix(), config_.lease_seconds));
  if (!task) return false;
  const Outcome outcome = import(*task);
  auto finished = catalog_.finish_task(*task, outcome);
  if (!finished && outcome.ok) {
    // Another worker holds the task now: this result is not registered; drop its file.
    std::error_code ec;
    fs::remove(fs::path(config_.data_dir) / "images" / (task->image.image_id + ".qcow2"), ec);
  }
  if (!finished) return finished.error();
  return true;
}

void Worker::run(const std::atomic<bool>& stop) {
  while (!stop) {
    auto worked = run_once();
    if (!worked || !*worked) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
}

}  // namespace ig::service

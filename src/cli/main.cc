// imagegate: the command-line face. Thin: parse arguments, call the library, print.
//
// Exit codes: 0 the command succeeded (the image is readable), 1 the image was refused or could
// not be read (the message says why), 2 a usage error.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <variant>

#include "api/os_list.h"
#include "base/text.h"
#include "cli/interrupt.h"
#include "convert/convert.h"
#include "convert/measure.h"
#include "formats/open_image.h"
#include "io/sources.h"
#include "rules/check.h"
#include "rules/render.h"
#include "service/runtime.h"

namespace ig {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitRefused = 1;
constexpr int kExitUsage = 2;
constexpr int kExitUnverified = 3;  // check: no rule failed, but one could not be judged

using nlohmann::ordered_json;

std::string human_size(std::uint64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  if (u == 0) return fmt::format("{} B", bytes);
  return fmt::format("{:.3g} {}", v, kUnits[u]);
}

// Parses "64k", "2M", "512": a byte count with an optional binary suffix.
Result<std::uint64_t> parse_size(std::string_view s) {
  if (s.empty()) return Error::invalid_argument("empty size");
  std::uint64_t mult = 1;
  switch (s.back()) {
    case 'k':
    case 'K': mult = 1ULL << 10; break;
    case 'm':
    case 'M': mult = 1ULL << 20; break;
    case 'g':
    case 'G': mult = 1ULL << 30; break;
    default: break;
  }
  if (mult != 1) s.remove_suffix(1);
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9' || v > (UINT64_MAX - 9) / 10)
      return Error::invalid_argument(fmt::format("bad size '{}'", s));
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  if (v > UINT64_MAX / mult) return Error::invalid_argument(fmt::format("size '{}' too large", s));
  return v * mult;
}

// Parses qemu-style target options: "cluster_size=64k,extended_l2=on,refcount_bits=16,
// compression_type=zstd". `compression_type` is returned through `compression` when given.
Result<Qcow2TargetOptions> parse_target_options(const std::vector<std::string>& opts,
                                                Compression* compression = nullptr) {
  Qcow2TargetOptions o;
  for (const std::string& group : opts) {
    std::size_t pos = 0;
    while (pos <= group.size()) {
      std::size_t comma = group.find(',', pos);
      if (comma == std::string::npos) comma = group.size();
      const std::string item = group.substr(pos, comma - pos);
      pos = comma + 1;
      if (item.empty()) continue;
      const auto eq = item.find('=');
      const std::string key = item.substr(0, eq);
      const std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
      if (key == "cluster_size") {
        o.cluster_size = IG_TRY(parse_size(value));
      } else if (key == "refcount_bits") {
        o.refcount_bits = static_cast<std::uint32_t>(IG_TRY(parse_size(value)));
      } else if (key == "compression_type" && compression != nullptr) {
        if (value == "zlib") {
          *compression = Compression::kZlib;
        } else if (value == "zstd") {
          *compression = Compression::kZstd;
        } else {
          return Error::invalid_argument(fmt::format("compression_type '{}' (zlib or zstd)", value));
        }
      } else if (key == "extended_l2") {
        if (value != "on" && value != "off") return Error::invalid_argument("extended_l2 must be on or off");
        o.extended_l2 = value == "on";
      } else {
        return Error::invalid_argument(
            fmt::format("unknown option '{}' (known: cluster_size, refcount_bits, extended_l2)", key));
      }
    }
  }
  IG_TRY(validate(o));
  return o;
}

struct Opened {
  std::shared_ptr<const FileSource> file;
  std::unique_ptr<DiskImage> image;
};

Result<Opened> open_path(const std::string& path, const std::string& declared) {
  OpenOptions options;
  if (!declared.empty()) {
    options.declared = parse_format_name(declared);
    if (!options.declared) {
      return Error::invalid_argument(fmt::format("unknown format '{}' (raw, qcow2, vhd, vmdk)", declared));
    }
  }
  options.file_name = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  std::shared_ptr<const FileSource> file = IG_TRY(FileSource::open(path));
  std::unique_ptr<DiskImage> image = IG_TRY(open_image(file, options));
  return Opened{std::move(file), std::move(image)};
}

ordered_json error_json(const Error& e) {
  return {{"code", std::string(error_code_name(e.code))}, {"message", e.message}};
}

int report_error(const std::string& path, const Error& e, bool json) {
  if (json) {
    ordered_json j;
    j["filename"] = path;
    j["refused"] = true;
    j["error"] = error_json(e);
    std::cout << j.dump(4) << "\n";
  } else {
    // Most messages name the file already ("open x.img: …", "x.img: is a directory …").
    if (e.message.find(path) != std::string::npos) {
      std::cerr << "imagegate: " << e.message << "\n";
    } else {
      std::cerr << "imagegate: " << path << ": " << e.message << "\n";
    }
  }
  return e.code == ErrorCode::kInvalidArgument ? kExitUsage : kExitRefused;
}

void add_field(ordered_json& j, const InfoField& f) {
  std::visit([&](const auto& v) { j[f.key] = v; }, f.value);
}

int cmd_info(const std::string& path, const std::string& declared, bool json) {
  auto opened = open_path(path, declared);
  if (!opened) return report_error(path, opened.error(), json);
  const ImageInfo& info = opened->image->info();
  const std::uint64_t actual = opened->file->allocated_bytes();
  if (json) {
    ordered_json j;
    j["virtual-size"] = info.virtual_size;
    j["filename"] = path;
    if (info.cluster_size) j["cluster-size"] = *info.cluster_size;
    j["format"] = std::string(format_name(info.format));
    j["actual-size"] = actual;
    if (!info.subformat.empty()) j["subformat"] = info.subformat;
    j["compression"] = info.compression;
    if (!info.creator.empty()) j["creator"] = info.creator;
    if (!info.format_specific.empty()) {
      ordered_json data = ordered_json::object();
      for (const auto& f : info.format_specific) add_field(data, f);
      j["format-specific"] = {{"type", std::string(format_name(info.format))}, {"data", data}};
    }
    j["dirty-flag"] = info.dirty;
    if (!info.notes.empty()) j["notes"] = info.notes;
    std::cout << j.dump(4) << "\n";
    return kExitOk;
  }
  fmt::print("image: {}\n", path);
  fmt::print("file format: {}\n", format_name(info.format));
  if (!info.subformat.empty()) fmt::print("subformat: {}\n", info.subformat);
  fmt::print("virtual size: {} ({} bytes)\n", human_size(info.virtual_size), info.virtual_size);
  fmt::print("disk size: {}\n", human_size(actual));
  if (info.cluster_size) fmt::print("cluster_size: {}\n", *info.cluster_size);
  fmt::print("compression: {}\n", info.compression);
  if (!info.creator.empty()) fmt::print("creator: {}\n", info.creator);
  if (info.dirty) fmt::print("dirty: yes\n");
  if (!info.format_specific.empty()) {
    fmt::print("Format specific information:\n");
    for (const auto& f : info.format_specific) {
      std::visit(
          [&](const auto& v) {
            using V = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<V, bool>) {
              fmt::print("    {}: {}\n", f.key, v ? "true" : "false");
            } else {
              fmt::print("    {}: {}\n", f.key, v);
            }
          },
          f.value);
    }
  }
  for (const auto& n : info.notes) fmt::print("note: {}\n", n);
  return kExitOk;
}

void print_stats_json(const ConvertStats& st, const std::string& source, const std::string& destination) {
  ordered_json j;
  j["source"] = source;
  if (!destination.empty()) j["destination"] = destination;
  j["output-size"] = st.output_size;
  j["bytes-read"] = st.bytes_read;
  j["bytes-skipped-holes"] = st.bytes_skipped_holes;
  j["bytes-zero"] = st.bytes_zero;
  j["clusters-written"] = st.clusters_written;
  j["clusters-compressed"] = st.clusters_compressed;
  j["bytes-written"] = st.bytes_written;
  j["seconds"] = st.seconds;
  std::cout << j.dump(4) << "\n";
}

int cmd_measure_exact(const std::string& path, const std::string& declared, const std::vector<std::string>& opts,
                      bool compress, bool json) {
  Compression compression = compress ? Compression::kZlib : Compression::kNone;
  auto t = parse_target_options(opts, &compression);
  if (!t) return report_error(path, t.error(), json);
  if (!compress) compression = Compression::kNone;
  auto opened = open_path(path, declared);
  if (!opened) return report_error(path, opened.error(), json);
  ConvertOptions o;
  o.cluster_size = t->cluster_size;
  o.compression = compression;
  auto st = measure_exact(*opened->image, o);
  if (!st) return report_error(path, st.error(), json);
  if (json) {
    print_stats_json(*st, path, "");
  } else {
    fmt::print("exact size: {}\n", st->output_size);
  }
  return kExitOk;
}

int cmd_measure(const std::string& path, const std::string& declared, const std::string& target,
                const std::vector<std::string>& opts, bool json) {
  if (target != "qcow2") {
    return report_error(path, Error::invalid_argument(fmt::format("-O {}: only qcow2 is measured", target)), json);
  }
  auto options = parse_target_options(opts);
  if (!options) return report_error(path, options.error(), json);
  auto opened = open_path(path, declared);
  if (!opened) return report_error(path, opened.error(), json);
  auto r = measure_qcow2(*opened->image, *options);
  if (!r) return report_error(path, r.error(), json);
  if (json) {
    ordered_json j;
    if (r->bitmaps) j["bitmaps"] = *r->bitmaps;
    j["required"] = r->required;
    j["fully-allocated"] = r->fully_allocated;
    std::cout << j.dump(4) << "\n";
  } else {
    fmt::print("required size: {}\n", r->required);
    fmt::print("fully allocated size: {}\n", r->fully_allocated);
    if (r->bitmaps) fmt::print("bitmaps size: {}\n", *r->bitmaps);
  }
  return kExitOk;
}

// A progress line on a terminal, as qemu-img -p draws it.
void draw_progress(std::uint64_t done, std::uint64_t total) {
  const double pct = total == 0 ? 100.0 : 100.0 * static_cast<double>(done) / static_cast<double>(total);
  fmt::print(stderr, "    ({:.2f}/100%)\r", pct);
  std::fflush(stderr);
}

int cmd_convert(const std::string& src, const std::string& dst, const std::string& declared, const std::string& target,
                const std::vector<std::string>& opts, bool compress, bool progress, bool json) {
  ConvertOptions o;
  if (target == "qcow2") {
    o.format = TargetFormat::kQcow2;
  } else if (target == "raw") {
    o.format = TargetFormat::kRaw;
  } else {
    return report_error(src, Error::invalid_argument(fmt::format("-O {}: qcow2 or raw", target)), json);
  }
  Compression compression = Compression::kZlib;
  auto t = parse_target_options(opts, &compression);
  if (!t) return report_error(src, t.error(), json);
  o.cluster_size = t->cluster_size;
  o.compression = compress ? compression : Compression::kNone;
  if (auto v = validate(o); !v) return report_error(src, v.error(), json);
  auto opened = open_path(src, declared);
  if (!opened) return report_error(src, opened.error(), json);
  InterruptGuard interrupt;  // SIGINT/SIGTERM stop the conversion; the sink removes its temp file
  auto sink = AtomicFileSink::create(dst, src);
  if (!sink) return report_error(dst, sink.error(), json);
  interrupt.set_temp_path((*sink)->temp_path());
  o.stop = interrupt.stop_token();
  if (progress && isatty(STDERR_FILENO)) o.progress = draw_progress;
  auto st = convert(*opened->image, **sink, o);
  if (progress && isatty(STDERR_FILENO)) fmt::print(stderr, "{}", st ? "    (100.00/100%)\n" : "\n");
  if (!st && interrupt.signal_received() != 0) {
    report_error(src, st.error(), json);
    return 128 + interrupt.signal_received();
  }
  if (!st) return report_error(src, st.error(), json);
  if (json) print_stats_json(*st, src, dst);
  return kExitOk;
}

// Locale-style language from the environment (LC_ALL, LC_MESSAGES, LANG), else English.
Lang lang_from_environment() {
  for (const char* var : {"LC_ALL", "LC_MESSAGES", "LANG"}) {
    const char* v = std::getenv(var);
    if (v == nullptr || *v == '\0') continue;
    return parse_lang(v).value_or(Lang::kEn);
  }
  return Lang::kEn;
}

struct CheckArgs {
  std::string path;
  std::string declared;
  std::string lang;
  bool force = false;
  std::string os_type;
  std::string os_version;
  std::string arch;
  std::uint64_t max_virtual_size = 0;  // 0: the cloud's 500 GiB
  std::uint64_t max_qcow2_size = 0;    // 0: the cloud's 50 GiB
};

int cmd_check(const CheckArgs& a, bool json) {
  Lang lang = lang_from_environment();
  if (!a.lang.empty()) lang = *parse_lang(a.lang);  // validated by the option's check
  CheckOptions options;
  if (!a.declared.empty()) {
    options.assess.declared_format = parse_format_name(a.declared);
    if (!options.assess.declared_format) {
      return report_error(
          a.path, Error::invalid_argument(fmt::format("unknown format '{}' (raw, qcow2, vhd, vmdk)", a.declared)),
          json);
    }
  }
  if (!a.arch.empty() && a.arch != "x86_64" && a.arch != "i386" && a.arch != "arm_64") {
    return report_error(
        a.path, Error::invalid_argument(fmt::format("unknown architecture '{}' (x86_64, i386, arm_64)", a.arch)), json);
  }
  // The OsType ImportImage would take (its names are exact), or the generic Linux / Windows.
  if (!a.os_type.empty() && a.os_type != "Linux" && a.os_type != "Windows" &&
      api::find_import_os(a.os_type) == nullptr) {
    std::string known;
    for (const api::ImportOs& os : api::import_os_list()) known += (known.empty() ? "" : ", ") + os.name;
    return report_error(
        a.path, Error::invalid_argument(fmt::format("unknown OsType '{}' (Linux, Windows, {})", a.os_type, known)),
        json);
  }
  // An OsVersion the cloud does not offer for the declared OsType: ImportImage would refuse it.
  if (const api::ImportOs* os = api::find_import_os(a.os_type);
      os != nullptr && !a.os_version.empty() &&
      std::find(os->versions.begin(), os->versions.end(), a.os_version) == os->versions.end()) {
    std::string offered;
    for (const std::string& v : os->versions) offered += (offered.empty() ? "" : ", ") + v;
    return report_error(a.path,
                        Error::invalid_argument(
                            fmt::format("OsVersion '{}' is not offered for {} ({})", a.os_version, a.os_type, offered)),
                        json);
  }
  options.assess.file_name = a.path.substr(a.path.rfind('/') == std::string::npos ? 0 : a.path.rfind('/') + 1);
  options.force = a.force;
  options.os_type = a.os_type;
  options.os_version = a.os_version;
  options.architecture = a.arch;
  if (a.max_virtual_size != 0) options.max_virtual_size = a.max_virtual_size;
  if (a.max_qcow2_size != 0) options.max_qcow2_size = a.max_qcow2_size;
  auto file = FileSource::open(a.path);
  if (!file) return report_error(a.path, file.error(), json);
  // Over the qcow2 estimate, the exact size is computed by reading every allocated block: show
  // its progress on a terminal (check writes nothing, so ^C simply ends it).
  const bool tty = isatty(STDERR_FILENO) != 0;
  bool drew = false;
  if (tty) {
    options.assess.exact_progress = [&drew](std::uint64_t done, std::uint64_t total) {
      const double pct = total == 0 ? 100.0 : 100.0 * static_cast<double>(done) / static_cast<double>(total);
      fmt::print(stderr, "measuring the exact size as qcow2: {:.2f}%\r", pct);
      std::fflush(stderr);
      drew = true;
    };
  }
  auto report = check_image(SourcePtr(std::move(*file)), options);
  if (drew) fmt::print(stderr, "\33[2K\r");
  if (!report) return report_error(a.path, report.error(), json);
  if (json) {
    std::cout << render_json(*report, lang).dump(2) << "\n";
  } else {
    std::cout << render_human(*report, lang, isatty(STDOUT_FILENO) != 0 && std::getenv("NO_COLOR") == nullptr);
  }
  return report->pass ? kExitOk : report->unverified ? kExitUnverified : kExitRefused;
}

// A service error names its subject itself (the configuration file, the address).
int service_error(const char* command, const Error& e) {
  std::cerr << "imagegate " << command << ": " << e.message << "\n";
  return e.code == ErrorCode::kInvalidArgument ? kExitUsage : kExitRefused;
}

int run(int argc, char** argv) {
  CLI::App app{"imagegate: will this disk image import into the cloud, and if not, why?", "imagegate"};
  app.set_version_flag("--version", "imagegate " IG_VERSION);
  app.footer(
      "Exit codes: 0 the image is readable (check: it would import); 1 it was refused, cannot be read or\n"
      "would not import; 2 a usage error; 3 (check) it cannot be verified: its root is on a volume\n"
      "imagegate cannot read. Documentation: README.md, docs/check.md, docs/api.md.");
  app.require_subcommand(1);
  std::string output = "human";
  std::string path;
  std::string declared;

  auto* info = app.add_subcommand("info", "Show an image's format, sizes and format-specific facts");
  info->add_option("-f,--format", declared, "The format the image is declared as (raw, qcow2, vhd, vmdk)");
  info->add_option("--output", output, "human or json")->check(CLI::IsMember({"human", "json"}));
  info->add_option("image", path, "The image file")->required();

  std::string target = "qcow2";
  std::vector<std::string> target_opts;
  auto* measure =
      app.add_subcommand("measure", "Compute the size of the image converted to qcow2 (as qemu-img measure)");
  measure->add_option("-f,--format", declared, "The format the image is declared as (raw, qcow2, vhd, vmdk)");
  measure->add_option("-O", target, "Target format (qcow2)");
  measure->add_option("-o", target_opts, "Target options: cluster_size=N, refcount_bits=N, extended_l2=on|off");
  measure->add_option("--output", output, "human or json")->check(CLI::IsMember({"human", "json"}));
  bool exact = false;
  bool compress = false;
  measure->add_flag("--exact", exact, "The exact size of the file `imagegate convert` writes (reads all data)");
  measure->add_flag("-c", compress, "With --exact: compressed output");
  measure->add_option("image", path, "The image file")->required();

  std::string destination;
  bool progress = false;
  auto* conv = app.add_subcommand("convert", "Convert an image to qcow2 or sparse raw; the output appears atomically");
  conv->add_option("-f,--format", declared, "The format the source is declared as (raw, qcow2, vhd, vmdk)");
  conv->add_option("-O", target, "Target format: qcow2 (default) or raw");
  conv->add_option("-o", target_opts, "Target options: cluster_size=N, compression_type=zlib|zstd");
  conv->add_flag("-c", compress, "Compress the qcow2 output (zlib unless compression_type=zstd)");
  conv->add_flag("-p", progress, "Show progress on a terminal");
  conv->add_option("--output", output, "human or json (json prints the statistics)")
      ->check(CLI::IsMember({"human", "json"}));
  conv->add_option("source", path, "The image to convert")->required();
  conv->add_option("destination", destination, "The file to write")->required();

  CheckArgs check_args;
  auto* check = app.add_subcommand("check", "Tell whether the image will import, and if not, which error and why");
  check->add_option("-f,--format", check_args.declared, "The format the image is declared as (raw, qcow2, vhd, vmdk)");
  check->add_option("--output", output, "human or json")->check(CLI::IsMember({"human", "json"}));
  check->add_option("--lang", check_args.lang, "Report language: en, zh, ja, id, pt (default: from LANG)")
      ->check(CLI::IsMember({"en", "zh", "ja", "id", "pt"}));
  check->add_flag("--force", check_args.force, "Judge as a forced import (cloud-init not required)");
  check->add_option("--os-type", check_args.os_type, "The OsType you will declare (e.g. Linux, CentOS, Debian)");
  check->add_option("--os-version", check_args.os_version, "The OsVersion you will declare (e.g. 12, 7, -)");
  check->add_option("--arch", check_args.arch, "The Architecture you will declare (x86_64, i386, arm_64)");
  check
      ->add_option("--max-virtual-size", check_args.max_virtual_size,
                   "A deployment's own virtual-size limit (default 500GiB; K, M, G, T suffixes are binary)")
      ->transform(CLI::AsSizeValue(false));
  check
      ->add_option("--max-qcow2-size", check_args.max_qcow2_size,
                   "A deployment's own limit on the size as qcow2 (default 50GiB)")
      ->transform(CLI::AsSizeValue(false));
  check->add_option("image", check_args.path, "The image file")->required();

  std::string config_path;
  std::string listen = "127.0.0.1:9000";
  auto* serve = app.add_subcommand("serve", "Serve the cloud API (Tencent Cloud API 3.0 protocol) on HOST:PORT");
  std::string data_dir;
  serve->add_option("--config", config_path, "The service configuration (JSON: accounts and keys)")->required();
  serve->add_option("--data", data_dir, "The data directory (catalog, images)")->required();
  unsigned workers = 1;
  serve->add_option("--workers", workers, "Import workers in this process (default 1; 0: none)")
      ->check(CLI::Range(0, 16));
  serve->add_option("--listen", listen, "HOST:PORT to listen on (default 127.0.0.1:9000)");

  auto* worker = app.add_subcommand("worker", "Run import workers and the notification sender for a data directory");
  worker->add_option("--config", config_path, "The service configuration (JSON)")->required();
  worker->add_option("--data", data_dir, "The data directory shared with `imagegate serve`")->required();
  unsigned threads = 1;
  worker->add_option("--threads", threads, "Import threads (default 1)")->check(CLI::Range(1, 16));
  bool until_idle = false;
  worker->add_flag("--until-idle", until_idle, "Exit when no import and no notification is left to do");

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  const bool json = output == "json";
  if (info->parsed()) return cmd_info(path, declared, json);
  if (measure->parsed()) {
    if (exact) return cmd_measure_exact(path, declared, target_opts, compress, json);
    return cmd_measure(path, declared, target, target_opts, json);
  }
  if (check->parsed()) return cmd_check(check_args, json);
  if (serve->parsed()) {
    auto served = service::serve({config_path, data_dir, listen, workers});
    return served ? kExitOk : service_error("serve", served.error());
  }
  if (worker->parsed()) {
    auto ran = service::run_workers({config_path, data_dir, threads, until_idle});
    return ran ? kExitOk : service_error("worker", ran.error());
  }
  if (conv->parsed()) return cmd_convert(path, destination, declared, target, target_opts, compress, progress, json);
  return kExitUsage;
}

}  // namespace
}  // namespace ig

int main(int argc, char** argv) {
  try {
    return ig::run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "imagegate: internal error: " << e.what() << "\n";
    return 1;
  }
}

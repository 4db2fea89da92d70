#include "rules/render.h"

#include <fmt/format.h>

#include "base/text.h"

namespace ig {
namespace {

using nlohmann::ordered_json;

std::string reason_text(const CheckReport& r, Lang lang) {
  if (r.pass) return render(r.reason, lang);
  if (r.unverified) return render({"verdict.unverified", {render(r.reason, lang)}}, lang);
  return render({"verdict.fail", {r.error_code, render(r.reason, lang)}}, lang);
}

}  // namespace

std::string render_human(const CheckReport& r, Lang lang, bool color) {
  auto paint = [&](const char* code, const std::string& s) {
    return color ? fmt::format("\x1b[{}m{}\x1b[0m", code, s) : s;
  };
  std::string out;
  out += paint(r.pass ? "1;32" : r.unverified ? "1;33" : "1;31", reason_text(r, lang)) + "\n";
  if (!r.format.empty()) {
    const std::string vsize = size_text(r.virtual_size);
    const std::string actual = size_text(r.actual_size);
    const Message summary =
        r.qcow2_exact_size
            ? Message{"report.summary-exact",
                      {r.format, vsize, actual, size_text(*r.qcow2_exact_size), size_text(*r.qcow2_size)}}
        : r.qcow2_size ? Message{"report.summary-qcow2", {r.format, vsize, actual, size_text(*r.qcow2_size)}}
                       : Message{"report.summary", {r.format, vsize, actual}};
    out += render(summary, lang) + "\n";
  }
  out += "\n";
  for (const CheckResult& c : r.checks) {
    const char* mark = "-";
    const char* colour = "2";
    switch (c.status) {
      case CheckStatus::kPass:
        mark = "✔";
        colour = "32";
        break;
      case CheckStatus::kWarn:
        mark = "!";
        colour = "33";
        break;
      case CheckStatus::kFail:
        mark = "✘";
        colour = "31";
        break;
      case CheckStatus::kSkipped:
        mark = "-";
        colour = "2";
        break;
      case CheckStatus::kUnverified:
        mark = "?";
        colour = "33";
        break;
    }
    out +=
        paint(colour, mark) + " " + render({"report.row", {check_title(c.name, lang), render(c.message, lang)}}, lang);
    if (!c.error_code.empty()) out += " " + paint("1;31", "[" + c.error_code + "]");
    out += "\n";
    for (const Message& e : c.evidence) out += paint("2", "    " + render(e, lang)) + "\n";
    if (c.advice && c.status != CheckStatus::kPass) out += "    " + render({"report.advice", {*c.advice}}, lang) + "\n";
  }
  return out;
}

ordered_json render_json(const CheckReport& r, Lang lang) {
  ordered_json j;
  j["result"] = r.pass ? "pass" : r.unverified ? "unverified" : "fail";
  j["error-code"] = r.error_code.empty() ? ordered_json(nullptr) : ordered_json(r.error_code);
  j["failed-check"] = r.failed_check.empty() ? ordered_json(nullptr) : ordered_json(r.failed_check);
  j["reason"] = reason_text(r, lang);
  j["reason-id"] = r.reason.id;
  j["lang"] = std::string(lang_code(lang));
  ordered_json checks = ordered_json::array();
  for (const CheckResult& c : r.checks) {
    ordered_json cj;
    cj["name"] = c.name;
    cj["title"] = check_title(c.name, lang);
    cj["status"] = std::string(check_status_name(c.status));
    cj["error-code"] = c.error_code.empty() ? ordered_json(nullptr) : ordered_json(c.error_code);
    cj["message"] = render(c.message, lang);
    cj["message-id"] = c.message.id;
    ordered_json args = ordered_json::array();
    for (const MessageArg& a : c.message.args) args.push_back(render_arg(a, lang));
    cj["message-args"] = std::move(args);
    cj["advice"] = c.advice ? ordered_json(render(*c.advice, lang)) : ordered_json(nullptr);
    ordered_json evidence = ordered_json::array();
    for (const Message& e : c.evidence) evidence.push_back(render(e, lang));
    cj["evidence"] = std::move(evidence);
    checks.push_back(std::move(cj));
  }
  j["checks"] = std::move(checks);
  ordered_json image;
  image["format"] = r.format.empty() ? ordered_json(nullptr) : ordered_json(r.format);
  image["virtual-size"] = r.virtual_size;
  image["actual-size"] = r.actual_size;
  image["qcow2-size"] = r.qcow2_size ? ordered_json(*r.qcow2_size) : ordered_json(nullptr);
  image["qcow2-exact-size"] = r.qcow2_exact_size ? ordered_json(*r.qcow2_exact_size) : ordered_json(nullptr);
  j["image"] = std::move(image);
  j["partition-table"] = r.partition_table.empty() ? ordered_json(nullptr) : ordered_json(r.partition_table);
  ordered_json os;
  auto or_null = [](const std::string& s) { return s.empty() ? ordered_json(nullptr) : ordered_json(s); };
  os["type"] = or_null(r.os_type);
  os["distribution"] = or_null(r.distribution);
  os["name"] = or_null(r.distribution_name);
  os["version"] = or_null(r.version);
  os["os-version"] = or_null(r.os_version);
  if (r.os_type == "windows") os["product-name"] = or_null(r.product_name);
  os["architecture"] = or_null(r.architecture);
  ordered_json kernels = ordered_json::array();
  for (const KernelReport& k : r.kernels) {
    ordered_json kj;
    kj["version"] = k.version;
    kj["default"] = k.is_default;
    kj["architecture"] = or_null(k.architecture);
    kj["image"] = or_null(k.image);
    kj["initramfs"] = or_null(k.initramfs);
    kj["initramfs-archives"] = k.initramfs_archives;
    ordered_json drivers;
    for (const KernelReport::Driver& d : k.virtio) {
      drivers[d.name] = {{"state", d.state},
                         {"in-initramfs", d.in_initramfs ? ordered_json(*d.in_initramfs) : ordered_json(nullptr)}};
    }
    kj["virtio"] = std::move(drivers);
    kernels.push_back(std::move(kj));
  }
  os["kernels"] = std::move(kernels);
  if (r.cloud_init) {
    os["cloud-init"] = {{"installed", r.cloud_init->installed},
                        {"enabled", r.cloud_init->enabled},
                        {"version", or_null(r.cloud_init->version)},
                        {"evidence", r.cloud_init->evidence}};
  } else {
    os["cloud-init"] = nullptr;
  }
  j["os"] = std::move(os);
  j["error"] = nullptr;
  return j;
}

ordered_json render_json_error(std::string_view message, Lang lang) {
  // The keys of render_json(), in its order, so that one schema reads both (docs/json.md).
  ordered_json j = render_json(CheckReport{}, lang);
  j["result"] = "error";
  j["error-code"] = nullptr;
  j["failed-check"] = nullptr;
  j["reason"] = render({"verdict.error", {std::string(message)}}, lang);
  j["reason-id"] = "verdict.error";
  j["checks"] = ordered_json::array();
  j["image"] = nullptr;
  j["partition-table"] = nullptr;
  j["os"] = nullptr;
  return j;
}

}  // namespace ig

#include "service/console.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "rules/messages.h"

namespace ig::service {
namespace {

// Scripts and styles only from the console's own files (no inline script, no eval), API calls to
// the same origin only, nothing framed, no form submitted by the browser itself: a form posted
// without the script would put the secret key in a URL.
constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const char* content_type(std::string_view name) {
  static constexpr std::array<std::pair<std::string_view, const char*>, 5> kTypes = {{
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json; charset=utf-8"},
      {".svg", "image/svg+xml"},
  }};
  for (const auto& [extension, type] : kTypes) {
    if (name.ends_with(extension)) return type;
  }
  return "application/octet-stream";
}

api::HttpResponse page(int status, std::string body, const char* type) {
  api::HttpResponse r;
  r.status = status;
  r.headers["Content-Type"] = type;
  r.headers["Content-Security-Policy"] = kContentSecurityPolicy;
  r.headers["X-Content-Type-Options"] = "nosniff";
  r.headers["Referrer-Policy"] = "no-referrer";
  r.headers["Cache-Control"] = "no-cache";
  r.body = std::move(body);
  return r;
}

// The sentences of rules/messages.cc the console shows, per language: ids starting with these
// prefixes, each with its placeholders ({0}, {1}, ...) kept for the page to fill.
const std::map<std::string, std::string>& rules_catalogs() {
  static const std::map<std::string, std::string> catalogs = [] {
    static constexpr std::array<std::string_view, 5> kPrefixes = {"title.", "status.", "advice.", "report.",
                                                                  "verdict."};
    std::map<std::string, std::string> out;
    for (const Lang lang : {Lang::kEn, Lang::kZh, Lang::kJa, Lang::kId, Lang::kPt}) {
      nlohmann::ordered_json j = nlohmann::ordered_json::object();
      for (const std::string& id : message_ids()) {
        if (std::none_of(kPrefixes.begin(), kPrefixes.end(), [&id](std::string_view p) { return id.starts_with(p); }))
          continue;
        j[id] = render({id, {"{0}", "{1}", "{2}", "{3}", "{4}"}}, lang);
      }
      out[fmt::format("lang/rules.{}.json", lang_code(lang))] = j.dump(1);
    }
    return out;
  }();
  return catalogs;
}

}  // namespace

bool is_console_path(std::string_view path) {
  return path == "/console" || path.starts_with("/console/");
}

api::HttpResponse console_page(const api::HttpRequest& request) {
  if (request.method != "GET" && request.method != "HEAD") {
    api::HttpResponse r = page(405, "the console's pages answer GET and HEAD only\n", "text/plain; charset=utf-8");
    r.headers["Allow"] = "GET, HEAD";
    return r;
  }
  if (request.path == "/console") {
    api::HttpResponse r = page(301, "", "text/plain; charset=utf-8");
    r.headers["Location"] = "/console/";
    return r;
  }
  std::string_view name = std::string_view(request.path).substr(std::string_view("/console/").size());
  if (name.empty()) name = "index.html";
  if (const auto rules = rules_catalogs().find(std::string(name)); rules != rules_catalogs().end()) {
    return page(200, rules->second, content_type(name));
  }
  // A lookup in the embedded table, never a path opened on disk.
  const auto files = console_files();
  const auto it = std::find_if(files.begin(), files.end(), [name](const EmbeddedFile& f) { return f.name == name; });
  if (it == files.end()) {
    return page(404, "the console has no such page\n", "text/plain; charset=utf-8");
  }
  return page(200, std::string(it->bytes), content_type(name));
}

}  // namespace ig::service

// The web console's pages (docs/console.md): the static files of console/ built into the binary
// (cmake/EmbedFiles.cmake), served under /console/ by `imagegate serve`.
//
// A request names a file only by a key of the embedded table: nothing from the request is ever
// opened on disk, so no path can climb out of the console. Every page carries a strict
// Content-Security-Policy (scripts and styles from the console's own files only, no inline script,
// API calls to the same origin only) and X-Content-Type-Options: nosniff. The server keeps no
// session: the pages sign their API calls in the browser.
//
// Besides the files, /console/lang/rules.<lang>.json holds the sentences the console shares with
// `imagegate check` (check titles, statuses, advice), rendered from the one table in
// rules/messages.cc, so the two never say the same thing in two ways.
// Thread safety: pure functions over constant data.
#pragma once

#include <optional>
#include <span>
#include <string_view>

#include "api/server.h"

namespace ig::service {

struct EmbeddedFile {
  std::string_view name;   // relative to console/: "index.html", "lang/en.json"
  std::string_view bytes;  // the file's contents
};

// The embedded files, sorted by name (generated at build time into console_files.cc).
std::span<const EmbeddedFile> console_files();

// True for /console and every path under /console/.
bool is_console_path(std::string_view path);

// The answer to a request for a console path: the file, a redirect from /console to /console/,
// 404 for a name the console does not have, 405 for a method other than GET and HEAD.
api::HttpResponse console_page(const api::HttpRequest& request);

}  // namespace ig::service

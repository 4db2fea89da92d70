// The check report rendered for people (a terminal, colours optional) and for programs (JSON,
// documented in docs/check.md). Both render every sentence in the requested language; the JSON
// also carries the stable message ids and check names, which never change with the language.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "rules/messages.h"
#include "rules/report.h"

namespace ig {

std::string render_human(const CheckReport& report, Lang lang, bool color);
// The report; its "error" is null.
nlohmann::ordered_json render_json(const CheckReport& report, Lang lang);
// The document of a check that could not run (the file cannot be opened, a usage error): the
// same keys as render_json(), "result" "error", the reason `message` in `lang`, the facts null
// and no checks. The caller sets "error" (code, message, path): docs/json.md.
nlohmann::ordered_json render_json_error(std::string_view message, Lang lang);

}  // namespace ig

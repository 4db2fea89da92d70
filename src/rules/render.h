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
nlohmann::ordered_json render_json(const CheckReport& report, Lang lang);

}  // namespace ig

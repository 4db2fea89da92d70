// The report's words that depend on rules' types: check titles and status labels, from the
// product's one message table (text/messages.h). Thread safety: pure.
#pragma once

#include <string>
#include <string_view>

#include "rules/report.h"
#include "text/messages.h"

namespace ig {

// The title of a check ("format" -> "Image format").
std::string check_title(std::string_view check, Lang lang);
std::string status_label(CheckStatus s, Lang lang);

}  // namespace ig

// The report's sentences in the five languages the product speaks: English, Simplified Chinese,
// Japanese, Indonesian and Brazilian Portuguese (the languages of the cloud's own pages).
//
// A Message (rules/report.h) is an id and positional arguments; render() looks the id up and
// substitutes {0}, {1}, ... so a translation may order them as its grammar needs. Every id exists
// in every language (a test walks the table); an unknown id renders as the id and its arguments,
// never as an empty string. Thread safety: pure.
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "rules/report.h"

namespace ig {

enum class Lang { kEn, kZh, kJa, kId, kPt };
inline constexpr std::size_t kLangCount = 5;

std::optional<Lang> parse_lang(std::string_view code);  // "en", "zh", "ja", "id", "pt" (and "zh-CN", "pt-BR", ...)
std::string_view lang_code(Lang lang);

// The sentence in `lang`, its sentence arguments rendered in `lang` too. The id "list" joins its
// arguments with the language's list separator (list_of in report.h).
std::string render(const Message& m, Lang lang);
std::string render_arg(const MessageArg& a, Lang lang);
// For test failures: the English rendering.
std::ostream& operator<<(std::ostream& os, const MessageArg& a);
// The title of a check ("format" -> "Image format").
std::string check_title(std::string_view check, Lang lang);
std::string status_label(CheckStatus s, Lang lang);

// Every message id, for the completeness test.
std::vector<std::string> message_ids();

}  // namespace ig

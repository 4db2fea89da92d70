// The product's sentences in the five languages it speaks: English, Simplified Chinese, Japanese,
// Indonesian and Brazilian Portuguese (the languages of the cloud's own pages). One table holds
// every sentence: the check report's (rules), the notices' (service) and the API's error
// messages (api), so it sits below all three.
//
// A Message is an id and positional arguments; render() looks the id up and substitutes {0},
// {1}, ... so a translation may order them as its grammar needs. Every id exists in every
// language (a test walks the table); an unknown id renders as the id and its arguments, never as
// an empty string. Thread safety: pure.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ig {

enum class Lang { kEn, kZh, kJa, kId, kPt };
inline constexpr std::size_t kLangCount = 5;

// A sentence to render: an id of the table and its arguments ({0}, {1}, ...).
struct Message {
  std::string id;
  std::vector<std::string> args;
};

std::optional<Lang> parse_lang(std::string_view code);  // "en", "zh", "ja", "id", "pt" (and "zh-CN", "pt-BR", ...)
std::string_view lang_code(Lang lang);

std::string render(const Message& m, Lang lang);

// Every message id, for the completeness test.
std::vector<std::string> message_ids();

}  // namespace ig

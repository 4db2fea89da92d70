// The product's sentences in the five languages it speaks: English, Simplified Chinese, Japanese,
// Indonesian and Brazilian Portuguese (the languages of the cloud's own pages). One table holds
// every sentence: the check report's (rules), the notices' (service) and the API's error
// messages (api), so it sits below all three.
//
// A Message is an id and positional arguments (values, or sentences of their own); render() looks the id up and
// substitutes {0}, {1}, ... so a translation may order them as its grammar needs. Every id exists in every language (a
// test walks the table); an unknown id renders as the id and its arguments, never as an empty string. Thread safety:
// pure.
#pragma once

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace ig {

enum class Lang { kEn, kZh, kJa, kId, kPt };
inline constexpr std::size_t kLangCount = 5;

struct Message;

// An argument of a sentence: a value shown as it is (a number, a size, a path, a name the guest
// gave), or a sentence of its own ("partition 2", "built-in"), rendered in the report's
// language with the sentence that holds it. Converts implicitly from both, so a Message is
// written `{"id", {value, Message{...}}}`.
class MessageArg {
 public:
  // Every member that touches `sentence_` is defined below Message: std::vector<Message> needs
  // it complete there (clang instantiates it in a constructor's body).
  MessageArg(std::string text);  // NOLINT(google-explicit-constructor): a value
  MessageArg(const char* text);  // NOLINT(google-explicit-constructor): a value
  MessageArg(Message sentence);  // NOLINT(google-explicit-constructor): a sentence

  bool is_sentence() const;
  // The value; empty for a sentence.
  const std::string& text() const { return text_; }
  std::string& text() { return text_; }
  // The sentence; only when is_sentence().
  const Message& sentence() const;
  Message& sentence();

  friend bool operator==(const MessageArg& a, const MessageArg& b);

 private:
  std::string text_;
  std::vector<Message> sentence_;  // none, or the one sentence
};

// A sentence to render: an id of the table and its arguments ({0}, {1}, ...).
struct Message {
  std::string id;
  std::vector<MessageArg> args;

  friend bool operator==(const Message& a, const Message& b) { return a.id == b.id && a.args == b.args; }
};

inline MessageArg::MessageArg(std::string text) : text_(std::move(text)) {}
inline MessageArg::MessageArg(const char* text) : text_(text) {}
inline MessageArg::MessageArg(Message sentence) {
  sentence_.push_back(std::move(sentence));
}
inline bool MessageArg::is_sentence() const {
  return !sentence_.empty();
}
inline const Message& MessageArg::sentence() const {
  return sentence_.front();
}
inline Message& MessageArg::sentence() {
  return sentence_.front();
}

inline bool operator==(const MessageArg& a, const MessageArg& b) {
  return a.text_ == b.text_ && a.sentence_ == b.sentence_;
}

// The arguments joined as a list in the report's language ("a, b" or "a、b").
inline Message list_of(std::vector<MessageArg> items) {
  return Message{"list", std::move(items)};
}

std::optional<Lang> parse_lang(std::string_view code);  // "en", "zh", "ja", "id", "pt" (and "zh-CN", "pt-BR", ...)
std::string_view lang_code(Lang lang);

// The sentence in `lang`, its sentence arguments rendered in `lang` too. The id "list" joins its
// arguments with the language's list separator (list_of).
std::string render(const Message& m, Lang lang);
std::string render_arg(const MessageArg& a, Lang lang);
// For test failures: the English rendering.
std::ostream& operator<<(std::ostream& os, const MessageArg& a);

// A sentence kept to be rendered later (a failed import's cause in the catalog): JSON
// {"id": ..., "args": [...]}, where an argument is a string or a sentence of its own. Parsing
// takes what message_json wrote, nested at most 8 deep with at most 64 arguments each; anything
// else is nullopt.
std::string message_json(const Message& m);
std::optional<Message> parse_message_json(std::string_view text);

// Every message id, for the completeness test.
std::vector<std::string> message_ids();

}  // namespace ig

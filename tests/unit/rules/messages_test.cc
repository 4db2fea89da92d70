// The five languages: every message exists in each, takes the same arguments, and renders.
#include "rules/messages.h"

// g++ 12 at -O2 (the asan preset) reports -Wmaybe-uninitialized inside libstdc++'s <regex>, the
// false positive btrfs_test.cc describes.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace ig {
namespace {

constexpr Lang kLangs[] = {Lang::kEn, Lang::kZh, Lang::kJa, Lang::kId, Lang::kPt};

// The positional arguments a rendered template used: render with marked arguments and see
// which marks appear.
std::set<int> used_args(const std::string& id, Lang lang) {
  Message m{id, {}};
  for (int i = 0; i < 6; ++i) m.args.push_back("\x01" + std::to_string(i) + "\x02");
  const std::string out = render(m, lang);
  std::set<int> used;
  for (int i = 0; i < 6; ++i) {
    if (out.find("\x01" + std::to_string(i) + "\x02") != std::string::npos) used.insert(i);
  }
  return used;
}

TEST(Messages, EveryIdInEveryLanguageWithTheSameArguments) {
  const auto ids = message_ids();
  ASSERT_GT(ids.size(), 60u);
  for (const std::string& id : ids) {
    const std::set<int> english = used_args(id, Lang::kEn);
    std::set<std::string> texts;
    for (Lang lang : kLangs) {
      const std::string text = render({id, {"a", "b", "c", "d", "e", "f"}}, lang);
      EXPECT_FALSE(text.empty()) << id << " " << lang_code(lang);
      EXPECT_NE(text, id) << id << " " << lang_code(lang) << ": the template does not format";
      EXPECT_EQ(used_args(id, lang), english) << id << " " << lang_code(lang);
      texts.insert(text);
    }
    // Sentences are translated, not copied: a sentence with letters differs between English and
    // Chinese (pure placeholders, acronyms and command names may not).
    const std::string en = render({id, {"a", "b", "c", "d"}}, Lang::kEn);
    if (id.rfind("advice.", 0) == 0 || id.rfind("verdict.", 0) == 0 || id.find(".missing") != std::string::npos) {
      EXPECT_NE(en, render({id, {"a", "b", "c", "d"}}, Lang::kZh)) << id;
      EXPECT_NE(en, render({id, {"a", "b", "c", "d"}}, Lang::kPt)) << id;
    }
  }
}

// Every API error sentence the code names ("api.…" in src/api and src/service) is in the table,
// in all five languages, translated (issue 13, point 12).
// Each id is in the table once: a second entry would be silently dropped by the map, and its
// sentence never shown (arch.unlisted was once written for Linux and for FreeBSD).
TEST(Messages, NoIdIsDefinedTwice) {
  std::ifstream in(std::filesystem::path(IG_SOURCE_DIR) / "src/text/messages.cc");
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  const std::regex entry(R"re(\n\s*\{"([a-z0-9.-]+)",\s*\{)re");
  std::set<std::string> seen;
  std::size_t entries = 0;
  for (auto it = std::sregex_iterator(s.begin(), s.end(), entry); it != std::sregex_iterator(); ++it) {
    ++entries;
    EXPECT_TRUE(seen.insert((*it)[1].str()).second) << (*it)[1].str() << " is defined twice";
  }
  EXPECT_GT(entries, 200u);
  EXPECT_EQ(entries, message_ids().size());
}

TEST(Messages, EveryApiErrorSentenceInEveryLanguage) {
  const std::vector<std::string> ids = message_ids();
  const std::set<std::string> table(ids.begin(), ids.end());
  std::set<std::string> used;
  const std::regex id_literal(R"re("(api\.[a-z0-9-]+)")re");
  for (const char* dir : {"src/api", "src/service"}) {
    for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(IG_SOURCE_DIR) / dir)) {
      std::ifstream in(e.path());
      std::stringstream text;
      text << in.rdbuf();
      const std::string s = text.str();
      for (auto it = std::sregex_iterator(s.begin(), s.end(), id_literal); it != std::sregex_iterator(); ++it) {
        used.insert((*it)[1].str());
      }
    }
  }
  ASSERT_GT(used.size(), 60u);
  for (const std::string& id : used) {
    ASSERT_TRUE(table.contains(id)) << id << " is used but not in the table";
    const Message m{id, {"x1", "x2", "x3"}};
    std::set<std::string> texts;
    for (Lang lang : kLangs) texts.insert(render(m, lang));
    EXPECT_EQ(texts.size(), kLangCount) << id << ": a language repeats another's sentence";
  }
  // And the table has no API sentence the code no longer uses.
  for (const std::string& id : ids) {
    if (id.rfind("api.", 0) == 0) {
      EXPECT_TRUE(used.contains(id)) << id << " is in the table but unused";
    }
  }
}

TEST(Messages, LanguageCodesAndUnknownIds) {
  EXPECT_EQ(parse_lang("zh-CN"), Lang::kZh);
  EXPECT_EQ(parse_lang("pt_BR.UTF-8"), Lang::kPt);
  EXPECT_EQ(parse_lang("ja"), Lang::kJa);
  EXPECT_FALSE(parse_lang("fr").has_value());
  EXPECT_EQ(render({"no.such.id", {"x"}}, Lang::kEn), "no.such.id x");
  EXPECT_EQ(check_title("virtio", Lang::kJa), "Virtio ドライバー");
  EXPECT_EQ(status_label(CheckStatus::kFail, Lang::kId), "gagal");
}

// A failed import's cause is kept as JSON and rendered later in the request's language, its
// nested sentences too; what message_json did not write is refused.
TEST(Messages, StoredSentencesKeepTheirNesting) {
  const Message cause{"import.data-disk",
                      {"1", Message{"root.cannot-read", {list_of({"partition 1", "partition 2"})}}}};
  const std::string stored = message_json(cause);
  const auto back = parse_message_json(stored);
  ASSERT_TRUE(back.has_value()) << stored;
  EXPECT_EQ(*back, cause);
  EXPECT_EQ(render(*back, Lang::kZh), render(cause, Lang::kZh));
  EXPECT_NE(render(*back, Lang::kZh), render(cause, Lang::kEn));
  EXPECT_EQ(parse_message_json(R"({"id":"url.status","args":["403"]})"), (Message{"url.status", {"403"}}));
  // Sentences nest up to 8 deep (an unverified import's cause is 5: import.unverified,
  // root.cannot-read, list, vol.unread, vol.partition); a ninth level is refused.
  auto nested = [](int depth) {
    std::string j = R"({"id":"e","args":[]})";
    for (int i = 1; i < depth; ++i) j = R"({"id":"n","args":[)" + j + "]}";
    return j;
  };
  EXPECT_TRUE(parse_message_json(nested(5)).has_value());
  EXPECT_TRUE(parse_message_json(nested(8)).has_value());
  for (const std::string& bad :
       {std::string(""), std::string("null"), std::string("[]"), std::string(R"({"id":1,"args":[]})"),
        std::string(R"({"id":"x","args":[1]})"), std::string(R"({"id":"x"})"), nested(9)}) {
    EXPECT_FALSE(parse_message_json(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace ig

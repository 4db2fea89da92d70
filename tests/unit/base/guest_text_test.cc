#include "base/guest_text.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace ig {
namespace {

TEST(GuestText, KeepsPrintableAsciiAndValidMultibyte) {
  EXPECT_EQ(guest_text("Debian GNU/Linux 12 (bookworm)"), "Debian GNU/Linux 12 (bookworm)");
  EXPECT_EQ(guest_text(""), "");
  // 2-, 3- and 4-byte sequences: é, 中文, €, U+10FFFF, 😀; U+FFFD and U+00A0 are printable.
  const std::string multi =
      "caf\xC3\xA9 \xE4\xB8\xAD\xE6\x96\x87 \xE2\x82\xAC \xF4\x8F\xBF\xBF \xF0\x9F\x98\x80 "
      "\xEF\xBF\xBD\xC2\xA0";
  EXPECT_EQ(guest_text(multi), multi);
  EXPECT_EQ(guest_text("C:\\Windows\\System32"), "C:\\Windows\\System32");  // backslash kept
}

TEST(GuestText, EscapesEachInvalidByte) {
  EXPECT_EQ(guest_text("Debian\xFF"), "Debian\\xFF");
  EXPECT_EQ(guest_text("\x80"), "\\x80");                             // a lone continuation byte
  EXPECT_EQ(guest_text("\xC3"), "\\xC3");                             // truncated 2-byte sequence
  EXPECT_EQ(guest_text("\xE2\x82"), "\\xE2\\x82");                    // truncated 3-byte sequence
  EXPECT_EQ(guest_text("\xE2\x82x"), "\\xE2\\x82x");                  // resynchronises on the next byte
  EXPECT_EQ(guest_text("\xF5\x80\x80\x80"), "\\xF5\\x80\\x80\\x80");  // lead byte above U+10FFFF
  EXPECT_EQ(guest_text("\xF4\x90\x80\x80"), "\\xF4\\x90\\x80\\x80");  // U+110000
  EXPECT_EQ(guest_text("\xFE\xFF"), "\\xFE\\xFF");
}

TEST(GuestText, RejectsOverlongAndSurrogateEncodings) {
  EXPECT_EQ(guest_text("\xC0\xAF"), "\\xC0\\xAF");  // '/' overlong in 2 bytes
  EXPECT_EQ(guest_text("\xC1\xBF"), "\\xC1\\xBF");
  EXPECT_EQ(guest_text("\xE0\x80\xAF"), "\\xE0\\x80\\xAF");  // '/' overlong in 3 bytes
  EXPECT_EQ(guest_text("\xE0\x9F\xBF"), "\\xE0\\x9F\\xBF");  // U+07FF overlong in 3 bytes
  EXPECT_EQ(guest_text("\xF0\x80\x80\xAF"), "\\xF0\\x80\\x80\\xAF");
  EXPECT_EQ(guest_text("\xF0\x8F\xBF\xBF"), "\\xF0\\x8F\\xBF\\xBF");  // U+FFFF overlong in 4 bytes
  EXPECT_EQ(guest_text("\xED\xA0\x80"), "\\xED\\xA0\\x80");           // U+D800, a surrogate
  EXPECT_EQ(guest_text("\xED\xBF\xBF"), "\\xED\\xBF\\xBF");           // U+DFFF
  EXPECT_EQ(guest_text("\xED\x9F\xBF"), "\xED\x9F\xBF");              // U+D7FF is fine
  EXPECT_EQ(guest_text("\xC0\x9B"), "\\xC0\\x9B");                    // an overlong ESC is not a way in
}

TEST(GuestText, EscapesC0ControlsAndDel) {
  EXPECT_EQ(guest_text("\x1b[31mevil\x1b[0m"), "\\x1B[31mevil\\x1B[0m");
  EXPECT_EQ(guest_text("\x1b]0;PWNED\a\x1b[2J"), "\\x1B]0;PWNED\\x07\\x1B[2J");
  EXPECT_EQ(guest_text("a\tb\r\nc"), "a\\x09b\\x0D\\x0Ac");
  EXPECT_EQ(guest_text(std::string("nul\0byte", 8)), "nul\\x00byte");
  EXPECT_EQ(guest_text("del\x7f"), "del\\x7F");
}

TEST(GuestText, EscapesC1Controls) {
  EXPECT_EQ(guest_text("\xC2\x9B"
                       "2J"),
            "\\u009B2J");  // CSI
  EXPECT_EQ(guest_text("\xC2\x80\xC2\x9F"), "\\u0080\\u009F");
  EXPECT_EQ(guest_text("\xC2\xA0"), "\xC2\xA0");  // U+00A0 is the first printable one after C1
}

TEST(GuestText, EscapesBidiControls) {
  EXPECT_EQ(guest_text("Windows\xE2\x80\xAE"
                       "txt.exe"),
            "Windows\\u202Etxt.exe");
  const std::pair<const char*, const char*> cases[] = {
      {"\xD8\x9C", "\\u061C"},     {"\xE2\x80\x8E", "\\u200E"}, {"\xE2\x80\x8F", "\\u200F"},
      {"\xE2\x80\xAA", "\\u202A"}, {"\xE2\x80\xAB", "\\u202B"}, {"\xE2\x80\xAC", "\\u202C"},
      {"\xE2\x80\xAD", "\\u202D"}, {"\xE2\x81\xA6", "\\u2066"}, {"\xE2\x81\xA7", "\\u2067"},
      {"\xE2\x81\xA8", "\\u2068"}, {"\xE2\x81\xA9", "\\u2069"}, {"\xE2\x80\xA8", "\\u2028"},
      {"\xE2\x80\xA9", "\\u2029"},
  };
  for (const auto& [in, want] : cases) EXPECT_EQ(guest_text(in), want) << want;
  EXPECT_EQ(guest_text("\xE2\x80\x8D"), "\xE2\x80\x8D");  // U+200D (ZWJ, emoji sequences) is kept
}

TEST(GuestText, CapsTheLengthWithAnEllipsis) {
  EXPECT_EQ(guest_text(std::string(256, 'a')), std::string(256, 'a'));  // exactly the cap: unchanged
  EXPECT_EQ(guest_text(std::string(257, 'a')), std::string(255, 'a') + "…");
  EXPECT_EQ(guest_text(std::string(200 * 1024, 'a')), std::string(255, 'a') + "…");
  // Code points, not bytes: 300 × "é" keeps 255 of them.
  std::string e;
  for (int i = 0; i < 300; ++i) e += "\xC3\xA9";
  std::string want;
  for (int i = 0; i < 255; ++i) want += "\xC3\xA9";
  EXPECT_EQ(guest_text(e), want + "…");
  // An escape is never cut in half: "abc" then \xFF does not fit in 6.
  EXPECT_EQ(guest_text("abc\xFF", 6), "abc…");
  EXPECT_EQ(guest_text("ab\xFF", 6), "ab\\xFF");
  EXPECT_EQ(guest_text("anything", kGuestTextUncapped), "anything");
}

TEST(GuestText, IsIdempotentAndAlwaysValidJson) {
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  for (const std::string& s : {all, all + all + all, std::string("\xE2\x80\xAE\x1b\xff") + std::string(400, 'x')}) {
    const std::string once = guest_text(s);
    EXPECT_EQ(guest_text(once), once);
    EXPECT_NO_THROW((void)nlohmann::json(once).dump());
    for (const char c : once) {
      const auto u = static_cast<unsigned char>(c);
      EXPECT_FALSE(u < 0x20 || u == 0x7F) << static_cast<int>(u);
    }
    EXPECT_EQ(once.find("\xC2\x9B"), std::string::npos);
    EXPECT_EQ(once.find("\xE2\x80\xAE"), std::string::npos);
  }
}

}  // namespace
}  // namespace ig

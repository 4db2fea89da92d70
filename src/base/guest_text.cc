#include "base/guest_text.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

namespace ig {
namespace {

// The length of the well-formed UTF-8 sequence at the start of `s` and its code point, or 0
// when the first byte does not start one (RFC 3629 table 3-7).
std::size_t decode_one(std::string_view s, std::uint32_t& cp) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const unsigned char b0 = byte(0);
  if (b0 < 0x80) {
    cp = b0;
    return 1;
  }
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // the range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    cp = b0 & 0x1Fu;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    cp = b0 & 0x0Fu;
    if (b0 == 0xE0) lo = 0xA0;  // overlong
    if (b0 == 0xED) hi = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    cp = b0 & 0x07u;
    if (b0 == 0xF0) lo = 0x90;  // overlong
    if (b0 == 0xF4) hi = 0x8F;  // above U+10FFFF
  } else {
    return 0;  // a continuation byte, C0/C1 (overlong two-byte) or F5..FF
  }
  if (s.size() < len) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    const unsigned char b = byte(i);
    if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF)) return 0;
    cp = (cp << 6) | (b & 0x3Fu);
  }
  return len;
}

bool is_hidden_format(std::uint32_t cp) {
  return cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
}

}  // namespace

std::string guest_text(std::string_view raw, std::size_t max_code_points) {
  std::string out;
  out.reserve(std::min<std::size_t>(raw.size(), 1024));
  std::size_t code_points = 0;
  std::size_t cut = 0;  // out.size() while at most max_code_points - 1 code points: room for "…"
  std::size_t pos = 0;
  while (pos < raw.size()) {
    std::uint32_t cp = 0;
    const std::size_t len = decode_one(raw.substr(pos), cp);
    if (len == 0) {
      out += fmt::format("\\x{:02X}", static_cast<unsigned char>(raw[pos]));
      code_points += 4;
    } else if (cp < 0x20 || cp == 0x7F) {
      out += fmt::format("\\x{:02X}", cp);
      code_points += 4;
    } else if ((cp >= 0x80 && cp <= 0x9F) || is_hidden_format(cp)) {
      out += fmt::format("\\u{:04X}", cp);
      code_points += 6;
    } else {
      out.append(raw.substr(pos, len));
      code_points += 1;
    }
    pos += len == 0 ? 1 : len;
    if (code_points > max_code_points) {
      out.resize(cut);
      out += "…";
      return out;
    }
    if (code_points < max_code_points) cut = out.size();
  }
  return out;
}

}  // namespace ig

// Small text helpers for parsing untrusted text metadata (descriptors, os-release, LVM text) and
// for showing identifiers. Pure functions.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace ig {

// `s` without leading and trailing spaces, tabs and carriage returns.
inline std::string trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

// Calls `fn(line)` for every line of `text` (without its '\n'; a last line without one counts).
template <class Fn>
void for_each_line(std::string_view text, Fn&& fn) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    fn(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
}

// 16 bytes in RFC 4122 byte order as "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (lower case), as
// blkid prints file-system UUIDs.
inline std::string uuid_string(std::span<const std::byte, 16> u) {
  std::string s;
  for (std::size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += fmt::format("{:02x}", std::to_integer<unsigned>(u[i]));
  }
  return s;
}

}  // namespace ig

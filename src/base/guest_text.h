// Guest-derived text made safe to show: any bytes in, valid and printable UTF-8 out.
//
// Strings read from an image (os-release values, GRUB titles, file names, fstab fields, registry
// values, volume labels) are hostile: they may be invalid UTF-8 (which a JSON encoder refuses),
// or carry terminal escapes, C1 controls or bidirectional overrides that rewrite what a terminal
// or a web page shows. guest_text() keeps every valid, printable code point and replaces the rest
// with a visible escape:
//   - a byte that does not start a well-formed UTF-8 sequence (RFC 3629: no overlong forms, no
//     surrogates, nothing above U+10FFFF, no truncated sequence) -> "\xFF", one escape per byte;
//   - C0 controls (including tab, CR and LF) and DEL -> "\x1B", "\x0A", "\x7F";
//   - C1 controls U+0080..U+009F -> "\u009B";
//   - bidi and invisible direction marks (U+061C, U+200E, U+200F, U+202A..U+202E,
//     U+2066..U+2069) and the line/paragraph separators U+2028, U+2029 -> "\u202E".
// A backslash is kept as it is (Windows paths stay readable), so the escapes are for people, not
// a reversible encoding. The output is capped at `max_code_points` code points (escapes count
// their characters); a longer text ends in "…" after the last whole code point or escape that
// fits. The result is unchanged by a second call with the same cap. Pure function.
#pragma once

#include <cstddef>
#include <limits>
#include <string>
#include <string_view>

namespace ig {

inline constexpr std::size_t kGuestTextMaxCodePoints = 256;
inline constexpr std::size_t kGuestTextUncapped = std::numeric_limits<std::size_t>::max();

std::string guest_text(std::string_view raw, std::size_t max_code_points = kGuestTextMaxCodePoints);

// Replaces `s` by guest_text(s, max_code_points).
inline void make_guest_text(std::string& s, std::size_t max_code_points = kGuestTextMaxCodePoints) {
  s = guest_text(s, max_code_points);
}

}  // namespace ig

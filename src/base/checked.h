// Overflow-checked arithmetic for values that came from untrusted input.
//
// Every `offset + length` and `count * size` built from image metadata goes through these, so an
// overflow is a named kCorrupt error rather than a wrapped value used as an offset.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/error.h"

namespace ig {

inline Result<std::uint64_t> checked_add(std::uint64_t a, std::uint64_t b, std::string_view what) {
  std::uint64_t r;
  if (__builtin_add_overflow(a, b, &r)) {
    return Error::corrupt(fmt::format("{}: {} + {} overflows 64 bits", what, a, b));
  }
  return r;
}

inline Result<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b, std::string_view what) {
  std::uint64_t r;
  if (__builtin_mul_overflow(a, b, &r)) {
    return Error::corrupt(fmt::format("{}: {} * {} overflows 64 bits", what, a, b));
  }
  return r;
}

// For validated values only: `align` is a power of two and the result cannot overflow.
constexpr std::uint64_t align_up(std::uint64_t v, std::uint64_t align) {
  return (v + align - 1) & ~(align - 1);
}
constexpr std::uint64_t align_down(std::uint64_t v, std::uint64_t align) {
  return v & ~(align - 1);
}
constexpr std::uint64_t div_round_up(std::uint64_t a, std::uint64_t b) {
  return a / b + (a % b != 0 ? 1 : 0);
}
constexpr bool is_power_of_two(std::uint64_t v) {
  return v != 0 && (v & (v - 1)) == 0;
}

// True when [offset, offset + length) lies inside [0, size), without overflowing.
constexpr bool range_within(std::uint64_t offset, std::uint64_t length, std::uint64_t size) {
  return offset <= size && length <= size - offset;
}

}  // namespace ig

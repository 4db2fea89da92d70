// Byte decoding: bytes become host-order integers through explicit little- or big-endian loads,
// with the byte order written at every read. Nothing is ever cast over a buffer.
//
// Fixed-size headers use the static-extent forms, whose offsets are checked at compile time:
//   std::array<std::byte, 512> block; ... load_be<std::uint32_t, 20>(block)
// Variable-length data uses ByteReader, a bounds-checked cursor whose reads return Result and
// fail with kCorrupt naming the structure and offset.
//
// Thread safety: free functions are pure; a ByteReader is a value owned by one thread.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>

#include "base/error.h"

namespace ig {

template <class T>
constexpr T byteswap_int(T v) {
  static_assert(std::is_unsigned_v<T>);
  if constexpr (sizeof(T) == 1) return v;
  if constexpr (sizeof(T) == 2) return static_cast<T>(__builtin_bswap16(v));
  if constexpr (sizeof(T) == 4) return static_cast<T>(__builtin_bswap32(v));
  if constexpr (sizeof(T) == 8) return static_cast<T>(__builtin_bswap64(v));
}

// Unchecked loads from a pointer; callers guarantee the bytes exist. Prefer the span forms.
template <class T>
inline T load_le_ptr(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = byteswap_int(v);
  return v;
}
template <class T>
inline T load_be_ptr(const std::byte* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::little) v = byteswap_int(v);
  return v;
}
template <class T>
inline void store_le_ptr(std::byte* p, T v) {
  if constexpr (std::endian::native == std::endian::big) v = byteswap_int(v);
  std::memcpy(p, &v, sizeof v);
}
template <class T>
inline void store_be_ptr(std::byte* p, T v) {
  if constexpr (std::endian::native == std::endian::little) v = byteswap_int(v);
  std::memcpy(p, &v, sizeof v);
}

// Compile-time-checked loads from a fixed-extent span: `Offset + sizeof(T) <= N`.
template <class T, std::size_t Offset, std::size_t N>
requires(Offset + sizeof(T) <= N) inline T load_le(std::span<const std::byte, N> block) {
  return load_le_ptr<T>(block.data() + Offset);
}
template <class T, std::size_t Offset, std::size_t N>
requires(Offset + sizeof(T) <= N) inline T load_be(std::span<const std::byte, N> block) {
  return load_be_ptr<T>(block.data() + Offset);
}
template <class T, std::size_t Offset, std::size_t N>
requires(Offset + sizeof(T) <= N) inline T load_le(const std::array<std::byte, N>& block) {
  return load_le_ptr<T>(block.data() + Offset);
}
template <class T, std::size_t Offset, std::size_t N>
requires(Offset + sizeof(T) <= N) inline T load_be(const std::array<std::byte, N>& block) {
  return load_be_ptr<T>(block.data() + Offset);
}
template <class T, std::size_t Offset, std::size_t N>
requires(Offset + sizeof(T) <= N) inline void store_be(std::array<std::byte, N>& block, T v) {
  store_be_ptr<T>(block.data() + Offset, v);
}
template <class T, std::size_t Offset, std::size_t N>
requires(Offset + sizeof(T) <= N) inline void store_le(std::array<std::byte, N>& block, T v) {
  store_le_ptr<T>(block.data() + Offset, v);
}

// The bytes [Offset, Offset + Len) of a fixed block as text (for magic strings and names).
template <std::size_t Offset, std::size_t Len, std::size_t N>
requires(Offset + Len <= N) inline std::string_view text_at(const std::array<std::byte, N>& block) {
  return {reinterpret_cast<const char*>(block.data() + Offset), Len};
}

inline std::string_view as_chars(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

// Untrusted bytes made safe to show in a message: control and non-ASCII bytes become '?', and
// anything past `max_len` is cut with "...".
inline std::string printable(std::string_view s, std::size_t max_len = 200) {
  std::string out(s.substr(0, max_len));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  }
  if (s.size() > max_len) out += "...";
  return out;
}

inline bool all_zero(std::span<const std::byte> bytes) {
  // Compare word by word; the tail byte by byte.
  const std::byte* p = bytes.data();
  std::size_t n = bytes.size();
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    if (w != 0) return false;
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    if (*p != std::byte{0}) return false;
    ++p;
    --n;
  }
  return true;
}

// A bounds-checked read cursor over bytes that came from untrusted input.
class ByteReader {
 public:
  ByteReader(std::span<const std::byte> data, std::string_view what) : data_(data), what_(what) {}

  std::size_t position() const { return pos_; }
  std::size_t remaining() const { return data_.size() - pos_; }

  Result<std::uint8_t> u8() { return read<std::uint8_t, false>(); }
  Result<std::uint16_t> le16() { return read<std::uint16_t, false>(); }
  Result<std::uint32_t> le32() { return read<std::uint32_t, false>(); }
  Result<std::uint64_t> le64() { return read<std::uint64_t, false>(); }
  Result<std::uint16_t> be16() { return read<std::uint16_t, true>(); }
  Result<std::uint32_t> be32() { return read<std::uint32_t, true>(); }
  Result<std::uint64_t> be64() { return read<std::uint64_t, true>(); }

  Result<std::span<const std::byte>> bytes(std::size_t n) {
    IG_TRY(need(n));
    auto s = data_.subspan(pos_, n);
    pos_ += n;
    return s;
  }
  Result<void> skip(std::size_t n) {
    IG_TRY(need(n));
    pos_ += n;
    return ok();
  }
  Result<void> seek(std::size_t pos) {
    if (pos > data_.size()) {
      return Error::corrupt(fmt::format("{}: offset {} past the end ({} bytes)", what_, pos, data_.size()));
    }
    pos_ = pos;
    return ok();
  }

 private:
  Result<void> need(std::size_t n) const {
    if (n > remaining()) {
      return Error::corrupt(fmt::format("{}: {} bytes needed at offset {}, only {} left", what_, n, pos_, remaining()));
    }
    return ok();
  }
  template <class T, bool kBigEndian>
  Result<T> read() {
    IG_TRY(need(sizeof(T)));
    T v = kBigEndian ? load_be_ptr<T>(data_.data() + pos_) : load_le_ptr<T>(data_.data() + pos_);
    pos_ += sizeof(T);
    return v;
  }

  std::span<const std::byte> data_;
  std::string_view what_;
  std::size_t pos_ = 0;
};

}  // namespace ig

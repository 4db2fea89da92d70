// The fuzzer's input as a ByteSource, read in place.
//
// libFuzzer hands each run a buffer of exactly the input's size (ASan puts a redzone right after
// it); copying it into a MemorySource cost a fresh, zeroed allocation per run, most of a run's time
// for the file-system targets' multi-MiB inputs. Reads past the input and below `padded_size`
// return zeros, for formats whose structures sit far into a device (a btrfs chunk 5 MiB in, ZFS
// labels 2 and 3 at the end): the seeds are cut after their last non-zero byte.
//
// Valid for the run only: every object that holds it must be gone when LLVMFuzzerTestOneInput
// returns.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>

#include "io/byte_source.h"

namespace ig::fuzz {

class InputSource final : public ByteSource {
 public:
  InputSource(const std::uint8_t* data, std::size_t size, std::uint64_t padded_size = 0)
      : data_(data), size_(size), padded_size_(std::max<std::uint64_t>(size, padded_size)) {}
  std::uint64_t size() const override { return padded_size_; }
  std::string name() const override { return padded_size_ > size_ ? "fuzz input, zero-padded" : "fuzz input"; }
  Result<void> read_at(std::uint64_t offset, std::span<std::byte> out) const override {
    if (!fits(offset, out.size())) return out_of_range(offset, out.size());
    if (out.empty()) return ok();  // out.data() may be null: no memcpy or memset with it
    std::size_t copied = 0;
    if (offset < size_) {
      copied = static_cast<std::size_t>(std::min<std::uint64_t>(size_ - offset, out.size()));
      std::memcpy(out.data(), data_ + offset, copied);
    }
    std::memset(out.data() + copied, 0, out.size() - copied);
    return ok();
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::uint64_t padded_size_;
};

}  // namespace ig::fuzz

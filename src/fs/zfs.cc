#include "fs/zfs.h"

#include <array>
#include <memory>
#include <vector>

#include "base/bytes.h"

namespace ig::zfs {
namespace {

// nvpair data types (sys/nvpair.h) and the packed list's header.
constexpr std::uint32_t kDataTypeString = 9;
constexpr std::uint8_t kEncodeXdr = 1;
constexpr std::uint32_t kNvVersion = 0;
// Uberblock slots start on 1 KiB boundaries whatever the vdev's ashift (the slot is
// max(1 << ashift, 1 KiB)), so every 1 KiB of the ring is looked at.
constexpr std::size_t kSlotBytes = 1024;

bool valid_version(std::uint64_t v) {
  return (v >= 1 && v <= 28) || v == 5000;  // SPA_VERSION_1 .. SPA_VERSION_28, SPA_VERSION_FEATURES
}

// The first uberblock of a ring, in either byte order.
std::optional<VdevLabel> find_uberblock(std::span<const std::byte> ring) {
  for (std::size_t at = 0; at + 16 <= ring.size(); at += kSlotBytes) {
    for (bool big : {false, true}) {
      const auto load = [&](std::size_t off) {
        return big ? load_be_ptr<std::uint64_t>(ring.data() + at + off)
                   : load_le_ptr<std::uint64_t>(ring.data() + at + off);
      };
      if (load(0) != kUberblockMagic || !valid_version(load(8))) continue;
      VdevLabel l;
      l.big_endian = big;
      l.ub_version = load(8);
      return l;
    }
  }
  return std::nullopt;
}

// An XDR string (a 4-byte length, the bytes, zero padding to 4) no longer than `max`.
Result<std::string_view> xdr_string(ByteReader& r, std::size_t max, std::string_view what) {
  const std::uint32_t len = IG_TRY(r.be32());
  if (len > max) return Error::corrupt(fmt::format("zfs nvlist: {} of {} bytes (at most {})", what, len, max));
  const auto bytes = IG_TRY(r.bytes(len));
  IG_TRY(r.skip((4 - len % 4) % 4));
  return as_chars(bytes);
}

}  // namespace

Result<std::string> pool_name_from_nvlist(std::span<const std::byte> packed) {
  ByteReader r(packed, "zfs nvlist");
  const std::uint8_t encoding = IG_TRY(r.u8());
  if (encoding != kEncodeXdr) {
    return Error::unsupported(fmt::format("zfs nvlist: encoding {} (only XDR, 1, is read)", encoding));
  }
  IG_TRY(r.skip(3));  // nvh_endian and two reserved bytes: XDR is big-endian whatever the host
  const std::uint32_t version = IG_TRY(r.be32());
  if (version != kNvVersion) return Error::corrupt(fmt::format("zfs nvlist: nvl_version {} (not 0)", version));
  IG_TRY(r.be32());  // nvl_nvflag
  for (std::size_t i = 0; i < kMaxNvpairs; ++i) {
    const std::size_t start = r.position();
    const std::uint32_t encoded = IG_TRY(r.be32());
    const std::uint32_t decoded = IG_TRY(r.be32());
    if (encoded == 0 && decoded == 0) return Error::not_found("zfs nvlist: no \"name\" pair");
    // The smallest pair: both sizes, an empty name, type and element count.
    if (encoded < 20 || encoded % 4 != 0 || encoded > packed.size() - start) {
      return Error::corrupt(fmt::format("zfs nvlist: pair at {} claims {} bytes", start, encoded));
    }
    ByteReader pair(packed.subspan(start + 8, encoded - 8), "zfs nvpair");
    const std::string_view name = IG_TRY(xdr_string(pair, encoded, "a pair name"));
    const std::uint32_t type = IG_TRY(pair.be32());
    const std::uint32_t nelem = IG_TRY(pair.be32());
    if (name == "name" && type == kDataTypeString && nelem == 1) {
      return std::string(IG_TRY(xdr_string(pair, kMaxPoolNameBytes, "the pool name")));
    }
    IG_TRY(r.seek(start + encoded));
  }
  return Error::limit_exceeded(fmt::format("zfs nvlist: more than {} pairs", kMaxNvpairs));
}

Result<std::optional<VdevLabel>> probe(const ByteSource& vdev) {
  // L2 and L3 sit at the end of the vdev's size rounded down to a whole label (vdev_label_offset).
  const std::uint64_t size = vdev.size();
  const std::uint64_t aligned = size - size % kLabelBytes;
  std::vector<std::uint64_t> labels = {0, kLabelBytes};
  if (aligned >= 4 * kLabelBytes) {
    labels.push_back(aligned - 2 * kLabelBytes);
    labels.push_back(aligned - kLabelBytes);
  }
  std::optional<VdevLabel> found;
  // Not zeroed first: every read below fills what it uses (zeroing 128 KiB per probe was a third
  // of fuzz_zfs's run).
  const auto storage = std::make_unique_for_overwrite<std::byte[]>(kUberblockRingBytes);
  const std::span<std::byte> buf(storage.get(), kUberblockRingBytes);
  for (unsigned l = 0; l < labels.size(); ++l) {
    if (labels[l] + kLabelBytes > size) break;
    IG_TRY(vdev.read_at(labels[l] + kUberblockRingOffset, buf.first(kUberblockRingBytes)));
    auto ub = find_uberblock(std::span<const std::byte>(buf).first(kUberblockRingBytes));
    if (!ub) continue;
    if (!found) {
      found = *ub;
      found->label = l;
    }
    IG_TRY(vdev.read_at(labels[l] + kNvlistOffset, buf.first(kNvlistBytes)));
    auto name = pool_name_from_nvlist(std::span<const std::byte>(buf).first(kNvlistBytes));
    if (name) {
      found->pool_name = std::move(*name);
      found->config_error.clear();
      break;
    }
    if (found->config_error.empty()) found->config_error = fmt::format("label {}: {}", l, name.error().message);
  }
  return found;
}

}  // namespace ig::zfs

// What a stored checksum that disagrees with the computed one does: it refuses the structure, in
// every build but a fuzzing one.
//
// A fuzzing build (the `fuzz` preset defines FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, the name
// libFuzzer projects share) lets it pass: a mutation almost never keeps a CRC right, so every
// mutated GPT header, LVM label, btrfs node, ext4 inode, VHD footer or hive base block would stop
// at its checksum and the code behind it would go unfuzzed. The checksum is still computed there
// and every other check holds. No test and no product is built that way (CMakeLists.txt).
// Thread safety: pure.
#pragma once

namespace ig {

#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
inline constexpr bool kChecksumsRefuse = false;
#else
inline constexpr bool kChecksumsRefuse = true;
#endif

// Whether a reader must refuse what it read, given whether its stored and computed checksums
// disagree: `if (checksum_refuses(stored != computed)) return Error::corrupt(...)`.
constexpr bool checksum_refuses(bool disagrees) {
  return kChecksumsRefuse && disagrees;
}

}  // namespace ig

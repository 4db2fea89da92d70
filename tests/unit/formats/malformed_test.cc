// The broken path: each malformed image is made at test time by mutating a real qemu-img image
// (or by the real tool of an out-of-scope format) and must be refused with the exact error code
// and a message that names the structure. Nothing here may crash, hang or allocate without bound.
#include <thread>

#include "base/bytes.h"
#include "base/checked.h"
#include "convert/measure.h"
#include "io/faulty_source.h"
#include "support/test_support.h"

namespace ig::test {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;

class Malformed : public ::testing::Test {
 protected:
  // A small qcow2 made by qemu-img from the pattern disk; extra convert arguments optional.
  std::string qcow2(const std::string& args = "", std::uint64_t size = 4 * kMiB) {
    const std::string raw = dir_.file("src.raw");
    make_source(raw, args, size);
    const std::string out = dir_.file("m" + std::to_string(n_++) + ".qcow2");
    run_ok("qemu-img convert -f raw -O qcow2 " + args + " " + raw + " " + out);
    return out;
  }
  std::string made(const std::string& fmt, const std::string& ext, const std::string& args = "",
                   std::uint64_t size = 4 * kMiB) {
    const std::string raw = dir_.file("src.raw");
    make_source(raw, args + (ext == ".vmdk" && args.find("stream") != std::string::npos ? " -c" : ""), size);
    const std::string out = dir_.file("m" + std::to_string(n_++) + ext);
    run_ok("qemu-img convert -f raw -O " + fmt + " " + args + " " + raw + " " + out);
    return out;
  }
  // Compressed images need compressible data (qemu stores incompressible clusters as they are):
  // text in the first half, the pattern's holes after it.
  static void make_source(const std::string& raw, const std::string& args, std::uint64_t size) {
    make_pattern_raw(raw, size);
    if (args.find("-c") != std::string::npos) {
      run_ok("yes 'imagegate compressible line' | head -c " + std::to_string(size / 2) + " | dd of=" + raw +
             " conv=notrunc status=none");
    }
  }

  // Reads the whole guest disk, returning the first error.
  static Result<void> read_all(const DiskImage& image) {
    std::vector<std::byte> buf(1 << 20);
    for (std::uint64_t off = 0; off < image.size(); off += buf.size()) {
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), image.size() - off));
      IG_TRY(image.read_at(off, std::span(buf).first(n)));
    }
    return ok();
  }
  static Result<void> open_and_read(const std::string& path) {
    auto image = IG_TRY(open_file(path));
    return read_all(*image);
  }

  TempDir dir_;
  int n_ = 0;
};

// ---- qcow2 ----

TEST_F(Malformed, Qcow2TruncatedHeader) {
  const std::string q = qcow2();
  run_ok("truncate -s 50 " + q);
  EXPECT_THAT(open_file(q), HasError(ErrorCode::kCorrupt, "qcow2 header: file has 50 bytes, the header needs 72"));
}

TEST_F(Malformed, OneByteFileIsNotTheDeclaredFormat) {
  const std::string p = dir_.file("one.img");
  write_file(p, text("Q"));
  EXPECT_THAT(open_file(p, Format::kQcow2),
              HasError(ErrorCode::kUnsupported, "declared qcow2, but the content is raw"));
  auto raw = open_file(p);
  ASSERT_THAT(raw, IsOk());
  EXPECT_EQ((*raw)->size(), 512u);  // a raw disk rounds up to a whole sector, like qemu
  const std::string empty = dir_.file("empty.img");
  write_file(empty, {});
  EXPECT_THAT(open_file(empty), HasError(ErrorCode::kCorrupt, "empty file"));
}

TEST_F(Malformed, Qcow2ClusterBitsOutOfRange) {
  const std::string q = qcow2();
  patch_file(q, 20, be32(31));
  EXPECT_THAT(open_file(q), HasError(ErrorCode::kCorrupt, "qcow2 header: cluster_bits 31 not in [9, 21]"));
  patch_file(q, 20, be32(8));
  EXPECT_THAT(open_file(q), HasError(ErrorCode::kCorrupt, "cluster_bits 8 not in [9, 21]"));
}

TEST_F(Malformed, Qcow2UnknownVersion) {
  const std::string q = qcow2();
  patch_file(q, 4, be32(4));
  EXPECT_THAT(open_file(q), HasError(ErrorCode::kUnsupported, "qcow2 header: version 4"));
}

TEST_F(Malformed, Qcow2QcowVersion1IsNamed) {
  const std::string p = dir_.file("old.qcow");
  run_ok("qemu-img create -q -f qcow " + p + " 10M");
  EXPECT_THAT(open_file(p), HasError(ErrorCode::kUnsupported, "unsupported format: qcow version 1 image"));
}

TEST_F(Malformed, Qcow2PetabyteVirtualSizeInATinyFile) {
  const std::string p = dir_.file("huge.qcow2");
  run_ok("qemu-img create -q -f qcow2 " + p + " 1P");
  EXPECT_THAT(open_file(p), HasError(ErrorCode::kLimitExceeded, "virtual size 1125899906842624 exceeds the limit"));
  // A header that claims 1 PiB over the L1 table of a 4 MiB disk: the L1 is too small.
  const std::string q = qcow2();
  patch_file(q, 24, be64(1ull << 50));
  Limits generous;
  generous.max_virtual_size_bytes = 1ull << 60;
  auto file = FileSource::open(q);
  ASSERT_THAT(file, IsOk());
  OpenOptions o;
  o.limits = generous;
  EXPECT_THAT(open_image(std::shared_ptr<const ByteSource>(std::move(*file)), o),
              HasError(ErrorCode::kCorrupt, "l1_size 1 too small for virtual size 1125899906842624"));
}

TEST_F(Malformed, Qcow2L1TableLimitAndPastTheEnd) {
  const std::string q = qcow2();
  patch_file(q, 36, be32(0x10000000));  // l1_size: a 2 GiB L1 table
  EXPECT_THAT(open_file(q), HasError(ErrorCode::kLimitExceeded, "L1 table of 2147483648 bytes exceeds the limit"));
  const std::string r = qcow2();
  patch_file(r, 40, be64(1ull << 40));  // l1_table_offset far past the end
  EXPECT_THAT(open_file(r), HasError(ErrorCode::kTruncated, "L1 table [0x10000000000, +8) lies past the end"));
  const std::string s = qcow2();
  patch_file(s, 40, be64(0x30200));  // not cluster-aligned
  EXPECT_THAT(open_file(s), HasError(ErrorCode::kCorrupt, "l1_table_offset 0x30200 not cluster-aligned"));
}

TEST_F(Malformed, Qcow2L2TablePastTheEnd) {
  const std::string q = qcow2();
  const std::uint64_t l1 = be64_at(q, 40);
  patch_file(q, l1, be64((1ull << 63) | (1ull << 40)));
  auto image = open_file(q);
  ASSERT_THAT(image, IsOk());
  EXPECT_THAT(read_all(**image), HasError(ErrorCode::kTruncated, "L2 table at 0x10000000000 lies past the end"));
  EXPECT_THAT((*image)->extent_at(0), HasError(ErrorCode::kTruncated, "L2 table"));
}

TEST_F(Malformed, Qcow2L1EntryReservedBits) {
  const std::string q = qcow2();
  const std::uint64_t l1 = be64_at(q, 40);
  patch_file(q, l1, be64(be64_at(q, l1) | 0x100));
  EXPECT_THAT(open_file(q), HasError(ErrorCode::kCorrupt, "L1 entry 0"));
}

TEST_F(Malformed, Qcow2DataClusterUnalignedOrPastTheEnd) {
  const std::string q = qcow2();
  const std::uint64_t l2 = be64_at(q, be64_at(q, 40)) & 0x00fffffffffffe00ULL;
  const std::uint64_t entry0 = be64_at(q, l2);
  patch_file(q, l2, be64(entry0 + 512));
  EXPECT_THAT(open_and_read(q), HasError(ErrorCode::kCorrupt, "host offset"));
  EXPECT_THAT(open_and_read(q), HasError(ErrorCode::kCorrupt, "is not cluster-aligned"));
  const std::string t = qcow2();
  run_ok("truncate -s 400000 " + t);  // cut through the data clusters
  EXPECT_THAT(open_and_read(t), HasError(ErrorCode::kTruncated, "lies past the end of the file"));
}

TEST_F(Malformed, Qcow2RefusedFeatures) {
  const std::string c = qcow2();
  patch_file(c, 72, be64(1u << 1));
  EXPECT_THAT(open_file(c), HasError(ErrorCode::kUnsupported, "the corrupt bit is set"));
  const std::string u = qcow2();
  patch_file(u, 72, be64(1u << 5));
  EXPECT_THAT(open_file(u), HasError(ErrorCode::kUnsupported, "unknown incompatible feature bits 0x20"));
  const std::string t = qcow2();
  patch_file(t, 104, {std::byte{2}});
  patch_file(t, 72, be64(1u << 3));
  EXPECT_THAT(open_file(t), HasError(ErrorCode::kUnsupported, "unknown compression_type 2"));
  const std::string z = qcow2();
  patch_file(z, 104, {std::byte{1}});
  EXPECT_THAT(open_file(z), HasError(ErrorCode::kCorrupt, "compression_type set without"));
}

TEST_F(Malformed, Qcow2HeaderFieldChecks) {
  const std::string h = qcow2();
  patch_file(h, 100, be32(96));
  EXPECT_THAT(open_file(h), HasError(ErrorCode::kCorrupt, "header_length 96"));
  const std::string r = qcow2();
  patch_file(r, 96, be32(7));
  EXPECT_THAT(open_file(r), HasError(ErrorCode::kCorrupt, "refcount_order 7 not in [0, 6]"));
  const std::string e = qcow2();
  const std::uint32_t hl = static_cast<std::uint32_t>(be64_at(e, 96) & 0xffffffff);  // header_length
  auto ext = be32(0x12345678);
  auto len = be32(0x7fffffff);
  ext.insert(ext.end(), len.begin(), len.end());
  patch_file(e, hl, ext);
  EXPECT_THAT(open_file(e), HasError(ErrorCode::kCorrupt, "runs past the first cluster"));
}

TEST_F(Malformed, Qcow2Encrypted) {
  // The header alone refuses it: crypt_method 1 (AES) or 2 (LUKS), patched into a plain qcow2.
  const std::string aes = qcow2();
  patch_file(aes, 32, be32(1));
  EXPECT_THAT(open_file(aes), HasError(ErrorCode::kUnsupported, "qcow2: encrypted image (AES)"));
  const std::string luks = qcow2();
  patch_file(luks, 32, be32(2));
  EXPECT_THAT(open_file(luks), HasError(ErrorCode::kUnsupported, "qcow2: encrypted image (LUKS)"));

  // And qemu-img's own LUKS qcow2. qemu-img times its PBKDF2 iterations by the thread's CPU
  // clock, which counts in scheduler ticks: a round shorter than a tick measures 0 ms and it
  // refuses with "Unable to get accurate CPU usage". That is the fixture maker's trouble, not the
  // reader's: try again, and skip, saying so, if it never manages.
  const std::string p = dir_.file("luks.qcow2");
  const std::string create =
      "qemu-img create -q --object secret,id=s0,data=pw -f qcow2 -o encrypt.format=luks,encrypt.key-secret=s0 " + p +
      " 8M";
  CommandResult made = run(create);
  for (int attempt = 1; made.exit_code != 0 && made.out.find("accurate CPU usage") != std::string::npos && attempt < 20;
       ++attempt) {
    run("sleep 0.2");
    made = run(create);
  }
  if (made.exit_code != 0 && made.out.find("accurate CPU usage") != std::string::npos) {
    GTEST_SKIP() << "qemu-img could not time its PBKDF2 on this machine 20 times in a row: " << made.out;
  }
  ASSERT_EQ(made.exit_code, 0) << create << "\n" << made.out;
  EXPECT_THAT(open_file(p), HasError(ErrorCode::kUnsupported, "qcow2: encrypted image (LUKS)"));
}

TEST_F(Malformed, Qcow2CompressedClusterGarbageAndBombs) {
  const std::string q = qcow2("-c");
  const std::uint64_t l2 = be64_at(q, be64_at(q, 40)) & 0x00fffffffffffe00ULL;
  const std::uint64_t entry = be64_at(q, l2);
  ASSERT_NE(entry & (1ull << 62), 0u) << "cluster 0 should be compressed";
  const std::uint64_t coffset = entry & ((1ull << 54) - 1);  // 62 - (16 - 8) bits of offset
  // Garbage in the deflate stream.
  patch_file(q, coffset, std::vector<std::byte>(64, std::byte{0xff}));
  EXPECT_THAT(open_and_read(q), HasError(ErrorCode::kCorrupt, "deflate"));

  // A bomb: a deflate stream of 16 MiB of zeros stands in for a 64 KiB cluster. Inflation stops
  // at the cluster size; the read succeeds with zeros and never allocates more.
  const std::string b = qcow2("-c");
  const std::string zeros = dir_.file("zeros");
  run_ok("head -c 16M /dev/zero > " + zeros);
  const std::string deflated = dir_.file("zeros.deflate");
  run_ok(
      "/usr/bin/python3 -c \"import zlib,sys; c=zlib.compressobj(9, zlib.DEFLATED, -15); "
      "d=c.compress(open(sys.argv[1],'rb').read())+c.flush(); open(sys.argv[2],'wb').write(d)\" " +
      zeros + " " + deflated);
  const auto bomb = read_file(deflated);
  ASSERT_LT(bomb.size(), 65536u);
  const std::uint64_t end = align_up(read_file(b).size(), 65536);  // a cluster of its own
  patch_file(b, end, bomb);
  // The appended cluster gets its refcount (16-bit, in the first refcount block), so that the
  // image passes the metadata check as qemu-img check would.
  const std::uint64_t refcount_block = be64_at(b, be64_at(b, 48)) & 0x00fffffffffffe00ULL;
  patch_file(b, refcount_block + end / 65536 * 2, {std::byte{0}, std::byte{1}});
  const std::uint64_t sectors = (bomb.size() + 511) / 512;
  const std::uint64_t l2b = be64_at(b, be64_at(b, 40)) & 0x00fffffffffffe00ULL;
  patch_file(b, l2b, be64((1ull << 62) | ((sectors - 1) << 54) | end));
  auto image = open_file(b);
  ASSERT_THAT(image, IsOk());
  std::vector<std::byte> cluster(65536);
  ASSERT_THAT((*image)->read_at(0, cluster), IsOk());
  EXPECT_TRUE(all_zero(cluster));
  // The sector count claims far more than the file holds: the read is clamped to what exists.
  patch_file(b, l2b, be64((1ull << 62) | (255ull << 54) | end));
  auto again = open_file(b);
  ASSERT_THAT(again, IsOk());
  ASSERT_THAT((*again)->read_at(0, cluster), IsOk());
}

TEST_F(Malformed, Qcow2CompressedClusterPastTheEnd) {
  const std::string q = qcow2("-c");
  const std::uint64_t l2 = be64_at(q, be64_at(q, 40)) & 0x00fffffffffffe00ULL;
  patch_file(q, l2, be64((1ull << 62) | (1ull << 50)));
  EXPECT_THAT(open_and_read(q),
              HasError(ErrorCode::kTruncated, "compressed cluster at host offset 0x4000000000000 past the end"));
}

TEST_F(Malformed, Qcow2ExtendedL2BitmapContradiction) {
  const std::string q = qcow2("-o extended_l2=on");
  const std::uint64_t l2 = be64_at(q, be64_at(q, 40)) & 0x00fffffffffffe00ULL;
  patch_file(q, l2 + 8, be64(0x0000000100000001ull));  // subcluster 0 both allocated and zero
  EXPECT_THAT(open_and_read(q), HasError(ErrorCode::kCorrupt, "both allocated and zero"));
  const std::string z = qcow2("-o extended_l2=on");
  const std::uint64_t l2z = be64_at(z, be64_at(z, 40)) & 0x00fffffffffffe00ULL;
  patch_file(z, l2z, be64(0));  // allocated subclusters but no host offset
  EXPECT_THAT(open_and_read(z), HasError(ErrorCode::kCorrupt, "allocated subclusters but no host offset"));
}

// ---- VHD ----

void patch_both_footers(const std::string& path, std::uint64_t field, const std::vector<std::byte>& value) {
  const std::uint64_t size = read_file(path).size();
  for (std::uint64_t at : {std::uint64_t{0}, size - 512}) {
    patch_file(path, at + field, value);
    fix_vhd_checksum(path, at, 512, 64);
  }
}

TEST_F(Malformed, VhdFooterChecksum) {
  const std::string v = made("vpc", ".vhd");
  patch_file(v, 0, text("conectix"));
  const std::uint64_t size = read_file(v).size();
  patch_file(v, 48, be64(123));  // current_size in the copy at offset 0
  EXPECT_THAT(open_file(v), HasError(ErrorCode::kCorrupt, "vhd footer copy at offset 0: checksum"));
  const std::string f = made("vpc", ".vhd", "-o subformat=fixed");
  patch_file(f, read_file(f).size() - 512 + 48, be64(123));
  EXPECT_THAT(open_file(f), HasError(ErrorCode::kCorrupt, "vhd footer at the end: checksum"));
  (void)size;
}

TEST_F(Malformed, VhdTruncatedDynamicDisk) {
  const std::string v = made("vpc", ".vhd");
  const std::uint64_t size = read_file(v).size();
  run_ok("truncate -s " + std::to_string(size - 512) + " " + v);
  EXPECT_THAT(open_file(v), HasError(ErrorCode::kTruncated, "footer at the end of the file is missing"));
}

TEST_F(Malformed, VhdFooterCopyDiffers) {
  const std::string v = made("vpc", ".vhd");
  const std::uint64_t size = read_file(v).size();
  patch_file(v, size - 512 + 24, be32(0x12345678));  // timestamp of the end footer
  fix_vhd_checksum(v, size - 512, 512, 64);
  EXPECT_THAT(open_file(v), HasError(ErrorCode::kCorrupt, "differs from its copy at offset 0"));
}

TEST_F(Malformed, VhdUnknownDiskType) {
  const std::string v = made("vpc", ".vhd");
  patch_both_footers(v, 60, be32(5));
  EXPECT_THAT(open_file(v), HasError(ErrorCode::kUnsupported, "disk type 5"));
}

TEST_F(Malformed, VhdDataOffsetPastTheEnd) {  // the corpus's afl5.img, made here
  const std::string v = made("vpc", ".vhd");
  patch_both_footers(v, 16, be64(0x200000000ULL));  // data_offset
  EXPECT_THAT(open_file(v), HasError(ErrorCode::kCorrupt, "vhd footer: data_offset 0x200000000 past the end"));
}

TEST_F(Malformed, VhdDynamicHeaderFields) {
  const std::string b = made("vpc", ".vhd");
  patch_file(b, 512 + 32, be32(3000));  // block_size
  fix_vhd_checksum(b, 512, 1024, 36);
  EXPECT_THAT(open_file(b), HasError(ErrorCode::kCorrupt, "block_size 3000"));
  const std::string m = made("vpc", ".vhd");
  patch_file(m, 512 + 28, be32(0x40000001));  // max_table_entries, as in afl5
  EXPECT_THAT(open_file(m), HasError(ErrorCode::kLimitExceeded, "max_table_entries 1073741825 too large"));
  const std::string s = made("vpc", ".vhd");
  patch_file(s, 512 + 28, be32(1));
  fix_vhd_checksum(s, 512, 1024, 36);
  EXPECT_THAT(open_file(s), HasError(ErrorCode::kCorrupt, "BAT entries of 2097152 bytes cannot cover"));
  const std::string c = made("vpc", ".vhd");
  patch_file(c, 512 + 100, be32(1));  // inside the header, checksum not fixed
  EXPECT_THAT(open_file(c), HasError(ErrorCode::kCorrupt, "vhd dynamic header: checksum"));
  const std::string t = made("vpc", ".vhd");
  patch_file(t, 512 + 16, be64(1ull << 40));  // table_offset
  fix_vhd_checksum(t, 512, 1024, 36);
  EXPECT_THAT(open_file(t), HasError(ErrorCode::kTruncated, "BAT [0x10000000000"));
}

TEST_F(Malformed, VhdBatEntryPastTheEnd) {
  const std::string v = made("vpc", ".vhd");
  const std::uint64_t table = be64_at(v, 512 + 16);
  patch_file(v, table, be32(0x7ffffff0));
  EXPECT_THAT(open_and_read(v), HasError(ErrorCode::kTruncated, "BAT entry 0 points at sector 2147483632"));
}

// Issue 15's output budget for VHD: allocated blocks that share file bytes would turn a small
// file into a large disk (qemu converts such a file, writing the shared block once per entry).
TEST_F(Malformed, VhdBlocksSharingFileBytesExceedTheOutputBudget) {
  const std::string v = made("vpc", ".vhd");  // 4 MiB: two allocated blocks of 2 MiB
  ASSERT_THAT(open_and_read(v), IsOk());
  const std::uint64_t table = be64_at(v, 512 + 16);
  const auto bytes = read_file(v);
  const std::uint32_t first = load_be_ptr<std::uint32_t>(bytes.data() + table);
  ASSERT_NE(first, 0xffffffffu);
  const std::string same = dir_.file("same.vhd");
  run_ok("cp " + v + " " + same);
  patch_file(same, table + 4, be32(first));  // block 1 is block 0
  EXPECT_THAT(open_file(same), HasError(ErrorCode::kLimitExceeded,
                                        "vhd: output budget exceeded: 2 allocated blocks map only 2097152 "
                                        "distinct bytes of the file"));
  patch_file(v, table + 4, be32(first + 8));  // block 1 starts 4 KiB into block 0
  EXPECT_THAT(open_file(v), HasError(ErrorCode::kLimitExceeded, "map only 2101248 distinct bytes"));
}

// ---- VMDK ----

TEST_F(Malformed, VmdkHeaderFields) {
  const std::string g = made("vmdk", ".vmdk");
  patch_file(g, 20, le64(0));
  EXPECT_THAT(open_file(g), HasError(ErrorCode::kCorrupt, "grainSize 0 sectors"));
  const std::string p = made("vmdk", ".vmdk");
  patch_file(p, 20, le64(100));
  EXPECT_THAT(open_file(p), HasError(ErrorCode::kCorrupt, "grainSize 100 sectors"));
  const std::string w = made("vmdk", ".vmdk");  // 2^56 sectors: times 512 wraps to 0 (fuzz_open_image)
  patch_file(w, 20, le64(1ull << 56));
  EXPECT_THAT(open_file(w), HasError(ErrorCode::kCorrupt, "grainSize 72057594037927936 sectors"));
  const std::string o = made("vmdk", ".vmdk");  // sector 2^55 + 1 times 512 wraps to 512, the real one
  ASSERT_EQ(le32_at(o, 28), 1u) << "qemu-img's descriptor sits at sector 1";
  patch_file(o, 28, le64((1ull << 55) + 1));
  EXPECT_THAT(open_file(o), HasError(ErrorCode::kCorrupt, "descriptor at sector 36028797018963969"));
  const std::string n = made("vmdk", ".vmdk");
  patch_file(n, 44, le32(1000));
  EXPECT_THAT(open_file(n), HasError(ErrorCode::kCorrupt, "numGTEsPerGT 1000 not in [1, 512]"));
  const std::string v = made("vmdk", ".vmdk");
  patch_file(v, 4, le32(4));
  EXPECT_THAT(open_file(v), HasError(ErrorCode::kUnsupported, "vmdk header: version 4"));
  const std::string d = made("vmdk", ".vmdk");
  patch_file(d, 56, le64(1ull << 40));
  EXPECT_THAT(open_file(d), HasError(ErrorCode::kTruncated, "grain directory at sector 1099511627776"));
  const std::string c = made("vmdk", ".vmdk");  // the corpus's afl9.vmdk, made here
  patch_file(c, 12, le64(1ull << 62));          // capacity in sectors
  EXPECT_THAT(open_file(c),
              HasError(ErrorCode::kLimitExceeded, "grain directory (L1) of 70368744177664 entries too big"));
}

TEST_F(Malformed, VmdkGrainTablePastTheEnd) {
  const std::string v = made("vmdk", ".vmdk");
  const std::uint64_t gd = le32_at(v, 56) * 512ull;
  patch_file(v, gd, le32(0x7ffffff0));
  EXPECT_THAT(open_and_read(v), HasError(ErrorCode::kTruncated, "grain table at sector 2147483632"));
}

TEST_F(Malformed, VmdkStreamOptimizedTruncated) {
  // qemu writes the grain directory into the header as well, so a cut stream opens; the grains
  // the cut removed are named when read.
  const std::string v = made("vmdk", ".vmdk", "-o subformat=streamOptimized");
  const std::uint64_t size = read_file(v).size();
  run_ok("truncate -s " + std::to_string(size / 2 / 512 * 512) + " " + v);
  EXPECT_THAT(open_and_read(v), HasError(ErrorCode::kTruncated, "past the end of the file"));
}

// A VMware stream keeps its grain directory only in the footer: a cut is seen at open. The
// corpus's real one; VmdkStreamWithItsGrainDirectoryOnlyInTheFooter makes one from qemu's.
TEST_F(Malformed, VmwareStreamFromTheCorpusTruncated) {
  if (!corpus_available()) GTEST_SKIP() << corpus_absent("the VMware stream case");
  const std::string w = bunzip_to(corpus_path("qemu/sample_images/iotest-version3.vmdk.bz2"), dir_);
  run_ok("truncate -s -512 " + w);
  EXPECT_THAT(open_file(w), HasError(ErrorCode::kTruncated, "streamOptimized footer"));
}

// VMware's stream layout, made from qemu's: the header's grain directory offset set to GD_AT_END
// and a footer appended (footer marker, the header with the real offset, end-of-stream marker).
// qemu reads it as well and is the oracle. The corpus's iotest-version3.vmdk is a real one; this
// is the fixture that covers the footer when the corpus is absent.
TEST_F(Malformed, VmdkStreamWithItsGrainDirectoryOnlyInTheFooter) {
  const std::string v = made("vmdk", ".vmdk", "-o subformat=streamOptimized");
  std::vector<std::byte> bytes = read_file(v);
  ASSERT_EQ(bytes.size() % 512, 0u);
  std::vector<std::byte> footer(1536, std::byte{0});
  store_le_ptr<std::uint64_t>(footer.data(), 1);       // footer marker: one sector of metadata
  store_le_ptr<std::uint32_t>(footer.data() + 12, 3);  // MARKER_FOOTER; its size field stays 0
  std::copy(bytes.begin(), bytes.begin() + 512, footer.begin() + 512);
  // The last sector stays zero: the end-of-stream marker (val 0, size 0, MARKER_EOS 0).
  bytes.insert(bytes.end(), footer.begin(), footer.end());
  store_le_ptr<std::uint64_t>(bytes.data() + 56, 0xFFFFFFFFFFFFFFFFULL);  // gd_offset: GD_AT_END
  const std::string w = dir_.file("vmware-stream.vmdk");
  write_file(w, bytes);
  const std::string reference = dir_.file("vmware-stream.raw");
  run_ok("qemu-img convert -f vmdk -O raw " + w + " " + reference);
  const std::string original = dir_.file("qemu-stream.raw");
  run_ok("qemu-img convert -f vmdk -O raw " + v + " " + original);
  EXPECT_EQ(run("cmp " + reference + " " + original).exit_code, 0) << "qemu reads the footer's grain directory";
  auto image = open_file(w);
  ASSERT_THAT(image, IsOk());
  EXPECT_EQ(compare_with_raw(**image, reference), "");
  EXPECT_THAT((*image)->info().notes, ::testing::Contains("grain directory read from the stream footer"));
  // Cut by one sector, the end-of-stream marker is gone: seen at open.
  run_ok("truncate -s -512 " + w);
  EXPECT_THAT(open_file(w), HasError(ErrorCode::kTruncated, "streamOptimized footer"));
}

TEST_F(Malformed, VmdkCompressedGrainGarbageAndOversizedMarker) {
  const std::string v = made("vmdk", ".vmdk", "-o subformat=streamOptimized");
  auto image = open_file(v);
  ASSERT_THAT(image, IsOk());
  // Find grain 0's marker through the grain directory (qemu writes it into the header).
  const std::uint64_t gd = le32_at(v, 56) * 512ull;
  const std::uint64_t gt = le32_at(v, gd) * 512ull;
  const std::uint64_t grain = le32_at(v, gt) * 512ull;
  ASSERT_GT(grain, 0u);
  const std::string garbage = dir_.file("garbage.vmdk");
  run_ok("cp " + v + " " + garbage);
  patch_file(garbage, grain + 12, std::vector<std::byte>(32, std::byte{0xee}));
  EXPECT_THAT(open_and_read(garbage), HasError(ErrorCode::kCorrupt, "vmdk: grain 0: deflate"));
  patch_file(v, grain + 8, le32(0x7fffffff));
  EXPECT_THAT(open_and_read(v), HasError(ErrorCode::kCorrupt, "grain 0 marker claims 2147483647 compressed bytes"));
}

// Issue 15's output budget for VMDK: grains mapped twice (two entries naming one grain, or the
// directory naming one grain table twice) are refused at open, for sparse and stream files.
TEST_F(Malformed, VmdkSharedGrainsExceedTheOutputBudget) {
  for (const std::string args : {"", "-o subformat=streamOptimized"}) {
    SCOPED_TRACE(args);
    const std::string v = made("vmdk", ".vmdk", args);
    ASSERT_THAT(open_and_read(v), IsOk());
    const std::uint64_t gt = le32_at(v, le32_at(v, 56) * 512ull) * 512ull;
    const std::uint32_t grain0 = le32_at(v, gt);
    ASSERT_GT(grain0, 1u);
    patch_file(v, gt + 4, le32(grain0));  // grain 1 is grain 0
    EXPECT_THAT(open_file(v), HasError(ErrorCode::kLimitExceeded, "vmdk: output budget exceeded"));
  }
  // 64 MiB: two grain tables of 512 grains of 64 KiB; the directory names the first twice.
  const std::string t = made("vmdk", ".vmdk", "", 64 * kMiB);
  ASSERT_THAT(open_file(t), IsOk());
  const std::uint64_t gd = le32_at(t, 56) * 512ull;
  patch_file(t, gd + 4, le32(le32_at(t, gd)));
  EXPECT_THAT(open_file(t), HasError(ErrorCode::kLimitExceeded, "vmdk: output budget exceeded"));
  // With the walk budget below two tables, the same directory is refused before it is read.
  auto file = FileSource::open(t);
  ASSERT_THAT(file, IsOk());
  OpenOptions o;
  o.limits.max_metadata_entries = 1000;
  EXPECT_THAT(open_image(std::shared_ptr<const ByteSource>(std::move(*file)), o),
              HasError(ErrorCode::kLimitExceeded, "names 2 grain tables of 512 entries, more than 1000 entries"));
}

// ---- Out-of-scope formats, made by their own tools ----

struct Foreign {
  std::string name;
  std::string make;      // shell command writing $OUT
  std::string expected;  // message fragment
};

TEST_F(Malformed, ForeignFormatsAreNamed) {
  const std::string raw = dir_.file("payload.raw");
  make_pattern_raw(raw, 2 * kMiB);
  const std::vector<Foreign> cases = {
      {"vhdx", "qemu-img convert -O vhdx " + raw + " $OUT", "VHDX (Hyper-V) image"},
      {"vdi", "qemu-img convert -O vdi " + raw + " $OUT", "VDI (VirtualBox) image"},
      {"qed", "qemu-img convert -O qed " + raw + " $OUT", "QED image"},
      {"parallels", "qemu-img convert -O parallels " + raw + " $OUT", "Parallels image"},
      {"gzip", "gzip -c " + raw + " > $OUT", "gzip-compressed file"},
      {"xz", "xz -c -0 " + raw + " > $OUT", "xz-compressed file"},
      {"bzip2", "bzip2 -c " + raw + " > $OUT", "bzip2-compressed file"},
      {"zstd", "zstd -q -c " + raw + " > $OUT", "zstd-compressed file"},
      {"tar", "tar -cf $OUT -C " + dir_.path().string() + " payload.raw", "tar archive (an OVA is one)"},
      {"iso", "genisoimage -quiet -o $OUT " + raw, "ISO 9660 CD/DVD image"},
  };
  for (const Foreign& f : cases) {
    const std::string out = dir_.file("foreign-" + f.name);
    std::string cmd = f.make;
    cmd.replace(cmd.find("$OUT"), 4, out);
    run_ok(cmd);
    EXPECT_THAT(open_file(out), HasError(ErrorCode::kUnsupported, "unsupported format: " + f.expected)) << f.name;
  }
  // No Debian package writes these three: their signatures, byte-built (the corpus holds real ones).
  const std::vector<Foreign> signed_only = {
      {"bochs", "{ printf 'Bochs Virtual HD Image'; head -c 65536 /dev/zero; } > $OUT", "Bochs image"},
      {"cloop", "{ printf '#!/bin/sh\\n#V2.0 Format\\n'; head -c 65536 /dev/zero; } > $OUT",
       "cloop compressed loop image"},
      {"dmg", "{ head -c 65536 /dev/zero; printf koly; head -c 508 /dev/zero; } > $OUT", "Apple disk image (DMG)"},
  };
  for (const Foreign& f : signed_only) {
    const std::string out = dir_.file("signature-" + f.name);
    std::string cmd = f.make;
    cmd.replace(cmd.find("$OUT"), 4, out);
    run_ok(cmd);
    EXPECT_THAT(open_file(out), HasError(ErrorCode::kUnsupported, "unsupported format: " + f.expected)) << f.name;
  }
  // An ISO is a byte-for-byte disk: declared raw, it is read as one.
  auto iso = open_file(dir_.file("foreign-iso"), Format::kRaw);
  EXPECT_THAT(iso, IsOk());
}

// ---- Fault injection ----

TEST_F(Malformed, EveryFailedReadIsAnErrorNeverACrash) {
  for (const std::string& path : {qcow2("-c"), qcow2("-o extended_l2=on"), made("vpc", ".vhd"),
                                  made("vmdk", ".vmdk", "-o subformat=streamOptimized"), made("vmdk", ".vmdk")}) {
    auto file = FileSource::open(path);
    ASSERT_THAT(file, IsOk());
    std::shared_ptr<const ByteSource> shared(std::move(*file));
    int failures_seen = 0;
    for (std::uint64_t n = 1; n <= 40; ++n) {
      FaultPlan plan;
      plan.fail_read_number = n;
      auto faulty = std::make_shared<FaultySource>(shared, plan);
      OpenOptions o;
      o.file_name = std::filesystem::path(path).filename().string();
      auto image = open_image(faulty, o);
      Result<void> r = image ? read_all(**image) : Result<void>(image.error());
      if (!r) {
        EXPECT_EQ(r.error().code, ErrorCode::kIo) << path << " read " << n << ": " << r.error().message;
        EXPECT_NE(r.error().message.find("injected failure"), std::string::npos) << r.error().message;
        ++failures_seen;
      }
    }
    EXPECT_GT(failures_seen, 2) << path;
  }
}

TEST_F(Malformed, FlippedMetadataBytesNeverCrash) {
  // Flip every byte of the first 4 KiB of metadata in turn: each result is success or a named
  // error; none crashes (ASan and UBSan watch in CI).
  const std::string q = qcow2("-c", 1 * kMiB);
  auto file = FileSource::open(q);
  ASSERT_THAT(file, IsOk());
  std::shared_ptr<const ByteSource> shared(std::move(*file));
  for (std::uint64_t off = 0; off < 4096; off += 3) {
    FaultPlan plan;
    plan.flip_offsets = {off};
    auto faulty = std::make_shared<FaultySource>(shared, plan);
    auto image = open_image(faulty, OpenOptions{});
    if (image) {
      (void)read_all(**image);
      (void)measure_qcow2(**image, Qcow2TargetOptions{});
    } else {
      EXPECT_NE(image.error().code, ErrorCode::kInternal) << image.error().message;
    }
  }
}

}  // namespace
}  // namespace ig::test

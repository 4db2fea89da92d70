// The qcow2 metadata check (docs/formats/qcow2.md, "Metadata check"; issue 15, findings 3, 4
// and 8). Each hostile image is made here from a file qemu-img wrote, patched at the offsets its
// own header gives; `qemu-img check` is the oracle that the crafted image is corrupt (or, for the
// output budget, that qemu finds nothing wrong and would convert it). Healthy images of every kind
// qemu-img writes (snapshots, compression, cluster sizes, refcount widths) must still read,
// measure and convert exactly as before.
#include <bit>

#include "base/bytes.h"
#include "base/checked.h"
#include "convert/measure.h"
#include "support/test_support.h"

namespace ig::test {
namespace {

constexpr std::uint64_t kMiB = 1 << 20;
constexpr std::uint64_t kOffsetMask = 0x00fffffffffffe00ULL;
constexpr std::uint64_t kCopied = 1ULL << 63;
constexpr std::uint64_t kCompressed = 1ULL << 62;
const std::string kCli = IG_CLI_PATH;

// What the header of a qcow2 says about where its metadata lies.
struct Layout {
  std::uint64_t cluster_size = 0;
  std::uint64_t l1 = 0;              // l1_table_offset
  std::uint32_t l1_size = 0;         // entries
  std::uint64_t refcount_table = 0;  // refcount_table_offset
  std::uint32_t refcount_order = 4;  // v3 field; 4 for v2
  std::uint64_t file_size = 0;
};
Layout layout(const std::string& path) {
  Layout l;
  l.cluster_size = std::uint64_t{1} << be32_at(path, 20);
  l.l1_size = be32_at(path, 36);
  l.l1 = be64_at(path, 40);
  l.refcount_table = be64_at(path, 48);
  if (be32_at(path, 4) >= 3) l.refcount_order = be32_at(path, 96);
  l.file_size = read_file(path).size();
  return l;
}

// The first L2 table of the active L1, and its first entry's host cluster.
std::uint64_t first_l2(const std::string& path) {
  return be64_at(path, layout(path).l1) & kOffsetMask;
}

// Sets the stored refcount of `cluster` (refcount widths of 8 bits and more), as a repair tool
// would, so that qemu-img check finds the counts consistent.
void set_refcount(const std::string& path, std::uint64_t cluster, std::uint64_t value) {
  const Layout l = layout(path);
  const std::uint64_t bits = std::uint64_t{1} << l.refcount_order;
  ASSERT_GE(bits, 8u);
  const std::uint64_t per_block = l.cluster_size * 8 / bits;
  const std::uint64_t block = be64_at(path, l.refcount_table + cluster / per_block * 8) & kOffsetMask;
  ASSERT_NE(block, 0u) << "no refcount block for cluster " << cluster;
  std::vector<std::byte> bytes(bits / 8);
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    bytes[bytes.size() - 1 - i] = static_cast<std::byte>(i < 8 ? (value >> (8 * i)) & 0xff : 0);
  }
  patch_file(path, block + cluster % per_block * (bits / 8), bytes);
}

// One raw-deflate stream (as qcow2 stores compressed clusters) of `cluster_size` bytes of 'A'.
std::vector<std::byte> deflated_cluster(const TempDir& dir, std::uint64_t cluster_size) {
  const std::string out = dir.file("cluster.deflate");
  run_ok(
      "/usr/bin/python3 -c \"import zlib,sys; c=zlib.compressobj(9, zlib.DEFLATED, -15); "
      "d=c.compress(b'A'*int(sys.argv[1]))+c.flush(); open(sys.argv[2],'wb').write(d)\" " +
      std::to_string(cluster_size) + " " + out);
  return read_file(out);
}

// qemu-img check's verdict: 0 clean, 2 corruptions, 3 leaks only, 1 could not check (qemu refused
// to open the image). The output is kept for the failure message.
struct QemuCheck {
  int exit_code = -1;
  std::string out;
};
QemuCheck qemu_check(const std::string& path) {
  const CommandResult r = run("qemu-img check -f qcow2 " + path + " 2>&1");
  return {r.exit_code, r.out};
}

Result<MeasureResult> open_and_measure(const std::string& path) {
  auto image = IG_TRY(open_file(path, Format::kQcow2));
  return measure_qcow2(*image, Qcow2TargetOptions{});
}

class Qcow2Check : public ::testing::Test {
 protected:
  // A 4 MiB qcow2 made by qemu-img convert from the pattern disk, with extra arguments.
  std::string qcow2(const std::string& args = "") {
    const std::string raw = dir_.file("src" + std::to_string(n_) + ".raw");
    make_pattern_raw(raw, 4 * kMiB);
    const std::string out = dir_.file("c" + std::to_string(n_++) + ".qcow2");
    run_ok("qemu-img convert -f raw -O qcow2 " + args + " " + raw + " " + out);
    return out;
  }

  // The hostile shape of findings 3 and 4: a qcow2 of `virtual_size` whose first `l1_entries`
  // L1 entries all point at one L2 table appended to the file, whose every entry points at one
  // compressed cluster appended after it. Returns the L2 table's host cluster index.
  std::uint64_t shared_compressed(const std::string& path, const std::string& virtual_size, std::uint32_t l1_entries,
                                  const std::string& options = "", bool empty_l2 = false, bool copied = true) {
    run_ok("qemu-img create -q -f qcow2 " + options + " " + path + " " + virtual_size);
    const Layout l = layout(path);
    EXPECT_GE(l.l1_size, l1_entries);
    const std::uint64_t l2 = align_up(l.file_size, l.cluster_size);
    const std::uint64_t data = l2 + l.cluster_size;
    const std::vector<std::byte> stream = deflated_cluster(dir_, l.cluster_size);
    const std::uint64_t sectors = (stream.size() + 511) / 512;
    const unsigned csize_shift = 62 - (static_cast<unsigned>(std::countr_zero(l.cluster_size)) - 8);
    std::vector<std::byte> table;
    const std::vector<std::byte> descriptor = be64(empty_l2 ? 0 : kCompressed | ((sectors - 1) << csize_shift) | data);
    for (std::uint64_t i = 0; i < l.cluster_size / 8; ++i)
      table.insert(table.end(), descriptor.begin(), descriptor.end());
    patch_file(path, l2, table);
    patch_file(path, data, stream);
    std::vector<std::byte> l1;
    const std::vector<std::byte> entry = be64((copied ? kCopied : 0) | l2);
    for (std::uint32_t i = 0; i < l1_entries; ++i) l1.insert(l1.end(), entry.begin(), entry.end());
    patch_file(path, l.l1, l1);
    return l2 / l.cluster_size;
  }

  TempDir dir_;
  int n_ = 0;
};

// ---- Finding 8: metadata overlaps, named as corruption ----

TEST_F(Qcow2Check, L2TableOverTheL1TableIsCorrupt) {
  const std::string q = qcow2();
  const Layout l = layout(q);
  patch_file(q, l.l1, be64(kCopied | l.l1));  // L2 = L1
  const QemuCheck oracle = qemu_check(q);
  EXPECT_EQ(oracle.exit_code, 2) << oracle.out;
  EXPECT_THAT(open_and_measure(q),
              HasError(ErrorCode::kCorrupt, fmt::format("qcow2: L2 table of active L1 table entry 0 at {:#x} overlaps "
                                                        "the L1 table in cluster {}",
                                                        l.l1, l.l1 / l.cluster_size)));
}

TEST_F(Qcow2Check, DataOverTheHeaderIsCorrupt) {
  // An L1 or L2 offset of 0 means "unallocated", so nothing can point an L2 table at the header;
  // a compressed cluster can: its offset is byte-granular.
  const std::string q = qcow2();
  patch_file(q, first_l2(q), be64(kCompressed | 512));
  const QemuCheck oracle = qemu_check(q);
  EXPECT_EQ(oracle.exit_code, 2) << oracle.out;
  EXPECT_THAT(open_and_measure(q),
              HasError(ErrorCode::kCorrupt, fmt::format("qcow2: compressed cluster of the L2 table at {:#x} entry 0 at "
                                                        "0x200 overlaps the header in cluster 0",
                                                        first_l2(q))));
}

TEST_F(Qcow2Check, DataOverTheRefcountTableIsCorrupt) {
  const std::string q = qcow2();
  const Layout l = layout(q);
  const std::uint64_t l2 = first_l2(q);
  patch_file(q, l2, be64(kCopied | l.refcount_table));
  const QemuCheck oracle = qemu_check(q);
  EXPECT_EQ(oracle.exit_code, 2) << oracle.out;
  EXPECT_THAT(open_and_measure(q),
              HasError(ErrorCode::kCorrupt, fmt::format("qcow2: data cluster of the L2 table at {:#x} entry 0 at {:#x} "
                                                        "overlaps the refcount table",
                                                        l2, l.refcount_table)));
}

TEST_F(Qcow2Check, RefcountBlockOverAnL2TableIsCorrupt) {
  // Refcount table entry 1 covers clusters past this small file: its counts change nothing, but
  // the L2 table is now also a refcount block.
  const std::string q = qcow2();
  const Layout l = layout(q);
  const std::uint64_t l2 = first_l2(q);
  patch_file(q, l.refcount_table + 8, be64(l2));
  const QemuCheck oracle = qemu_check(q);
  EXPECT_EQ(oracle.exit_code, 2) << oracle.out;
  EXPECT_THAT(open_and_measure(q), HasError(ErrorCode::kCorrupt, fmt::format("at {:#x} overlaps the refcount block in "
                                                                             "cluster {}",
                                                                             l2, l2 / l.cluster_size)));
}

TEST_F(Qcow2Check, ClusterMappedTwiceWithRefcountOneIsCorrupt) {
  // Guest clusters 0 and 1 on one host cluster whose refcount says one reference: qemu's
  // "ERROR cluster N refcount=1 reference=2".
  const std::string q = qcow2();
  const std::uint64_t l2 = first_l2(q);
  const std::uint64_t entry0 = be64_at(q, l2);
  ASSERT_NE(entry0 & kOffsetMask, 0u);
  patch_file(q, l2 + 8, be64(entry0));
  const QemuCheck oracle = qemu_check(q);
  EXPECT_EQ(oracle.exit_code, 2) << oracle.out;
  const std::uint64_t cluster = (entry0 & kOffsetMask) / layout(q).cluster_size;
  EXPECT_THAT(open_and_measure(q),
              HasError(ErrorCode::kCorrupt, fmt::format("qcow2: cluster {} (host offset {:#x}, data cluster) has "
                                                        "refcount 1 but 2 references",
                                                        cluster, entry0 & kOffsetMask)));
}

TEST_F(Qcow2Check, SnapshotTablePastTheEndIsRefused) {
  const std::string q = qcow2();
  run_ok("qemu-img snapshot -c s1 " + q);
  ASSERT_EQ(be32_at(q, 60), 1u);
  patch_file(q, 64, be64(1ULL << 40));  // snapshots_offset
  const QemuCheck oracle = qemu_check(q);
  EXPECT_EQ(oracle.exit_code, 2) << oracle.out;
  EXPECT_THAT(
      open_and_measure(q),
      HasError(ErrorCode::kTruncated, "qcow2: snapshot table entry 0 at 0x10000000000 lies past the end of the file"));
}

TEST_F(Qcow2Check, FourBillionSnapshotsAreCorrupt) {
  const std::string q = qcow2();
  run_ok("qemu-img snapshot -c s1 " + q);
  patch_file(q, 60, be32(0xffffffff));  // nb_snapshots
  const QemuCheck oracle = qemu_check(q);
  EXPECT_EQ(oracle.exit_code, 1) << oracle.out;
  EXPECT_NE(oracle.out.find("snapshot table too large"), std::string::npos) << oracle.out;
  EXPECT_THAT(open_file(q), HasError(ErrorCode::kCorrupt, "qcow2 header: nb_snapshots 4294967295 exceeds 65536"));
}

TEST_F(Qcow2Check, SnapshotL1OverTheRefcountTableIsCorrupt) {
  const std::string q = qcow2();
  run_ok("qemu-img snapshot -c s1 " + q);
  const Layout l = layout(q);
  patch_file(q, be64_at(q, 64), be64(l.refcount_table));  // snapshot 0's l1_table_offset
  const QemuCheck oracle = qemu_check(q);
  EXPECT_EQ(oracle.exit_code, 2) << oracle.out;
  EXPECT_THAT(open_and_measure(q),
              HasError(ErrorCode::kCorrupt, fmt::format("qcow2: refcount table at {:#x} overlaps the L1 table in "
                                                        "cluster {}",
                                                        l.refcount_table, l.refcount_table / l.cluster_size)));
}

TEST_F(Qcow2Check, CorruptImageIsReportedAndNotConverted) {
  const std::string q = qcow2();
  const Layout l = layout(q);
  patch_file(q, first_l2(q), be64(kCopied | l.refcount_table));
  const nlohmann::json report = nlohmann::json::parse(run(kCli + " check --output=json " + q + " 2>/dev/null").out);
  EXPECT_EQ(report["result"], "fail");
  EXPECT_EQ(report["failed-check"], "format");
  EXPECT_NE(report["checks"][0].dump().find("overlaps the refcount table"), std::string::npos) << report.dump(2);
  // Named as corruption, with its own message and advice, not as an unreadable table.
  EXPECT_EQ(report["reason-id"], "format.corrupt") << report.dump(2);
  EXPECT_EQ(report["checks"][0]["message-id"], "format.corrupt");
  EXPECT_EQ(report["checks"][0]["message"].get<std::string>().rfind("the image is corrupt: qcow2: ", 0), 0u)
      << report.dump(2);
  const nlohmann::json zh =
      nlohmann::json::parse(run(kCli + " check --lang=zh --output=json " + q + " 2>/dev/null").out);
  EXPECT_EQ(zh["checks"][0]["message"].get<std::string>().rfind("镜像已损坏：qcow2: ", 0), 0u) << zh.dump(2);
  const std::string out = dir_.file("out.qcow2");
  const CommandResult c = run(kCli + " convert -O qcow2 " + q + " " + out + " 2>&1");
  EXPECT_EQ(c.exit_code, 1) << c.out;
  EXPECT_NE(c.out.find("overlaps the refcount table"), std::string::npos) << c.out;
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST_F(Qcow2Check, DirtyImageWithLazyRefcountsIsReadAsWrittenButOverlapsStillCount) {
  // qemu-io aborts after its writes: the dirty bit stays set and the lazy refcounts lag behind
  // the L2 tables. qemu-img check calls that corrupt (a writable open would rebuild the counts);
  // qemu-img convert reads it as written, and so does imagegate.
  const std::string q = dir_.file("dirty.qcow2");
  run_ok("qemu-img create -q -f qcow2 -o lazy_refcounts=on " + q + " 64M");
  run("qemu-io -c 'write -P 0x11 0 1M' -c 'write -P 0x22 8M 512k' -c abort " + q + " > /dev/null 2>&1");
  ASSERT_EQ(be64_at(q, 72) & 1, 1u) << "the dirty bit";
  const QemuCheck oracle = qemu_check(q);
  EXPECT_EQ(oracle.exit_code, 2) << oracle.out;
  auto image = open_file(q);
  ASSERT_THAT(image, IsOk());
  const std::string ref = dir_.file("dirty.raw");
  run_ok("qemu-img convert -f qcow2 -O raw " + q + " " + ref);
  EXPECT_EQ(compare_with_raw(**image, ref), "");
  const nlohmann::json m = run_json("qemu-img measure --output=json -f qcow2 -O qcow2 " + q);
  auto r = measure_qcow2(**image, Qcow2TargetOptions{});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->required, m["required"].get<std::uint64_t>());
  // The refcounts are not compared, but an overlap is still one.
  const Layout l = layout(q);
  patch_file(q, l.l1, be64(kCopied | l.l1));
  EXPECT_THAT(open_and_measure(q), HasError(ErrorCode::kCorrupt, "overlaps the L1 table"));
}

// ---- Finding 3: work grows with the file, not with the virtual size ----

TEST_F(Qcow2Check, SixtyTebibytesOfOneL2TableStopAtItsRefcount) {
  // 1.3 MB: 122,880 L1 entries (60 TiB) on one L2 table whose 8192 entries are one compressed
  // cluster. The L2 table is referenced 122,880 times with a refcount of 0: corrupt before a
  // single entry of it is walked.
  const std::string big = dir_.file("sixty.qcow2");
  const std::uint64_t l2 = shared_compressed(big, "60T", 122880);
  EXPECT_LT(read_file(big).size(), 2 * kMiB);
  const std::string expected =
      fmt::format("qcow2: the L2 table at {:#x} is referenced by 122880 L1 entries, but its refcount is 0",
                  l2 * layout(big).cluster_size);
  EXPECT_THAT(open_and_measure(big), HasError(ErrorCode::kCorrupt, expected));
  const CommandResult measure = run(kCli + " measure -O qcow2 " + big + " 2>&1");
  EXPECT_EQ(measure.exit_code, 1) << measure.out;
  EXPECT_NE(measure.out.find(expected), std::string::npos) << measure.out;
  // `check` refuses it by its virtual size alone: the format check passes (nothing was walked,
  // so nothing was found damaged) and the virtual-size check fails.
  const nlohmann::json report = nlohmann::json::parse(run(kCli + " check --output=json " + big + " 2>/dev/null").out);
  EXPECT_EQ(report["failed-check"], "virtual-size") << report.dump(2);
  EXPECT_EQ(report["checks"][0]["name"], "format") << report.dump(2);
  EXPECT_EQ(report["checks"][0]["status"], "pass") << report.dump(2);

  // The oracle, on the same shape at 32 GiB (qemu-img check walks every reference, 64 x 8192).
  const std::string small = dir_.file("small.qcow2");
  shared_compressed(small, "32G", 64);
  const QemuCheck oracle = qemu_check(small);
  EXPECT_EQ(oracle.exit_code, 2) << oracle.out;
  EXPECT_THAT(open_and_measure(small), HasError(ErrorCode::kCorrupt,
                                                "is referenced by 64 L1 entries, but its "
                                                "refcount is 0"));
}

TEST_F(Qcow2Check, L1EntriesPastTheRefcountWidthAreCorrupt) {
  // Even a refcount at its 16-bit maximum cannot cover 122,880 references.
  const std::string big = dir_.file("sixty16.qcow2");
  const std::uint64_t l2 = shared_compressed(big, "60T", 122880);
  set_refcount(big, l2, 0xffff);
  EXPECT_THAT(open_and_measure(big), HasError(ErrorCode::kCorrupt,
                                              "is referenced by 122880 L1 entries, but its "
                                              "refcount is 65535"));
}

TEST_F(Qcow2Check, L1EntriesSharingAnEmptyL2TableExceedTheWalkBudget) {
  // 122,880 L1 entries on one L2 table that maps nothing, its refcount set to match (64-bit
  // refcounts, the COPIED flags cleared as for a shared table): qemu-img check would find
  // nothing wrong, but reading the disk would walk the table 122,880 times. The walk is budgeted
  // before it happens.
  const std::string big = dir_.file("sixty-empty.qcow2");
  const std::uint64_t l2 = shared_compressed(big, "60T", 122880, "-o refcount_bits=64", true, false);
  set_refcount(big, l2, 122880);
  EXPECT_THAT(open_and_measure(big), HasError(ErrorCode::kLimitExceeded,
                                              "qcow2 check: more than 67108864 metadata entries to walk (at the "
                                              "L2 tables, once per active L1 entry"));
  // The oracle on the same shape at 32 GiB: consistent.
  const std::string small = dir_.file("small-empty.qcow2");
  const std::uint64_t l2s = shared_compressed(small, "32G", 64, "-o refcount_bits=64", true, false);
  set_refcount(small, l2s, 64);
  const QemuCheck oracle = qemu_check(small);
  EXPECT_EQ(oracle.exit_code, 0) << oracle.out;
  EXPECT_THAT(open_and_measure(small), IsOk());
}

// ---- Finding 4: the output budget ----

TEST_F(Qcow2Check, SharedCompressedClusterExceedsTheOutputBudget) {
  // 20 GiB of guest data from one compressed cluster, with refcounts that make qemu-img check
  // find nothing wrong (64-bit refcounts: the L2 table has 40 references, the compressed cluster
  // 40 x 8192; the L1 entries' COPIED flags cleared, as for a shared table). qemu-img convert would write 20 GiB;
  // imagegate counts the shared cluster once.
  const std::string q = dir_.file("bomb.qcow2");
  const std::uint64_t l2 = shared_compressed(q, "20G", 40, "-o refcount_bits=64", false, false);
  set_refcount(q, l2, 40);
  set_refcount(q, l2 + 1, 40 * 8192);
  EXPECT_LT(read_file(q).size(), 512 * 1024u);
  const QemuCheck oracle = qemu_check(q);
  EXPECT_EQ(oracle.exit_code, 0) << oracle.out;
  const std::string expected =
      "qcow2: output budget exceeded: the active layer maps 327680 allocated clusters onto 1 distinct ones; "
      "converting it would write 21474836480 bytes, over its budget of 65536 bytes";
  EXPECT_THAT(open_and_measure(q), HasError(ErrorCode::kLimitExceeded, expected));
  const std::string out = dir_.file("bomb-out.qcow2");
  const CommandResult c = run(kCli + " convert -O raw " + q + " " + out + " 2>&1");
  EXPECT_EQ(c.exit_code, 1) << c.out;
  EXPECT_NE(c.out.find(expected), std::string::npos) << c.out;
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST_F(Qcow2Check, OutputBudgetCapAndEntryBudgetsAreLimits) {
  const std::string q = qcow2();
  auto file = FileSource::open(q);
  ASSERT_THAT(file, IsOk());
  const SourcePtr source(std::move(*file));
  auto with = [&](const Limits& limits) -> Result<MeasureResult> {
    OpenOptions o;
    o.limits = limits;
    auto image = IG_TRY(open_image(source, o));
    return measure_qcow2(*image, Qcow2TargetOptions{});
  };
  ASSERT_THAT(with(Limits{}), IsOk());
  Limits output;
  output.max_output_bytes = 65536;
  EXPECT_THAT(with(output), HasError(ErrorCode::kLimitExceeded, "over its budget of 65536 bytes"));
  Limits entries;
  entries.max_metadata_entries = 16;
  EXPECT_THAT(with(entries), HasError(ErrorCode::kLimitExceeded, "more than 16 metadata entries to walk"));
  Limits tables;
  tables.max_l2_tables = 0;
  EXPECT_THAT(with(tables), HasError(ErrorCode::kLimitExceeded, "more than 0 distinct L2 tables"));
}

// ---- Healthy images: unchanged ----

struct Healthy {
  std::string name;
  std::string convert_args;  // qemu-img convert options
  bool snapshots = false;    // two snapshots, with writes before and after each
};

class Qcow2CheckHealthy : public ::testing::TestWithParam<Healthy> {
 protected:
  TempDir dir_;
};

TEST_P(Qcow2CheckHealthy, ReadsMeasuresAndConvertsAsQemu) {
  const Healthy& h = GetParam();
  const std::string raw = dir_.file("src.raw");
  make_pattern_raw(raw, 8 * kMiB);
  if (h.convert_args.find("-c") != std::string::npos) {
    run_ok("yes 'imagegate compressible line' | head -c 4194304 | dd of=" + raw + " conv=notrunc status=none");
  }
  const std::string q = dir_.file("healthy.qcow2");
  run_ok("qemu-img convert -f raw -O qcow2 " + h.convert_args + " " + raw + " " + q);
  if (h.snapshots) {
    // Shared L2 tables and data clusters (refcount 2), then copies on write after each snapshot.
    run_ok("qemu-img snapshot -c s1 " + q);
    run_ok("qemu-io -f qcow2 -c 'write -P 0x55 1M 192k' -c 'write -z 3M 64k' " + q);
    run_ok("qemu-img snapshot -c s2 " + q);
    run_ok("qemu-io -f qcow2 -c 'write -P 0x66 1088k 64k' -c 'discard 6M 1M' " + q);
  }
  const QemuCheck oracle = qemu_check(q);
  ASSERT_EQ(oracle.exit_code, 0) << oracle.out;

  auto image = open_file(q);
  ASSERT_THAT(image, IsOk());
  const std::string ref = dir_.file("reference.raw");
  run_ok("qemu-img convert -f qcow2 -O raw " + q + " " + ref);
  EXPECT_EQ(compare_with_raw(**image, ref), "");
  const nlohmann::json m = run_json("qemu-img measure --output=json -f qcow2 -O qcow2 " + q);
  auto r = measure_qcow2(**image, Qcow2TargetOptions{});
  ASSERT_THAT(r, IsOk());
  EXPECT_EQ(r->required, m["required"].get<std::uint64_t>());
  EXPECT_EQ(r->fully_allocated, m["fully-allocated"].get<std::uint64_t>());

  const std::string out = dir_.file("converted.qcow2");
  run_ok(kCli + " convert -O qcow2 " + q + " " + out);
  run_ok("qemu-img compare -f qcow2 -F qcow2 " + q + " " + out);
}

INSTANTIATE_TEST_SUITE_P(
    Variants, Qcow2CheckHealthy,
    ::testing::Values(Healthy{"plain", "", false}, Healthy{"snapshots", "", true}, Healthy{"compressed", "-c", false},
                      Healthy{"compressed_snapshots", "-c", true},
                      Healthy{"zstd_snapshots", "-c -o compression_type=zstd", true},
                      Healthy{"clusters_512_snapshots", "-o cluster_size=512", true},
                      Healthy{"clusters_4k_compressed", "-c -o cluster_size=4k", false},
                      Healthy{"clusters_2m_snapshots", "-o cluster_size=2M", true},
                      Healthy{"refcount_bits_1", "-o refcount_bits=1", false},
                      Healthy{"refcount_bits_2_snapshots", "-o refcount_bits=2", true},
                      Healthy{"refcount_bits_8", "-o refcount_bits=8", false},
                      Healthy{"refcount_bits_64_snapshots", "-o refcount_bits=64", true},
                      Healthy{"v2_snapshots", "-o compat=0.10", true},
                      Healthy{"extended_l2_snapshots", "-o extended_l2=on", true},
                      Healthy{"extended_l2_2m_snapshots", "-o extended_l2=on,cluster_size=2M", true},
                      Healthy{"prealloc_metadata", "-o preallocation=metadata", false}),
    [](const ::testing::TestParamInfo<Healthy>& i) { return i.param.name; });

}  // namespace
}  // namespace ig::test

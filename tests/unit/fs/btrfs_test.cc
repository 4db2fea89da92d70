// btrfs images made by the real tools. mkfs.btrfs --rootdir (btrfs-progs 6.2, no mount needed)
// fills a file system from a host tree: every file, directory and symlink must read back as its
// source. With root and a kernel that mounts btrfs, a loop mount makes subvolumes (openSUSE's
// @/.snapshots/1/snapshot as default, Fedora's root and home) and zstd / zlib compressed extents.
// The malformed corpus patches mkfs images at places found by `btrfs inspect-internal dump-tree`
// and asserts the exact error code.
#include "fs/btrfs.h"

// g++ 12 at -O2 (the asan preset) reports -Wmaybe-uninitialized inside libstdc++'s <regex>
// (std::function in _StateT), a false positive of the kind decision 0006 describes.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "base/bytes.h"
#include "base/crc32c.h"
#include "fs/path.h"
#include "support/test_support.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;

bool have_mkfs_btrfs() {
  return run("command -v mkfs.btrfs").exit_code == 0;
}

std::string host_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Result<std::unique_ptr<btrfs::BtrfsFs>> open_image(const std::string& image, const FsLimits& limits = {}) {
  auto file = IG_TRY(FileSource::open(image));
  return btrfs::open(std::shared_ptr<const ByteSource>(std::move(file)), limits);
}

// Compares the guest tree under `guest` with the host tree under `host`, recursively: names,
// types, file bytes and symlink targets.
void expect_same_tree(const FileSystem& f, const std::string& guest, const fs::path& host) {
  auto dir = resolve(f, guest.empty() ? "/" : guest);
  ASSERT_THAT(dir, IsOk()) << guest;
  auto entries = f.list(dir->inode);
  ASSERT_THAT(entries, IsOk()) << guest;
  std::set<std::string> ours;
  for (const auto& e : *entries) ours.insert(e.name);
  std::set<std::string> theirs;
  for (const auto& e : fs::directory_iterator(host)) theirs.insert(e.path().filename().string());
  EXPECT_EQ(ours, theirs) << guest;
  for (const auto& e : *entries) {
    const fs::path h = host / e.name;
    const std::string g = guest + "/" + e.name;
    auto st = f.stat(e.inode);
    ASSERT_THAT(st, IsOk()) << g;
    auto looked = f.lookup(dir->inode, e.name);  // the DIR_ITEM name hash finds the same inode
    ASSERT_THAT(looked, IsOk()) << g;
    EXPECT_EQ(*looked, e.inode) << g;
    if (fs::is_symlink(h)) {
      EXPECT_EQ(st->type, FileType::kSymlink) << g;
      EXPECT_EQ(*f.read_link(e.inode), fs::read_symlink(h).string()) << g;
    } else if (fs::is_directory(h)) {
      EXPECT_EQ(st->type, FileType::kDirectory) << g;
      expect_same_tree(f, g, h);
    } else {
      EXPECT_EQ(st->type, FileType::kRegular) << g;
      auto src = f.open(e.inode);
      ASSERT_THAT(src, IsOk()) << g;
      std::vector<std::byte> data(static_cast<std::size_t>((*src)->size()));
      ASSERT_THAT((*src)->read_at(0, data), IsOk()) << g;
      const std::string want = host_file(h);
      EXPECT_EQ(std::string(as_chars(data)), want) << g;
    }
  }
}

// A host tree with inline and multi-MiB files, a sparse file, symlinks, nested and large dirs.
void make_tree(const fs::path& root, bool big = true) {
  fs::create_directories(root / "etc");
  fs::create_directories(root / "a/b/c/d");
  fs::create_directories(root / "many");
  run_ok("printf 'ID=opensuse-leap\\nVERSION_ID=\"15.5\"\\n' > " + (root / "etc/os-release").string());
  run_ok("echo guest > " + (root / "etc/hostname").string());
  run_ok("echo deep > " + (root / "a/b/c/d/file").string());
  run_ok("head -c 20000 /dev/urandom > " + (root / "medium.bin").string());
  if (big) {
    run_ok("head -c 3145728 /dev/urandom > " + (root / "big.bin").string());
    run_ok("head -c 5000000 < /dev/zero | tr '\\0' 'x' > " + (root / "text.txt").string());
    run_ok("truncate -s 10M " + (root / "sparse").string() + " && echo middle | dd of=" + (root / "sparse").string() +
           " bs=1 seek=5000000 conv=notrunc status=none");
  }
  run_ok("cd " + (root / "many").string() + " && for i in $(seq -w 0 2999); do echo $i > entry-$i; done");
  fs::create_symlink("/etc/hostname", root / "abs");
  fs::create_symlink("../../etc/os-release", root / "a/b/rel");
  fs::create_symlink(std::string(300, 'z'), root / "long-link");
}

class BtrfsMkfs : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_mkfs_btrfs()) GTEST_SKIP() << "mkfs.btrfs (btrfs-progs) is not installed";
    root_ = dir_.path() / "root";
    make_tree(root_);
    image_ = dir_.file("btrfs.img");
    run_ok("truncate -s 256M " + image_ + " && mkfs.btrfs -q -f -L imagegate --rootdir " + root_.string() + " " +
           image_ + " 2>&1");
    auto opened = open_image(image_);
    ASSERT_THAT(opened, IsOk());
    fs_ = std::move(*opened);
  }
  TempDir dir_;
  fs::path root_;
  std::string image_;
  std::unique_ptr<btrfs::BtrfsFs> fs_;
};

TEST_F(BtrfsMkfs, EveryFileReadsAsItsSource) {
  EXPECT_EQ(fs_->kind(), "btrfs");
  EXPECT_EQ(fs_->label(), "imagegate");
  EXPECT_EQ(fs_->default_subvolume(), btrfs::kFsTreeObjectid);
  EXPECT_EQ(fs_->subvolume(), btrfs::kFsTreeObjectid);
  const std::string super = run_ok("btrfs inspect-internal dump-super " + image_);
  EXPECT_NE(super.find("fsid\t\t\t" + fs_->uuid()), std::string::npos) << super;
  expect_same_tree(*fs_, "", root_);
}

TEST_F(BtrfsMkfs, PathsAndSymlinksResolveInsideTheGuest) {
  EXPECT_EQ(*read_guest_file(*fs_, "/abs", 4096), "guest\n");
  EXPECT_EQ(*read_guest_file(*fs_, "/a/b/rel", 4096), host_file(root_ / "etc/os-release"));
  EXPECT_THAT(resolve(*fs_, "/nope"), HasError(ErrorCode::kNotFound, "nope"));
  auto sparse = resolve(*fs_, "/sparse");
  ASSERT_THAT(sparse, IsOk());
  EXPECT_EQ(sparse->stat.size, 10u << 20);
  auto top = fs_->open_subvolume("/");
  ASSERT_THAT(top, IsOk());
  EXPECT_EQ((*top)->root_inode(), fs_->root_inode());
  EXPECT_THAT(fs_->open_subvolume("etc"), HasError(ErrorCode::kInvalidArgument, "not a subvolume"));
  EXPECT_THAT(fs_->open_subvolume("missing/x"), HasError(ErrorCode::kNotFound, "missing"));
  EXPECT_THAT(fs_->open_subvolume(std::uint64_t{300}), HasError(ErrorCode::kNotFound, "300"));
}

TEST_F(BtrfsMkfs, TreeWalksAreBounded) {
  FsLimits limits;
  limits.max_tree_nodes_per_walk = 2;
  auto small = open_image(image_, limits);
  ASSERT_THAT(small, IsOk());
  auto many = resolve(**small, "/many");
  ASSERT_THAT(many, IsOk());
  EXPECT_THAT((*small)->list(many->inode), HasError(ErrorCode::kLimitExceeded, "more than 2 nodes"));
  limits = FsLimits{};
  limits.max_dir_entries = 100;
  auto few = open_image(image_, limits);
  ASSERT_THAT(few, IsOk());
  EXPECT_THAT((*few)->list(many->inode), HasError(ErrorCode::kLimitExceeded, "entries"));
}

// ---- Real subvolumes and compression, through a loop mount (root only) ----

struct Mount {
  std::string point;
  bool mounted = false;
  ~Mount() {
    if (mounted) (void)run("umount " + point);
  }
};

std::map<std::string, std::uint64_t> subvolume_ids(const std::string& mnt) {
  std::map<std::string, std::uint64_t> ids;
  std::istringstream in(run_ok("btrfs subvolume list " + mnt));
  std::string line;
  const std::regex re(R"(ID (\d+) gen \d+ top level \d+ path (.*))");
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, re)) ids[m[2]] = std::stoull(m[1]);
  }
  return ids;
}

class BtrfsMounted : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_mkfs_btrfs()) GTEST_SKIP() << "mkfs.btrfs (btrfs-progs) is not installed";
    if (geteuid() != 0) GTEST_SKIP() << "loop-mounting btrfs needs root";
    image_ = dir_.file("btrfs.img");
    run_ok("truncate -s 512M " + image_ + " && mkfs.btrfs -q -f " + image_ + " 2>&1");
    const fs::path src = dir_.path() / "src";
    fs::create_directories(src);
    // Compressible (text) and incompressible (random) data, several 128 KiB extents each.
    run_ok("seq 1 400000 > " + (src / "seq.txt").string());
    run_ok("head -c 1048576 /dev/urandom > " + (src / "random.bin").string());
    run_ok("yes 'imagegate compressible line' | head -c 3000000 > " + (src / "lines.txt").string());
    run_ok("printf 'ID=fedora\\nVERSION_ID=39\\n' > " + (src / "os-release").string());
    mnt_.point = dir_.file("mnt");
    fs::create_directories(mnt_.point);
    const auto m = run("mount -o loop,compress=zstd " + image_ + " " + mnt_.point);
    if (m.exit_code != 0) GTEST_SKIP() << "mount -o loop of a btrfs image failed: " << m.out;
    mnt_.mounted = true;
    const std::string p = mnt_.point;
    run_ok("btrfs -q subvolume create " + p + "/@ && btrfs -q subvolume create " + p + "/@/.snapshots && mkdir " + p +
           "/@/.snapshots/1 && btrfs -q subvolume create " + p + "/@/.snapshots/1/snapshot");
    run_ok("btrfs -q subvolume create " + p + "/root && btrfs -q subvolume create " + p + "/home && btrfs -q " +
           "subvolume create " + p + "/root/nested");
    run_ok("mkdir -p " + p + "/root/etc " + p + "/@/.snapshots/1/snapshot/etc");
    run_ok("echo 'ID=opensuse-tumbleweed' > " + p + "/@/.snapshots/1/snapshot/etc/os-release");
    run_ok("cp " + (src / "os-release").string() + " " + p + "/root/etc/os-release");
    for (const char* f : {"seq.txt", "random.bin", "lines.txt"})
      run_ok("cp " + (src / f).string() + " " + p + "/root/zstd-" + f);
    run_ok("sync && mount -o remount,compress=zlib " + p);
    for (const char* f : {"seq.txt", "random.bin", "lines.txt"}) {
      run_ok("cp " + (src / f).string() + " " + p + "/home/zlib-" + f);
      run_ok("cp " + (src / f).string() + " " + p + "/root/nested/zlib-" + f);
    }
    run_ok("sync");
    zstd_frag_ = run_ok("filefrag -v " + p + "/root/zstd-lines.txt");
    zlib_frag_ = run_ok("filefrag -v " + p + "/home/zlib-seq.txt");
    run_ok("btrfs subvolume set-default " + p + "/@/.snapshots/1/snapshot");
    ids_ = subvolume_ids(p);
    ASSERT_EQ(run("umount " + p).exit_code, 0);
    mnt_.mounted = false;
    src_ = src;
    auto opened = open_image(image_);
    ASSERT_THAT(opened, IsOk());
    fs_ = std::move(*opened);
  }
  TempDir dir_;
  Mount mnt_;
  std::string image_;
  fs::path src_;
  std::string zstd_frag_;
  std::string zlib_frag_;
  std::map<std::string, std::uint64_t> ids_;
  std::unique_ptr<btrfs::BtrfsFs> fs_;
};

TEST_F(BtrfsMounted, DefaultSubvolumeAndSubvolumesByPathAndId) {
  ASSERT_EQ(ids_.count("@/.snapshots/1/snapshot"), 1u);
  const std::uint64_t snapshot = ids_["@/.snapshots/1/snapshot"];
  EXPECT_EQ(fs_->default_subvolume(), snapshot);
  EXPECT_EQ(fs_->subvolume(), snapshot);
  EXPECT_EQ(*read_guest_file(*fs_, "/etc/os-release", 4096), "ID=opensuse-tumbleweed\n");
  for (const auto& [path, id] : ids_) {
    auto by_path = fs_->open_subvolume(path);
    ASSERT_THAT(by_path, IsOk()) << path;
    EXPECT_EQ((*by_path)->subvolume(), id) << path;
    auto by_id = fs_->open_subvolume(id);
    ASSERT_THAT(by_id, IsOk()) << path;
    EXPECT_EQ((*by_id)->root_inode(), (*by_path)->root_inode()) << path;
  }
  auto root = fs_->open_subvolume("root");
  ASSERT_THAT(root, IsOk());
  EXPECT_EQ(*read_guest_file(**root, "/etc/os-release", 4096), host_file(src_ / "os-release"));
  // The top level lists the subvolumes as directories and crosses into them, two levels deep.
  auto top = fs_->open_subvolume(btrfs::kFsTreeObjectid);
  ASSERT_THAT(top, IsOk());
  auto entries = (*top)->list((*top)->root_inode());
  ASSERT_THAT(entries, IsOk());
  std::set<std::string> names;
  for (const auto& e : *entries) {
    names.insert(e.name);
    EXPECT_EQ((*top)->stat(e.inode)->type, FileType::kDirectory) << e.name;
  }
  EXPECT_EQ(names, (std::set<std::string>{"@", "root", "home"}));
  EXPECT_EQ(*read_guest_file(**top, "/root/nested/zlib-seq.txt", 16 << 20), host_file(src_ / "seq.txt"));
  EXPECT_EQ(*read_guest_file(**top, "/@/.snapshots/1/snapshot/etc/os-release", 4096), "ID=opensuse-tumbleweed\n");
  EXPECT_THAT(fs_->open_subvolume("@/.snapshots/1"), HasError(ErrorCode::kInvalidArgument, "not a subvolume"));
}

TEST_F(BtrfsMounted, CompressedExtentsReadAsTheirSources) {
  // The kernel really compressed them: filefrag marks compressed extents "encoded".
  EXPECT_NE(zstd_frag_.find("encoded"), std::string::npos) << zstd_frag_;
  EXPECT_NE(zlib_frag_.find("encoded"), std::string::npos) << zlib_frag_;
  auto root = fs_->open_subvolume("root");
  auto home = fs_->open_subvolume(ids_["home"]);
  ASSERT_THAT(root, IsOk());
  ASSERT_THAT(home, IsOk());
  for (const std::string f : {"seq.txt", "random.bin", "lines.txt"}) {
    const std::string want = host_file(src_ / f);
    EXPECT_EQ(*read_guest_file(**root, "/zstd-" + f, 16 << 20), want) << f;
    EXPECT_EQ(*read_guest_file(**home, "/zlib-" + f, 16 << 20), want) << f;
    EXPECT_EQ(*read_guest_file(**root, "/nested/zlib-" + f, 16 << 20), want) << f;
  }
  // Reads that start inside a compressed extent and cross into the next one.
  auto r = resolve(**root, "/zstd-lines.txt");
  ASSERT_THAT(r, IsOk());
  auto src = (*root)->open(r->inode);
  ASSERT_THAT(src, IsOk());
  std::vector<std::byte> buf(200000);
  ASSERT_THAT((*src)->read_at(100000, buf), IsOk());
  EXPECT_EQ(std::string(as_chars(buf)), host_file(src_ / "lines.txt").substr(100000, 200000));
}

// ---- Malformed images ----

// Locations found with `btrfs inspect-internal dump-tree`; node copies found by scanning the
// image for headers naming their logical address (DUP metadata keeps two).
class BtrfsMalformed : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_mkfs_btrfs()) GTEST_SKIP() << "mkfs.btrfs (btrfs-progs) is not installed";
    root_ = dir_.path() / "root";
    make_tree(root_, /*big=*/false);
    pristine_ = dir_.file("pristine.img");
    image_ = dir_.file("btrfs.img");
    run_ok("truncate -s 256M " + pristine_ + " && mkfs.btrfs -q -f --shrink --rootdir " + root_.string() + " " +
           pristine_ + " 2>&1");
    reset();
  }
  void reset() { run_ok("cp --sparse=always " + pristine_ + " " + image_); }
  std::uint32_t u32_at(const std::vector<std::byte>& b, std::size_t at) {
    return load_le_ptr<std::uint32_t>(b.data() + at);
  }
  // The whole image (test_support's read_file goes byte by byte: too slow for 100 MiB).
  std::vector<std::byte> slurp() {
    auto f = FileSource::open(image_);
    EXPECT_THAT(f, IsOk());
    std::vector<std::byte> out(static_cast<std::size_t>((*f)->size()));
    EXPECT_THAT((*f)->read_at(0, out), IsOk());
    return out;
  }
  void fix_super_csum() {
    auto img = slurp();
    std::span<const std::byte> sb(img.data() + 65536, 4096);
    patch_file(image_, 65536, le32(~crc32c_update(~0u, sb.subspan(32))));
  }
  // Physical offsets of the copies of the node at `logical`.
  std::vector<std::uint64_t> copies(std::uint64_t logical) {
    const auto img = slurp();
    std::vector<std::uint64_t> out;
    for (std::size_t at = 0; at + 16384 <= img.size(); at += 4096) {
      if (load_le_ptr<std::uint64_t>(img.data() + at + 48) != logical) continue;
      if (std::memcmp(img.data() + at + 32, img.data() + 65536 + 32, 16) != 0) continue;  // fsid
      const std::uint32_t stored = u32_at(img, at);
      if (stored == ~crc32c_update(~0u, std::span<const std::byte>(img.data() + at + 32, 16384 - 32)))
        out.push_back(at);
    }
    return out;
  }
  void patch_node(std::uint64_t logical, std::size_t offset, const std::vector<std::byte>& data, bool fix = true) {
    const auto where = copies(logical);
    ASSERT_FALSE(where.empty()) << logical;
    for (std::uint64_t at : where) {
      patch_file(image_, at + offset, data);
      if (!fix) continue;
      auto img = slurp();
      patch_file(image_, at, le32(~crc32c_update(~0u, std::span<const std::byte>(img.data() + at + 32, 16384 - 32))));
    }
  }
  // The FS tree's root node (logical, level) and the leaf / item holding a file's first extent.
  std::pair<std::uint64_t, int> fs_root() {
    const std::string d = run_ok("btrfs inspect-internal dump-tree -t 5 " + image_);
    std::smatch m;
    EXPECT_TRUE(std::regex_search(d, m, std::regex(R"((?:node|leaf) (\d+) level (\d+))")));
    return {std::stoull(m[1]), std::stoi(m[2])};
  }
  struct ItemAt {
    std::uint64_t leaf = 0;
    std::size_t offset = 0;  // of the item data in the leaf
  };
  ItemAt extent_of(const std::string& name) {
    const std::string d = run_ok("btrfs inspect-internal dump-tree -t 5 " + image_);
    std::istringstream in(d);
    std::string line, objectid, last_location;
    std::uint64_t leaf = 0;
    const std::regex loc(R"(location key \((\d+) INODE_ITEM 0\))");
    const std::regex leaf_re(R"(^leaf (\d+) items)");
    const std::regex item_re(R"(item \d+ key \((\d+) EXTENT_DATA 0\) itemoff (\d+))");
    std::smatch m;
    ItemAt found;
    while (std::getline(in, line)) {
      if (std::regex_search(line, m, leaf_re)) leaf = std::stoull(m[1]);
      if (std::regex_search(line, m, loc)) last_location = m[1];
      if (line.substr(std::min(line.size(), line.find_first_not_of(" \t"))) == "name: " + name)
        objectid = last_location;
      if (!objectid.empty() && std::regex_search(line, m, item_re) && m[1] == objectid) {
        found.leaf = leaf;
        found.offset = 101 + std::stoull(m[2]);
      }
    }
    EXPECT_NE(found.leaf, 0u) << name;
    return found;
  }
  Result<std::string> read(const std::string& path) {
    auto f = IG_TRY(open_image(image_));
    return read_guest_file(*f, path, 16 << 20);
  }
  TempDir dir_;
  fs::path root_;
  std::string pristine_;
  std::string image_;
};

TEST_F(BtrfsMalformed, Superblock) {
  patch_file(image_, 65536 + 0x12b, text("tampered"));  // the label: the checksum no longer holds
  EXPECT_THAT(open_image(image_), HasError(ErrorCode::kCorrupt, "btrfs superblock: checksum"));
  reset();
  patch_file(image_, 65536 + 0xc4, {std::byte{2}, std::byte{0}});  // csum_type
  EXPECT_THAT(open_image(image_), HasError(ErrorCode::kUnsupported, "sha256"));
  reset();
  patch_file(image_, 65536 + 0xc4, {std::byte{3}, std::byte{0}});
  EXPECT_THAT(open_image(image_), HasError(ErrorCode::kUnsupported, "blake2b"));
  reset();
  patch_file(image_, 65536 + 0x88, le64(2));  // num_devices
  fix_super_csum();
  EXPECT_THAT(open_image(image_), HasError(ErrorCode::kUnsupported, "2 devices"));
  reset();
  patch_file(image_, 65536 + 0xc6, {std::byte{9}});  // root_level
  fix_super_csum();
  EXPECT_THAT(open_image(image_), HasError(ErrorCode::kCorrupt, "level 9 above 7"));
  reset();
  // The first sys_chunk_array stripe's offset: the end of the device.
  patch_file(image_, 65536 + 0x32b + 17 + 48 + 8, le64(fs::file_size(image_)));
  fix_super_csum();
  EXPECT_THAT(open_image(image_), HasError(ErrorCode::kCorrupt, "beyond the device"));
  reset();
  patch_file(image_, 65536 + 0x32b + 17 + 24, le64(std::uint64_t{1} << 3 | 2));  // type: SYSTEM | RAID0
  fix_super_csum();
  EXPECT_THAT(open_image(image_), HasError(ErrorCode::kUnsupported, "RAID0"));
}

TEST_F(BtrfsMalformed, Nodes) {
  const auto [root, level] = fs_root();
  ASSERT_GE(level, 1) << "the FS tree should have an internal node (3000 entries in /many)";
  patch_node(root, 2000, {std::byte{0x5a}}, /*fix=*/false);
  auto f = open_image(image_);
  ASSERT_THAT(f, IsOk());  // the FS tree is first read by stat
  EXPECT_THAT((*f)->stat((*f)->root_inode()), HasError(ErrorCode::kCorrupt, "checksum"));
  reset();
  patch_node(root, 100, {std::byte{8}});  // header level 8 (the root item says otherwise)
  f = open_image(image_);
  ASSERT_THAT(f, IsOk());
  EXPECT_THAT((*f)->stat((*f)->root_inode()), HasError(ErrorCode::kCorrupt, "level 8"));
  reset();
  // A loop: the root's first child pointer names the root itself.
  patch_node(root, 101 + 17, le64(root));
  f = open_image(image_);
  ASSERT_THAT(f, IsOk());
  EXPECT_THAT((*f)->stat((*f)->root_inode()), HasError(ErrorCode::kCorrupt, fmt::format("level {}", level)));
  reset();
  patch_node(root, 96, le32(100000));  // nritems
  f = open_image(image_);
  ASSERT_THAT(f, IsOk());
  EXPECT_THAT((*f)->stat((*f)->root_inode()), HasError(ErrorCode::kCorrupt, "100000 items"));
}

TEST_F(BtrfsMalformed, Extents) {
  // An inline extent marked zlib: its plain text is no zlib stream.
  ItemAt e = extent_of("os-release");
  patch_node(e.leaf, e.offset + 16, {std::byte{1}});
  EXPECT_THAT(read("/etc/os-release"), HasError(ErrorCode::kCorrupt, "zlib"));
  reset();
  // A regular extent marked zstd: random bytes are no zstd frame.
  e = extent_of("medium.bin");
  patch_node(e.leaf, e.offset + 16, {std::byte{3}});
  EXPECT_THAT(read("/medium.bin"), HasError(ErrorCode::kCorrupt, "zstd"));
  reset();
  // ram_bytes beyond btrfs's 128 KiB for a compressed extent.
  patch_node(e.leaf, e.offset + 8, le64(1 << 20));
  patch_node(e.leaf, e.offset + 16, {std::byte{1}});
  EXPECT_THAT(read("/medium.bin"), HasError(ErrorCode::kCorrupt, "ram_bytes 1048576"));
  reset();
  patch_node(e.leaf, e.offset + 16, {std::byte{2}});
  EXPECT_THAT(read("/medium.bin"), HasError(ErrorCode::kUnsupported, "lzo"));
  reset();
  // A plain extent whose num_bytes runs past its disk extent.
  patch_node(e.leaf, e.offset + 45, le64(1 << 30));
  EXPECT_THAT(read("/medium.bin"), HasError(ErrorCode::kCorrupt, "beyond disk_num_bytes"));
}

TEST_F(BtrfsMalformed, OneDiskExtentWithTwoDecodedSizes) {
  // Two extents of one file name the same compressed disk bytes (a reflink of the file into
  // itself, by the kernel), then the first is patched to say it decodes to 4 KiB. A decoding
  // cached by disk address alone served that 4 KiB to the second extent, which copies 128 KiB
  // from it: a heap over-read (the fuzzers' audit of 2026-12-07). Each must be decoded for its
  // own size: the file reads as the 4 KiB, a hole to 128 KiB, then the whole 128 KiB.
  if (geteuid() != 0) GTEST_SKIP() << "loop-mounting btrfs needs root";
  run_ok("rm -f " + image_ + " && truncate -s 128M " + image_ + " && mkfs.btrfs -q -f " + image_ + " 2>&1");
  const fs::path src = dir_.path() / "lines.txt";
  run_ok("yes 'imagegate compressible line' | head -c 131072 > " + src.string());
  Mount mnt;
  mnt.point = dir_.file("mnt");
  fs::create_directories(mnt.point);
  const auto m = run("mount -o loop,compress=zlib " + image_ + " " + mnt.point);
  if (m.exit_code != 0) GTEST_SKIP() << "mount -o loop of a btrfs image failed: " << m.out;
  mnt.mounted = true;
  const std::string file = mnt.point + "/twice";
  run_ok("cp " + src.string() + " " + file + " && sync");
  run_ok("xfs_io -c " + shell_quote("reflink " + file + " 0 131072 131072") + " " + file + " && sync");
  EXPECT_NE(run_ok("filefrag -v " + file).find("shared"), std::string::npos);  // one disk extent
  ASSERT_EQ(run("umount " + mnt.point).exit_code, 0);
  mnt.mounted = false;
  const ItemAt first = extent_of("twice");
  const std::string tree = run_ok("btrfs inspect-internal dump-tree -t 5 " + image_);
  ASSERT_NE(tree.find("extent compression 1 (zlib)"), std::string::npos) << tree;
  patch_node(first.leaf, first.offset + 8, le64(4096));   // ram_bytes
  patch_node(first.leaf, first.offset + 45, le64(4096));  // num_bytes
  const std::string lines = host_file(src);
  auto got = read("/twice");
  ASSERT_THAT(got, IsOk());
  EXPECT_EQ(*got, lines.substr(0, 4096) + std::string(131072 - 4096, '\0') + lines);
}

}  // namespace
}  // namespace ig::test

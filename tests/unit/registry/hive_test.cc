// The hive reader against hivex, the reference implementation: the empty hive the fixtures write
// byte by byte, edited by hivexsh -w and hivexregedit --merge, and (when ../shared/corpus is
// present) every hive in the corpus and every .reg dump there merged into a hive must export, key
// for key and byte for byte, exactly as `hivexregedit --export` prints it. Plus typed reads, big
// data, large subkey lists, and malformed hives named, never crashing.
#include "registry/hive.h"

#include <algorithm>
#include <filesystem>

#include "base/bytes.h"
#include "support/guest.h"
#include "support/test_support.h"

namespace ig::test {
namespace {

namespace fs = std::filesystem;
using registry::Hive;
using registry::KeyRef;

// How Perl's print writes a string without an output encoding: Latin-1 bytes when every
// character fits in one, else UTF-8 (with a "Wide character" warning on stderr).
std::string perl_print(const std::string& utf8) {
  std::string latin1;
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    const auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      latin1 += static_cast<char>(c);
    } else if ((c == 0xC2 || c == 0xC3) && i + 1 < utf8.size()) {
      latin1 += static_cast<char>(((c & 0x03) << 6) | (static_cast<unsigned char>(utf8[++i]) & 0x3F));
    } else {
      return utf8;
    }
  }
  return latin1;
}

// hivexregedit's export format (Win::Hivex::Regedit::reg_export_node): keys and values sorted by
// name, DWORDs as dword:, everything else as hex(type):.
void export_key(const Hive& h, KeyRef key, const std::string& path, std::string& out) {
  out += "[" + perl_print(path) + "]\n";
  auto values = h.values(key);
  ASSERT_THAT(values, IsOk()) << path;
  std::sort(values->begin(), values->end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (const registry::Value& v : *values) {
    if (v.name.empty()) {
      out += "@=";
    } else {
      std::string escaped;
      for (char c : v.name) {
        if (c == '\\' || c == '"') escaped += '\\';
        escaped += c;
      }
      out += "\"" + perl_print(escaped) + "\"=";
    }
    if (v.type == registry::kRegDword && v.data.size() == 4) {
      out += fmt::format("dword:{:08x}\n", load_le_ptr<std::uint32_t>(v.data.data()));
    } else {
      out += fmt::format("hex({:x}):", v.type);
      for (std::size_t i = 0; i < v.data.size(); ++i) {
        out += fmt::format("{}{:02x}", i == 0 ? "" : ",", std::to_integer<unsigned>(v.data[i]));
      }
      out += "\n";
    }
  }
  out += "\n";
  auto children = h.subkeys(key);
  ASSERT_THAT(children, IsOk()) << path;
  std::vector<std::pair<std::string, KeyRef>> named;
  for (KeyRef k : *children) named.emplace_back(*h.key_name(k), k);
  std::sort(named.begin(), named.end());
  for (const auto& [name, k] : named) export_key(h, k, (path == "\\" ? path : path + "\\") + name, out);
}

std::string our_export(const std::string& hive_path) {
  auto h = Hive::open(read_file(hive_path));
  EXPECT_THAT(h, IsOk()) << hive_path;
  if (!h) return "";
  std::string out = "Windows Registry Editor Version 5.00\n\n";
  export_key(*h, h->root(), "\\", out);
  return out;
}

std::string hivex_export(const std::string& hive_path) {
  // Perl's "Wide character" warnings go to stderr, which run() would mix in: drop them inside.
  return run_ok("{ hivexregedit --export " + hive_path + " '\\' 2> /dev/null; }");
}

bool hivex_tools() {
  return run("command -v hivexregedit && command -v hivexget && command -v hivexsh").exit_code == 0;
}
constexpr const char* kNoHivex = "hivexregedit, hivexget or hivexsh is not installed (libhivex-bin, libwin-hivex-perl)";

// The hive the fixtures write when there is no corpus: hivex opens it, edits it and reads the
// edits back, and our reader exports it exactly as hivex does before and after.
TEST(Hive, TheSelfBuiltEmptyHiveIsAHiveToHivex) {
  if (!hivex_tools()) GTEST_SKIP() << kNoHivex;
  TempDir dir;
  const std::string hive = dir.file("empty");
  write_empty_hive(hive);
  ASSERT_EQ(fs::file_size(hive), 8192u);
  EXPECT_EQ(hivex_export(hive), "Windows Registry Editor Version 5.00\n\n[\\]\n\n");
  EXPECT_EQ(our_export(hive), hivex_export(hive));
  auto h = Hive::open(read_file(hive));
  ASSERT_THAT(h, IsOk());
  EXPECT_FALSE(h->dirty());
  EXPECT_EQ(*h->key_name(h->root()), "ROOT");
  // hivexsh -w: a key, a string and a DWORD, committed.
  run_ok(
      "printf 'add Select\\ncd Select\\nsetval 2\\nCurrent\\ndword:0x00000001\\nName\\nstring:one\\ncommit\\n' | "
      "hivexsh -w " +
      hive);
  EXPECT_EQ(run_ok("hivexget " + hive + " '\\Select' Current"), "1\n");
  EXPECT_EQ(run_ok("hivexget " + hive + " '\\Select' Name"), "one\n");
  EXPECT_EQ(our_export(hive), hivex_export(hive));
  auto edited = Hive::open(read_file(hive));
  ASSERT_THAT(edited, IsOk());
  auto select = edited->find("select");
  ASSERT_THAT(select, IsOk());
  ASSERT_TRUE(select->has_value());
  EXPECT_EQ(*(*edited->value(**select, "Current"))->as_dword(), 1u);
  // hivexregedit --merge, as the Windows fixtures fill it.
  run_ok("hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\\SOFTWARE' " + hive + " " +
         software_reg(dir, WindowsRelease::kWindows10));
  EXPECT_EQ(our_export(hive), hivex_export(hive));
}

TEST(HiveCorpus, EveryCorpusHiveExportsAsHivexDoes) {
  if (!corpus_available()) GTEST_SKIP() << corpus_absent("the corpus hives");
  if (!hivex_tools()) GTEST_SKIP() << kNoHivex;
  for (const char* rel : {"hivex/images/minimal", "hivex/images/special", "hivex/images/rlenvalue_test_hive",
                          "libguestfs/guest-aux-2013/windows-software", "libguestfs/guest-aux-2013/windows-system"}) {
    const std::string path = corpus_path(rel).string();
    EXPECT_EQ(our_export(path), hivex_export(path)) << rel;
  }
}

// Each .reg dump of the corpus merged over the minimal hive, as libguestfs and virt-v2v build
// their phony Windows guests.
TEST(HiveCorpus, MergedRegDumpsExportAsHivexDoes) {
  if (!corpus_available()) GTEST_SKIP() << corpus_absent("the corpus hives");
  if (!hivex_tools()) GTEST_SKIP() << kNoHivex;
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> dumps = {
      {"libguestfs/test-data/phony-guests/windows-software.reg", "HKEY_LOCAL_MACHINE\\SOFTWARE"},
      {"libguestfs/test-data/phony-guests/windows-system.reg", "HKEY_LOCAL_MACHINE\\SYSTEM"},
      {"virt-v2v/test-data/phony-guests/win10-software.reg", "HKEY_LOCAL_MACHINE\\SOFTWARE"},
      {"virt-v2v/test-data/phony-guests/win11-software.reg", "HKEY_LOCAL_MACHINE\\SOFTWARE"},
      {"virt-v2v/test-data/phony-guests/win2k22-software.reg", "HKEY_LOCAL_MACHINE\\SOFTWARE"},
      {"virt-v2v/test-data/phony-guests/win2k25-software.reg", "HKEY_LOCAL_MACHINE\\SOFTWARE"},
      {"virt-v2v/test-data/phony-guests/win7-32-software.reg", "HKEY_LOCAL_MACHINE\\SOFTWARE"},
      {"virt-v2v/test-data/phony-guests/winxp-32-software.reg", "HKEY_LOCAL_MACHINE\\SOFTWARE"},
      {"virt-v2v/test-data/phony-guests/windows-system.reg", "HKEY_LOCAL_MACHINE\\SYSTEM"},
      {"virt-v2v/test-data/phony-guests/windows-bcd.reg", ""},
  };
  for (const auto& [rel, prefix] : dumps) {
    const std::string hive = dir.file("hive");
    run_ok("cp " + corpus_path("hivex/images/minimal").string() + " " + hive + " && chmod u+w " + hive);
    if (rel.find("win2k22") != std::string::npos) {  // the keys every phony guest shares, over it
      run_ok("hivexregedit --merge --prefix '" + prefix + "' " + hive + " " + corpus_path(rel).string());
      run_ok("hivexregedit --merge --prefix '" + prefix + "' " + hive + " " +
             corpus_path("virt-v2v/test-data/phony-guests/windows-software-all.reg").string());
      EXPECT_EQ(our_export(hive), hivex_export(hive)) << rel << " + windows-software-all.reg";
      continue;
    }
    run_ok("hivexregedit --merge " + (prefix.empty() ? "" : "--prefix '" + prefix + "' ") + hive + " " +
           corpus_path(rel).string());
    EXPECT_EQ(our_export(hive), hivex_export(hive)) << rel;
  }
}

// Names hivex stores as Latin-1 (compressed) and as UTF-16LE (a character past U+00FF), keys and
// values, over the empty hive: what the corpus's "special" hive covers when it is present.
TEST(Hive, Latin1AndUtf16NamesExportAsHivexDoes) {
  if (!hivex_tools()) GTEST_SKIP() << kNoHivex;
  TempDir dir;
  const std::string hive = dir.file("names");
  copy_empty_hive(hive);
  write_file(dir.file("names.reg"), text("Windows Registry Editor Version 5.00\n\n[\\asdf_äöüß]\n"
                                         "\"weird™\"=dword:00000001\n\"Ünï\"=str(1):\"x\"\n\n"
                                         "[\\用户 ™]\n@=dword:00000002\n\n"));
  run_ok("hivexregedit --merge " + hive + " " + dir.file("names.reg"));
  EXPECT_EQ(our_export(hive), hivex_export(hive));
  auto h = Hive::open(read_file(hive));
  ASSERT_THAT(h, IsOk());
  auto latin1 = h->find("ASDF_äöüß");
  ASSERT_THAT(latin1, IsOk());
  ASSERT_TRUE(latin1->has_value());
  EXPECT_EQ(*(*h->value(**latin1, "weird™"))->as_dword(), 1u);
  auto wide = h->find("用户 ™");
  ASSERT_THAT(wide, IsOk());
  ASSERT_TRUE(wide->has_value());
  EXPECT_EQ(*h->key_name(**wide), "用户 ™");
  EXPECT_EQ(*(*h->value(**wide, ""))->as_dword(), 2u);
}

// The corpus's hive and dump when present, else the fixtures' own.
TEST(Hive, TypedValuesOfWindowsServer2022) {
  if (!hivex_tools()) GTEST_SKIP() << kNoHivex;
  TempDir dir;
  const std::string hive = dir.file("SOFTWARE");
  copy_empty_hive(hive);
  run_ok("hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\\SOFTWARE' " + hive + " " +
         software_reg(dir, WindowsRelease::kServer2022));
  auto h = Hive::open(read_file(hive));
  ASSERT_THAT(h, IsOk());
  auto key = h->find("microsoft/WINDOWS NT\\currentversion");
  ASSERT_THAT(key, IsOk());
  ASSERT_TRUE(key->has_value());
  auto get = [&](const char* name) { return *h->value(**key, name); };
  EXPECT_EQ(*get("ProductName")->as_string(), "Windows Server 2022 Phony Edition");
  EXPECT_EQ(*get("productname")->as_string(),
            run_ok("hivexget " + hive + " '\\Microsoft\\Windows NT\\CurrentVersion' ProductName").substr(0, 33));
  EXPECT_EQ(*get("CurrentMajorVersionNumber")->as_dword(), 10u);
  EXPECT_EQ(*get("CurrentBuildNumber")->as_string(), "20348");
  EXPECT_EQ(*get("InstallationType")->as_string(), "Server");
  EXPECT_EQ(*get("InstallTime")->as_qword(), 0x01da85e27e6416b1ULL);
  EXPECT_THAT(get("ProductName")->as_dword(), HasError(ErrorCode::kInvalidArgument, "not a DWORD"));
  EXPECT_FALSE(get("NoSuchValue").has_value());
  EXPECT_FALSE(h->find("Microsoft\\Nope")->has_value());
  EXPECT_FALSE(h->dirty());
}

TEST(Hive, BigDataAndLargeSubkeyLists) {
  if (!hivex_tools()) GTEST_SKIP() << kNoHivex;
  TempDir dir;
  const std::string reg = dir.file("big.reg");
  std::string reg_text =
      "Windows Registry Editor Version 5.00\n\n[HKEY_LOCAL_MACHINE\\SOFTWARE\\Big]\n\"Blob\"=hex(3):";
  for (int i = 0; i < 40000; ++i) reg_text += fmt::format("{}{:02x}", i == 0 ? "" : ",", (i * 7) & 0xff);
  reg_text += "\n\"Multi\"=hex(7):61,00,00,00,62,00,63,00,00,00,00,00\n\n";
  reg_text += "[HKEY_LOCAL_MACHINE\\SOFTWARE\\Many]\n\n";
  for (int i = 0; i < 1500; ++i) reg_text += fmt::format("[HKEY_LOCAL_MACHINE\\SOFTWARE\\Many\\Key{:04}]\n\n", i);
  write_file(reg, text(reg_text));
  const std::string hive = dir.file("hive");
  copy_empty_hive(hive);
  run_ok("hivexregedit --merge --prefix 'HKEY_LOCAL_MACHINE\\SOFTWARE' " + hive + " " + reg);
  EXPECT_EQ(our_export(hive), hivex_export(hive));
  auto h = Hive::open(read_file(hive));
  ASSERT_THAT(h, IsOk());
  auto big = h->find("Big");
  ASSERT_TRUE(big->has_value());
  auto blob = h->value(**big, "Blob");
  ASSERT_TRUE(blob->has_value());
  EXPECT_EQ((*blob)->data.size(), 40000u);
  EXPECT_EQ((*h->value(**big, "Multi"))->as_multi_string().value(), (std::vector<std::string>{"a", "bc"}));
  auto many = h->find("Many");
  ASSERT_TRUE(many->has_value());
  EXPECT_EQ(h->subkeys(**many)->size(), 1500u);
  EXPECT_TRUE(h->subkey(**many, "KEY1499")->has_value());
}

TEST(Hive, MalformedHivesAreNamed) {
  TempDir dir;
  copy_empty_hive(dir.file("good"));
  const std::vector<std::byte> good = read_file(dir.file("good"));
  auto with = [&](std::size_t offset, std::vector<std::byte> patch, bool fix_checksum = true) {
    std::vector<std::byte> b = good;
    std::copy(patch.begin(), patch.end(), b.begin() + static_cast<std::ptrdiff_t>(offset));
    if (fix_checksum) {
      std::uint32_t x = 0;
      for (std::size_t i = 0; i < 508; i += 4) x ^= load_le_ptr<std::uint32_t>(b.data() + i);
      store_le_ptr<std::uint32_t>(b.data() + 508, x == 0 ? 1 : x);
    }
    return Hive::open(std::move(b));
  };
  EXPECT_THAT(with(0, text("rexf")), HasError(ErrorCode::kCorrupt, "no regf signature"));
  EXPECT_THAT(with(0x30, text("x"), false), HasError(ErrorCode::kCorrupt, "checksum"));
  EXPECT_THAT(with(0x28, le32(1 << 30)), HasError(ErrorCode::kCorrupt, "hive bins"));
  EXPECT_THAT(with(0x24, le32(0x7ffffff8)), HasError(ErrorCode::kCorrupt, "outside the hive bins"));
  EXPECT_THAT(with(0x14, le32(2)), HasError(ErrorCode::kCorrupt, "format version"));
  EXPECT_THAT(Hive::open(std::vector<std::byte>(good.begin(), good.begin() + 100)),
              HasError(ErrorCode::kCorrupt, "too short"));
  // Sequence numbers that differ: readable, and reported dirty.
  auto dirty = with(8, le32(12345));
  ASSERT_THAT(dirty, IsOk());
  EXPECT_TRUE(dirty->dirty());
  // The root key's subkey count made huge: a limit, not an allocation.
  const std::uint32_t root = load_le_ptr<std::uint32_t>(good.data() + 0x24);
  auto huge = with(4096 + root + 4 + 0x14, le32(0x7fffffff));
  ASSERT_THAT(huge, IsOk());
  EXPECT_THAT(huge->subkeys(huge->root()), HasError(ErrorCode::kLimitExceeded, "subkeys"));
}

// The empty hive's bytes, for cells written by hand into its free space (offsets from the first
// hbin, as a hive names its cells).
struct HandMadeHive {
  HandMadeHive() {
    copy_empty_hive(dir.file("h"));
    bytes = read_file(dir.file("h"));
    root = load_le_ptr<std::uint32_t>(bytes.data() + 0x24);
  }
  void put(std::uint32_t cell, const std::vector<std::byte>& data) {
    std::copy(data.begin(), data.end(), bytes.begin() + 4096 + cell);
  }
  // A subkey list cell of `size` bytes: "ri"/"li" entries name cells, "lf"/"lh" entries add a
  // 4-byte hash, left zero.
  static std::vector<std::byte> subkey_list(std::string_view sig, const std::vector<std::uint32_t>& refs,
                                            std::uint32_t size) {
    std::vector<std::byte> cell = le32(static_cast<std::uint32_t>(-static_cast<std::int32_t>(size)));
    for (const std::byte c : text(std::string(sig))) cell.push_back(c);
    const auto count = static_cast<std::uint16_t>(refs.size());  // u16
    cell.push_back(static_cast<std::byte>(count & 0xFF));
    cell.push_back(static_cast<std::byte>(count >> 8));
    for (const std::uint32_t r : refs) {
      for (const std::byte c : le32(r)) cell.push_back(c);
      if (sig == "lf" || sig == "lh") cell.resize(cell.size() + 4, std::byte{0});
    }
    cell.resize(size, std::byte{0});
    return cell;
  }
  // The root key says it has `count` subkeys, listed by the cell at `list`.
  void root_subkeys(std::uint32_t count, std::uint32_t list) {
    put(root + 4 + 0x14, le32(count));
    put(root + 4 + 0x1C, le32(list));
  }
  TempDir dir;
  std::vector<std::byte> bytes;
  std::uint32_t root = 0;  // the root key's cell
};

// Cell loops: an ri list that names itself ends at the list-depth limit, named; a key whose lf
// list names the key itself is its own child, which a lookup follows only as far as the path it
// was given (nothing in imagegate walks a hive's whole tree).
TEST(Hive, CellLoopsEndInANamedErrorOrAtThePathsEnd) {
  HandMadeHive self_list;
  self_list.put(0x800, HandMadeHive::subkey_list("ri", {0x800}, 16));  // itself
  self_list.root_subkeys(1, 0x800);
  auto looped = Hive::open(std::move(self_list.bytes));
  ASSERT_THAT(looped, IsOk());
  EXPECT_THAT(looped->subkeys(looped->root()),
              HasError(ErrorCode::kCorrupt, "hive: subkey list 0x800 nested deeper than 4"));
  EXPECT_THAT(looped->find("Software\\Microsoft"), HasError(ErrorCode::kCorrupt, "nested deeper than 4"));

  HandMadeHive own_child;
  own_child.put(0x800, HandMadeHive::subkey_list("lf", {own_child.root}, 16));
  own_child.root_subkeys(1, 0x800);
  auto h = Hive::open(std::move(own_child.bytes));
  ASSERT_THAT(h, IsOk());
  auto children = h->subkeys(h->root());
  ASSERT_THAT(children, IsOk());
  EXPECT_EQ(*children, std::vector<KeyRef>{h->root()});
  auto name = h->key_name(h->root());
  ASSERT_THAT(name, IsOk());
  std::string path;
  for (int i = 0; i < 1000; ++i) path += *name + "\\";
  auto found = h->find(path);
  ASSERT_THAT(found, IsOk());
  EXPECT_EQ(*found, std::optional<KeyRef>(h->root()));
  auto missing = h->find(path + "Missing");
  ASSERT_THAT(missing, IsOk());
  EXPECT_EQ(*missing, std::nullopt);
}

TEST(Hive, SharedListsOfListsAreBounded) {
  // Four levels of ri lists, each of 20 entries naming the one list below, the last naming an
  // empty lf: 20^4 visits that add no key (N = 1000 in one 4 KiB cell is 10^12). Written into the
  // empty hive's free space, under a root that says it has one subkey.
  HandMadeHive b;
  const std::uint32_t lists[] = {0x800, 0x880, 0x900, 0x980};
  for (std::size_t level = 0; level < 4; ++level) {
    const std::uint32_t below = level < 3 ? lists[level + 1] : 0xA00;
    b.put(lists[level], HandMadeHive::subkey_list("ri", std::vector<std::uint32_t>(20, below), 88));
  }
  b.put(0xA00, HandMadeHive::subkey_list("lf", {}, 16));
  b.root_subkeys(1, lists[0]);
  registry::HiveLimits limits;
  limits.max_subkeys = 1000;
  auto h = Hive::open(std::move(b.bytes), limits);
  ASSERT_THAT(h, IsOk());
  EXPECT_THAT(h->subkeys(h->root()),
              HasError(ErrorCode::kLimitExceeded, "more than 1000 lists named by its lists of lists"));
}

TEST(Hive, SharedValueCellsAreDecodedOnlyWhenAsked) {
  // The root's 20 value-list entries all name one vk cell with 1 KiB of data. value() decodes
  // only the value it is asked for; values() decodes all 20 and stops where their data exceeds
  // what a hive could hold (16 KiB here): one list of a million entries over a 64 MiB value was
  // 64 TiB of copies (the review of 2026-12-07).
  HandMadeHive b;
  std::vector<std::byte> list = le32(static_cast<std::uint32_t>(-88));
  for (int i = 0; i < 20; ++i) {
    const auto at = le32(0x880);
    list.insert(list.end(), at.begin(), at.end());
  }
  b.put(0x800, list);
  std::vector<std::byte> vk = le32(static_cast<std::uint32_t>(-32));
  for (const std::byte c : text("vk")) vk.push_back(c);
  for (const std::byte c : {std::byte{3}, std::byte{0}}) vk.push_back(c);  // name length
  for (const std::uint32_t word : {1024u, 0x900u, 3u}) {                   // data size, data cell, REG_BINARY
    const auto le = le32(word);
    vk.insert(vk.end(), le.begin(), le.end());
  }
  for (const std::byte c : {std::byte{1}, std::byte{0}, std::byte{0}, std::byte{0}}) vk.push_back(c);  // ASCII name
  for (const std::byte c : text("Big")) vk.push_back(c);
  b.put(0x880, vk);
  std::vector<std::byte> data = le32(static_cast<std::uint32_t>(-1032));
  data.resize(1032, std::byte{0x5A});
  b.put(0x900, data);
  b.put(b.root + 4 + 0x24, le32(20));     // value count
  b.put(b.root + 4 + 0x28, le32(0x800));  // value list
  registry::HiveLimits limits;
  limits.max_hive_bytes = 16 << 10;
  auto h = Hive::open(std::move(b.bytes), limits);
  ASSERT_THAT(h, IsOk());
  auto big = h->value(h->root(), "big");
  ASSERT_THAT(big, IsOk());
  ASSERT_TRUE(big->has_value());
  EXPECT_EQ((*big)->data, std::vector<std::byte>(1024, std::byte{0x5A}));
  EXPECT_THAT(h->values(h->root()), HasError(ErrorCode::kLimitExceeded, "hold more than the 16384 bytes of a hive"));
}

}  // namespace
}  // namespace ig::test

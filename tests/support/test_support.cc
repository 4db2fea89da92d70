#include "support/test_support.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>

#include "base/bytes.h"

namespace ig::test {

namespace fs = std::filesystem;

TempDir::TempDir() {
  fs::path base = fs::temp_directory_path() / "imagegate-tests";
  fs::create_directories(base);
  std::string tmpl = (base / "XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

CommandResult run(const std::string& command) {
  CommandResult r;
  FILE* p = popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

CommandResult run_split(const std::string& command) {
  CommandResult r;
  std::string err_path = (fs::temp_directory_path() / "imagegate-stderr-XXXXXX").string();
  const int fd = mkstemp(err_path.data());
  if (fd < 0) {
    r.err = std::string("mkstemp: ") + std::strerror(errno);
    return r;
  }
  ::close(fd);
  FILE* p = popen(("{ " + command + "\n} 2> " + shell_quote(err_path)).c_str(), "r");
  if (p != nullptr) {
    char buf[4096];
    std::size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int status = pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  std::ifstream in(err_path, std::ios::binary);
  r.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  ::unlink(err_path.c_str());
  return r;
}

std::string run_ok(const std::string& command) {
  CommandResult r = run_split(command);
  EXPECT_EQ(r.exit_code, 0) << command << "\nstdout: " << r.out << "\nstderr: " << r.err;
  return r.out;
}

nlohmann::json run_json(const std::string& command) {
  CommandResult r = run_split(command);
  EXPECT_EQ(r.exit_code, 0) << command << "\nstdout: " << r.out << "\nstderr: " << r.err;
  try {
    return nlohmann::json::parse(r.out);
  } catch (const std::exception& e) {
    ADD_FAILURE() << command << ": not JSON: " << e.what() << "\nstdout: " << r.out << "\nstderr: " << r.err;
    return {};
  }
}

void write_file(const std::string& path, const std::vector<std::byte>& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::vector<std::byte> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> out(chars.size());
  std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

void patch_file(const std::string& path, std::uint64_t offset, const std::vector<std::byte>& data) {
  int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset)), static_cast<ssize_t>(data.size()));
  ::close(fd);
}

namespace {

// The `width` bytes at `offset` of a file, or a test failure and nothing.
std::vector<std::byte> bytes_at(const std::string& path, std::uint64_t offset, std::size_t width) {
  const std::vector<std::byte> bytes = read_file(path);
  if (offset > bytes.size() || width > bytes.size() - offset) {
    ADD_FAILURE() << path << ": offset " << offset << " past the end";
    return {};
  }
  return {bytes.begin() + static_cast<std::ptrdiff_t>(offset),
          bytes.begin() + static_cast<std::ptrdiff_t>(offset + width)};
}

}  // namespace

std::uint64_t be64_at(const std::string& path, std::uint64_t offset) {
  const auto b = bytes_at(path, offset, 8);
  return b.empty() ? 0 : load_be_ptr<std::uint64_t>(b.data());
}
std::uint32_t be32_at(const std::string& path, std::uint64_t offset) {
  const auto b = bytes_at(path, offset, 4);
  return b.empty() ? 0 : load_be_ptr<std::uint32_t>(b.data());
}
std::uint32_t le32_at(const std::string& path, std::uint64_t offset) {
  const auto b = bytes_at(path, offset, 4);
  return b.empty() ? 0 : load_le_ptr<std::uint32_t>(b.data());
}

std::vector<std::byte> be32(std::uint32_t v) {
  std::vector<std::byte> b(4);
  store_be_ptr(b.data(), v);
  return b;
}
std::vector<std::byte> be64(std::uint64_t v) {
  std::vector<std::byte> b(8);
  store_be_ptr(b.data(), v);
  return b;
}
std::vector<std::byte> le32(std::uint32_t v) {
  std::vector<std::byte> b(4);
  store_le_ptr(b.data(), v);
  return b;
}
std::vector<std::byte> le64(std::uint64_t v) {
  std::vector<std::byte> b(8);
  store_le_ptr(b.data(), v);
  return b;
}
std::vector<std::byte> text(const std::string& s) {
  std::vector<std::byte> b(s.size());
  std::memcpy(b.data(), s.data(), s.size());
  return b;
}

void fix_vhd_checksum(const std::string& path, std::uint64_t at, std::size_t length, std::size_t checksum_at) {
  auto bytes = read_file(path);
  ASSERT_LE(at + length, bytes.size()) << path;
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i < length; ++i) {
    if (i >= checksum_at && i < checksum_at + 4) continue;
    sum += std::to_integer<std::uint32_t>(bytes[at + i]);
  }
  patch_file(path, at + checksum_at, be32(~sum));
}

void make_pattern_raw(const std::string& path, std::uint64_t size) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(size)), 0);
  std::mt19937_64 rng(42);
  auto put = [&](std::uint64_t offset, std::uint64_t length, bool zeros) {
    if (offset >= size) return;
    length = std::min(length, size - offset);
    std::vector<std::uint64_t> words(static_cast<std::size_t>(length / 8 + 1));
    for (auto& w : words) w = zeros ? 0 : rng();
    ASSERT_EQ(::pwrite(fd, words.data(), length, static_cast<off_t>(offset)), static_cast<ssize_t>(length));
  };
  put(0, 1 << 20, false);               // the first MiB
  put((5 << 20) + 1234, 70000, false);  // an unaligned run across cluster boundaries
  put(8 << 20, 1 << 20, true);          // explicit zeros: allocated, but zero
  put((12 << 20) + 512, 4096, false);   // a small island
  put(size - 512, 512, false);          // the last sector
  ::close(fd);
}

Result<std::unique_ptr<DiskImage>> open_file(const std::string& path, std::optional<Format> declared) {
  std::shared_ptr<const ByteSource> file = IG_TRY(FileSource::open(path));
  OpenOptions o;
  o.declared = declared;
  o.file_name = fs::path(path).filename().string();
  return open_image(file, o);
}

std::string compare_with_raw(const DiskImage& image, const std::string& reference) {
  auto ref = FileSource::open(reference);
  if (!ref) return "cannot open reference: " + ref.error().message;
  const std::uint64_t ref_size = (*ref)->size();
  if (image.size() != ref_size) {
    return fmt::format("size {} != reference size {}", image.size(), ref_size);
  }
  // Walk both allocation maps at once: where both say "no data", nothing needs reading (so a
  // 127 GiB sparse disk compares in milliseconds); everywhere else the bytes are compared. This
  // also proves the image's map sound: a region it calls zero must read as zero in the reference.
  constexpr std::uint64_t kChunk = 1 << 20;
  std::vector<std::byte> a(kChunk), b(kChunk);
  for (std::uint64_t off = 0; off < ref_size;) {
    auto ours = image.extent_at(off);
    if (!ours) return fmt::format("extent_at({}) failed: {}", off, ours.error().message);
    auto theirs = (*ref)->extent_at(off);
    if (!theirs) return fmt::format("reference extent_at({}) failed: {}", off, theirs.error().message);
    if (ours->length == 0 || ours->length > ref_size - off)
      return fmt::format("extent_at({}) length {}", off, ours->length);
    std::uint64_t n = std::min(ours->length, theirs->length);
    if (ours->kind != ExtentKind::kData && theirs->kind != ExtentKind::kData) {
      off += n;
      continue;
    }
    n = std::min(n, kChunk);
    const std::size_t len = static_cast<std::size_t>(n);
    auto ra = image.read_at(off, std::span(a).first(len));
    if (!ra) return fmt::format("read at {} failed: {}", off, ra.error().message);
    auto rb = (*ref)->read_at(off, std::span(b).first(len));
    if (!rb) return fmt::format("reference read at {} failed: {}", off, rb.error().message);
    if (std::memcmp(a.data(), b.data(), len) != 0) {
      for (std::size_t i = 0; i < len; ++i) {
        if (a[i] != b[i]) {
          return fmt::format("first difference at byte {}: {:#04x} != {:#04x}", off + i, std::to_integer<int>(a[i]),
                             std::to_integer<int>(b[i]));
        }
      }
    }
    if (ours->kind != ExtentKind::kData && !all_zero(std::span(a).first(len))) {
      return fmt::format("extent at {} is {} but reads non-zero bytes", off, extent_kind_name(ours->kind));
    }
    off += n;
  }
  return "";
}

fs::path shared_dir() {
  const char* env = std::getenv("IG_SHARED_DIR");
  return fs::path(env != nullptr && *env != '\0' ? env : IG_SHARED_DIR);
}

bool corpus_available() {
  return fs::is_directory(corpus_path(""));
}

fs::path corpus_path(const std::string& relative) {
  return shared_dir() / "corpus" / relative;
}

std::string corpus_absent(const std::string& what) {
  return "the shared corpus " + corpus_path("").string() +
         " is absent (set IG_SHARED_DIR to the shared folder): " + what + " skipped";
}

std::string bunzip_to(const fs::path& bz2, const TempDir& dir) {
  const std::string out = dir.file(bz2.stem().string());
  run_ok("bzip2 -dc " + shell_quote(bz2.string()) + " > " + shell_quote(out));
  return out;
}

}  // namespace ig::test

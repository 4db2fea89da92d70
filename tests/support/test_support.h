// Test support: temporary directories, running the real tools (qemu-img, qemu-io), reading a
// whole guest disk, and matchers that assert the exact error code.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "formats/open_image.h"
#include "io/sources.h"

namespace ig::test {

// A fresh directory under the build tree's temp area, removed at destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string out;  // run(): stdout and stderr together; run_split(): stdout only
  std::string err;  // run_split(): stderr; run(): empty
};

// Runs `command` through /bin/sh, capturing its output.
CommandResult run(const std::string& command);
// Runs `command` with stdout and stderr apart, for output that is parsed: a tool's warnings
// (LVM's duplicate-VG lines, qemu's deprecation notes) then never read as data.
CommandResult run_split(const std::string& command);
// Runs `command` and fails the current test (with stdout and stderr) when it exits non-zero.
// Returns stdout only, so that callers may parse it.
std::string run_ok(const std::string& command);
std::string shell_quote(const std::string& s);

// qemu-img's JSON answer for a command (`qemu-img info --output=json ...`).
nlohmann::json run_json(const std::string& command);

// Writes the file's bytes.
void write_file(const std::string& path, const std::vector<std::byte>& data);
std::vector<std::byte> read_file(const std::string& path);
// Overwrites `data` at `offset` inside an existing file.
void patch_file(const std::string& path, std::uint64_t offset, const std::vector<std::byte>& data);
// The integer stored at `offset` of a file (a test failure and 0 when it lies past the end).
std::uint64_t be64_at(const std::string& path, std::uint64_t offset);
std::uint32_t be32_at(const std::string& path, std::uint64_t offset);
std::uint32_t le32_at(const std::string& path, std::uint64_t offset);
std::vector<std::byte> be32(std::uint32_t v);
std::vector<std::byte> be64(std::uint64_t v);
std::vector<std::byte> le32(std::uint32_t v);
std::vector<std::byte> le64(std::uint64_t v);
std::vector<std::byte> text(const std::string& s);

// Recomputes the checksum of a VHD footer (length 512, checksum at 64) or dynamic header
// (length 1024, checksum at 36) stored at `at`, after a test patched it.
void fix_vhd_checksum(const std::string& path, std::uint64_t at, std::size_t length, std::size_t checksum_at);

// Writes a sparse raw disk of `size` bytes with a deterministic pattern: data at the start,
// an unaligned data run, an explicit run of zeros (data that is zero), holes, and data in the
// last sector.
void make_pattern_raw(const std::string& path, std::uint64_t size);

// Opens an image file the way the CLI does (content detection, name claim, optional declared).
Result<std::unique_ptr<DiskImage>> open_file(const std::string& path, std::optional<Format> declared = std::nullopt);

// Compares every byte of `image` with the raw file `reference` (qemu-img convert -O raw output).
// Returns "" when identical, else a description of the first difference.
std::string compare_with_raw(const DiskImage& image, const std::string& reference);

// The shared folder: $IG_SHARED_DIR when set, else ../shared beside the checkout. Setting it to
// an empty directory runs the tests as a fresh clone would, with no corpus.
std::filesystem::path shared_dir();
// True when the shared corpus folder (<shared>/corpus) is present.
bool corpus_available();
std::filesystem::path corpus_path(const std::string& relative);
// The skip message of a test that reads the corpus: names the directory looked for.
std::string corpus_absent(const std::string& what);

// Decompresses a .bz2 corpus file into `dir`, returning the path.
std::string bunzip_to(const std::filesystem::path& bz2, const TempDir& dir);

// Matches a Result whose error has exactly `code` and whose message contains `fragment`.
MATCHER_P2(HasError, code, fragment,
           std::string("is an error with code ") + std::string(ig::error_code_name(code)) + " mentioning '" +
               std::string(fragment) + "'") {
  if (arg.has_value()) {
    *result_listener << "which succeeded";
    return false;
  }
  *result_listener << "which is " << ig::error_code_name(arg.error().code) << ": " << arg.error().message;
  return arg.error().code == code && arg.error().message.find(fragment) != std::string::npos;
}

MATCHER(IsOk, "succeeds") {
  if (!arg.has_value()) *result_listener << "which failed: " << arg.error().message;
  return arg.has_value();
}

}  // namespace ig::test

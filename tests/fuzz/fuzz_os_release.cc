// The release-file parsers over arbitrary text: os-release(5) (quotes, escapes, comments), then the
// distribution it classifies as; or, when the first byte picks one of the legacy files, that
// file's parser (the Red Hat family's one line, lsb-release, SuSE-release, debian_version, ...).
#include <iterator>
#include <string_view>

#include "inspect/os_release.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  constexpr std::size_t kLegacy = std::size(ig::kLegacyReleaseFiles);
  const std::size_t pick = data[0] % (kLegacy + 1);
  const ig::OsRelease os =
      pick == kLegacy ? ig::parse_os_release(text) : ig::parse_legacy_release(ig::kLegacyReleaseFiles[pick], text);
  (void)ig::classify(os).cloud_name.size();
  return 0;
}

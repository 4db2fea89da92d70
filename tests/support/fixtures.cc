#include "support/fixtures.h"

namespace ig::test {

std::string make_fixture(const Case& c, const TempDir& dir) {
  const std::string raw = dir.file("pattern.raw");
  make_pattern_raw(raw, c.raw_size);
  const std::string image = dir.file("image" + c.extension);
  if (c.qemu_format == "raw") {
    run_ok("cp --sparse=always " + raw + " " + image);
  } else {
    run_ok("qemu-img convert -f raw -O " + c.qemu_format + " " + c.convert_args + " " + raw + " " + image);
  }
  if (!c.qemu_io.empty()) {
    std::string cmd = "qemu-io -f " + c.qemu_format;
    std::size_t pos = 0;
    while (pos < c.qemu_io.size()) {
      auto semi = c.qemu_io.find(';', pos);
      if (semi == std::string::npos) semi = c.qemu_io.size();
      cmd += " -c " + shell_quote(c.qemu_io.substr(pos, semi - pos));
      pos = semi + 1;
    }
    run_ok(cmd + " " + image);
  }
  return image;
}

}  // namespace ig::test

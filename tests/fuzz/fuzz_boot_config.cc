// The boot-configuration parsers (fstab, grub.cfg, grubenv, BLS entries, menu.lst) over
// arbitrary text: the first byte picks the parser.
#include <string>

#include "inspect/boot_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: (void)ig::parse_fstab(text).size(); break;
    case 1: {
      const auto env = ig::parse_grubenv(text);
      const ig::BootMenu m = ig::parse_grub_cfg(text, env);
      if (m.chosen) (void)m.entries.at(*m.chosen).kernel.size();
      break;
    }
    case 2: (void)ig::parse_bls_entry(text, "id").kernel.size(); break;
    case 3: {
      const ig::BootMenu m = ig::parse_menu_lst(text, text.substr(0, 4));
      if (m.chosen) (void)m.entries.at(*m.chosen).kernel.size();
      break;
    }
    default: (void)ig::kernel_version_of(text).size(); break;
  }
  return 0;
}

#include "support/fixtures.h"

#include <fstream>

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

namespace {
constexpr const char* kLvmOptions = "--devicesfile '' --config 'backup { backup=0 archive=0 }'";

// Attaches the partition (from sector 2048) to a loop device; "" when that is not possible.
std::string attach(const std::string& disk) {
  const CommandResult r = run("losetup -f --show -o 1048576 " + disk);
  if (r.exit_code != 0) return "";
  return r.out.substr(0, r.out.find('\n'));
}
}  // namespace

std::string make_lvm_disk(const TempDir& dir, const std::string& lv_image) {
  const std::string disk = dir.file("lvm-disk.raw");
  run_ok("truncate -s 128M " + disk);
  run_ok("printf 'label: dos\\nstart=2048,type=8e\\n' | sfdisk -q " + disk);
  const std::string loop = attach(disk);
  if (loop.empty()) return "";
  const std::string env = "LVM_SUPPRESS_FD_WARNINGS=1 ";
  bool made =
      run(env + "pvcreate -q -y " + kLvmOptions + " " + loop).exit_code == 0 &&
      run(env + "vgcreate -q " + std::string(kLvmOptions) + " vgt " + loop).exit_code == 0 &&
      run(env + "vgcfgbackup -q " + std::string(kLvmOptions) + " -f " + dir.file("vg.txt") + " vgt").exit_code == 0;
  if (made) {
    std::ifstream in(dir.file("vg.txt"));
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto seq = text.find("seqno = ");
    text.replace(seq, text.find('\n', seq) - seq, "seqno = 2");
    const std::string lv =
        "\tlogical_volumes {\n\t\troot {\n\t\t\tid = \"abcdef-ghij-klmn-opqr-stuv-wxyz-012345\"\n"
        "\t\t\tstatus = [\"READ\", \"WRITE\", \"VISIBLE\"]\n\t\t\tflags = []\n\t\t\tsegment_count = 2\n"
        "\t\t\tsegment1 {\n\t\t\t\tstart_extent = 0\n\t\t\t\textent_count = 4\n\t\t\t\ttype = \"striped\"\n"
        "\t\t\t\tstripe_count = 1\n\t\t\t\tstripes = [\"pv0\", 10]\n\t\t\t}\n"
        "\t\t\tsegment2 {\n\t\t\t\tstart_extent = 4\n\t\t\t\textent_count = 6\n\t\t\t\ttype = \"striped\"\n"
        "\t\t\t\tstripe_count = 1\n\t\t\t\tstripes = [\"pv0\", 0]\n\t\t\t}\n\t\t}\n\t}\n";
    text.insert(text.rfind('}'), lv);
    std::ofstream(dir.file("vg2.txt")) << text;
    made =
        run(env + "vgcfgrestore -q " + std::string(kLvmOptions) + " -f " + dir.file("vg2.txt") + " vgt").exit_code == 0;
  }
  run("losetup -d " + loop);
  if (!made) return "";
  // pe_start is 1 MiB into the partition, itself 1 MiB into the disk; extents are 4 MiB:
  // LV MiB 0-15 go to PV extents 10-13 (disk MiB 42-57), LV MiB 16-39 to extents 0-5 (disk MiB 2-25).
  run_ok("dd if=" + lv_image + " of=" + disk + " bs=1M count=16 seek=" + std::to_string(2 + 40) +
         " conv=notrunc status=none");
  run_ok("dd if=" + lv_image + " of=" + disk + " bs=1M skip=16 count=24 seek=2 conv=notrunc status=none");
  return disk;
}

std::string lvs_of(const std::string& disk) {
  const std::string loop = attach(disk);
  if (loop.empty()) return "";
  const CommandResult r =
      run("LVM_SUPPRESS_FD_WARNINGS=1 lvs --noheadings -o lv_name,seg_start_pe,seg_size_pe,seg_pe_ranges " +
          std::string(kLvmOptions) + " vgt");
  run("losetup -d " + loop);
  return r.out;
}

}  // namespace ig::test

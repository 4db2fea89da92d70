#include "support/fixtures.h"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>

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

// Every LVM command sees only the one device and writes no backups or archives under /etc.
std::string lvm(const std::string& command, const std::string& device) {
  return "LVM_SUPPRESS_FD_WARNINGS=1 " + command + " --devices " + device + " --config 'backup { backup=0 archive=0 }'";
}

// Runs an LVM command; on failure, sets `error` to the command and its stderr.
bool lvm_ok(const std::string& command, std::string& error) {
  const CommandResult r = run_split(command);
  if (r.exit_code == 0) return true;
  error = fmt::format("`{}` exited {}: {}{}", command, r.exit_code, r.err, r.out);
  return false;
}

// Attaches the partition (from sector 2048) to a loop device; "" (and `error`) when that is not
// possible.
std::string attach(const std::string& disk, std::string& error) {
  const std::string command = "losetup -f --show -o 1048576 " + disk;
  const CommandResult r = run_split(command);
  if (r.exit_code != 0) {
    error = fmt::format("`{}` exited {}: {}", command, r.exit_code, r.err);
    return "";
  }
  return r.out.substr(0, r.out.find('\n'));
}

std::string unique_vg_name() {
  static std::atomic<int> counter{0};
  return fmt::format("vgt{}x{}", ::getpid(), counter++);
}

}  // namespace

ZfsVdev make_zfs_vdev(const TempDir& dir, const std::string& size) {
  static std::atomic<int> counter{0};
  ZfsVdev out;
  out.pool = "igzfs" + std::to_string(getpid()) + "x" + std::to_string(counter++);
  const std::string vdev = dir.file(out.pool + ".vdev");
  const std::string zdb = dir.file(out.pool + ".zdb");
  const std::string script = std::string(IG_SOURCE_DIR) + "/tests/support/make-zfs-vdev.sh";
  const CommandResult r = run(script + " " + vdev + " " + size + " " + out.pool + " " + zdb);
  if (r.exit_code == 77) {
    out.skip = r.out;
    return out;
  }
  if (r.exit_code != 0) {
    ADD_FAILURE() << "make-zfs-vdev.sh failed (" << r.exit_code << "):\n" << r.out;
    out.skip = "make-zfs-vdev.sh failed";
    return out;
  }
  std::ifstream in(zdb);
  std::stringstream text;
  text << in.rdbuf();
  out.zdb = text.str();
  out.path = vdev;
  return out;
}

LvmDisk make_lvm_disk(const TempDir& dir, const std::string& lv_image) {
  LvmDisk out;
  out.vg = unique_vg_name();
  const std::string disk = dir.file("lvm-disk.raw");
  run_ok("rm -f " + disk + " && truncate -s 128M " + disk);
  run_ok("printf 'label: dos\\nstart=2048,type=8e\\n' | sfdisk -q " + disk);
  const std::string loop = attach(disk, out.error);
  if (loop.empty()) return out;
  bool made = lvm_ok(lvm("pvcreate -q -y", loop) + " " + loop, out.error) &&
              lvm_ok(lvm("vgcreate -q", loop) + " " + out.vg + " " + loop, out.error) &&
              lvm_ok(lvm("vgcfgbackup -q", loop) + " -f " + dir.file("vg.txt") + " " + out.vg, out.error);
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
    made = lvm_ok(lvm("vgcfgrestore -q", loop) + " -f " + dir.file("vg2.txt") + " " + out.vg, out.error);
  }
  run("losetup -d " + loop);
  if (!made) return out;
  // pe_start is 1 MiB into the partition, itself 1 MiB into the disk; extents are 4 MiB:
  // LV MiB 0-15 go to PV extents 10-13 (disk MiB 42-57), LV MiB 16-39 to extents 0-5 (disk MiB 2-25).
  run_ok("dd if=" + lv_image + " of=" + disk + " bs=1M count=16 seek=" + std::to_string(2 + 40) +
         " conv=notrunc status=none");
  run_ok("dd if=" + lv_image + " of=" + disk + " bs=1M skip=16 count=24 seek=2 conv=notrunc status=none");
  out.path = disk;
  return out;
}

LvsResult lvs_of(const LvmDisk& disk) {
  LvsResult out;
  const std::string loop = attach(disk.path, out.error);
  if (loop.empty()) return out;
  const std::string command =
      lvm("lvs --noheadings -o lv_name,seg_start_pe,seg_size_pe,seg_pe_ranges", loop) + " " + disk.vg;
  const CommandResult r = run_split(command);
  run("losetup -d " + loop);
  if (r.exit_code != 0) {
    out.error = fmt::format("`{}` exited {}: {}", command, r.exit_code, r.err);
    return out;
  }
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    LvsSegment s;
    std::string start, count, extra;
    if (!(in >> s.lv_name >> start >> count >> s.pe_ranges) || (in >> extra)) continue;
    if (start.find_first_not_of("0123456789") != std::string::npos ||
        count.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    s.start_extent = std::stoull(start);
    s.extent_count = std::stoull(count);
    out.segments.push_back(s);
  }
  return out;
}

}  // namespace ig::test

// read_all: reads every data extent of an image through imagegate's format engine, the way the
// converter will, and prints the bytes read and the seconds taken. Used by read_bench.sh.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

#include "formats/open_image.h"
#include "io/sources.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: read_all IMAGE\n");
    return 2;
  }
  const auto start = std::chrono::steady_clock::now();
  auto file = ig::FileSource::open(argv[1]);
  if (!file) {
    std::fprintf(stderr, "%s\n", file.error().message.c_str());
    return 1;
  }
  auto image = ig::open_image(std::shared_ptr<const ig::ByteSource>(std::move(*file)), ig::OpenOptions{});
  if (!image) {
    std::fprintf(stderr, "%s\n", image.error().message.c_str());
    return 1;
  }
  const ig::DiskImage& disk = **image;
  std::vector<std::byte> buf(4 << 20);
  std::uint64_t data_bytes = 0;
  std::uint64_t checksum = 0;  // keeps the reads from being optimised away
  for (std::uint64_t off = 0; off < disk.size();) {
    auto e = disk.extent_at(off);
    if (!e) {
      std::fprintf(stderr, "%s\n", e.error().message.c_str());
      return 1;
    }
    if (e->kind == ig::ExtentKind::kData) {
      for (std::uint64_t p = off; p < off + e->length;) {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), off + e->length - p));
        if (auto r = disk.read_at(p, std::span(buf).first(n)); !r) {
          std::fprintf(stderr, "%s\n", r.error().message.c_str());
          return 1;
        }
        std::uint64_t w;
        std::memcpy(&w, buf.data(), sizeof w);
        checksum ^= w;
        data_bytes += n;
        p += n;
      }
    }
    off += e->length;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%llu %.6f %llx\n", static_cast<unsigned long long>(data_bytes), secs,
              static_cast<unsigned long long>(checksum));
  return 0;
}

#include "convert/convert.h"

#include <sched.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/bytes.h"
#include "base/checked.h"
#include "convert/measure.h"

namespace ig {
namespace {

constexpr std::uint64_t kBatchBytes = 4 << 20;   // guest bytes one worker reads at a time
constexpr std::uint64_t kRawCluster = 64 << 10;  // batch granularity for raw output
constexpr std::uint64_t kRawZeroBlock = 4096;    // zero-detection granularity for raw output
// Batch buffers start on a page boundary. The kernel copies between them and the page cache
// (pread, pwrite); on this project's AMD EPYC machines, reading into a buffer 16 bytes into a
// page (where malloc puts large blocks) took 3.3 times as long as into an aligned one
// (docs/convert.md).
constexpr std::size_t kBufferAlign = 4096;

// qcow2 constants the writer needs (see src/formats/qcow2.cc and docs/formats/qcow2.md).
constexpr std::uint32_t kQcowMagic = 0x514649fb;
constexpr std::uint32_t kHeaderLength = 112;
constexpr std::uint64_t kOflagCopied = 1ULL << 63;
constexpr std::uint64_t kOflagCompressed = 1ULL << 62;
// The writer counts references in 16 bits whatever the file's refcount width: no host cluster
// is referenced more often than once per 512-byte sector of a 2 MiB cluster (4096 times).
constexpr std::uint64_t kMaxCountedRefcount = 0xffff;

// ---- Planning: which target clusters hold data ----

struct Run {
  std::uint64_t first_cluster = 0;
  std::uint64_t count = 0;
};

// Walks the allocation map and yields runs of target clusters touched by data, in guest order,
// each at most `max_clusters` long. Holes are skipped without being read.
class Planner {
 public:
  Planner(const DiskImage& image, std::uint64_t cluster_size) : image_(image), cs_(cluster_size) {}

  Result<std::optional<Run>> next(std::uint64_t max_clusters) {
    while (offset_ < image_.size()) {
      if (pending_.count > 0) break;
      const Extent e = IG_TRY(image_.extent_at(offset_));
      if (e.length == 0) return Error::internal(fmt::format("{}: empty extent at {}", image_.name(), offset_));
      if (e.kind != ExtentKind::kData) {
        skipped_ += e.length;
        offset_ += e.length;
        continue;
      }
      const std::uint64_t end = align_up(offset_ + e.length, cs_);
      pending_ = Run{offset_ / cs_, end / cs_ - offset_ / cs_};
      offset_ = std::min(end, align_up(image_.size(), cs_));
    }
    if (pending_.count == 0) return std::optional<Run>{};
    Run r{pending_.first_cluster, std::min(pending_.count, max_clusters)};
    pending_.first_cluster += r.count;
    pending_.count -= r.count;
    return std::optional<Run>(r);
  }
  std::uint64_t skipped() const { return skipped_; }

 private:
  const DiskImage& image_;
  std::uint64_t cs_;
  std::uint64_t offset_ = 0;
  Run pending_;
  std::uint64_t skipped_ = 0;
};

// ---- Workers: read, detect zeros, compress ----

enum class ClusterKind { kZero, kRaw, kCompressed };

// A batch's data buffer. Not zero-initialised (the reads fill it), and recycled between
// batches, so that a conversion touches the same few pages instead of faulting in fresh ones.
class Buffer {
 public:
  void resize(std::size_t n) {
    if (n > capacity_) {
      data_.reset(static_cast<std::byte*>(::operator new (n, std::align_val_t{kBufferAlign})));
      capacity_ = n;
    }
    size_ = n;
  }
  std::span<std::byte> span() { return {data_.get(), size_}; }
  std::span<const std::byte> span() const { return {data_.get(), size_}; }
  std::size_t size() const { return size_; }

 private:
  struct AlignedDelete {
    void operator()(std::byte* p) const { ::operator delete (p, std::align_val_t{kBufferAlign}); }
  };
  std::unique_ptr<std::byte, AlignedDelete> data_;
  std::size_t capacity_ = 0;
  std::size_t size_ = 0;
};

struct Batch {
  Run run;
  Buffer data;                                     // run.count clusters, zero-padded past the disk's end
  std::vector<ClusterKind> kinds;                  // per cluster
  std::vector<std::vector<std::byte>> compressed;  // per cluster, for kCompressed
  std::uint64_t bytes_read = 0;
};

class Compressor {
 public:
  Compressor(Compression c, std::uint64_t cluster_size) : c_(c), cs_(cluster_size) {
    if (c_ == Compression::kZstd) zctx_ = ZSTD_createCCtx();
  }
  ~Compressor() {
    if (zctx_ != nullptr) ZSTD_freeCCtx(zctx_);
  }
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  // Compresses one cluster; nothing when it would not shrink below a cluster (stored raw then).
  Result<std::optional<std::vector<std::byte>>> compress(std::span<const std::byte> in) {
    std::vector<std::byte> out(cs_);
    std::size_t n = 0;
    if (c_ == Compression::kZlib) {
      // A 4 KiB window (windowBits -12) and raw deflate, as qemu writes and reads them.
      z_stream zs{};
      if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) != Z_OK) {
        return Error::internal("deflateInit2 failed");
      }
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));  // zlib's API is not const-correct
      zs.avail_in = static_cast<uInt>(in.size());
      zs.next_out = reinterpret_cast<Bytef*>(out.data());
      zs.avail_out = static_cast<uInt>(out.size() - 1);
      const int ret = deflate(&zs, Z_FINISH);
      n = out.size() - 1 - zs.avail_out;
      deflateEnd(&zs);
      if (ret != Z_STREAM_END) return std::optional<std::vector<std::byte>>{};
    } else {
      const std::size_t r = ZSTD_compressCCtx(zctx_, out.data(), out.size() - 1, in.data(), in.size(), 3);
      if (ZSTD_isError(r)) return std::optional<std::vector<std::byte>>{};  // did not fit: store raw
      n = r;
    }
    out.resize(n);
    return std::optional<std::vector<std::byte>>(std::move(out));
  }

 private:
  Compression c_;
  std::uint64_t cs_;
  ZSTD_CCtx* zctx_ = nullptr;
};

Result<void> fill_batch(const DiskImage& image, std::uint64_t cs, Batch& b, Compressor* compressor,
                        std::uint64_t zero_block) {
  const std::uint64_t start = b.run.first_cluster * cs;
  const std::uint64_t bytes = b.run.count * cs;
  const std::uint64_t readable = std::min(bytes, image.size() - start);
  b.data.resize(static_cast<std::size_t>(bytes));
  IG_TRY(image.read_at(start, b.data.span().first(static_cast<std::size_t>(readable))));
  std::fill(b.data.span().begin() + static_cast<std::ptrdiff_t>(readable), b.data.span().end(), std::byte{0});
  b.bytes_read = readable;
  b.kinds.assign(static_cast<std::size_t>(b.run.count), ClusterKind::kRaw);
  b.compressed.resize(static_cast<std::size_t>(b.run.count));
  for (std::size_t i = 0; i < b.run.count; ++i) {
    auto cluster = b.data.span().subspan(i * cs, cs);
    if (zero_block == cs && all_zero(cluster)) {
      b.kinds[i] = ClusterKind::kZero;
      continue;
    }
    if (compressor != nullptr) {
      auto c = IG_TRY(compressor->compress(cluster));
      if (c) {
        b.kinds[i] = ClusterKind::kCompressed;
        b.compressed[i] = std::move(*c);
      }
    }
  }
  return ok();
}

// ---- The qcow2 writer ----

class Qcow2Writer {
 public:
  Qcow2Writer(ByteSink& sink, std::uint64_t virtual_size, std::uint64_t cluster_size, std::uint32_t refcount_bits,
              Compression compression)
      : sink_(sink),
        virtual_size_(virtual_size),
        cs_(cluster_size),
        cluster_bits_(static_cast<std::uint32_t>(std::countr_zero(cluster_size))),
        l2_entries_(cluster_size / 8),
        refcount_order_(static_cast<std::uint32_t>(std::countr_zero(refcount_bits))),
        max_refcount_(
            std::min(kMaxCountedRefcount, refcount_bits >= 64 ? UINT64_MAX : (std::uint64_t{1} << refcount_bits) - 1)),
        compression_(compression),
        next_(cluster_size) {  // cluster 0 is the header, written last
    l1_.assign(static_cast<std::size_t>(div_round_up(div_round_up(virtual_size, cs_), l2_entries_)), 0);
    add_refs(0, cs_);
  }

  // Stores `data` (whole clusters) as the consecutive guest clusters from `first`, with one
  // write. The clusters must lie in one L2 table's range.
  Result<void> add_raw_run(std::uint64_t first, std::span<const std::byte> data) {
    IG_TRY(switch_l2(first));
    next_ = align_up(next_, cs_);
    const std::uint64_t at = next_;
    IG_TRY(write(at, data));
    add_refs(at, data.size());
    next_ = at + data.size();
    const std::uint64_t count = data.size() / cs_;
    for (std::uint64_t i = 0; i < count; ++i) l2_[(first + i) % l2_entries_] = (at + i * cs_) | kOflagCopied;
    return ok();
  }

  std::uint64_t l2_entries() const { return l2_entries_; }

  Result<void> add_compressed(std::uint64_t cluster, std::span<const std::byte> data) {
    IG_TRY(switch_l2(cluster));
    // Compressed data is packed at byte granularity. Its descriptor counts 512-byte sectors from
    // the one holding its start; every host cluster that sector span touches is referenced once
    // more. A refcount is never allowed past the width of the file's refcounts (a 1-bit refcount
    // allows one reference): move to a fresh cluster first.
    std::uint64_t at = next_;
    std::uint64_t sectors = (at + data.size() - 1) / 512 - at / 512 + 1;
    if (!refs_fit(align_down(at, 512), sectors * 512)) {
      at = align_up(at, cs_);
      sectors = (at + data.size() - 1) / 512 - at / 512 + 1;
    }
    IG_TRY(write(at, data));
    add_refs(align_down(at, 512), sectors * 512);
    next_ = at + data.size();
    const std::uint32_t csize_shift = 62 - (cluster_bits_ - 8);
    l2_[cluster % l2_entries_] = kOflagCompressed | ((sectors - 1) << csize_shift) | at;
    return ok();
  }

  // Writes the last L2 table, the L1 table, the refcount structures and the header.
  Result<void> finish() {
    IG_TRY(flush_l2());
    next_ = align_up(next_, cs_);
    const std::uint64_t l1_offset = next_;
    const std::uint64_t l1_clusters = std::max<std::uint64_t>(1, div_round_up(l1_.size() * 8, cs_));
    {
      std::vector<std::byte> buf(static_cast<std::size_t>(l1_clusters * cs_));
      for (std::size_t i = 0; i < l1_.size(); ++i) store_be_ptr(buf.data() + i * 8, l1_[i]);
      IG_TRY(write(l1_offset, buf));
      add_refs(l1_offset, buf.size());
      next_ = l1_offset + buf.size();
    }

    // Refcount table and blocks go at the end and count themselves: qemu's fixed point.
    const std::uint64_t used = next_ / cs_;
    const std::uint64_t refcount_bits = std::uint64_t{1} << refcount_order_;
    const std::uint64_t per_block = cs_ * 8 / refcount_bits;
    const std::uint64_t per_table_cluster = cs_ / 8;
    std::uint64_t blocks = 0;
    std::uint64_t table = 0;
    for (;;) {
      const std::uint64_t b = div_round_up(used + table + blocks, per_block);
      const std::uint64_t t = div_round_up(b, per_table_cluster);
      if (b == blocks && t == table) break;
      blocks = b;
      table = t;
    }
    const std::uint64_t table_offset = next_;
    const std::uint64_t blocks_offset = table_offset + table * cs_;
    add_refs(table_offset, (table + blocks) * cs_);
    {
      std::vector<std::byte> buf(static_cast<std::size_t>(table * cs_));
      for (std::uint64_t i = 0; i < blocks; ++i) store_be_ptr(buf.data() + i * 8, blocks_offset + i * cs_);
      IG_TRY(write(table_offset, buf));
    }
    std::vector<std::byte> block(static_cast<std::size_t>(cs_));
    for (std::uint64_t bi = 0; bi < blocks; ++bi) {
      std::fill(block.begin(), block.end(), std::byte{0});
      for (std::uint64_t j = 0; j < per_block; ++j) {
        const std::uint64_t c = bi * per_block + j;
        if (c >= refs_.size()) break;
        put_refcount(block, j, refs_[static_cast<std::size_t>(c)]);
      }
      IG_TRY(write(blocks_offset + bi * cs_, block));
    }
    next_ = blocks_offset + blocks * cs_;

    // The header, last: until now the file is not a valid image.
    std::vector<std::byte> h(static_cast<std::size_t>(cs_));
    auto put32 = [&](std::size_t off, std::uint32_t v) { store_be_ptr(h.data() + off, v); };
    auto put64 = [&](std::size_t off, std::uint64_t v) { store_be_ptr(h.data() + off, v); };
    put32(0, kQcowMagic);
    put32(4, 3);
    put32(20, cluster_bits_);
    put64(24, virtual_size_);
    put32(36, static_cast<std::uint32_t>(l1_.size()));
    put64(40, l1_offset);
    put64(48, table_offset);
    put32(56, static_cast<std::uint32_t>(table));
    put64(72, compression_ == Compression::kZstd ? (1u << 3) : 0);  // incompatible: compression type
    put32(96, refcount_order_);
    put32(100, kHeaderLength);
    h[104] = std::byte{compression_ == Compression::kZstd ? std::uint8_t{1} : std::uint8_t{0}};
    // Bytes 112.. are zero: the header extension end marker.
    IG_TRY(write(0, h));
    return sink_.set_size(next_);
  }

  std::uint64_t bytes_written() const { return bytes_written_; }

 private:
  Result<void> write(std::uint64_t at, std::span<const std::byte> data) {
    bytes_written_ += data.size();
    return sink_.write_at(at, data);
  }

  bool refs_fit(std::uint64_t at, std::uint64_t length) const {
    for (std::uint64_t c = at / cs_; c <= (at + length - 1) / cs_; ++c) {
      if (c < refs_.size() && refs_[static_cast<std::size_t>(c)] >= max_refcount_) return false;
    }
    return true;
  }

  // Stores refcount `v` as entry `j` of a refcount block (qcow2.txt "Host cluster management"):
  // entries narrower than a byte fill each byte from its least significant bit, as qemu reads
  // them; wider ones are big-endian.
  void put_refcount(std::vector<std::byte>& block, std::uint64_t j, std::uint64_t v) const {
    const std::uint32_t bits = 1u << refcount_order_;
    if (bits < 8) {
      const std::uint64_t bit = j * bits;
      block[static_cast<std::size_t>(bit / 8)] |= static_cast<std::byte>(v << (bit % 8));
      return;
    }
    std::byte* p = block.data() + j * (bits / 8);
    switch (bits) {
      case 8: *p = static_cast<std::byte>(v); break;
      case 16: store_be_ptr(p, static_cast<std::uint16_t>(v)); break;
      case 32: store_be_ptr(p, static_cast<std::uint32_t>(v)); break;
      default: store_be_ptr(p, v); break;
    }
  }

  void add_refs(std::uint64_t at, std::uint64_t length) {
    const std::uint64_t last = (at + length - 1) / cs_;
    if (refs_.size() <= last) refs_.resize(static_cast<std::size_t>(last + 1), 0);
    for (std::uint64_t c = at / cs_; c <= last; ++c) ++refs_[static_cast<std::size_t>(c)];
  }

  // Writes the current L2 table when `cluster` belongs to another one.
  Result<void> switch_l2(std::uint64_t cluster) {
    const std::uint64_t idx = cluster / l2_entries_;
    if (current_l1_ && *current_l1_ == idx) return ok();
    IG_TRY(flush_l2());
    current_l1_ = idx;
    l2_.assign(static_cast<std::size_t>(l2_entries_), 0);
    return ok();
  }

  Result<void> flush_l2() {
    if (!current_l1_) return ok();
    next_ = align_up(next_, cs_);
    std::vector<std::byte> buf(static_cast<std::size_t>(cs_));
    for (std::size_t i = 0; i < l2_.size(); ++i) store_be_ptr(buf.data() + i * 8, l2_[i]);
    IG_TRY(write(next_, buf));
    add_refs(next_, cs_);
    l1_[static_cast<std::size_t>(*current_l1_)] = next_ | kOflagCopied;
    next_ += cs_;
    current_l1_.reset();
    return ok();
  }

  ByteSink& sink_;
  std::uint64_t virtual_size_;
  std::uint64_t cs_;
  std::uint32_t cluster_bits_;
  std::uint64_t l2_entries_;
  std::uint32_t refcount_order_;
  std::uint64_t max_refcount_;
  Compression compression_;
  std::uint64_t next_;  // where the next data lands
  std::vector<std::uint64_t> l1_;
  std::optional<std::uint64_t> current_l1_;
  std::vector<std::uint64_t> l2_;
  std::vector<std::uint16_t> refs_;  // refcount of every host cluster so far
  std::uint64_t bytes_written_ = 0;
};

// ---- The pipeline ----

class Pipeline {
 public:
  Pipeline(const DiskImage& image, const ConvertOptions& o)
      : image_(image),
        o_(o),
        cs_(o.format == TargetFormat::kQcow2 ? o.cluster_size : kRawCluster),
        zero_block_(o.format == TargetFormat::kQcow2 ? cs_ : kRawZeroBlock),
        planner_(image, cs_),
        max_clusters_(std::max<std::uint64_t>(1, kBatchBytes / cs_)) {
    threads_ = o.threads != 0 ? o.threads : usable_cores();
    max_in_flight_ = threads_ * 2 + 1;
  }

  // The cores this thread may run on. From sched_getaffinity, not hardware_concurrency(): glibc
  // reads that from /sys, which the sandbox (sandbox/sandbox.h) does not let a converter open;
  // the affinity mask also honours a cpuset or `taskset`.
  static unsigned usable_cores() {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (::sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) {
      return static_cast<unsigned>(CPU_COUNT(&set));
    }
    return 1;
  }

  // Runs the workers; calls `consume` on each batch in guest order, on this thread.
  Result<void> run(const std::function<Result<void>(Batch&)>& consume) {
    std::vector<std::thread> workers;
    for (unsigned i = 0; i < threads_; ++i) workers.emplace_back([this] { work(); });
    Result<void> result = drain(consume);
    {
      std::lock_guard lock(mu_);
      if (!result && !error_) error_ = result.error();
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : workers) t.join();
    if (error_) return *error_;
    return ok();
  }

  std::uint64_t skipped() const { return planner_.skipped(); }
  std::uint64_t cluster_size() const { return cs_; }

 private:
  void work() {
    Compressor compressor(o_.compression, cs_);
    Compressor* c = o_.compression == Compression::kNone ? nullptr : &compressor;
    for (;;) {
      Batch b;
      std::uint64_t seq = 0;
      {
        std::unique_lock lock(mu_);
        if (!spare_.empty()) {
          b = std::move(spare_.back());
          spare_.pop_back();
        }
        cv_.wait(lock,
                 [&] { return stopping_ || error_ || planned_all_ || next_seq_ - next_to_write_ < max_in_flight_; });
        if (stopping_ || error_ || planned_all_) return;
        if (o_.stop.stop_requested()) {
          error_ = Error{ErrorCode::kCancelled, "conversion cancelled"};
          cv_.notify_all();
          return;
        }
        auto run = planner_.next(max_clusters_);
        if (!run) {
          error_ = run.error();
          cv_.notify_all();
          return;
        }
        if (!*run) {
          planned_all_ = true;
          cv_.notify_all();
          return;
        }
        b.run = **run;
        seq = next_seq_++;
      }
      auto r = fill_batch(image_, cs_, b, c, zero_block_);
      std::lock_guard lock(mu_);
      if (!r) {
        if (!error_) error_ = r.error();
      } else {
        done_.emplace(seq, std::move(b));
      }
      cv_.notify_all();
    }
  }

  Result<void> drain(const std::function<Result<void>(Batch&)>& consume) {
    for (;;) {
      Batch b;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] {
          return error_ || done_.count(next_to_write_) != 0 || (planned_all_ && next_to_write_ == next_seq_);
        });
        if (error_) return *error_;
        auto it = done_.find(next_to_write_);
        if (it == done_.end()) return ok();  // everything planned was written
        b = std::move(it->second);
        done_.erase(it);
      }
      IG_TRY(consume(b));
      {
        std::lock_guard lock(mu_);
        ++next_to_write_;
        spare_.push_back(std::move(b));
      }
      cv_.notify_all();
    }
  }

  const DiskImage& image_;
  const ConvertOptions& o_;
  std::uint64_t cs_;
  std::uint64_t zero_block_;
  Planner planner_;  // used under mu_
  std::uint64_t max_clusters_;
  unsigned threads_ = 1;
  std::uint64_t max_in_flight_ = 3;

  std::mutex mu_;
  std::condition_variable cv_;
  std::uint64_t next_seq_ = 0;
  std::uint64_t next_to_write_ = 0;
  bool planned_all_ = false;
  bool stopping_ = false;
  std::optional<Error> error_;
  std::map<std::uint64_t, Batch> done_;
  std::vector<Batch> spare_;  // consumed batches whose buffers are reused
};

Result<ConvertStats> convert_into(const DiskImage& image, ByteSink& sink, const ConvertOptions& o) {
  IG_TRY(validate(o));
  const auto start = std::chrono::steady_clock::now();
  ConvertStats stats;
  Pipeline pipeline(image, o);
  const std::uint64_t cs = pipeline.cluster_size();
  const std::uint64_t total = image.size();
  auto note_batch = [&](const Batch& b) {
    stats.bytes_read += b.bytes_read;
    if (o.progress) o.progress(std::min(total, (b.run.first_cluster + b.run.count) * cs), total);
  };

  if (o.format == TargetFormat::kQcow2) {
    Qcow2Writer writer(sink, total, cs, o.refcount_bits, o.compression);
    IG_TRY(pipeline.run([&](Batch& b) -> Result<void> {
      for (std::size_t i = 0; i < b.run.count;) {
        const std::uint64_t cluster = b.run.first_cluster + i;
        switch (b.kinds[i]) {
          case ClusterKind::kZero:
            stats.bytes_zero += std::min(cs, total - cluster * cs);
            ++i;
            break;
          case ClusterKind::kRaw: {
            // A run of raw clusters, within one L2 table's range, is one write.
            std::size_t n = 1;
            while (i + n < b.run.count && b.kinds[i + n] == ClusterKind::kRaw &&
                   (cluster + n) % writer.l2_entries() != 0) {
              ++n;
            }
            IG_TRY(writer.add_raw_run(cluster, b.data.span().subspan(i * cs, n * cs)));
            stats.clusters_written += n;
            i += n;
            break;
          }
          case ClusterKind::kCompressed:
            IG_TRY(writer.add_compressed(cluster, b.compressed[i]));
            ++stats.clusters_compressed;
            ++i;
            break;
        }
      }
      note_batch(b);
      return ok();
    }));
    IG_TRY(writer.finish());
    stats.bytes_written = writer.bytes_written();
  } else {
    IG_TRY(sink.set_size(total));
    IG_TRY(pipeline.run([&](Batch& b) -> Result<void> {
      // Write runs of non-zero 4 KiB blocks; the rest stays a hole.
      const std::uint64_t base = b.run.first_cluster * cs;
      const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(b.data.size(), total - base));
      std::size_t pos = 0;
      while (pos < n) {
        const std::size_t blk = static_cast<std::size_t>(std::min<std::uint64_t>(kRawZeroBlock, n - pos));
        if (all_zero(b.data.span().subspan(pos, blk))) {
          stats.bytes_zero += blk;
          pos += blk;
          continue;
        }
        std::size_t end = pos + blk;
        while (end < n) {
          const std::size_t next = static_cast<std::size_t>(std::min<std::uint64_t>(kRawZeroBlock, n - end));
          if (all_zero(b.data.span().subspan(end, next))) break;
          end += next;
        }
        IG_TRY(sink.write_at(base + pos, b.data.span().subspan(pos, end - pos)));
        stats.bytes_written += end - pos;
        stats.clusters_written += div_round_up(end - pos, kRawZeroBlock);
        pos = end;
      }
      note_batch(b);
      return ok();
    }));
  }
  stats.bytes_skipped_holes = pipeline.skipped();
  IG_TRY(sink.commit());
  stats.output_size = sink.size();
  stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return stats;
}

}  // namespace

Result<void> validate(const ConvertOptions& o) {
  if (o.format == TargetFormat::kQcow2) {
    Qcow2TargetOptions t;
    t.cluster_size = o.cluster_size;
    t.refcount_bits = o.refcount_bits;
    IG_TRY(validate(t));
  } else if (o.compression != Compression::kNone) {
    return Error::invalid_argument("compression (-c) needs qcow2 output");
  }
  if (o.threads > 64) return Error::invalid_argument(fmt::format("threads {} (at most 64)", o.threads));
  return ok();
}

Result<ConvertStats> convert(const DiskImage& image, ByteSink& sink, const ConvertOptions& options) {
  return convert_into(image, sink, options);
}

Result<ConvertStats> measure_exact(const DiskImage& image, const ConvertOptions& options) {
  CountingSink sink;
  return convert_into(image, sink, options);
}

}  // namespace ig

// convert: a guest disk (any DiskImage) to a qcow2 v3 file or a sparse raw file.
//
// The source's allocation map decides what is read: holes are never read. Every target cluster
// the source's data touches is read, checked for zeros (an all-zero cluster is not written), and
// with compression, compressed on the worker threads. A single writer then lays the qcow2 out in
// guest order: header (cluster 0), data clusters with each L2 table written as soon as its range
// is complete, then the L1 table and the refcount table and blocks; the header is written last.
// Memory is bounded by the batches in flight, never by the image's size.
//
// The output is deterministic for a given source and options, so running the converter into a
// CountingSink gives the exact size of the file it would write (`measure --exact`).
//
// Thread safety: convert() uses its own worker threads and reads the image concurrently (every
// DiskImage allows that); the sink is used by one thread. Errors: the source's read errors, the
// sink's write errors (ENOSPC named), kCancelled when the stop token fires, kInvalidArgument for
// bad options. On any error nothing is committed.
#pragma once

#include <cstdint>
#include <functional>
#include <stop_token>

#include "formats/disk_image.h"
#include "io/sinks.h"

namespace ig {

enum class TargetFormat { kQcow2, kRaw };
enum class Compression { kNone, kZlib, kZstd };

struct ConvertOptions {
  TargetFormat format = TargetFormat::kQcow2;
  std::uint64_t cluster_size = 65536;  // qcow2: a power of two in [512, 2 MiB]
  std::uint32_t refcount_bits = 16;    // qcow2: the width of a refcount, a power of two in [1, 64]
  Compression compression = Compression::kNone;
  unsigned threads = 0;  // worker threads; 0 = one per core
  // Called by the writer after each batch: (guest bytes done, guest bytes in all).
  std::function<void(std::uint64_t, std::uint64_t)> progress;
  std::stop_token stop;
};

struct ConvertStats {
  std::uint64_t bytes_read = 0;           // guest bytes read from the source
  std::uint64_t bytes_skipped_holes = 0;  // guest bytes never read: holes, zero and unallocated extents
  std::uint64_t bytes_zero = 0;           // guest bytes read but found all-zero, not written
  std::uint64_t clusters_written = 0;     // data clusters stored uncompressed
  std::uint64_t clusters_compressed = 0;  // data clusters stored compressed
  std::uint64_t bytes_written = 0;        // bytes written to the output, metadata included
  std::uint64_t output_size = 0;          // the output file's size
  double seconds = 0;
};

// Validates options; kInvalidArgument naming the bad one.
Result<void> validate(const ConvertOptions& options);

// Converts `image` into `sink` and commits it.
Result<ConvertStats> convert(const DiskImage& image, ByteSink& sink, const ConvertOptions& options);

// The exact size of the file convert() would write for these options (a dry run).
Result<ConvertStats> measure_exact(const DiskImage& image, const ConvertOptions& options);

}  // namespace ig

#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>

#include <climits>
#include <memory>
#include <optional>

#include "formats/internal.h"

namespace ig {

namespace {

// Whole-buffer inflation with libdeflate, two to three times zlib's speed. It only answers for a
// stream that ends within `in` and fits `out`; every other case (a stream larger than `out`,
// one cut short, a malformed one) is left to zlib below, which decides what that means.
std::optional<std::size_t> fast_inflate(std::span<const std::byte> in, std::span<std::byte> out, bool zlib_wrapper) {
  struct Free {
    void operator()(libdeflate_decompressor* d) const { libdeflate_free_decompressor(d); }
  };
  thread_local std::unique_ptr<libdeflate_decompressor, Free> d(libdeflate_alloc_decompressor());
  if (!d) return std::nullopt;
  std::size_t used = 0;
  std::size_t produced = 0;
  const libdeflate_result r =
      zlib_wrapper
          ? libdeflate_zlib_decompress_ex(d.get(), in.data(), in.size(), out.data(), out.size(), &used, &produced)
          : libdeflate_deflate_decompress_ex(d.get(), in.data(), in.size(), out.data(), out.size(), &used, &produced);
  if (r != LIBDEFLATE_SUCCESS) return std::nullopt;
  return produced;
}

}  // namespace

Result<std::size_t> inflate_into(std::span<const std::byte> in, std::span<std::byte> out, bool zlib_wrapper) {
  if (const auto produced = fast_inflate(in, out, zlib_wrapper)) return *produced;
  if (in.size() > UINT_MAX || out.size() > UINT_MAX) {
    return Error::limit_exceeded(fmt::format("deflate: buffer of {} / {} bytes too large", in.size(), out.size()));
  }
  z_stream zs{};
  if (inflateInit2(&zs, zlib_wrapper ? MAX_WBITS : -MAX_WBITS) != Z_OK) {
    return Error::internal("deflate: inflateInit2 failed");
  }
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(in.data()));  // zlib's API is not const-correct
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int ret = inflate(&zs, Z_FINISH);
  const std::size_t produced = out.size() - zs.avail_out;
  const char* msg = zs.msg;
  inflateEnd(&zs);
  // Z_BUF_ERROR with a full output means the stream holds more than fits: we stop at the bound.
  if (ret == Z_STREAM_END || (ret == Z_BUF_ERROR && produced == out.size())) return produced;
  if (ret == Z_BUF_ERROR) return produced;  // input ended early: the caller checks the length
  return Error::corrupt(fmt::format("deflate: {} after {} bytes", msg != nullptr ? msg : "invalid stream", produced));
}

Result<std::size_t> zstd_into(std::span<const std::byte> in, std::span<std::byte> out) {
  ZSTD_DCtx* dctx = ZSTD_createDCtx();
  if (dctx == nullptr) return Error::internal("zstd: ZSTD_createDCtx failed");
  // A hostile frame may ask for a huge window; 2^27 is zstd's default cap, far above 2 MiB clusters.
  ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, 27);
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  ZSTD_outBuffer output{out.data(), out.size(), 0};
  // qemu writes one or more frames back to back; stop when the output is full or input ends.
  while (output.pos < output.size && input.pos < input.size) {
    const std::size_t ret = ZSTD_decompressStream(dctx, &output, &input);
    if (ZSTD_isError(ret)) {
      std::string name = ZSTD_getErrorName(ret);
      ZSTD_freeDCtx(dctx);
      return Error::corrupt(fmt::format("zstd: {} after {} bytes", name, output.pos));
    }
    if (ret == 0 && input.pos < input.size) {
      // A frame ended; the next byte must start another frame or the stream is done.
      continue;
    }
    if (ret != 0 && input.pos == input.size) break;
  }
  ZSTD_freeDCtx(dctx);
  return output.pos;
}

}  // namespace ig

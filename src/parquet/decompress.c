/* decompress.c — the page codecs of parquet.thrift, decompression side.
 *
 * Every codec must produce exactly the page's uncompressed_page_size bytes; anything else is
 * corruption. The deprecated LZ4 codec is ambiguous in the wild: parquet-mr wrote Hadoop's
 * framing (big-endian uncompressed and compressed lengths before each raw LZ4 block) while
 * old parquet-cpp wrote the LZ4 frame format, and some writers wrote a bare block. Like other
 * readers we try Hadoop framing first, then the frame format, then a raw block.
 */
#include "parquet/reader_internal.h"

#include <brotli/decode.h>
#include <limits.h>
#include <lz4.h>
#include <lz4frame.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

static pl_status wrong_size(const char *codec, size_t got, size_t want, pl_error *err) {
  return pl_error_set(err, PL_ECORRUPT, "%s data decompresses to %zu bytes, page header says %zu",
                      codec, got, want);
}

static pl_status snappy_dec(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len,
                            pl_error *err) {
  size_t len;
  if (snappy_uncompressed_length((const char *)src, n, &len) != SNAPPY_OK)
    return pl_error_set(err, PL_ECORRUPT, "invalid SNAPPY data (bad length header)");
  if (len != dst_len) return wrong_size("SNAPPY", len, dst_len, err);
  size_t out = dst_len;
  if (snappy_uncompress((const char *)src, n, (char *)dst, &out) != SNAPPY_OK || out != dst_len)
    return pl_error_set(err, PL_ECORRUPT, "invalid SNAPPY data");
  return PL_OK;
}

/* GZIP (and zlib) streams; a page may hold several concatenated gzip members. */
static pl_status gzip_dec(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len,
                          pl_error *err) {
  z_stream z;
  memset(&z, 0, sizeof z);
  if (inflateInit2(&z, 15 + 32) != Z_OK) return pl_error_set(err, PL_ENOMEM, "zlib init failed");
  size_t in_done = 0, out_done = 0;
  pl_status st = PL_OK;
  for (;;) {
    size_t in_left = n - in_done, out_left = dst_len - out_done;
    z.next_in = (Bytef *)(src + in_done);
    z.avail_in = (uInt)(in_left > UINT_MAX ? UINT_MAX : in_left);
    z.next_out = dst + out_done;
    z.avail_out = (uInt)(out_left > UINT_MAX ? UINT_MAX : out_left);
    uInt ai = z.avail_in, ao = z.avail_out;
    int rc = inflate(&z, Z_NO_FLUSH);
    in_done += ai - z.avail_in;
    out_done += ao - z.avail_out;
    if (rc == Z_STREAM_END) {
      /* another member may follow (concatenated gzip); trailing zero padding is tolerated */
      while (in_done < n && src[in_done] == 0) in_done++;
      if (in_done >= n) break;
      if (inflateReset(&z) != Z_OK) {
        st = pl_error_set(err, PL_ECORRUPT, "invalid GZIP data");
        break;
      }
      continue;
    }
    if (rc == Z_OK && (ai != z.avail_in || ao != z.avail_out)) continue;
    if (rc == Z_BUF_ERROR && out_done == dst_len && in_done < n) {
      st = pl_error_set(err, PL_ECORRUPT, "GZIP data decompresses to more than %zu bytes", dst_len);
      break;
    }
    st = pl_error_set(err, PL_ECORRUPT, "invalid GZIP data (%s)", z.msg ? z.msg : "truncated");
    break;
  }
  inflateEnd(&z);
  if (!st && out_done != dst_len) st = wrong_size("GZIP", out_done, dst_len, err);
  return st;
}

static pl_status zstd_dec(pl__codecs *cx, const uint8_t *src, size_t n, uint8_t *dst,
                          size_t dst_len, pl_error *err) {
  /* One context per reader, kept: creating one per page costs more than small pages. */
  if (!cx->zstd) cx->zstd = ZSTD_createDCtx();
  ZSTD_DCtx *dctx = cx->zstd;
  if (!dctx) return pl_error_set(err, PL_ENOMEM, "zstd context allocation failed");
  /* Frames may be concatenated; ZSTD_decompressDCtx handles that. */
  size_t r = ZSTD_decompressDCtx(dctx, dst, dst_len, src, n);
  if (ZSTD_isError(r))
    return pl_error_set(err, PL_ECORRUPT, "invalid ZSTD data (%s)", ZSTD_getErrorName(r));
  if (r != dst_len) return wrong_size("ZSTD", r, dst_len, err);
  return PL_OK;
}

static pl_status brotli_dec(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len,
                            pl_error *err) {
  BrotliDecoderState *s = BrotliDecoderCreateInstance(NULL, NULL, NULL);
  if (!s) return pl_error_set(err, PL_ENOMEM, "brotli decoder allocation failed");
  size_t in_left = n, out_left = dst_len;
  const uint8_t *in = src;
  uint8_t *out = dst;
  BrotliDecoderResult r = BrotliDecoderDecompressStream(s, &in_left, &in, &out_left, &out, NULL);
  bool more_out = r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT;
  BrotliDecoderDestroyInstance(s);
  if (more_out)
    return pl_error_set(err, PL_ECORRUPT, "BROTLI data decompresses to more than %zu bytes", dst_len);
  if (r != BROTLI_DECODER_RESULT_SUCCESS) return pl_error_set(err, PL_ECORRUPT, "invalid BROTLI data");
  if (out_left) return wrong_size("BROTLI", dst_len - out_left, dst_len, err);
  return PL_OK;
}

static pl_status lz4_raw_dec(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len,
                             pl_error *err) {
  if (n > INT_MAX || dst_len > INT_MAX)
    return pl_error_set(err, PL_EUNSUPPORTED, "LZ4 block larger than 2 GiB");
  int r = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)dst_len);
  if (r < 0) return pl_error_set(err, PL_ECORRUPT, "invalid LZ4_RAW data");
  if ((size_t)r != dst_len) return wrong_size("LZ4_RAW", (size_t)r, dst_len, err);
  return PL_OK;
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Hadoop framing: repeated [u32be uncompressed][u32be compressed][raw LZ4 block]. */
static bool lz4_hadoop(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len) {
  size_t in = 0, out = 0;
  while (in < n) {
    if (n - in < 8) return false;
    uint32_t ulen = be32(src + in), clen = be32(src + in + 4);
    in += 8;
    if (clen > n - in || ulen > dst_len - out || clen > INT_MAX || ulen > INT_MAX) return false;
    int r = LZ4_decompress_safe((const char *)src + in, (char *)dst + out, (int)clen, (int)ulen);
    if (r < 0 || (uint32_t)r != ulen) return false;
    in += clen;
    out += ulen;
  }
  return out == dst_len;
}

static bool lz4_frame(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len) {
  LZ4F_dctx *d;
  if (LZ4F_isError(LZ4F_createDecompressionContext(&d, LZ4F_VERSION))) return false;
  size_t in = 0, out = 0;
  bool ok = false;
  while (in < n) {
    size_t isz = n - in, osz = dst_len - out;
    size_t r = LZ4F_decompress(d, dst + out, &osz, src + in, &isz, NULL);
    if (LZ4F_isError(r)) break;
    in += isz;
    out += osz;
    if (r == 0) { /* frame complete */
      ok = in == n && out == dst_len;
      break;
    }
    if (isz == 0 && osz == 0) break;
  }
  LZ4F_freeDecompressionContext(d);
  return ok;
}

static pl_status lz4_dec(const uint8_t *src, size_t n, uint8_t *dst, size_t dst_len,
                         pl_error *err) {
  if (lz4_hadoop(src, n, dst, dst_len)) return PL_OK;
  if (lz4_frame(src, n, dst, dst_len)) return PL_OK;
  if (n <= INT_MAX && dst_len <= INT_MAX) {
    int r = LZ4_decompress_safe((const char *)src, (char *)dst, (int)n, (int)dst_len);
    if (r >= 0 && (size_t)r == dst_len) return PL_OK;
  }
  return pl_error_set(err, PL_ECORRUPT,
                      "invalid LZ4 data (neither Hadoop framing, an LZ4 frame nor a raw block)");
}

void pl__codecs_release(pl__codecs *cx) {
  if (cx->zstd) ZSTD_freeDCtx(cx->zstd);
  cx->zstd = NULL;
}

pl_status pl__decompress(pl__codecs *cx, int codec, const uint8_t *src, size_t src_len, uint8_t *dst,
                         size_t dst_len, pl_error *err) {
  uint8_t dummy[1];
  if (!dst) dst = dummy; /* an empty page has no buffer; codecs still check their stream */
  if (!src) src = dummy;
  switch (codec) {
  case PL_CODEC_UNCOMPRESSED:
    if (src_len != dst_len) return wrong_size("UNCOMPRESSED", src_len, dst_len, err);
    if (dst_len) memcpy(dst, src, dst_len);
    return PL_OK;
  case PL_CODEC_SNAPPY: return snappy_dec(src, src_len, dst, dst_len, err);
  case PL_CODEC_GZIP: return gzip_dec(src, src_len, dst, dst_len, err);
  case PL_CODEC_ZSTD: return zstd_dec(cx, src, src_len, dst, dst_len, err);
  case PL_CODEC_BROTLI: return brotli_dec(src, src_len, dst, dst_len, err);
  case PL_CODEC_LZ4_RAW: return lz4_raw_dec(src, src_len, dst, dst_len, err);
  case PL_CODEC_LZ4: return lz4_dec(src, src_len, dst, dst_len, err);
  case PL_CODEC_LZO: return pl_error_set(err, PL_EUNSUPPORTED, "codec LZO is not supported");
  default: return pl_error_set(err, PL_ECORRUPT, "unknown compression codec %d", codec);
  }
}

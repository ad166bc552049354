/* compress.c — page compression for the writer (Compression.md): UNCOMPRESSED, SNAPPY (raw
 * snappy), GZIP (deflate with the gzip framing, RFC 1952), ZSTD (frame, with level), LZ4_RAW
 * (one LZ4 block, no framing) and BROTLI. Level 0 asks for praline's default: zstd 1 (as in Arrow
 * C++ and arrow-rs; libzstd's own default, 3, costs ~30% more CPU for ~5% fewer bytes on the
 * laion data), brotli 1, zlib's own default for gzip. A compressor keeps its library context between pages
 * so a column chunk does not pay for a fresh context per page. The library contexts are
 * allocated by the libraries themselves and are not charged to the budget (they are a few
 * hundred KiB at most and live as long as the writer). */
#include "parquet/writer_internal.h"

#include <brotli/encode.h>
#include <limits.h>
#include <lz4.h>
#include <snappy-c.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

struct pl__compressor {
  pl_codec codec;
  int level;
  ZSTD_CCtx *zstd;
  z_stream *gz;
  bool gz_ready;
};

pl_status pl_codec_check_level(pl_codec c, int level, pl_error *err) {
  int lo = c == PL_CODEC_ZSTD ? -7 : c == PL_CODEC_GZIP ? 1 : 0;
  int hi = c == PL_CODEC_ZSTD ? 22 : c == PL_CODEC_GZIP ? 9 : c == PL_CODEC_BROTLI ? 11 : 0;
  if (level == 0 || (level >= lo && level <= hi)) return PL_OK;
  if (hi == 0) return pl_error_set(err, PL_EINVAL, "codec %s takes no codec_level", pl_codec_name(c));
  return pl_error_set(err, PL_EINVAL, "codec_level for %s must be %d..%d (0 = default), got %d", pl_codec_name(c),
                      lo, hi, level);
}

pl__compressor *pl__compressor_new(pl_codec codec, int level, pl_error *err) {
  switch (codec) {
  case PL_CODEC_UNCOMPRESSED:
  case PL_CODEC_SNAPPY:
  case PL_CODEC_GZIP:
  case PL_CODEC_ZSTD:
  case PL_CODEC_LZ4_RAW:
  case PL_CODEC_BROTLI:
    break;
  default:
    pl_error_set(err, PL_EUNSUPPORTED, "codec %s is not supported for writing", pl_codec_name(codec));
    return NULL;
  }
  pl__compressor *c = pl_calloc(1, sizeof *c);
  c->codec = codec;
  c->level = level;
  if (codec == PL_CODEC_ZSTD) {
    c->zstd = ZSTD_createCCtx();
    if (!c->zstd) {
      pl_free(c);
      pl_error_set(err, PL_ENOMEM, "zstd: cannot create a compression context");
      return NULL;
    }
    ZSTD_CCtx_setParameter(c->zstd, ZSTD_c_compressionLevel, level ? level : PL__ZSTD_DEFAULT_LEVEL);
  }
  return c;
}

void pl__compressor_free(pl__compressor *c) {
  if (!c) return;
  if (c->zstd) ZSTD_freeCCtx(c->zstd);
  if (c->gz) {
    if (c->gz_ready) deflateEnd(c->gz);
    pl_free(c->gz);
  }
  pl_free(c);
}

static pl_status gzip_compress(pl__compressor *c, const uint8_t *src, size_t n, pl_buf *out,
                               pl_error *err) {
  if (!c->gz) c->gz = pl_calloc(1, sizeof *c->gz);
  int lvl = c->level ? c->level : Z_DEFAULT_COMPRESSION;
  if (!c->gz_ready) {
    /* windowBits 15 + 16 asks zlib for the gzip header and trailer */
    if (deflateInit2(c->gz, lvl, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      return pl_error_set(err, PL_ENOMEM, "gzip: cannot create a compression context");
    c->gz_ready = true;
  } else if (deflateReset(c->gz) != Z_OK) {
    return pl_error_set(err, PL_EINTERNAL, "gzip: deflateReset failed");
  }
  size_t bound = deflateBound(c->gz, (uLong)n) + 32;
  pl_status st = pl__buf_grow(out, bound, err);
  if (st) return st;
  /* zlib counts in uInt: feed and drain at most 1 GiB at a time */
  c->gz->next_in = (Bytef *)(uintptr_t)src;
  size_t left_in = n;
  for (;;) {
    uInt in_now = left_in > (1u << 30) ? (1u << 30) : (uInt)left_in;
    c->gz->avail_in = in_now;
    size_t room = out->cap - out->len;
    c->gz->next_out = out->data + out->len;
    c->gz->avail_out = room > (1u << 30) ? (1u << 30) : (uInt)room;
    uInt out_before = c->gz->avail_out;
    int flush = left_in == in_now ? Z_FINISH : Z_NO_FLUSH;
    int rc = deflate(c->gz, flush);
    out->len += out_before - c->gz->avail_out;
    left_in -= in_now - c->gz->avail_in;
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && rc != Z_BUF_ERROR)
      return pl_error_set(err, PL_EINTERNAL, "gzip: deflate failed (%d)", rc);
    if (out->cap - out->len < 64) {
      st = pl_buf_reserve(out, 1u << 16, err);
      if (st) return st;
    }
  }
  return PL_OK;
}

size_t pl__compress_bound(const pl__compressor *c, size_t n) {
  switch (c->codec) {
  case PL_CODEC_SNAPPY: return snappy_max_compressed_length(n);
  case PL_CODEC_GZIP: return (size_t)compressBound((uLong)n) + 32; /* + gzip header and trailer */
  case PL_CODEC_ZSTD: return ZSTD_compressBound(n);
  case PL_CODEC_LZ4_RAW: return n > (size_t)LZ4_MAX_INPUT_SIZE ? n : (size_t)LZ4_compressBound((int)n);
  case PL_CODEC_BROTLI: {
    size_t b = BrotliEncoderMaxCompressedSize(n);
    return b ? b : n + (n >> 2) + 1024;
  }
  default: return n;
  }
}

pl_status pl__compress(pl__compressor *c, const uint8_t *src, size_t n, pl_buf *out, pl_error *err) {
  pl_status st;
  switch (c->codec) {
  case PL_CODEC_UNCOMPRESSED:
    if ((st = pl__buf_grow(out, n, err))) return st;
    return pl_buf_append(out, src, n, err);
  case PL_CODEC_SNAPPY: {
    size_t bound = snappy_max_compressed_length(n);
    if ((st = pl__buf_grow(out, bound, err))) return st;
    size_t len = out->cap - out->len;
    if (snappy_compress((const char *)src, n, (char *)out->data + out->len, &len) != SNAPPY_OK)
      return pl_error_set(err, PL_EINTERNAL, "snappy: compression of %zu bytes failed", n);
    out->len += len;
    return PL_OK;
  }
  case PL_CODEC_GZIP:
    return gzip_compress(c, src, n, out, err);
  case PL_CODEC_ZSTD: {
    size_t bound = ZSTD_compressBound(n);
    if ((st = pl__buf_grow(out, bound, err))) return st;
    size_t r = ZSTD_compress2(c->zstd, out->data + out->len, out->cap - out->len, src, n);
    if (ZSTD_isError(r))
      return pl_error_set(err, PL_EINTERNAL, "zstd: %s", ZSTD_getErrorName(r));
    out->len += r;
    return PL_OK;
  }
  case PL_CODEC_LZ4_RAW: {
    if (n > (size_t)LZ4_MAX_INPUT_SIZE)
      return pl_error_set(err, PL_EUNSUPPORTED, "lz4: a page of %zu bytes is over LZ4's limit", n);
    int bound = LZ4_compressBound((int)n);
    if ((st = pl__buf_grow(out, (size_t)bound, err))) return st;
    int r = LZ4_compress_default((const char *)src, (char *)out->data + out->len, (int)n, bound);
    if (r <= 0 && n > 0) return pl_error_set(err, PL_EINTERNAL, "lz4: compression of %zu bytes failed", n);
    out->len += (size_t)r;
    return PL_OK;
  }
  case PL_CODEC_BROTLI: {
    size_t bound = BrotliEncoderMaxCompressedSize(n);
    if (bound == 0) bound = n + (n >> 2) + 1024; /* 0 means "too big to say" */
    if ((st = pl__buf_grow(out, bound, err))) return st;
    size_t len = out->cap - out->len;
    int q = c->level ? c->level : 1; /* brotli's own default (11) is far too slow for pages */
    if (!BrotliEncoderCompress(q, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, n, src, &len,
                               out->data + out->len))
      return pl_error_set(err, PL_EINTERNAL, "brotli: compression of %zu bytes failed", n);
    out->len += len;
    return PL_OK;
  }
  default:
    return pl_error_set(err, PL_EUNSUPPORTED, "codec %s is not supported for writing",
                        pl_codec_name(c->codec));
  }
}

pl_status pl__compress2(pl__compressor *c, const uint8_t *a, size_t na, const uint8_t *b, size_t nb,
                        pl_buf *out, pl_buf *scratch, pl_error *err) {
  pl_status st;
  if (na == 0) return pl__compress(c, b, nb, out, err);
  if (nb == 0) return pl__compress(c, a, na, out, err);
  if (c->codec == PL_CODEC_UNCOMPRESSED) {
    if ((st = pl__buf_grow(out, na + nb, err))) return st;
    memcpy(out->data + out->len, a, na);
    memcpy(out->data + out->len + na, b, nb);
    out->len += na + nb;
    return PL_OK;
  }
  if (c->codec == PL_CODEC_ZSTD && nb > ((size_t)4 << 20)) {
    /* one frame from two inputs: no joined copy of a big page. Only for big pages: streaming
     * makes zstd allocate its input/output stage buffers (outside the budget), while joining
     * a normal page costs one small copy. */
    size_t bound = ZSTD_compressBound(na + nb);
    if ((st = pl__buf_grow(out, bound, err))) return st;
    ZSTD_CCtx_reset(c->zstd, ZSTD_reset_session_only);
    ZSTD_CCtx_setPledgedSrcSize(c->zstd, (unsigned long long)(na + nb));
    ZSTD_outBuffer ob = {out->data + out->len, out->cap - out->len, 0};
    ZSTD_inBuffer ia = {a, na, 0}, ib = {b, nb, 0};
    while (ia.pos < ia.size) {
      size_t r = ZSTD_compressStream2(c->zstd, &ob, &ia, ZSTD_e_continue);
      if (ZSTD_isError(r)) return pl_error_set(err, PL_EINTERNAL, "zstd: %s", ZSTD_getErrorName(r));
    }
    for (;;) {
      size_t r = ZSTD_compressStream2(c->zstd, &ob, &ib, ZSTD_e_end);
      if (ZSTD_isError(r)) return pl_error_set(err, PL_EINTERNAL, "zstd: %s", ZSTD_getErrorName(r));
      if (r == 0) break;
      if (ob.pos == ob.size) return pl_error_set(err, PL_EINTERNAL, "zstd: output over compressBound");
    }
    out->len += ob.pos;
    return PL_OK;
  }
  scratch->len = 0;
  if ((st = pl__buf_grow(scratch, na + nb, err))) return st;
  memcpy(scratch->data, a, na);
  memcpy(scratch->data + na, b, nb);
  scratch->len = na + nb;
  return pl__compress(c, scratch->data, scratch->len, out, err);
}

/* writer_internal.h — pieces of the Parquet writer shared between its files:
 * the Thrift compact-protocol encoder (thrift_write.c), the page encoders (encode.c) and the
 * page compressors (compress.c). Nothing here is public; see include/praline/parquet.h. */
#ifndef PRALINE_PARQUET_WRITER_INTERNAL_H
#define PRALINE_PARQUET_WRITER_INTERNAL_H

#include "praline/parquet.h"

/* ------------------------------------------------------------------ thrift_write.c */
/* Appends the compact-protocol serialisation of md (a FileMetaData) to out. Every leaf gets a
 * TypeDefinedOrder column order when md->n_column_orders > 0 (n_column_orders of them). */
pl_status pl__thrift_write_file_metadata(pl_buf *out, const pl_pq_file_metadata *md, pl_error *err);
/* Appends a PageHeader. */
pl_status pl__thrift_write_page_header(pl_buf *out, const pl_pq_page_header *h, pl_error *err);

/* ------------------------------------------------------------------ writer.c */
/* "<dir>/.<name>.tmp-<pid>-<n>" beside path: where a file is written before its rename (the
 * engine removes such leftovers on resume). */
char *pl__temp_path(const char *path);
/* fsyncs the directory of path, so that a rename in it is durable (best effort). */
void pl__fsync_dir(const char *path);

/* ------------------------------------------------------------------ direct.c */
/* Writes all n bytes at the fd's offset (EINTR retried); *at is the file offset, advanced by
 * what was written, for messages that name path. On a failed write, *errnum (if not NULL) is
 * its errno. Shared by the writer, its direct output and the chunk copy. */
pl_status pl__write_full(int fd, const void *p, size_t n, uint64_t *at, const char *path, int *errnum,
                         pl_error *err);
/* The O_DIRECT output of an fd opened with O_DIRECT: 4 KiB-aligned blocks of
 * PL_PARQUET_DIRECT_BYTES, two of them (charged to b), one filled by the caller while a
 * background thread writes the other. The fd and path stay the caller's; errors name the
 * path and the file offset. */
typedef struct pl__dout pl__dout;
pl__dout *pl__dout_new(int fd, const char *path, pl_budget *b, pl_error *err);
/* Appends n bytes; a full block goes to the thread. A failed write (the thread's included)
 * is returned by this or a later call. */
pl_status pl__dout_write(pl__dout *d, const void *p, size_t n, pl_error *err);
/* Waits for the block in flight, then writes what is left: the aligned part directly, the
 * rest after dropping O_DIRECT. Every byte given is in the file when it returns PL_OK. */
pl_status pl__dout_flush(pl__dout *d, pl_error *err);
/* Drops O_DIRECT from the fd (false when fcntl refuses). */
bool pl__dout_direct_off(pl__dout *d);
/* Waits for the block in flight and stops the thread; the fd stays open. NULL is a no-op. */
void pl__dout_free(pl__dout *d);

/* ------------------------------------------------------------------ encode.c */
/* Number of bits needed to store v (0 for v == 0). */
static inline int pl__bit_width(uint64_t v) { return v ? 64 - __builtin_clzll(v) : 0; }

/* RLE / bit-packed hybrid (Encodings.md) of n values of bit width bw (0..32), appended to out
 * without any length prefix. */
pl_status pl__rle_encode_u16(pl_buf *out, const uint16_t *v, int64_t n, int bw, pl_error *err);
pl_status pl__rle_encode_u32(pl_buf *out, const uint32_t *v, int64_t n, int bw, pl_error *err);
/* RLE hybrid of booleans given one byte (0/1) per value. */
pl_status pl__rle_encode_u8(pl_buf *out, const uint8_t *v, int64_t n, int bw, pl_error *err);
/* PLAIN booleans: bit-packed LSB first, from one byte (0/1) per value. */
pl_status pl__plain_bools(pl_buf *out, const uint8_t *v, int64_t n, pl_error *err);
/* DELTA_BINARY_PACKED of n int32 (wrapping 32-bit deltas) or int64 values. */
pl_status pl__delta_encode_i32(pl_buf *out, const int32_t *v, int64_t n, pl_error *err);
pl_status pl__delta_encode_i64(pl_buf *out, const int64_t *v, int64_t n, pl_error *err);
/* ULEB128 into p (at least 10 bytes), returns the bytes written. */
static inline int pl__uleb(uint8_t *p, uint64_t v) {
  int n = 0;
  while (v >= 0x80) {
    p[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  p[n++] = (uint8_t)v;
  return n;
}

/* Makes room for `extra` more bytes. Small growth doubles (amortised appends); a jump past
 * twice the capacity (a big value, a big page) reserves the exact size, so one 128 MiB value
 * costs 128 MiB and not the next power of two. */
static inline pl_status pl__buf_grow(pl_buf *b, size_t extra, pl_error *err) {
  size_t need;
  if (__builtin_add_overflow(b->len, extra, &need)) return pl_error_set(err, PL_ENOMEM, "buffer size overflows");
  if (need <= b->cap) return PL_OK;
  if (need > 2 * b->cap && need > ((size_t)1 << 20)) return pl_buf_reserve_total(b, need, err);
  return pl_buf_reserve(b, extra, err);
}

/* ------------------------------------------------------------------ compress.c */
/* zstd level used when codec_level is 0 (the default of Arrow C++ and arrow-rs). */
#define PL__ZSTD_DEFAULT_LEVEL 1
/* A reusable compressor for one codec and level (the contexts are kept between pages). */
typedef struct pl__compressor pl__compressor;
pl__compressor *pl__compressor_new(pl_codec codec, int level, pl_error *err);
void pl__compressor_free(pl__compressor *c);
/* Bytes that the compressed form of n input bytes never exceeds (pl__compress reserves it). */
size_t pl__compress_bound(const pl__compressor *c, size_t n);
/* Appends the compressed form of src[0..n) to out (UNCOMPRESSED copies). */
pl_status pl__compress(pl__compressor *c, const uint8_t *src, size_t n, pl_buf *out, pl_error *err);
/* Appends the compressed form of a[0..na) followed by b[0..nb) (one frame/block, as if the two
 * were one buffer). ZSTD and UNCOMPRESSED read the two pieces in place; the other codecs join
 * them in `scratch` first. */
pl_status pl__compress2(pl__compressor *c, const uint8_t *a, size_t na, const uint8_t *b, size_t nb,
                        pl_buf *out, pl_buf *scratch, pl_error *err);

#endif

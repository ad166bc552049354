/* encode.c — the value and level encodings the writer emits (Encodings.md): the RLE /
 * bit-packed hybrid (levels, dictionary indices, booleans), PLAIN booleans and
 * DELTA_BINARY_PACKED. Each encoder reserves its worst case once and then writes through a
 * raw pointer, so the inner loops have no calls and no per-value checks. */
#include "parquet/writer_internal.h"

#include <string.h>

/* Worst case of the hybrid: every 8 values cost bw bytes plus a header of at most 5 bytes,
 * or an RLE header (at most 10 bytes) plus the value (at most 4 bytes). */
static pl_status rle_reserve(pl_buf *out, int64_t n, int bw, pl_error *err) {
  size_t groups = (size_t)(n / 8) + 2, need;
  if (__builtin_mul_overflow(groups, (size_t)bw + 16, &need))
    return pl_error_set(err, PL_ENOMEM, "RLE encoder: %lld values overflow", (long long)n);
  return pl_buf_reserve(out, need + 16, err);
}

/* Bit-packs n values (n <= 8 * groups; the rest of the groups is zero padding) LSB first.
 * With bw <= 16, each whole group of 8 values is packed into one 128-bit word and stored at
 * once (dictionary indices were 1.2 % of W2a's CPU value by value); the rest value by value. */
static inline void store_le128(uint8_t *p, unsigned __int128 g, int n) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  memcpy(p, &g, (size_t)n);
#else
  for (int b = 0; b < n; b++) p[b] = (uint8_t)(g >> (8 * b));
#endif
}

#define PACK_LOOP(T)                                                                       \
  static uint8_t *pack_##T(uint8_t *p, const T *v, int64_t n, int64_t padded, int bw) {   \
    if (bw == 0) return p;                                                                 \
    int64_t i0 = 0;                                                                        \
    if (bw <= 16)                                                                          \
      for (; i0 + 8 <= n; i0 += 8) {                                                       \
        unsigned __int128 g = 0;                                                           \
        for (int k = 0; k < 8; k++) g |= (unsigned __int128)v[i0 + k] << (k * bw);         \
        store_le128(p, g, bw);                                                             \
        p += bw;                                                                           \
      }                                                                                    \
    uint64_t acc = 0;                                                                      \
    int bits = 0;                                                                          \
    for (int64_t i = i0; i < padded; i++) {                                                \
      uint64_t x = i < n ? (uint64_t)v[i] : 0;                                             \
      acc |= x << bits;                                                                    \
      bits += bw;                                                                          \
      while (bits >= 8) {                                                                  \
        *p++ = (uint8_t)acc;                                                               \
        acc >>= 8;                                                                         \
        bits -= 8;                                                                         \
      }                                                                                    \
    }                                                                                      \
    if (bits > 0) *p++ = (uint8_t)acc;                                                     \
    return p;                                                                              \
  }
PACK_LOOP(uint8_t)
PACK_LOOP(uint16_t)
PACK_LOOP(uint32_t)

/* A repeated run of at least 8 equal values becomes an RLE run; everything else goes into
 * bit-packed runs of whole groups of 8. A bit-packed run ends where a run of 8 equal values
 * starts at a group boundary; only the last group of the data is padded. */
#define RLE_IMPL(NAME, T)                                                                  \
  pl_status NAME(pl_buf *out, const T *v, int64_t n, int bw, pl_error *err) {             \
    pl_status st = rle_reserve(out, n, bw, err);                                           \
    if (st) return st;                                                                     \
    uint8_t *p = out->data + out->len;                                                     \
    const int vbytes = (bw + 7) / 8;                                                       \
    int64_t i = 0;                                                                         \
    while (i < n) {                                                                        \
      T x = v[i];                                                                          \
      int64_t j = i + 1;                                                                   \
      while (j < n && v[j] == x) j++;                                                      \
      if (j - i >= 8) {                                                                    \
        p += pl__uleb(p, (uint64_t)(j - i) << 1);                                          \
        for (int b = 0; b < vbytes; b++) *p++ = (uint8_t)((uint64_t)x >> (8 * b));         \
        i = j;                                                                             \
        continue;                                                                          \
      }                                                                                    \
      int64_t e = i;                                                                       \
      for (;;) {                                                                           \
        e += 8;                                                                            \
        if (e >= n) {                                                                      \
          e = n;                                                                           \
          break;                                                                           \
        }                                                                                  \
        T y = v[e];                                                                        \
        int64_t k = e + 1;                                                                 \
        while (k < n && k - e < 8 && v[k] == y) k++;                                       \
        if (k - e >= 8) break;                                                             \
      }                                                                                    \
      int64_t groups = (e - i + 7) / 8;                                                    \
      p += pl__uleb(p, (uint64_t)groups << 1 | 1);                                         \
      p = pack_##T(p, v + i, e - i, groups * 8, bw);                                       \
      i = e;                                                                               \
    }                                                                                      \
    out->len = (size_t)(p - out->data);                                                    \
    return PL_OK;                                                                          \
  }
RLE_IMPL(pl__rle_encode_u8, uint8_t)
RLE_IMPL(pl__rle_encode_u16, uint16_t)
RLE_IMPL(pl__rle_encode_u32, uint32_t)

pl_status pl__plain_bools(pl_buf *out, const uint8_t *v, int64_t n, pl_error *err) {
  size_t nb = (size_t)(n + 7) / 8;
  pl_status st = pl_buf_reserve(out, nb, err);
  if (st) return st;
  uint8_t *p = out->data + out->len;
  memset(p, 0, nb);
  int64_t full = n & ~(int64_t)7;
  for (int64_t i = 0; i < full; i += 8) {
    const uint8_t *s = v + i;
    p[i >> 3] = (uint8_t)(s[0] | s[1] << 1 | s[2] << 2 | s[3] << 3 | s[4] << 4 | s[5] << 5 |
                          s[6] << 6 | s[7] << 7);
  }
  for (int64_t i = full; i < n; i++) p[i >> 3] |= (uint8_t)(v[i] << (i & 7));
  out->len += nb;
  return PL_OK;
}

/* ------------------------------------------------------------------ DELTA_BINARY_PACKED */
enum { DBP_BLOCK = 128, DBP_MINIBLOCKS = 4, DBP_MINI = DBP_BLOCK / DBP_MINIBLOCKS };

static uint64_t zz64(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

/* Packs 32 values of width bw (0..64) LSB first into p; returns the end. */
static uint8_t *pack32_u64(uint8_t *p, const uint64_t *v, int bw) {
  if (bw == 0) return p;
  unsigned __int128 acc = 0;
  int bits = 0;
  for (int i = 0; i < DBP_MINI; i++) {
    acc |= (unsigned __int128)v[i] << bits;
    bits += bw;
    while (bits >= 8) {
      *p++ = (uint8_t)acc;
      acc >>= 8;
      bits -= 8;
    }
  }
  return p; /* 32 * bw bits is always whole bytes */
}

/* Shared block writer: `rel` holds the block's deltas minus the block's min delta. */
static uint8_t *dbp_block(uint8_t *p, int64_t min_delta, uint64_t *rel, int64_t cnt) {
  p += pl__uleb(p, zz64(min_delta));
  int widths[DBP_MINIBLOCKS];
  for (int m = 0; m < DBP_MINIBLOCKS; m++) {
    int64_t s = (int64_t)m * DBP_MINI;
    if (s >= cnt) {
      widths[m] = 0;
      continue;
    }
    uint64_t mx = 0;
    for (int64_t k = s; k < s + DBP_MINI; k++) mx |= rel[k];
    widths[m] = pl__bit_width(mx);
  }
  for (int m = 0; m < DBP_MINIBLOCKS; m++) *p++ = (uint8_t)widths[m];
  for (int m = 0; m < DBP_MINIBLOCKS; m++) {
    if ((int64_t)m * DBP_MINI >= cnt) break; /* unneeded miniblocks have no body */
    p = pack32_u64(p, rel + m * DBP_MINI, widths[m]);
  }
  return p;
}

static pl_status dbp_reserve(pl_buf *out, int64_t n, int maxbits, pl_error *err) {
  /* header <= 40 bytes; per block: 10 (min delta) + 4 widths + 128 * maxbits / 8 */
  size_t blocks = (size_t)(n / DBP_BLOCK) + 1;
  size_t per = 14 + (size_t)DBP_BLOCK * (size_t)maxbits / 8, need;
  if (__builtin_mul_overflow(blocks, per, &need))
    return pl_error_set(err, PL_ENOMEM, "delta encoder: %lld values overflow", (long long)n);
  return pl_buf_reserve(out, need + 48, err);
}

static uint8_t *dbp_header(uint8_t *p, int64_t n, int64_t first) {
  p += pl__uleb(p, DBP_BLOCK);
  p += pl__uleb(p, DBP_MINIBLOCKS);
  p += pl__uleb(p, (uint64_t)n);
  p += pl__uleb(p, zz64(first));
  return p;
}

pl_status pl__delta_encode_i64(pl_buf *out, const int64_t *v, int64_t n, pl_error *err) {
  pl_status st = dbp_reserve(out, n, 64, err);
  if (st) return st;
  uint8_t *p = dbp_header(out->data + out->len, n, n ? v[0] : 0);
  uint64_t rel[DBP_BLOCK];
  int64_t d[DBP_BLOCK];
  for (int64_t i = 1; i < n; i += DBP_BLOCK) {
    int64_t cnt = n - i < DBP_BLOCK ? n - i : DBP_BLOCK;
    int64_t mn = INT64_MAX;
    for (int64_t k = 0; k < cnt; k++) {
      d[k] = (int64_t)((uint64_t)v[i + k] - (uint64_t)v[i + k - 1]); /* wrapping */
      if (d[k] < mn) mn = d[k];
    }
    for (int64_t k = 0; k < DBP_BLOCK; k++) rel[k] = k < cnt ? (uint64_t)d[k] - (uint64_t)mn : 0;
    p = dbp_block(p, mn, rel, cnt);
  }
  out->len = (size_t)(p - out->data);
  return PL_OK;
}

pl_status pl__delta_encode_i32(pl_buf *out, const int32_t *v, int64_t n, pl_error *err) {
  pl_status st = dbp_reserve(out, n, 32, err);
  if (st) return st;
  uint8_t *p = dbp_header(out->data + out->len, n, n ? v[0] : 0);
  uint64_t rel[DBP_BLOCK];
  int32_t d[DBP_BLOCK];
  for (int64_t i = 1; i < n; i += DBP_BLOCK) {
    int64_t cnt = n - i < DBP_BLOCK ? n - i : DBP_BLOCK;
    int32_t mn = INT32_MAX;
    for (int64_t k = 0; k < cnt; k++) {
      /* 32-bit wrapping deltas, so no relative delta needs more than 32 bits */
      d[k] = (int32_t)((uint32_t)v[i + k] - (uint32_t)v[i + k - 1]);
      if (d[k] < mn) mn = d[k];
    }
    for (int64_t k = 0; k < DBP_BLOCK; k++)
      rel[k] = k < cnt ? (uint64_t)(uint32_t)((uint32_t)d[k] - (uint32_t)mn) : 0;
    p = dbp_block(p, mn, rel, cnt);
  }
  out->len = (size_t)(p - out->data);
  return PL_OK;
}

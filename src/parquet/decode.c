/* decode.c — Parquet page decoders (Encodings.md): PLAIN, dictionary indices (RLE_DICTIONARY
 * and the deprecated PLAIN_DICTIONARY), the RLE/bit-packed hybrid (levels, booleans),
 * deprecated BIT_PACKED levels, DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY,
 * DELTA_BYTE_ARRAY and BYTE_STREAM_SPLIT.
 *
 * Values are appended straight into a dense pl_column's buffers (no per-value calls), in the
 * leaf's output representation: physical values are converted on the way (INT32 -> int8,
 * INT96 -> timestamp[ns], big-endian decimals -> decimal128 ...). Every read is checked
 * against the bytes left in the page first.
 */
#include "core/copy.h"
#include "parquet/reader_internal.h"

#include <string.h>

#define CHUNK 1024

static pl_status corrupt(pl_error *err, const char *what) {
  return pl_error_set(err, PL_ECORRUPT, "%s", what);
}

static inline uint32_t ld32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, 4);
  return v;
}
static inline uint64_t ld64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

static bool rd_uvarint(const uint8_t **pp, const uint8_t *end, uint64_t *out) {
  const uint8_t *p = *pp;
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (p >= end) return false;
    uint8_t b = *p++;
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      *pp = p;
      return true;
    }
  }
  return false;
}

/* Extracts `count` values of `bw` bits (LSB-first) starting at value index `first` from
 * [p, p+avail). Returns false if the bytes run out. */
static bool unpack(const uint8_t *p, size_t avail, int bw, uint64_t first, uint32_t count,
                   uint64_t *out) {
  if (bw == 0) {
    memset(out, 0, count * sizeof *out);
    return true;
  }
  uint64_t last_bit = (first + count) * (uint64_t)bw;
  if ((last_bit + 7) / 8 > avail) return false;
  uint64_t mask = bw == 64 ? ~(uint64_t)0 : ((uint64_t)1 << bw) - 1;
  uint64_t bit = first * (uint64_t)bw;
  if (bw <= 56 && last_bit / 8 + 8 <= avail) {
    /* fast path: every value lies within one 8-byte load that stays inside the data */
    for (uint32_t i = 0; i < count; i++, bit += (uint64_t)bw)
      out[i] = (ld64(p + (bit >> 3)) >> (bit & 7)) & mask;
    return true;
  }
  for (uint32_t i = 0; i < count; i++, bit += (uint64_t)bw) {
    size_t byte = (size_t)(bit >> 3);
    unsigned sh = (unsigned)(bit & 7);
    uint64_t v;
    if (byte + 8 <= avail) {
      v = ld64(p + byte) >> sh;
      if (sh + (unsigned)bw > 64) v |= (uint64_t)p[byte + 8] << (64 - sh);
    } else {
      v = 0;
      unsigned nb = (sh + (unsigned)bw + 7) / 8;
      for (unsigned k = 0; k < nb; k++) v |= (uint64_t)p[byte + k] << (8 * k);
      v >>= sh;
    }
    out[i] = v & mask;
  }
  return true;
}

/* ------------------------------------------------------------------ RLE hybrid */
void pl__rle_init(pl__rle *r, const uint8_t *p, size_t n, int bit_width) {
  memset(r, 0, sizeof *r);
  r->p = p;
  r->end = p + n;
  r->bit_width = bit_width;
}

static pl_status rle_next_run(pl__rle *r, pl_error *err) {
  uint64_t h;
  if (!rd_uvarint(&r->p, r->end, &h)) return corrupt(err, "RLE data ends early");
  if (h & 1) {
    uint64_t groups = h >> 1;
    if (groups == 0) return corrupt(err, "empty bit-packed run");
    size_t bytes_needed = (size_t)groups * (size_t)r->bit_width; /* groups of 8 values */
    size_t avail = (size_t)(r->end - r->p);
    if (groups > (uint64_t)1 << 31) return corrupt(err, "bit-packed run too long");
    uint64_t vals = groups * 8;
    if (bytes_needed > avail) {
      /* a truncated last group: decode what the bytes hold */
      vals = r->bit_width ? (uint64_t)avail * 8 / (uint64_t)r->bit_width : vals;
      bytes_needed = avail;
    }
    if (vals == 0) return corrupt(err, "bit-packed run has no data");
    r->packed = true;
    r->bp = r->p;
    r->bp_index = 0;
    r->run_left = (uint32_t)(vals > UINT32_MAX ? UINT32_MAX : vals);
    r->p += bytes_needed;
  } else {
    uint64_t n = h >> 1;
    if (n == 0) return corrupt(err, "empty RLE run");
    if (n > UINT32_MAX) return corrupt(err, "RLE run too long");
    int nb = (r->bit_width + 7) / 8;
    if (r->end - r->p < nb) return corrupt(err, "RLE run value ends early");
    uint32_t v = 0;
    for (int k = 0; k < nb; k++) v |= (uint32_t)r->p[k] << (8 * k);
    r->p += nb;
    if (r->bit_width < 32 && (v >> r->bit_width)) return corrupt(err, "RLE run value exceeds its bit width");
    r->packed = false;
    r->value = v;
    r->run_left = (uint32_t)n;
  }
  return PL_OK;
}

/* Decodes n values into out. When count is not NULL, adds the number of values equal to
 * `target` to *count (the non-null count of definition levels, for free). */
#define RLE_GET(NAME, T)                                                                      \
  static inline pl_status NAME##_impl(pl__rle *r, T *out, int64_t n, uint32_t limit,        \
                                      uint32_t target, int64_t *count, pl_error *err) {      \
    uint64_t tmp[64];                                                                         \
    int64_t cnt = 0;                                                                          \
    while (n > 0) {                                                                           \
      if (r->run_left == 0) {                                                                 \
        pl_status st = rle_next_run(r, err);                                                  \
        if (st) return st;                                                                    \
      }                                                                                       \
      uint32_t take = r->run_left < (uint64_t)n ? r->run_left : (uint32_t)n;                  \
      if (!r->packed) {                                                                       \
        if (limit && r->value >= limit) return corrupt(err, "value out of range in RLE run"); \
        T v = (T)r->value;                                                                    \
        for (uint32_t i = 0; i < take; i++) out[i] = v;                                       \
        if (r->value == target) cnt += take;                                                  \
      } else {                                                                                \
        if (take > 64) take = 64;                                                             \
        size_t avail = (size_t)(r->p - r->bp);                                                \
        if (!unpack(r->bp, avail, r->bit_width, r->bp_index, take, tmp))                      \
          return corrupt(err, "bit-packed run ends early");                                   \
        uint64_t bad = 0;                                                                     \
        for (uint32_t i = 0; i < take; i++) {                                                 \
          bad |= limit && tmp[i] >= limit;                                                    \
          cnt += tmp[i] == target;                                                            \
          out[i] = (T)tmp[i];                                                                 \
        }                                                                                     \
        if (bad) return corrupt(err, "value out of range in bit-packed run");                 \
        r->bp_index += take;                                                                  \
      }                                                                                       \
      r->run_left -= take;                                                                    \
      out += take;                                                                            \
      n -= take;                                                                              \
    }                                                                                         \
    if (count) *count += cnt;                                                                 \
    return PL_OK;                                                                             \
  }                                                                                           \
  pl_status NAME(pl__rle *r, T *out, int64_t n, uint32_t limit, pl_error *err) {           \
    return NAME##_impl(r, out, n, limit, UINT32_MAX, NULL, err);                              \
  }

RLE_GET(pl__rle_get_u16, uint16_t)
RLE_GET(pl__rle_get_u32, uint32_t)

pl_status pl__rle_get_levels(pl__rle *r, uint16_t *out, int64_t n, uint32_t limit,
                             uint16_t target, int64_t *count, pl_error *err) {
  return pl__rle_get_u16_impl(r, out, n, limit, target, count, err);
}

pl_status pl__bitpacked_levels(const uint8_t *p, size_t n, int bit_width, uint16_t *out,
                               int64_t count, uint16_t limit, pl_error *err) {
  /* Encodings.md BIT_PACKED: values packed from the most significant bit of each byte. */
  uint64_t bits = (uint64_t)count * (uint64_t)bit_width;
  if ((bits + 7) / 8 > n) return corrupt(err, "BIT_PACKED levels end early");
  uint64_t bit = 0;
  for (int64_t i = 0; i < count; i++) {
    uint32_t v = 0;
    for (int k = 0; k < bit_width; k++, bit++) v = v << 1 | ((p[bit >> 3] >> (7 - (bit & 7))) & 1);
    if (v > limit) return corrupt(err, "level exceeds the maximum");
    out[i] = (uint16_t)v;
  }
  return PL_OK;
}

/* ------------------------------------------------------------------ output helpers */
static pl_status out_fixed(pl_column *out, int64_t n, int32_t w, uint8_t **dst, pl_error *err) {
  size_t bytes;
  if (__builtin_mul_overflow((size_t)n, (size_t)w, &bytes))
    return pl_error_set(err, PL_ELIMIT, "value buffer size overflows");
  pl_status st = pl_buf_reserve(&out->values, bytes, err);
  if (st) return st;
  *dst = bytes ? out->values.data + out->values.len : NULL;
  out->values.len += bytes;
  return PL_OK;
}

static pl_status out_offsets(pl_column *out, int64_t n, size_t data_hint, pl_error *err) {
  pl_status st;
  if (out->offsets.len == 0) {
    int64_t z = 0;
    if ((st = pl_buf_append(&out->offsets, &z, sizeof z, err))) return st;
  }
  if ((st = pl_buf_reserve(&out->offsets, (size_t)n * 8, err))) return st;
  return pl_buf_reserve(&out->values, data_hint, err);
}

static inline void out_push_bytes(pl_column *out, const uint8_t *p, size_t n) {
  /* caller reserved */
  if (n) memcpy(out->values.data + out->values.len, p, n);
  out->values.len += n;
  int64_t off = (int64_t)out->values.len;
  memcpy(out->offsets.data + out->offsets.len, &off, 8);
  out->offsets.len += 8;
}

static pl_status out_bits(pl_column *out, int64_t n, pl_error *err) {
  size_t need = (size_t)((out->length + n + 7) / 8);
  if (need > out->values.len) return pl_buf_append_zeros(&out->values, need - out->values.len, NULL, err);
  return PL_OK;
}

/* ------------------------------------------------------------------ conversions */
static void dec_from_be(const uint8_t *src, size_t n, uint8_t dst[16]) {
  uint8_t fill = n && (src[0] & 0x80) ? 0xff : 0;
  memset(dst, fill, 16);
  if (n > 16) {
    src += n - 16;
    n = 16;
  }
  for (size_t i = 0; i < n; i++) dst[i] = src[n - 1 - i];
}

static void dec_from_i64(int64_t v, uint8_t dst[16]) {
  memcpy(dst, &v, 8);
  memset(dst + 8, v < 0 ? 0xff : 0, 8);
}

/* Converts n physical fixed-width values at src to the leaf's output at dst. */
static void convert_fixed(const pl__leaf *lf, const uint8_t *src, int64_t n, uint8_t *dst) {
  if (n <= 0) return;
  switch (lf->conv) {
  case PL__CONV_I32_I8:
    for (int64_t i = 0; i < n; i++) dst[i] = (uint8_t)ld32(src + 4 * i);
    break;
  case PL__CONV_I32_I16:
    for (int64_t i = 0; i < n; i++) {
      uint16_t v = (uint16_t)ld32(src + 4 * i);
      memcpy(dst + 2 * i, &v, 2);
    }
    break;
  case PL__CONV_I32_DEC:
    for (int64_t i = 0; i < n; i++) dec_from_i64((int32_t)ld32(src + 4 * i), dst + 16 * i);
    break;
  case PL__CONV_I64_DEC:
    for (int64_t i = 0; i < n; i++) dec_from_i64((int64_t)ld64(src + 8 * i), dst + 16 * i);
    break;
  case PL__CONV_FLBA_DEC: {
    size_t w = (size_t)lf->phys_width;
    for (int64_t i = 0; i < n; i++) dec_from_be(src + w * (size_t)i, w, dst + 16 * i);
    break;
  }
  case PL__CONV_INT96_TS:
    for (int64_t i = 0; i < n; i++) {
      uint64_t nanos = ld64(src + 12 * i);
      int64_t jd = (int32_t)ld32(src + 12 * i + 8);
      /* Julian day 2440588 is 1970-01-01; wrap rather than trap on absurd values */
      uint64_t v = (uint64_t)(jd - 2440588) * UINT64_C(86400000000000) + nanos;
      memcpy(dst + 8 * i, &v, 8);
    }
    break;
  default: memcpy(dst, src, (size_t)n * (size_t)lf->phys_width); break;
  }
}

/* Appends n physical values (fixed width) to out, converting. */
static pl_status put_fixed(const pl__leaf *lf, pl_column *out, const uint8_t *src, int64_t n,
                           pl_error *err) {
  uint8_t *dst = NULL;
  pl_status st = out_fixed(out, n, lf->out_width, &dst, err);
  if (st) return st;
  convert_fixed(lf, src, n, dst);
  out->length += n;
  return PL_OK;
}

/* Appends one variable-length physical value (BYTE_ARRAY, or FLBA read as bytes) to out;
 * the caller reserved room for offsets and data (out_offsets) for bytes outputs. */
static pl_status put_var(const pl__leaf *lf, pl_column *out, const uint8_t *p, size_t n,
                         pl_error *err) {
  if (lf->conv == PL__CONV_BYTES) {
    if (out->values.cap - out->values.len < n || out->offsets.cap - out->offsets.len < 8) {
      pl_status st = out_offsets(out, 1, n, err);
      if (st) return st;
    }
    out_push_bytes(out, p, n);
  } else if (lf->conv == PL__CONV_BA_DEC || lf->conv == PL__CONV_FLBA_DEC) {
    uint8_t *dst = NULL;
    pl_status st = out_fixed(out, 1, 16, &dst, err);
    if (st) return st;
    dec_from_be(p, n, dst);
  } else { /* fixed binary / float16 via a byte-array encoding */
    if (n != (size_t)lf->phys_width) return corrupt(err, "value length differs from the fixed length");
    uint8_t *dst = NULL;
    pl_status st = out_fixed(out, 1, lf->out_width, &dst, err);
    if (st) return st;
    convert_fixed(lf, p, 1, dst);
  }
  out->length++;
  return PL_OK;
}

/* ------------------------------------------------------------------ PLAIN */
static pl_status plain_get(pl__values *v, pl_column *out, int64_t n, pl_error *err) {
  const pl__leaf *lf = v->leaf;
  size_t left = (size_t)(v->end - v->p);
  if (lf->phys == PL_PQ_BOOLEAN) {
    uint64_t bits = (uint64_t)left * 8 - (uint64_t)v->bool_bit;
    if ((uint64_t)n > bits) return corrupt(err, "PLAIN booleans end early");
    pl_status st = out_bits(out, n, err);
    if (st) return st;
    uint8_t *bm = out->values.data;
    for (int64_t i = 0; i < n; i++) {
      bool b = (*v->p >> v->bool_bit) & 1;
      if (b) bm[(out->length + i) >> 3] |= (uint8_t)(1u << ((out->length + i) & 7));
      if (++v->bool_bit == 8) {
        v->bool_bit = 0;
        v->p++;
      }
    }
    out->length += n;
    return PL_OK;
  }
  if (lf->phys == PL_PQ_BYTE_ARRAY && lf->conv == PL__CONV_BYTES) {
    /* First pass: check every length and add them up, so the output grows once, by exactly
     * what these n values need (reserving the whole rest of the page made each batch that
     * ends inside a page reallocate and copy its values). Second pass: copy, unchecked. */
    const uint8_t *q = v->p;
    size_t total = 0;
    for (int64_t i = 0; i < n; i++) {
      if (v->end - q < 4) return corrupt(err, "PLAIN BYTE_ARRAY value ends early");
      uint32_t len = ld32(q);
      q += 4;
      if (len > (size_t)(v->end - q)) return corrupt(err, "PLAIN BYTE_ARRAY length exceeds the page");
      q += len;
      total += len; /* <= the page size: no overflow */
    }
    pl_status st = out_offsets(out, n, total + 128, err); /* + room for pl__copy_value's chunks */
    if (st) return st;
    uint8_t *base = out->values.data; /* NULL only when total == 0 */
    const size_t cap = out->values.cap;
    int64_t *offs = (int64_t *)(out->offsets.data + out->offsets.len);
    int64_t off = (int64_t)out->values.len;
    q = v->p;
    for (int64_t i = 0; i < n; i++) {
      uint32_t len = ld32(q);
      q += 4;
      pl__copy_value(base + off, q, len, cap - (size_t)off, (size_t)(v->end - q));
      q += len;
      off += len;
      offs[i] = off;
    }
    v->p = q;
    out->values.len += total;
    out->offsets.len += (size_t)n * 8;
    out->length += n;
    return PL_OK;
  }
  if (lf->phys == PL_PQ_BYTE_ARRAY) {
    pl_status st;
    for (int64_t i = 0; i < n; i++) {
      if (v->end - v->p < 4) return corrupt(err, "PLAIN BYTE_ARRAY value ends early");
      uint32_t len = ld32(v->p);
      v->p += 4;
      if (len > (size_t)(v->end - v->p)) return corrupt(err, "PLAIN BYTE_ARRAY length exceeds the page");
      if (lf->conv == PL__CONV_BYTES) {
        out_push_bytes(out, v->p, len);
        out->length++;
      } else if ((st = put_var(lf, out, v->p, len, err))) {
        return st;
      }
      v->p += len;
    }
    return PL_OK;
  }
  size_t w = (size_t)lf->phys_width, need;
  if (__builtin_mul_overflow((size_t)n, w, &need) || need > left)
    return corrupt(err, "PLAIN values end early");
  pl_status st = put_fixed(lf, out, v->p, n, err);
  v->p += need;
  return st;
}

/* ------------------------------------------------------------------ dictionary */
pl_status pl__dict_decode(pl__dict *d, const pl__leaf *lf, const uint8_t *p, size_t n,
                          int64_t count, pl_budget *b, pl_error *err) {
  pl__dict_release(d);
  pl_buf_init(&d->values, b);
  pl_buf_init(&d->offsets, b);
  if (count < 0) return corrupt(err, "negative dictionary size");
  /* Decode with PLAIN into a temporary column of the output type, then keep its buffers. */
  pl_column tmp;
  memset(&tmp, 0, sizeof tmp);
  tmp.budget = b;
  pl_buf_init(&tmp.values, b);
  pl_buf_init(&tmp.offsets, b);
  pl_buf_init(&tmp.validity, b);
  pl__values v;
  memset(&v, 0, sizeof v);
  v.leaf = lf;
  v.p = p;
  v.end = p + n;
  pl_status st;
  if (lf->phys == PL_PQ_BOOLEAN) {
    /* keep booleans one byte each so gathering is simple */
    if ((uint64_t)count > (uint64_t)n * 8) return corrupt(err, "dictionary booleans end early");
    if ((st = pl_buf_reserve_total(&d->values, (size_t)count + 1, err))) return st;
    for (int64_t i = 0; i < count; i++) d->values.data[i] = (p[i >> 3] >> (i & 7)) & 1;
    d->values.len = (size_t)count;
    d->n = count;
    return PL_OK;
  }
  if (lf->phys != PL_PQ_BYTE_ARRAY) {
    size_t need;
    if (__builtin_mul_overflow((size_t)count, (size_t)lf->phys_width, &need) || need > n)
      return corrupt(err, "dictionary page is shorter than its values");
  } else if ((uint64_t)count > n / 4) {
    return corrupt(err, "dictionary page is shorter than its values");
  }
  st = plain_get(&v, &tmp, count, err);
  if (st) {
    pl_buf_release(&tmp.values);
    pl_buf_release(&tmp.offsets);
    return st;
  }
  pl_buf_move(&d->values, &tmp.values);
  pl_buf_move(&d->offsets, &tmp.offsets);
  /* slack for dict_get's 16-byte copies of short values */
  if ((st = pl_buf_reserve_total(&d->values, d->values.len + 16, err))) return st;
  if (lf->conv == PL__CONV_BYTES && d->offsets.len == 0) {
    int64_t z = 0;
    if ((st = pl_buf_append(&d->offsets, &z, 8, err))) return st;
  }
  d->n = count;
  return PL_OK;
}

void pl__dict_release(pl__dict *d) {
  pl_buf_release(&d->values);
  pl_buf_release(&d->offsets);
  d->n = 0;
}

static pl_status dict_get(pl__values *v, pl_column *out, int64_t n, pl_error *err) {
  const pl__dict *d = v->dict;
  const pl__leaf *lf = v->leaf;
  uint32_t idx[CHUNK];
  uint32_t limit = (uint32_t)(d->n > UINT32_MAX ? UINT32_MAX : d->n);
  if (limit == 0 && n > 0) return corrupt(err, "dictionary indices with an empty dictionary");
  pl_status st;
  while (n > 0) {
    uint32_t k = n > CHUNK ? CHUNK : (uint32_t)n;
    if ((st = pl__rle_get_u32(&v->rle, idx, k, limit, err))) {
      pl_error_prefix(err, "dictionary indices");
      return st;
    }
    if (lf->conv == PL__CONV_BOOL) {
      if ((st = out_bits(out, k, err))) return st;
      uint8_t *bm = out->values.data;
      for (uint32_t i = 0; i < k; i++)
        if (d->values.data[idx[i]]) bm[(out->length + i) >> 3] |= (uint8_t)(1u << ((out->length + i) & 7));
    } else if (lf->conv == PL__CONV_BYTES) {
      const int64_t *offs = (const int64_t *)d->offsets.data;
      size_t total = 0;
      for (uint32_t i = 0; i < k; i++) total += (size_t)(offs[idx[i] + 1] - offs[idx[i]]);
      /* 16 bytes of slack on both sides let short values move as one 16-byte copy */
      if ((st = out_offsets(out, k, total + 16, err))) return st;
      uint8_t *dst = out->values.data + out->values.len;
      int64_t pos = (int64_t)out->values.len;
      int64_t *oo = (int64_t *)(out->offsets.data + out->offsets.len);
      const uint8_t *dv = d->values.data;
      for (uint32_t i = 0; i < k; i++) {
        int64_t a = offs[idx[i]], len = offs[idx[i] + 1] - a;
        if (len <= 16) memcpy(dst, dv + a, 16);
        else memcpy(dst, dv + a, (size_t)len);
        dst += len;
        pos += len;
        oo[i] = pos;
      }
      out->values.len = (size_t)pos;
      out->offsets.len += (size_t)k * 8;
    } else {
      uint8_t *dst = NULL;
      int32_t w = lf->out_width;
      if ((st = out_fixed(out, k, w, &dst, err))) return st;
      const uint8_t *src = d->values.data;
      switch (w) {
      case 4:
        for (uint32_t i = 0; i < k; i++) memcpy(dst + 4 * i, src + 4 * (size_t)idx[i], 4);
        break;
      case 8:
        for (uint32_t i = 0; i < k; i++) memcpy(dst + 8 * i, src + 8 * (size_t)idx[i], 8);
        break;
      case 16:
        for (uint32_t i = 0; i < k; i++) memcpy(dst + 16 * i, src + 16 * (size_t)idx[i], 16);
        break;
      default:
        for (uint32_t i = 0; i < k; i++)
          memcpy(dst + (size_t)w * i, src + (size_t)w * idx[i], (size_t)w);
      }
    }
    out->length += k;
    n -= k;
  }
  return PL_OK;
}

/* ------------------------------------------------------------------ RLE booleans */
static pl_status rle_bool_get(pl__values *v, pl_column *out, int64_t n, pl_error *err) {
  uint16_t tmp[CHUNK];
  pl_status st;
  while (n > 0) {
    uint32_t k = n > CHUNK ? CHUNK : (uint32_t)n;
    if ((st = pl__rle_get_u16(&v->rle, tmp, k, 2, err))) return st;
    if ((st = out_bits(out, k, err))) return st;
    uint8_t *bm = out->values.data;
    for (uint32_t i = 0; i < k; i++)
      if (tmp[i]) bm[(out->length + i) >> 3] |= (uint8_t)(1u << ((out->length + i) & 7));
    out->length += k;
    n -= k;
  }
  return PL_OK;
}

/* ------------------------------------------------------------------ DELTA_BINARY_PACKED */
typedef struct dbp {
  const uint8_t *p, *end;
  uint64_t block_size, mini_count, per_mini, total, emitted;
  uint64_t last;
  uint64_t min_delta;
  uint32_t mini_index, in_mini;
  uint8_t widths[256];
  const uint8_t *mini_p;
  bool in_block, mini_started;
  bool is32;
} dbp;

static pl_status dbp_init(dbp *s, const uint8_t *p, const uint8_t *end, bool is32, pl_error *err) {
  memset(s, 0, sizeof *s);
  s->p = p;
  s->end = end;
  s->is32 = is32;
  uint64_t first;
  if (!rd_uvarint(&s->p, end, &s->block_size) || !rd_uvarint(&s->p, end, &s->mini_count) ||
      !rd_uvarint(&s->p, end, &s->total) || !rd_uvarint(&s->p, end, &first))
    return corrupt(err, "DELTA_BINARY_PACKED header ends early");
  if (s->block_size == 0 || s->block_size % 128 || s->mini_count == 0 || s->mini_count > 256 ||
      s->block_size % s->mini_count || (s->block_size / s->mini_count) % 32 ||
      s->block_size > (1u << 20))
    return corrupt(err, "invalid DELTA_BINARY_PACKED block header");
  s->per_mini = s->block_size / s->mini_count;
  s->last = (uint64_t)((int64_t)(first >> 1) ^ -(int64_t)(first & 1));
  return PL_OK;
}

/* Decodes n values into out (uint64 bit patterns). */
static pl_status dbp_get(dbp *s, uint64_t *out, int64_t n, pl_error *err) {
  int64_t i = 0;
  if (n > 0 && (uint64_t)n > s->total - s->emitted) return corrupt(err, "DELTA_BINARY_PACKED has fewer values than needed");
  if (n > 0 && s->emitted == 0) {
    out[i++] = s->last;
    s->emitted = 1;
  }
  int maxw = s->is32 ? 32 : 64;
  while (i < n) {
    if (!s->in_block || s->mini_index >= s->mini_count) {
      uint64_t md;
      if (!rd_uvarint(&s->p, s->end, &md)) return corrupt(err, "DELTA_BINARY_PACKED block ends early");
      s->min_delta = (uint64_t)((int64_t)(md >> 1) ^ -(int64_t)(md & 1));
      if ((uint64_t)(s->end - s->p) < s->mini_count)
        return corrupt(err, "DELTA_BINARY_PACKED bit widths end early");
      memcpy(s->widths, s->p, s->mini_count);
      s->p += s->mini_count;
      s->in_block = true;
      s->mini_index = 0;
      s->in_mini = 0;
      s->mini_started = false;
    }
    int bw = s->widths[s->mini_index];
    if (!s->mini_started) {
      /* miniblock bodies are only present for miniblocks that hold values */
      if (bw > maxw) return corrupt(err, "DELTA_BINARY_PACKED bit width too large");
      size_t mb = (size_t)(s->per_mini * (uint64_t)bw / 8);
      size_t left = (size_t)(s->end - s->p);
      s->mini_p = s->p;
      s->p += left < mb ? left : mb;
      s->mini_started = true;
    }
    uint64_t room = s->per_mini - s->in_mini;
    uint32_t k = (uint32_t)((uint64_t)(n - i) < room ? (uint64_t)(n - i) : room);
    if (k > 64) k = 64;
    uint64_t tmp[64];
    size_t avail = (size_t)(s->p - s->mini_p);
    if (!unpack(s->mini_p, avail, bw, s->in_mini, k, tmp))
      return corrupt(err, "DELTA_BINARY_PACKED miniblock ends early");
    uint64_t last = s->last, md = s->min_delta;
    if (s->is32) {
      for (uint32_t j = 0; j < k; j++) {
        last = (uint32_t)(last + md + tmp[j]);
        out[i + j] = last;
      }
    } else {
      for (uint32_t j = 0; j < k; j++) {
        last = last + md + tmp[j];
        out[i + j] = last;
      }
    }
    s->last = last;
    i += k;
    s->in_mini += k;
    s->emitted += k;
    if (s->in_mini == s->per_mini) {
      s->mini_index++;
      s->in_mini = 0;
      s->mini_started = false;
    }
  }
  return PL_OK;
}

/* Where the encoded stream ends once every value was read. */
static const uint8_t *dbp_end(const dbp *s) { return s->p; }

static pl_status dbp_values_get(pl__values *v, pl_column *out, int64_t n, pl_error *err) {
  dbp *s = (dbp *)v->scratch_off.data;
  const pl__leaf *lf = v->leaf;
  uint64_t tmp[CHUNK];
  uint8_t phys[CHUNK * 8];
  pl_status st;
  while (n > 0) {
    uint32_t k = n > CHUNK ? CHUNK : (uint32_t)n;
    if ((st = dbp_get(s, tmp, k, err))) return st;
    if (lf->phys == PL_PQ_INT32) {
      for (uint32_t i = 0; i < k; i++) {
        uint32_t x = (uint32_t)tmp[i];
        memcpy(phys + 4 * i, &x, 4);
      }
    } else {
      memcpy(phys, tmp, 8 * (size_t)k);
    }
    if ((st = put_fixed(lf, out, phys, k, err))) return st;
    n -= k;
  }
  return PL_OK;
}

/* Decodes all lengths of a DELTA_LENGTH_BYTE_ARRAY-style prefix into buf (int32). */
static pl_status dbp_all(const uint8_t *p, const uint8_t *end, pl_buf *buf, int64_t *count,
                         const uint8_t **after, pl_error *err) {
  dbp s;
  pl_status st = dbp_init(&s, p, end, true, err);
  if (st) return st;
  /* each block of block_size values costs at least 1 + mini_count bytes (min delta, widths) */
  uint64_t blocks = (uint64_t)(end - s.p) / (1 + s.mini_count) + 1;
  if (s.total > blocks * s.block_size + 1) return corrupt(err, "DELTA length count exceeds the page");
  if ((st = pl_buf_reserve_total(buf, (size_t)s.total * 4 + 4, err))) return st;
  uint64_t tmp[CHUNK];
  int32_t *o = (int32_t *)buf->data;
  uint64_t done = 0;
  while (done < s.total) {
    uint32_t k = s.total - done > CHUNK ? CHUNK : (uint32_t)(s.total - done);
    if ((st = dbp_get(&s, tmp, k, err))) return st;
    for (uint32_t i = 0; i < k; i++) o[done + i] = (int32_t)(uint32_t)tmp[i];
    done += k;
  }
  buf->len = (size_t)s.total * 4;
  *count = (int64_t)s.total;
  *after = dbp_end(&s);
  return PL_OK;
}

static pl_status dlba_get(pl__values *v, pl_column *out, int64_t n, pl_error *err) {
  const pl__leaf *lf = v->leaf;
  if (n > v->lens_n - v->lens_i) return corrupt(err, "DELTA_LENGTH_BYTE_ARRAY has fewer values than needed");
  const int32_t *lens = (const int32_t *)v->lens.data;
  pl_status st;
  size_t total = 0;
  for (int64_t i = 0; i < n; i++) {
    int32_t l = lens[v->lens_i + i];
    if (l < 0) return corrupt(err, "negative length in DELTA_LENGTH_BYTE_ARRAY");
    total += (size_t)l;
    if (total > (size_t)(v->end - v->data_p)) return corrupt(err, "DELTA_LENGTH_BYTE_ARRAY data ends early");
  }
  if (lf->conv == PL__CONV_BYTES && (st = out_offsets(out, n, total, err))) return st;
  for (int64_t i = 0; i < n; i++) {
    size_t l = (size_t)lens[v->lens_i + i];
    if (lf->conv == PL__CONV_BYTES) {
      out_push_bytes(out, v->data_p, l);
      out->length++;
    } else if ((st = put_var(lf, out, v->data_p, l, err))) {
      return st;
    }
    v->data_p += l;
  }
  v->lens_i += n;
  return PL_OK;
}

static pl_status dba_get(pl__values *v, pl_column *out, int64_t n, pl_error *err) {
  const pl__leaf *lf = v->leaf;
  if (n > v->lens_n - v->lens_i) return corrupt(err, "DELTA_BYTE_ARRAY has fewer values than needed");
  const int32_t *pre = (const int32_t *)v->prefixes.data, *suf = (const int32_t *)v->lens.data;
  pl_status st;
  for (int64_t i = 0; i < n; i++) {
    int32_t pl = pre[v->lens_i], sl = suf[v->lens_i];
    v->lens_i++;
    if (pl < 0 || sl < 0) return corrupt(err, "negative length in DELTA_BYTE_ARRAY");
    if ((size_t)pl > v->last.len) return corrupt(err, "DELTA_BYTE_ARRAY prefix longer than the previous value");
    if ((size_t)sl > (size_t)(v->end - v->data_p)) return corrupt(err, "DELTA_BYTE_ARRAY data ends early");
    v->last.len = (size_t)pl;
    if ((st = pl_buf_append(&v->last, v->data_p, (size_t)sl, err))) return st;
    v->data_p += sl;
    if ((st = put_var(lf, out, v->last.data ? v->last.data : (const uint8_t *)"", v->last.len, err)))
      return st;
  }
  return PL_OK;
}

/* ------------------------------------------------------------------ BYTE_STREAM_SPLIT */
static pl_status bss_get(pl__values *v, pl_column *out, int64_t n, pl_error *err) {
  const pl__leaf *lf = v->leaf;
  if (n > v->bss_n - v->bss_i) return corrupt(err, "BYTE_STREAM_SPLIT has fewer values than needed");
  size_t w = (size_t)lf->phys_width;
  uint8_t tmp[CHUNK * 16];
  pl_status st;
  while (n > 0) {
    int64_t k = n > CHUNK ? CHUNK : n;
    size_t cap = sizeof tmp / w;
    if ((size_t)k > cap) k = (int64_t)cap;
    if (k == 0) { /* wide FLBA: one at a time through put_var */
      uint8_t one[4096];
      if (w > sizeof one) return pl_error_set(err, PL_EUNSUPPORTED, "BYTE_STREAM_SPLIT of values wider than 4096 bytes");
      for (size_t b = 0; b < w; b++) one[b] = v->p[b * (size_t)v->bss_n + (size_t)v->bss_i];
      if ((st = put_var(lf, out, one, w, err))) return st;
      v->bss_i++;
      n--;
      continue;
    }
    for (size_t b = 0; b < w; b++) {
      const uint8_t *stream = v->p + b * (size_t)v->bss_n + (size_t)v->bss_i;
      for (int64_t i = 0; i < k; i++) tmp[(size_t)i * w + b] = stream[i];
    }
    if ((st = put_fixed(lf, out, tmp, k, err))) return st;
    v->bss_i += k;
    n -= k;
  }
  return PL_OK;
}

/* ------------------------------------------------------------------ dispatch */
pl_status pl__values_init(pl__values *v, const pl__leaf *lf, int encoding, const uint8_t *p,
                          size_t n, int64_t count, const pl__dict *dict, pl_budget *b,
                          pl_error *err) {
  memset(v, 0, sizeof *v);
  v->leaf = lf;
  v->encoding = encoding;
  v->p = p;
  v->end = p + n;
  v->dict = dict;
  pl_buf_init(&v->lens, b);
  pl_buf_init(&v->prefixes, b);
  pl_buf_init(&v->last, b);
  pl_buf_init(&v->scratch, b);
  pl_buf_init(&v->scratch_off, b);
  pl_status st;
  switch (encoding) {
  case PL_PQ_ENC_PLAIN: return PL_OK;
  case PL_PQ_ENC_PLAIN_DICTIONARY:
  case PL_PQ_ENC_RLE_DICTIONARY:
    if (!dict) return corrupt(err, "dictionary-encoded page without a dictionary page");
    if (count == 0) return PL_OK;
    if (n < 1) return corrupt(err, "dictionary indices missing their bit width");
    if (p[0] > 32) return corrupt(err, "dictionary index bit width above 32");
    pl__rle_init(&v->rle, p + 1, n - 1, p[0]);
    return PL_OK;
  case PL_PQ_ENC_RLE:
    if (lf->phys != PL_PQ_BOOLEAN) return pl_error_set(err, PL_EUNSUPPORTED, "RLE encoding for %s values", pl_pq_type_name(lf->phys));
    /* Encodings.md: RLE booleans carry a 4-byte length prefix (in data pages) */
    if (n < 4) return corrupt(err, "RLE boolean data missing its length");
    {
      uint32_t len = ld32(p);
      if (len > n - 4) return corrupt(err, "RLE boolean length exceeds the page");
      pl__rle_init(&v->rle, p + 4, len, 1);
    }
    return PL_OK;
  case PL_PQ_ENC_DELTA_BINARY_PACKED:
    if (lf->phys != PL_PQ_INT32 && lf->phys != PL_PQ_INT64)
      return pl_error_set(err, PL_ECORRUPT, "DELTA_BINARY_PACKED encoding for %s values", pl_pq_type_name(lf->phys));
    if ((st = pl_buf_reserve_total(&v->scratch_off, sizeof(dbp), err))) return st;
    if (count == 0) {
      memset(v->scratch_off.data, 0, sizeof(dbp));
      return PL_OK;
    }
    return dbp_init((dbp *)v->scratch_off.data, p, p + n, lf->phys == PL_PQ_INT32, err);
  case PL_PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
    if (lf->phys != PL_PQ_BYTE_ARRAY)
      return pl_error_set(err, PL_ECORRUPT, "DELTA_LENGTH_BYTE_ARRAY encoding for %s values", pl_pq_type_name(lf->phys));
    if (count == 0) return PL_OK;
    return dbp_all(p, p + n, &v->lens, &v->lens_n, &v->data_p, err);
  case PL_PQ_ENC_DELTA_BYTE_ARRAY: {
    if (lf->phys != PL_PQ_BYTE_ARRAY && lf->phys != PL_PQ_FIXED_LEN_BYTE_ARRAY)
      return pl_error_set(err, PL_ECORRUPT, "DELTA_BYTE_ARRAY encoding for %s values", pl_pq_type_name(lf->phys));
    if (count == 0) return PL_OK;
    const uint8_t *after;
    int64_t np, ns;
    if ((st = dbp_all(p, p + n, &v->prefixes, &np, &after, err))) return st;
    if ((st = dbp_all(after, p + n, &v->lens, &ns, &v->data_p, err))) return st;
    if (np != ns) return corrupt(err, "DELTA_BYTE_ARRAY prefix and suffix counts differ");
    v->lens_n = ns;
    return PL_OK;
  }
  case PL_PQ_ENC_BYTE_STREAM_SPLIT: {
    if (lf->phys_width == 0 || lf->phys == PL_PQ_INT96)
      return pl_error_set(err, PL_ECORRUPT, "BYTE_STREAM_SPLIT encoding for %s values", pl_pq_type_name(lf->phys));
    size_t w = (size_t)lf->phys_width;
    if (n % w) return corrupt(err, "BYTE_STREAM_SPLIT data is not a multiple of the value size");
    v->bss_n = (int64_t)(n / w);
    return PL_OK;
  }
  case PL_PQ_ENC_BIT_PACKED:
    return pl_error_set(err, PL_ECORRUPT, "BIT_PACKED encoding is only valid for levels");
  default:
    return pl_error_set(err, PL_EUNSUPPORTED, "unknown encoding %d", encoding);
  }
}

pl_status pl__values_get(pl__values *v, pl_column *out, int64_t n, pl_error *err) {
  if (n <= 0) return PL_OK;
  switch (v->encoding) {
  case PL_PQ_ENC_PLAIN: return plain_get(v, out, n, err);
  case PL_PQ_ENC_PLAIN_DICTIONARY:
  case PL_PQ_ENC_RLE_DICTIONARY: return dict_get(v, out, n, err);
  case PL_PQ_ENC_RLE: return rle_bool_get(v, out, n, err);
  case PL_PQ_ENC_DELTA_BINARY_PACKED: return dbp_values_get(v, out, n, err);
  case PL_PQ_ENC_DELTA_LENGTH_BYTE_ARRAY: return dlba_get(v, out, n, err);
  case PL_PQ_ENC_DELTA_BYTE_ARRAY: return dba_get(v, out, n, err);
  case PL_PQ_ENC_BYTE_STREAM_SPLIT: return bss_get(v, out, n, err);
  default: return pl_error_set(err, PL_EINTERNAL, "values decoder not initialised");
  }
}

void pl__values_release(pl__values *v) {
  pl_buf_release(&v->lens);
  pl_buf_release(&v->prefixes);
  pl_buf_release(&v->last);
  pl_buf_release(&v->scratch);
  pl_buf_release(&v->scratch_off);
}

/* fuzz_page.c — every page decoder on raw bytes: levels (RLE hybrid, BIT_PACKED), each
 * values encoding for each physical type and conversion, dictionaries, and the codecs.
 * Byte 0 picks the target, byte 1 the value count; the rest is the page. */
#include "parquet/reader_internal.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct cfg {
  int phys;
  pl_type_id out;
  pl__conv conv;
  int32_t width; /* physical width */
} cfg;

static const cfg CFGS[] = {
    {PL_PQ_BOOLEAN, PL_BOOL, PL__CONV_BOOL, 0},
    {PL_PQ_INT32, PL_INT32, PL__CONV_NONE, 4},
    {PL_PQ_INT32, PL_INT8, PL__CONV_I32_I8, 4},
    {PL_PQ_INT32, PL_INT16, PL__CONV_I32_I16, 4},
    {PL_PQ_INT32, PL_DECIMAL128, PL__CONV_I32_DEC, 4},
    {PL_PQ_INT64, PL_INT64, PL__CONV_NONE, 8},
    {PL_PQ_INT64, PL_DECIMAL128, PL__CONV_I64_DEC, 8},
    {PL_PQ_INT96, PL_TIMESTAMP, PL__CONV_INT96_TS, 12},
    {PL_PQ_FLOAT, PL_FLOAT32, PL__CONV_NONE, 4},
    {PL_PQ_DOUBLE, PL_FLOAT64, PL__CONV_NONE, 8},
    {PL_PQ_BYTE_ARRAY, PL_STRING, PL__CONV_BYTES, 0},
    {PL_PQ_BYTE_ARRAY, PL_DECIMAL128, PL__CONV_BA_DEC, 0},
    {PL_PQ_FIXED_LEN_BYTE_ARRAY, PL_FIXED_BINARY, PL__CONV_NONE, 5},
    {PL_PQ_FIXED_LEN_BYTE_ARRAY, PL_DECIMAL128, PL__CONV_FLBA_DEC, 9},
    {PL_PQ_FIXED_LEN_BYTE_ARRAY, PL_FLOAT16, PL__CONV_NONE, 2},
};
#define NCFG (sizeof CFGS / sizeof CFGS[0])

static const int ENCS[] = {PL_PQ_ENC_PLAIN, PL_PQ_ENC_RLE_DICTIONARY, PL_PQ_ENC_RLE,
                           PL_PQ_ENC_DELTA_BINARY_PACKED, PL_PQ_ENC_DELTA_LENGTH_BYTE_ARRAY,
                           PL_PQ_ENC_DELTA_BYTE_ARRAY, PL_PQ_ENC_BYTE_STREAM_SPLIT};
#define NENC (sizeof ENCS / sizeof ENCS[0])

static void values(const uint8_t *d, size_t n, int sel, int64_t count, pl_budget *b) {
  const cfg *c = &CFGS[sel % NCFG];
  int enc = ENCS[(sel / NCFG) % NENC];
  pl__leaf lf;
  memset(&lf, 0, sizeof lf);
  lf.phys = c->phys;
  lf.phys_width = c->width;
  lf.type_length = c->width;
  lf.conv = c->conv;
  if (c->out == PL_DECIMAL128) lf.type = pl_type_decimal(38, 2);
  else if (c->out == PL_FIXED_BINARY) lf.type = pl_type_fixed_binary(c->width);
  else if (c->out == PL_TIMESTAMP) lf.type = pl_type_timestamp(PL_NANO, NULL);
  else lf.type = pl_type_make(c->out);
  lf.out_width = c->conv == PL__CONV_BYTES || c->conv == PL__CONV_BOOL ? 0 : pl_type_byte_width(&lf.type);
  pl_error err;
  pl__dict dict;
  memset(&dict, 0, sizeof dict);
  const uint8_t *vp = d;
  size_t vn = n;
  if (enc == PL_PQ_ENC_RLE_DICTIONARY && n > 2) { /* first half: the dictionary page */
    size_t half = n / 2;
    if (pl__dict_decode(&dict, &lf, d, half, d[0] % 16, b, &err) != PL_OK) goto out;
    vp = d + half;
    vn = n - half;
  }
  pl_column *col = pl_column_new(&lf.type, b, &err);
  pl__values v;
  if (pl__values_init(&v, &lf, enc, vp, vn, count, dict.n ? &dict : NULL, b, &err) == PL_OK) {
    for (int64_t done = 0; done < count;) {
      int64_t k = 1 + (done % 5);
      if (k > count - done) k = count - done;
      if (pl__values_get(&v, col, k, &err) != PL_OK) break;
      done += k;
      if (col->length != done) __builtin_trap();
    }
  }
  pl__values_release(&v);
  pl_column_free(col);
out:
  pl__dict_release(&dict);
  pl_type_release(&lf.type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  uint8_t target = data[0];
  int64_t count = data[1];
  const uint8_t *d = data + 2;
  size_t n = size - 2;
  pl_budget *b = pl_budget_new(16 << 20);
  pl_error err;
  if (target < 8) { /* levels */
    uint16_t out[256];
    pl__rle r;
    pl__rle_init(&r, d, n, target);
    (void)pl__rle_get_u16(&r, out, count, target ? (1u << target) : 1, &err);
    (void)pl__bitpacked_levels(d, n, target, out, count, (uint16_t)((1u << target) - 1), &err);
  } else if (target < 16) { /* codecs: decompress to count * 64 bytes */
    size_t out_len = (size_t)count * 64;
    uint8_t *out = pl_budget_alloc(b, out_len + 1, &err);
    pl__codecs cx = {0};
    (void)pl__decompress(&cx, target - 8, d, n, out, out_len, &err);
    pl__codecs_release(&cx);
    pl_budget_free_mem(b, out, out_len + 1);
  } else {
    values(d, n, target - 16, count, b);
  }
  if (pl_budget_used(b) != 0) __builtin_trap();
  pl_budget_free(b);
  return 0;
}

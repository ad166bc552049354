/* test_parquet_reader.c — the Parquet reader's parts and API: the Thrift compact decoder,
 * the RLE/bit-packed hybrid, the DELTA and BYTE_STREAM_SPLIT decoders (against small
 * encoders written here from Encodings.md), and the reader API on corpus files: projection,
 * row-group selection, statistics pruning, batch sizes, budgets, CRCs and bad input.
 */
#include "test_util.h"

#include <math.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parquet/reader_internal.h"
#include "parquet/writer_internal.h"
#include "praline/parquet.h"

static char *corpus(const char *name) {
  static char buf[8][1024];
  static int k;
  char *p = buf[k++ & 7];
  snprintf(p, 1024, "%s/testdata/parquet-testing/data/%s", tu_shared_dir(), name);
  return p;
}

/* ------------------------------------------------------------------ Thrift */
static const uint8_t PAGE_HEADER[] = {
    0x15, 0x00,       /* 1: type = DATA_PAGE */
    0x15, 0xc8, 0x01, /* 2: uncompressed_page_size = 100 */
    0x15, 0xc8, 0x01, /* 3: compressed_page_size = 100 */
    0x2c,             /* 5: data_page_header (struct) */
    0x15, 0x14,       /*   1: num_values = 10 */
    0x15, 0x00,       /*   2: encoding = PLAIN */
    0x15, 0x06,       /*   3: definition_level_encoding = RLE */
    0x15, 0x06,       /*   4: repetition_level_encoding = RLE */
    0x00,
    0x08, 0xc6, 0x01, 0x03, 'a', 'b', 'c', /* 99 (long form): binary, unknown: skipped */
    0x19, 0x35, 0x02, 0x04, 0x06,          /* 100: list<i32>[3], unknown: skipped */
    0x00,
};

static void test_thrift_page_header(void **state) {
  (void)state;
  pl_pq_page_header h;
  size_t used = 0;
  bool more = false;
  pl_error err = {0};
  assert_int_equal(pl__thrift_read_page_header(PAGE_HEADER, sizeof PAGE_HEADER, &h, &used, &more, &err), PL_OK);
  assert_int_equal(used, sizeof PAGE_HEADER);
  assert_int_equal(h.type, PL_PAGE_DATA);
  assert_int_equal(h.uncompressed_page_size, 100);
  assert_int_equal(h.compressed_page_size, 100);
  assert_true(h.has_data_header);
  assert_int_equal(h.num_values, 10);
  assert_int_equal(h.encoding, PL_PQ_ENC_PLAIN);
  assert_int_equal(h.def_level_encoding, PL_PQ_ENC_RLE);
  assert_true(h.is_compressed); /* the v2 default */
  pl_pq_page_header_release(&h);
  /* every truncation is an error that asks for more bytes */
  for (size_t n = 0; n < sizeof PAGE_HEADER; n++) {
    pl_error_clear(&err);
    assert_int_equal(pl__thrift_read_page_header(PAGE_HEADER, n, &h, &used, &more, &err), PL_ECORRUPT);
    assert_true(more);
    assert_non_null(strstr(err.msg, "page header"));
  }
}

static void test_thrift_hostile(void **state) {
  (void)state;
  pl_pq_page_header h;
  size_t used;
  bool more;
  pl_error err = {0};
  /* 200 nested structs under unknown field ids: refused by the depth limit, no recursion blowup */
  uint8_t deep[402];
  for (int i = 0; i < 200; i++) deep[i] = 0x1c; /* delta 1, struct */
  memset(deep + 200, 0, 202);
  /* field 1 of PageHeader is an i32, so start with field 9 (unknown) */
  deep[0] = 0x9c;
  assert_int_equal(pl__thrift_read_page_header(deep, sizeof deep, &h, &used, &more, &err), PL_ECORRUPT);
  assert_non_null(strstr(err.msg, "nesting too deep"));
  assert_false(more);
  /* a list claiming 2^30 elements in a few bytes */
  const uint8_t big_list[] = {0x99, 0xf5, 0x80, 0x80, 0x80, 0x80, 0x04, 0x00};
  assert_int_equal(pl__thrift_read_page_header(big_list, sizeof big_list, &h, &used, &more, &err), PL_ECORRUPT);
  /* a binary claiming more bytes than exist */
  const uint8_t big_bin[] = {0x98, 0xff, 0xff, 0xff, 0xff, 0x0f, 'x'};
  assert_int_equal(pl__thrift_read_page_header(big_bin, sizeof big_bin, &h, &used, &more, &err), PL_ECORRUPT);
  /* an i32 field holding a value beyond 32 bits */
  const uint8_t wide[] = {0x15, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00};
  assert_int_equal(pl__thrift_read_page_header(wide, sizeof wide, &h, &used, &more, &err), PL_ECORRUPT);
  assert_non_null(strstr(err.msg, "out of range"));
  /* an unknown type nibble */
  const uint8_t badtype[] = {0x1e, 0x00};
  assert_int_equal(pl__thrift_read_page_header(badtype, sizeof badtype, &h, &used, &more, &err), PL_ECORRUPT);
  /* footer: an empty struct is a valid (useless) FileMetaData, and the schema check refuses it */
  pl_pq_file_metadata md;
  const uint8_t empty[] = {0x00};
  assert_int_equal(pl__thrift_read_file_metadata(empty, 1, &md, &err), PL_OK);
  pl__schema s;
  assert_int_equal(pl__schema_build(&md, &s, &err), PL_ECORRUPT);
  pl_pq_file_metadata_release(&md);
}

/* ------------------------------------------------------------------ RLE hybrid */
static void test_rle_hybrid(void **state) {
  (void)state;
  /* Encodings.md: bit-packed 0..7 with bit width 3, then an RLE run of five 3s */
  const uint8_t data[] = {0x03, 0x88, 0xc6, 0xfa, 0x0a, 0x03};
  pl__rle r;
  uint16_t out[13];
  pl_error err = {0};
  pl__rle_init(&r, data, sizeof data, 3);
  assert_int_equal(pl__rle_get_u16(&r, out, 13, 8, &err), PL_OK);
  for (int i = 0; i < 8; i++) assert_int_equal(out[i], i);
  for (int i = 8; i < 13; i++) assert_int_equal(out[i], 3);
  /* one more value: the data has ended */
  assert_int_equal(pl__rle_get_u16(&r, out, 1, 8, &err), PL_ECORRUPT);
  /* a limit below the values is an error (dictionary index out of range) */
  pl__rle_init(&r, data, sizeof data, 3);
  assert_int_equal(pl__rle_get_u16(&r, out, 13, 7, &err), PL_ECORRUPT);
  /* deprecated BIT_PACKED levels (MSB first): 0..7 at width 3 */
  const uint8_t bp[] = {0x05, 0x39, 0x77};
  assert_int_equal(pl__bitpacked_levels(bp, sizeof bp, 3, out, 8, 7, &err), PL_OK);
  for (int i = 0; i < 8; i++) assert_int_equal(out[i], i);
  assert_int_equal(pl__bitpacked_levels(bp, 2, 3, out, 8, 7, &err), PL_ECORRUPT);
}

/* The writer's hybrid encoder against this reader, every width 1..32: runs, noise, lengths
 * that are not whole groups, and the first value of a group at the width's maximum. */
static void test_rle_encode_round_trip(void **state) {
  (void)state;
  uint64_t seed = 12345;
  uint32_t *v = malloc(sizeof(uint32_t) * 5000), *got = malloc(sizeof(uint32_t) * 5000);
  for (int bw = 1; bw <= 32; bw++) {
    const uint64_t max = ((uint64_t)1 << bw) - 1 - (bw == 32); /* the reader's limit is max + 1 */
    for (int trial = 0; trial < 6; trial++) {
      int64_t n = trial == 0 ? 1 : trial == 1 ? 8 : trial == 2 ? 4999 : (int64_t)(seed % 3000) + 1;
      for (int64_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t r = seed >> 11;
        if (i > 0 && r % 4 == 0) v[i] = v[i - 1]; /* runs */
        else v[i] = (uint32_t)(i % 97 == 0 ? max : r & max);
      }
      pl_buf out = PL_BUF_INIT(NULL);
      pl_error err = {0};
      assert_int_equal(pl__rle_encode_u32(&out, v, n, bw, &err), PL_OK);
      pl__rle r;
      pl__rle_init(&r, out.data, out.len, bw);
      if (pl__rle_get_u32(&r, got, n, (uint32_t)(max + 1), &err))
        fail_msg("width %d, %lld values: %s", bw, (long long)n, err.msg);
      for (int64_t i = 0; i < n; i++)
        if (got[i] != v[i]) fail_msg("width %d, %lld values: value %lld is %u, want %u", bw, (long long)n, (long long)i, got[i], v[i]);
      pl_buf_release(&out);
    }
  }
  free(v);
  free(got);
}

/* ------------------------------------------------------------------ DELTA encoders (test-side) */
typedef struct wbuf {
  uint8_t *p;
  size_t len, cap;
} wbuf;

static void wput(wbuf *w, const void *p, size_t n) {
  if (w->len + n > w->cap) {
    w->cap = (w->len + n) * 2 + 64;
    w->p = realloc(w->p, w->cap);
  }
  memcpy(w->p + w->len, p, n);
  w->len += n;
}
static void wvar(wbuf *w, uint64_t v) {
  while (v >= 0x80) {
    uint8_t b = (uint8_t)(v | 0x80);
    wput(w, &b, 1);
    v >>= 7;
  }
  uint8_t b = (uint8_t)v;
  wput(w, &b, 1);
}
static void wzz(wbuf *w, int64_t v) { wvar(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63)); }

/* DELTA_BINARY_PACKED with blocks of 128 values in 4 miniblocks (Encodings.md). */
static void enc_dbp(wbuf *w, const int64_t *v, size_t n, bool is32) {
  wvar(w, 128);
  wvar(w, 4);
  wvar(w, n);
  wzz(w, n ? v[0] : 0);
  for (size_t start = 1; start < n; start += 128) {
    size_t cnt = n - start < 128 ? n - start : 128;
    uint64_t d[128];
    int64_t mind = INT64_MAX;
    for (size_t i = 0; i < cnt; i++) {
      uint64_t delta = (uint64_t)v[start + i] - (uint64_t)v[start + i - 1];
      if (is32) delta = (uint64_t)(int64_t)(int32_t)(uint32_t)delta;
      d[i] = delta;
      if ((int64_t)delta < mind) mind = (int64_t)delta;
    }
    wzz(w, mind);
    uint8_t widths[4] = {0};
    for (int m = 0; m < 4; m++)
      for (size_t i = (size_t)m * 32; i < (size_t)m * 32 + 32 && i < cnt; i++) {
        uint64_t rel = d[i] - (uint64_t)mind;
        if (is32) rel = (uint32_t)rel;
        int bw = 0;
        while (bw < 64 && (rel >> bw)) bw++;
        if (bw > widths[m]) widths[m] = (uint8_t)bw;
      }
    wput(w, widths, 4);
    for (int m = 0; m < 4 && (size_t)m * 32 < cnt; m++) {
      uint8_t bytes[32 * 8] = {0};
      for (size_t i = 0; i < 32; i++) {
        size_t k = (size_t)m * 32 + i;
        uint64_t rel = k < cnt ? d[k] - (uint64_t)mind : 0;
        if (is32) rel = (uint32_t)rel;
        for (int b = 0; b < widths[m]; b++) {
          size_t bit = i * widths[m] + (size_t)b;
          if ((rel >> b) & 1) bytes[bit / 8] |= (uint8_t)(1u << (bit % 8));
        }
      }
      wput(w, bytes, (size_t)widths[m] * 4);
    }
  }
}

static pl__leaf make_leaf(int phys, pl_type t, pl__conv conv, int32_t phys_width) {
  pl__leaf lf;
  memset(&lf, 0, sizeof lf);
  lf.phys = phys;
  lf.type = t;
  lf.conv = conv;
  lf.phys_width = phys_width;
  lf.out_width = conv == PL__CONV_BYTES || conv == PL__CONV_BOOL ? 0 : pl_type_byte_width(&t);
  lf.type_length = phys_width;
  return lf;
}

static void decode_all(const pl__leaf *lf, int enc, const wbuf *w, int64_t n, pl_column *out,
                       pl_status want) {
  pl__values v;
  pl_error err = {0};
  pl_status st = pl__values_init(&v, lf, enc, w->p, w->len, n, NULL, NULL, &err);
  /* decode in uneven slices to cross block and miniblock boundaries */
  for (int64_t done = 0; !st && done < n;) {
    int64_t k = (done % 7) + 1;
    if (k > n - done) k = n - done;
    st = pl__values_get(&v, out, k, &err);
    done += k;
  }
  pl__values_release(&v);
  assert_int_equal(st, want);
}

static void test_delta_binary_packed(void **state) {
  (void)state;
  unsigned seed = 12345;
  for (int round = 0; round < 40; round++) {
    bool is32 = round & 1;
    size_t n = (size_t)(rand_r(&seed) % 700) + 1;
    int64_t *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++) {
      int64_t x = (int64_t)(((uint64_t)rand_r(&seed) << 33) ^ ((uint64_t)rand_r(&seed) << 2));
      if (round % 4 < 2) x %= 1000;             /* small deltas */
      if (round == 5) x = i % 2 ? INT64_MIN : INT64_MAX; /* extremes */
      v[i] = is32 ? (int32_t)x : x;
    }
    wbuf w = {0};
    enc_dbp(&w, v, n, is32);
    pl_type t = pl_type_make(is32 ? PL_INT32 : PL_INT64);
    pl__leaf lf = make_leaf(is32 ? PL_PQ_INT32 : PL_PQ_INT64, t, PL__CONV_NONE, is32 ? 4 : 8);
    pl_column *c = pl_column_new(&t, NULL, NULL);
    decode_all(&lf, PL_PQ_ENC_DELTA_BINARY_PACKED, &w, (int64_t)n, c, PL_OK);
    assert_int_equal(c->length, (int64_t)n);
    for (size_t i = 0; i < n; i++) {
      int64_t got = is32 ? ((const int32_t *)c->values.data)[i] : ((const int64_t *)c->values.data)[i];
      if (got != v[i]) fail_msg("round %d value %zu: got %lld want %lld", round, i, (long long)got, (long long)v[i]);
    }
    pl_column_free(c);
    /* asking for one value more than encoded is an error, not a read past the end */
    c = pl_column_new(&t, NULL, NULL);
    decode_all(&lf, PL_PQ_ENC_DELTA_BINARY_PACKED, &w, (int64_t)n + 1, c, PL_ECORRUPT);
    pl_column_free(c);
    /* every truncation fails cleanly (or still decodes: trailing padding may go) */
    for (size_t cut = 0; cut < w.len; cut += 1 + w.len / 16) {
      wbuf t2 = {w.p, cut, cut};
      c = pl_column_new(&t, NULL, NULL);
      pl__values vv;
      pl_error err = {0};
      pl_status st = pl__values_init(&vv, &lf, PL_PQ_ENC_DELTA_BINARY_PACKED, t2.p, t2.len, (int64_t)n, NULL, NULL, &err);
      if (!st) st = pl__values_get(&vv, c, (int64_t)n, &err);
      assert_true(st == PL_OK || st == PL_ECORRUPT);
      pl__values_release(&vv);
      pl_column_free(c);
    }
    free(w.p);
    free(v);
  }
}

static void test_delta_byte_arrays(void **state) {
  (void)state;
  const char *words[] = {"apple", "applesauce", "apply", "", "banana", "band", "bandana", "b", "zebra"};
  const int n = 9;
  /* DELTA_LENGTH_BYTE_ARRAY: lengths (DBP) then the bytes */
  wbuf w = {0};
  int64_t lens[9];
  for (int i = 0; i < n; i++) lens[i] = (int64_t)strlen(words[i]);
  enc_dbp(&w, lens, (size_t)n, true);
  for (int i = 0; i < n; i++) wput(&w, words[i], strlen(words[i]));
  pl_type t = pl_type_make(PL_STRING);
  pl__leaf lf = make_leaf(PL_PQ_BYTE_ARRAY, t, PL__CONV_BYTES, 0);
  pl_column *c = pl_column_new(&t, NULL, NULL);
  decode_all(&lf, PL_PQ_ENC_DELTA_LENGTH_BYTE_ARRAY, &w, n, c, PL_OK);
  const int64_t *off = pl_column_offsets(c);
  for (int i = 0; i < n; i++) {
    assert_int_equal(off[i + 1] - off[i], (int64_t)strlen(words[i]));
    assert_memory_equal(c->values.data + off[i], words[i], strlen(words[i]));
  }
  pl_column_free(c);
  free(w.p);
  /* DELTA_BYTE_ARRAY: prefix lengths, suffix lengths (DBP), suffix bytes */
  memset(&w, 0, sizeof w);
  int64_t pre[9], suf[9];
  for (int i = 0; i < n; i++) {
    size_t p = 0;
    if (i)
      while (words[i][p] && words[i - 1][p] && words[i][p] == words[i - 1][p]) p++;
    pre[i] = (int64_t)p;
    suf[i] = (int64_t)(strlen(words[i]) - p);
  }
  enc_dbp(&w, pre, (size_t)n, true);
  enc_dbp(&w, suf, (size_t)n, true);
  for (int i = 0; i < n; i++) wput(&w, words[i] + pre[i], (size_t)suf[i]);
  c = pl_column_new(&t, NULL, NULL);
  decode_all(&lf, PL_PQ_ENC_DELTA_BYTE_ARRAY, &w, n, c, PL_OK);
  off = pl_column_offsets(c);
  for (int i = 0; i < n; i++) {
    assert_int_equal(off[i + 1] - off[i], (int64_t)strlen(words[i]));
    assert_memory_equal(c->values.data + off[i], words[i], strlen(words[i]));
  }
  pl_column_free(c);
  /* a prefix longer than the previous value is corrupt */
  free(w.p);
  memset(&w, 0, sizeof w);
  int64_t bad_pre[2] = {0, 9}, bad_suf[2] = {1, 1};
  enc_dbp(&w, bad_pre, 2, true);
  enc_dbp(&w, bad_suf, 2, true);
  wput(&w, "ab", 2);
  c = pl_column_new(&t, NULL, NULL);
  decode_all(&lf, PL_PQ_ENC_DELTA_BYTE_ARRAY, &w, 2, c, PL_ECORRUPT);
  pl_column_free(c);
  free(w.p);
  pl_type_release(&t);
}

static void test_byte_stream_split(void **state) {
  (void)state;
  float f[5] = {1.5f, -2.25f, 0.0f, 1e30f, -0.0f};
  uint8_t enc[20];
  for (int i = 0; i < 5; i++) {
    uint8_t b[4];
    memcpy(b, &f[i], 4);
    for (int k = 0; k < 4; k++) enc[k * 5 + i] = b[k];
  }
  wbuf w = {enc, sizeof enc, sizeof enc};
  pl_type t = pl_type_make(PL_FLOAT32);
  pl__leaf lf = make_leaf(PL_PQ_FLOAT, t, PL__CONV_NONE, 4);
  pl_column *c = pl_column_new(&t, NULL, NULL);
  decode_all(&lf, PL_PQ_ENC_BYTE_STREAM_SPLIT, &w, 5, c, PL_OK);
  assert_memory_equal(c->values.data, f, sizeof f);
  pl_column_free(c);
  /* a size that is not a multiple of the value width is corrupt */
  wbuf w2 = {enc, 19, 19};
  c = pl_column_new(&t, NULL, NULL);
  decode_all(&lf, PL_PQ_ENC_BYTE_STREAM_SPLIT, &w2, 4, c, PL_ECORRUPT);
  pl_column_free(c);
}

/* ------------------------------------------------------------------ reader API */
typedef struct scan_result {
  pl_status st;
  char msg[PL_ERROR_MSG_MAX];
  int64_t rows, batches, max_batch;
  int n;
  char names[16][64];
  char sums[16][17];
} scan_result;

static void scan(const char *path, const pl_parquet_scan_options *so, size_t budget, bool crc,
                 scan_result *res) {
  memset(res, 0, sizeof *res);
  pl_error err = {0};
  pl_budget *b = pl_budget_new(budget);
  pl_parquet_open_options oo = {.verify_crc = crc};
  pl_parquet_file *f = pl_parquet_open(path, &oo, b, &err);
  pl_parquet_reader *r = NULL;
  pl_checksum *ck[16] = {0};
  if (!f) goto done;
  r = pl_parquet_reader_new(f, so, b, &err);
  if (!r) goto done;
  for (;;) {
    pl_batch *batch;
    if (pl_parquet_reader_next(r, &batch, &err)) goto done;
    if (!batch) break;
    if (!res->n) {
      res->n = batch->schema.n_fields;
      for (int i = 0; i < res->n && i < 16; i++) {
        snprintf(res->names[i], 64, "%s", batch->schema.fields[i].name);
        ck[i] = pl_checksum_new(&batch->schema.fields[i].type);
      }
    }
    for (int i = 0; i < res->n && i < 16; i++) assert_int_equal(pl_checksum_add(ck[i], batch->columns[i], NULL), PL_OK);
    res->rows += batch->length;
    res->batches++;
    if (batch->length > res->max_batch) res->max_batch = batch->length;
    pl_batch_free(batch);
  }
  for (int i = 0; i < res->n && i < 16; i++) pl_checksum_hex(ck[i], res->sums[i]);
  err.code = PL_OK;
done:
  res->st = err.code;
  snprintf(res->msg, sizeof res->msg, "%s", err.msg);
  for (int i = 0; i < 16; i++) pl_checksum_free(ck[i]);
  pl_parquet_reader_free(r);
  pl_parquet_close(f);
  assert_int_equal(pl_budget_used(b), 0);
  pl_budget_free(b);
}

static void test_projection(void **state) {
  (void)state;
  const char *cols[] = {"string_col", "id"};
  pl_parquet_scan_options so = {.n_columns = 2, .columns = cols};
  scan_result res;
  scan(corpus("alltypes_plain.parquet"), &so, PL_UNLIMITED, false, &res);
  assert_int_equal(res.st, PL_OK);
  assert_int_equal(res.rows, 8);
  assert_int_equal(res.n, 2);
  assert_string_equal(res.names[0], "string_col");
  assert_string_equal(res.names[1], "id");
  assert_string_equal(res.sums[0], "a3f559bcb663847d"); /* golden */
  assert_string_equal(res.sums[1], "7ce7c886155a40b1");
  const char *missing[] = {"nope"};
  so = (pl_parquet_scan_options){.n_columns = 1, .columns = missing};
  scan(corpus("alltypes_plain.parquet"), &so, PL_UNLIMITED, false, &res);
  assert_int_equal(res.st, PL_ENOTFOUND);
  assert_non_null(strstr(res.msg, "alltypes_plain.parquet"));
  assert_non_null(strstr(res.msg, "'nope'"));
  const char *twice[] = {"id", "bool_col", "id"};
  so = (pl_parquet_scan_options){.n_columns = 3, .columns = twice};
  scan(corpus("alltypes_plain.parquet"), &so, PL_UNLIMITED, false, &res);
  assert_int_equal(res.st, PL_EINVAL);
  assert_non_null(strstr(res.msg, "twice"));
  /* zero columns: row counts only */
  so = (pl_parquet_scan_options){.n_columns = 0, .columns = twice};
  scan(corpus("alltypes_tiny_pages.parquet"), &so, PL_UNLIMITED, false, &res);
  assert_int_equal(res.st, PL_OK);
  assert_int_equal(res.rows, 7300);
  assert_int_equal(res.batches, 1);
}

/* Only the chosen columns' bytes are read: garbage over another column's chunk is unseen. */
static void test_projection_reads_only_chosen(void **state) {
  (void)state;
  char *dir = tu_mkdtemp("proj");
  char path[1024];
  snprintf(path, sizeof path, "%s/t.parquet", dir);
  char *cmd;
  assert_int_equal(tu_run(&cmd, "cp '%s' '%s'", corpus("alltypes_plain.parquet"), path), 0);
  free(cmd);
  pl_error err = {0};
  pl_parquet_file *f = pl_parquet_open(path, NULL, NULL, &err);
  assert_non_null(f);
  const pl_pq_file_metadata *md = pl_parquet_metadata(f);
  int32_t victim = pl_schema_find(pl_parquet_schema(f), "string_col");
  assert_true(victim >= 0);
  const pl_pq_column_meta *m = &md->row_groups[0].columns[victim].meta;
  int64_t start = m->has_dictionary_page_offset && m->dictionary_page_offset > 0 ? m->dictionary_page_offset : m->data_page_offset;
  int64_t len = m->total_compressed_size;
  pl_parquet_close(f);
  FILE *fp = fopen(path, "r+b");
  assert_non_null(fp);
  fseek(fp, (long)start, SEEK_SET);
  for (int64_t i = 0; i < len; i++) fputc(0xff, fp);
  fclose(fp);
  scan_result res;
  scan(path, NULL, PL_UNLIMITED, false, &res);
  assert_int_not_equal(res.st, PL_OK);
  assert_non_null(strstr(res.msg, "string_col"));
  const char *cols[] = {"id", "bool_col"};
  pl_parquet_scan_options so = {.n_columns = 2, .columns = cols};
  scan(path, &so, PL_UNLIMITED, false, &res);
  assert_int_equal(res.st, PL_OK);
  assert_string_equal(res.sums[0], "7ce7c886155a40b1");
  assert_string_equal(res.sums[1], "cb2f95cea1907e48");
  tu_rmrf(dir);
  pl_free(dir);
}

static void test_row_groups(void **state) {
  (void)state;
  const char *cols[] = {"double_ieee754"};
  int pick[] = {3, 1};
  pl_parquet_scan_options so = {.n_columns = 1, .columns = cols, .n_row_groups = 2, .row_groups = pick};
  scan_result res;
  scan(corpus("floating_orders_nan_count.parquet"), &so, PL_UNLIMITED, false, &res);
  assert_int_equal(res.st, PL_OK);
  assert_int_equal(res.rows, 20);
  assert_int_equal(res.batches, 2); /* batches never span row groups */
  int bad[] = {5};
  so.n_row_groups = 1;
  so.row_groups = bad;
  scan(corpus("floating_orders_nan_count.parquet"), &so, PL_UNLIMITED, false, &res);
  assert_int_equal(res.st, PL_EINVAL);
  assert_non_null(strstr(res.msg, "row group 5"));
}

/* Reads row group g's doubles. */
static void rg_values(const char *path, const char *col, int g, double *out, int64_t *n) {
  pl_error err = {0};
  pl_parquet_file *f = pl_parquet_open(path, NULL, NULL, &err);
  const char *cols[] = {col};
  int pick[] = {g};
  pl_parquet_scan_options so = {.n_columns = 1, .columns = cols, .n_row_groups = 1, .row_groups = pick};
  pl_parquet_reader *r = pl_parquet_reader_new(f, &so, NULL, &err);
  assert_non_null(r);
  *n = 0;
  pl_batch *b;
  while (pl_parquet_reader_next(r, &b, &err) == PL_OK && b) {
    for (int64_t i = 0; i < b->length; i++) {
      out[*n] = pl_column_is_valid(b->columns[0], i) ? ((const double *)b->columns[0]->values.data)[i] : NAN;
      (*n)++;
    }
    pl_batch_free(b);
  }
  pl_parquet_reader_free(r);
  pl_parquet_close(f);
}

static bool holds(double x, pl_cmp op, double v) {
  switch (op) {
  case PL_CMP_EQ: return x == v;
  case PL_CMP_NE: return !isnan(x) && x != v;
  case PL_CMP_LT: return x < v;
  case PL_CMP_LE: return x <= v;
  case PL_CMP_GT: return x > v;
  case PL_CMP_GE: return x >= v;
  default: return true;
  }
}

static void test_pruning(void **state) {
  (void)state;
  const char *path = corpus("floating_orders_nan_count.parquet");
  double vals[5][64];
  int64_t nv[5];
  for (int g = 0; g < 5; g++) rg_values(path, "double_ieee754", g, vals[g], &nv[g]);
  const double probes[] = {-10, -5, -2, -0.5, 0, 0.5, 3, 4, 5, 10};
  int pruned_total = 0;
  for (pl_cmp op = PL_CMP_EQ; op <= PL_CMP_GE; op++) {
    for (size_t p = 0; p < sizeof probes / sizeof probes[0]; p++) {
      pl_parquet_predicate pr = {"double_ieee754", op, probes[p], NULL};
      pl_error err = {0};
      pl_parquet_file *f = pl_parquet_open(path, NULL, NULL, &err);
      const char *cols[] = {"double_ieee754"};
      pl_parquet_scan_options so = {.n_columns = 1, .columns = cols, .n_predicates = 1, .predicates = &pr, .batch_rows = 1000};
      pl_parquet_reader *r = pl_parquet_reader_new(f, &so, NULL, &err);
      assert_non_null(r);
      int64_t rows = 0;
      pl_batch *b;
      while (pl_parquet_reader_next(r, &b, &err) == PL_OK && b) {
        rows += b->length;
        pl_batch_free(b);
      }
      pl_parquet_reader_free(r);
      pl_parquet_close(f);
      /* soundness: every row group holding a matching row is kept (row groups have 10 rows
       * each, so the kept count is rows / 10) */
      int need = 0;
      for (int g = 0; g < 5; g++) {
        bool any = false;
        for (int64_t i = 0; i < nv[g]; i++) any |= holds(vals[g][i], op, probes[p]);
        need += any;
      }
      assert_true(rows / 10 >= need);
      pruned_total += 5 - (int)(rows / 10);
    }
  }
  assert_true(pruned_total > 50); /* statistics do prune */
  /* the exact case: > 4 keeps [-2,5], the all-NaN group and [0,5]; drops [-2,3] and [-5,-0] */
  pl_parquet_predicate pr = {"double_ieee754", PL_CMP_GT, 4, NULL};
  pl_parquet_scan_options so = {.n_predicates = 1, .predicates = &pr};
  scan_result res;
  scan(path, &so, PL_UNLIMITED, false, &res);
  assert_int_equal(res.st, PL_OK);
  assert_int_equal(res.rows, 30);
  /* strings and nulls: sort_columns has b in {a,b,c} and one null a per row group */
  pl_parquet_predicate ps = {"b", PL_CMP_EQ, 0, "zzz"};
  so = (pl_parquet_scan_options){.n_predicates = 1, .predicates = &ps};
  scan(corpus("sort_columns.parquet"), &so, PL_UNLIMITED, false, &res);
  assert_int_equal(res.rows, 0);
  ps.str = "b";
  scan(corpus("sort_columns.parquet"), &so, PL_UNLIMITED, false, &res);
  assert_int_equal(res.rows, 6);
  pl_parquet_predicate pn = {"a", PL_CMP_IS_NULL, 0, NULL};
  so.predicates = &pn;
  scan(corpus("sort_columns.parquet"), &so, PL_UNLIMITED, false, &res);
  assert_int_equal(res.rows, 6);
  pn.column = "b"; /* b has null_count 0 */
  scan(corpus("sort_columns.parquet"), &so, PL_UNLIMITED, false, &res);
  assert_int_equal(res.rows, 0);
  pn.column = "nope";
  scan(corpus("sort_columns.parquet"), &so, PL_UNLIMITED, false, &res);
  assert_int_equal(res.st, PL_ENOTFOUND);
}

static void test_batches(void **state) {
  (void)state;
  scan_result all, res;
  scan(corpus("alltypes_tiny_pages.parquet"), NULL, PL_UNLIMITED, false, &all);
  assert_int_equal(all.st, PL_OK);
  assert_int_equal(all.rows, 7300);
  pl_parquet_scan_options so = {.batch_rows = 1000};
  scan(corpus("alltypes_tiny_pages.parquet"), &so, PL_UNLIMITED, false, &res);
  assert_int_equal(res.rows, 7300);
  assert_int_equal(res.batches, 8);
  assert_int_equal(res.max_batch, 1000);
  for (int i = 0; i < all.n; i++) assert_string_equal(res.sums[i], all.sums[i]);
  so = (pl_parquet_scan_options){.batch_bytes = 4096};
  scan(corpus("alltypes_tiny_pages.parquet"), &so, PL_UNLIMITED, false, &res);
  assert_int_equal(res.rows, 7300);
  assert_true(res.batches > 20);
  assert_true(res.max_batch < 1000);
  for (int i = 0; i < all.n; i++) assert_string_equal(res.sums[i], all.sums[i]);
  /* nested rows are never split across batches: one row per batch still matches */
  so = (pl_parquet_scan_options){.batch_rows = 1};
  scan(corpus("nested_lists.snappy.parquet"), &so, PL_UNLIMITED, false, &res);
  assert_int_equal(res.batches, 3);
  scan_result whole;
  scan(corpus("nested_lists.snappy.parquet"), NULL, PL_UNLIMITED, false, &whole);
  assert_string_equal(res.sums[0], whole.sums[0]);
}

static void test_budget(void **state) {
  (void)state;
  scan_result res;
  scan(corpus("alltypes_tiny_pages_plain.parquet"), NULL, 64 * 1024, false, &res);
  assert_int_equal(res.st, PL_ELIMIT);
  assert_non_null(strstr(res.msg, "alltypes_tiny_pages_plain.parquet"));
  assert_non_null(strstr(res.msg, "column '"));
  assert_non_null(strstr(res.msg, "row group 0"));
  /* a budget that fits small batches reads the file */
  pl_parquet_scan_options so = {.batch_rows = 256};
  scan(corpus("alltypes_tiny_pages_plain.parquet"), &so, 4 << 20, false, &res);
  assert_int_equal(res.st, PL_OK);
  assert_int_equal(res.rows, 7300);
}

static void test_crc(void **state) {
  (void)state;
  scan_result res;
  scan(corpus("datapage_v1-corrupt-checksum.parquet"), NULL, PL_UNLIMITED, true, &res);
  assert_int_equal(res.st, PL_ECORRUPT);
  assert_non_null(strstr(res.msg, "CRC mismatch"));
  assert_non_null(strstr(res.msg, "datapage_v1-corrupt-checksum.parquet"));
  scan(corpus("datapage_v1-corrupt-checksum.parquet"), NULL, PL_UNLIMITED, false, &res);
  assert_int_equal(res.st, PL_OK);
  scan(corpus("datapage_v1-snappy-compressed-checksum.parquet"), NULL, PL_UNLIMITED, true, &res);
  assert_int_equal(res.st, PL_OK);
  scan(corpus("rle-dict-uncompressed-corrupt-checksum.parquet"), NULL, PL_UNLIMITED, true, &res);
  assert_int_equal(res.st, PL_ECORRUPT); /* the dictionary page's CRC */
}

static void test_open_errors(void **state) {
  (void)state;
  pl_error err = {0};
  assert_null(pl_parquet_open("/nonexistent/x.parquet", NULL, NULL, &err));
  assert_int_equal(err.code, PL_EIO);
  assert_non_null(strstr(err.msg, "/nonexistent/x.parquet"));
  char *dir = tu_mkdtemp("open");
  char path[1024];
  snprintf(path, sizeof path, "%s/short.parquet", dir);
  FILE *fp = fopen(path, "wb");
  fputs("PAR1PAR1", fp);
  fclose(fp);
  assert_null(pl_parquet_open(path, NULL, NULL, &err));
  assert_int_equal(err.code, PL_ECORRUPT);
  assert_non_null(strstr(err.msg, "short.parquet"));
  snprintf(path, sizeof path, "%s/csv.parquet", dir);
  fp = fopen(path, "wb");
  fputs("a,b,c\n1,2,3\n4,5,6\n", fp);
  fclose(fp);
  assert_null(pl_parquet_open(path, NULL, NULL, &err));
  assert_non_null(strstr(err.msg, "no PAR1 magic"));
  /* a footer length pointing before the file start */
  snprintf(path, sizeof path, "%s/len.parquet", dir);
  fp = fopen(path, "wb");
  fputs("PAR1xxxxxxxx", fp);
  fputc(0xff, fp);
  fputc(0xff, fp);
  fputc(0xff, fp);
  fputc(0x7f, fp);
  fputs("PAR1", fp);
  fclose(fp);
  assert_null(pl_parquet_open(path, NULL, NULL, &err));
  assert_non_null(strstr(err.msg, "footer length"));
  /* a FIFO neither blocks nor reads */
  snprintf(path, sizeof path, "%s/fifo.parquet", dir);
  assert_int_equal(mkfifo(path, 0600), 0);
  assert_null(pl_parquet_open(path, NULL, NULL, &err));
  assert_non_null(strstr(err.msg, "not a regular file"));
  assert_null(pl_parquet_open(dir, NULL, NULL, &err));
  assert_non_null(strstr(err.msg, "not a regular file"));
  tu_rmrf(dir);
  pl_free(dir);
}

/* footer_only keeps a file the reader refuses open for its footer; readers still fail. */
static void test_footer_only(void **state) {
  (void)state;
  char bad[1024];
  snprintf(bad, sizeof bad, "%s/testdata/parquet-testing/bad_data/PARQUET-1481.parquet", tu_shared_dir());
  pl_error err = {0};
  pl_budget *b = pl_budget_new((size_t)64 << 20);
  assert_null(pl_parquet_open(bad, NULL, b, &err));
  assert_int_equal(err.code, PL_ECORRUPT);
  assert_non_null(strstr(err.msg, "unknown physical type -7"));
  pl_parquet_open_options o = {.footer_only = true};
  pl_error err2 = {0};
  pl_parquet_file *f = pl_parquet_open(bad, &o, b, &err2);
  assert_non_null(f);
  assert_int_equal(err2.code, PL_OK);
  const pl_pq_file_metadata *md = pl_parquet_metadata(f);
  assert_int_equal(md->num_rows, 34);
  assert_int_equal(md->n_row_groups, 1);
  assert_null(pl_parquet_schema(f));
  assert_null(pl_parquet_reader_new(f, NULL, b, &err2));
  assert_int_equal(err2.code, PL_ECORRUPT);
  assert_string_equal(err2.msg, err.msg); /* the same reason as a plain open */
  pl_parquet_close(f);
  /* encrypted columns under a plaintext footer */
  const char *enc = corpus("encrypt_columns_plaintext_footer.parquet.encrypted");
  f = pl_parquet_open(enc, &o, b, &err2);
  assert_non_null(f);
  assert_int_equal(pl_parquet_metadata(f)->num_rows, 50);
  assert_null(pl_parquet_reader_new(f, NULL, b, &err2));
  assert_int_equal(err2.code, PL_EUNSUPPORTED);
  assert_non_null(strstr(err2.msg, "encrypted"));
  pl_parquet_close(f);
  /* an encrypted footer cannot be shown: footer_only changes nothing */
  assert_null(pl_parquet_open(corpus("uniform_encryption.parquet.encrypted"), &o, b, &err2));
  assert_int_equal(err2.code, PL_EUNSUPPORTED);
  /* a readable file opened footer_only reads as usual */
  f = pl_parquet_open(corpus("alltypes_plain.parquet"), &o, b, &err2);
  assert_non_null(f);
  assert_non_null(pl_parquet_schema(f));
  pl_parquet_reader *r = pl_parquet_reader_new(f, NULL, b, &err2);
  assert_non_null(r);
  int64_t rows = 0;
  pl_batch *bt;
  pl_status st;
  while ((st = pl_parquet_reader_next(r, &bt, &err2)) == PL_OK && bt) {
    rows += bt->length;
    pl_batch_free(bt);
  }
  assert_int_equal(st, PL_OK);
  assert_int_equal(rows, 8);
  pl_parquet_reader_free(r);
  pl_parquet_close(f);
  assert_int_equal(pl_budget_used(b), 0);
  pl_budget_free(b);
}

static void test_metadata_api(void **state) {
  (void)state;
  pl_error err = {0};
  const char *path = corpus("nested_maps.snappy.parquet");
  pl_parquet_file *f = pl_parquet_open(path, NULL, NULL, &err);
  assert_non_null(f);
  assert_string_equal(pl_parquet_path(f), path);
  const pl_pq_file_metadata *md = pl_parquet_metadata(f);
  assert_int_equal(md->num_rows, 6);
  const pl_schema *s = pl_parquet_schema(f);
  assert_int_equal(s->n_fields, 3);
  char t[256];
  pl_type_canonical(&s->fields[0].type, t, sizeof t);
  assert_string_equal(t, "map<string,map<int32,bool>>");
  /* two readers over one file, interleaved, see the same rows */
  pl_parquet_reader *r1 = pl_parquet_reader_new(f, NULL, NULL, &err);
  pl_parquet_scan_options so = {.batch_rows = 2};
  pl_parquet_reader *r2 = pl_parquet_reader_new(f, &so, NULL, &err);
  pl_batch *b1, *b2;
  assert_int_equal(pl_parquet_reader_next(r1, &b1, &err), PL_OK);
  int64_t n2 = 0;
  while (pl_parquet_reader_next(r2, &b2, &err) == PL_OK && b2) {
    n2 += b2->length;
    pl_batch_free(b2);
  }
  assert_int_equal(b1->length, 6);
  assert_int_equal(n2, 6);
  pl_batch_free(b1);
  assert_int_equal(pl_parquet_reader_next(r1, &b1, &err), PL_OK);
  assert_null(b1);
  pl_parquet_reader_free(r1);
  pl_parquet_reader_free(r2);
  pl_parquet_close(f);
}


/* ------------------------------------------------------------------ round trips with praline's writer */
/* A batch with nulls, nesting and every codec-relevant type, built with the builders. */
static pl_batch *make_batch(int64_t n, pl_budget *b) {
  pl_schema s;
  pl_schema_init(&s);
  pl_schema_add(&s, pl_field_make("id", pl_type_make(PL_INT64), false));
  pl_schema_add(&s, pl_field_make("name", pl_type_make(PL_STRING), true));
  pl_schema_add(&s, pl_field_make("score", pl_type_make(PL_FLOAT64), true));
  pl_schema_add(&s, pl_field_make("flag", pl_type_make(PL_BOOL), true));
  pl_schema_add(&s, pl_field_make("tags", pl_type_list(pl_field_make("item", pl_type_make(PL_INT32), true)), true));
  pl_batch *batch = pl_batch_new(&s, b, NULL);
  pl_schema_release(&s);
  assert_non_null(batch);
  char buf[64];
  for (int64_t i = 0; i < n; i++) {
    assert_int_equal(pl_column_append_int(batch->columns[0], i * 7 - 1000, NULL), PL_OK);
    if (i % 11 == 3) assert_int_equal(pl_column_append_null(batch->columns[1], NULL), PL_OK);
    else {
      int len = snprintf(buf, sizeof buf, "name-%lld", (long long)(i % 97));
      assert_int_equal(pl_column_append_bytes(batch->columns[1], buf, (size_t)len, NULL), PL_OK);
    }
    if (i % 5 == 0) assert_int_equal(pl_column_append_null(batch->columns[2], NULL), PL_OK);
    else assert_int_equal(pl_column_append_float(batch->columns[2], (double)i / 3.0, NULL), PL_OK);
    if (i % 13 == 1) assert_int_equal(pl_column_append_null(batch->columns[3], NULL), PL_OK);
    else assert_int_equal(pl_column_append_bool(batch->columns[3], i % 3 == 0, NULL), PL_OK);
    pl_column *tags = batch->columns[4];
    if (i % 17 == 2) {
      assert_int_equal(pl_column_append_null(tags, NULL), PL_OK);
    } else {
      for (int64_t k = 0; k < i % 4; k++) {
        if (k == 1 && i % 2) assert_int_equal(pl_column_append_null(tags->children[0], NULL), PL_OK);
        else assert_int_equal(pl_column_append_int(tags->children[0], (int64_t)(i + k), NULL), PL_OK);
      }
      assert_int_equal(pl_column_end_list(tags, NULL), PL_OK);
    }
  }
  assert_int_equal(pl_batch_finish(batch, NULL), PL_OK);
  return batch;
}

static void checksums_of(const pl_batch *b, char sums[][17]) {
  for (int32_t i = 0; i < b->schema.n_fields; i++) {
    pl_checksum *ck = pl_checksum_new(&b->schema.fields[i].type);
    assert_int_equal(pl_checksum_add(ck, b->columns[i], NULL), PL_OK);
    pl_checksum_hex(ck, sums[i]);
    pl_checksum_free(ck);
  }
}

static void test_writer_round_trip(void **state) {
  (void)state;
  char *dir = tu_mkdtemp("rt");
  pl_budget *b = pl_budget_new(PL_UNLIMITED);
  pl_batch *batch = make_batch(5000, b);
  char want[5][17];
  checksums_of(batch, want);
  const pl_codec codecs[] = {PL_CODEC_UNCOMPRESSED, PL_CODEC_SNAPPY, PL_CODEC_GZIP, PL_CODEC_ZSTD,
                             PL_CODEC_LZ4_RAW, PL_CODEC_BROTLI};
  int runs = 0;
  for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++) {
    for (int version = 1; version <= 2; version++) {
      for (int dict = 0; dict <= 1; dict++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/rt-%zu-%d-%d.parquet", dir, c, version, dict);
        pl_parquet_write_options o;
        pl_parquet_write_options_default(&o);
        o.codec = codecs[c];
        o.page_version = version;
        o.dictionary = dict;
        o.page_bytes = 4096; /* many pages per row group */
        o.row_group_rows = 1700;
        pl_error err = {0};
        pl_parquet_writer *w = pl_parquet_writer_open(path, &batch->schema, &o, b, &err);
        if (!w) fail_msg("%s", err.msg);
        assert_int_equal(pl_parquet_writer_write(w, batch, &err), PL_OK);
        assert_int_equal(pl_parquet_writer_close(w, &err), PL_OK);
        pl_parquet_scan_options so = {.batch_rows = 999};
        scan_result res;
        scan(path, &so, PL_UNLIMITED, true, &res);
        if (res.st) fail_msg("%s: %s", path, res.msg);
        assert_int_equal(res.rows, 5000);
        for (int i = 0; i < 5; i++)
          if (strcmp(res.sums[i], want[i]))
            fail_msg("codec %s v%d dict %d column %s: %s != %s", pl_codec_name(codecs[c]), version, dict,
                     res.names[i], res.sums[i], want[i]);
        runs++;
      }
    }
  }
  assert_int_equal(runs, 24);
  pl_batch_free(batch);
  pl_budget_free(b);
  tu_rmrf(dir);
  pl_free(dir);
}

/* Dictionary-encoded long strings decode to far more than their chunk holds: batches must
 * still stay near batch_bytes. */
static void test_batch_bytes_adapts(void **state) {
  (void)state;
  char *dir = tu_mkdtemp("bb");
  char path[1024];
  snprintf(path, sizeof path, "%s/dict.parquet", dir);
  pl_schema s;
  pl_schema_init(&s);
  pl_schema_add(&s, pl_field_make("v", pl_type_make(PL_STRING), false));
  pl_batch *batch = pl_batch_new(&s, NULL, NULL);
  char big[3][2000];
  for (int k = 0; k < 3; k++) memset(big[k], 'a' + k, sizeof big[k]);
  for (int i = 0; i < 30000; i++)
    assert_int_equal(pl_column_append_bytes(batch->columns[0], big[i % 3], sizeof big[0], NULL), PL_OK);
  assert_int_equal(pl_batch_finish(batch, NULL), PL_OK);
  pl_error err = {0};
  pl_parquet_writer *w = pl_parquet_writer_open(path, &s, NULL, NULL, &err);
  assert_non_null(w);
  assert_int_equal(pl_parquet_writer_write(w, batch, &err), PL_OK);
  assert_int_equal(pl_parquet_writer_close(w, &err), PL_OK);
  pl_batch_free(batch);
  pl_schema_release(&s);
  pl_parquet_file *f = pl_parquet_open(path, NULL, NULL, &err);
  assert_non_null(f);
  /* the chunk is tiny next to the 60 MB of decoded strings */
  assert_true(pl_parquet_metadata(f)->row_groups[0].columns[0].meta.total_uncompressed_size < (1 << 20));
  pl_parquet_scan_options so = {.batch_bytes = 1 << 20};
  pl_parquet_reader *r = pl_parquet_reader_new(f, &so, NULL, &err);
  size_t max_bytes = 0;
  int64_t rows = 0, batches = 0;
  pl_batch *bt;
  while (pl_parquet_reader_next(r, &bt, &err) == PL_OK && bt) {
    if (batches > 0 && pl_batch_bytes(bt) > max_bytes) max_bytes = pl_batch_bytes(bt);
    rows += bt->length;
    batches++;
    pl_batch_free(bt);
  }
  assert_int_equal(rows, 30000);
  /* after the first (probe) batch, every batch is within 2x of batch_bytes */
  assert_true(max_bytes <= 2u << 20);
  assert_true(batches > 20);
  pl_parquet_reader_free(r);
  pl_parquet_close(f);
  tu_rmrf(dir);
  pl_free(dir);
}

/* ------------------------------------------------------------------ schema mapping rules */
typedef struct el {
  const char *name;
  int type, rep, children, ct;
  int32_t len;
  pl_pq_logical lt;
} el;

#define G(name, rep, n, ct) {name, -1, rep, n, ct, 0, {0}}
#define P(name, type, rep, ct) {name, type, rep, 0, ct, 0, {0}}
enum { REQ = PL_REP_REQUIRED, OPT = PL_REP_OPTIONAL, REP = PL_REP_REPEATED, NOCT = -1 };

/* Maps one top-level field (els[0] is its root) and checks the canonical type and levels. */
static void check_schema(const el *els, int n, const char *want_type, int max_def, int max_rep) {
  pl_pq_file_metadata md;
  memset(&md, 0, sizeof md);
  md.n_schema = n + 1;
  md.schema = pl_calloc((size_t)n + 1, sizeof *md.schema);
  md.schema[0].name = pl_strdup("schema");
  md.schema[0].type = -1;
  md.schema[0].repetition = -1;
  md.schema[0].converted_type = -1;
  md.schema[0].num_children = 1;
  for (int i = 0; i < n; i++) {
    pl_pq_schema_element *e = &md.schema[i + 1];
    e->name = pl_strdup(els[i].name);
    e->type = els[i].type;
    e->repetition = els[i].rep;
    e->num_children = els[i].children;
    e->converted_type = els[i].ct;
    e->type_length = els[i].len;
    e->logical = els[i].lt;
    if (els[i].ct == PL_CT_DECIMAL) {
      e->precision = 20;
      e->scale = 2;
      e->has_precision = e->has_scale = true;
    }
  }
  pl__schema s;
  pl_error err = {0};
  pl_status st = pl__schema_build(&md, &s, &err);
  if (!want_type) {
    assert_int_not_equal(st, PL_OK);
    assert_true(err.msg[0] != 0);
  } else {
    if (st) fail_msg("%s: %s", want_type, err.msg);
    char t[512];
    pl_type_canonical(&s.arrow.fields[0].type, t, sizeof t);
    if (strcmp(t, want_type)) fail_msg("got %s, want %s", t, want_type);
    assert_int_equal(s.leaves[0].max_def, max_def);
    assert_int_equal(s.leaves[0].max_rep, max_rep);
    pl__schema_release(&s);
  }
  pl_pq_file_metadata_release(&md);
}

static void test_schema_rules(void **state) {
  (void)state;
  /* LogicalTypes.md backward-compatibility rules for lists */
  const el two_level[] = {G("my_list", OPT, 1, PL_CT_LIST), P("element", PL_PQ_INT32, REP, NOCT)};
  check_schema(two_level, 2, "list<int32>", 2, 1);
  const el tuple_many[] = {G("my_list", OPT, 1, PL_CT_LIST), G("element", REP, 2, NOCT),
                           P("str", PL_PQ_BYTE_ARRAY, REQ, PL_CT_UTF8), P("num", PL_PQ_INT32, REQ, NOCT)};
  check_schema(tuple_many, 4, "list<struct<str:string,num:int32>>", 2, 1);
  const el array_one[] = {G("my_list", OPT, 1, PL_CT_LIST), G("array", REP, 1, NOCT),
                          P("str", PL_PQ_BYTE_ARRAY, REQ, PL_CT_UTF8)};
  check_schema(array_one, 3, "list<struct<str:string>>", 2, 1);
  const el tuple_one[] = {G("my_list", OPT, 1, PL_CT_LIST), G("my_list_tuple", REP, 1, NOCT),
                          P("str", PL_PQ_BYTE_ARRAY, REQ, PL_CT_UTF8)};
  check_schema(tuple_one, 3, "list<struct<str:string>>", 2, 1);
  const el three_level[] = {G("my_list", OPT, 1, PL_CT_LIST), G("list", REP, 1, NOCT),
                            P("element", PL_PQ_INT32, OPT, NOCT)};
  check_schema(three_level, 3, "list<int32>", 3, 1);
  const el spark_bag[] = {G("a", OPT, 1, PL_CT_LIST), G("bag", REP, 1, NOCT), P("array", PL_PQ_INT64, OPT, NOCT)};
  check_schema(spark_bag, 3, "list<int64>", 3, 1);
  /* a repeated field without annotation is a required list of required items */
  const el bare[] = {P("x", PL_PQ_INT32, REP, NOCT)};
  check_schema(bare, 1, "list<int32>", 1, 1);
  const el bare_group[] = {G("g", REP, 2, NOCT), P("a", PL_PQ_INT32, OPT, NOCT), P("b", PL_PQ_DOUBLE, REQ, NOCT)};
  check_schema(bare_group, 3, "list<struct<a:int32,b:float64>>", 2, 1);
  /* maps, including the legacy MAP_KEY_VALUE annotation */
  const el map[] = {G("m", REQ, 1, PL_CT_MAP), G("key_value", REP, 2, NOCT),
                    P("key", PL_PQ_BYTE_ARRAY, REQ, PL_CT_UTF8), P("value", PL_PQ_INT32, OPT, NOCT)};
  check_schema(map, 4, "map<string,int32>", 1, 1);
  const el mkv[] = {G("m", OPT, 1, PL_CT_MAP_KEY_VALUE), G("map", REP, 2, NOCT),
                    P("key", PL_PQ_INT32, REQ, NOCT), P("value", PL_PQ_INT32, OPT, NOCT)};
  check_schema(mkv, 4, "map<int32,int32>", 2, 1);
  /* list of lists and structs of maps */
  const el nested[] = {G("s", OPT, 1, NOCT), G("l", OPT, 1, PL_CT_LIST), G("list", REP, 1, NOCT),
                       G("element", OPT, 1, PL_CT_LIST), G("list", REP, 1, NOCT),
                       P("element", PL_PQ_FLOAT, REQ, NOCT)};
  check_schema(nested, 6, "struct<l:list<list<float32>>>", 5, 2);
  /* primitive types and legacy converted types */
  const el i8[] = {P("v", PL_PQ_INT32, OPT, PL_CT_INT_8)};
  check_schema(i8, 1, "int8", 1, 0);
  const el u16[] = {P("v", PL_PQ_INT32, REQ, PL_CT_UINT_16)};
  check_schema(u16, 1, "uint16", 0, 0);
  const el tsm[] = {P("v", PL_PQ_INT64, OPT, PL_CT_TIMESTAMP_MICROS)};
  check_schema(tsm, 1, "timestamptz", 1, 0);
  el tsn[] = {P("v", PL_PQ_INT64, OPT, NOCT)};
  tsn[0].lt = (pl_pq_logical){.kind = PL_LT_TIMESTAMP, .unit = PL_TU_NANOS, .utc = false};
  check_schema(tsn, 1, "timestamp", 1, 0);
  el u64[] = {P("v", PL_PQ_INT64, OPT, NOCT)};
  u64[0].lt = (pl_pq_logical){.kind = PL_LT_INTEGER, .bit_width = 64, .is_signed = false};
  check_schema(u64, 1, "uint64", 1, 0);
  const el i96[] = {P("v", PL_PQ_INT96, OPT, NOCT)};
  check_schema(i96, 1, "timestamp", 1, 0);
  el dec[] = {P("v", PL_PQ_FIXED_LEN_BYTE_ARRAY, OPT, PL_CT_DECIMAL)};
  dec[0].len = 9;
  check_schema(dec, 1, "decimal(20,2)", 1, 0);
  el f16[] = {P("v", PL_PQ_FIXED_LEN_BYTE_ARRAY, OPT, NOCT)};
  f16[0].len = 2;
  f16[0].lt = (pl_pq_logical){.kind = PL_LT_FLOAT16};
  check_schema(f16, 1, "float16", 1, 0);
  el json[] = {P("v", PL_PQ_BYTE_ARRAY, OPT, NOCT)};
  json[0].lt = (pl_pq_logical){.kind = PL_LT_JSON};
  check_schema(json, 1, "string", 1, 0);
  const el date[] = {P("v", PL_PQ_INT32, OPT, PL_CT_DATE)};
  check_schema(date, 1, "date", 1, 0);
  /* refused shapes */
  const el two_kids[] = {G("l", OPT, 2, PL_CT_LIST), P("a", PL_PQ_INT32, REP, NOCT), P("b", PL_PQ_INT32, REP, NOCT)};
  check_schema(two_kids, 3, NULL, 0, 0);
  const el bad_rep[] = {P("v", PL_PQ_INT32, 7, NOCT)};
  check_schema(bad_rep, 1, NULL, 0, 0);
  const el bad_type[] = {P("v", 9, OPT, NOCT)};
  check_schema(bad_type, 1, NULL, 0, 0);
  el flba0[] = {P("v", PL_PQ_FIXED_LEN_BYTE_ARRAY, OPT, NOCT)};
  check_schema(flba0, 1, NULL, 0, 0);
  const el empty_group[] = {G("g", OPT, 0, NOCT)};
  check_schema(empty_group, 1, NULL, 0, 0);
  const el short_group[] = {G("g", OPT, 3, NOCT), P("a", PL_PQ_INT32, OPT, NOCT)};
  check_schema(short_group, 2, NULL, 0, 0);
}

/* Memory is bounded by the pages in flight plus one batch, not by the file: a file with
 * ~20 MB of decoded data reads within a peak far below that. */
static void test_memory_bounded(void **state) {
  (void)state;
  char *dir = tu_mkdtemp("mem");
  char path[1024];
  snprintf(path, sizeof path, "%s/big.parquet", dir);
  pl_batch *batch = make_batch(50000, NULL);
  pl_parquet_write_options o;
  pl_parquet_write_options_default(&o);
  o.page_bytes = 64 << 10;
  pl_error err = {0};
  pl_parquet_writer *w = pl_parquet_writer_open(path, &batch->schema, &o, NULL, &err);
  assert_non_null(w);
  for (int k = 0; k < 8; k++) assert_int_equal(pl_parquet_writer_write(w, batch, &err), PL_OK);
  assert_int_equal(pl_parquet_writer_close(w, &err), PL_OK);
  size_t one_batch = pl_batch_bytes(batch); /* 50k rows */
  pl_batch_free(batch);
  pl_budget *b = pl_budget_new(PL_UNLIMITED);
  pl_parquet_file *f = pl_parquet_open(path, NULL, b, &err);
  assert_non_null(f);
  pl_parquet_scan_options so = {.batch_rows = 4096};
  pl_parquet_reader *r = pl_parquet_reader_new(f, &so, b, &err);
  int64_t rows = 0;
  pl_batch *bt;
  while (pl_parquet_reader_next(r, &bt, &err) == PL_OK && bt) {
    rows += bt->length;
    pl_batch_free(bt);
  }
  assert_int_equal(rows, 400000);
  size_t peak = pl_budget_peak(b);
  print_message("decoded ~%zu bytes in total, peak charged %zu\n", one_batch * 8, peak);
  assert_true(peak < one_batch); /* less than 50k rows' worth, for 400k rows read */
  pl_parquet_reader_free(r);
  pl_parquet_close(f);
  assert_int_equal(pl_budget_used(b), 0);
  pl_budget_free(b);
  tu_rmrf(dir);
  pl_free(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_thrift_page_header),
      cmocka_unit_test(test_thrift_hostile),
      cmocka_unit_test(test_rle_hybrid),
      cmocka_unit_test(test_rle_encode_round_trip),
      cmocka_unit_test(test_schema_rules),
      cmocka_unit_test(test_delta_binary_packed),
      cmocka_unit_test(test_delta_byte_arrays),
      cmocka_unit_test(test_byte_stream_split),
      cmocka_unit_test(test_projection),
      cmocka_unit_test(test_projection_reads_only_chosen),
      cmocka_unit_test(test_row_groups),
      cmocka_unit_test(test_pruning),
      cmocka_unit_test(test_batches),
      cmocka_unit_test(test_budget),
      cmocka_unit_test(test_crc),
      cmocka_unit_test(test_open_errors),
      cmocka_unit_test(test_footer_only),
      cmocka_unit_test(test_metadata_api),
      cmocka_unit_test(test_writer_round_trip),
      cmocka_unit_test(test_batch_bytes_adapts),
      cmocka_unit_test(test_memory_bounded),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_parquet_writer.c — the Parquet writer, checked against three outside readers (pqcheck:
 * DuckDB, hyparquet, arrow-rs) and, for simple columns, against checksums computed here from
 * the values written. Footer details (logical types, statistics, encodings) are read back
 * with hyparquet's metadata parser through a small node script. */
#include "test_util.h"

#include "praline/columnar.h"
#include "praline/parquet.h"

#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <nettle/sha2.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------ helpers */
static char *g_dir; /* files checked by pqcheck at the end of the group */

#define OK(expr)                                                                            \
  do {                                                                                      \
    pl_error e_ = {0};                                                                      \
    (void)e_;                                                                               \
    pl_status s_ = (expr);                                                                  \
    if (s_ != PL_OK) fail_msg("%s failed: %s", #expr, err.msg);                             \
  } while (0)

static pl_field fld(const char *name, pl_type t, bool nullable) { return pl_field_make(name, t, nullable); }

/* Deterministic pseudo-random numbers. */
static uint64_t rnd(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static bool is_null_row(bool nullable, int64_t i, int64_t salt) { return nullable && (i * 7 + salt) % 5 == 0; }

/* Appends one value (row i) of a primitive type; strings repeat with period 37 so dictionaries help. */
static void append_prim(pl_column *c, int64_t i, uint64_t *seed, pl_error *err) {
  const pl_type *t = &c->type;
  uint64_t r = rnd(seed);
  char s[64];
  switch (t->id) {
  case PL_BOOL: assert_int_equal(pl_column_append_bool(c, (i % 3) == 0, err), PL_OK); break;
  case PL_INT8: assert_int_equal(pl_column_append_int(c, (int8_t)(r & 0xff), err), PL_OK); break;
  case PL_INT16: assert_int_equal(pl_column_append_int(c, (int16_t)(r & 0xffff), err), PL_OK); break;
  case PL_INT32: assert_int_equal(pl_column_append_int(c, (int32_t)(i % 100 == 0 ? INT32_MIN : (int32_t)(r % 1000) - 500), err), PL_OK); break;
  case PL_INT64: assert_int_equal(pl_column_append_int(c, i % 50 == 1 ? INT64_MAX : (int64_t)(r % 100000) - 50000, err), PL_OK); break;
  case PL_UINT8: assert_int_equal(pl_column_append_int(c, (int64_t)(r & 0xff), err), PL_OK); break;
  case PL_UINT16: assert_int_equal(pl_column_append_int(c, (int64_t)(r & 0xffff), err), PL_OK); break;
  case PL_UINT32: assert_int_equal(pl_column_append_int(c, (int64_t)(i % 10 == 0 ? 0xFFFFFFF0u : (uint32_t)(r % 5000)), err), PL_OK); break;
  case PL_UINT64: assert_int_equal(pl_column_append_int(c, (int64_t)(i % 10 == 0 ? UINT64_MAX - 3 : r % 7000), err), PL_OK); break;
  case PL_FLOAT32: assert_int_equal(pl_column_append_float(c, i % 13 == 0 ? -0.0 : (double)(float)((double)(r % 2000) / 8.0 - 100), err), PL_OK); break;
  case PL_FLOAT64: assert_int_equal(pl_column_append_float(c, i % 17 == 0 ? NAN : (double)(r % 100000) / 1024.0 - 20, err), PL_OK); break;
  case PL_FLOAT16: {
    static const uint16_t h[] = {0x3C00, 0xC000, 0x0000, 0x8000, 0x3555, 0x7BFF, 0x0001, 0x4248};
    uint16_t v = h[r % 8];
    assert_int_equal(pl_column_append_bytes(c, &v, 2, err), PL_OK);
    break;
  }
  case PL_STRING:
    snprintf(s, sizeof s, "str-%lld-%s", (long long)(r % 37), (r % 3) ? "é" : "");
    assert_int_equal(pl_column_append_bytes(c, s, strlen(s), err), PL_OK);
    break;
  case PL_BINARY: {
    uint8_t b[8];
    size_t n = (size_t)(r % 9);
    for (size_t k = 0; k < n && k < 8; k++) b[k] = (uint8_t)(r >> (8 * k));
    assert_int_equal(pl_column_append_bytes(c, b, n > 8 ? 8 : n, err), PL_OK);
    break;
  }
  case PL_FIXED_BINARY: {
    uint8_t b[64] = {0};
    for (int k = 0; k < t->width && k < 64; k++) b[k] = (uint8_t)((r >> (k % 8)) + (uint64_t)k);
    assert_int_equal(pl_column_append_bytes(c, b, (size_t)t->width, err), PL_OK);
    break;
  }
  case PL_DATE32: assert_int_equal(pl_column_append_int(c, (int64_t)(r % 40000) - 10000, err), PL_OK); break;
  case PL_TIME: {
    int64_t v = (int64_t)(r % 86400);
    if (t->unit == PL_MILLI) v *= 1000;
    if (t->unit == PL_MICRO) v *= 1000000;
    if (t->unit == PL_NANO) v *= 1000000000;
    assert_int_equal(pl_column_append_int(c, v, err), PL_OK);
    break;
  }
  case PL_TIMESTAMP: {
    int64_t v = (int64_t)(r % 2000000000) - 100000000; /* seconds */
    if (t->unit == PL_MILLI) v *= 1000;
    if (t->unit == PL_MICRO) v = v * 1000000 + (int64_t)(r % 1000000);
    if (t->unit == PL_NANO) v = v * 1000000000 + (int64_t)(r % 1000000000);
    assert_int_equal(pl_column_append_int(c, v, err), PL_OK);
    break;
  }
  case PL_DECIMAL128: {
    /* unscaled value within the precision, negative now and then */
    __int128 lim = 1;
    for (int k = 0; k < t->precision && k < 38; k++) lim *= 10;
    unsigned __int128 u = (unsigned __int128)(r % 1000000007ULL) * (rnd(seed) | 1);
    if (t->precision > 18) u = u * rnd(seed);
    __int128 v = (__int128)(u % (unsigned __int128)lim);
    if (r & 1) v = -v;
    if (i % 29 == 0) v = lim - 1;
    if (i % 31 == 0) v = -(lim - 1);
    uint8_t b[16];
    memcpy(b, &v, 16);
    assert_int_equal(pl_column_append_bytes(c, b, 16, err), PL_OK);
    break;
  }
  default:
    fail_msg("append_prim: type %d", (int)t->id);
  }
}

/* Appends row i of any type; nested values vary in length (0..3 items), with nulls at every
 * level when the fields are nullable. */
static void append_value(pl_column *c, bool nullable, int64_t i, uint64_t *seed, int depth, pl_error *err) {
  if (is_null_row(nullable, i, depth)) {
    assert_int_equal(pl_column_append_null(c, err), PL_OK);
    return;
  }
  const pl_type *t = &c->type;
  switch (t->id) {
  case PL_LIST:
  case PL_MAP: {
    int64_t n = (int64_t)(rnd(seed) % 4);
    for (int64_t k = 0; k < n; k++) {
      pl_column *ch = c->children[0];
      if (t->id == PL_MAP) {
        /* entries struct: key required, value nullable */
        append_value(ch->children[0], false, i * 4 + k, seed, depth + 1, err);
        append_value(ch->children[1], ch->type.children[1].nullable, i * 4 + k, seed, depth + 1, err);
        assert_int_equal(pl_column_end_struct(ch, true, err), PL_OK);
      } else {
        append_value(ch, t->children[0].nullable, i * 4 + k, seed, depth + 1, err);
      }
    }
    assert_int_equal(pl_column_end_list(c, err), PL_OK);
    break;
  }
  case PL_STRUCT:
    for (int k = 0; k < c->n_children; k++)
      append_value(c->children[k], t->children[k].nullable, i, seed, depth + 1 + k, err);
    assert_int_equal(pl_column_end_struct(c, true, err), PL_OK);
    break;
  default:
    append_prim(c, i, seed, err);
  }
}

/* The type list of the matrix file. */
static void add_all_types(pl_schema *s, bool nullable) {
  const char *p = nullable ? "n_" : "r_";
  char name[64];
#define ADD(nm, ty)                                  \
  do {                                               \
    snprintf(name, sizeof name, "%s%s", p, nm);      \
    pl_schema_add(s, fld(name, ty, nullable));       \
  } while (0)
  ADD("bool", pl_type_make(PL_BOOL));
  ADD("int8", pl_type_make(PL_INT8));
  ADD("int16", pl_type_make(PL_INT16));
  ADD("int32", pl_type_make(PL_INT32));
  ADD("int64", pl_type_make(PL_INT64));
  ADD("uint8", pl_type_make(PL_UINT8));
  ADD("uint16", pl_type_make(PL_UINT16));
  ADD("uint32", pl_type_make(PL_UINT32));
  ADD("uint64", pl_type_make(PL_UINT64));
  ADD("float32", pl_type_make(PL_FLOAT32));
  ADD("float64", pl_type_make(PL_FLOAT64));
  ADD("float16", pl_type_make(PL_FLOAT16));
  ADD("string", pl_type_make(PL_STRING));
  ADD("binary", pl_type_make(PL_BINARY));
  ADD("fixed", pl_type_fixed_binary(5));
  ADD("date", pl_type_make(PL_DATE32));
  ADD("ts_ms", pl_type_timestamp(PL_MILLI, NULL));
  ADD("ts_us", pl_type_timestamp(PL_MICRO, NULL));
  ADD("ts_ns", pl_type_timestamp(PL_NANO, NULL));
  ADD("ts_s", pl_type_timestamp(PL_SECOND, NULL));
  ADD("tstz_ms", pl_type_timestamp(PL_MILLI, "UTC"));
  ADD("tstz_us", pl_type_timestamp(PL_MICRO, "UTC"));
  ADD("tstz_ns", pl_type_timestamp(PL_NANO, "UTC"));
  ADD("dec_5_2", pl_type_decimal(5, 2));
  ADD("dec_9_0", pl_type_decimal(9, 0));
  ADD("dec_15_3", pl_type_decimal(15, 3));
  ADD("dec_18_18", pl_type_decimal(18, 18));
  ADD("dec_25_5", pl_type_decimal(25, 5));
  ADD("dec_38_10", pl_type_decimal(38, 10));
  ADD("list_int32", pl_type_list(fld("item", pl_type_make(PL_INT32), nullable)));
  ADD("list_string", pl_type_list(fld("item", pl_type_make(PL_STRING), nullable)));
  {
    pl_field f[2] = {fld("a", pl_type_make(PL_INT32), nullable), fld("b", pl_type_make(PL_STRING), nullable)};
    ADD("struct", pl_type_struct(2, f));
  }
  ADD("map", pl_type_map(fld("key", pl_type_make(PL_STRING), false), fld("value", pl_type_make(PL_INT64), nullable)));
  {
    pl_field inner[2] = {fld("a", pl_type_make(PL_INT32), nullable),
                         fld("b", pl_type_list(fld("item", pl_type_make(PL_STRING), nullable)), nullable)};
    ADD("list_struct", pl_type_list(fld("item", pl_type_struct(2, inner), nullable)));
  }
  {
    pl_field inner[2] = {fld("x", pl_type_list(fld("item", pl_type_list(fld("item", pl_type_make(PL_FLOAT64), nullable)), nullable)), nullable),
                         fld("y", pl_type_map(fld("key", pl_type_make(PL_INT32), false), fld("value", pl_type_make(PL_BOOL), nullable)), nullable)};
    ADD("struct_nested", pl_type_struct(2, inner));
  }
#undef ADD
}

static pl_batch *make_batch(const pl_schema *s, int64_t rows, uint64_t seed0, int64_t first_row) {
  pl_error err = {0};
  pl_batch *b = pl_batch_new(s, NULL, &err);
  assert_non_null(b);
  for (int c = 0; c < s->n_fields; c++) {
    uint64_t seed = seed0 * 1000003 + (uint64_t)c * 7919 + 1;
    for (int64_t i = 0; i < rows; i++)
      append_value(b->columns[c], s->fields[c].nullable, first_row + i, &seed, c, &err);
  }
  assert_int_equal(pl_batch_finish(b, &err), PL_OK);
  return b;
}

/* Writes `batches` batches of `rows` rows of schema s to dir/name with options o. */
static void write_file(const char *name, const pl_schema *s, const pl_parquet_write_options *o,
                       int batches, int64_t rows) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  pl_error err = {0};
  pl_parquet_writer *w = pl_parquet_writer_open(path, s, o, NULL, &err);
  if (!w) fail_msg("open %s: %s", path, err.msg);
  for (int k = 0; k < batches; k++) {
    pl_batch *b = make_batch(s, rows, (uint64_t)k + 1, (int64_t)k * rows);
    if (pl_parquet_writer_write(w, b, &err)) fail_msg("write %s: %s", path, err.msg);
    pl_batch_free(b);
  }
  if (pl_parquet_writer_close(w, &err)) fail_msg("close %s: %s", path, err.msg);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
}

/* ------------------------------------------------------------------ pqcheck */
static char *g_pq_json; /* pqcheck --json over g_dir */

static void run_pqcheck(void) {
  if (g_pq_json) return;
  int rc = tu_run(&g_pq_json, "%s/tools/pqcheck '%s' --json 2>/dev/null", tu_shared_dir(), g_dir);
  (void)rc;
  assert_non_null(strstr(g_pq_json, "\"files\""));
}

/* The JSON object of one file in pqcheck's output (a pointer to its "file" key). */
static const char *pq_file(const char *name) {
  char key[1200];
  snprintf(key, sizeof key, "\"file\": \"%s/%s\"", g_dir, name);
  const char *p = strstr(g_pq_json, key);
  if (!p) fail_msg("pqcheck did not report %s", name);
  return p;
}

/* Asserts that pqcheck found the file ok; prints its problems otherwise. */
static void assert_pq_ok(const char *name) {
  const char *p = pq_file(name);
  const char *ok = strstr(p, "\"ok\": ");
  /* the file's own "ok" comes after its readers; find the one at the file level: the
   * "problems" list precedes it */
  const char *probs = strstr(p, "\"problems\": [");
  assert_non_null(probs);
  const char *end = strchr(probs, ']');
  if (end - probs > 16) fail_msg("pqcheck problems for %s: %.*s", name, (int)(end - probs), probs);
  (void)ok;
}

/* Column checksum reported by pqcheck for column col of file name. */
static void pq_column_checksum(const char *name, const char *col, char out[17]) {
  const char *p = pq_file(name);
  char key[256];
  snprintf(key, sizeof key, "\"name\": \"%s\"", col);
  const char *c = strstr(p, key);
  if (!c) fail_msg("no column %s in %s", col, name);
  const char *k = strstr(c, "\"checksum\": \"");
  assert_non_null(k);
  memcpy(out, k + 13, 16);
  out[16] = 0;
}

static int64_t pq_rows(const char *name) {
  const char *p = pq_file(name);
  const char *r = strstr(p, "\"rows\": ");
  assert_non_null(r);
  return strtoll(r + 8, NULL, 10);
}

/* SHA-256 canonical checksum of text lines, as pqcheck computes it. */
typedef struct ck {
  struct sha256_ctx h;
} ck;
static inline void ck_init(ck *c) { sha256_init(&c->h); }
static inline void ck_line(ck *c, const char *s) {
  sha256_update(&c->h, strlen(s), (const uint8_t *)s);
  sha256_update(&c->h, 1, (const uint8_t *)"\n");
}
static inline void ck_hex(ck *c, char out[17]) {
  uint8_t d[32];
  sha256_digest(&c->h, 32, d);
  for (int i = 0; i < 8; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

/* ------------------------------------------------------------------ footer via hyparquet */
/* Dumps the footer of a file as JSON (hyparquet's parquetMetadata), malloc'd. */
static inline char *footer_json(const char *name) {
  char script[1200], path[1200];
  snprintf(script, sizeof script, "%s/.meta.mjs", g_dir);
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  FILE *f = fopen(script, "w");
  assert_non_null(f);
  const char *home = getenv("HOME");
  fprintf(f,
          "import { parquetMetadata } from '%s/.cache/pqcheck/node/node_modules/hyparquet/src/index.js';\n"
          "import fs from 'node:fs';\n"
          "const b = fs.readFileSync(process.argv[2]);\n"
          "const md = parquetMetadata(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));\n"
          "console.log(JSON.stringify(md, (k, v) => typeof v === 'bigint' ? v.toString() : v));\n",
          home ? home : "/root");
  fclose(f);
  char *out = NULL;
  int rc = tu_run(&out, "node '%s' '%s'", script, path);
  if (rc != 0) fail_msg("footer dump of %s failed: %s", name, out);
  return out;
}

/* ------------------------------------------------------------------ tests */
static const pl_codec codecs[] = {PL_CODEC_UNCOMPRESSED, PL_CODEC_SNAPPY, PL_CODEC_GZIP,
                                  PL_CODEC_ZSTD, PL_CODEC_LZ4_RAW, PL_CODEC_BROTLI};

static void matrix_name(char *buf, size_t cap, pl_codec c, int v, bool dict) {
  snprintf(buf, cap, "all_%s_v%d_%s.parquet", pl_codec_name(c), v, dict ? "dict" : "plain");
}

static void test_write_matrix(void **state) {
  (void)state;
  pl_schema s;
  pl_schema_init(&s);
  add_all_types(&s, true);
  add_all_types(&s, false);
  for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++)
    for (int v = 1; v <= 2; v++)
      for (int d = 0; d <= 1; d++) {
        pl_parquet_write_options o;
        pl_parquet_write_options_default(&o);
        o.codec = codecs[c];
        o.codec_level = codecs[c] == PL_CODEC_ZSTD ? 3 : 0;
        o.page_version = v;
        o.dictionary = d;
        o.page_bytes = 8 << 10; /* several pages per chunk */
        o.row_group_rows = 1500; /* two row groups */
        char name[128];
        matrix_name(name, sizeof name, codecs[c], v, d);
        write_file(name, &s, &o, 2, 1000);
      }
  pl_schema_release(&s);
}

static void test_pqcheck_matrix(void **state) {
  (void)state;
  run_pqcheck();
  for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++)
    for (int v = 1; v <= 2; v++)
      for (int d = 0; d <= 1; d++) {
        char name[128];
        matrix_name(name, sizeof name, codecs[c], v, d);
        assert_pq_ok(name);
        assert_int_equal(pq_rows(name), 2000);
      }
  /* every file holds the same data: the content checksums must not depend on the layout */
  char a[17], b[17];
  char n0[128], n1[128];
  matrix_name(n0, sizeof n0, PL_CODEC_UNCOMPRESSED, 1, false);
  matrix_name(n1, sizeof n1, PL_CODEC_BROTLI, 2, true);
  const char *cols[] = {"n_string", "r_int64", "n_list_struct", "n_map", "r_dec_38_10"};
  for (size_t k = 0; k < sizeof cols / sizeof cols[0]; k++) {
    pq_column_checksum(n0, cols[k], a);
    pq_column_checksum(n1, cols[k], b);
    assert_string_equal(a, b);
  }
}

int main(void) {
  signal(SIGXFSZ, SIG_IGN);
  g_dir = tu_mkdtemp("pqwriter");
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_write_matrix),
      cmocka_unit_test(test_pqcheck_matrix),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  if (rc == 0 && !getenv("PL_KEEP")) tu_rmrf(g_dir);
  else fprintf(stderr, "files kept in %s\n", g_dir);
  free(g_pq_json);
  pl_free(g_dir);
  return rc;
}

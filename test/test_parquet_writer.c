/* test_parquet_writer.c — the Parquet writer, checked against three outside readers (pqcheck:
 * DuckDB, hyparquet, arrow-rs) and, for simple columns, against checksums computed here from
 * the values written. Footer details (logical types, statistics, encodings) are read back
 * with hyparquet's metadata parser through a small node script. */
#include <pthread.h>
#include <stdatomic.h>

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
static char *g_dir;  /* the test's temporary directory */
static char *g_mdir; /* the matrix files (all_*), checked by one pqcheck run */
static char *g_sdir; /* the special files (sp_*), checked by another */
static const char *dir_for(const char *name) { return strncmp(name, "all_", 4) ? g_sdir : g_mdir; }
static bool g_full_decimals; /* decimals over their whole precision */

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
    /* DuckDB reads UTC-adjusted nanoseconds as microseconds: keep those whole micros */
    if (t->unit == PL_NANO) v = v * 1000000000 + (int64_t)(r % 1000000000) / (t->tz ? 1000 : 1) * (t->tz ? 1000 : 1);
    assert_int_equal(pl_column_append_int(c, v, err), PL_OK);
    break;
  }
  case PL_DECIMAL128: {
    /* unscaled value within the precision, negative now and then */
    /* hyparquet reads decimals as doubles: the matrix keeps them within 15 digits; the full
     * range is checked by sp_decimal_big with the two exact readers */
    __int128 lim = 1;
    int digits = g_full_decimals ? t->precision : t->precision < 15 ? t->precision : 15;
    for (int k = 0; k < digits && k < 38; k++) lim *= 10;
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
        /* keys unique within a map (readers collapse duplicates) */
        pl_column *kc = ch->children[0];
        if (kc->type.id == PL_STRING) {
          char key[32];
          snprintf(key, sizeof key, "k%lld", (long long)k);
          assert_int_equal(pl_column_append_bytes(kc, key, strlen(key), err), PL_OK);
        } else {
          assert_int_equal(pl_column_append_int(kc, k * 10 + (int64_t)(rnd(seed) % 10), err), PL_OK);
        }
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
  snprintf(path, sizeof path, "%s/%s", dir_for(name), name);
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
/* pqcheck runs in the background while other tests go on (it needs a few seconds per file). */
typedef struct bg_check {
  FILE *p;
  char *out;
} bg_check;
static bg_check g_bg_m, g_bg_s, g_bg_b, g_bg_h;
static char g_huge_want[17];
static char *g_huge_dir;

static void bg_start(bg_check *b, const char *target, const char *readers) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "%s/tools/pqcheck '%s' --json %s%s 2>/dev/null", tu_shared_dir(), target,
           readers ? "--readers " : "", readers ? readers : "");
  b->p = popen(cmd, "r");
  assert_non_null(b->p);
}

static const char *bg_wait(bg_check *b) {
  if (b->out) return b->out;
  assert_non_null(b->p);
  size_t cap = 1 << 16, len = 0, n;
  b->out = malloc(cap);
  while ((n = fread(b->out + len, 1, cap - len - 1, b->p)) > 0) {
    len += n;
    if (cap - len < 2) b->out = realloc(b->out, cap *= 2);
  }
  b->out[len] = 0;
  pclose(b->p);
  b->p = NULL;
  if (!strstr(b->out, "\"files\"")) fail_msg("pqcheck gave no report: %.300s", b->out);
  return b->out;
}

static const char *g_pq_json; /* the report holding the file asked for */
static void run_pqcheck(void) {}

/* The JSON object of one file in pqcheck's output (a pointer to its "file" key). */
static const char *pq_file(const char *name) {
  char key[1200];
  snprintf(key, sizeof key, "\"file\": \"%s/%s\"", dir_for(name), name);
  g_pq_json = bg_wait(strncmp(name, "all_", 4) ? &g_bg_s : &g_bg_m);
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
static char *footer_json(const char *name) {
  char script[1200], path[1200];
  snprintf(script, sizeof script, "%s/.meta.mjs", g_dir);
  snprintf(path, sizeof path, "%s/%s", dir_for(name), name);
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

/* Expected column checksums of the matrix files, computed by columnar's pl_checksum (an
 * independent renderer of pqcheck's canonical text) over the batches written. */
static int g_mcols;
static char (*g_mck)[17];
static char **g_mnames;

static void test_write_matrix(void **state) {
  (void)state;
  pl_schema s;
  pl_schema_init(&s);
  add_all_types(&s, true);
  add_all_types(&s, false);
  g_mcols = s.n_fields;
  g_mck = calloc((size_t)s.n_fields, sizeof *g_mck);
  g_mnames = calloc((size_t)s.n_fields, sizeof *g_mnames);
  pl_batch *mb[2] = {make_batch(&s, 1000, 1, 0), make_batch(&s, 1000, 2, 1000)};
  for (int c = 0; c < s.n_fields; c++) {
    pl_checksum *cks = pl_checksum_new(&s.fields[c].type);
    assert_non_null(cks);
    for (int k = 0; k < 2; k++) {
      pl_error err = {0};
      assert_int_equal(pl_checksum_add(cks, mb[k]->columns[c], &err), PL_OK);
    }
    pl_checksum_hex(cks, g_mck[c]);
    pl_checksum_free(cks);
    g_mnames[c] = strdup(s.fields[c].name);
  }
  pl_batch_free(mb[0]);
  pl_batch_free(mb[1]);
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
  bg_start(&g_bg_m, g_mdir, NULL);
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
  /* the content matches what was written, as columnar's checksum renders it */
  int bad = 0;
  for (int c = 0; c < g_mcols; c++) {
    char got[17];
    char nm[128];
    matrix_name(nm, sizeof nm, PL_CODEC_ZSTD, 2, true);
    pq_column_checksum(nm, g_mnames[c], got);
    if (strcmp(got, g_mck[c])) {
      fprintf(stderr, "column %s: pqcheck %s, pl_checksum %s\n", g_mnames[c], got, g_mck[c]);
      bad++;
    }
  }
  assert_int_equal(bad, 0);
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


/* Step 2's round trip: every file the matrix and the special cases produce, read back with
 * praline's reader, gives for every column the checksum that pqcheck's readers give. Files
 * pqcheck itself flagged are left to the tests above, which fail on them. */
static int reader_vs_pqcheck(const char *dir) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  int files = 0, bad = 0;
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < 9 || strcmp(e->d_name + l - 8, ".parquet") || e->d_name[0] == '.') continue;
    const char *p = pq_file(e->d_name);
    const char *probs = strstr(p, "\"problems\": [");
    if (!probs || strchr(probs, ']') - probs > 16) continue;
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    pl_error err = {0};
    pl_parquet_file *f = pl_parquet_open(path, NULL, NULL, &err);
    if (!f) fail_msg("praline reader: %s", err.msg);
    const pl_schema *sc = pl_parquet_schema(f);
    pl_checksum **cks = calloc((size_t)sc->n_fields + 1, sizeof *cks);
    for (int c = 0; c < sc->n_fields; c++) cks[c] = pl_checksum_new(&sc->fields[c].type);
    pl_parquet_reader *r = pl_parquet_reader_new(f, NULL, NULL, &err);
    if (!r) fail_msg("praline reader: %s", err.msg);
    for (;;) {
      pl_batch *b = NULL;
      if (pl_parquet_reader_next(r, &b, &err)) fail_msg("praline reader: %s", err.msg);
      if (!b) break;
      for (int c = 0; c < sc->n_fields; c++)
        assert_int_equal(pl_checksum_add(cks[c], b->columns[c], &err), PL_OK);
      pl_batch_free(b);
    }
    for (int c = 0; c < sc->n_fields; c++) {
      char ours[17], theirs[17];
      pl_checksum_hex(cks[c], ours);
      pq_column_checksum(e->d_name, sc->fields[c].name, theirs);
      if (strcmp(ours, theirs)) {
        fprintf(stderr, "%s column %s: praline reader %s, pqcheck %s\n", e->d_name,
                sc->fields[c].name, ours, theirs);
        bad++;
      }
      pl_checksum_free(cks[c]);
    }
    free(cks);
    pl_parquet_reader_free(r);
    pl_parquet_close(f);
    files++;
  }
  closedir(d);
  assert_true(files > 0);
  return bad;
}

static void test_reader_round_trip(void **state) {
  (void)state;
  assert_int_equal(reader_vs_pqcheck(g_mdir), 0);
  assert_int_equal(reader_vs_pqcheck(g_sdir), 0);
}

/* ------------------------------------------------------------------ special files */
static pl_parquet_write_options opts(void) {
  pl_parquet_write_options o;
  pl_parquet_write_options_default(&o);
  return o;
}

/* A schema of a few simple columns used by several special files. */
static void simple_schema(pl_schema *s) {
  pl_schema_init(s);
  pl_schema_add(s, fld("id", pl_type_make(PL_INT64), false));
  pl_schema_add(s, fld("name", pl_type_make(PL_STRING), true));
  pl_schema_add(s, fld("score", pl_type_make(PL_FLOAT64), true));
  pl_schema_add(s, fld("tags", pl_type_list(fld("item", pl_type_make(PL_STRING), true)), true));
  pl_field f[2] = {fld("a", pl_type_make(PL_INT32), true), fld("b", pl_type_make(PL_BOOL), true)};
  pl_schema_add(s, fld("st", pl_type_struct(2, f), true));
}

/* simple_schema and a list of required int32s: nesting at two depths. */
static void nested_schema(pl_schema *s) {
  simple_schema(s); /* int64, string, float64, list<string>, struct<int32, bool> */
  pl_schema_add(s, fld("ints", pl_type_list(fld("item", pl_type_make(PL_INT32), false)), true));
}

/* Expected checksums of the id and name columns of make_batch(simple_schema) output are not
 * easy to derive, so the simple files below build their own values. */
static void write_batch_file(const char *name, pl_batch *b, const pl_parquet_write_options *o) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", dir_for(name), name);
  pl_error err = {0};
  pl_parquet_writer *w = pl_parquet_writer_open(path, &b->schema, o, NULL, &err);
  if (!w) fail_msg("open %s: %s", path, err.msg);
  if (b->length >= 0 && pl_parquet_writer_write(w, b, &err)) fail_msg("write %s: %s", path, err.msg);
  if (pl_parquet_writer_close(w, &err)) fail_msg("close %s: %s", path, err.msg);
}

/* id: int64 = i * 3 - 7 ; name: "n<i % m>" or null every `nulls` rows (0 = never) */
static pl_batch *id_name_batch(int64_t rows, int64_t m, int64_t nulls, char id_ck[17], char name_ck[17]) {
  pl_schema s;
  pl_schema_init(&s);
  pl_schema_add(&s, fld("id", pl_type_make(PL_INT64), false));
  pl_schema_add(&s, fld("name", pl_type_make(PL_STRING), true));
  pl_error err = {0};
  pl_batch *b = pl_batch_new(&s, NULL, &err);
  pl_schema_release(&s);
  ck a, c;
  ck_init(&a);
  ck_init(&c);
  char buf[64], q[80];
  for (int64_t i = 0; i < rows; i++) {
    assert_int_equal(pl_column_append_int(b->columns[0], i * 3 - 7, &err), PL_OK);
    snprintf(buf, sizeof buf, "%lld", (long long)(i * 3 - 7));
    ck_line(&a, buf);
    if (nulls && i % nulls == 0) {
      assert_int_equal(pl_column_append_null(b->columns[1], &err), PL_OK);
      ck_line(&c, "\\N");
    } else {
      snprintf(buf, sizeof buf, "n%lld", (long long)(m ? i % m : i));
      assert_int_equal(pl_column_append_bytes(b->columns[1], buf, strlen(buf), &err), PL_OK);
      snprintf(q, sizeof q, "\"%s\"", buf);
      ck_line(&c, q);
    }
  }
  assert_int_equal(pl_batch_finish(b, &err), PL_OK);
  ck_hex(&a, id_ck);
  ck_hex(&c, name_ck);
  return b;
}

static char g_ck[16][2][17];
static char g_mixed_ck[4][17]; /* expected checksums of the id/name files, by index */
static const char *const g_idname_files[] = {
    "sp_one_row.parquet", "sp_many_rowgroups.parquet", "sp_many_pages_v1.parquet",
    "sp_many_pages_v2.parquet", "sp_dict_fallback.parquet", "sp_delta.parquet",
    "sp_stats_trunc.parquet", "sp_plain_gzip.parquet"};

static void test_write_special(void **state) {
  (void)state;
  pl_error err = {0};
  pl_schema s;
  simple_schema(&s);
  pl_parquet_write_options o = opts();
  /* 0 rows: a file with a schema and no row group */
  write_file("sp_empty.parquet", &s, &o, 0, 0);
  /* all nulls */
  {
    pl_batch *b = pl_batch_new(&s, NULL, &err);
    assert_int_equal(pl_column_append_raw(b->columns[0], (int64_t[]){1, 2, 3, 4, 5}, 5, &err), PL_OK);
    for (int c = 1; c < s.n_fields; c++) assert_int_equal(pl_column_append_nulls(b->columns[c], 5, &err), PL_OK);
    assert_int_equal(pl_batch_finish(b, &err), PL_OK);
    write_batch_file("sp_all_nulls.parquet", b, &o);
    o.page_version = 2;
    write_batch_file("sp_all_nulls_v2.parquet", b, &o);
    o.page_version = 1;
    pl_batch_free(b);
  }
  pl_schema_release(&s);

  /* id/name files with known checksums */
  for (size_t k = 0; k < sizeof g_idname_files / sizeof g_idname_files[0]; k++) {
    const char *nm = g_idname_files[k];
    int64_t rows = 3000, m = 37, nulls = 11;
    o = opts();
    if (!strcmp(nm, "sp_one_row.parquet")) rows = 1;
    if (!strcmp(nm, "sp_many_rowgroups.parquet")) o.row_group_rows = 10;
    if (!strcmp(nm, "sp_many_pages_v1.parquet")) o.page_bytes = 200;
    if (!strcmp(nm, "sp_many_pages_v2.parquet")) {
      o.page_bytes = 200;
      o.page_version = 2;
      o.codec = PL_CODEC_SNAPPY;
    }
    if (!strcmp(nm, "sp_dict_fallback.parquet")) {
      o.dictionary_limit = 2000; /* unique names overflow it: dictionary pages then PLAIN */
      o.page_bytes = 1000;
      m = 0;
    }
    pl_parquet_column_options co[2] = {{"id", PL_ENC_DELTA_BINARY_PACKED}, {"name", PL_ENC_DELTA_LENGTH_BYTE_ARRAY}};
    if (!strcmp(nm, "sp_delta.parquet")) {
      o.columns = co;
      o.n_columns = 2;
      o.page_bytes = 4000;
    }
    if (!strcmp(nm, "sp_stats_trunc.parquet")) o.statistics_truncate = 2;
    if (!strcmp(nm, "sp_plain_gzip.parquet")) {
      o.dictionary = false;
      o.codec = PL_CODEC_GZIP;
      nulls = 0;
    }
    pl_batch *b = id_name_batch(rows, m, nulls, g_ck[k][0], g_ck[k][1]);
    write_batch_file(nm, b, &o);
    pl_batch_free(b);
  }

  /* empty strings, empty and null lists, null items */
  {
    pl_schema t;
    pl_schema_init(&t);
    pl_schema_add(&t, fld("s", pl_type_make(PL_STRING), true));
    pl_schema_add(&t, fld("l", pl_type_list(fld("item", pl_type_make(PL_INT32), true)), true));
    pl_schema_add(&t, fld("ll", pl_type_list(fld("item", pl_type_list(fld("item", pl_type_make(PL_STRING), true)), true)), false));
    pl_batch *b = pl_batch_new(&t, NULL, &err);
    pl_column *cs = b->columns[0], *cl = b->columns[1], *cll = b->columns[2];
    for (int i = 0; i < 40; i++) {
      if (i % 4 == 3) assert_int_equal(pl_column_append_null(cs, &err), PL_OK);
      else assert_int_equal(pl_column_append_bytes(cs, "", 0, &err), PL_OK);
      switch (i % 5) {
      case 0: assert_int_equal(pl_column_append_null(cl, &err), PL_OK); break;   /* null list */
      case 1: assert_int_equal(pl_column_end_list(cl, &err), PL_OK); break;      /* [] */
      case 2:                                                                       /* [null] */
        assert_int_equal(pl_column_append_null(cl->children[0], &err), PL_OK);
        assert_int_equal(pl_column_end_list(cl, &err), PL_OK);
        break;
      default:                                                                      /* [i, null, -i] */
        assert_int_equal(pl_column_append_int(cl->children[0], i, &err), PL_OK);
        assert_int_equal(pl_column_append_null(cl->children[0], &err), PL_OK);
        assert_int_equal(pl_column_append_int(cl->children[0], -i, &err), PL_OK);
        assert_int_equal(pl_column_end_list(cl, &err), PL_OK);
      }
      /* ll: [[], null, ["x"], [""]] patterns */
      pl_column *inner = cll->children[0];
      for (int k = 0; k < i % 4; k++) {
        if ((i + k) % 3 == 0) assert_int_equal(pl_column_append_null(inner, &err), PL_OK);
        else {
          for (int z = 0; z < (i + k) % 3 - 1; z++) assert_int_equal(pl_column_append_bytes(inner->children[0], "x", (size_t)(z % 2), &err), PL_OK);
          assert_int_equal(pl_column_end_list(inner, &err), PL_OK);
        }
      }
      assert_int_equal(pl_column_end_list(cll, &err), PL_OK);
    }
    assert_int_equal(pl_batch_finish(b, &err), PL_OK);
    o = opts();
    write_batch_file("sp_empty_lists_v1.parquet", b, &o);
    o.page_version = 2;
    o.page_bytes = 16;
    write_batch_file("sp_empty_lists_v2.parquet", b, &o);
    pl_batch_free(b);
    pl_schema_release(&t);
  }

  /* v2 pages never split a row: long lists with tiny pages */
  {
    pl_schema t;
    pl_schema_init(&t);
    pl_schema_add(&t, fld("emb", pl_type_list(fld("item", pl_type_make(PL_FLOAT32), false)), false));
    pl_schema_add(&t, fld("words", pl_type_list(fld("item", pl_type_make(PL_STRING), true)), true));
    pl_batch *b = pl_batch_new(&t, NULL, &err);
    for (int i = 0; i < 300; i++) {
      for (int k = 0; k < 64; k++) assert_int_equal(pl_column_append_float(b->columns[0]->children[0], (float)(i * 64 + k) / 7.0f, &err), PL_OK);
      assert_int_equal(pl_column_end_list(b->columns[0], &err), PL_OK);
      char w[32];
      for (int k = 0; k < i % 50; k++) {
        snprintf(w, sizeof w, "w%d", (i * k) % 97);
        assert_int_equal(pl_column_append_bytes(b->columns[1]->children[0], w, strlen(w), &err), PL_OK);
      }
      assert_int_equal(pl_column_end_list(b->columns[1], &err), PL_OK);
    }
    assert_int_equal(pl_batch_finish(b, &err), PL_OK);
    o = opts();
    o.page_version = 2;
    o.page_bytes = 1000;
    write_batch_file("sp_v2_long_lists.parquet", b, &o);
    pl_batch_free(b);
    pl_schema_release(&t);
  }

  /* mixed nullability at every level (required children of nullable parents and back) */
  {
    pl_schema t;
    pl_schema_init(&t);
    pl_field c_in[1] = {fld("d", pl_type_make(PL_FLOAT64), true)};
    pl_field st[3] = {fld("a", pl_type_make(PL_INT32), false),
                      fld("b", pl_type_list(fld("item", pl_type_make(PL_STRING), false)), false),
                      fld("c", pl_type_struct(1, c_in), false)};
    pl_schema_add(&t, fld("ms", pl_type_struct(3, st), true));
    pl_schema_add(&t, fld("ml", pl_type_list(fld("item", pl_type_list(fld("item", pl_type_make(PL_INT64), false)), true)), false));
    pl_field mv[1] = {fld("x", pl_type_make(PL_STRING), false)};
    pl_schema_add(&t, fld("mm", pl_type_map(fld("key", pl_type_make(PL_INT32), false), fld("value", pl_type_struct(1, mv), true)), true));
    pl_schema_add(&t, fld("lb", pl_type_list(fld("item", pl_type_make(PL_BOOL), true)), true));
    pl_batch *b = make_batch(&t, 700, 3, 0);
    for (int c = 0; c < t.n_fields; c++) {
      pl_checksum *cks = pl_checksum_new(&t.fields[c].type);
      assert_int_equal(pl_checksum_add(cks, b->columns[c], &err), PL_OK);
      pl_checksum_hex(cks, g_mixed_ck[c]);
      pl_checksum_free(cks);
    }
    o = opts();
    o.page_bytes = 300;
    write_batch_file("sp_mixed_v1.parquet", b, &o);
    o.page_version = 2;
    o.codec = PL_CODEC_LZ4_RAW;
    write_batch_file("sp_mixed_v2.parquet", b, &o);
    pl_batch_free(b);
    pl_schema_release(&t);
  }

  /* long strings for statistics truncation */
  {
    pl_schema t;
    pl_schema_init(&t);
    pl_schema_add(&t, fld("s", pl_type_make(PL_STRING), false));
    pl_batch *b = pl_batch_new(&t, NULL, &err);
    char v[101];
    for (int i = 0; i < 26; i++) {
      memset(v, 'a' + i, 100);
      v[100] = 0;
      assert_int_equal(pl_column_append_bytes(b->columns[0], v, 100, &err), PL_OK);
    }
    assert_int_equal(pl_batch_finish(b, &err), PL_OK);
    o = opts();
    o.statistics_truncate = 8;
    write_batch_file("sp_stats_long.parquet", b, &o);
    pl_batch_free(b);
    pl_schema_release(&t);
  }

  /* key/value metadata */
  {
    char a[17], c[17];
    pl_batch *b = id_name_batch(10, 3, 0, a, c);
    pl_pq_kv kv[2] = {{"praline.test", "hello"}, {"empty", NULL}};
    o = opts();
    o.kv = kv;
    o.n_kv = 2;
    write_batch_file("sp_kv.parquet", b, &o);
    pl_batch_free(b);
  }
  bg_start(&g_bg_s, g_sdir, NULL);
}

static void test_pqcheck_special(void **state) {
  (void)state;
  run_pqcheck();
  const char *files[] = {"sp_empty.parquet", "sp_all_nulls.parquet", "sp_all_nulls_v2.parquet",
                         "sp_empty_lists_v1.parquet", "sp_empty_lists_v2.parquet",
                         "sp_v2_long_lists.parquet", "sp_kv.parquet"};
  for (size_t k = 0; k < sizeof files / sizeof files[0]; k++) assert_pq_ok(files[k]);
  assert_int_equal(pq_rows("sp_empty.parquet"), 0);
  assert_int_equal(pq_rows("sp_all_nulls.parquet"), 5);
  assert_int_equal(pq_rows("sp_v2_long_lists.parquet"), 300);
  for (size_t k = 0; k < sizeof g_idname_files / sizeof g_idname_files[0]; k++) {
    const char *nm = g_idname_files[k];
    assert_pq_ok(nm);
    char got[17];
    pq_column_checksum(nm, "id", got);
    if (strcmp(got, g_ck[k][0])) fail_msg("%s: id checksum %s, expected %s", nm, got, g_ck[k][0]);
    pq_column_checksum(nm, "name", got);
    if (strcmp(got, g_ck[k][1])) fail_msg("%s: name checksum %s, expected %s", nm, got, g_ck[k][1]);
  }
  const char *mixed[4] = {"ms", "ml", "mm", "lb"};
  for (int v = 1; v <= 2; v++) {
    char nm[64];
    snprintf(nm, sizeof nm, "sp_mixed_v%d.parquet", v);
    assert_pq_ok(nm);
    for (int c = 0; c < 4; c++) {
      char got[17];
      pq_column_checksum(nm, mixed[c], got);
      if (strcmp(got, g_mixed_ck[c])) fail_msg("%s %s: %s, expected %s", nm, mixed[c], got, g_mixed_ck[c]);
    }
  }
  assert_int_equal(pq_rows("sp_one_row.parquet"), 1);
  /* 3000 rows in row groups of 10 */
  const char *f = pq_file("sp_many_rowgroups.parquet");
  const char *rg = strstr(f, "\"rowGroups\": ");
  assert_non_null(rg);
  assert_int_equal(strtol(rg + 13, NULL, 10), 300);
}

/* ------------------------------------------------------------------ footer details */
static void assert_has(const char *json, const char *needle, const char *what) {
  if (!strstr(json, needle)) fail_msg("%s: footer lacks %s", what, needle);
}

/* The ColumnMetaData JSON of column `col` in the first row group (malloc'd copy). */
static char *chunk_meta(const char *j, const char *col) {
  char key[256];
  snprintf(key, sizeof key, "\"path_in_schema\":[\"%s\"]", col);
  const char *p = strstr(j, key);
  if (!p) fail_msg("no chunk for %s", col);
  const char *a = p;
  while (a > j && strncmp(a, "\"meta_data\":{", 13)) a--;
  const char *e = strstr(p, "\"meta_data\":{");
  if (!e) e = p + strlen(p);
  return pl_strndup(a, (size_t)(e - a));
}

static void test_footer_details(void **state) {
  (void)state;
  char *j = footer_json("all_ZSTD_v1_dict.parquet");
  assert_has(j, "\"created_by\":\"praline version ", "created_by");
  assert_has(j, "(build ", "created_by");
  /* logical and converted types */
  assert_has(j, "\"name\":\"n_int8\",\"converted_type\":\"INT_8\",\"logical_type\":{\"type\":\"INTEGER\",\"bitWidth\":8,\"isSigned\":true}", "int8");
  assert_has(j, "\"name\":\"r_uint64\",\"converted_type\":\"UINT_64\",\"logical_type\":{\"type\":\"INTEGER\",\"bitWidth\":64,\"isSigned\":false}", "uint64");
  assert_has(j, "\"name\":\"n_string\",\"converted_type\":\"UTF8\",\"logical_type\":{\"type\":\"STRING\"}", "string");
  assert_has(j, "\"name\":\"n_date\",\"converted_type\":\"DATE\"", "date");
  assert_has(j, "\"name\":\"n_ts_ms\",\"converted_type\":\"TIMESTAMP_MILLIS\",\"logical_type\":{\"type\":\"TIMESTAMP\",\"isAdjustedToUTC\":false,\"unit\":\"MILLIS\"}", "ts_ms");
  assert_has(j, "\"name\":\"n_tstz_us\",\"converted_type\":\"TIMESTAMP_MICROS\",\"logical_type\":{\"type\":\"TIMESTAMP\",\"isAdjustedToUTC\":true,\"unit\":\"MICROS\"}", "tstz_us");
  assert_has(j, "\"name\":\"n_tstz_ns\",\"logical_type\":{\"type\":\"TIMESTAMP\",\"isAdjustedToUTC\":true,\"unit\":\"NANOS\"}", "tstz_ns");
  assert_has(j, "{\"type\":\"INT32\",\"repetition_type\":\"OPTIONAL\",\"name\":\"n_dec_5_2\",\"converted_type\":\"DECIMAL\",\"scale\":2,\"precision\":5", "dec 5");
  assert_has(j, "{\"type\":\"INT64\",\"repetition_type\":\"REQUIRED\",\"name\":\"r_dec_15_3\",\"converted_type\":\"DECIMAL\"", "dec 15");
  assert_has(j, "{\"type\":\"FIXED_LEN_BYTE_ARRAY\",\"type_length\":11,\"repetition_type\":\"OPTIONAL\",\"name\":\"n_dec_25_5\"", "dec 25");
  assert_has(j, "{\"type\":\"FIXED_LEN_BYTE_ARRAY\",\"type_length\":16,\"repetition_type\":\"OPTIONAL\",\"name\":\"n_dec_38_10\"", "dec 38");
  assert_has(j, "{\"repetition_type\":\"OPTIONAL\",\"name\":\"n_list_int32\",\"num_children\":1,\"converted_type\":\"LIST\",\"logical_type\":{\"type\":\"LIST\"}},{\"repetition_type\":\"REPEATED\",\"name\":\"list\",\"num_children\":1},{\"type\":\"INT32\",\"repetition_type\":\"OPTIONAL\",\"name\":\"element\"}", "3-level list");
  assert_has(j, "\"name\":\"n_map\",\"num_children\":1,\"converted_type\":\"MAP\",\"logical_type\":{\"type\":\"MAP\"}},{\"repetition_type\":\"REPEATED\",\"name\":\"key_value\",\"num_children\":2},{\"type\":\"BYTE_ARRAY\",\"repetition_type\":\"REQUIRED\",\"name\":\"key\"", "map");
  assert_has(j, "{\"repetition_type\":\"OPTIONAL\",\"name\":\"n_struct\",\"num_children\":2}", "struct");
  /* statistics: signed vs unsigned order, -0/+0 and NaN, encodings */
  assert_has(j, "\"path_in_schema\":[\"r_uint32\"]", "uint32 chunk");
  char *us = chunk_meta(j, "r_uint32");
  /* 0xFFFFFFF0 is the max only in the unsigned order (signed, it would be the min: -16) */
  assert_true(!strncmp(strstr(us, "\"max_value\":"), "\"max_value\":4294967280,", 23));
  pl_free(us);
  us = chunk_meta(j, "r_uint64");
  assert_true(!strncmp(strstr(us, "\"max_value\":"), "\"max_value\":\"18446744073709551612\"", 34));
  pl_free(us);
  /* float32 -0.0 values: the min is written as -0 only if it is zero; here it is negative */
  char *e = chunk_meta(j, "r_float32");
  assert_non_null(strstr(e, "\"null_count\":\"0\""));
  assert_non_null(strstr(e, "\"min_value\":-"));
  pl_free(e);
  e = chunk_meta(j, "r_float64"); /* NaN every 17 rows is ignored: min/max are numbers */
  assert_non_null(strstr(e, "\"max_value\":7"));
  assert_null(strstr(e, "NaN"));
  assert_null(strstr(e, "null,"));
  pl_free(e);
  e = chunk_meta(j, "r_int32");
  assert_non_null(strstr(e, "\"encodings\":[\"PLAIN\",\"RLE_DICTIONARY\"]")); /* required: no levels */
  assert_non_null(strstr(e, "\"min_value\":-2147483648"));
  pl_free(e);
  e = chunk_meta(j, "n_int32");
  assert_non_null(strstr(e, "\"encodings\":[\"PLAIN\",\"RLE\",\"RLE_DICTIONARY\"]"));
  assert_non_null(strstr(e, "\"null_count\":\"300\""));
  pl_free(e);
  free(j);

  j = footer_json("all_SNAPPY_v2_plain.parquet");
  e = chunk_meta(j, "r_bool");
  assert_non_null(strstr(e, "\"encodings\":[\"RLE\"]")); /* v2 booleans */
  pl_free(e);
  e = chunk_meta(j, "r_int64");
  assert_non_null(strstr(e, "\"encodings\":[\"PLAIN\"]"));
  assert_null(strstr(e, "dictionary_page_offset"));
  pl_free(e);
  free(j);

  j = footer_json("sp_delta.parquet");
  e = chunk_meta(j, "id");
  assert_non_null(strstr(e, "\"encodings\":[\"DELTA_BINARY_PACKED\"]"));
  pl_free(e);
  e = chunk_meta(j, "name");
  assert_non_null(strstr(e, "\"encodings\":[\"RLE\",\"DELTA_LENGTH_BYTE_ARRAY\"]"));
  pl_free(e);
  free(j);

  j = footer_json("sp_dict_fallback.parquet");
  e = chunk_meta(j, "name");
  assert_non_null(strstr(e, "\"encodings\":[\"PLAIN\",\"RLE\",\"RLE_DICTIONARY\"]"));
  assert_non_null(strstr(e, "\"dictionary_page_offset\""));
  pl_free(e);
  free(j);

  j = footer_json("sp_kv.parquet");
  assert_has(j, "\"key_value_metadata\":[{\"key\":\"praline.test\",\"value\":\"hello\"},{\"key\":\"empty\"}]", "kv");
  free(j);

  j = footer_json("sp_all_nulls.parquet");
  e = chunk_meta(j, "name");
  assert_non_null(strstr(e, "\"statistics\":{\"null_count\":\"5\"}"));
  pl_free(e);
  free(j);

  j = footer_json("sp_stats_long.parquet");
  /* strings of 100 bytes, truncated to 8: min is a prefix, max an incremented prefix */
  assert_has(j, "\"max_value\":\"zzzzzzz{\",\"min_value\":\"aaaaaaaa\",\"is_max_value_exact\":false,\"is_min_value_exact\":false", "truncated stats");
  free(j);
}

/* ------------------------------------------------------------------ failures */
static bool dir_has_prefix(const char *dir, const char *needle) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  bool found = false;
  while ((e = readdir(d)))
    if (strstr(e->d_name, needle)) found = true;
  closedir(d);
  return found;
}

/* A write that hits the file size limit (EFBIG) fails with the file's name and leaves neither
 * the final file nor the temporary one, buffered or direct. Direct writes fail in the
 * background thread: on the first block, or on a later one after blocks went out. Runs in a
 * child so the limit stays there. */
static void efbig_child(const char *path, bool direct, rlim_t limit) {
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit rl = {limit, limit};
  if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(10);
  char a[17], c[17];
  pl_batch *b = id_name_batch(200000, 0, 0, a, c);
  pl_error err = {0};
  pl_parquet_write_options o = opts();
  o.codec = PL_CODEC_UNCOMPRESSED;
  o.row_group_rows = 20000;
  o.direct_io = direct;
  pl_parquet_writer *w = pl_parquet_writer_open(path, &b->schema, &o, NULL, &err);
  if (!w) _exit(11);
  pl_status st = pl_parquet_writer_write(w, b, &err);
  if (!st) st = pl_parquet_writer_write(w, b, &err); /* past the 5 MiB limit */
  pl_status st2 = pl_parquet_writer_close(w, st ? NULL : &err);
  pl_batch_free(b);
  if (st == PL_OK && st2 == PL_OK) _exit(12);
  if ((st ? st : st2) != PL_EIO) _exit(13);
  if (!strstr(err.msg, "too_big.parquet") || !strstr(err.msg, "File too large")) {
    fprintf(stderr, "message: %s\n", err.msg);
    _exit(14);
  }
  _exit(0);
}

static void test_write_failure_efbig(void **state) {
  (void)state;
  char *dir = tu_mkdtemp("pqfail");
  char path[1024];
  snprintf(path, sizeof path, "%s/too_big.parquet", dir);
  static const struct { bool direct; rlim_t limit; } cases[] = {
      {false, 64 << 10}, {true, 64 << 10}, {true, 5 << 20}};
  for (int k = 0; k < 3; k++) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) efbig_child(path, cases[k].direct, cases[k].limit);
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
    assert_false(dir_has_prefix(dir, "too_big"));
    assert_false(dir_has_prefix(dir, ".tmp"));
  }
  tu_rmrf(dir);
  pl_free(dir);
}

/* A bad argument fails at open with the path in the message and creates nothing. */
static void test_write_bad_options(void **state) {
  (void)state;
  char *dir = tu_mkdtemp("pqbad");
  char path[1024];
  snprintf(path, sizeof path, "%s/x.parquet", dir);
  pl_schema s;
  pl_schema_init(&s);
  pl_schema_add(&s, fld("f", pl_type_make(PL_FLOAT64), false));
  pl_parquet_column_options co = {"f", PL_ENC_DELTA_BINARY_PACKED};
  pl_parquet_write_options o = opts();
  o.columns = &co;
  o.n_columns = 1;
  pl_error err = {0};
  assert_null(pl_parquet_writer_open(path, &s, &o, NULL, &err));
  assert_int_equal(err.code, PL_EINVAL);
  assert_non_null(strstr(err.msg, "x.parquet"));
  co.name = "nope";
  assert_null(pl_parquet_writer_open(path, &s, &o, NULL, &err));
  assert_non_null(strstr(err.msg, "nope"));
  /* a level the codec does not take */
  o = opts();
  o.codec = PL_CODEC_SNAPPY;
  o.codec_level = 5;
  assert_null(pl_parquet_writer_open(path, &s, &o, NULL, &err));
  assert_non_null(strstr(err.msg, "x.parquet"));
  assert_non_null(strstr(err.msg, "SNAPPY takes no codec_level"));
  o.codec = PL_CODEC_ZSTD;
  o.codec_level = 23;
  assert_null(pl_parquet_writer_open(path, &s, &o, NULL, &err));
  assert_non_null(strstr(err.msg, "must be -7..22"));
  /* abort leaves nothing behind */
  o = opts();
  pl_parquet_writer *w = pl_parquet_writer_open(path, &s, &o, NULL, &err);
  assert_non_null(w);
  pl_parquet_writer_abort(w);
  assert_false(dir_has_prefix(dir, "x.parquet"));
  pl_schema_release(&s);
  tu_rmrf(dir);
  pl_free(dir);
}


/* A budget too small for one page: the error is PL_ELIMIT, names the file and the column,
 * nothing is left on disk and every byte charged is given back. */
static void test_write_budget_limit(void **state) {
  (void)state;
  char *dir = tu_mkdtemp("pqlimit");
  char path[1024];
  snprintf(path, sizeof path, "%s/limited.parquet", dir);
  pl_budget *bud = pl_budget_new(256 << 10);
  char a[17], c[17];
  pl_batch *b = id_name_batch(100000, 0, 0, a, c);
  pl_error err = {0};
  pl_parquet_write_options o = opts();
  pl_parquet_writer *w = pl_parquet_writer_open(path, &b->schema, &o, bud, &err);
  assert_non_null(w);
  pl_status st = pl_parquet_writer_write(w, b, &err);
  pl_status st2 = pl_parquet_writer_close(w, st ? NULL : &err);
  assert_int_equal(st ? st : st2, PL_ELIMIT);
  if (!strstr(err.msg, "limited.parquet") || !strstr(err.msg, "column '")) fail_msg("message: %s", err.msg);
  /* named once: the leaf's prefix is added at one depth only */
  if (strstr(strstr(err.msg, "limited.parquet") + 1, "limited.parquet")) fail_msg("message: %s", err.msg);
  assert_false(dir_has_prefix(dir, "limited"));
  assert_int_equal(pl_budget_used(bud), 0);
  pl_batch_free(b);
  pl_budget_free(bud);
  tu_rmrf(dir);
  pl_free(dir);
}

/* ------------------------------------------------------------------ determinism */
/* The bytes of a file depend only on the rows and the options: never on how the rows were
 * split into pl_parquet_writer_write calls, nor on the capacity of the batches' buffers. */
static uint8_t *slurp(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *p = malloc((size_t)sz + 1);
  assert_non_null(p);
  assert_int_equal(fread(p, 1, (size_t)sz, f), (size_t)sz);
  fclose(f);
  *n = (size_t)sz;
  return p;
}

/* Writes b to path in slices whose sizes cycle through sizes[] (n_sizes 0: one call). */
static void write_sliced(const char *path, const pl_batch *b, const pl_parquet_write_options *o,
                         const int64_t *sizes, int n_sizes) {
  pl_error err = {0};
  pl_parquet_writer *w = pl_parquet_writer_open(path, &b->schema, o, NULL, &err);
  if (!w) fail_msg("open %s: %s", path, err.msg);
  if (n_sizes == 0) {
    if (pl_parquet_writer_write(w, b, &err)) fail_msg("write %s: %s", path, err.msg);
  } else {
    int64_t r = 0;
    for (int k = 0; r < b->length; k++) {
      int64_t n = sizes[k % n_sizes];
      if (n > b->length - r) n = b->length - r;
      pl_batch *s = pl_batch_new(&b->schema, NULL, &err);
      assert_non_null(s);
      for (int c = 0; c < b->schema.n_fields; c++)
        assert_int_equal(pl_column_append_slice(s->columns[c], b->columns[c], r, n, &err), PL_OK);
      assert_int_equal(pl_batch_finish(s, &err), PL_OK);
      if (pl_parquet_writer_write(w, s, &err)) fail_msg("write %s: %s", path, err.msg);
      pl_batch_free(s);
      r += n;
    }
  }
  if (pl_parquet_writer_close(w, &err)) fail_msg("close %s: %s", path, err.msg);
}

/* direct_io changes how the bytes reach the disk, never which bytes: files of every size
 * (smaller than one aligned block, several staging blocks) equal the buffered ones, on the
 * test directory's file system and on /dev/shm (tmpfs, which may refuse O_DIRECT). The
 * staging block is charged to the budget: a budget without room for it fails at open. */
static void test_direct_io_same_bytes(void **state) {
  (void)state;
  char *dirs[2] = {tu_mkdtemp("pqdirect"), NULL};
  struct stat sb;
  if (stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode)) {
    char tmpl[] = "/dev/shm/praline-pqdirect-XXXXXX";
    if (mkdtemp(tmpl)) dirs[1] = strdup(tmpl);
  }
  static const int64_t rows[] = {3, 5000, 400000};
  for (int d = 0; d < 2 && dirs[d]; d++) {
    for (int k = 0; k < 3; k++) {
      char a[17], c[17], pb[1024], pd[1024];
      pl_batch *b = id_name_batch(rows[k], 97, 13, a, c);
      pl_parquet_write_options o = opts();
      o.codec = PL_CODEC_UNCOMPRESSED; /* big files: several staging blocks */
      o.dictionary = false;
      snprintf(pb, sizeof pb, "%s/buffered-%d.parquet", dirs[d], k);
      snprintf(pd, sizeof pd, "%s/direct-%d.parquet", dirs[d], k);
      write_sliced(pb, b, &o, NULL, 0);
      o.direct_io = true;
      pl_budget *bud = pl_budget_new((size_t)64 << 20);
      pl_error err = {0};
      pl_parquet_writer *w = pl_parquet_writer_open(pd, &b->schema, &o, bud, &err);
      if (!w) fail_msg("open %s: %s", pd, err.msg);
      assert_true(pl_budget_used(bud) >= PL_PARQUET_DIRECT_STAGE);
      if (pl_parquet_writer_write(w, b, &err) || pl_parquet_writer_finish(w, &err)) fail_msg("%s: %s", pd, err.msg);
      /* finished: all memory back, the budget may go; no write may follow; the final name
       * appears only at close */
      assert_int_equal(pl_budget_used(bud), 0);
      pl_budget_free(bud);
      assert_int_equal(pl_parquet_writer_write(w, b, &err), PL_EINVAL);
      assert_non_null(strstr(err.msg, "finish"));
      assert_int_equal(access(pd, F_OK), -1);
      if (pl_parquet_writer_close(w, &err)) fail_msg("%s: %s", pd, err.msg);
      size_t nb, nd;
      uint8_t *xb = slurp(pb, &nb), *xd = slurp(pd, &nd);
      if (k == 2) assert_true(nd > 2 * PL_PARQUET_DIRECT_BYTES);
      assert_int_equal(nb, nd);
      assert_memory_equal(xb, xd, nb);
      free(xb);
      free(xd);
      pl_batch_free(b);
    }
    /* no room for the staging block: PL_ELIMIT at open, naming the file; nothing is left */
    pl_budget *small = pl_budget_new(PL_PARQUET_DIRECT_STAGE - 1);
    pl_schema s;
    simple_schema(&s);
    pl_parquet_write_options o = opts();
    o.direct_io = true;
    char p[1024];
    snprintf(p, sizeof p, "%s/nostage.parquet", dirs[d]);
    pl_error err = {0};
    assert_null(pl_parquet_writer_open(p, &s, &o, small, &err));
    assert_int_equal(err.code, PL_ELIMIT);
    assert_non_null(strstr(err.msg, "nostage.parquet"));
    assert_false(dir_has_prefix(dirs[d], "nostage"));
    assert_int_equal(pl_budget_used(small), 0);
    pl_budget_free(small);
    pl_schema_release(&s);
    tu_rmrf(dirs[d]);
  }
  pl_free(dirs[0]);
  free(dirs[1]);
}

static bool chunk_has_encoding(const pl_pq_column_meta *m, int e) {
  for (int i = 0; i < m->n_encodings; i++)
    if (m->encodings[i] == e) return true;
  return false;
}

/* The first page of a chunk is probed: a column whose first 1024 values hold at least 896
 * distinct ones, on a page big enough to fill half the dictionary, is PLAIN from the start;
 * fewer distinct values, or small pages, keep the dictionary. */
static void test_dictionary_probe(void **state) {
  (void)state;
  static const char *names[] = {"id", "low", "below", "edge"};
  static const int64_t mods[] = {0, 50, 880, 896}; /* 0: all distinct */
  pl_schema s;
  pl_schema_init(&s);
  for (int c = 0; c < 4; c++) pl_schema_add(&s, fld(names[c], pl_type_make(PL_INT64), false));
  const int64_t rows = 200000;
  pl_error err = {0};
  pl_batch *b = pl_batch_new(&s, NULL, &err);
  assert_non_null(b);
  for (int64_t i = 0; i < rows; i++)
    for (int c = 0; c < 4; c++)
      assert_int_equal(pl_column_append_int(b->columns[c], mods[c] ? i % mods[c] : i * 7919, &err), PL_OK);
  assert_int_equal(pl_batch_finish(b, &err), PL_OK);
  for (int small = 0; small <= 1; small++) {
    pl_parquet_write_options o = opts();
    if (small) o.page_bytes = 4096; /* 512 values a page: not probed */
    char path[1024];
    snprintf(path, sizeof path, "%s/probe_%d.parquet", g_dir, small);
    write_sliced(path, b, &o, NULL, 0);
    pl_parquet_file *f = pl_parquet_open(path, NULL, NULL, &err);
    assert_non_null(f);
    const pl_pq_file_metadata *md = pl_parquet_metadata(f);
    assert_int_equal(md->num_rows, rows);
    const bool dict[2][4] = {{false, true, true, false}, {true, true, true, true}};
    for (int g = 0; g < md->n_row_groups; g++)
      for (int c = 0; c < 4; c++) {
        const pl_pq_column_meta *m = &md->row_groups[g].columns[c].meta;
        if (chunk_has_encoding(m, PL_PQ_ENC_RLE_DICTIONARY) != dict[small][c] ||
            m->has_dictionary_page_offset != dict[small][c])
          fail_msg("%s pages, column %s: dictionary %s", small ? "small" : "default", names[c],
                   dict[small][c] ? "expected, not used" : "used, not expected");
      }
    /* the values read back */
    pl_parquet_reader *r = pl_parquet_reader_new(f, NULL, NULL, &err);
    assert_non_null(r);
    int64_t at = 0;
    pl_batch *got = NULL;
    while (pl_parquet_reader_next(r, &got, &err) == PL_OK && got) {
      for (int64_t i = 0; i < got->length; i++, at++)
        for (int c = 0; c < 4; c++)
          assert_int_equal(pl_column_int_at(got->columns[c], i), mods[c] ? at % mods[c] : at * 7919);
      pl_batch_free(got);
      got = NULL;
    }
    assert_int_equal(at, rows);
    pl_parquet_reader_free(r);
    pl_parquet_close(f);
  }
  pl_batch_free(b);
  pl_schema_release(&s);
}

/* An o.parallel of two threads: the caller (lane 0) and a thread started per call (lane 1),
 * taking leaves from a shared counter. ctx counts the calls. */
typedef struct two_lanes {
  void (*fn)(void *, int, int);
  void *arg;
  int n;
  atomic_int next;
} two_lanes;

static void *lane1_main(void *a) {
  two_lanes *t = a;
  for (int i; (i = atomic_fetch_add(&t->next, 1)) < t->n;) t->fn(t->arg, i, 1);
  return NULL;
}

static void run_two_lanes(void *ctx, int n, void (*fn)(void *, int, int), void *arg) {
  two_lanes t = {fn, arg, n, 0};
  pthread_t th;
  bool started = pthread_create(&th, NULL, lane1_main, &t) == 0;
  for (int i; (i = atomic_fetch_add(&t.next, 1)) < n;) fn(arg, i, 0);
  if (started) pthread_join(th, NULL);
  (*(int *)ctx)++;
}

static void test_write_deterministic(void **state) {
  (void)state;
  pl_schema s;
  nested_schema(&s);
  pl_field inner = fld("item", pl_type_list(fld("item", pl_type_make(PL_INT64), true)), true);
  pl_schema_add(&s, fld("nest", pl_type_list(inner), true));
  const int64_t rows = 50000;
  pl_batch *b = make_batch(&s, rows, 42, 0);
  static const int64_t sizes[] = {1, 7, 1000, 3, 12345, 2, 999, 64, 4097, 1};
  static const int64_t sizes2[] = {5000, 1, 1, 333};
  char path[1024];
  for (int v = 1; v <= 2; v++) {
    pl_parquet_write_options o = opts();
    o.page_version = v;
    o.page_bytes = 3000;
    o.row_group_bytes = 200000;
    o.dictionary_limit = 2000; /* the string dictionaries overflow to PLAIN mid-chunk */
    snprintf(path, sizeof path, "%s/det_one_v%d.parquet", g_dir, v);
    write_sliced(path, b, &o, NULL, 0);
    size_t n1, n2, n3;
    uint8_t *one = slurp(path, &n1);
    snprintf(path, sizeof path, "%s/det_many_v%d.parquet", g_dir, v);
    write_sliced(path, b, &o, sizes, 10);
    uint8_t *many = slurp(path, &n2);
    snprintf(path, sizeof path, "%s/det_other_v%d.parquet", g_dir, v);
    write_sliced(path, b, &o, sizes2, 4);
    uint8_t *other = slurp(path, &n3);
    /* leaves encoded on two threads (o.parallel): the same bytes */
    char ppath[1024];
    snprintf(ppath, sizeof ppath, "%s/det_par_v%d.parquet", g_dir, v);
    int calls = 0;
    pl_parquet_write_options op = o;
    op.parallel = run_two_lanes;
    op.parallel_ctx = &calls;
    write_sliced(ppath, b, &op, sizes, 10);
    size_t n4;
    uint8_t *par = slurp(ppath, &n4);
    assert_true(calls > 1);
    assert_int_equal(n1, n4);
    assert_memory_equal(one, par, n1);
    free(par);
    /* several row groups and many pages really exist */
    pl_error err = {0};
    pl_parquet_file *f = pl_parquet_open(path, NULL, NULL, &err);
    assert_non_null(f);
    const pl_pq_file_metadata *md = pl_parquet_metadata(f);
    fprintf(stderr, "determinism v%d: %zu bytes, %d row groups\n", v, n1, md->n_row_groups);
    assert_true(md->n_row_groups >= 4);
    assert_int_equal(md->num_rows, rows);
    assert_true(md->row_groups[0].columns[0].meta.total_uncompressed_size > 4 * 3000); /* id: pages */
    pl_parquet_close(f);
    assert_int_equal(n1, n2);
    assert_int_equal(n1, n3);
    assert_memory_equal(one, many, n1);
    assert_memory_equal(one, other, n1);
    free(one);
    free(many);
    free(other);
  }
  pl_batch_free(b);
  pl_schema_release(&s);
}

/* ------------------------------------------------------------------ gathered writes */
/* pl_parquet_writer_write_rows: columns read through row maps (unordered, with repeats, with
 * nulls, nested) give the bytes of writing the gathered rows as a batch of their own, in one
 * call or many, on one lane or two; a map entry outside its column is refused, naming it. */
static void test_write_gathered(void **state) {
  (void)state;
  pl_schema s;
  nested_schema(&s);
  pl_schema_add(&s, fld("req", pl_type_make(PL_STRING), false));
  pl_schema_add(&s, fld("small", pl_type_make(PL_INT16), true));
  const int64_t rows = 40000, n = 30011;
  pl_batch *b = make_batch(&s, rows, 7, 0);
  int64_t *map = malloc(sizeof(int64_t) * (size_t)n);
  uint64_t seed = 99;
  for (int64_t k = 0; k < n; k++) { /* runs of kept rows, some rows twice, some out of order */
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    map[k] = k < n / 2 ? k * 2 + (int64_t)(seed >> 62 & 1) : (int64_t)((seed >> 20) % (uint64_t)rows);
  }
  pl_error err = {0};
  pl_batch *g = pl_batch_new(&s, NULL, &err); /* the gathered rows, copied */
  assert_non_null(g);
  for (int c = 0; c < s.n_fields; c++)
    assert_int_equal(pl_column_append_rows(g->columns[c], b->columns[c], map, n, &err), PL_OK);
  assert_int_equal(pl_batch_finish(g, &err), PL_OK);
  /* the view: column 0 already gathered, the others through the map */
  pl_column **cols = malloc(sizeof(pl_column *) * (size_t)s.n_fields);
  const int64_t **maps = calloc((size_t)s.n_fields, sizeof(int64_t *));
  for (int c = 0; c < s.n_fields; c++) {
    cols[c] = c == 0 ? g->columns[0] : b->columns[c];
    maps[c] = c == 0 ? NULL : map;
  }
  char path[1024];
  for (int v = 1; v <= 2; v++) {
    pl_parquet_write_options o = opts();
    o.page_version = v;
    o.page_bytes = 3000;
    o.row_group_bytes = 150000;
    o.dictionary_limit = 2000;
    snprintf(path, sizeof path, "%s/gather_copy_v%d.parquet", g_dir, v);
    write_sliced(path, g, &o, NULL, 0);
    size_t n1, n2;
    uint8_t *want = slurp(path, &n1);
    for (int par = 0; par < 2; par++) {
      int calls = 0;
      pl_parquet_write_options op = o;
      if (par) {
        op.parallel = run_two_lanes;
        op.parallel_ctx = &calls;
      }
      snprintf(path, sizeof path, "%s/gather_map_v%d_%d.parquet", g_dir, v, par);
      pl_parquet_writer *w = pl_parquet_writer_open(path, &s, &op, NULL, &err);
      assert_non_null(w);
      static const int64_t step[] = {1, 4999, 77, 12000, 3};
      const int64_t *m2[16];
      for (int64_t r = 0, k = 0; r < n; k++) {
        int64_t len = step[k % 5] < n - r ? step[k % 5] : n - r;
        pl_batch view = *g;
        pl_column *vc[16];
        for (int c = 0; c < s.n_fields; c++) {
          vc[c] = cols[c];
          m2[c] = maps[c] ? maps[c] + r : NULL;
        }
        pl_column *slice = pl_column_new(&g->columns[0]->type, NULL, &err); /* column 0: rows r .. r + len */
        assert_non_null(slice);
        assert_int_equal(pl_column_append_slice(slice, g->columns[0], r, len, &err), PL_OK);
        vc[0] = slice;
        view.columns = vc;
        view.length = len;
        if (pl_parquet_writer_write_rows(w, &view, m2, &err)) fail_msg("write_rows: %s", err.msg);
        pl_column_free(slice);
        r += len;
      }
      assert_int_equal(pl_parquet_writer_close(w, &err), PL_OK);
      uint8_t *got = slurp(path, &n2);
      assert_int_equal(n1, n2);
      assert_memory_equal(want, got, n1);
      free(got);
      if (par) assert_true(calls > 1);
    }
    free(want);
  }
  /* a map entry outside the column */
  snprintf(path, sizeof path, "%s/gather_bad.parquet", g_dir);
  pl_parquet_write_options o = opts();
  pl_parquet_writer *w = pl_parquet_writer_open(path, &s, &o, NULL, &err);
  assert_non_null(w);
  int64_t saved = map[n - 1];
  map[n - 1] = rows;
  pl_batch view = *g;
  view.columns = cols;
  assert_int_equal(pl_parquet_writer_write_rows(w, &view, maps, &err), PL_EINVAL);
  assert_non_null(strstr(err.msg, "column 'name'"));
  map[n - 1] = saved;
  pl_parquet_writer_abort(w);
  free(cols);
  free(maps);
  free(map);
  pl_batch_free(g);
  pl_batch_free(b);
  pl_schema_release(&s);
}

/* ------------------------------------------------------------------ nan_count */
/* parquet.thrift Statistics field 9, nan_count: written for FLOAT/DOUBLE/FLOAT16 columns (also
 * when it is 0), never for others. Our reader skips the field, so the footer bytes are checked:
 * in the compact protocol, after is_min_value_exact = true (0x11) comes the i64 field 9 with a
 * delta of 1 (0x16) and the zigzag varint of the count; with no min/max (all NaN) it follows
 * null_count (field 3) with a delta of 6 (0x66). */
static size_t count_bytes(const uint8_t *h, size_t n, const uint8_t *pat, size_t m) {
  size_t c = 0;
  for (size_t i = 0; i + m <= n; i++) c += memcmp(h + i, pat, m) == 0;
  return c;
}

static void test_write_nan_count(void **state) {
  (void)state;
  pl_schema s;
  pl_schema_init(&s);
  pl_schema_add(&s, fld("d", pl_type_make(PL_FLOAT64), true));
  pl_schema_add(&s, fld("f", pl_type_make(PL_FLOAT32), false));
  pl_schema_add(&s, fld("allnan", pl_type_make(PL_FLOAT64), false));
  pl_schema_add(&s, fld("i", pl_type_make(PL_INT32), false));
  pl_error err = {0};
  pl_batch *b = pl_batch_new(&s, NULL, &err);
  const double dv[] = {1.5, NAN, 2.5, NAN, NAN, 0};
  for (int r = 0; r < 6; r++) {
    if (r == 5) assert_int_equal(pl_column_append_null(b->columns[0], &err), PL_OK);
    else assert_int_equal(pl_column_append_float(b->columns[0], dv[r], &err), PL_OK);
    assert_int_equal(pl_column_append_float(b->columns[1], r + 0.25, &err), PL_OK);
    assert_int_equal(pl_column_append_float(b->columns[2], NAN, &err), PL_OK);
    assert_int_equal(pl_column_append_int(b->columns[3], r, &err), PL_OK);
  }
  assert_int_equal(pl_batch_finish(b, &err), PL_OK);
  char path[1024];
  snprintf(path, sizeof path, "%s/nan_count.parquet", g_dir);
  pl_parquet_write_options o = opts();
  o.dictionary = false;
  write_sliced(path, b, &o, NULL, 0);
  size_t n;
  uint8_t *p = slurp(path, &n);
  assert_true(n > 12);
  uint32_t flen = (uint32_t)p[n - 8] | (uint32_t)p[n - 7] << 8 | (uint32_t)p[n - 6] << 16 | (uint32_t)p[n - 5] << 24;
  assert_true(flen + 12 <= n);
  const uint8_t *foot = p + n - 8 - flen;
  static const uint8_t three[] = {0x11, 0x16, 0x06}, zero[] = {0x11, 0x16, 0x00}, any[] = {0x11, 0x16},
                       all6[] = {0x36, 0x00, 0x66, 0x0c, 0x00};
  assert_int_equal(count_bytes(foot, flen, three, 3), 1); /* d: 3 NaN (the null is not one) */
  assert_int_equal(count_bytes(foot, flen, zero, 3), 1);  /* f: none, still written */
  assert_int_equal(count_bytes(foot, flen, any, 2), 2);   /* i: no nan_count */
  assert_int_equal(count_bytes(foot, flen, all6, 5), 1);  /* allnan: 6 NaN, no min/max */
  free(p);
  /* the footer still parses, and the other statistics are intact */
  pl_parquet_file *f = pl_parquet_open(path, NULL, NULL, &err);
  assert_non_null(f);
  const pl_pq_column_meta *m = &pl_parquet_metadata(f)->row_groups[0].columns[0].meta;
  assert_int_equal(m->stats.null_count, 1);
  /* the reader decodes nan_count back */
  assert_true(m->stats.has_nan_count);
  assert_int_equal(m->stats.nan_count, 3);
  assert_false(pl_parquet_metadata(f)->row_groups[0].columns[3].meta.stats.has_nan_count);
  double mn, mx;
  assert_int_equal(m->stats.min_value.len, 8);
  memcpy(&mn, m->stats.min_value.data, 8);
  memcpy(&mx, m->stats.max_value.data, 8);
  assert_true(mn == 1.5 && mx == 2.5);
  pl_parquet_close(f);
  pl_batch_free(b);
  pl_schema_release(&s);
}

/* ------------------------------------------------------------------ memory for big values */
/* 8 rows of distinct 16 MiB strings (incompressible) with 16 MiB row groups, the seed scenario
 * scaled down 8x. The writer's memory (all charged to its budget) must stay near 2x the value:
 * the pending PLAIN page (16 MiB + 4) and its compressed form (compressBound ~ 16 MiB + 64 KiB);
 * nothing is rounded up to a power of two, copied into a page body or kept after its row
 * group. Bound: 2.25 x 16 MiB + 1 MiB (the small pages, levels, dictionary and headers). */
static void test_write_big_values_memory(void **state) {
  (void)state;
  const size_t big = (size_t)16 << 20;
  const int rows = 8;
  struct { pl_codec codec; int version; bool nullable; bool bounded; } cfg[] = {
      {PL_CODEC_ZSTD, 1, false, true},         /* the seed-oom shape */
      {PL_CODEC_ZSTD, 1, true, true},          /* v1 levels + values through one zstd stream */
      {PL_CODEC_ZSTD, 2, true, true},          /* v2: levels outside the compressed data */
      {PL_CODEC_UNCOMPRESSED, 1, true, true},  /* the pending page itself joins the chunk */
      {PL_CODEC_LZ4_RAW, 1, true, false},      /* joins levels and values: one more copy */
  };
  uint8_t *v = malloc(big);
  assert_non_null(v);
  for (size_t k = 0; k < sizeof cfg / sizeof cfg[0]; k++) {
    pl_schema s;
    pl_schema_init(&s);
    pl_schema_add(&s, fld("text", pl_type_make(PL_STRING), cfg[k].nullable));
    pl_error err = {0};
    pl_batch *b = pl_batch_new(&s, NULL, &err);
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    for (int r = 0; r < rows; r++) {
      for (size_t i = 0; i < big; i += 8) {
        uint64_t x = rnd(&seed);
        memcpy(v + i, &x, 8);
      }
      assert_int_equal(pl_column_append_bytes(b->columns[0], v, big, &err), PL_OK);
    }
    assert_int_equal(pl_batch_finish(b, &err), PL_OK);
    pl_budget *bud = pl_budget_new(PL_UNLIMITED);
    char path[1024];
    snprintf(path, sizeof path, "%s/bigmem_%zu.parquet", g_dir, k);
    pl_parquet_write_options o = opts();
    o.codec = cfg[k].codec;
    o.page_version = cfg[k].version;
    o.row_group_bytes = big;
    pl_parquet_writer *w = pl_parquet_writer_open(path, &s, &o, bud, &err);
    assert_non_null(w);
    assert_int_equal(pl_parquet_writer_write(w, b, &err), PL_OK);
    assert_int_equal(pl_parquet_writer_close(w, &err), PL_OK);
    size_t peak = pl_budget_peak(bud);
    size_t bound = big * 9 / 4 + ((size_t)1 << 20);
    fprintf(stderr, "big values (%s v%d%s): writer peak %.2f MiB = %.2f x the value (bound %.2f x)\n",
            pl_codec_name(cfg[k].codec), cfg[k].version, cfg[k].nullable ? " nullable" : "",
            peak / 1048576.0, (double)peak / (double)big, (double)bound / (double)big);
    if (cfg[k].bounded) assert_true(peak <= bound);
    assert_true(peak >= big); /* the value's page really is charged */
    assert_int_equal(pl_budget_used(bud), 0);
    /* read back: 8 rows of the right length, one row group each */
    pl_parquet_file *f = pl_parquet_open(path, NULL, NULL, &err);
    assert_non_null(f);
    const pl_pq_file_metadata *md = pl_parquet_metadata(f);
    assert_int_equal(md->num_rows, rows);
    assert_int_equal(md->n_row_groups, rows);
    pl_parquet_reader *rd = pl_parquet_reader_new(f, NULL, NULL, &err);
    assert_non_null(rd);
    int64_t got = 0;
    pl_batch *ob;
    while (pl_parquet_reader_next(rd, &ob, &err) == PL_OK && ob) {
      const int64_t *off = pl_column_offsets(ob->columns[0]);
      for (int64_t i = 0; i < ob->length; i++) assert_int_equal(off[i + 1] - off[i], big);
      got += ob->length;
      pl_batch_free(ob);
    }
    assert_int_equal(got, rows);
    pl_parquet_reader_free(rd);
    pl_parquet_close(f);
    unlink(path);
    pl_budget_free(bud);
    pl_batch_free(b);
    pl_schema_release(&s);
  }
  free(v);
}

/* ------------------------------------------------------------------ bounded memory */
/* 3.2 million rows (~100 MB of PLAIN data) through a writer with 4 MiB row groups: the
 * writer's own memory (all charged to the budget) stays near the row-group target. */
static void test_write_bounded_memory(void **state) {
  (void)state;
  pl_budget *bud = pl_budget_new(PL_UNLIMITED);
  char path[1024];
  snprintf(path, sizeof path, "%s/bounded.parquet", g_dir);
  char a[17], c[17];
  pl_batch *b = id_name_batch(100000, 0, 13, a, c);
  pl_error err = {0};
  pl_parquet_write_options o = opts();
  o.row_group_bytes = 4 << 20;
  o.page_bytes = 256 << 10;
  o.codec = PL_CODEC_LZ4_RAW;
  pl_parquet_writer *w = pl_parquet_writer_open(path, &b->schema, &o, bud, &err);
  assert_non_null(w);
  for (int k = 0; k < 32; k++) assert_int_equal(pl_parquet_writer_write(w, b, &err), PL_OK);
  assert_int_equal(pl_parquet_writer_close(w, &err), PL_OK);
  size_t peak = pl_budget_peak(bud);
  fprintf(stderr, "bounded memory: peak %zu bytes for %zu bytes of batches\n", peak, 32 * pl_batch_bytes(b));
  assert_true(peak < (16u << 20));
  assert_true(peak > (1u << 20)); /* the buffers really are charged */
  assert_int_equal(pl_budget_used(bud), 0);
  pl_batch_free(b);
  pl_budget_free(bud);
  bg_start(&g_bg_b, path, "duckdb"); /* one reader: 3.2 million rows */
}

static void test_pqcheck_bounded(void **state) {
  (void)state;
  const char *j = bg_wait(&g_bg_b);
  const char *probs = strstr(j, "\"problems\": [");
  assert_non_null(probs);
  if (strchr(probs, ']') - probs > 16) fail_msg("pqcheck: %.400s", probs);
  assert_non_null(strstr(j, "\"rows\": 3200000"));
}

/* ------------------------------------------------------------------ one 200 MiB value */
static void test_write_huge_value(void **state) {
  (void)state;
  char *dir = tu_mkdtemp("pqhuge");
  char path[1024];
  snprintf(path, sizeof path, "%s/huge.parquet", dir);
  const size_t big = (size_t)200 << 20;
  pl_schema s;
  pl_schema_init(&s);
  pl_schema_add(&s, fld("s", pl_type_make(PL_STRING), true));
  pl_error err = {0};
  pl_batch *b = pl_batch_new(&s, NULL, &err);
  char *v = malloc(big);
  assert_non_null(v);
  for (size_t i = 0; i < big; i++) v[i] = (char)('a' + (i * 7 + i / 4096) % 26);
  ck c;
  ck_init(&c);
  assert_int_equal(pl_column_append_bytes(b->columns[0], "first", 5, &err), PL_OK);
  ck_line(&c, "\"first\"");
  assert_int_equal(pl_column_append_bytes(b->columns[0], v, big, &err), PL_OK);
  sha256_update(&c.h, 1, (const uint8_t *)"\"");
  sha256_update(&c.h, big, (const uint8_t *)v);
  sha256_update(&c.h, 2, (const uint8_t *)"\"\n");
  assert_int_equal(pl_column_append_null(b->columns[0], &err), PL_OK);
  ck_line(&c, "\\N");
  free(v);
  assert_int_equal(pl_batch_finish(b, &err), PL_OK);
  char want[17];
  ck_hex(&c, want);
  pl_parquet_write_options o = opts(); /* ZSTD, dictionary on: the value overflows it */
  pl_parquet_writer *w = pl_parquet_writer_open(path, &s, &o, NULL, &err);
  assert_non_null(w);
  assert_int_equal(pl_parquet_writer_write(w, b, &err), PL_OK);
  assert_int_equal(pl_parquet_writer_close(w, &err), PL_OK);
  pl_batch_free(b);
  pl_schema_release(&s);
  memcpy(g_huge_want, want, 17);
  bg_start(&g_bg_h, path, NULL);
  g_huge_dir = dir;
}

static void test_pqcheck_huge_value(void **state) {
  (void)state;
  const char *out = bg_wait(&g_bg_h);
  const char *probs = strstr(out, "\"problems\": [");
  assert_non_null(probs);
  if (strchr(probs, ']') - probs > 16) fail_msg("pqcheck: %.400s", probs);
  const char *col = strstr(out, "\"name\": \"s\"");
  assert_non_null(col);
  const char *k = strstr(col, "\"checksum\": \"");
  assert_non_null(k);
  assert_memory_equal(k + 13, g_huge_want, 16);
  assert_non_null(strstr(out, "\"rows\": 3"));
  tu_rmrf(g_huge_dir);
  pl_free(g_huge_dir);
}


/* ------------------------------------------------------------------ reader-limited types */
/* Decimals over their whole precision (hyparquet reads decimals as doubles: checked with the
 * two exact readers), float16 (hyparquet cannot render it; DuckDB names it float32, arrow-rs
 * float16: each reader alone, then their checksums compared) and time of day. */
static bg_check g_bg_dec, g_bg_f16d, g_bg_f16w, g_bg_time;
static char g_time_ck[4][17];
static char *g_xdir;

static void test_write_limited_types(void **state) {
  (void)state;
  pl_schema s;
  pl_schema_init(&s);
  const int prec[][2] = {{1, 0}, {9, 4}, {10, 2}, {18, 0}, {19, 19}, {20, 3}, {28, 7}, {38, 0}, {38, 38}};
  for (size_t k = 0; k < sizeof prec / sizeof prec[0]; k++) {
    char nm[32];
    snprintf(nm, sizeof nm, "d_%d_%d", prec[k][0], prec[k][1]);
    pl_schema_add(&s, fld(nm, pl_type_decimal(prec[k][0], prec[k][1]), k % 2 == 0));
  }
  pl_parquet_write_options o = opts();
  char path[1024];
  snprintf(path, sizeof path, "%s/x_decimal_big.parquet", g_xdir);
  g_full_decimals = true;
  pl_error err = {0};
  for (int v = 1; v <= 2; v++) {
    o.page_version = v;
    snprintf(path, sizeof path, "%s/x_decimal_big_v%d.parquet", g_xdir, v);
    pl_parquet_writer *w = pl_parquet_writer_open(path, &s, &o, NULL, &err);
    assert_non_null(w);
    pl_batch *b = make_batch(&s, 3000, 5, 0);
    assert_int_equal(pl_parquet_writer_write(w, b, &err), PL_OK);
    assert_int_equal(pl_parquet_writer_close(w, &err), PL_OK);
    pl_batch_free(b);
  }
  g_full_decimals = false;
  pl_schema_release(&s);
  bg_start(&g_bg_dec, g_xdir, "duckdb,wasm");

  pl_schema_init(&s);
  pl_schema_add(&s, fld("h", pl_type_make(PL_FLOAT16), true));
  pl_schema_add(&s, fld("hr", pl_type_make(PL_FLOAT16), false));
  snprintf(path, sizeof path, "%s/f16.parquet", g_dir);
  pl_parquet_writer *w = pl_parquet_writer_open(path, &s, &o, NULL, &err);
  assert_non_null(w);
  pl_batch *b = make_batch(&s, 500, 9, 0);
  assert_int_equal(pl_parquet_writer_write(w, b, &err), PL_OK);
  assert_int_equal(pl_parquet_writer_close(w, &err), PL_OK);
  pl_batch_free(b);
  pl_schema_release(&s);
  bg_start(&g_bg_f16d, path, "duckdb");
  bg_start(&g_bg_f16w, path, "wasm");

  pl_schema_init(&s);
  pl_schema_add(&s, fld("t_s", pl_type_time(PL_SECOND), true));
  pl_schema_add(&s, fld("t_ms", pl_type_time(PL_MILLI), true));
  pl_schema_add(&s, fld("t_us", pl_type_time(PL_MICRO), false));
  pl_schema_add(&s, fld("t_ns", pl_type_time(PL_NANO), true));
  snprintf(path, sizeof path, "%s/time.parquet", g_dir);
  w = pl_parquet_writer_open(path, &s, &o, NULL, &err);
  assert_non_null(w);
  b = pl_batch_new(&s, NULL, &err);
  /* hyparquet and arrow-rs render times as integers in the Parquet unit (millis for t_s) */
  static const int64_t mul[4] = {1000, 1, 1, 1}, scale[4] = {1, 1000, 1000000, 1000000000};
  ck cks[4];
  for (int c = 0; c < 4; c++) ck_init(&cks[c]);
  for (int64_t i = 0; i < 700; i++) {
    for (int c = 0; c < 4; c++) {
      char buf[32];
      if (c != 2 && i % 9 == 4) {
        assert_int_equal(pl_column_append_null(b->columns[c], &err), PL_OK);
        ck_line(&cks[c], "\\N");
        continue;
      }
      int64_t v = (i * 7919 % 86400) * scale[c] + (c ? i % scale[c] : 0);
      assert_int_equal(pl_column_append_int(b->columns[c], v, &err), PL_OK);
      snprintf(buf, sizeof buf, "%lld", (long long)(v * mul[c]));
      ck_line(&cks[c], buf);
    }
  }
  for (int c = 0; c < 4; c++) ck_hex(&cks[c], g_time_ck[c]);
  assert_int_equal(pl_batch_finish(b, &err), PL_OK);
  assert_int_equal(pl_parquet_writer_write(w, b, &err), PL_OK);
  assert_int_equal(pl_parquet_writer_close(w, &err), PL_OK);
  pl_batch_free(b);
  pl_schema_release(&s);
  bg_start(&g_bg_time, path, NULL);
}

static void assert_report_ok(const char *json, const char *what) {
  const char *probs = strstr(json, "\"problems\": [");
  assert_non_null(probs);
  if (strchr(probs, ']') - probs > 16) fail_msg("%s: pqcheck: %.600s", what, probs);
}

static void test_pqcheck_limited_types(void **state) {
  (void)state;
  const char *j = bg_wait(&g_bg_dec);
  for (const char *p = strstr(j, "\"problems\": ["); p; p = strstr(p + 1, "\"problems\": [")) assert_report_ok(p, "decimals");
  assert_non_null(strstr(j, "\"type\": \"decimal(38,38)\""));
  /* float16: both readers succeed alone and agree on the values */
  const char *a = bg_wait(&g_bg_f16d), *b = bg_wait(&g_bg_f16w);
  assert_report_ok(a, "float16 duckdb");
  assert_report_ok(b, "float16 arrow-rs");
  const char *ca = strstr(strstr(a, "\"name\": \"h\""), "\"checksum\": \"");
  const char *cb = strstr(strstr(b, "\"name\": \"h\""), "\"checksum\": \"");
  assert_memory_equal(ca, cb, 29);
  ca = strstr(strstr(a, "\"name\": \"hr\""), "\"checksum\": \"");
  cb = strstr(strstr(b, "\"name\": \"hr\""), "\"checksum\": \"");
  assert_memory_equal(ca, cb, 29);
  /* time: every reader reads the file; hyparquet and arrow-rs render integers, checked
   * against the values written; DuckDB renders "HH:MM:SS" text (different by design) */
  const char *t = bg_wait(&g_bg_time);
  const char *names[4] = {"t_s", "t_ms", "t_us", "t_ns"};
  const char *rd[2] = {"\"hyparquet\": {", "\"wasm\": {"};
  assert_non_null(strstr(t, "\"duckdb\": {\n     \"ok\": true"));
  for (int r = 0; r < 2; r++) {
    const char *base = strstr(t, rd[r]);
    assert_non_null(base);
    assert_true(!strncmp(strstr(base, "\"ok\": "), "\"ok\": true", 10));
    for (int c = 0; c < 4; c++) {
      char key[64];
      snprintf(key, sizeof key, "\"name\": \"%s\"", names[c]);
      const char *k = strstr(strstr(base, key), "\"checksum\": \"");
      if (memcmp(k + 13, g_time_ck[c], 16)) fail_msg("%s %s: %.16s, expected %s", rd[r], names[c], k + 13, g_time_ck[c]);
    }
  }
}

int main(void) {
  signal(SIGXFSZ, SIG_IGN);
  g_dir = tu_mkdtemp("pqwriter");
  size_t dl = strlen(g_dir) + 3;
  g_mdir = pl_malloc(dl);
  g_sdir = pl_malloc(dl);
  snprintf(g_mdir, dl, "%s/m", g_dir);
  snprintf(g_sdir, dl, "%s/s", g_dir);
  g_xdir = pl_malloc(dl);
  snprintf(g_xdir, dl, "%s/x", g_dir);
  if (mkdir(g_mdir, 0755) || mkdir(g_sdir, 0755) || mkdir(g_xdir, 0755)) return 1;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_write_matrix),
      cmocka_unit_test(test_write_special),
      cmocka_unit_test(test_write_huge_value),
      cmocka_unit_test(test_write_limited_types),
      cmocka_unit_test(test_write_bounded_memory),
      cmocka_unit_test(test_write_deterministic),
      cmocka_unit_test(test_write_gathered),
      cmocka_unit_test(test_dictionary_probe),
      cmocka_unit_test(test_write_nan_count),
      cmocka_unit_test(test_write_big_values_memory),
      cmocka_unit_test(test_write_failure_efbig),
      cmocka_unit_test(test_write_bad_options),
      cmocka_unit_test(test_write_budget_limit),
      cmocka_unit_test(test_direct_io_same_bytes),
      cmocka_unit_test(test_pqcheck_matrix),
      cmocka_unit_test(test_pqcheck_special),
      cmocka_unit_test(test_reader_round_trip),
      cmocka_unit_test(test_footer_details),
      cmocka_unit_test(test_pqcheck_huge_value),
      cmocka_unit_test(test_pqcheck_bounded),
      cmocka_unit_test(test_pqcheck_limited_types),
  };
  if (getenv("PL_TEST_FILTER")) cmocka_set_test_filter(getenv("PL_TEST_FILTER")); /* e.g. *determ* */
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  if (rc == 0 && !getenv("PL_KEEP")) tu_rmrf(g_dir);
  else fprintf(stderr, "files kept in %s\n", g_dir);
  free(g_bg_m.out);
  for (int c = 0; c < g_mcols; c++) free(g_mnames[c]);
  free(g_mnames);
  free(g_mck);
  free(g_bg_s.out);
  free(g_bg_b.out);
  free(g_bg_h.out);
  pl_free(g_mdir);
  pl_free(g_sdir);
  pl_free(g_xdir);
  free(g_bg_dec.out);
  free(g_bg_f16d.out);
  free(g_bg_f16w.out);
  free(g_bg_time.out);
  pl_free(g_dir);
  return rc;
}

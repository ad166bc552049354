/* test_corpus.c — the Parquet reader against the parquet-testing corpus and its answer key.
 *
 * For every file of testdata/golden/parquet-testing-data.json whose outside readers agree
 * (`all` or `majority`), reads every column and compares rows, canonical type, null count and
 * canonical checksum with the golden values. The `none` files are either read and compared
 * with the reader they agree with (recorded below: parquet-wasm, i.e. arrow-rs, for all of
 * them), or must fail with a clean error naming the file. bad_data/ and the encrypted files
 * must give clean errors naming the file, except the documented exceptions.
 */
#include "test_util.h"

#include <dirent.h>
#include <sys/stat.h>

#include "praline/parquet.h"

/* ------------------------------------------------------------------ a tiny JSON parser */
typedef struct jv {
  char kind; /* o(bject) a(rray) s(tring) n(umber) l(iteral) */
  char *str;
  double num;
  int n;
  char **keys;
  struct jv *items;
} jv;

typedef struct jp {
  const char *p, *end;
} jp;

static void ws(jp *j) {
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t')) j->p++;
}

static char *jstring(jp *j) {
  assert_true(j->p < j->end && *j->p == '"');
  j->p++;
  size_t cap = 64, len = 0;
  char *s = malloc(cap);
  while (j->p < j->end && *j->p != '"') {
    char c = *j->p++;
    if (c == '\\') {
      assert_true(j->p < j->end);
      char e = *j->p++;
      switch (e) {
      case 'n': c = '\n'; break;
      case 't': c = '\t'; break;
      case 'u': c = '?'; j->p += 4; break; /* not needed for the names compared here */
      default: c = e;
      }
    }
    if (len + 2 > cap) s = realloc(s, cap *= 2);
    s[len++] = c;
  }
  assert_true(j->p < j->end);
  j->p++;
  s[len] = 0;
  return s;
}

static void jvalue(jp *j, jv *v) {
  ws(j);
  memset(v, 0, sizeof *v);
  assert_true(j->p < j->end);
  char c = *j->p;
  if (c == '{' || c == '[') {
    v->kind = c == '{' ? 'o' : 'a';
    j->p++;
    ws(j);
    char close = c == '{' ? '}' : ']';
    while (j->p < j->end && *j->p != close) {
      v->items = realloc(v->items, sizeof *v->items * (size_t)(v->n + 1));
      v->keys = realloc(v->keys, sizeof *v->keys * (size_t)(v->n + 1));
      v->keys[v->n] = NULL;
      if (v->kind == 'o') {
        v->keys[v->n] = jstring(j);
        ws(j);
        assert_true(*j->p == ':');
        j->p++;
      }
      jvalue(j, &v->items[v->n]);
      v->n++;
      ws(j);
      if (*j->p == ',') j->p++;
      ws(j);
    }
    j->p++;
  } else if (c == '"') {
    v->kind = 's';
    v->str = jstring(j);
  } else if (c == '-' || (c >= '0' && c <= '9')) {
    v->kind = 'n';
    char *e;
    v->num = strtod(j->p, &e);
    j->p = e;
  } else {
    v->kind = 'l';
    while (j->p < j->end && *j->p >= 'a' && *j->p <= 'z') j->p++;
  }
}

static void jfree(jv *v) {
  for (int i = 0; i < v->n; i++) {
    free(v->keys[i]);
    jfree(&v->items[i]);
  }
  free(v->keys);
  free(v->items);
  free(v->str);
}

static const jv *jget(const jv *o, const char *key) {
  if (!o || o->kind != 'o') return NULL;
  for (int i = 0; i < o->n; i++)
    if (!strcmp(o->keys[i], key)) return &o->items[i];
  return NULL;
}

/* ------------------------------------------------------------------ reading a file */
typedef struct col_result {
  char name[256];
  char type[1024];
  char checksum[17];
  int64_t nulls;
} col_result;

typedef struct file_result {
  pl_status st;
  char msg[PL_ERROR_MSG_MAX];
  int64_t rows;
  int n;
  col_result cols[256];
} file_result;

static void read_file(const char *path, size_t budget, int64_t batch_rows, file_result *res) {
  memset(res, 0, sizeof *res);
  pl_error err = {0};
  pl_budget *b = pl_budget_new(budget);
  pl_parquet_file *f = pl_parquet_open(path, NULL, b, &err);
  pl_parquet_reader *r = NULL;
  pl_checksum *ck[256] = {0};
  if (!f) goto done;
  const pl_schema *s = pl_parquet_schema(f);
  assert_true(s->n_fields <= 256);
  pl_parquet_scan_options so = {0};
  so.batch_rows = batch_rows;
  r = pl_parquet_reader_new(f, &so, b, &err);
  if (!r) goto done;
  res->n = s->n_fields;
  for (int i = 0; i < s->n_fields; i++) {
    ck[i] = pl_checksum_new(&s->fields[i].type);
    snprintf(res->cols[i].name, sizeof res->cols[i].name, "%s", s->fields[i].name);
    pl_type_canonical(&s->fields[i].type, res->cols[i].type, sizeof res->cols[i].type);
  }
  for (;;) {
    pl_batch *batch;
    if (pl_parquet_reader_next(r, &batch, &err)) goto done;
    if (!batch) break;
    assert_int_equal(batch->schema.n_fields, s->n_fields);
    for (int i = 0; i < s->n_fields; i++) {
      assert_int_equal(batch->columns[i]->length, batch->length);
      assert_int_equal(pl_checksum_add(ck[i], batch->columns[i], &err), PL_OK);
    }
    res->rows += batch->length;
    pl_batch_free(batch);
  }
  for (int i = 0; i < s->n_fields; i++) {
    res->cols[i].nulls = pl_checksum_nulls(ck[i]);
    pl_checksum_hex(ck[i], res->cols[i].checksum);
  }
  err.code = PL_OK;
done:
  res->st = err.code;
  snprintf(res->msg, sizeof res->msg, "%s", err.msg);
  for (int i = 0; i < 256; i++) pl_checksum_free(ck[i]);
  pl_parquet_reader_free(r);
  pl_parquet_close(f);
  assert_int_equal(pl_budget_used(b), 0); /* everything charged was given back */
  pl_budget_free(b);
}

static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

/* A clean error: a status, one line, naming the file. */
static void expect_clean_error(const file_result *res, const char *path) {
  if (res->st == PL_OK) fail_msg("%s: expected an error, the file was read", path);
  if (!strstr(res->msg, base_name(path))) fail_msg("%s: error does not name the file: %s", path, res->msg);
  if (strchr(res->msg, '\n')) fail_msg("%s: error is not one line: %s", path, res->msg);
  assert_true(res->st != PL_EINTERNAL);
}

/* ------------------------------------------------------------------ the `none` files */
/* What an outside reader reports for the `none` files we read, from `pqcheck FILE --json`
 * (readers.wasm = parquet-wasm/arrow-rs, readers.duckdb). Our reader agrees with it on every
 * column: arrow-rs for all but nation.dict-malformed (written by a parquet-mr that understated
 * column chunk sizes, PARQUET-816), where it agrees with DuckDB (arrow-rs and hyparquet fail). */
typedef struct agree_col {
  const char *file;
  int64_t rows;
  const char *name, *type, *checksum;
  const char *reader;
} agree_col;

static const agree_col WASM[] = {
    {"byte_stream_split_extended.gzip.parquet", 200, "float16_plain", "float16", "e6dc9668f06901e8", "parquet-wasm"},
    {"byte_stream_split_extended.gzip.parquet", 200, "float16_byte_stream_split", "float16", "e6dc9668f06901e8", "parquet-wasm"},
    {"byte_stream_split_extended.gzip.parquet", 200, "float_plain", "float32", "c401fcbebe90e598", "parquet-wasm"},
    {"byte_stream_split_extended.gzip.parquet", 200, "float_byte_stream_split", "float32", "c401fcbebe90e598", "parquet-wasm"},
    {"byte_stream_split_extended.gzip.parquet", 200, "double_plain", "float64", "b705e0d27fa01653", "parquet-wasm"},
    {"byte_stream_split_extended.gzip.parquet", 200, "double_byte_stream_split", "float64", "b705e0d27fa01653", "parquet-wasm"},
    {"byte_stream_split_extended.gzip.parquet", 200, "int32_plain", "int32", "eba8f448d6b3a1f4", "parquet-wasm"},
    {"byte_stream_split_extended.gzip.parquet", 200, "int32_byte_stream_split", "int32", "eba8f448d6b3a1f4", "parquet-wasm"},
    {"byte_stream_split_extended.gzip.parquet", 200, "int64_plain", "int64", "1b124e46105164d4", "parquet-wasm"},
    {"byte_stream_split_extended.gzip.parquet", 200, "int64_byte_stream_split", "int64", "1b124e46105164d4", "parquet-wasm"},
    {"byte_stream_split_extended.gzip.parquet", 200, "flba5_plain", "binary", "54a3585a961f8de7", "parquet-wasm"},
    {"byte_stream_split_extended.gzip.parquet", 200, "flba5_byte_stream_split", "binary", "54a3585a961f8de7", "parquet-wasm"},
    {"byte_stream_split_extended.gzip.parquet", 200, "decimal_plain", "decimal(7,3)", "c99bd4e2f92fcd0b", "parquet-wasm"},
    {"byte_stream_split_extended.gzip.parquet", 200, "decimal_byte_stream_split", "decimal(7,3)", "c99bd4e2f92fcd0b", "parquet-wasm"},
    {"float16_nonzeros_and_nans.parquet", 8, "x", "float16", "a626eaa511f2c685", "parquet-wasm"},
    {"float16_zeros_and_nans.parquet", 3, "x", "float16", "0edb2fe510ae4aae", "parquet-wasm"},
    {"floating_orders_nan_count.parquet", 50, "float_ieee754", "float32", "5d3602b7268c08f9", "parquet-wasm"},
    {"floating_orders_nan_count.parquet", 50, "float_typedef", "float32", "5d3602b7268c08f9", "parquet-wasm"},
    {"floating_orders_nan_count.parquet", 50, "double_ieee754", "float64", "5d3602b7268c08f9", "parquet-wasm"},
    {"floating_orders_nan_count.parquet", 50, "double_typedef", "float64", "5d3602b7268c08f9", "parquet-wasm"},
    {"floating_orders_nan_count.parquet", 50, "float16_ieee754", "float16", "5d3602b7268c08f9", "parquet-wasm"},
    {"floating_orders_nan_count.parquet", 50, "float16_typedef", "float16", "5d3602b7268c08f9", "parquet-wasm"},
    {"crs-arbitrary-value.parquet", 1, "wkt", "string", "93c93265c2bd1db4", "parquet-wasm"},
    {"crs-arbitrary-value.parquet", 1, "geometry", "binary", "189e542d6d23dfe2", "parquet-wasm"},
    {"crs-default.parquet", 1, "wkt", "string", "1f893234efd1785f", "parquet-wasm"},
    {"crs-default.parquet", 1, "geometry", "binary", "9742a2355154c02f", "parquet-wasm"},
    {"crs-geography.parquet", 1, "wkt", "string", "1f893234efd1785f", "parquet-wasm"},
    {"crs-geography.parquet", 1, "geography", "binary", "9742a2355154c02f", "parquet-wasm"},
    {"crs-projjson.parquet", 1, "wkt", "string", "93c93265c2bd1db4", "parquet-wasm"},
    {"crs-projjson.parquet", 1, "geometry", "binary", "189e542d6d23dfe2", "parquet-wasm"},
    {"crs-srid.parquet", 1, "wkt", "string", "93c93265c2bd1db4", "parquet-wasm"},
    {"crs-srid.parquet", 1, "geometry", "binary", "189e542d6d23dfe2", "parquet-wasm"},
    {"geography-lines.parquet", 499, "id", "int64", "ef34b6763f1dfe39", "parquet-wasm"},
    {"geography-lines.parquet", 499, "geometry", "binary", "60ad302f2a4b42f6", "parquet-wasm"},
    {"geography-points.parquet", 500, "id", "int64", "a4d4be3459d557db", "parquet-wasm"},
    {"geography-points.parquet", 500, "geometry", "binary", "1e2736b46b5e00ab", "parquet-wasm"},
    {"geography-polygons.parquet", 500, "id", "int64", "6820b5386aa3039f", "parquet-wasm"},
    {"geography-polygons.parquet", 500, "geometry", "binary", "5558f75bd4b87438", "parquet-wasm"},
    {"geospatial-with-nan.parquet", 3, "group", "string", "5936813b1d9dc9a3", "parquet-wasm"},
    {"geospatial-with-nan.parquet", 3, "wkt", "string", "a3c2bfd2fd051db9", "parquet-wasm"},
    {"geospatial-with-nan.parquet", 3, "geometry", "binary", "b9e05d9fa57ff850", "parquet-wasm"},
    {"geospatial.parquet", 196, "group", "string", "ac1aa26e9d74c669", "parquet-wasm"},
    {"geospatial.parquet", 196, "wkt", "string", "3db9e6b3789fa3c2", "parquet-wasm"},
    {"geospatial.parquet", 196, "geometry", "binary", "444e6e2405c83a2b", "parquet-wasm"},
    {"int96_from_spark.parquet", 6, "a", "timestamp", "a03f1ef34169956b", "parquet-wasm"},
    {"map_no_value.parquet", 3, "my_map", "map<int32,int32>", "c3b79ed828618f4b", "parquet-wasm"},
    {"map_no_value.parquet", 3, "my_map_no_v", "list<int32>", "2842be3f4c620588", "parquet-wasm"},
    {"map_no_value.parquet", 3, "my_list", "list<int32>", "2842be3f4c620588", "parquet-wasm"},
    {"nation.dict-malformed.parquet", 25, "nation_key", "int32", "f2288fad473e22f1", "duckdb"},
    {"nation.dict-malformed.parquet", 25, "name", "binary", "df30a4881d9b7947", "duckdb"},
    {"nation.dict-malformed.parquet", 25, "region_key", "int32", "06a16a3de5a277ee", "duckdb"},
    {"nation.dict-malformed.parquet", 25, "comment_col", "binary", "1cceec0298f36722", "duckdb"},
};

/* `none` files we refuse, and why that is right (besides large_string_map, below): */
static const char *const REFUSED[] = {
    "(none)", /* every other `none` file is read */
};

#define GOLDEN_MAX (1 << 24)

static char *slurp(const char *path, size_t *n) {
  FILE *fp = fopen(path, "rb");
  if (!fp) fail_msg("cannot open %s", path);
  char *buf = malloc(GOLDEN_MAX);
  *n = fread(buf, 1, GOLDEN_MAX, fp);
  fclose(fp);
  return buf;
}

static void test_golden(void **state) {
  (void)state;
  char path[1024];
  snprintf(path, sizeof path, "%s/testdata/golden/parquet-testing-data.json", tu_shared_dir());
  size_t n;
  char *text = slurp(path, &n);
  jp j = {text, text + n};
  jv root;
  jvalue(&j, &root);
  const jv *files = jget(&root, "files");
  assert_non_null(files);
  int matched = 0, none_read = 0, none_refused = 0, total = 0;
  for (int i = 0; i < files->n; i++) {
    const char *key = files->keys[i];
    const jv *fv = &files->items[i];
    const char *agreement = jget(fv, "agreement")->str;
    char fpath[2048];
    snprintf(fpath, sizeof fpath, "%s/testdata/%s", tu_shared_dir(), key);
    const char *rel = strstr(key, "data/") ? strstr(key, "data/") + 5 : key;
    file_result *res = malloc(sizeof *res);
    total++;
    if (strcmp(agreement, "none") != 0) {
      /* batches of 1 (3 for big files) and of 997 rows: page, row-group and batch boundaries all fall
       * differently, and nested rows must never be split */
      read_file(fpath, (size_t)1 << 30, (int64_t)jget(fv, "rows")->num > 10000 ? 3 : 1, res);
      if (res->st) fail_msg("%s (small batches): %s", key, res->msg);
      const jv *cols3 = jget(fv, "columns");
      for (int c = 0; c < cols3->n && c < res->n; c++)
        if (strcmp(res->cols[c].checksum, jget(&cols3->items[c], "checksum")->str))
          fail_msg("%s column %s (small batches): %s, golden %s", key, res->cols[c].name,
                   res->cols[c].checksum, jget(&cols3->items[c], "checksum")->str);
      read_file(fpath, (size_t)1 << 30, 997, res);
      if (res->st) fail_msg("%s: %s", key, res->msg);
      const jv *cols = jget(fv, "columns");
      assert_int_equal(res->rows, (int64_t)jget(fv, "rows")->num);
      assert_int_equal(res->n, cols->n);
      for (int c = 0; c < cols->n; c++) {
        const jv *cv = &cols->items[c];
        if (strcmp(res->cols[c].name, jget(cv, "name")->str) ||
            strcmp(res->cols[c].type, jget(cv, "type")->str) ||
            strcmp(res->cols[c].checksum, jget(cv, "checksum")->str) ||
            res->cols[c].nulls != (int64_t)jget(cv, "nulls")->num)
          fail_msg("%s column %d: got %s %s %s nulls=%lld, golden %s %s %s nulls=%lld", key, c,
                   res->cols[c].name, res->cols[c].type, res->cols[c].checksum,
                   (long long)res->cols[c].nulls, jget(cv, "name")->str, jget(cv, "type")->str,
                   jget(cv, "checksum")->str, (long long)jget(cv, "nulls")->num);
      }
      matched++;
    } else if (strstr(rel, "large_string_map")) {
      /* 2 GiB of strings: within a 256 MiB budget this must be a clean PL_ELIMIT */
      read_file(fpath, (size_t)256 << 20, 0, res);
      expect_clean_error(res, fpath);
      assert_int_equal(res->st, PL_ELIMIT);
      assert_non_null(strstr(res->msg, "column 'arr"));
      none_refused++;
    } else {
      read_file(fpath, (size_t)1 << 30, 0, res);
      bool refused = false;
      for (size_t k = 0; k < sizeof REFUSED / sizeof REFUSED[0]; k++) refused |= !strcmp(base_name(rel), REFUSED[k]);
      if (refused) {
        expect_clean_error(res, fpath);
        none_refused++;
      } else {
        if (res->st) fail_msg("%s: %s", key, res->msg);
        int seen = 0;
        for (size_t k = 0; k < sizeof WASM / sizeof WASM[0]; k++) {
          if (strcmp(WASM[k].file, base_name(rel))) continue;
          assert_int_equal(res->rows, WASM[k].rows);
          bool found = false;
          for (int c = 0; c < res->n; c++) {
            if (strcmp(res->cols[c].name, WASM[k].name)) continue;
            found = true;
            if (strcmp(res->cols[c].type, WASM[k].type) || strcmp(res->cols[c].checksum, WASM[k].checksum))
              fail_msg("%s column %s: got %s %s, %s says %s %s", key, WASM[k].name,
                       res->cols[c].type, res->cols[c].checksum,
                       WASM[k].reader, WASM[k].type, WASM[k].checksum);
          }
          assert_true(found);
          seen++;
        }
        if (seen == 0 || seen != res->n) fail_msg("%s: no recorded agreement for %d columns", key, res->n);
        none_read++;
      }
    }
    free(res);
  }
  print_message("golden: %d of %d files; all/majority matched %d, none read %d (agree with parquet-wasm or DuckDB), none refused %d\n",
                total, files->n, matched, none_read, none_refused);
  assert_int_equal(total, 75);
  assert_int_equal(matched, 57);
  assert_int_equal(none_read + none_refused, 18);
  jfree(&root);
  free(text);
}

/* ------------------------------------------------------------------ bad data, encryption */
static void test_bad_data(void **state) {
  (void)state;
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/testdata/parquet-testing/bad_data", tu_shared_dir());
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    file_result *res = malloc(sizeof *res);
    read_file(path, (size_t)512 << 20, 0, res);
    if (!strcmp(e->d_name, "ARROW-GH-43605.parquet")) {
      /* read by DuckDB, hyparquet and arrow-rs alike; pqcheck's checksum */
      if (res->st) fail_msg("%s: %s", e->d_name, res->msg);
      assert_int_equal(res->rows, 21186);
      assert_string_equal(res->cols[0].type, "uint16");
      assert_string_equal(res->cols[0].checksum, "96a9187fb1b559b0");
    } else if (!strcmp(e->d_name, "ARROW-GH-45185.parquet") ||
               !strcmp(e->d_name, "ARROW-RS-GH-6229-LEVELS.parquet")) {
      /* DuckDB alone reads these; refusing is acceptable, reading must match DuckDB */
      if (res->st == PL_OK)
        assert_string_equal(res->cols[0].checksum, strstr(e->d_name, "45185") ? "f48ee7e6d26a03f4" : "b36dfc54c949bb51");
      else
        expect_clean_error(res, path);
    } else {
      expect_clean_error(res, path);
    }
    print_message("%s: %s\n", e->d_name, res->st ? res->msg : "read");
    free(res);
    n++;
  }
  closedir(d);
  assert_true(n >= 8);
}

static void test_encrypted(void **state) {
  (void)state;
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/testdata/parquet-testing/data", tu_shared_dir());
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *e;
  int n = 0;
  while ((e = readdir(d))) {
    size_t len = strlen(e->d_name);
    if (len < 10 || strcmp(e->d_name + len - 10, ".encrypted")) continue;
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    file_result *res = malloc(sizeof *res);
    read_file(path, (size_t)256 << 20, 0, res);
    expect_clean_error(res, path);
    assert_int_equal(res->st, PL_EUNSUPPORTED);
    assert_non_null(strstr(res->msg, "encrypted"));
    free(res);
    n++;
  }
  closedir(d);
  assert_int_equal(n, 8);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_golden),
      cmocka_unit_test(test_bad_data),
      cmocka_unit_test(test_encrypted),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_cli.c — the `praline` program end to end: usage errors and exit codes, help and version,
 * `generate laion` (determinism, id ranges, rates read back with the reader), `generate seed`,
 * `inspect` (footer, errors) and `inspect --checksum --json` against ../shared/tools/pqcheck,
 * and `cat` in every format. The CLI is tu_praline_bin(); the tests run from the repo root. */
#include "test_util.h"

#include "praline/parquet.h"

#include <sys/stat.h>
#include <unistd.h>

static char *g_dir;     /* a laion dataset shared by the tests: 20000 rows, 3 files, seed 7 */
static const char *bin; /* the CLI */

/* Runs the CLI with arguments (a shell fragment); captures stdout (or stderr when `err`). */
static int cli(char **out, bool err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int cli(char **out, bool err, const char *fmt, ...) {
  char args[4096];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  return tu_run(out, err ? "%s %s 2>&1 >/dev/null" : "%s %s 2>/dev/null", bin, args);
}

static bool files_equal(const char *a, const char *b) {
  return tu_run(NULL, "cmp -s '%s' '%s'", a, b) == 0;
}

static bool have_node(void) { return tu_run(NULL, "command -v node >/dev/null 2>&1") == 0; }

static int setup(void **state) {
  (void)state;
  bin = tu_praline_bin();
  g_dir = tu_mkdtemp("cli");
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s generate laion --rows 20000 --files 3 --seed 7 --out %s/a >/dev/null", bin, g_dir);
  return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  tu_rmrf(g_dir);
  pl_free(g_dir);
  return 0;
}

/* ------------------------------------------------------------------ usage */
static void expect_usage(const char *args, const char *message) {
  char *out;
  int rc = cli(&out, true, "%s", args);
  if (rc != 2 || !strstr(out, message))
    fail_msg("praline %s: exit %d, stderr '%s' (wanted exit 2 and '%s')", args, rc, out, message);
  /* one line, starting with "praline: " */
  assert_true(strncmp(out, "praline: ", 9) == 0);
  assert_non_null(strchr(out, '\n'));
  assert_null(strchr(strchr(out, '\n') + 1, '\n'));
  free(out);
}

static void test_usage_errors(void **state) {
  (void)state;
  assert_int_equal(cli(NULL, true, "%s", ""), 2);
  expect_usage("frobnicate", "unknown command 'frobnicate'");
  expect_usage("--frob", "unknown option '--frob'");
  expect_usage("generate laion --rows abc --files 1 --out /tmp/x",
               "praline: generate: --rows: 'abc' is not a number");
  expect_usage("generate laion --rows 10 --files 0 --out /tmp/x", "--files: 0 is out of range");
  expect_usage("generate laion --files 1 --out /tmp/x", "--rows N is required");
  expect_usage("generate laion --rows 10 --files 1", "--out DIR is required");
  expect_usage("generate laion --rows 10 --files 1 --out /tmp/x --codec nope", "--codec");
  expect_usage("generate laion --rows 10 --files 1 --out /tmp/x --bogus 1", "unknown option '--bogus'");
  expect_usage("generate laion --rows", "--rows: missing value");
  expect_usage("generate laion --rows 10 --files 1 --out /tmp/x --seed 0x10", "--seed: '0x10' is not a number");
  expect_usage("generate pets --out /tmp/x", "unknown dataset 'pets'");
  expect_usage("generate seed --out /tmp/x --value-bytes 12Q", "--value-bytes");
  expect_usage("inspect", "missing FILE");
  expect_usage("inspect a.parquet b.parquet", "one FILE at a time");
  expect_usage("inspect a.parquet --threads 0", "--threads: 0 is out of range");
  expect_usage("inspect a.parquet --memory-limit lots", "--memory-limit");
  expect_usage("cat", "missing FILE_OR_DIR");
  expect_usage("cat x.parquet --format xml", "--format: 'xml' is not a format");
  expect_usage("cat x.parquet --limit -3", "--limit");
}

static void test_help_and_version(void **state) {
  (void)state;
  char *out;
  assert_int_equal(cli(&out, false, "--help"), 0);
  assert_non_null(strstr(out, "usage: praline COMMAND"));
  assert_non_null(strstr(out, "generate"));
  assert_non_null(strstr(out, "inspect"));
  assert_non_null(strstr(out, "cat"));
  free(out);
  const char *cmds[] = {"generate", "inspect", "cat"};
  for (int i = 0; i < 3; i++) {
    assert_int_equal(cli(&out, false, "%s --help", cmds[i]), 0);
    char want[64];
    snprintf(want, sizeof want, "usage: praline %s", cmds[i]);
    assert_non_null(strstr(out, want));
    free(out);
  }
  assert_int_equal(cli(&out, false, "cat --help"), 0);
  assert_non_null(strstr(out, "--memory-limit"));
  free(out);
  assert_int_equal(cli(&out, false, "--version"), 0);
  char want[128];
  snprintf(want, sizeof want, "%s\n", pl_version_full());
  assert_string_equal(out, want);
  free(out);
}

/* ------------------------------------------------------------------ generate laion */
static void test_generate_deterministic(void **state) {
  (void)state;
  char *out;
  /* same seed, one thread instead of several: identical bytes */
  assert_int_equal(cli(&out, false, "generate laion --rows 20000 --files 3 --seed 7 --threads 1 --out %s/b", g_dir), 0);
  assert_non_null(strstr(out, "20000 rows in 3 files"));
  free(out);
  assert_int_equal(cli(NULL, false, "generate laion --rows 20000 --files 3 --seed 8 --out %s/c", g_dir), 0);
  for (int i = 0; i < 3; i++) {
    char a[1024], b[1024], c[1024];
    snprintf(a, sizeof a, "%s/a/part-%05d.parquet", g_dir, i);
    snprintf(b, sizeof b, "%s/b/part-%05d.parquet", g_dir, i);
    snprintf(c, sizeof c, "%s/c/part-%05d.parquet", g_dir, i);
    assert_true(files_equal(a, b));
    assert_false(files_equal(a, c));
  }
  char extra[1024];
  snprintf(extra, sizeof extra, "%s/a/part-00003.parquet", g_dir);
  assert_int_equal(access(extra, F_OK), -1);
  /* a smaller rerun into the same directory leaves exactly its own files */
  assert_int_equal(cli(NULL, false, "generate laion --rows 100 --files 1 --seed 8 --out %s/c", g_dir), 0);
  snprintf(extra, sizeof extra, "%s/c/part-00001.parquet", g_dir);
  assert_int_equal(access(extra, F_OK), -1);
}

typedef struct laion_stats {
  int64_t rows, null_captions, small_heights, bad_url_len, bad_words, bad_nsfw;
  char **urls;
  int64_t n_urls;
} laion_stats;

static int64_t words(const uint8_t *p, int64_t n) {
  int64_t w = n > 0;
  for (int64_t i = 0; i < n; i++) w += p[i] == ' ';
  return w;
}

/* Reads one file with the reader; checks ids are first..first+n-1 in order. */
static void read_laion_file(const char *path, int64_t first, int64_t n, laion_stats *s) {
  pl_error err = {0};
  pl_budget *b = pl_budget_new(PL_UNLIMITED);
  pl_parquet_file *f = pl_parquet_open(path, NULL, b, &err);
  if (!f) fail_msg("%s", err.msg);
  const pl_schema *sch = pl_parquet_schema(f);
  const char *names[] = {"id", "url", "caption", "width", "height", "similarity", "nsfw", "language"};
  assert_int_equal(sch->n_fields, 8);
  for (int i = 0; i < 8; i++) assert_string_equal(sch->fields[i].name, names[i]);
  pl_parquet_reader *r = pl_parquet_reader_new(f, NULL, b, &err);
  if (!r) fail_msg("%s", err.msg);
  int64_t expect = first;
  for (;;) {
    pl_batch *batch = NULL;
    if (pl_parquet_reader_next(r, &batch, &err) != PL_OK) fail_msg("%s", err.msg);
    if (!batch) break;
    const pl_column *id = batch->columns[0], *url = batch->columns[1], *cap = batch->columns[2],
                    *h = batch->columns[4], *nsfw = batch->columns[6], *sim = batch->columns[5];
    for (int64_t i = 0; i < batch->length; i++) {
      assert_int_equal(((const int64_t *)id->values.data)[i], expect);
      expect++;
      const int64_t *uo = pl_column_offsets(url);
      int64_t ul = uo[i + 1] - uo[i];
      if (ul < 60 || ul > 120) s->bad_url_len++;
      s->urls[s->n_urls++] = pl_strndup((const char *)url->values.data + uo[i], (size_t)ul);
      if (!pl_column_is_valid(cap, i)) {
        s->null_captions++;
      } else {
        const int64_t *co = pl_column_offsets(cap);
        int64_t w = words(cap->values.data + co[i], co[i + 1] - co[i]);
        if (w < 5 || w > 60) s->bad_words++;
      }
      if (((const int32_t *)h->values.data)[i] < 256) s->small_heights++;
      const int64_t *no = pl_column_offsets(nsfw);
      const char *nv = (const char *)nsfw->values.data + no[i];
      size_t nl = (size_t)(no[i + 1] - no[i]);
      if (!((nl == 8 && !memcmp(nv, "UNLIKELY", 8)) || (nl == 6 && !memcmp(nv, "UNSURE", 6)) ||
            (nl == 4 && !memcmp(nv, "NSFW", 4))))
        s->bad_nsfw++;
      double sv = ((const double *)sim->values.data)[i];
      assert_true(sv > 0.2 && sv < 0.5);
    }
    s->rows += batch->length;
    pl_batch_free(batch);
  }
  assert_int_equal(expect, first + n);
  pl_parquet_reader_free(r);
  pl_parquet_close(f);
  pl_budget_free(b);
}

static int cmp_strp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void test_generate_contents(void **state) {
  (void)state;
  laion_stats s = {0};
  s.urls = pl_calloc(20000, sizeof *s.urls);
  int64_t starts[] = {0, 6666, 13333, 20000};
  for (int i = 0; i < 3; i++) {
    char p[1024];
    snprintf(p, sizeof p, "%s/a/part-%05d.parquet", g_dir, i);
    read_laion_file(p, starts[i], starts[i + 1] - starts[i], &s);
  }
  assert_int_equal(s.rows, 20000);
  assert_int_equal(s.bad_url_len, 0);
  assert_int_equal(s.bad_words, 0);
  assert_int_equal(s.bad_nsfw, 0);
  /* rates: 1% null captions, 20% small heights, 2% duplicate urls (binomial, n = 20000) */
  assert_in_range(s.null_captions, 120, 290);
  assert_in_range(s.small_heights, 3700, 4300);
  qsort(s.urls, (size_t)s.n_urls, sizeof *s.urls, cmp_strp);
  int64_t dups = 0;
  for (int64_t i = 1; i < s.n_urls; i++) dups += strcmp(s.urls[i], s.urls[i - 1]) == 0;
  assert_in_range(dups, 300, 520);
  for (int64_t i = 0; i < s.n_urls; i++) pl_free(s.urls[i]);
  pl_free(s.urls);
}

static void test_generate_seed(void **state) {
  (void)state;
  char *out;
  assert_int_equal(cli(&out, false, "generate seed --partitions 2 --rows-per-partition 3 --value-bytes 5000 --out %s/seed", g_dir), 0);
  free(out);
  char **vals = pl_calloc(6, sizeof *vals);
  int nv = 0;
  for (int p = 0; p < 2; p++) {
    char path[1024];
    snprintf(path, sizeof path, "%s/seed/part-%05d.parquet", g_dir, p);
    pl_error err = {0};
    pl_parquet_file *f = pl_parquet_open(path, NULL, NULL, &err);
    if (!f) fail_msg("%s", err.msg);
    pl_parquet_reader *r = pl_parquet_reader_new(f, NULL, NULL, &err);
    if (!r) fail_msg("%s", err.msg);
    pl_batch *b;
    while (pl_parquet_reader_next(r, &b, &err) == PL_OK && b) {
      for (int64_t i = 0; i < b->length; i++) {
        assert_int_equal(((const int64_t *)b->columns[0]->values.data)[i], nv);
        const int64_t *o = pl_column_offsets(b->columns[1]);
        assert_int_equal(o[i + 1] - o[i], 5000);
        vals[nv++] = pl_strndup((const char *)b->columns[1]->values.data + o[i], 5000);
      }
      pl_batch_free(b);
    }
    pl_parquet_reader_free(r);
    pl_parquet_close(f);
  }
  assert_int_equal(nv, 6);
  for (int i = 0; i < 6; i++)
    for (int j = i + 1; j < 6; j++) assert_string_not_equal(vals[i], vals[j]);
  for (int i = 0; i < 6; i++) pl_free(vals[i]);
  pl_free(vals);
}

/* A value bigger than --memory-limit fails cleanly (exit 1, file and column named); with
 * room it is read. */
static void test_memory_limit(void **state) {
  (void)state;
  assert_int_equal(cli(NULL, false, "generate seed --partitions 1 --rows-per-partition 2 --value-bytes 4MiB --out %s/big", g_dir), 0);
  char *out;
  assert_int_equal(cli(&out, true, "cat %s/big --format null --memory-limit 2MiB", g_dir), 1);
  assert_non_null(strstr(out, "part-00000.parquet"));
  assert_non_null(strstr(out, "'value'"));
  free(out);
  assert_int_equal(cli(&out, true, "inspect %s/big/part-00000.parquet --checksum --memory-limit 2MiB", g_dir), 1);
  assert_non_null(strstr(out, "part-00000.parquet"));
  free(out);
  assert_int_equal(cli(&out, true, "cat %s/big --format null --memory-limit 64MiB --stats", g_dir), 0);
  assert_non_null(strstr(out, "2 rows from 1 file"));
  free(out);
}

/* A file-size limit (ulimit -f) is a clear error naming the file (exit 1), not a SIGXFSZ
 * kill, and leaves no temporary file. */
static void test_file_size_limit(void **state) {
  (void)state;
  char *out;
  int rc = tu_run(&out, "(ulimit -f 64; %s generate laion --rows 50000 --files 1 --out %s/fsz) 2>&1 >/dev/null", bin,
                  g_dir);
  assert_int_equal(rc, 1);
  const char *at = strstr(out, "fsz/part-00000.parquet");
  assert_non_null(at);
  assert_null(strstr(at + 1, "fsz/part-00000.parquet")); /* named once */
  assert_non_null(strstr(out, "File too large"));
  free(out);
  assert_int_equal(tu_run(&out, "ls -A %s/fsz | wc -l", g_dir), 0);
  assert_int_equal(atoi(out), 0);
  free(out);
}

static void test_generate_row_groups(void **state) {
  (void)state;
  assert_int_equal(cli(NULL, false, "generate laion --rows 5000 --files 1 --row-group-rows 1000 --codec snappy --out %s/rg", g_dir), 0);
  char *out;
  assert_int_equal(cli(&out, false, "inspect %s/rg/part-00000.parquet", g_dir), 0);
  assert_non_null(strstr(out, "row groups: 5"));
  assert_non_null(strstr(out, "SNAPPY"));
  assert_null(strstr(out, "row group 5:"));
  free(out);
  /* --format null splits a file's row groups across threads: each read exactly once */
  for (int th = 1; th <= 9; th += 2) { /* 3, 5, 7, 9: repeated, the hand-out order varies */
    assert_int_equal(cli(&out, true, "cat %s/rg/part-00000.parquet --format null --threads %d --stats", g_dir, th), 0);
    if (!strstr(out, "5000 rows from 1 file")) fail_msg("--threads %d: %s", th, out);
    free(out);
    assert_int_equal(cli(&out, true, "cat %s/rg %s/a --columns width --format null --threads %d --stats", g_dir, g_dir, th), 0);
    if (!strstr(out, "25000 rows from 4 files")) fail_msg("--threads %d: %s", th, out);
    free(out);
  }
  /* a broken file among good ones: the parallel path stops with one line naming it */
  char path[1024];
  snprintf(path, sizeof path, "%s/rg/part-00001.parquet", g_dir);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs("PAR1 not really a parquet file PAR1", f);
  fclose(f);
  assert_int_equal(cli(&out, true, "cat %s/rg --format null --threads 2", g_dir), 1);
  assert_non_null(strstr(out, "part-00001.parquet"));
  assert_null(strchr(strchr(out, '\n') + 1, '\n'));
  free(out);
  unlink(path);
}

/* ------------------------------------------------------------------ inspect */
static void test_inspect_footer(void **state) {
  (void)state;
  char *out;
  assert_int_equal(cli(&out, false, "inspect %s/a/part-00001.parquet", g_dir), 0);
  assert_non_null(strstr(out, "rows: 6667"));
  assert_non_null(strstr(out, "columns: id:int64, url:string, caption:string, width:int32, height:int32, similarity:float64, nsfw:string, language:string"));
  assert_non_null(strstr(out, "ZSTD"));
  assert_non_null(strstr(out, "min 6666")); /* id statistics, decoded */
  assert_non_null(strstr(out, "max 13332"));
  free(out);
  assert_int_equal(cli(&out, false, "inspect %s/a/part-00001.parquet --json", g_dir), 0);
  assert_non_null(strstr(out, "\"num_rows\": 6667"));
  assert_non_null(strstr(out, "\"codec\": \"ZSTD\""));
  assert_non_null(strstr(out, "\"min\": 6666"));
  free(out);
  if (have_node()) { /* the JSON parses */
    assert_int_equal(tu_run(NULL, "%s inspect %s/a/part-00001.parquet --json | node -e "
                                  "'JSON.parse(require(\"fs\").readFileSync(0,\"utf8\"))'", bin, g_dir), 0);
  }
}

static void test_inspect_errors(void **state) {
  (void)state;
  char *out, path[1024];
  assert_int_equal(cli(&out, true, "inspect %s/missing.parquet", g_dir), 1);
  assert_non_null(strstr(out, "missing.parquet"));
  free(out);
  snprintf(path, sizeof path, "%s/garbage.parquet", g_dir);
  FILE *f = fopen(path, "wb");
  assert_non_null(f);
  fputs("this is not a parquet file at all, not even close", f);
  fclose(f);
  assert_int_equal(cli(&out, true, "inspect %s", path), 1);
  assert_non_null(strstr(out, "garbage.parquet"));
  assert_null(strchr(strchr(out, '\n') + 1, '\n')); /* one line */
  free(out);
  assert_int_equal(cli(&out, true, "inspect %s --checksum --json", path), 1);
  assert_non_null(strstr(out, "garbage.parquet"));
  free(out);
  assert_int_equal(cli(&out, true, "inspect %s/a", g_dir), 1);
  assert_non_null(strstr(out, "is a directory"));
  free(out);
  unlink(path);
}

/* The footer view needs only the Thrift footer: files whose schema or columns the reader
 * refuses still show it (exit 0) with the reason; --checksum, which reads, still fails. */
static void test_inspect_refused_schema(void **state) {
  (void)state;
  char *out, bad[1024], enc[1024], pare[1024];
  snprintf(bad, sizeof bad, "%s/testdata/parquet-testing/bad_data/PARQUET-1481.parquet", tu_shared_dir());
  snprintf(enc, sizeof enc, "%s/testdata/parquet-testing/data/encrypt_columns_plaintext_footer.parquet.encrypted",
           tu_shared_dir());
  snprintf(pare, sizeof pare, "%s/testdata/parquet-testing/data/uniform_encryption.parquet.encrypted", tu_shared_dir());
  if (access(bad, R_OK) != 0 || access(enc, R_OK) != 0 || access(pare, R_OK) != 0) skip();
  /* an unknown physical type: the footer decodes, the schema cannot be mapped */
  assert_int_equal(cli(&out, false, "inspect %s", bad), 0);
  assert_non_null(strstr(out, "created by: parquet-cpp version 1.4.0"));
  assert_non_null(strstr(out, "rows: 34, row groups: 1"));
  assert_non_null(strstr(out, "reader: cannot read this file:"));
  assert_non_null(strstr(out, "unknown physical type -7"));
  assert_non_null(strstr(out, "Handle: physical type -7 optional"));
  assert_non_null(strstr(out, "row group 0: 34 rows"));
  assert_null(strstr(out, "columns:"));
  free(out);
  assert_int_equal(cli(&out, false, "inspect %s --json", bad), 0);
  assert_non_null(strstr(out, "\"num_rows\": 34"));
  assert_non_null(strstr(out, "\"reader_error\": \""));
  free(out);
  if (have_node())
    assert_int_equal(tu_run(NULL, "%s inspect %s --json | node -e "
                                  "'JSON.parse(require(\"fs\").readFileSync(0,\"utf8\"))'", bin, bad), 0);
  assert_int_equal(cli(&out, true, "inspect %s --checksum", bad), 1);
  assert_non_null(strstr(out, "PARQUET-1481.parquet: column 'Handle': unknown physical type -7"));
  assert_null(strchr(strchr(out, '\n') + 1, '\n')); /* one line */
  free(out);
  /* encrypted columns under a plaintext footer: the footer shows, the reason is encryption */
  assert_int_equal(cli(&out, false, "inspect %s", enc), 0);
  assert_non_null(strstr(out, "rows: 50"));
  assert_non_null(strstr(out, "int32_field: INT32"));
  assert_non_null(strstr(out, "reader: cannot read this file:"));
  assert_non_null(strstr(out, "encrypted"));
  free(out);
  assert_int_equal(cli(&out, true, "inspect %s --checksum", enc), 1);
  assert_non_null(strstr(out, "encrypted"));
  free(out);
  /* an encrypted footer (PARE) cannot be shown at all */
  assert_int_equal(cli(&out, true, "inspect %s", pare), 1);
  assert_non_null(strstr(out, "uniform_encryption.parquet.encrypted"));
  assert_non_null(strstr(out, "encrypted"));
  free(out);
  /* a readable file says so in JSON */
  assert_int_equal(cli(&out, false, "inspect %s/a/part-00000.parquet --json", g_dir), 0);
  assert_non_null(strstr(out, "\"reader_error\": null"));
  free(out);
}

/* praline's checksums must equal pqcheck's (three outside readers) on every generated file. */
static void test_checksum_matches_pqcheck(void **state) {
  (void)state;
  if (!have_node()) skip();
  char pq[1024];
  snprintf(pq, sizeof pq, "%s/tools/pqcheck", tu_shared_dir());
  if (access(pq, X_OK) != 0) skip();
  assert_int_equal(tu_run(NULL, "%s %s/a --json > %s/pqcheck.json", pq, g_dir, g_dir), 0);
  for (int i = 0; i < 3; i++) {
    char *out;
    assert_int_equal(cli(&out, false, "inspect %s/a/part-%05d.parquet --checksum --json --threads 2 "
                                      "--memory-limit 256MB > %s/praline-%d.json", g_dir, i, g_dir, i), 0);
    free(out);
    /* compare rows, file checksum and per column name/type/checksum/nulls with node */
    int rc = tu_run(&out,
                    "node -e '"
                    "const fs=require(\"fs\");"
                    "const a=JSON.parse(fs.readFileSync(process.argv[1],\"utf8\"));"
                    "const f=JSON.parse(fs.readFileSync(process.argv[2],\"utf8\")).files[%d];"
                    "const pick=c=>c.map(x=>[x.name,x.type,x.checksum,x.nulls].join(\" \")).join(\"; \");"
                    "const ok=f.ok&&a.rows===f.rows&&a.checksum===f.checksum&&pick(a.columns)===pick(f.columns);"
                    "if(!ok){console.log(JSON.stringify(a),JSON.stringify({ok:f.ok,rows:f.rows,checksum:f.checksum,"
                    "columns:f.columns,problems:f.problems}));process.exit(1)}' %s/praline-%d.json %s/pqcheck.json",
                    i, g_dir, i, g_dir);
    if (rc != 0) fail_msg("file %d differs from pqcheck: %s", i, out);
    free(out);
  }
  /* text form prints the same file checksum */
  char *txt, *js;
  assert_int_equal(cli(&txt, false, "inspect %s/a/part-00000.parquet --checksum", g_dir), 0);
  assert_int_equal(cli(&js, false, "inspect %s/a/part-00000.parquet --checksum --json --threads 1", g_dir), 0);
  const char *k = strstr(js, "\"checksum\": \"");
  assert_non_null(k);
  char want[40];
  snprintf(want, sizeof want, "checksum: %.16s", k + 13);
  assert_non_null(strstr(txt, want));
  free(txt);
  free(js);
}

/* ------------------------------------------------------------------ cat */
static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

static void test_cat(void **state) {
  (void)state;
  char *out;
  assert_int_equal(cli(&out, false, "cat %s/a/part-00000.parquet --limit 3 --format jsonl", g_dir), 0);
  assert_int_equal(count_lines(out), 3);
  assert_true(strncmp(out, "{\"id\":0,\"url\":\"https://", 23) == 0);
  assert_non_null(strstr(out, "\n{\"id\":2,"));
  free(out);
  assert_int_equal(cli(&out, false, "cat %s/a/part-00001.parquet --columns width,id --format csv --limit 2", g_dir), 0);
  assert_int_equal(count_lines(out), 3);
  assert_true(strncmp(out, "width,id\n", 9) == 0);
  assert_non_null(strstr(out, ",6666\n"));
  assert_non_null(strstr(out, ",6667\n"));
  free(out);
  /* a directory: files in name order, the limit spans files */
  assert_int_equal(cli(&out, false, "cat %s/a --columns id --format csv --limit 6670", g_dir), 0);
  assert_int_equal(count_lines(out), 6671);
  assert_non_null(strstr(out, "\n6669\n"));
  free(out);
  assert_int_equal(cli(&out, false, "cat %s/a --format null --memory-limit 64MB", g_dir), 0);
  assert_string_equal(out, "");
  free(out);
  assert_int_equal(cli(&out, true, "cat %s/a --format null --stats", g_dir), 0);
  assert_non_null(strstr(out, "20000 rows from 3 files"));
  free(out);
  assert_int_equal(cli(&out, false, "cat %s/a/part-00002.parquet --limit 5", g_dir), 0);
  assert_true(strncmp(out, "id    | url", 11) == 0);
  assert_int_equal(count_lines(out), 7);
  free(out);
  assert_int_equal(cli(&out, true, "cat %s/a --columns id,nope", g_dir), 1);
  assert_non_null(strstr(out, "no column 'nope'"));
  assert_non_null(strstr(out, "part-00000.parquet"));
  free(out);
  /* the parallel path (null format, several files) reports one error, one line */
  assert_int_equal(cli(&out, true, "cat %s/a --columns id,nope --format null --threads 3", g_dir), 1);
  assert_non_null(strstr(out, "no column 'nope'"));
  assert_null(strchr(strchr(out, '\n') + 1, '\n'));
  free(out);
  assert_int_equal(cli(&out, true, "cat %s/a --format null --threads 1 --stats", g_dir), 0);
  assert_non_null(strstr(out, "20000 rows from 3 files"));
  free(out);
  assert_int_equal(cli(&out, true, "cat %s/none", g_dir), 1);
  assert_non_null(strstr(out, "none"));
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_usage_errors),
      cmocka_unit_test(test_help_and_version),
      cmocka_unit_test(test_generate_deterministic),
      cmocka_unit_test(test_generate_contents),
      cmocka_unit_test(test_generate_seed),
      cmocka_unit_test(test_generate_row_groups),
      cmocka_unit_test(test_memory_limit),
      cmocka_unit_test(test_file_size_limit),
      cmocka_unit_test(test_inspect_footer),
      cmocka_unit_test(test_inspect_errors),
      cmocka_unit_test(test_inspect_refused_schema),
      cmocka_unit_test(test_checksum_matches_pqcheck),
      cmocka_unit_test(test_cat),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

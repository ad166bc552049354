/* test_engine_memory.c — the engine's memory contract: on data larger than the limit, the
 * peak RSS of a release-built child (its own getrusage, as ASan inflates RSS) stays under
 * --memory-limit, with 1, 2 (laion) and 4 workers, and also when the writers are slowed down
 * (back-pressure); and W2 (dedup) both when its keys go to disk and when they fit in memory.
 * Needs build/seed-oom, build/bench-w2a, build/bench-w2 and build/praline (release); set
 * PRALINE_SEED_OOM / PRALINE_BENCH_W2A / PRALINE_BENCH_W2 / PRALINE_RELEASE_BIN to use others. */
#include <sys/stat.h>
#include <unistd.h>

#include "test_util.h"

static const char *bin_or(const char *env, const char *dflt) {
  const char *b = getenv(env);
  return b && *b ? b : dflt;
}

static uint64_t json_u64(const char *line, const char *key) {
  char k[64];
  snprintf(k, sizeof k, "\"%s\":", key);
  const char *p = strstr(line, k);
  assert_non_null(p);
  return strtoull(p + strlen(k), NULL, 10);
}

/* Runs a command whose last stdout line is the report JSON. Linux keeps the pre-exec
 * high-water mark in ru_maxrss across exec, and a fork of this ASan process starts at its
 * RSS; so the child is forked by a small shell (the pipeline makes it fork) and reports its
 * own peak. Returns the malloc'd line. */
static char *run_json(const char *cmd) {
  char *line = NULL;
  int rc = tu_run(&line, "%s | tail -1", cmd);
  if (rc != 0 || !strchr(line, '{')) fprintf(stderr, "command failed (%d): %s\n%s\n", rc, cmd, line);
  assert_int_equal(rc, 0);
  assert_non_null(strchr(line, '{'));
  return line;
}

static void need(const char *bin) {
  if (access(bin, X_OK) != 0) {
    fprintf(stderr, "skipped: no release binary %s (make all build/seed-oom build/bench-w2a)\n", bin);
    skip();
  }
}

/* seed-oom shape, 768 MiB of 1 MiB values through a 64MB limit. */
static void test_seed_contract(void **state) {
  (void)state;
  const char *bin = bin_or("PRALINE_SEED_OOM", "build/seed-oom");
  need(bin);
  char *d = tu_mkdtemp("engmem-seed");
  int workers[] = {1, 4};
  for (int i = 0; i < 2; i++) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "'%s' --out '%s/w%d' --memory-limit 64MB --workers %d --partitions 24 --rows 32 "
             "--value-bytes 1MiB --codec lz4_raw",
             bin, d, workers[i], workers[i]);
    char *line = run_json(cmd);
    uint64_t rss = json_u64(line, "peak_rss_bytes");
    fprintf(stderr, "seed, workers %d: peak RSS %llu bytes (limit 64000000)\n", workers[i],
            (unsigned long long)rss);
    assert_int_equal(json_u64(line, "rows_out"), 24 * 32);
    assert_true(rss <= 64000000u);
    free(line);
  }
  tu_rmrf(d);
  pl_free(d);
}

/* A new temporary directory holding in/: 1M generated laion rows in 4 files (seed 7). */
static char *laion_input(const char *pra, const char *tag) {
  need(pra);
  char *d = tu_mkdtemp(tag);
  char *out = NULL;
  assert_int_equal(tu_run(&out, "'%s' generate laion --rows 1000000 --files 4 --row-group-rows 65536 "
                                "--out '%s/in' --seed 7 2>&1", pra, d), 0);
  free(out);
  return d;
}

/* W2a over 1M generated laion rows (about 230 MB in memory) under a 64MB limit. */
static void test_laion_contract(void **state) {
  (void)state;
  const char *w2a = bin_or("PRALINE_BENCH_W2A", "build/bench-w2a");
  const char *pra = bin_or("PRALINE_RELEASE_BIN", "build/praline");
  need(w2a);
  char *d = laion_input(pra, "engmem-laion");
  int workers[] = {1, 2, 4};
  uint64_t rows = 0;
  for (int i = 0; i < 3; i++) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "'%s' --input '%s/in' --out '%s/w%d' --memory-limit 64MB --workers %d "
             "--partition-size 16MB",
             w2a, d, d, workers[i], workers[i]);
    char *line = run_json(cmd);
    uint64_t rss = json_u64(line, "peak_rss_bytes");
    fprintf(stderr, "laion w2a, workers %d: peak RSS %llu bytes (limit 64000000), rows out %llu\n",
            workers[i], (unsigned long long)rss, (unsigned long long)json_u64(line, "rows_out"));
    assert_true(rss <= 64000000u);
    assert_int_equal(json_u64(line, "rows_in"), 1000000);
    if (i == 0) rows = json_u64(line, "rows_out");
    assert_int_equal(json_u64(line, "rows_out"), rows);
    free(line);
  }
  assert_true(rows > 0 && rows < 1000000);
  /* the same files whatever the number of workers */
  assert_int_equal(tu_run(NULL, "diff -r --exclude=_journal '%s/w1' '%s/w4' >&2", d, d), 0);
  /* slowed writers: workers wait (back-pressure), memory still holds, the run completes */
  char cmd[2048];
  snprintf(cmd, sizeof cmd,
           "'%s' --input '%s/in' --out '%s/slow' --memory-limit 64MB --workers 4 "
           "--partition-size 8MB --writer-threads 1 --test-writer-delay-ms 150",
           w2a, d, d);
  char *line = run_json(cmd);
  uint64_t rss = json_u64(line, "peak_rss_bytes");
  fprintf(stderr, "laion w2a, slowed writer: peak RSS %llu, back-pressure waits %llu, admission waits %llu\n",
          (unsigned long long)rss, (unsigned long long)json_u64(line, "backpressure_waits"),
          (unsigned long long)json_u64(line, "admission_waits"));
  assert_true(rss <= 64000000u);
  assert_int_equal(json_u64(line, "rows_out"), rows);
  assert_true(json_u64(line, "backpressure_waits") + json_u64(line, "admission_waits") > 0);
  free(line);
  tu_rmrf(d);
  pl_free(d);
}

/* W2 over 1M generated laion rows: at 64MB the url keys (~120 MB) go to disk and RSS stays
 * under the limit, with the same files for 1 and 2 workers; at 512MB they stay in memory
 * (nothing spilled) and the export holds the same rows, in the same order. */
static void test_laion_dedup_contract(void **state) {
  (void)state;
  const char *w2 = bin_or("PRALINE_BENCH_W2", "build/bench-w2");
  const char *pra = bin_or("PRALINE_RELEASE_BIN", "build/praline");
  need(w2);
  char *d = laion_input(pra, "engmem-dedup");
  struct {
    const char *limit;
    uint64_t bytes;
    int workers;
  } runs[] = {{"64MB", 64000000u, 1}, {"64MB", 64000000u, 2}, {"512MB", 512000000u, 2}};
  uint64_t rows = 0;
  for (int i = 0; i < 3; i++) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "'%s' --input '%s/in' --out '%s/r%d' --memory-limit %s --workers %d --partition-size 16MB",
             w2, d, d, i, runs[i].limit, runs[i].workers);
    char *line = run_json(cmd);
    uint64_t rss = json_u64(line, "peak_rss_bytes"), spilled = json_u64(line, "spilled_bytes");
    fprintf(stderr, "laion w2 %s, workers %d: peak RSS %llu, spilled %llu, rows out %llu\n",
            runs[i].limit, runs[i].workers, (unsigned long long)rss, (unsigned long long)spilled,
            (unsigned long long)json_u64(line, "rows_out"));
    assert_true(rss <= runs[i].bytes);
    if (runs[i].bytes == 64000000u) assert_true(spilled > 64000000u); /* more keys than memory */
    else assert_int_equal(spilled, 0);
    if (i == 0) rows = json_u64(line, "rows_out");
    assert_int_equal(json_u64(line, "rows_out"), rows);
    free(line);
  }
  assert_true(rows > 0 && rows < 1000000);
  assert_int_equal(tu_run(NULL, "diff -r --exclude=_journal --exclude=_spill '%s/r0' '%s/r1' >&2", d, d), 0);
  char *a = NULL, *b = NULL;
  assert_int_equal(tu_run(&a, "'%s' cat --format csv '%s/r0/export' | md5sum", pra, d), 0);
  assert_int_equal(tu_run(&b, "'%s' cat --format csv '%s/r2/export' | md5sum", pra, d), 0);
  assert_string_equal(a, b);
  free(a);
  free(b);
  tu_rmrf(d);
  pl_free(d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seed_contract),
      cmocka_unit_test(test_laion_contract),
      cmocka_unit_test(test_laion_dedup_contract),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

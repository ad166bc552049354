/* test_pipeline.c — YAML pipelines end to end through the CLI: validate errors (table-driven,
 * exit 2 and file:line:column), the laion example's lineage in manifests, its export read by
 * three outside readers and counted by DuckDB, caching (a rerun does no work, a changed
 * argument reruns only downstream, --no-cache), and kill -9 + --resume. */
#include "test_util.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *g_dir, *g_in;

static int setup(void **state) {
  tu_laion_fixture("pipeline", 30000, 2, 7, &g_dir, &g_in);
  return 0;
}
static int teardown(void **state) {
  tu_laion_fixture_free(g_dir, g_in);
  return 0;
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

/* the laion pipeline with a filter predicate and an output directory */
static void laion_yaml(const char *path, const char *base, const char *where, const char *out) {
  char y[4096];
  snprintf(y, sizeof y,
           "name: laion\n"
           "base_path: %s\n"
           "operations:\n"
           "  - component: load_from_parquet\n"
           "    arguments: {path: %s, partition_size: 64KB}\n"
           "  - component: filter\n"
           "    arguments: {where: \"%s\"}\n"
           "  - component: derive\n"
           "    arguments: {fields: {caption_len: \"length(caption)\"}}\n"
           "  - component: dedup\n"
           "    arguments: {fields: [url]}\n"
           "  - component: write_to_parquet\n"
           "    arguments: {path: %s, codec: zstd}\n",
           base, g_in, where, out);
  write_file(path, y);
}

/* ------------------------------------------------------------------ validate */
typedef struct vcase {
  const char *what;
  const char *ops; /* lines 6.. of the pipeline */
  const char *where; /* "line:col" expected after the file name */
  const char *msg;   /* expected in the message */
} vcase;

static const vcase vcases[] = {
    {"unknown component", "  - component: filtr\n    arguments: {where: \"width > 1\"}\n", "6:16",
     "unknown component 'filtr'; did you mean 'filter'?"},
    {"unknown field", "  - component: filter\n    arguments: {where: \"widht >= 256\"}\n", "7:25",
     "field 'widht' not found; did you mean 'width'?"},
    {"wrong type (expression)", "  - component: filter\n    arguments: {where: \"caption\"}\n", "7:24",
     "must be a predicate (bool)"},
    {"wrong type (argument)", "  - component: dedup\n    arguments: {fields: url}\n", "7:25",
     "argument 'fields' must be a list"},
    {"bad expression", "  - component: filter\n    arguments: {where: \"width >= and\"}\n", "7:",
     "component 'filter'"},
    {"duplicate name",
     "  - component: filter\n    name: f\n    arguments: {where: \"width > 1\"}\n"
     "  - component: filter\n    name: f\n    arguments: {where: \"width > 2\"}\n",
     "10:11", "duplicate name 'f'"},
    {"missing argument", "  - component: filter\n    arguments: {}\n", "7:16", "missing argument 'where'"},
    {"unknown argument", "  - component: filter\n    arguments: {wher: \"width > 1\"}\n", "7:17",
     "no argument 'wher'; did you mean 'where'?"},
    {"unknown field in a list", "  - component: dedup\n    arguments: {fields: [urll]}\n", "7:26",
     "field 'urll' not found; did you mean 'url'?"},
    {"bad YAML", "  - component: filter\n    arguments: {where: \"width > 1\"\n", "8:", "invalid YAML"},
    {"unknown key", "  - component: filter\n    argumets: {where: \"width > 1\"}\n", "7:5",
     "unknown key 'argumets' in an operation; did you mean 'arguments'?"},
    {"codec_level out of range", "  - component: write_to_parquet\n    arguments: {path: /tmp/x, codec_level: 30}\n",
     "7:44", "codec_level for ZSTD must be -7..22"},
    {"bad size", "  - component: write_to_parquet\n    arguments: {path: /tmp/x, max_file_bytes: 12XB}\n",
     "7:47", "must be a size"},
};

/* A load whose column_name_mapping is `map` fails validation at line 5 with `msg`. */
static void mapping_error(const char *path, const char *map, const char *msg) {
  char y[4096];
  snprintf(y, sizeof y,
           "name: v\nbase_path: %s/vbase\noperations:\n  - component: load_from_parquet\n"
           "    arguments: {path: %s, column_name_mapping: %s}\n",
           g_dir, g_in, map);
  write_file(path, y);
  char *out = NULL;
  assert_int_equal(tu_run(&out, "%s validate '%s' 2>&1", tu_praline_bin(), path), 2);
  char want[1200];
  snprintf(want, sizeof want, "%s:5:", path);
  assert_non_null(strstr(out, want));
  if (!strstr(out, msg)) fail_msg("mapping %s: %s", map, out);
  free(out);
}

static void test_validate_errors(void **state) {
  char path[1024];
  snprintf(path, sizeof path, "%s/v.yaml", g_dir);
  for (size_t i = 0; i < sizeof vcases / sizeof vcases[0]; i++) {
    const vcase *c = &vcases[i];
    char y[4096];
    snprintf(y, sizeof y,
             "name: v\nbase_path: %s/vbase\noperations:\n  - component: load_from_parquet\n"
             "    arguments: {path: %s}\n%s",
             g_dir, g_in, c->ops);
    write_file(path, y);
    char *out = NULL;
    int rc = tu_run(&out, "%s validate '%s' 2>&1", tu_praline_bin(), path);
    char want[1200];
    snprintf(want, sizeof want, "%s:%s", path, c->where);
    if (rc != 2 || !strstr(out, want) || !strstr(out, c->msg))
      fprintf(stderr, "case '%s': rc %d, got: %s(want %s ... %s)\n", c->what, rc, out, want, c->msg);
    assert_int_equal(rc, 2);
    assert_non_null(strstr(out, want));
    assert_non_null(strstr(out, c->msg));
    free(out);
  }
  /* column_name_mapping cannot rename the index, nor give two fields one name */
  mapping_error(path, "{id: source_id}", "'id' is the index");
  mapping_error(path, "{caption: url}", "two fields named 'url'");
  /* and the valid pipeline passes, having read no data (no run directory) */
  laion_yaml(path, "/nonexistent/base", "width >= 256 and height >= 256 and caption is not null", "/tmp/never");
  char *out = NULL;
  assert_int_equal(tu_run(&out, "%s validate '%s' 2>&1", tu_praline_bin(), path), 0);
  assert_non_null(strstr(out, "valid"));
  free(out);
}

/* ------------------------------------------------------------------ helpers over runs */
static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  size_t r = fread(s, 1, (size_t)n, f);
  s[r] = 0;
  fclose(f);
  return s;
}

/* rows in the export as counted by `praline cat --stats`-free path: pqcheck's summary */
static long long run_rows(const char *report_json, const char *comp, const char *key) {
  char pat[128];
  snprintf(pat, sizeof pat, "\"name\":\"%s\",\"%s\":", comp, key);
  const char *p = strstr(report_json, pat);
  if (!p && strcmp(key, "rows_out") == 0) {
    snprintf(pat, sizeof pat, "\"name\":\"%s\",", comp);
    p = strstr(report_json, pat);
    if (p) p = strstr(p, "\"rows_out\":");
    if (p) return atoll(p + 11);
  }
  assert_non_null(p);
  return atoll(p + strlen(pat));
}

static bool cached(const char *report_json, const char *comp) {
  char pat[128];
  snprintf(pat, sizeof pat, "\"name\":\"%s\",", comp);
  const char *p = strstr(report_json, pat);
  assert_non_null(p);
  p = strstr(p, "\"cached\":");
  assert_non_null(p);
  return strncmp(p + 9, "true", 4) == 0;
}

static char *run_pipeline(const char *yaml, const char *extra) {
  char rep[1024];
  snprintf(rep, sizeof rep, "%s/report.json", g_dir);
  int rc = tu_run(NULL, "%s run '%s' --workers 2 --memory-limit 512MB --quiet --report '%s' %s",
                  tu_praline_bin(), yaml, rep, extra ? extra : "");
  assert_int_equal(rc, 0);
  char *s = slurp(rep);
  assert_non_null(s);
  return s;
}

static const char *duckdb_api(void) {
  static char path[1024];
  const char *home = getenv("HOME"), *ph = getenv("PQCHECK_HOME");
  const char *cands[4] = {NULL, NULL, "bench/node_modules/@duckdb/node-api", NULL};
  char a[1024], b[1024];
  if (ph) snprintf(a, sizeof a, "%s/node/node_modules/@duckdb/node-api", ph), cands[0] = a;
  if (home) snprintf(b, sizeof b, "%s/.cache/pqcheck/node/node_modules/@duckdb/node-api", home), cands[1] = b;
  for (int i = 0; i < 3; i++) {
    struct stat sb;
    if (cands[i] && stat(cands[i], &sb) == 0) {
      if (!realpath(cands[i], path)) continue;
      return path;
    }
  }
  return NULL;
}

/* DuckDB's count for a query, or -1 when DuckDB (node) is not available. */
static long long duckdb_count(const char *sql) {
  const char *api = duckdb_api();
  if (!api) return -1;
  char js[1024];
  snprintf(js, sizeof js, "%s/dq.cjs", g_dir);
  write_file(js, "const { DuckDBInstance } = require(process.env.DUCKDB_API);\n"
                 "(async () => { const i = await DuckDBInstance.create(':memory:', { threads: '1' });\n"
                 "  const c = await i.connect(); const r = await c.runAndReadAll(process.argv[2]);\n"
                 "  console.log(String(r.getRows()[0][0])); })().catch(e => { console.error(e.message); process.exit(1); });\n");
  char *out = NULL;
  int rc = tu_run(&out, "DUCKDB_API='%s' node '%s' \"%s\"", api, js, sql);
  assert_int_equal(rc, 0);
  long long n = atoll(out);
  free(out);
  return n;
}

static int run_dirs(const char *base) {
  char *out = NULL;
  tu_run(&out, "ls -d '%s'/laion/laion-* 2>/dev/null | wc -l", base);
  int n = atoi(out);
  free(out);
  return n;
}

/* ------------------------------------------------------------------ laion */
static void test_laion_lineage_and_export(void **state) {
  char yaml[1024], base[1024], out[1024];
  snprintf(yaml, sizeof yaml, "%s/laion.yaml", g_dir);
  snprintf(base, sizeof base, "%s/base1", g_dir);
  snprintf(out, sizeof out, "%s/out1", g_dir);
  laion_yaml(yaml, base, "width >= 256 and height >= 256 and caption is not null", out);
  char *rep = run_pipeline(yaml, NULL);
  long long rows = run_rows(rep, "write_to_parquet", "rows_out");
  assert_true(rows > 0);
  assert_true(rows < 30000);
  assert_int_equal(run_rows(rep, "load_from_parquet", "rows_in"), 30000);
  /* manifests: caption_len under derive, url under load; the filter wrote only its index */
  char *ls = NULL;
  tu_run(&ls, "ls -d '%s'/laion/laion-*", base);
  ls[strcspn(ls, "\n")] = 0;
  char p[2048];
  snprintf(p, sizeof p, "%s/derive/manifest.json", ls);
  char *m = slurp(p);
  assert_non_null(m);
  const char *rid = strrchr(ls, '/') + 1;
  char want[512];
  snprintf(want, sizeof want, "\"location\": \"laion/%s/derive/caption_len\"", rid);
  assert_non_null(strstr(m, want));
  snprintf(want, sizeof want, "\"location\": \"laion/%s/load_from_parquet/url\"", rid);
  assert_non_null(strstr(m, want));
  snprintf(want, sizeof want, "\"location\": \"laion/%s/derive/index\"", rid);
  assert_non_null(strstr(m, want));
  assert_non_null(strstr(m, "\"component_id\": \"derive\""));
  assert_non_null(strstr(m, "\"pipeline_name\": \"laion\""));
  free(m);
  snprintf(p, sizeof p, "%s/filter/manifest.json", ls);
  m = slurp(p);
  snprintf(want, sizeof want, "\"location\": \"laion/%s/filter/index\"", rid);
  assert_non_null(strstr(m, want));
  snprintf(want, sizeof want, "\"location\": \"laion/%s/load_from_parquet/caption\"", rid);
  assert_non_null(strstr(m, want));
  assert_null(strstr(m, "caption_len"));
  free(m);
  char *lsf = NULL;
  tu_run(&lsf, "ls '%s/filter' | tr '\\n' ' '", ls);
  assert_string_equal(lsf, "_journal index manifest.json ");
  free(lsf);
  /* the dedup keeps every field where it was */
  snprintf(p, sizeof p, "%s/dedup/manifest.json", ls);
  m = slurp(p);
  snprintf(want, sizeof want, "\"location\": \"laion/%s/derive/caption_len\"", rid);
  assert_non_null(strstr(m, want));
  free(m);
  free(ls);
  /* the export: three outside readers agree, DuckDB counts the same rows on the input */
  char *pq = NULL;
  int rc = tu_run(&pq, "%s/tools/pqcheck '%s' 2>&1 | tail -1", tu_shared_dir(), out);
  if (rc == 0) {
    char w[128];
    snprintf(w, sizeof w, "0 failed, %lld rows", rows);
    if (!strstr(pq, w)) fprintf(stderr, "pqcheck: %s (want %s)\n", pq, w);
    assert_non_null(strstr(pq, w));
  } else fprintf(stderr, "pqcheck unavailable (rc %d): %s\n", rc, pq);
  free(pq);
  char sql[2048];
  snprintf(sql, sizeof sql,
           "SELECT count(DISTINCT url) FROM read_parquet('%s/*.parquet') "
           "WHERE width >= 256 AND height >= 256 AND caption IS NOT NULL", g_in);
  long long dn = duckdb_count(sql);
  if (dn >= 0) assert_int_equal(dn, rows);
  else fprintf(stderr, "duckdb (node) unavailable: count not compared\n");
  snprintf(sql, sizeof sql, "SELECT count(*) FROM read_parquet('%s/*.parquet') WHERE caption_len = length(caption)", out);
  dn = duckdb_count(sql);
  if (dn >= 0) assert_int_equal(dn, rows);
  free(rep);
}

/* ------------------------------------------------------------------ caching */
static void test_cache_rerun_and_changed_argument(void **state) {
  char yaml[1024], base[1024], out[1024], out2[1024];
  snprintf(yaml, sizeof yaml, "%s/cache.yaml", g_dir);
  snprintf(base, sizeof base, "%s/base2", g_dir);
  snprintf(out, sizeof out, "%s/out2", g_dir);
  snprintf(out2, sizeof out2, "%s/out2b", g_dir);
  laion_yaml(yaml, base, "width >= 256 and height >= 256 and caption is not null", out);
  char *r1 = run_pipeline(yaml, NULL);
  const char *names[] = {"load_from_parquet", "filter", "derive", "dedup", "write_to_parquet"};
  for (int i = 0; i < 5; i++) assert_false(cached(r1, names[i]));
  assert_int_equal(run_dirs(base), 1);
  /* a rerun does no work: every component cached, no new run directory */
  char *r2 = run_pipeline(yaml, NULL);
  for (int i = 0; i < 5; i++) assert_true(cached(r2, names[i]));
  assert_int_equal(run_dirs(base), 1);
  assert_int_equal(run_rows(r2, "write_to_parquet", "rows_out"), run_rows(r1, "write_to_parquet", "rows_out"));
  /* a changed filter argument: load stays cached, the filter and everything after rerun */
  laion_yaml(yaml, base, "width >= 300 and height >= 256 and caption is not null", out2);
  char *r3 = run_pipeline(yaml, NULL);
  assert_true(cached(r3, "load_from_parquet"));
  for (int i = 1; i < 5; i++) assert_false(cached(r3, names[i]));
  assert_int_equal(run_dirs(base), 2);
  assert_int_equal(run_rows(r3, "filter", "rows_in"), 30000);
  long long rows3 = run_rows(r3, "write_to_parquet", "rows_out");
  assert_true(rows3 < run_rows(r1, "write_to_parquet", "rows_out"));
  /* the second run read load's fields from the first run: its manifests say so */
  char *m = NULL;
  tu_run(&m, "cat $(ls -d '%s'/laion/laion-* | tail -1)/derive/manifest.json", base);
  char *first = NULL;
  tu_run(&first, "basename $(ls -d '%s'/laion/laion-* | head -1) | tr -d '\\n'", base);
  char want[512];
  snprintf(want, sizeof want, "\"location\": \"laion/%s/load_from_parquet/url\"", first);
  assert_non_null(strstr(m, want));
  free(m);
  free(first);
  /* the same pipeline with --no-cache runs everything and exports the same data */
  char out3[1024];
  snprintf(out3, sizeof out3, "%s/out2c", g_dir);
  laion_yaml(yaml, base, "width >= 300 and height >= 256 and caption is not null", out3);
  char *r4 = run_pipeline(yaml, "--no-cache");
  for (int i = 0; i < 5; i++) assert_false(cached(r4, names[i]));
  assert_int_equal(run_rows(r4, "write_to_parquet", "rows_out"), rows3);
  char *a = NULL, *b = NULL;
  assert_int_equal(tu_run(&a, "%s cat '%s' --format csv", tu_praline_bin(), out2), 0);
  assert_int_equal(tu_run(&b, "%s cat '%s' --format csv", tu_praline_bin(), out3), 0);
  assert_true(strlen(a) > 1000);
  assert_string_equal(a, b);
  free(a);
  free(b);
  free(r1);
  free(r2);
  free(r3);
  free(r4);
}

/* ------------------------------------------------------------------ kill -9 and resume */
static void test_kill_and_resume(void **state) {
  char yaml[1024], base[1024], out[1024], refb[1024], refo[1024];
  snprintf(yaml, sizeof yaml, "%s/resume.yaml", g_dir);
  snprintf(base, sizeof base, "%s/base3", g_dir);
  snprintf(out, sizeof out, "%s/out3", g_dir);
  snprintf(refb, sizeof refb, "%s/base3.ref", g_dir);
  snprintf(refo, sizeof refo, "%s/out3.ref", g_dir);
  laion_yaml(yaml, base, "width >= 256 and height >= 256 and caption is not null", out);
  /* the reference: an uninterrupted run, moved aside */
  free(run_pipeline(yaml, NULL));
  assert_int_equal(tu_run(NULL, "mv '%s' '%s' && mv '%s' '%s'", base, refb, out, refo), 0);
  /* a run whose writers are slowed down, killed once some partitions are journaled */
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    setenv("PRALINE_TEST_WRITER_DELAY_MS", "150", 1);
    execl(tu_praline_bin(), tu_praline_bin(), "run", yaml, "--workers", "2", "--memory-limit", "512MB", "--quiet",
          (char *)NULL);
    _exit(127);
  }
  bool some = false;
  for (int i = 0; i < 600 && !some; i++) {
    usleep(20000);
    char *o = NULL;
    tu_run(&o, "cat '%s'/laion/laion-*/filter/_journal 2>/dev/null | wc -c", base);
    some = atoi(o) > 0;
    free(o);
  }
  kill(pid, SIGKILL);
  int ws;
  waitpid(pid, &ws, 0);
  assert_true(some);
  assert_true(WIFSIGNALED(ws));
  char *rid = NULL;
  tu_run(&rid, "basename $(ls -d '%s'/laion/laion-*) | tr -d '\\n'", base);
  assert_true(strlen(rid) > 6);
  char extra[256];
  snprintf(extra, sizeof extra, "--resume %s", rid);
  char *rep = run_pipeline(yaml, extra);
  assert_non_null(strstr(rep, rid));
  /* outputs byte for byte, manifests apart from the run id (a timestamp) */
  assert_int_equal(tu_run(NULL, "test \"$(ls '%s')\" = \"$(ls '%s')\"", out, refo), 0);
  char *o = NULL;
  tu_run(&o, "cd '%s' && for f in *; do cmp -s \"$f\" '%s'/\"$f\" || echo \"differs: $f\"; done; ls | wc -l", out,
         refo);
  if (strstr(o, "differs")) fprintf(stderr, "%s", o);
  assert_null(strstr(o, "differs"));
  assert_true(atoi(o) >= 1);
  free(o);
  char *ref_rid = NULL;
  tu_run(&ref_rid, "basename $(ls -d '%s'/laion/laion-*) | tr -d '\\n'", refb);
  tu_run(&o, "cd '%s'/laion/%s && for c in */; do c=${c%%/}; "
             "sed -e 's/%s/RUN/g' -e 's#%s#BASE#g' $c/manifest.json > /tmp/.a.$$; "
             "sed -e 's/%s/RUN/g' -e 's#%s#BASE#g' '%s'/laion/%s/$c/manifest.json > /tmp/.b.$$; "
             "cmp -s /tmp/.a.$$ /tmp/.b.$$ || echo \"manifest differs: $c\"; done; rm -f /tmp/.a.$$ /tmp/.b.$$; echo checked",
         base, rid, rid, base, ref_rid, base, refb, ref_rid); /* the reference was made under base */
  if (strstr(o, "differs")) fprintf(stderr, "%s", o);
  assert_null(strstr(o, "differs"));
  assert_non_null(strstr(o, "checked"));
  free(o);
  /* the column-wise files too */
  tu_run(&o, "cd '%s'/laion/%s && find . -name '*.parquet' | sort | while read f; do "
             "cmp -s \"$f\" '%s'/laion/%s/\"$f\" || echo \"differs: $f\"; done; find . -name '*.parquet' | wc -l",
         base, rid, refb, ref_rid);
  assert_null(strstr(o, "differs"));
  assert_true(atoi(o) > 10);
  free(o);
  free(rid);
  free(ref_rid);
  free(rep);
}


/* ------------------------------------------------------------------ load copies chunks */
/* A load from Parquet writes <field>/part.N.parquet by copying the input's column chunks
 * (flat plain columns) or by decoding and writing again (nested, legacy, INT96, decimals...).
 * Either way every column of every input must come back with the same checksum, and three
 * outside readers must agree on every file the load wrote. */
/* A load with column_name_mapping (no row limit) still copies the files' column chunks,
 * under the new names: here url and caption swap names. Each renamed file holds the other
 * column's values (checksums), its chunk sizes are the input's (a copy, not a re-encode), and
 * the export downstream sees the new names. */
static void test_load_mapping_copies(void **state) {
  (void)state;
  char yaml[1024], base[512];
  snprintf(yaml, sizeof yaml, "%s/map.yaml", g_dir);
  snprintf(base, sizeof base, "%s/map", g_dir);
  char y[4096];
  snprintf(y, sizeof y,
           "name: mp\nbase_path: %s\noperations:\n"
           "  - component: load_from_parquet\n    arguments: {path: \"%s\", column_name_mapping: {url: caption, caption: url}}\n"
           "  - component: filter\n    arguments: {where: \"url is not null\"}\n"
           "  - component: write_to_parquet\n    arguments: {path: \"%s/out\"}\n",
           base, g_in, base);
  write_file(yaml, y);
  assert_int_equal(tu_run(NULL, "%s run '%s' --workers 2 --memory-limit 128MB --quiet", tu_praline_bin(), yaml), 0);
  /* checksums: the input's url is the load's caption and the other way round */
  for (int k = 0; k < 2; k++) {
    const char *from = k ? "caption" : "url", *to = k ? "url" : "caption";
    char *a = NULL, *b = NULL;
    tu_run(&a, "for f in '%s'/*.parquet; do %s inspect --checksum \"$f\"; done | awk '$1 == \"%s\" {print $NF}'",
           g_in, tu_praline_bin(), from);
    tu_run(&b, "for f in '%s'/mp/mp-*/load_from_parquet/%s/part.*.parquet; do %s inspect --checksum \"$f\"; done "
               "| awk '$1 == \"%s\" {print $NF}'",
           base, to, tu_praline_bin(), to);
    assert_true(strlen(a) > 16);
    assert_string_equal(a, b);
    free(a);
    free(b);
    /* a copy: the first partition's chunk has the input's first row group's sizes */
    tu_run(&a, "ls '%s'/*.parquet | head -1 | xargs %s inspect | awk '$1 == \"%s\" {print $5, $6, $7, $8}' | head -1",
           g_in, tu_praline_bin(), from);
    tu_run(&b, "%s inspect '%s'/mp/mp-*/load_from_parquet/%s/part.00000.parquet | awk '$1 == \"%s\" {print $5, $6, $7, $8}' | head -1",
           tu_praline_bin(), base, to, to);
    assert_true(strlen(a) > 4);
    assert_string_equal(a, b);
    free(a);
    free(b);
  }
  char *cols = NULL;
  tu_run(&cols, "ls '%s'/out/*.parquet | head -1 | xargs %s inspect | grep '^columns:'", base, tu_praline_bin());
  if (!strstr(cols, "id:int64, caption:string, url:string")) fail_msg("export %s", cols);
  free(cols);
  char *pq = NULL;
  int rc = tu_run(&pq, "%s/tools/pqcheck '%s'/mp/mp-*/load_from_parquet 2>&1 | tail -1", tu_shared_dir(), base);
  if (rc == 0 || strstr(pq, "failed")) assert_non_null(strstr(pq, " 0 failed"));
  free(pq);
  tu_rmrf(base);
}

static void test_load_copies_chunks(void **state) {
  static const char *files[] = {"nested_lists.snappy", "nested_structs.rust", "datapage_v2.snappy",
                                "byte_stream_split.zstd", "delta_byte_array", "int96_from_spark",
                                "hadoop_lz4_compressed", "dict-page-offset-zero", "fixed_length_decimal",
                                "int32_with_null_pages", "nullable.impala", "old_list_structure",
                                "alltypes_plain" /* an int32 id: the index, widened */, NULL};
  char yaml[1024], base[1024];
  snprintf(yaml, sizeof yaml, "%s/copy.yaml", g_dir);
  for (int i = 0; i == 0 || files[i - 1]; i++) { /* the last one (files[i] NULL): laion */
    char in[1024];
    if (files[i]) snprintf(in, sizeof in, "%s/testdata/parquet-testing/data/%s.parquet", tu_shared_dir(), files[i]);
    else snprintf(in, sizeof in, "%s", g_in);
    snprintf(base, sizeof base, "%s/copy%d", g_dir, i);
    char y[4096];
    snprintf(y, sizeof y,
             "name: cp\nbase_path: %s\noperations:\n"
             "  - component: load_from_parquet\n    arguments: {path: \"%s\"}\n"
             "  - component: write_to_parquet\n    arguments: {path: \"%s/out\"}\n",
             base, in, base);
    write_file(yaml, y);
    int rc = tu_run(NULL, "%s run '%s' --workers 2 --memory-limit 256MB --quiet", tu_praline_bin(), yaml);
    assert_int_equal(rc, 0);
    /* "name checksum" lines of every column but id, input against the load's files */
    const char *cols = "grep -E '^    ' | awk '$1 != \"id\" {print $1, $NF}' | sort";
    char *a = NULL, *b = NULL;
    tu_run(&a, "for f in $(if [ -d '%s' ]; then ls '%s'/*.parquet; else echo '%s'; fi); do "
               "%s inspect --checksum \"$f\"; done | %s",
           in, in, in, tu_praline_bin(), cols);
    tu_run(&b, "for f in '%s'/cp/cp-*/load_from_parquet/*/part.*.parquet; do %s inspect --checksum \"$f\"; done | %s",
           base, tu_praline_bin(), cols);
    if (strcmp(a, b) != 0) fprintf(stderr, "%s:\ninput:\n%s\nload:\n%s\n", in, a, b);
    assert_true(strlen(a) > 0);
    assert_string_equal(a, b);
    free(a);
    free(b);
    char *has_id = NULL;
    tu_run(&has_id, "%s inspect '%s' | grep -c '^  id: '", tu_praline_bin(), in);
    bool own_id = atoi(has_id) > 0;
    free(has_id);
    if (own_id) { /* the file's id is the index */
      char *ids_in = NULL, *ids_load = NULL;
      tu_run(&ids_in, "%s cat '%s' --columns id --format csv", tu_praline_bin(), in);
      tu_run(&ids_load, "%s cat '%s'/cp/cp-*/load_from_parquet/index --format csv", tu_praline_bin(), base);
      assert_true(strlen(ids_in) > 3);
      assert_string_equal(ids_in, ids_load);
      free(ids_in);
      free(ids_load);
    }
    if (files[i] && !own_id) { /* no id in the file: the load numbers the rows 0, 1, ... */
      char *bad = NULL;
      tu_run(&bad, "%s cat '%s'/cp/cp-*/load_from_parquet/index --format csv | awk 'NR > 1 && $1 != NR - 2' | wc -l",
             tu_praline_bin(), base);
      assert_int_equal(atoi(bad), 0);
      free(bad);
    }
    char *pq = NULL;
    rc = tu_run(&pq, "%s/tools/pqcheck '%s'/cp/cp-*/load_from_parquet 2>&1 | tail -1", tu_shared_dir(), base);
    if (rc == 0 || strstr(pq, "failed")) {
      if (!strstr(pq, " 0 failed")) fprintf(stderr, "%s: pqcheck: %s\n", in, pq);
      assert_non_null(strstr(pq, " 0 failed"));
    } else fprintf(stderr, "pqcheck unavailable (rc %d): %s\n", rc, pq);
    free(pq);
  }
  /* flat columns were copied: their files name the input's writer (parquet-mr for
   * datapage_v2.snappy); its nested column `e` was decoded and written by praline */
  char *w1 = NULL, *w2 = NULL, *w3 = NULL;
  tu_run(&w1, "%s inspect '%s/testdata/parquet-testing/data/datapage_v2.snappy.parquet' | grep 'created by'",
         tu_praline_bin(), tu_shared_dir());
  tu_run(&w2, "%s inspect '%s'/copy2/cp/cp-*/load_from_parquet/a/part.00000.parquet | grep 'created by'",
         tu_praline_bin(), g_dir);
  tu_run(&w3, "%s inspect '%s'/copy2/cp/cp-*/load_from_parquet/e/part.00000.parquet | grep 'created by'",
         tu_praline_bin(), g_dir);
  assert_null(strstr(w1, "praline"));
  assert_string_equal(w1, w2);
  assert_non_null(strstr(w3, "praline"));
  free(w1);
  free(w2);
  free(w3);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_validate_errors),
      cmocka_unit_test(test_laion_lineage_and_export),
      cmocka_unit_test(test_cache_rerun_and_changed_argument),
      cmocka_unit_test(test_kill_and_resume),
      cmocka_unit_test(test_load_copies_chunks),
      cmocka_unit_test(test_load_mapping_copies),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

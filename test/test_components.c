/* test_components.c — the built-in components through the C API (select, drop, rename, derive,
 * sample, load's column_name_mapping and n_rows_to_load, a C transform added with
 * pl_pipeline_add_fn), and the plugin example built out of tree against an installed praline
 * and run from YAML. */
#include "test_util.h"

#include "praline/praline.h"

#include <sys/stat.h>

static char *g_dir, *g_in;

static int setup(void **state) {
  tu_laion_fixture("components", 5000, 1, 3, &g_dir, &g_in);
  return 0;
}
static int teardown(void **state) {
  tu_laion_fixture_free(g_dir, g_in);
  return 0;
}

/* Reads every file of an export dir: the schema of the first, all rows of column `col`
 * (int64-compatible) summed, and the row count. */
typedef struct scan {
  int64_t rows;
  char names[512];
  double sum;
} scan;

static void scan_dir(const char *dir, const char *col, scan *s) {
  memset(s, 0, sizeof *s);
  char *ls = NULL;
  tu_run(&ls, "ls '%s'/*.parquet", dir);
  pl_budget *b = pl_budget_new(PL_UNLIMITED);
  for (char *line = strtok(ls, "\n"); line; line = strtok(NULL, "\n")) {
    pl_error err = {0};
    pl_parquet_file *f = pl_parquet_open(line, NULL, b, &err);
    assert_non_null(f);
    const pl_schema *sc = pl_parquet_schema(f);
    if (!s->names[0])
      for (int32_t i = 0; i < sc->n_fields; i++) {
        strcat(s->names, sc->fields[i].name);
        strcat(s->names, ",");
      }
    pl_parquet_reader *r = pl_parquet_reader_new(f, NULL, b, &err);
    assert_non_null(r);
    pl_batch *bt;
    while (pl_parquet_reader_next(r, &bt, &err) == PL_OK && bt) {
      s->rows += bt->length;
      int32_t k = col ? pl_schema_find(&bt->schema, col) : -1;
      for (int64_t i = 0; k >= 0 && i < bt->length; i++) {
        const pl_column *c = bt->columns[k];
        if (!pl_column_is_valid(c, i)) continue;
        if (c->type.id == PL_INT64) s->sum += (double)((const int64_t *)c->values.data)[i];
        else if (c->type.id == PL_INT32) s->sum += ((const int32_t *)c->values.data)[i];
        else if (c->type.id == PL_FLOAT64) s->sum += ((const double *)c->values.data)[i];
      }
      pl_batch_free(bt);
    }
    pl_parquet_reader_free(r);
    pl_parquet_close(f);
  }
  pl_budget_free(b);
  free(ls);
}

static pl_pipeline *new_pipeline(const char *name) {
  char base[1024];
  snprintf(base, sizeof base, "%s/base", g_dir);
  pl_error err = {0};
  pl_pipeline *p = pl_pipeline_new(name, base, &err);
  assert_non_null(p);
  char args[1024];
  snprintf(args, sizeof args, "{\"path\": \"%s\", \"partition_size\": \"32KB\"}", g_in);
  assert_int_equal(pl_pipeline_add(p, "load_from_parquet", args, &err), PL_OK);
  return p;
}

static void run_ok(pl_pipeline *p, pl_pipeline_report *rep, bool no_cache) {
  pl_run_options o = pl_run_options_default();
  o.workers = 2;
  o.memory_limit = 256u << 20;
  o.progress = 0;
  o.no_cache = no_cache;
  pl_error err = {0};
  pl_status st = pl_pipeline_run(p, &o, rep, &err);
  if (st) fprintf(stderr, "run: %s\n", err.msg);
  assert_int_equal(st, PL_OK);
}

static void add(pl_pipeline *p, const char *c, const char *json) {
  pl_error err = {0};
  pl_status st = pl_pipeline_add(p, c, json, &err);
  if (st) fprintf(stderr, "%s\n", err.msg);
  assert_int_equal(st, PL_OK);
}

static void test_select_drop_rename_derive(void **state) {
  pl_pipeline *p = new_pipeline("shapes");
  add(p, "derive", "{\"fields\": {\"area\": \"cast(width as int64) * height\"}}");
  add(p, "rename", "{\"fields\": {\"caption\": \"text\"}}");
  add(p, "drop", "{\"fields\": [\"nsfw\", \"similarity\"]}");
  add(p, "select", "{\"fields\": [\"area\", \"text\", \"width\", \"height\"]}");
  char out[1024], args[1200];
  snprintf(out, sizeof out, "%s/shapes-out", g_dir);
  snprintf(args, sizeof args, "{\"path\": \"%s\"}", out);
  add(p, "write_to_parquet", args);
  pl_pipeline_report *rep = calloc(1, sizeof *rep);
  run_ok(p, rep, false);
  assert_int_equal(rep->n_ops, 6);
  assert_int_equal(rep->ops[5].rows_out, 5000);
  scan s;
  scan_dir(out, "area", &s);
  assert_int_equal(s.rows, 5000);
  assert_string_equal(s.names, "id,area,text,width,height,");
  scan w, h;
  (void)w;
  (void)h;
  /* area = width * height, summed: check against the input */
  double want = 0;
  pl_budget *b = pl_budget_new(PL_UNLIMITED);
  char *ls = NULL;
  tu_run(&ls, "ls '%s'/*.parquet | head -1", g_in);
  ls[strcspn(ls, "\n")] = 0;
  pl_parquet_file *f = pl_parquet_open(ls, NULL, b, NULL);
  pl_parquet_reader *r = pl_parquet_reader_new(f, NULL, b, NULL);
  pl_batch *bt;
  while (pl_parquet_reader_next(r, &bt, NULL) == PL_OK && bt) {
    int32_t kw = pl_schema_find(&bt->schema, "width"), kh = pl_schema_find(&bt->schema, "height");
    for (int64_t i = 0; i < bt->length; i++)
      if (pl_column_is_valid(bt->columns[kw], i) && pl_column_is_valid(bt->columns[kh], i))
        want += (double)((const int32_t *)bt->columns[kw]->values.data)[i] *
                ((const int32_t *)bt->columns[kh]->values.data)[i];
    pl_batch_free(bt);
  }
  pl_parquet_reader_free(r);
  pl_parquet_close(f);
  pl_budget_free(b);
  free(ls);
  assert_true(want > 0);
  assert_true(s.sum == want);
  /* lineage: text lives under rename, area under derive, width under load */
  char *m = NULL;
  tu_run(&m, "cat '%s'/base/shapes/%s/select/manifest.json", g_dir, rep->run_id);
  char pat[512];
  snprintf(pat, sizeof pat, "shapes/%s/rename/text", rep->run_id);
  assert_non_null(strstr(m, pat));
  snprintf(pat, sizeof pat, "shapes/%s/derive/area", rep->run_id);
  assert_non_null(strstr(m, pat));
  snprintf(pat, sizeof pat, "shapes/%s/load_from_parquet/width", rep->run_id);
  assert_non_null(strstr(m, pat));
  assert_null(strstr(m, "\"nsfw\""));
  assert_null(strstr(m, "\"caption\""));
  assert_null(strstr(m, "\"language\""));
  free(m);
  free(rep);
  pl_pipeline_free(p);
}

static void test_sample_deterministic(void **state) {
  int64_t counts[3];
  const char *fr[3] = {"0.5", "0", "1"};
  for (int k = 0; k < 3; k++) {
    pl_pipeline *p = new_pipeline("sampled");
    char args[256];
    snprintf(args, sizeof args, "{\"fraction\": %s, \"seed\": 9}", fr[k]);
    add(p, "sample", args);
    pl_pipeline_report rep;
    run_ok(p, &rep, true);
    counts[k] = rep.ops[1].rows_out;
    pl_pipeline_free(p);
  }
  assert_true(counts[0] > 2000 && counts[0] < 3000);
  assert_int_equal(counts[1], 0);
  assert_int_equal(counts[2], 5000);
  /* the same rows again, and another seed gives another sample */
  pl_pipeline *p = new_pipeline("sampled");
  add(p, "sample", "{\"fraction\": 0.5, \"seed\": 9}");
  char out[1024], args[1200];
  snprintf(out, sizeof out, "%s/sample-a", g_dir);
  snprintf(args, sizeof args, "{\"path\": \"%s\"}", out);
  add(p, "write_to_parquet", args);
  pl_pipeline_report rep;
  run_ok(p, &rep, true);
  pl_pipeline_free(p);
  assert_int_equal(rep.ops[1].rows_out, counts[0]);
  scan a;
  scan_dir(out, "id", &a);
  p = new_pipeline("sampled");
  add(p, "sample", "{\"fraction\": 0.5, \"seed\": 10}");
  snprintf(out, sizeof out, "%s/sample-b", g_dir);
  snprintf(args, sizeof args, "{\"path\": \"%s\"}", out);
  add(p, "write_to_parquet", args);
  run_ok(p, &rep, true);
  pl_pipeline_free(p);
  scan b;
  scan_dir(out, "id", &b);
  assert_int_equal(a.rows, counts[0]);
  assert_true(a.sum != b.sum);
}

static void test_load_mapping_and_limit(void **state) {
  char base[1024];
  snprintf(base, sizeof base, "%s/base", g_dir);
  pl_error err = {0};
  pl_pipeline *p = pl_pipeline_new("mapped", base, &err);
  char args[1200], out[1024];
  snprintf(args, sizeof args,
           "{\"path\": \"%s\", \"column_name_mapping\": {\"caption\": \"text\"}, \"n_rows_to_load\": 1234, "
           "\"partition_size\": \"32KB\"}",
           g_in);
  add(p, "load_from_parquet", args);
  add(p, "filter", "{\"where\": \"text is not null\"}");
  snprintf(out, sizeof out, "%s/mapped-out", g_dir);
  snprintf(args, sizeof args, "{\"path\": \"%s\"}", out);
  add(p, "write_to_parquet", args);
  pl_pipeline_report rep;
  run_ok(p, &rep, true);
  assert_int_equal(rep.ops[0].rows_out, 1234);
  scan s;
  scan_dir(out, "id", &s);
  assert_true(s.rows > 1000 && s.rows <= 1234);
  assert_non_null(strstr(s.names, ",text,"));
  assert_null(strstr(s.names, "caption"));
  /* ids 0..1233 only */
  assert_true(s.sum <= 1233.0 * 1234 / 2);
  pl_pipeline_free(p);
  /* a mapping of a column that does not exist is a validation error */
  p = pl_pipeline_new("mapped", base, &err);
  snprintf(args, sizeof args, "{\"path\": \"%s\", \"column_name_mapping\": {\"captoin\": \"text\"}}", g_in);
  add(p, "load_from_parquet", args);
  assert_int_equal(pl_pipeline_validate(p, &err), PL_EINVAL);
  assert_non_null(strstr(err.msg, "did you mean 'caption'"));
  pl_pipeline_free(p);
}

static pl_status area_fn(const pl_batch *in, pl_batch *out, void *state, pl_error *err) {
  int *calls = state;
  __atomic_add_fetch(calls, 1, __ATOMIC_RELAXED);
  const pl_column *w = in->columns[1], *h = in->columns[2];
  for (int64_t i = 0; i < in->length; i++) {
    pl_status st;
    if (!pl_column_is_valid(w, i) || !pl_column_is_valid(h, i)) st = pl_column_append_null(out->columns[0], err);
    else
      st = pl_column_append_int(out->columns[0], (int64_t)((const int32_t *)w->values.data)[i] *
                                                      ((const int32_t *)h->values.data)[i], err);
    if (st) return st;
  }
  return PL_OK;
}

static void test_add_fn(void **state) {
  pl_pipeline *p = new_pipeline("cfn");
  int calls = 0;
  pl_error err = {0};
  assert_int_equal(pl_pipeline_add_fn(p, "area", area_fn, &calls,
                                      "consumes: {width: int32, height: int32}\nproduces: {area2: int64}\n", &err),
                   PL_OK);
  add(p, "derive", "{\"fields\": {\"same\": \"area2 = cast(width as int64) * height\"}}");
  add(p, "filter", "{\"where\": \"not same\"}");
  pl_pipeline_report rep;
  run_ok(p, &rep, true);
  assert_true(calls > 0);
  assert_int_equal(rep.ops[3].rows_in, 5000);
  assert_int_equal(rep.ops[3].rows_out, 0); /* the C transform computed every area right */
  pl_pipeline_free(p);
  /* a C transform consuming a field that does not exist fails validation */
  p = new_pipeline("cfn");
  assert_int_equal(pl_pipeline_add_fn(p, "area", area_fn, &calls,
                                      "consumes: {widht: int32}\nproduces: {area2: int64}\n", &err),
                   PL_OK);
  assert_int_equal(pl_pipeline_validate(p, &err), PL_EINVAL);
  assert_non_null(strstr(err.msg, "did you mean 'width'"));
  pl_pipeline_free(p);
}

/* The plugin example: install praline under a prefix, build the plugin there with pkg-config,
 * run it from YAML. Needs the release build (make all), as make test does first. */
static void test_plugin_out_of_tree(void **state) {
  struct stat sb;
  if (stat("build/libpraline.so", &sb) || stat("examples/plugin/aspect_ratio.c", &sb)) {
    fprintf(stderr, "skipped: run from the repository root after make all\n");
    return;
  }
  char *o = NULL;
  int rc = tu_run(&o,
                  "set -e; make -s install PREFIX='%s/prefix' >/dev/null 2>&1; "
                  "mkdir -p '%s/plugin'; cp examples/plugin/aspect_ratio.c examples/plugin/Makefile "
                  "examples/plugin/pipeline.yaml '%s/plugin/'; "
                  "PKG_CONFIG_PATH='%s/prefix/lib/pkgconfig' make -s -C '%s/plugin' "
                  "PKG_CONFIG=\"pkg-config --define-variable=prefix=%s/prefix\" 2>&1; echo built",
                  g_dir, g_dir, g_dir, g_dir, g_dir, g_dir);
  if (rc || !strstr(o, "built")) fprintf(stderr, "%s\n", o);
  assert_int_equal(rc, 0);
  free(o);
  char rep[1024];
  snprintf(rep, sizeof rep, "%s/plugin-report.json", g_dir);
  rc = tu_run(&o,
              "PRALINE_BASE='%s/pbase' PRALINE_LAION='%s' PRALINE_OUT='%s/pout' %s run '%s/plugin/pipeline.yaml' "
              "--workers 2 --quiet --report '%s' 2>&1",
              g_dir, g_in, g_dir, tu_praline_bin(), g_dir, rep);
  if (rc) fprintf(stderr, "%s\n", o);
  assert_int_equal(rc, 0);
  free(o);
  char pout[1024];
  snprintf(pout, sizeof pout, "%s/pout", g_dir);
  scan s;
  scan_dir(pout, "aspect", &s);
  assert_true(s.rows > 100 && s.rows < 5000);
  assert_non_null(strstr(s.names, ",aspect,"));
  assert_true(s.sum > 150.0 * (double)s.rows);
  /* a consumes mapping onto a field of another type is caught by validate */
  char y[2048];
  snprintf(y, sizeof y,
           "name: bad\nbase_path: %s/pbase\noperations:\n  - component: load_from_parquet\n"
           "    arguments: {path: %s}\n  - component: aspect_ratio.so\n    consumes: {width: caption}\n",
           g_dir, g_in);
  char yp[1024];
  snprintf(yp, sizeof yp, "%s/plugin/bad.yaml", g_dir);
  FILE *f = fopen(yp, "w");
  fputs(y, f);
  fclose(f);
  rc = tu_run(&o, "%s validate '%s' 2>&1", tu_praline_bin(), yp);
  assert_int_equal(rc, 2);
  char want[1200];
  snprintf(want, sizeof want, "%s:7:23:", yp);
  if (!strstr(o, want)) fprintf(stderr, "%s\n", o);
  assert_non_null(strstr(o, want));
  assert_non_null(strstr(o, "has type string; the component expects int32"));
  free(o);
}

/* CSV and JSON Lines in and out: quoting, embedded newlines, UTF-8, bad rows by line number. */
static void test_csv_jsonl(void **state) {
  char csv[1024], yp[1024], y[4096], outj[1024];
  snprintf(csv, sizeof csv, "%s/t.csv", g_dir);
  FILE *f = fopen(csv, "w");
  fputs("name,width,note\n\"Zo\xc3\xab, the \"\"cat\"\"\",300,\"line1\nline2\"\nBob,abc,x\n\xc3\x85sa,512,\nEve,100,y\n", f);
  fclose(f);
  snprintf(outj, sizeof outj, "%s/t-out.jsonl", g_dir);
  snprintf(yp, sizeof yp, "%s/csv.yaml", g_dir);
  const char *modes[2] = {"skip", "fail"};
  for (int m = 0; m < 2; m++) {
    snprintf(y, sizeof y,
             "name: csvp\nbase_path: %s/cbase\noperations:\n  - component: load_from_csv\n"
             "    arguments: {path: %s, on_error: %s}\n    produces: {name: string, width: int32, note: string}\n"
             "  - component: filter\n    arguments: {where: \"width >= 256\"}\n"
             "  - component: write_to_jsonl\n    arguments: {path: %s}\n",
             g_dir, csv, modes[m], outj);
    f = fopen(yp, "w");
    fputs(y, f);
    fclose(f);
    char *o = NULL;
    int rc = tu_run(&o, "%s run '%s' --quiet --workers 2 2>&1", tu_praline_bin(), yp);
    if (m == 0) {
      assert_int_equal(rc, 0);
      assert_non_null(strstr(o, "line 4: column 'width': 'abc' is not an int32")); /* reported, skipped */
      free(o);
      char *j = NULL;
      tu_run(&j, "cat '%s'", outj);
      assert_string_equal(j, "{\"id\":0,\"name\":\"Zo\xc3\xab, the \\\"cat\\\"\",\"width\":300,\"note\":\"line1\\nline2\"}\n"
                             "{\"id\":1,\"name\":\"\xc3\x85sa\",\"width\":512,\"note\":null}\n");
      free(j);
    } else {
      assert_int_equal(rc, 1);
      assert_non_null(strstr(o, "line 4: column 'width': 'abc' is not an int32"));
      free(o);
    }
  }
  /* JSON Lines back in, schema inferred, out as CSV */
  char outc[1024];
  snprintf(outc, sizeof outc, "%s/t-out.csv", g_dir);
  snprintf(y, sizeof y,
           "name: jsonp\nbase_path: %s/cbase\noperations:\n  - component: load_from_jsonl\n"
           "    arguments: {path: %s}\n  - component: derive\n    arguments: {fields: {n: \"length(note)\"}}\n"
           "  - component: write_to_csv\n    arguments: {path: %s}\n",
           g_dir, outj, outc);
  f = fopen(yp, "w");
  fputs(y, f);
  fclose(f);
  assert_int_equal(tu_run(NULL, "%s run '%s' --quiet --workers 2", tu_praline_bin(), yp), 0);
  char *c = NULL;
  tu_run(&c, "cat '%s'", outc);
  assert_string_equal(c, "id,name,width,note,n\n0,\"Zo\xc3\xab, the \"\"cat\"\"\",300,\"line1\nline2\",11\n1,\xc3\x85sa,512,,\n");
  free(c);
}

/* A CSV file larger than --memory-limit streams through within the budget. */
static void test_csv_bigger_than_memory(void **state) {
  char csv[1024], yp[1024], y[4096], rep[1024];
  snprintf(csv, sizeof csv, "%s/big.csv", g_dir);
  FILE *f = fopen(csv, "w");
  fputs("name,width,note\n", f);
  long long keep = 0;
  for (int i = 0; i < 500000; i++) {
    int w = (int)((i * 7919u) % 1000u);
    keep += w >= 256;
    fprintf(f, "\"cap %d, \"\"q\"\" \xc3\xbc\",%d,\"%.*s\"\n", i, w, (i * 31) % 60, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
  }
  long size = ftell(f);
  fclose(f);
  assert_true(size > 24000000);
  snprintf(yp, sizeof yp, "%s/big.yaml", g_dir);
  snprintf(rep, sizeof rep, "%s/big.json", g_dir);
  snprintf(y, sizeof y,
           "name: big\nbase_path: %s/bbase\noperations:\n  - component: load_from_csv\n"
           "    arguments: {path: %s, partition_size: 4MB}\n  - component: filter\n    arguments: {where: \"width >= 256\"}\n"
           "  - component: write_to_csv\n    arguments: {path: %s/big-out.csv}\n",
           g_dir, csv, g_dir);
  f = fopen(yp, "w");
  fputs(y, f);
  fclose(f);
  char *o = NULL;
  int rc = tu_run(&o, "%s run '%s' --quiet --workers 2 --memory-limit 24MB --report '%s' 2>&1", tu_praline_bin(), yp, rep);
  if (rc) fprintf(stderr, "%s\n", o);
  assert_int_equal(rc, 0);
  free(o);
  tu_run(&o, "cat '%s'", rep);
  const char *pm = strstr(o, "\"peak_memory\":");
  assert_non_null(pm);
  assert_true(atoll(pm + 14) <= 24000000);
  char want[128];
  snprintf(want, sizeof want, "\"name\":\"filter\",\"rows_in\":500000,\"rows_out\":%lld", keep);
  assert_non_null(strstr(o, want));
  free(o);
  tu_run(&o, "wc -l < '%s/big-out.csv'", g_dir);
  assert_int_equal(atoll(o), keep + 1);
  free(o);
}

/* repartition: a new engine stage over equal row ranges; the data and its order do not change,
 * the partition files do (every field is rewritten under the repartition component). */
static void test_repartition(void **state) {
  char outs[2][1024];
  int files[2];
  for (int k = 0; k < 2; k++) {
    pl_pipeline *p = new_pipeline(k ? "repart" : "norepart");
    add(p, "filter", "{\"where\": \"width >= 256\"}");
    if (k) add(p, "repartition", "{\"partition_size\": \"64KB\"}");
    add(p, "derive", "{\"fields\": {\"w2\": \"width * 2\"}}");
    snprintf(outs[k], sizeof outs[k], "%s/repart-out%d", g_dir, k);
    char args[1200];
    snprintf(args, sizeof args, "{\"path\": \"%s\"}", outs[k]);
    add(p, "write_to_parquet", args);
    pl_pipeline_report rep;
    run_ok(p, &rep, true);
    char *o = NULL;
    tu_run(&o, "ls '%s' | wc -l", outs[k]);
    files[k] = atoi(o);
    free(o);
    if (k) {
      assert_string_equal(rep.ops[2].name, "repartition");
      assert_int_equal(rep.ops[2].rows_in, rep.ops[1].rows_out);
      assert_int_equal(rep.ops[2].rows_out, rep.ops[1].rows_out);
      tu_run(&o, "cat '%s'/base/repart/%s/derive/manifest.json", g_dir, rep.run_id);
      char pat[512];
      snprintf(pat, sizeof pat, "repart/%s/repartition/caption\"", rep.run_id);
      assert_non_null(strstr(o, pat));
      snprintf(pat, sizeof pat, "repart/%s/derive/w2\"", rep.run_id);
      assert_non_null(strstr(o, pat));
      free(o);
    }
    pl_pipeline_free(p);
  }
  /* the input is one row group: one partition, cut into several by the repartition */
  assert_int_equal(files[0], 1);
  assert_true(files[1] >= 4);
  char *a = NULL, *b = NULL;
  assert_int_equal(tu_run(&a, "%s cat '%s' --format csv", tu_praline_bin(), outs[0]), 0);
  assert_int_equal(tu_run(&b, "%s cat '%s' --format csv", tu_praline_bin(), outs[1]), 0);
  assert_true(strlen(a) > 10000);
  assert_string_equal(a, b);
  free(a);
  free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_select_drop_rename_derive),
      cmocka_unit_test(test_sample_deterministic),
      cmocka_unit_test(test_load_mapping_and_limit),
      cmocka_unit_test(test_add_fn),
      cmocka_unit_test(test_plugin_out_of_tree),
      cmocka_unit_test(test_csv_jsonl),
      cmocka_unit_test(test_repartition),
      cmocka_unit_test(test_csv_bigger_than_memory),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

/* seed-oom — the scenario that killed a Dask worker, run by praline's engine.
 *
 * 4 partitions of 10 rows; each row holds a distinct 128 MiB string (5 GiB in all, 1.25 GiB
 * per partition). A generator source makes the rows, a `length` transform measures them,
 * and both components write column-wise:
 *   <out>/seed/<run_id>/load/text/part.0000N.parquet      (id, text)
 *   <out>/seed/<run_id>/length/length/part.0000N.parquet  (id, length)
 * under --memory-limit (default 2GB) with --workers (default 4). It prints the elapsed time
 * and the run report; its last line is one JSON object (rows_out, seconds, peak_rss_bytes...).
 *
 *   build/seed-oom --out /tmp/seed --memory-limit 2GB --workers 4
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "praline/engine.h"

typedef struct seed {
  int64_t partitions, rows;
  uint64_t value_bytes;
} seed;

static pl_status seed_size(void *state, int64_t p, int64_t *rows, uint64_t *bytes, pl_error *err) {
  const seed *s = state;
  (void)p;
  (void)err;
  *rows = s->rows;
  *bytes = (uint64_t)s->rows * (s->value_bytes + 8);
  return PL_OK;
}

/* Row r of partition p: letters from a xorshift stream seeded by the row's global number,
 * so every row is distinct and every run makes the same bytes. */
static void fill_value(uint8_t *dst, uint64_t n, uint64_t row) {
  uint64_t x = 0x9E3779B97F4A7C15ull ^ (row * 0xBF58476D1CE4E5B9ull + 1);
  for (uint64_t i = 0; i < n; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    uint64_t y = x;
    for (uint64_t k = 0; k < 8 && i + k < n; k++, y >>= 8) dst[i + k] = (uint8_t)('a' + (y & 0xff) % 26);
  }
}

static pl_status seed_fill(void *state, int64_t p, int64_t row_start, int64_t n_rows,
                           pl_batch *out, pl_error *err) {
  const seed *s = state;
  pl_column *text = out->columns[0];
  /* Build the values in place: no 128 MiB temporary per row. */
  pl_status st = pl_column_reserve(text, n_rows, (size_t)n_rows * s->value_bytes, err);
  for (int64_t r = row_start; !st && r < row_start + n_rows; r++) {
    uint8_t *dst;
    st = pl_buf_append_zeros(&text->values, s->value_bytes, &dst, err);
    if (st) break;
    fill_value(dst, s->value_bytes, (uint64_t)(p * s->rows + r));
    int64_t end = (int64_t)text->values.len;
    st = pl_buf_append(&text->offsets, &end, sizeof end, err);
    if (!st) text->length++;
  }
  return st;
}

static pl_status length_fn(const pl_batch *in, pl_batch *out, void *state, pl_error *err) {
  (void)state;
  const pl_column *text = in->columns[1];
  const int64_t *o = pl_column_offsets(text);
  pl_column *len = out->columns[0];
  pl_status st = pl_column_reserve(len, in->length, 0, err);
  for (int64_t i = 0; !st && i < in->length; i++)
    st = pl_column_is_valid(text, i) ? pl_column_append_int(len, o[i + 1] - o[i], err)
                                     : pl_column_append_null(len, err);
  return st;
}

static void usage(void) {
  fprintf(stderr,
          "usage: seed-oom --out DIR [--memory-limit 2GB] [--workers 4] [--writer-threads 2]\n"
          "                [--partitions 4] [--rows 10] [--value-bytes 128MiB] [--codec zstd]\n"
          "                [--run-id ID] [--resume] [--report FILE.json]\n");
  exit(2);
}

int main(int argc, char **argv) {
  pl_error err;
  pl_error_clear(&err);
  seed s = {4, 10, 128u << 20};
  pl_engine_options o;
  pl_engine_options_default(&o);
  o.memory_limit = 2000000000u;
  o.workers = 4;
  o.run_id = "seed-run";
  const char *out = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    uint64_t n = 0;
    if (!strcmp(a, "--resume")) {
      o.resume = true;
      continue;
    }
    if (!v) usage();
    i++;
    if (!strcmp(a, "--out")) out = v;
    else if (!strcmp(a, "--run-id")) o.run_id = v;
    else if (!strcmp(a, "--report")) o.report_path = v;
    else if (!strcmp(a, "--codec")) {
      if (pl_codec_parse(v, &o.write.codec, &err)) goto fail;
    } else if (!strcmp(a, "--workers")) o.workers = atoi(v);
    else if (!strcmp(a, "--writer-threads")) o.writer_threads = atoi(v);
    else if (!strcmp(a, "--partitions")) s.partitions = atoll(v);
    else if (!strcmp(a, "--rows")) s.rows = atoll(v);
    else if (!strcmp(a, "--memory-limit") || !strcmp(a, "--value-bytes")) {
      if (pl_parse_size(v, &n, &err)) goto fail;
      if (!strcmp(a, "--memory-limit")) o.memory_limit = n;
      else s.value_bytes = n;
    } else usage();
  }
  if (!out) usage();

  pl_schema schema;
  pl_schema_init(&schema);
  pl_schema_add(&schema, pl_field_make("text", pl_type_make(PL_STRING), false));
  pl_schema produces;
  pl_schema_init(&produces);
  pl_schema_add(&produces, pl_field_make("length", pl_type_make(PL_INT64), false));
  pl_generator g = {&schema, s.partitions, seed_size, seed_fill, &s};
  const char *consumes[] = {"text"};
  pl_engine_report rep;
  memset(&rep, 0, sizeof rep);
  double t0 = pl_now();
  pl_engine *e = pl_engine_new(out, "seed", &o, &err);
  pl_status st = e ? PL_OK : err.code;
  pl_source *src = st ? NULL : pl_source_generator_new(&g, &err);
  if (!st && !src) st = err.code;
  if (!st) st = pl_engine_set_source(e, "load", src, true, &err);
  if (!st) st = pl_engine_add_transform(e, "length", length_fn, NULL, 1, consumes, &produces, &err);
  if (!st) st = pl_engine_run(e, &rep, &err);
  double secs = pl_now() - t0;
  pl_schema_release(&schema);
  pl_schema_release(&produces);
  if (e) {
    printf("output: %s\n", pl_engine_run_dir(e));
    pl_engine_free(e);
  }
  if (st) {
    fprintf(stderr, "seed-oom: %s\n", err.msg);
    return 1;
  }
  printf("elapsed: %.2f s\n", secs);
  pl_engine_report_print(&rep, stdout);
  pl_engine_report_json(&rep, stdout);
  printf("\n");
  return 0;
fail:
  fprintf(stderr, "seed-oom: %s\n", err.msg);
  return 2;
}

/* w2_common.h — the W2a / W2 benchmark pipelines over the engine, shared by bench_w2a.c and
 * bench_w2.c (until YAML pipelines arrive, the C API drives the engine):
 *   load laion Parquet -> filter width >= 256 and height >= 256 and caption is not null
 *   -> derive caption_len (characters) -> [W2: dedup on url, keeping the smallest id]
 *   -> export every column as zstd Parquet (<out>/export/part-NNNNN.parquet).
 * The last line printed is one JSON object (the run report: rows_out, seconds,
 * peak_rss_bytes, ...). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "praline/engine.h"

/* The transforms write straight into the reserved value buffers of their (empty, non-null)
 * output columns: a column of fixed width holds exactly length * width bytes, so filling the
 * buffer and then moving len and length keeps it valid (see include/praline/columnar.h). */

/* consumes width, height, caption; produces id (the kept rows) */
static pl_status w2_filter(const pl_batch *in, pl_batch *out, void *state, pl_error *err) {
  (void)state;
  const int64_t *id = (const int64_t *)in->columns[0]->values.data;
  const pl_column *w = in->columns[1], *h = in->columns[2], *cap = in->columns[3];
  const int32_t *wv = (const int32_t *)w->values.data, *hv = (const int32_t *)h->values.data;
  pl_column *o = out->columns[0];
  pl_status st = pl_column_reserve(o, in->length, 0, err);
  if (st) return st;
  int64_t *d = (int64_t *)(void *)(o->values.data + o->values.len), k = 0;
  const bool nulls = w->validity.len || h->validity.len || cap->validity.len;
  for (int64_t i = 0; i < in->length; i++) {
    if (nulls && (!pl_column_is_valid(w, i) || !pl_column_is_valid(h, i) || !pl_column_is_valid(cap, i)))
      continue;
    d[k] = id[i];
    k += wv[i] >= 256 && hv[i] >= 256;
  }
  o->values.len += (size_t)k * 8;
  o->length += k;
  return PL_OK;
}

/* UTF-8 characters of p[0..n): bytes that are not continuation bytes (10xxxxxx), 8 at a time. */
static inline int32_t w2_utf8_chars(const uint8_t *p, int64_t n) {
  int64_t i = 0, cont = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    memcpy(&x, p + i, 8);
    cont += (int64_t)((((x & ~(x << 1) & 0x8080808080808080ULL) >> 7) * 0x0101010101010101ULL) >> 56);
  }
  for (; i < n; i++) cont += (p[i] & 0xC0) == 0x80;
  return (int32_t)(n - cont);
}

/* consumes caption; produces caption_len: int32, the number of UTF-8 characters */
static pl_status w2_caption_len(const pl_batch *in, pl_batch *out, void *state, pl_error *err) {
  (void)state;
  const pl_column *cap = in->columns[1];
  const int64_t *o = pl_column_offsets(cap);
  pl_column *len = out->columns[0];
  pl_status st = pl_column_reserve(len, in->length, 0, err);
  if (st) return st;
  if (cap->validity.len && cap->null_count) { /* not after w2_filter: row by row */
    for (int64_t i = 0; !st && i < in->length; i++)
      st = pl_column_is_valid(cap, i) ? pl_column_append_int(len, w2_utf8_chars(cap->values.data + o[i], o[i + 1] - o[i]), err)
                                      : pl_column_append_null(len, err);
    return st;
  }
  int32_t *d = (int32_t *)(void *)(len->values.data + len->values.len);
  for (int64_t i = 0; i < in->length; i++) d[i] = w2_utf8_chars(cap->values.data + o[i], o[i + 1] - o[i]);
  len->values.len += (size_t)in->length * 4;
  len->length += in->length;
  return PL_OK;
}

static void w2_usage(const char *name) {
  fprintf(stderr,
          "usage: %s --input DIR --out DIR [--memory-limit 2GB] [--workers N]\n"
          "       [--writer-threads 2] [--partition-size 128MB] [--codec zstd] [--codec-level N] [--run-id ID]\n"
          "       [--resume] [--report FILE.json] [--test-writer-delay-ms MS] [--write-load]\n"
          "--write-load writes the load's fields column-wise too, as a YAML pipeline's load does\n", name);
  exit(2);
}

static int w2_main(int argc, char **argv, const char *name, bool dedup) {
  pl_error err;
  pl_error_clear(&err);
  pl_engine_options o;
  pl_engine_options_default(&o);
  o.memory_limit = 2000000000u;
  o.run_id = name;
  const char *input = NULL, *out = NULL;
  uint64_t psize = 0;
  pl_codec codec = PL_CODEC_ZSTD;
  int level = 0; /* 0: the codec's default in praline */
  bool write_load = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--resume")) {
      o.resume = true;
      continue;
    }
    if (!strcmp(a, "--write-load")) {
      write_load = true;
      continue;
    }
    if (!v) w2_usage(name);
    i++;
    uint64_t n = 0;
    if (!strcmp(a, "--input")) input = v;
    else if (!strcmp(a, "--out")) out = v;
    else if (!strcmp(a, "--run-id")) o.run_id = v;
    else if (!strcmp(a, "--report")) o.report_path = v;
    else if (!strcmp(a, "--workers")) o.workers = atoi(v);
    else if (!strcmp(a, "--writer-threads")) o.writer_threads = atoi(v);
    else if (!strcmp(a, "--codec-level")) level = atoi(v);
    else if (!strcmp(a, "--test-writer-delay-ms")) o.test_writer_delay_ms = (unsigned)atoi(v);
    else if (!strcmp(a, "--codec")) {
      if (pl_codec_parse(v, &codec, &err)) goto fail;
    } else if (!strcmp(a, "--memory-limit") || !strcmp(a, "--partition-size")) {
      if (pl_parse_size(v, &n, &err)) goto fail;
      if (!strcmp(a, "--memory-limit")) o.memory_limit = n;
      else psize = n;
    } else w2_usage(name);
  }
  if (!input || !out) w2_usage(name);
  o.write.codec = codec;

  char xdir[4096];
  snprintf(xdir, sizeof xdir, "%s/export", out);
  pl_export_options xo;
  memset(&xo, 0, sizeof xo);
  xo.dir = xdir;
  pl_parquet_write_options_default(&xo.write);
  xo.write.codec = codec;
  if (level) xo.write.codec_level = level;

  pl_schema p_filter, p_len;
  pl_schema_init(&p_filter);
  pl_schema_add(&p_filter, pl_field_make("id", pl_type_make(PL_INT64), false));
  pl_schema_init(&p_len);
  pl_schema_add(&p_len, pl_field_make("caption_len", pl_type_make(PL_INT32), true));
  const char *c_filter[] = {"width", "height", "caption"};
  const char *c_len[] = {"caption"};
  const char *keys[] = {"url"};
  const char *paths[] = {input};
  pl_engine_report rep;
  memset(&rep, 0, sizeof rep);
  pl_engine *e = pl_engine_new(out, name, &o, &err);
  pl_status st = e ? PL_OK : err.code;
  pl_source *src = st ? NULL : pl_source_parquet_new(1, paths, 0, NULL, psize, &err);
  if (!st && !src) st = err.code;
  if (!st) st = pl_engine_set_source(e, "load", src, write_load, &err);
  if (!st) st = pl_engine_add_transform(e, "filter", w2_filter, NULL, 3, c_filter, &p_filter, &err);
  if (!st) st = pl_engine_add_transform(e, "caption_len", w2_caption_len, NULL, 1, c_len, &p_len, &err);
  if (!st && dedup) st = pl_engine_add_dedup(e, "dedup_url", 1, keys, &err);
  if (!st) st = pl_engine_set_export(e, "export", &xo, &err);
  if (!st) st = pl_engine_run(e, &rep, &err);
  pl_engine_free(e);
  pl_schema_release(&p_filter);
  pl_schema_release(&p_len);
  if (st) goto fail;
  pl_engine_report_print(&rep, stderr);
  pl_engine_report_json(&rep, stdout);
  printf("\n");
  return 0;
fail:
  fprintf(stderr, "%s: %s\n", name, err.msg);
  return 1;
}

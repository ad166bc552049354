/* fuzz_common.h — the shared body of fuzz_csv and fuzz_jsonl: the input (after one option byte)
 * is written to a temporary file and read with inference, tiny or normal chunks and a small
 * budget; whatever reads is written back with the writer and re-read with the inferred schema,
 * and every column must come back with the same canonical checksum (the round-trip oracle). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "praline/formats.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char in_path[256], out_path[256];

static void paths(void) {
  if (in_path[0]) return;
  const char *t = getenv("TMPDIR");
  snprintf(in_path, sizeof in_path, "%s/praline-fuzz-%ld.in", t && *t ? t : "/tmp", (long)getpid());
  snprintf(out_path, sizeof out_path, "%s/praline-fuzz-%ld.out", t && *t ? t : "/tmp", (long)getpid());
}

/* Reads everything into one batch; NULL on error. Frees nothing of the caller's. */
static pl_batch *read_whole(const char *path, pl_formats_options *o, pl_schema *schema_out) {
  pl_formats_reader *r;
  if (pl_formats_reader_open(path, o, &r, NULL)) return NULL;
  pl_batch *all = pl_batch_new(pl_formats_reader_schema(r), NULL, NULL);
  if (schema_out) pl_schema_copy(schema_out, pl_formats_reader_schema(r));
  pl_status st;
  for (;;) {
    pl_batch *b;
    st = pl_formats_reader_next(r, &b, NULL);
    if (st || !b) break;
    if (b->length > o->batch_rows) abort();
    for (int c = 0; c < b->schema.n_fields; c++)
      if (pl_column_append_slice(all->columns[c], b->columns[c], 0, b->length, NULL)) abort();
    pl_batch_free(b);
  }
  if (!st && pl_batch_finish(all, NULL)) abort();
  if (pl_budget_used(o->budget) != 0 && st == PL_OK) {
    /* only `all` (uncounted) may remain: the reader's own buffers are still charged */
  }
  pl_formats_reader_free(r);
  if (st) {
    pl_batch_free(all);
    if (schema_out) pl_schema_release(schema_out);
    return NULL;
  }
  return all;
}

static void checksum(const pl_column *c, char out[17]) {
  pl_checksum *k = pl_checksum_new(&c->type);
  if (pl_checksum_add(k, c, NULL)) abort();
  pl_checksum_hex(k, out);
  pl_checksum_free(k);
}

static bool names_unique(const pl_schema *s) {
  for (int i = 0; i < s->n_fields; i++) {
    if (pl_schema_find(s, s->fields[i].name) != i) return false;
  }
  return true;
}

static int fuzz_one(pl_format_kind kind, const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  paths();
  uint8_t opt = data[0];
  FILE *f = fopen(in_path, "wb");
  if (!f) abort();
  if (size > 1 && fwrite(data + 1, 1, size - 1, f) != size - 1) abort();
  fclose(f);

  pl_budget *bud = pl_budget_new(4u << 20);
  pl_formats_options o = pl_formats_options_default(kind);
  static const char delims[] = {',', ';', '\t', '|'};
  o.delimiter = delims[opt & 3];
  o.header = !(opt & 4);
  o.chunk_bytes = (opt & 8) ? 1 + (opt >> 5) : 4096;
  o.on_error = (opt & 16) ? PL_ON_ERROR_SKIP : PL_ON_ERROR_FAIL;
  o.batch_rows = 7;
  o.infer_rows = 50;
  o.budget = bud;
  pl_schema s = {0};
  pl_batch *b = read_whole(in_path, &o, &s);
  if (pl_budget_used(bud) != 0) abort(); /* the reader returned every byte it charged */
  if (!b) goto done;
  bool oracle = names_unique(&s) && (kind == PL_FORMAT_JSONL || s.n_fields > 1);
  pl_formats_writer *w;
  pl_formats_options wo = o;
  wo.budget = NULL;
  pl_error err = {0};
  if (pl_formats_writer_open(out_path, &s, &wo, &w, &err)) abort();
  if (pl_formats_writer_write(w, b, &err) || pl_formats_writer_close(w, &err)) abort();
  pl_formats_writer_free(w);
  if (oracle) {
    pl_formats_options ro = pl_formats_options_default(kind);
    ro.delimiter = o.delimiter;
    ro.header = o.header;
    ro.schema = &s;
    ro.budget = bud;
    pl_batch *back = read_whole(out_path, &ro, NULL);
    if (!back || back->length != b->length) {
      fprintf(stderr, "round trip failed: %s\n", back ? "row count" : "re-read error");
      abort();
    }
    for (int c = 0; c < s.n_fields; c++) {
      char x[17], y[17];
      checksum(b->columns[c], x);
      checksum(back->columns[c], y);
      if (strcmp(x, y) != 0) {
        fprintf(stderr, "round trip changed column %d\n", c);
        abort();
      }
    }
    pl_batch_free(back);
  }
  unlink(out_path);
  pl_batch_free(b);
  pl_schema_release(&s);
done:
  pl_budget_free(bud);
  return 0;
}

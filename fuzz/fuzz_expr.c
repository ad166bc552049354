/* fuzz_expr.c — the expression parser and type checker on arbitrary text, and, when the text
 * compiles, evaluation and filtering over a small batch with nulls in every column (so the
 * kernels run on whatever the checker accepted). Memory is bounded by a budget: a text that
 * builds huge strings must fail with PL_ELIMIT, not crash. Each text is evaluated twice, over
 * the whole batch as one chunk and in chunks of 3 rows: results must be equal, value by value
 * (unless one run hit the budget, which chunks of fewer rows may avoid). */
#include <stdlib.h>
#include <string.h>

#include "praline/expr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
extern int64_t pl__expr_chunk_rows; /* src/expr/internal.h */

static pl_batch *batch;

static void add(pl_batch *b, const char *name, pl_type t, pl_column *c) {
  pl_field f = pl_field_make(name, t, true);
  if (pl_batch_take_column(b, &f, c, NULL)) abort();
  pl_field_release(&f);
}

static pl_column *col(pl_type t) {
  pl_column *c = pl_column_new(&t, NULL, NULL);
  if (!c) abort();
  return c;
}

static void build(void) {
  pl_schema s;
  pl_schema_init(&s);
  batch = pl_batch_new(&s, NULL, NULL);
  static const char *const text[] = {"Hello", "wörld", NULL, "  pad  ", "", "\xff\xfe", "2024-01-01", "42"};
  static const int64_t ints[] = {1, -2, 0, 2147483647, -2147483647 - 1, 250, 7, 100};
  pl_column *i = col(pl_type_make(PL_INT32)), *j = col(pl_type_make(PL_INT64)), *u = col(pl_type_make(PL_UINT64)),
            *u8 = col(pl_type_make(PL_UINT8)), *f = col(pl_type_make(PL_FLOAT64)), *g = col(pl_type_make(PL_FLOAT32)),
            *s1 = col(pl_type_make(PL_STRING)), *bn = col(pl_type_make(PL_BINARY)), *b = col(pl_type_make(PL_BOOL)),
            *d = col(pl_type_make(PL_DATE32)), *ts = col(pl_type_timestamp(PL_MILLI, NULL)),
            *dec = col(pl_type_decimal(12, 3));
  for (int r = 0; r < 8; r++) {
    bool null = r == 2;
    if (null) {
      pl_column *all[] = {i, j, u, u8, f, g, s1, bn, b, d, ts, dec};
      for (int k = 0; k < 12; k++) pl_column_append_null(all[k], NULL);
      continue;
    }
    pl_column_append_int(i, ints[r], NULL);
    pl_column_append_int(j, ints[r] * 4294967296LL, NULL);
    pl_column_append_int(u, r == 3 ? -1 : ints[r], NULL);
    pl_column_append_int(u8, (uint8_t)ints[r], NULL);
    pl_column_append_float(f, r == 5 ? 0.0 / 0.0 : (double)ints[r] / 3, NULL);
    pl_column_append_float(g, (double)r / 4, NULL);
    pl_column_append_bytes(s1, text[r], strlen(text[r]), NULL);
    pl_column_append_bytes(bn, text[r], strlen(text[r]), NULL);
    pl_column_append_bool(b, r % 2, NULL);
    pl_column_append_int(d, ints[r], NULL);
    pl_column_append_int(ts, ints[r] * 1000, NULL);
    __int128 v = ints[r];
    pl_column_append_bytes(dec, &v, 16, NULL);
  }
  add(batch, "i", pl_type_make(PL_INT32), i);
  add(batch, "j", pl_type_make(PL_INT64), j);
  add(batch, "u", pl_type_make(PL_UINT64), u);
  add(batch, "u8", pl_type_make(PL_UINT8), u8);
  add(batch, "f", pl_type_make(PL_FLOAT64), f);
  add(batch, "g", pl_type_make(PL_FLOAT32), g);
  add(batch, "s", pl_type_make(PL_STRING), s1);
  add(batch, "bin", pl_type_make(PL_BINARY), bn);
  add(batch, "b", pl_type_make(PL_BOOL), b);
  add(batch, "d", pl_type_make(PL_DATE32), d);
  add(batch, "ts", pl_type_timestamp(PL_MILLI, NULL), ts);
  add(batch, "dec", pl_type_decimal(12, 3), dec);
  if (pl_batch_finish(batch, NULL)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!batch) build();
  if (size > 4096) return 0;
  char *text = malloc(size + 1);
  memcpy(text, data, size);
  text[size] = 0;
  pl_error err;
  pl_expr *e;
  pl_expr_diag diag;
  if (pl_expr_compile_diag(text, &batch->schema, &e, &diag, &err) == PL_OK) {
    pl_budget *b = pl_budget_new(64u << 20);
    pl_column *c[2] = {NULL, NULL};
    pl_status st[2];
    int64_t kept[2] = {-1, -1};
    for (int k = 0; k < 2; k++) {
      pl__expr_chunk_rows = k ? 3 : 16384;
      st[k] = pl_expr_eval(e, batch, b, &c[k], &err);
      if (st[k] == PL_OK && c[k]->length != batch->length) __builtin_trap();
      pl_batch *out;
      if (pl_expr_type(e)->id == PL_BOOL && pl_expr_filter(e, batch, b, &out, &err) == PL_OK) {
        if (out->length > batch->length) __builtin_trap();
        kept[k] = out->length;
        pl_batch_free(out);
      }
    }
    pl__expr_chunk_rows = 16384;
    if (st[0] != PL_ELIMIT && st[1] != PL_ELIMIT) {
      if ((st[0] == PL_OK) != (st[1] == PL_OK)) __builtin_trap();
      if (st[0] == PL_OK) {
        if (c[0]->null_count != c[1]->null_count) __builtin_trap();
        for (int64_t r = 0; r < batch->length; r++) {
          char x[512], y[512];
          pl_canonical_value(c[0], r, x, sizeof x);
          pl_canonical_value(c[1], r, y, sizeof y);
          if (strcmp(x, y)) __builtin_trap();
        }
      }
      if (kept[0] >= 0 && kept[1] >= 0 && kept[0] != kept[1]) __builtin_trap();
    }
    pl_column_free(c[0]);
    pl_column_free(c[1]);
    if (pl_budget_used(b) != 0) __builtin_trap(); /* every vector credited back */
    pl_budget_free(b);
    pl_expr_free(e);
  } else if (diag.offset > (int32_t)size) {
    __builtin_trap();
  }
  free(text);
  return 0;
}

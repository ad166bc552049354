/* batch.c — pl_batch: a schema and one column per field, all of one length. */
#include "columnar/internal.h"

#include <string.h>

pl_batch *pl_batch_new(const pl_schema *schema, pl_budget *b, pl_error *err) {
  pl_batch *batch = pl_calloc(1, sizeof *batch);
  batch->budget = b;
  pl_schema_copy(&batch->schema, schema);
  batch->columns = pl_calloc((size_t)(schema->n_fields > 0 ? schema->n_fields : 1), sizeof *batch->columns);
  for (int32_t i = 0; i < schema->n_fields; i++) {
    batch->columns[i] = pl_column_new(&schema->fields[i].type, b, err);
    if (!batch->columns[i]) {
      pl_error_prefix(err, "field '%s'", schema->fields[i].name);
      pl_batch_free(batch);
      return NULL;
    }
  }
  return batch;
}

void pl_batch_free(pl_batch *batch) {
  if (!batch) return;
  for (int32_t i = 0; i < batch->schema.n_fields; i++) pl_column_free(batch->columns[i]);
  pl_free(batch->columns);
  pl_schema_release(&batch->schema);
  pl_free(batch);
}

pl_status pl_batch_finish(pl_batch *batch, pl_error *err) {
  int32_t n = batch->schema.n_fields;
  if (n == 0) return PL_OK;
  int64_t len = batch->columns[0]->length;
  for (int32_t i = 1; i < n; i++)
    if (batch->columns[i]->length != len)
      return pl_error_set(err, PL_EINVAL, "column '%s' has %lld rows but column '%s' has %lld",
                          batch->schema.fields[i].name, (long long)batch->columns[i]->length,
                          batch->schema.fields[0].name, (long long)len);
  batch->length = len;
  return PL_OK;
}

/* The column is taken even on failure (it is freed then), so callers have one path. */
pl_status pl_batch_take_column(pl_batch *batch, const pl_field *f, pl_column *c, pl_error *err) {
  pl_status st = PL_OK;
  if (!pl__type_layout_equal(&f->type, &c->type)) {
    char a[256], b[256];
    pl_type_canonical(&f->type, a, sizeof a);
    pl_type_canonical(&c->type, b, sizeof b);
    st = pl_error_set(err, PL_EINVAL, "field '%s' is %s but the column is %s", f->name, a, b);
  } else if (batch->schema.n_fields > 0 && c->length != batch->columns[0]->length) {
    st = pl_error_set(err, PL_EINVAL, "column '%s' has %lld rows, column '%s' %lld", f->name,
                      (long long)c->length, batch->schema.fields[0].name,
                      (long long)batch->columns[0]->length);
  }
  if (st) {
    pl_column_free(c);
    return st;
  }
  int32_t n = batch->schema.n_fields;
  batch->columns = pl_realloc(batch->columns, sizeof *batch->columns * (size_t)(n + 1));
  batch->columns[n] = c;
  pl_field copy;
  pl_field_copy(&copy, f);
  pl_schema_add(&batch->schema, copy);
  batch->length = c->length;
  return PL_OK;
}

size_t pl_batch_bytes(const pl_batch *batch) {
  size_t n = 0;
  for (int32_t i = 0; i < batch->schema.n_fields; i++) n += pl_column_bytes(batch->columns[i]);
  return n;
}

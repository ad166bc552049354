/* builtins.c — the partition-wise functions behind the built-in components (filter, derive,
 * select/drop, rename, sample), the plugin adapter (Arrow C Data Interface), and the source
 * that rereads a cached component's column-wise output. */
#include "pipeline/internal.h"
#include "praline/expr.h"
#include "praline/parquet.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

/* Room for n more ids at the end of the (non-null int64) id column; ids_commit adds the k
 * written there. A filter writes its kept ids without a call per row. */
static int64_t *ids_room(pl_column *ids, int64_t n, pl_error *err) {
  if (ids->type.id != PL_INT64 || ids->validity.len)
    return pl_error_set(err, PL_EINTERNAL, "the id column is not a non-null int64 column"), NULL;
  if (pl_column_reserve(ids, n, 0, err)) return NULL;
  return (int64_t *)(void *)(ids->values.data + ids->values.len);
}
static void ids_commit(pl_column *ids, int64_t k) {
  ids->values.len += (size_t)k * sizeof(int64_t);
  ids->length += k;
}

pl_status pl__fn_filter(const pl_batch *in, pl_batch *out, void *state, pl_error *err) {
  pl__filter_state *s = state;
  uint8_t *sel = NULL;
  pl_status st = pl_expr_select(s->e, in, out->budget, &sel, err);
  if (st) return st;
  const int64_t *idv = (const int64_t *)in->columns[0]->values.data;
  int64_t *d = ids_room(out->columns[0], in->length, err), k = 0;
  if (!d) st = err ? err->code : PL_ENOMEM;
  for (int64_t i = 0; !st && i < in->length; i++) {
    d[k] = idv[i];
    k += sel[i]; /* no branch: kept rows stay */
  }
  if (!st) ids_commit(out->columns[0], k);
  pl_expr_select_free(out->budget, sel, in->length);
  return st;
}

pl_status pl__fn_derive(const pl_batch *in, pl_batch *out, void *state, pl_error *err) {
  pl__derive_state *s = state;
  for (int i = 0; i < s->n; i++) {
    pl_column *c = NULL;
    pl_status st = pl_expr_eval(s->e[i], in, out->budget, &c, err);
    if (st) return st;
    pl_column_free(out->columns[i]);
    out->columns[i] = c;
  }
  return PL_OK;
}

pl_status pl__fn_noop(const pl_batch *in, pl_batch *out, void *state, pl_error *err) {
  return PL_OK;
}

pl_status pl__fn_copy(const pl_batch *in, pl_batch *out, void *state, pl_error *err) {
  const int64_t *limit = state;
  int64_t n = in->length;
  int first = 0;
  if (limit) { /* out: id, then the copies, of the rows with id < limit */
    const int64_t *idv = (const int64_t *)in->columns[0]->values.data;
    int64_t k = 0;
    while (k < n && idv[k] < *limit) k++;
    n = k;
    pl_status st = pl_column_append_slice(out->columns[0], in->columns[0], 0, n, err);
    if (st) return st;
    first = 1;
  }
  for (int32_t i = first; i < out->schema.n_fields; i++) {
    pl_status st = pl_column_append_slice(out->columns[i], in->columns[i - first + 1], 0, n, err);
    if (st) return st;
  }
  return PL_OK;
}

pl_status pl__fn_sample(const pl_batch *in, pl_batch *out, void *state, pl_error *err) {
  pl__sample_state *s = state;
  const int64_t *idv = (const int64_t *)in->columns[0]->values.data;
  double cut = s->fraction * 18446744073709551616.0;
  int64_t *d = ids_room(out->columns[0], in->length, err), k = 0;
  if (!d) return err ? err->code : PL_ENOMEM;
  for (int64_t i = 0; i < in->length; i++) {
    uint64_t h = pl_hash64(&idv[i], sizeof idv[i], s->seed);
    if (s->fraction >= 1.0 || (double)h < cut) d[k++] = idv[i];
  }
  ids_commit(out->columns[0], k);
  return PL_OK;
}

/* The plugin sees a struct array of copies of the consumed columns (the engine's columns are
 * shared with later components, and export moves buffers). */
pl_status pl__fn_plugin(const pl_batch *in, pl_batch *out, void *state, pl_error *err) {
  pl__plugin_state *s = state;
  pl_schema sc;
  pl_schema_copy(&sc, &in->schema);
  for (int32_t i = 1; s->names && i < sc.n_fields && i - 1 < s->names->n_fields; i++) {
    pl_free(sc.fields[i].name);
    sc.fields[i].name = pl_strdup(s->names->fields[i - 1].name);
  }
  pl_batch *copy = pl_batch_new(&sc, out->budget, err);
  pl_schema_release(&sc);
  if (!copy) return err ? err->code : PL_ENOMEM;
  pl_status st = PL_OK;
  for (int32_t i = 0; !st && i < in->schema.n_fields; i++)
    st = pl_column_append_slice(copy->columns[i], in->columns[i], 0, in->length, err);
  if (!st) st = pl_batch_finish(copy, err);
  if (st) {
    pl_batch_free(copy);
    return st;
  }
  struct ArrowSchema as, os;
  struct ArrowArray aa, oa;
  memset(&os, 0, sizeof os);
  memset(&oa, 0, sizeof oa);
  if ((st = pl_batch_export_arrow(copy, &as, &aa, err))) return st;
  char msg[512] = "";
  int rc = s->vt->process(s->st, &as, &aa, &os, &oa, msg, sizeof msg);
  if (aa.release) aa.release(&aa);
  if (as.release) as.release(&as);
  if (rc) {
    if (oa.release) oa.release(&oa);
    if (os.release) os.release(&os);
    return pl_error_set(err, PL_EINVAL, "plugin: %s", msg[0] ? msg : "process failed");
  }
  pl_batch *res = NULL;
  st = pl_batch_import_arrow(&os, &oa, out->budget, &res, err);
  if (os.release) os.release(&os);
  if (st) {
    if (oa.release) oa.release(&oa);
    return st;
  }
  for (int32_t i = 0; !st && i < out->schema.n_fields; i++) {
    int32_t k = pl_schema_find(&res->schema, out->schema.fields[i].name);
    if (k < 0) st = pl_error_set(err, PL_EINVAL, "plugin: output has no field '%s'", out->schema.fields[i].name);
    else if (!pl_type_equal(&res->schema.fields[k].type, &out->schema.fields[i].type))
      st = pl_error_set(err, PL_EINVAL, "plugin: output field '%s' has another type than its spec says",
                        out->schema.fields[i].name);
    else st = pl_column_append_slice(out->columns[i], res->columns[k], 0, res->length, err);
  }
  pl_batch_free(res);
  return st;
}

/* ------------------------------------------------------------------ cached input */
typedef struct cached {
  char *index_dir;
  pl_schema schema; /* id first */
  char **locs;
  int64_t n_parts;
  /* repartition: new partitions are equal row ranges over the old ones, in order */
  int64_t *old_rows, *old_start; /* rows of each old partition, and its first global row */
  uint64_t total_bytes;
  int64_t total_rows, n_new;
} cached;

static char *part_path(const char *dir, int64_t p) {
  size_t n = strlen(dir) + 32;
  char *s = pl_malloc(n);
  snprintf(s, n, "%s/part.%05lld.parquet", dir, (long long)p);
  return s;
}

static pl_status read_all(const char *path, pl_budget *b, pl_batch **out, pl_error *err) {
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return PL_OK; /* a partition with no file is empty */
  fclose(f);
  pl_parquet_file *pf = pl_parquet_open(path, NULL, b, err);
  if (!pf) return err ? err->code : PL_EIO;
  pl_parquet_reader *r = pl_parquet_reader_new(pf, NULL, b, err);
  pl_status st = r ? PL_OK : (err ? err->code : PL_EIO);
  pl_batch *acc = NULL;
  while (!st) {
    pl_batch *bt = NULL;
    if ((st = pl_parquet_reader_next(r, &bt, err)) || !bt) break;
    if (!acc) acc = bt;
    else {
      for (int32_t i = 0; !st && i < bt->schema.n_fields; i++)
        st = pl_column_append_slice(acc->columns[i], bt->columns[i], 0, bt->length, err);
      if (!st) st = pl_batch_finish(acc, err);
      pl_batch_free(bt);
    }
  }
  pl_parquet_reader_free(r);
  pl_parquet_close(pf);
  if (st) pl_batch_free(acc);
  else *out = acc;
  return st;
}

static pl_status cached_size(void *state, int64_t p, int64_t *rows, uint64_t *bytes, pl_error *err) {
  cached *c = state;
  *rows = 0;
  *bytes = 0;
  for (int32_t i = 0; i < c->schema.n_fields; i++) {
    char *path = part_path(i == 0 ? c->index_dir : c->locs[i], p);
    FILE *f = fopen(path, "rb");
    if (f) {
      fclose(f);
      pl_parquet_file *pf = pl_parquet_open(path, NULL, NULL, err);
      if (!pf) {
        pl_free(path);
        return err ? err->code : PL_EIO;
      }
      const pl_pq_file_metadata *md = pl_parquet_metadata(pf);
      if (i == 0) *rows = md->num_rows;
      for (int32_t g = 0; g < md->n_row_groups; g++) *bytes += (uint64_t)md->row_groups[g].total_byte_size;
      pl_parquet_close(pf);
    }
    pl_free(path);
  }
  *bytes = *bytes * 2 + 4096;
  return PL_OK;
}

/* The index's ids select rows of each field file (both sorted by id within a partition: a
 * merge). */
static pl_status cached_fill(void *state, int64_t p, int64_t row_start, int64_t n_rows, pl_batch *out,
                             pl_error *err) {
  cached *c = state;
  pl_batch *idx = NULL;
  char *path = part_path(c->index_dir, p);
  pl_status st = read_all(path, out->budget, &idx, err);
  pl_free(path);
  if (st || !idx) return st;
  const int64_t *ids = (const int64_t *)idx->columns[0]->values.data;
  int64_t end = row_start + n_rows;
  if (end > idx->length) end = idx->length;
  st = pl_column_append_slice(out->columns[0], idx->columns[0], row_start, end - row_start, err);
  for (int32_t i = 1; !st && i < c->schema.n_fields; i++) {
    pl_batch *fb = NULL;
    path = part_path(c->locs[i], p);
    st = read_all(path, out->budget, &fb, err);
    pl_free(path);
    if (st) break;
    if (!fb) {
      st = pl_error_set(err, PL_ECORRUPT, "cached input: %s has no partition %lld", c->locs[i], (long long)p);
      break;
    }
    const int64_t *fid = (const int64_t *)fb->columns[0]->values.data;
    int64_t k = 0;
    for (int64_t r = row_start; !st && r < end;) {
      while (k < fb->length && fid[k] != ids[r]) k++;
      if (k == fb->length) {
        st = pl_error_set(err, PL_ECORRUPT, "cached input: id %lld of partition %lld not in %s",
                          (long long)ids[r], (long long)p, c->locs[i]);
        break;
      }
      /* a run of rows kept one after another is appended as one slice */
      int64_t n = 1;
      while (r + n < end && k + n < fb->length && fid[k + n] == ids[r + n]) n++;
      st = pl_column_append_slice(out->columns[i], fb->columns[1], k, n, err);
      r += n;
      k += n;
    }
    pl_batch_free(fb);
  }
  pl_batch_free(idx);
  return st;
}

void pl__cached_state_free(void *state) {
  cached *c = state;
  if (!c) return;
  pl_free(c->old_rows);
  pl_free(c->old_start);
  for (int32_t i = 1; i < c->schema.n_fields; i++) pl_free(c->locs[i]);
  pl_free(c->locs);
  pl_schema_release(&c->schema);
  pl_free(c->index_dir);
  pl_free(c);
}

pl_source *pl__cached_source_new(const char *index_dir, const pl_schema *schema,
                                 const char *const *locs, void **state, pl_error *err) {
  cached *c = pl_calloc(1, sizeof *c);
  c->index_dir = pl_strdup(index_dir);
  pl_schema_copy(&c->schema, schema);
  c->locs = pl_calloc((size_t)schema->n_fields, sizeof(char *));
  for (int32_t i = 1; i < schema->n_fields; i++) c->locs[i] = pl_strdup(locs[i]);
  DIR *d = opendir(index_dir);
  if (d) {
    struct dirent *de;
    while ((de = readdir(d))) {
      long long k;
      if (sscanf(de->d_name, "part.%lld.parquet", &k) == 1 && k + 1 > c->n_parts) c->n_parts = k + 1;
    }
    closedir(d);
  }
  pl_generator g = {.schema = &c->schema, .n_partitions = c->n_parts, .size = cached_size,
                    .fill = cached_fill, .state = c};
  pl_source *s = pl_source_generator_new(&g, err);
  if (!s) {
    pl__cached_state_free(c);
    return NULL;
  }
  *state = c;
  return s;
}

/* ------------------------------------------------------------------ repartition */
static pl_status repart_range(const cached *c, int64_t q, int64_t *g0, int64_t *g1) {
  *g0 = c->total_rows * q / c->n_new;
  *g1 = c->total_rows * (q + 1) / c->n_new;
  return PL_OK;
}

static pl_status repart_size(void *state, int64_t q, int64_t *rows, uint64_t *bytes, pl_error *err) {
  cached *c = state;
  int64_t g0, g1;
  repart_range(c, q, &g0, &g1);
  *rows = g1 - g0;
  *bytes = c->total_rows ? (uint64_t)((double)c->total_bytes * (double)(g1 - g0) / (double)c->total_rows) + 4096 : 4096;
  return PL_OK;
}

/* Rows [row_start, row_start + n) of new partition q, read from the old partitions they span. */
static pl_status repart_fill(void *state, int64_t q, int64_t row_start, int64_t n_rows, pl_batch *out,
                             pl_error *err) {
  cached *c = state;
  int64_t g0, g1;
  repart_range(c, q, &g0, &g1);
  int64_t a = g0 + row_start, b = a + n_rows;
  if (b > g1) b = g1;
  pl_status st = PL_OK;
  for (int64_t p = 0; !st && p < c->n_parts && a < b; p++) {
    int64_t s0 = c->old_start[p], s1 = s0 + c->old_rows[p];
    if (s1 <= a || s0 >= b) continue;
    int64_t from = a > s0 ? a : s0, to = b < s1 ? b : s1;
    st = cached_fill(c, p, from - s0, to - from, out, err);
  }
  return st;
}

pl_source *pl__repart_source_new(const char *index_dir, const pl_schema *schema, const char *const *locs,
                                 uint64_t target_bytes, void **state, pl_error *err) {
  void *st0 = NULL;
  pl_source *tmp = pl__cached_source_new(index_dir, schema, locs, &st0, err);
  if (!tmp) return NULL;
  pl_source_free(tmp);
  cached *c = st0;
  c->old_rows = pl_calloc((size_t)(c->n_parts ? c->n_parts : 1), sizeof(int64_t));
  c->old_start = pl_calloc((size_t)(c->n_parts ? c->n_parts : 1), sizeof(int64_t));
  for (int64_t p = 0; p < c->n_parts; p++) {
    uint64_t by;
    if (cached_size(c, p, &c->old_rows[p], &by, err)) {
      pl__cached_state_free(c);
      return NULL;
    }
    c->old_start[p] = c->total_rows;
    c->total_rows += c->old_rows[p];
    c->total_bytes += by;
  }
  if (!target_bytes) target_bytes = 128u << 20;
  c->n_new = (int64_t)((c->total_bytes + target_bytes - 1) / target_bytes);
  if (c->n_new < 1) c->n_new = 1;
  if (c->n_new > c->total_rows && c->total_rows > 0) c->n_new = c->total_rows;
  pl_generator g = {.schema = &c->schema, .n_partitions = c->n_new, .size = repart_size,
                    .fill = repart_fill, .state = c};
  pl_source *s = pl_source_generator_new(&g, err);
  if (!s) {
    pl__cached_state_free(c);
    return NULL;
  }
  *state = c;
  return s;
}

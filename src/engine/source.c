/* source.c — where partitions come from: a generator callback, or Parquet files cut into
 * partitions of about partition_size uncompressed bytes at row-group boundaries. A partition
 * keeps its number; a read can ask for any row range of it, so that a partition too big for
 * memory is read in pieces. */
#include "engine/internal.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static bool has_int64_id(const pl_schema *s) {
  int32_t i = pl_schema_find(s, "id");
  return i >= 0 && s->fields[i].type.id == PL_INT64;
}

/* The source's name of the files' column `name` (itself unless renamed). */
static const char *field_name(const pl_source *s, const char *name) {
  for (int i = 0; i < s->n_renames; i++)
    if (strcmp(s->ren_from[i], name) == 0) return s->ren_to[i];
  return name;
}

const char *pl__source_file_column(const pl_source *s, const char *name) {
  for (int i = 0; i < s->n_renames; i++)
    if (strcmp(s->ren_to[i], name) == 0) return s->ren_from[i];
  return name;
}

/* Gives a read batch's fields the source's names. */
static void rename_fields(const pl_source *s, pl_schema *sc) {
  for (int32_t i = 0; s->n_renames && i < sc->n_fields; i++) {
    const char *to = field_name(s, sc->fields[i].name);
    if (to == sc->fields[i].name) continue;
    pl_free(sc->fields[i].name);
    sc->fields[i].name = pl_strdup(to);
  }
}

/* schema = [id: int64] + inner when the id is generated, else inner; renamed fields under
 * their new names. */
static void finish_schema(pl_source *s) {
  pl_schema_init(&s->schema);
  s->add_id = pl_schema_find(&s->inner, "id") < 0;
  if (s->add_id) pl_schema_add(&s->schema, pl_field_make("id", pl_type_make(PL_INT64), false));
  for (int32_t i = 0; i < s->inner.n_fields; i++) {
    pl_field f;
    pl_field_copy(&f, &s->inner.fields[i]);
    pl_schema_add(&s->schema, f);
  }
  rename_fields(s, &s->schema);
}

/* Every rename names a column of the files (not id) and a new name that no field has. */
static pl_status check_renames(const pl_source *s, pl_error *err) {
  for (int i = 0; i < s->n_renames; i++) {
    if (strcmp(s->ren_from[i], "id") == 0 || strcmp(s->ren_to[i], "id") == 0)
      return pl_error_set(err, PL_EINVAL, "%s: 'id' is the index and keeps its name", s->files[0]);
    if (pl_schema_find(&s->inner, s->ren_from[i]) < 0)
      return pl_error_set(err, PL_ENOTFOUND, "%s: no column '%s' to rename", s->files[0], s->ren_from[i]);
    int uses = 0;
    for (int32_t j = 0; j < s->schema.n_fields; j++) uses += strcmp(s->schema.fields[j].name, s->ren_to[i]) == 0;
    if (uses > 1)
      return pl_error_set(err, PL_EINVAL, "%s: renaming '%s' to '%s' gives two fields '%s'", s->files[0],
                          s->ren_from[i], s->ren_to[i], s->ren_to[i]);
  }
  return PL_OK;
}

pl_status pl_source_rename(pl_source *s, const char *from, const char *to, pl_error *err) {
  if (!s || !from || !to || !*to) return pl_error_set(err, PL_EINVAL, "pl_source_rename: a name is missing");
  if (s->kind != PL__SRC_PARQUET || s->parts)
    return pl_error_set(err, PL_EINVAL, "pl_source_rename: only a Parquet source, before it is planned");
  for (int i = 0; i < s->n_renames; i++)
    if (strcmp(s->ren_from[i], from) == 0)
      return pl_error_set(err, PL_EINVAL, "pl_source_rename: '%s' is renamed twice", from);
  s->ren_from = pl_realloc(s->ren_from, sizeof(char *) * (size_t)(s->n_renames + 1));
  s->ren_to = pl_realloc(s->ren_to, sizeof(char *) * (size_t)(s->n_renames + 1));
  s->ren_from[s->n_renames] = pl_strdup(from);
  s->ren_to[s->n_renames++] = pl_strdup(to);
  return PL_OK;
}

pl_source *pl_source_generator_new(const pl_generator *g, pl_error *err) {
  if (!g || !g->schema || !g->fill || !g->size || g->n_partitions < 0)
    return pl_error_set(err, PL_EINVAL, "generator: schema, size and fill are required"), NULL;
  pl_source *s = pl_calloc(1, sizeof *s);
  s->kind = PL__SRC_GENERATOR;
  s->widen_id = -1;
  s->gen = *g;
  pl_schema_copy(&s->inner, g->schema);
  s->gen.schema = &s->inner;
  finish_schema(s);
  return s;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static pl_status add_path(pl_source *s, const char *path, pl_error *err) {
  struct stat st;
  if (stat(path, &st) != 0) return pl_error_set(err, PL_ENOTFOUND, "%s: no such file or directory", path);
  if (!S_ISDIR(st.st_mode)) {
    s->files = pl_realloc(s->files, sizeof(char *) * (size_t)(s->n_files + 1));
    s->files[s->n_files++] = pl_strdup(path);
    return PL_OK;
  }
  DIR *d = opendir(path);
  if (!d) return pl_error_set(err, PL_EIO, "%s: cannot open directory", path);
  char **names = NULL;
  int n = 0;
  struct dirent *de;
  while ((de = readdir(d))) {
    size_t l = strlen(de->d_name);
    if (de->d_name[0] == '.' || l < 8 || strcmp(de->d_name + l - 8, ".parquet") != 0) continue;
    names = pl_realloc(names, sizeof(char *) * (size_t)(n + 1));
    size_t cap = strlen(path) + l + 2;
    names[n] = pl_malloc(cap);
    snprintf(names[n], cap, "%s/%s", path, de->d_name);
    n++;
  }
  closedir(d);
  if (n) qsort(names, (size_t)n, sizeof *names, cmp_str);
  s->files = pl_realloc(s->files, sizeof(char *) * (size_t)(s->n_files + n + 1));
  for (int i = 0; i < n; i++) s->files[s->n_files++] = names[i];
  pl_free(names);
  return PL_OK;
}

pl_source *pl_source_parquet_new(int n_paths, const char *const *paths, int n_columns,
                                 const char *const *columns, uint64_t partition_size,
                                 pl_error *err) {
  pl_source *s = pl_calloc(1, sizeof *s);
  s->kind = PL__SRC_PARQUET;
  s->widen_id = -1;
  s->partition_size = partition_size ? partition_size : 128000000u;
  for (int i = 0; i < n_paths; i++)
    if (add_path(s, paths[i], err)) goto fail;
  if (s->n_files == 0) {
    pl_error_set(err, PL_ENOTFOUND, "parquet source: no .parquet files in %s%s",
                 n_paths ? paths[0] : "(no path)", n_paths > 1 ? " ..." : "");
    goto fail;
  }
  s->n_columns = columns ? n_columns : 0;
  if (s->n_columns) s->columns = pl_calloc((size_t)s->n_columns, sizeof(char *));
  for (int i = 0; i < s->n_columns; i++) s->columns[i] = pl_strdup(columns[i]);
  return s;
fail:
  pl_source_free(s);
  return NULL;
}

void pl_source_free(pl_source *s) {
  if (!s) return;
  pl_schema_release(&s->schema);
  pl_schema_release(&s->inner);
  pl_free(s->parts);
  pl_free(s->copy_field);
  for (int i = 0; i < s->n_files; i++) {
    pl_free(s->files[i]);
    if (s->rgs) pl_free(s->rgs[i]);
  }
  pl_free(s->files);
  pl_free(s->rgs);
  pl_free(s->n_rgs);
  for (int i = 0; i < s->n_columns; i++) pl_free(s->columns[i]);
  pl_free(s->columns);
  for (int i = 0; i < s->n_renames; i++) {
    pl_free(s->ren_from[i]);
    pl_free(s->ren_to[i]);
  }
  pl_free(s->ren_from);
  pl_free(s->ren_to);
  pl_free(s);
}

int64_t pl_source_partitions(const pl_source *s) { return s ? s->n_parts : 0; }

static bool projected(const pl_source *s, const char *name) {
  if (!s->n_columns) return true;
  for (int i = 0; i < s->n_columns; i++)
    if (strcmp(s->columns[i], name) == 0) return true;
  return false;
}

/* The projected schema of one file, in the order of the projection (or the file's). */
static pl_status project_schema(const pl_source *s, const pl_schema *fs, const char *path,
                                pl_schema *out, pl_error *err) {
  pl_schema_init(out);
  if (!s->n_columns) {
    pl_schema_copy(out, fs);
    return PL_OK;
  }
  for (int i = 0; i < s->n_columns; i++) {
    int32_t k = pl_schema_find(fs, s->columns[i]);
    if (k < 0) {
      pl_schema_release(out);
      return pl_error_set(err, PL_ENOTFOUND, "%s: no column '%s'", path, s->columns[i]);
    }
    pl_field f;
    pl_field_copy(&f, &fs->fields[k]);
    pl_schema_add(out, f);
  }
  return PL_OK;
}

bool pl_source_index_type(pl_type_id t, pl_type_id *index) {
  bool ok = t == PL_STRING || (pl_type_is_integer(t) && t != PL_UINT64);
  if (ok && index) *index = t == PL_STRING ? PL_STRING : PL_INT64;
  return ok;
}

/* an id read as a narrower integer than the index's int64 */
static bool narrow_int(pl_type_id t) {
  return t != PL_INT64 && t != PL_STRING && pl_source_index_type(t, NULL);
}

/* Replaces the id column (index widen_id) of bt, read as a narrower integer, by its int64
 * form. A null id is an error naming the file. */
static pl_status widen_id(const pl_source *s, pl_batch *bt, const char *path, pl_error *err) {
  int32_t k = s->widen_id;
  pl_column *c = bt->columns[k], *w = pl_column_new(&s->inner.fields[k].type, bt->budget, err);
  if (!w) return err ? err->code : PL_ENOMEM;
  pl_status st = pl_column_reserve(w, bt->length, 0, err);
  for (int64_t i = 0; !st && i < bt->length; i++) {
    if (!pl_column_is_valid(c, i))
      st = pl_error_set(err, PL_EINVAL, "%s: column 'id' (the index) is null in a row", path);
    else st = pl_column_append_int(w, pl_column_int_at(c, i), err);
  }
  if (st) {
    pl_column_free(w);
    return st;
  }
  pl_column_free(c);
  bt->columns[k] = w;
  pl_field_release(&bt->schema.fields[k]);
  pl_field_copy(&bt->schema.fields[k], &s->inner.fields[k]);
  return PL_OK;
}

static bool schema_equal(const pl_schema *a, const pl_schema *b) {
  if (a->n_fields != b->n_fields) return false;
  for (int32_t i = 0; i < a->n_fields; i++)
    if (strcmp(a->fields[i].name, b->fields[i].name) != 0 ||
        !pl_type_equal(&a->fields[i].type, &b->fields[i].type))
      return false;
  return true;
}

static pl_status plan_parquet(pl_source *s, pl_error *err) {
  s->n_rgs = pl_calloc((size_t)s->n_files, sizeof(int));
  s->rgs = pl_calloc((size_t)s->n_files, sizeof(pl__rg *));
  int64_t cap = 0, global_row = 0;
  bool *copy = NULL; /* per inner field, over every file */
  for (int fi = 0; fi < s->n_files; fi++) {
    pl_parquet_file *f = pl_parquet_open(s->files[fi], NULL, NULL, err);
    if (!f) {
      pl_free(copy);
      return err ? err->code : PL_EIO;
    }
    pl_schema ps;
    pl_status st = project_schema(s, pl_parquet_schema(f), s->files[fi], &ps, err);
    if (st) {
      pl_parquet_close(f);
      pl_free(copy);
      return st;
    }
    if (fi == 0) {
      s->inner = ps;
    } else {
      bool same = schema_equal(&ps, &s->inner);
      pl_schema_release(&ps);
      if (!same) {
        pl_parquet_close(f);
        pl_free(copy);
        return pl_error_set(err, PL_EINVAL, "%s: schema differs from %s", s->files[fi],
                            s->files[0]);
      }
    }
    if (!copy) {
      copy = pl_calloc((size_t)s->inner.n_fields + 1, sizeof *copy);
      for (int32_t k = 0; k < s->inner.n_fields; k++) copy[k] = true;
    }
    for (int32_t k = 0; k < s->inner.n_fields; k++)
      copy[k] = copy[k] && pl_parquet_copyable(f, s->inner.fields[k].name);
    const pl_pq_file_metadata *md = pl_parquet_metadata(f);
    s->n_rgs[fi] = md->n_row_groups;
    s->rgs[fi] = pl_calloc((size_t)(md->n_row_groups ? md->n_row_groups : 1), sizeof(pl__rg));
    for (int32_t r = 0; r < md->n_row_groups; r++) {
      const pl_pq_row_group *rg = &md->row_groups[r];
      uint64_t bytes = 0;
      for (int32_t c = 0; c < rg->n_columns; c++) {
        const pl_pq_column_chunk *cc = &rg->columns[c];
        if (!cc->has_meta || cc->meta.n_path < 1 || !projected(s, cc->meta.path[0])) continue;
        /* Arrow strings carry 8-byte offsets where Parquet has 4-byte lengths. */
        uint64_t extra = cc->meta.type == PL_PQ_BYTE_ARRAY ? 4u * (uint64_t)rg->num_rows : 0;
        bytes += (uint64_t)(cc->meta.total_uncompressed_size > 0 ? cc->meta.total_uncompressed_size : 0) + extra;
      }
      s->rgs[fi][r].rows = rg->num_rows;
      s->rgs[fi][r].bytes = bytes;
    }
    pl_parquet_close(f);
    /* Consecutive row groups of this file, until partition_size is reached. */
    int32_t r = 0;
    while (r < s->n_rgs[fi]) {
      if (s->n_parts == cap) {
        cap = cap ? cap * 2 : 64;
        s->parts = pl_realloc(s->parts, sizeof(pl__part) * (size_t)cap);
      }
      pl__part *p = &s->parts[s->n_parts++];
      memset(p, 0, sizeof *p);
      p->file = fi;
      p->rg_start = r;
      p->first_row = global_row;
      while (r < s->n_rgs[fi] && (p->rg_count == 0 || p->bytes + s->rgs[fi][r].bytes <= s->partition_size)) {
        p->rows += s->rgs[fi][r].rows;
        p->bytes += s->rgs[fi][r].bytes;
        p->rg_count++;
        r++;
      }
      global_row += p->rows;
    }
  }
  /* a narrower integer id (int32, uint16, ...) is the index widened to int64 at read */
  s->widen_id = -1;
  int32_t ki = pl_schema_find(&s->inner, "id");
  if (ki >= 0 && narrow_int(s->inner.fields[ki].type.id)) {
    s->widen_id = ki;
    pl_type_release(&s->inner.fields[ki].type);
    s->inner.fields[ki].type = pl_type_make(PL_INT64);
    s->inner.fields[ki].nullable = false;
  }
  finish_schema(s);
  pl_status rst = check_renames(s, err);
  if (rst) {
    pl_free(copy);
    return rst;
  }
  int32_t k = pl_schema_find(&s->schema, "id");
  if (!s->add_id && !has_int64_id(&s->schema) && s->schema.fields[k].type.id != PL_STRING) {
    pl_free(copy);
    return pl_error_set(err, PL_EUNSUPPORTED, "%s: column 'id' must be int64 or string",
                        s->files[0]);
  }
  /* which fields a column-wise copy may take as they are; a file's own id only when it is a
   * required int64 (otherwise nothing is copied: the index is written from the decoded id) */
  s->copy_field = pl_calloc((size_t)s->schema.n_fields, sizeof *s->copy_field);
  for (int32_t j = 0; j < s->schema.n_fields; j++) { /* schema = [generated id] + inner */
    int32_t in = j - (s->add_id ? 1 : 0);
    s->copy_field[j] = in < 0 ? s->add_id : (copy && copy[in]);
  }
  pl_free(copy);
  if (!s->add_id && (!has_int64_id(&s->schema) || s->schema.fields[k].nullable || s->widen_id >= 0))
    memset(s->copy_field, 0, sizeof *s->copy_field * (size_t)s->schema.n_fields);
  return PL_OK;
}

static pl_status plan_generator(pl_source *s, pl_error *err) {
  s->n_parts = s->gen.n_partitions;
  s->parts = pl_calloc((size_t)(s->n_parts ? s->n_parts : 1), sizeof(pl__part));
  int64_t global_row = 0;
  for (int64_t p = 0; p < s->n_parts; p++) {
    pl_status st = s->gen.size(s->gen.state, p, &s->parts[p].rows, &s->parts[p].bytes, err);
    if (st) {
      pl_error_prefix(err, "generator: partition %lld", (long long)p);
      return st;
    }
    s->parts[p].first_row = global_row;
    global_row += s->parts[p].rows;
  }
  return PL_OK;
}

pl_status pl__source_plan(pl_source *s, pl_error *err) {
  if (s->parts) return PL_OK;
  return s->kind == PL__SRC_GENERATOR ? plan_generator(s, err) : plan_parquet(s, err);
}

/* Puts a generated id column (first_row + row) in front of b's columns. Consumes b; *out is
 * the new batch, or NULL on failure. */
static pl_status add_id_column(const pl_source *s, pl_batch *b, int64_t first_id, pl_budget *bud,
                               pl_batch **out, pl_error *err) {
  *out = NULL;
  pl_batch *nb = pl_batch_new(&s->schema, bud, err);
  pl_status st = nb ? PL_OK : (err ? err->code : PL_ENOMEM);
  if (!st) st = pl_column_reserve(nb->columns[0], b->length, 0, err);
  for (int64_t i = 0; !st && i < b->length; i++) st = pl_column_append_int(nb->columns[0], first_id + i, err);
  if (st) {
    pl_batch_free(nb);
    pl_batch_free(b);
    return st;
  }
  /* move b's columns into nb */
  for (int32_t i = 0; i < b->schema.n_fields; i++) {
    pl_column_free(nb->columns[i + 1]);
    nb->columns[i + 1] = b->columns[i];
    b->columns[i] = NULL;
  }
  nb->length = b->length;
  pl_batch_free(b);
  *out = nb;
  return PL_OK;
}

static pl_status read_generator(pl_source *s, int64_t p, int64_t row_start, int64_t n_rows,
                                pl_budget *b, pl__batch_cb cb, void *ctx, pl_error *err) {
  pl_batch *bt = pl_batch_new(&s->inner, b, err);
  if (!bt) return err ? err->code : PL_ENOMEM;
  pl_status st = s->gen.fill(s->gen.state, p, row_start, n_rows, bt, err);
  if (!st) st = pl_batch_finish(bt, err);
  if (!st && bt->length != n_rows)
    st = pl_error_set(err, PL_EINTERNAL, "generator: partition %lld: asked for %lld rows, got %lld",
                      (long long)p, (long long)n_rows, (long long)bt->length);
  if (!st && s->add_id) st = add_id_column(s, bt, s->parts[p].first_row + row_start, b, &bt, err);
  if (st) {
    pl_batch_free(bt);
    return st;
  }
  return cb(ctx, bt, err);
}

/* Rows [a, a+n) of b as a new batch (copies). Consumes b; *out is NULL on failure. */
static pl_status slice_batch(pl_batch *b, int64_t a, int64_t n, pl_budget *bud, pl_batch **out,
                             pl_error *err) {
  *out = NULL;
  pl_batch *nb = pl_batch_new(&b->schema, bud, err);
  pl_status st = nb ? PL_OK : (err ? err->code : PL_ENOMEM);
  for (int32_t i = 0; !st && i < b->schema.n_fields; i++)
    st = pl_column_append_slice(nb->columns[i], b->columns[i], a, n, err);
  if (!st) st = pl_batch_finish(nb, err);
  pl_batch_free(b);
  if (st) {
    pl_batch_free(nb);
    return st;
  }
  *out = nb;
  return PL_OK;
}

static pl_status read_parquet(pl_source *s, int64_t p, int64_t row_start, int64_t n_rows,
                              pl_budget *b, size_t batch_bytes, pl__batch_cb cb, void *ctx,
                              pl_error *err) {
  const pl__part *pt = &s->parts[p];
  const char *path = s->files[pt->file];
  pl_parquet_file *f = pl_parquet_open(path, NULL, b, err);
  if (!f) return err ? err->code : PL_EIO;
  pl_status st = PL_OK;
  int64_t rg_first = 0; /* partition row of the current row group's first row */
  int64_t want_end = row_start + n_rows;
  const char **cols = NULL;
  if (s->n_columns) cols = (const char **)s->columns;
  for (int r = pt->rg_start; !st && r < pt->rg_start + pt->rg_count && rg_first < want_end; r++) {
    int64_t rg_rows = s->rgs[pt->file][r].rows;
    if (rg_first + rg_rows <= row_start) {
      rg_first += rg_rows;
      continue;
    }
    pl_parquet_scan_options so;
    memset(&so, 0, sizeof so);
    so.n_columns = s->n_columns;
    so.columns = cols;
    so.n_row_groups = 1;
    so.row_groups = &r;
    so.batch_bytes = batch_bytes;
    pl_parquet_reader *rd = pl_parquet_reader_new(f, &so, b, err);
    if (!rd) {
      st = err ? err->code : PL_EIO;
      break;
    }
    int64_t at = rg_first; /* partition row of the next batch's first row */
    for (;;) {
      pl_batch *bt = NULL;
      st = pl_parquet_reader_next(rd, &bt, err);
      if (st || !bt) break;
      int64_t lo = at > row_start ? at : row_start;
      int64_t hi = at + bt->length < want_end ? at + bt->length : want_end;
      int64_t n0 = bt->length;
      if (hi <= lo) {
        pl_batch_free(bt);
      } else {
        if (s->widen_id >= 0 && (st = widen_id(s, bt, path, err))) pl_batch_free(bt);
        if (!st && (lo != at || hi != at + n0)) st = slice_batch(bt, lo - at, hi - lo, b, &bt, err);
        if (!st && s->add_id) st = add_id_column(s, bt, pt->first_row + lo, b, &bt, err);
        if (!st && !s->add_id) rename_fields(s, &bt->schema); /* add_id_column used s->schema */
        if (!st) st = cb(ctx, bt, err);
      }
      at += n0;
      if (st || at >= want_end) break;
    }
    pl_parquet_reader_free(rd);
    rg_first += rg_rows;
  }
  pl_parquet_close(f);
  return st;
}

pl_status pl__source_read(pl_source *s, int64_t p, int64_t row_start, int64_t n_rows,
                          pl_budget *b, size_t batch_bytes, pl__batch_cb cb, void *ctx,
                          pl_error *err) {
  if (n_rows <= 0) return PL_OK;
  if (s->kind == PL__SRC_GENERATOR) return read_generator(s, p, row_start, n_rows, b, cb, ctx, err);
  return read_parquet(s, p, row_start, n_rows, b, batch_bytes, cb, ctx, err);
}

/* arrow.c — the Arrow C Data Interface (https://arrow.apache.org/docs/format/CDataInterface.html):
 * export moves a column's buffers into an ArrowArray without copying; import borrows an
 * ArrowArray's buffers (foreign pl_bufs) and keeps the array alive as the column's `keeper`.
 *
 * Layout differences handled here:
 *  - string, binary and list are exported as the "large" variants (U, Z, +L: int64 offsets,
 *    like ours). The int32 variants (u, z, +l) are imported by widening the offsets.
 *  - map ("+m") has int32 offsets in Arrow: narrowed on export (fails past 2^31 items),
 *    widened on import. Those offset buffers are the only copies.
 *  - an array with offset != 0, offsets not starting at 0, or children longer than needed is
 *    imported by copying (zero-copy imports keep the invariants of column.c).
 * The release callbacks free what the exporter owned and credit its budget; they may run on
 * any thread (the budget is thread-safe).
 */
#include "columnar/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Arrow wants non-null pointers for mandatory buffers even when they are empty. */
static const uint64_t empty_area[8] __attribute__((aligned(64)));

/* ------------------------------------------------------------------ format strings */
static const char *const simple_formats[PL_TYPE_COUNT] = {
    [PL_BOOL] = "b",    [PL_INT8] = "c",    [PL_INT16] = "s",   [PL_INT32] = "i",
    [PL_INT64] = "l",   [PL_UINT8] = "C",   [PL_UINT16] = "S",  [PL_UINT32] = "I",
    [PL_UINT64] = "L",  [PL_FLOAT16] = "e", [PL_FLOAT32] = "f", [PL_FLOAT64] = "g",
    [PL_STRING] = "U",  [PL_BINARY] = "Z",  [PL_DATE32] = "tdD", [PL_LIST] = "+L",
    [PL_STRUCT] = "+s", [PL_MAP] = "+m",
};
static const char unit_chars[] = "smun";

pl_status pl_type_to_arrow_format(const pl_type *t, char *buf, size_t cap, pl_error *err) {
  int n;
  switch (t->id) {
  case PL_FIXED_BINARY: n = snprintf(buf, cap, "w:%d", (int)t->width); break;
  case PL_DECIMAL128: n = snprintf(buf, cap, "d:%d,%d", (int)t->precision, (int)t->scale); break;
  case PL_TIME: n = snprintf(buf, cap, "tt%c", unit_chars[t->unit & 3]); break;
  case PL_TIMESTAMP: n = snprintf(buf, cap, "ts%c:%s", unit_chars[t->unit & 3], t->tz ? t->tz : ""); break;
  default:
    if ((unsigned)t->id >= PL_TYPE_COUNT || !simple_formats[t->id])
      return pl_error_set(err, PL_EINVAL, "no Arrow format for type id %d", (int)t->id);
    n = snprintf(buf, cap, "%s", simple_formats[t->id]);
  }
  if (n < 0 || (size_t)n >= cap)
    return pl_error_set(err, PL_EINVAL, "Arrow format of %d bytes does not fit %zu", n, cap);
  return PL_OK;
}

static pl_status parse_unit(char ch, pl_time_unit *u) {
  const char *p = ch ? strchr(unit_chars, ch) : NULL;
  if (!p) return PL_EUNSUPPORTED;
  *u = (pl_time_unit)(p - unit_chars);
  return PL_OK;
}

/* Parses a leaf format (children are handled by the caller). */
static pl_status type_from_format(const char *f, pl_type *t, pl_error *err) {
  for (int id = 0; id < PL_TYPE_COUNT; id++)
    if (simple_formats[id] && strcmp(f, simple_formats[id]) == 0) {
      *t = pl_type_make((pl_type_id)id);
      return PL_OK;
    }
  if (!strcmp(f, "u")) return *t = pl_type_make(PL_STRING), PL_OK;
  if (!strcmp(f, "z")) return *t = pl_type_make(PL_BINARY), PL_OK;
  if (!strcmp(f, "+l")) return *t = pl_type_make(PL_LIST), PL_OK;
  pl_time_unit u;
  if (!strncmp(f, "w:", 2)) {
    char *end;
    long w = strtol(f + 2, &end, 10);
    if (*end || end == f + 2 || w <= 0 || w > INT32_MAX) goto bad;
    *t = pl_type_fixed_binary((int32_t)w);
    return PL_OK;
  }
  if (!strncmp(f, "d:", 2)) {
    int p, s, bits = 128, used = 0;
    int got = sscanf(f + 2, "%d,%d%n,%d%n", &p, &s, &used, &bits, &used);
    if (got < 2 || f[2 + used] != 0) goto bad;
    if (bits != 128) goto unsupported;
    *t = pl_type_decimal(p, s);
    return PL_OK;
  }
  if (!strncmp(f, "tt", 2) && f[2] && !f[3] && !parse_unit(f[2], &u)) {
    *t = pl_type_time(u);
    return PL_OK;
  }
  if (!strncmp(f, "ts", 2) && f[2] && f[3] == ':' && !parse_unit(f[2], &u)) {
    *t = pl_type_timestamp(u, f[4] ? f + 4 : NULL);
    return PL_OK;
  }
unsupported:
  return pl_error_set(err, PL_EUNSUPPORTED, "Arrow format \"%s\" is not supported", f);
bad:
  return pl_error_set(err, PL_ECORRUPT, "malformed Arrow format \"%s\"", f);
}

static pl_status field_from_arrow(const struct ArrowSchema *s, pl_field *out, int depth, pl_error *err) {
  memset(out, 0, sizeof *out);
  if (!s || !s->format) return pl_error_set(err, PL_ECORRUPT, "Arrow schema without a format");
  if (depth > 64) return pl_error_set(err, PL_EUNSUPPORTED, "Arrow schema nested deeper than 64");
  const char *name = s->name ? s->name : "";
  if (s->dictionary)
    return pl_error_set(err, PL_EUNSUPPORTED, "field '%s': dictionary-encoded Arrow arrays are not supported", name);
  pl_type t;
  pl_status st = type_from_format(s->format, &t, err);
  if (st) {
    pl_error_prefix(err, "field '%s'", name);
    return st;
  }
  int64_t want = t.id == PL_LIST || t.id == PL_MAP ? 1 : -1;
  if (t.id == PL_STRUCT) want = s->n_children;
  if (s->n_children != (want < 0 ? 0 : want) || (s->n_children > 0 && !s->children)) {
    pl_type_release(&t);
    return pl_error_set(err, PL_ECORRUPT, "field '%s' (%s) has %lld children", name, s->format,
                        (long long)s->n_children);
  }
  if (s->n_children > INT32_MAX) return pl_error_set(err, PL_EUNSUPPORTED, "too many children");
  if (s->n_children > 0) {
    t.children = pl_calloc((size_t)s->n_children, sizeof *t.children);
    for (int64_t i = 0; i < s->n_children; i++) {
      st = field_from_arrow(s->children[i], &t.children[i], depth + 1, err);
      t.n_children = (int32_t)i + 1;
      if (st) {
        pl_error_prefix(err, "field '%s'", name);
        pl_type_release(&t);
        return st;
      }
    }
  }
  if (t.id == PL_MAP && (t.children[0].type.id != PL_STRUCT || t.children[0].type.n_children != 2)) {
    pl_type_release(&t);
    return pl_error_set(err, PL_ECORRUPT, "map field '%s' lacks its struct<key, value> child", name);
  }
  out->name = pl_strdup(name);
  out->type = t;
  out->nullable = (s->flags & ARROW_FLAG_NULLABLE) != 0;
  return PL_OK;
}

pl_status pl_type_from_arrow(const struct ArrowSchema *schema, pl_field *out, pl_error *err) {
  return field_from_arrow(schema, out, 0, err);
}

/* ------------------------------------------------------------------ schema export */
typedef struct {
  char *format, *name;
  struct ArrowSchema **child_ptrs;
  struct ArrowSchema *children;
} schema_priv;

static void release_schema(struct ArrowSchema *s) {
  if (!s || !s->release) return;
  schema_priv *p = s->private_data;
  for (int64_t i = 0; i < s->n_children; i++)
    if (p->children[i].release) p->children[i].release(&p->children[i]);
  pl_free(p->children);
  pl_free(p->child_ptrs);
  pl_free(p->format);
  pl_free(p->name);
  pl_free(p);
  s->release = NULL;
}

static pl_status export_schema(const char *name, const pl_type *t, bool nullable, struct ArrowSchema *out,
                               pl_error *err) {
  char fmt[512];
  memset(out, 0, sizeof *out);
  pl_status st = pl_type_to_arrow_format(t, fmt, sizeof fmt, err);
  if (st) return st;
  schema_priv *p = pl_calloc(1, sizeof *p);
  p->format = pl_strdup(fmt);
  p->name = pl_strdup(name ? name : "");
  out->format = p->format;
  out->name = p->name;
  out->flags = nullable ? ARROW_FLAG_NULLABLE : 0;
  out->n_children = t->n_children;
  out->release = release_schema;
  out->private_data = p;
  if (t->n_children > 0) {
    p->children = pl_calloc((size_t)t->n_children, sizeof *p->children);
    p->child_ptrs = pl_calloc((size_t)t->n_children, sizeof *p->child_ptrs);
    out->children = p->child_ptrs;
    for (int32_t i = 0; i < t->n_children; i++) {
      p->child_ptrs[i] = &p->children[i];
      const pl_field *f = &t->children[i];
      if (!st) st = export_schema(f->name, &f->type, f->nullable, &p->children[i], err);
    }
  }
  if (st) release_schema(out);
  return st;
}

/* ------------------------------------------------------------------ array export */
typedef struct {
  pl_buf bufs[3];
  const void *ptrs[3];
  struct ArrowArray **child_ptrs;
  struct ArrowArray *children;
  struct ArrowArray *keeper; /* an imported array whose buffers we pass on */
} array_priv;

static void release_array(struct ArrowArray *a) {
  if (!a || !a->release) return;
  array_priv *p = a->private_data;
  for (int64_t i = 0; i < a->n_children; i++)
    if (p->children[i].release) p->children[i].release(&p->children[i]);
  for (int i = 0; i < 3; i++) pl_buf_release(&p->bufs[i]);
  if (p->keeper) {
    if (p->keeper->release) p->keeper->release(p->keeper);
    pl_free(p->keeper);
  }
  pl_free(p->children);
  pl_free(p->child_ptrs);
  pl_free(p);
  a->release = NULL;
}

/* Arrow's map offsets are int32: narrows ours into a new buffer of the same budget. */
static pl_status narrow_offsets(pl_buf *offsets, int64_t length, pl_error *err) {
  const int64_t *o = (const int64_t *)offsets->data;
  if (o[length] > INT32_MAX)
    return pl_error_set(err, PL_EUNSUPPORTED, "map column of %lld entries exceeds Arrow's int32 offsets",
                        (long long)o[length]);
  pl_buf narrow = PL_BUF_INIT(offsets->budget);
  pl_status st = pl_buf_reserve_total(&narrow, (size_t)(length + 1) * sizeof(int32_t), err);
  if (st) return st;
  int32_t *n = (int32_t *)narrow.data;
  for (int64_t i = 0; i <= length; i++) n[i] = (int32_t)o[i];
  narrow.len = (size_t)(length + 1) * sizeof(int32_t);
  pl_buf_move(offsets, &narrow);
  return PL_OK;
}

static void take_buf(pl_buf *dst, pl_buf *src) {
  *dst = *src;
  src->data = NULL;
  src->len = src->cap = 0;
  src->foreign = false;
}

/* Consumes c (always) and fills out; on failure out is left released. */
static pl_status export_array(pl_column *c, struct ArrowArray *out, pl_error *err) {
  array_priv *p = pl_calloc(1, sizeof *p);
  memset(out, 0, sizeof *out);
  out->length = c->length;
  out->null_count = c->validity.len ? c->null_count : 0;
  out->buffers = p->ptrs;
  out->release = release_array;
  out->private_data = p;
  pl_status st = PL_OK;
  const pl_type *t = &c->type;
  int nb = 0;
  take_buf(&p->bufs[nb], &c->validity);
  p->ptrs[nb] = out->null_count ? p->bufs[nb].data : NULL;
  nb++;
  if (pl_type_has_offsets(t)) {
    take_buf(&p->bufs[nb], &c->offsets);
    if (t->id == PL_MAP) st = narrow_offsets(&p->bufs[nb], c->length, err);
    nb++;
  }
  if (t->id != PL_LIST && t->id != PL_MAP && t->id != PL_STRUCT) take_buf(&p->bufs[nb++], &c->values);
  for (int i = 1; i < nb; i++) p->ptrs[i] = p->bufs[i].data ? p->bufs[i].data : (const void *)empty_area;
  out->n_buffers = nb;
  p->keeper = c->keeper;
  c->keeper = NULL;

  if (c->n_children > 0) {
    p->children = pl_calloc((size_t)c->n_children, sizeof *p->children);
    p->child_ptrs = pl_calloc((size_t)c->n_children, sizeof *p->child_ptrs);
    out->children = p->child_ptrs;
    out->n_children = c->n_children;
    for (int32_t i = 0; i < c->n_children; i++) {
      p->child_ptrs[i] = &p->children[i];
      pl_column *child = c->children[i];
      c->children[i] = NULL;
      if (!st) st = export_array(child, &p->children[i], err);
      else pl_column_free(child);
    }
  }
  pl_column_free(c); /* only the shell and the type are left */
  if (st) release_array(out);
  return st;
}

pl_status pl_column_export_arrow(pl_column *c, const char *name, bool nullable,
                                 struct ArrowSchema *out_schema, struct ArrowArray *out_array,
                                 pl_error *err) {
  memset(out_array, 0, sizeof *out_array);
  pl_status st = export_schema(name, &c->type, nullable, out_schema, err);
  if (st) {
    pl_column_free(c);
    return st;
  }
  st = export_array(c, out_array, err);
  if (st) release_schema(out_schema);
  return st;
}

/* ------------------------------------------------------------------ import */
/* A foreign buffer of n bytes at p (NULL only when n == 0). */
static pl_status borrow(pl_buf *buf, const void *p, size_t n, const char *what, pl_error *err) {
  if (!p && n) return pl_error_set(err, PL_ECORRUPT, "%s buffer of %zu bytes is NULL", what, n);
  buf->data = (uint8_t *)p;
  buf->len = buf->cap = p ? n : 0;
  buf->foreign = p != NULL;
  return PL_OK;
}

static bool has_foreign(const pl_column *c) {
  if (c->validity.foreign || c->offsets.foreign || c->values.foreign) return true;
  for (int32_t i = 0; i < c->n_children; i++)
    if (has_foreign(c->children[i])) return true;
  return false;
}

static int expected_buffers(const pl_type *t) {
  if (t->id == PL_STRUCT) return 1;
  if (t->id == PL_STRING || t->id == PL_BINARY) return 3;
  return 2;
}

/* Builds a column of rows [offset, offset+length) of a; zero-copy when the layout allows. */
static pl_status import_array(const pl_type *t, const char *fmt, const struct ArrowSchema *s,
                              const struct ArrowArray *a, pl_budget *b, pl_column **out, pl_error *err) {
  *out = NULL;
  int64_t total;
  if (a->length < 0 || a->offset < 0 || __builtin_add_overflow(a->length, a->offset, &total) ||
      total > INT64_MAX / 16)
    return pl_error_set(err, PL_ECORRUPT, "bad length %lld / offset %lld", (long long)a->length,
                        (long long)a->offset);
  if (a->n_buffers != expected_buffers(t) || !a->buffers)
    return pl_error_set(err, PL_ECORRUPT, "format \"%s\" needs %d buffers, the array has %lld", fmt,
                        expected_buffers(t), (long long)a->n_buffers);
  if (a->n_children != t->n_children || (a->n_children && !a->children))
    return pl_error_set(err, PL_ECORRUPT, "format \"%s\" needs %d children, the array has %lld", fmt,
                        (int)t->n_children, (long long)a->n_children);
  if (a->dictionary) return pl_error_set(err, PL_EUNSUPPORTED, "dictionary arrays are not supported");

  pl_column *v = pl_calloc(1, sizeof *v);
  pl_type_copy(&v->type, t);
  v->budget = b;
  pl_buf_init(&v->validity, b);
  pl_buf_init(&v->offsets, b);
  pl_buf_init(&v->values, b);
  v->length = total;
  pl_status st = PL_OK;
  bool copy = a->offset != 0;

  /* validity */
  int64_t nulls = a->null_count;
  const uint8_t *bits = a->buffers[0];
  if (nulls != 0 && bits) {
    if (nulls < 0) nulls = a->length - pl__bits_count(bits, a->offset, a->length);
    if (nulls > 0) st = borrow(&v->validity, bits, (size_t)(total + 7) / 8, "validity", err);
  } else if (nulls > 0) {
    st = pl_error_set(err, PL_ECORRUPT, "%lld nulls without a validity buffer", (long long)nulls);
  }
  v->null_count = nulls > 0 ? nulls : 0;

  /* values and offsets */
  if (st) {
  } else if (t->id == PL_BOOL) {
    st = borrow(&v->values, a->buffers[1], (size_t)(total + 7) / 8, "values", err);
  } else if (pl_type_is_fixed(t)) {
    size_t bytes;
    if (__builtin_mul_overflow((size_t)total, (size_t)pl_type_byte_width(t), &bytes))
      st = pl_error_set(err, PL_ECORRUPT, "values of %lld rows overflow", (long long)total);
    else st = borrow(&v->values, a->buffers[1], bytes, "values", err);
  } else if (pl_type_has_offsets(t)) {
    bool narrow = !strcmp(fmt, "u") || !strcmp(fmt, "z") || !strcmp(fmt, "+l") || !strcmp(fmt, "+m");
    size_t n = (size_t)total + 1;
    if (!a->buffers[1]) {
      st = pl_error_set(err, PL_ECORRUPT, "offsets buffer is NULL");
    } else if (narrow) {
      st = pl_buf_reserve_total(&v->offsets, n * sizeof(int64_t), err);
      if (!st) {
        const int32_t *src = a->buffers[1];
        int64_t *dst = (int64_t *)v->offsets.data;
        for (size_t i = 0; i < n; i++) dst[i] = src[i];
        v->offsets.len = n * sizeof(int64_t);
      }
    } else {
      st = borrow(&v->offsets, a->buffers[1], n * sizeof(int64_t), "offsets", err);
    }
    if (!st) {
      const int64_t *o = pl_column_offsets(v);
      if (o[0] < 0 || o[total] < o[0])
        st = pl_error_set(err, PL_ECORRUPT, "offsets run from %lld to %lld", (long long)o[0],
                          (long long)o[total]);
      else if (o[0] != 0) copy = true;
      if (!st && (t->id == PL_STRING || t->id == PL_BINARY))
        st = borrow(&v->values, a->buffers[2], (size_t)o[total], "values", err);
    }
  }

  /* children: each imported on its own (they have their own offsets) */
  if (!st && t->n_children > 0) {
    v->children = pl_calloc((size_t)t->n_children, sizeof *v->children);
    v->n_children = t->n_children;
    for (int32_t i = 0; i < t->n_children && !st; i++) {
      const struct ArrowSchema *cs = s->children[i];
      if (!a->children[i]) {
        st = pl_error_set(err, PL_ECORRUPT, "child %d of the array is NULL", (int)i);
        break;
      }
      st = import_array(&t->children[i].type, cs->format, cs, a->children[i], b, &v->children[i], err);
      if (st) {
        pl_error_prefix(err, "child '%s'", t->children[i].name);
        break;
      }
      int64_t need = t->id == PL_STRUCT ? total : pl_column_offsets(v)[total];
      int64_t have = v->children[i]->length;
      if (have < need)
        st = pl_error_set(err, PL_ECORRUPT, "child '%s' holds %lld rows, %lld needed",
                          t->children[i].name, (long long)have, (long long)need);
      else if (have > need) copy = true;
    }
  }
  if (!st && copy) {
    /* Copy the logical rows so that the column starts at row 0, offset 0, with children of the
     * exact length. */
    pl_column *c = pl_column_new(t, b, err);
    st = c ? pl_column_append_slice(c, v, a->offset, a->length, err) : err ? err->code : PL_ENOMEM;
    pl_column_free(v);
    v = c;
  }
  if (st) {
    pl_column_free(v);
    return st;
  }
  *out = v;
  return PL_OK;
}

pl_status pl_column_import_arrow(const struct ArrowSchema *schema, struct ArrowArray *array,
                                 pl_budget *b, pl_column **out, pl_error *err) {
  *out = NULL;
  if (!array->release) return pl_error_set(err, PL_EINVAL, "the Arrow array was already released");
  struct ArrowArray *keeper = pl_malloc(sizeof *keeper);
  *keeper = *array;
  array->release = NULL;
  pl_field f;
  pl_status st = pl_type_from_arrow(schema, &f, err);
  pl_column *c = NULL;
  if (!st) {
    st = import_array(&f.type, schema->format, schema, keeper, b, &c, err);
    if (st) pl_error_prefix(err, "importing Arrow field '%s'", f.name);
    pl_field_release(&f);
  }
  if (!st && has_foreign(c)) {
    c->keeper = keeper;
    keeper = NULL;
  }
  if (keeper) {
    keeper->release(keeper);
    pl_free(keeper);
  }
  if (!st) *out = c;
  return st;
}

/* ------------------------------------------------------------------ batches */
pl_status pl_batch_export_arrow(pl_batch *batch, struct ArrowSchema *out_schema,
                                struct ArrowArray *out_array, pl_error *err) {
  memset(out_schema, 0, sizeof *out_schema);
  memset(out_array, 0, sizeof *out_array);
  pl_status st = pl_batch_finish(batch, err);
  if (st) {
    pl_batch_free(batch);
    return st;
  }
  /* The batch becomes a struct column whose children are its columns. */
  int32_t n = batch->schema.n_fields;
  pl_column *s = pl_calloc(1, sizeof *s);
  s->type = pl_type_struct(n, batch->schema.fields);
  s->budget = batch->budget;
  pl_buf_init(&s->validity, batch->budget);
  pl_buf_init(&s->offsets, batch->budget);
  pl_buf_init(&s->values, batch->budget);
  s->length = batch->length;
  s->n_children = n;
  s->children = batch->columns;
  pl_free(batch->schema.fields); /* the field contents now belong to s->type */
  pl_free(batch);
  return pl_column_export_arrow(s, "", false, out_schema, out_array, err);
}

/* Several top-level columns borrowing from one imported array share it with a count. */
typedef struct {
  struct ArrowArray *inner;
  int refs;
} shared_keeper;

static void release_share(struct ArrowArray *a) {
  shared_keeper *k = a->private_data;
  if (__atomic_sub_fetch(&k->refs, 1, __ATOMIC_ACQ_REL) == 0) {
    if (k->inner->release) k->inner->release(k->inner);
    pl_free(k->inner);
    pl_free(k);
  }
  a->release = NULL;
}

pl_status pl_batch_import_arrow(const struct ArrowSchema *schema, struct ArrowArray *array,
                                pl_budget *b, pl_batch **out, pl_error *err) {
  *out = NULL;
  if (!schema->format || strcmp(schema->format, "+s") != 0) {
    if (array->release) array->release(array);
    return pl_error_set(err, PL_EINVAL, "a batch must be an Arrow struct array (\"+s\"), not \"%s\"",
                        schema->format ? schema->format : "(null)");
  }
  pl_column *s;
  pl_status st = pl_column_import_arrow(schema, array, b, &s, err);
  if (st) return st;
  if (s->null_count > 0) {
    pl_column_free(s);
    return pl_error_set(err, PL_EUNSUPPORTED, "the batch's struct array has %lld null rows",
                        (long long)s->null_count);
  }
  pl_batch *batch = pl_calloc(1, sizeof *batch);
  batch->budget = b;
  batch->length = s->length;
  pl_schema_init(&batch->schema);
  batch->columns = pl_calloc((size_t)(s->n_children > 0 ? s->n_children : 1), sizeof *batch->columns);
  shared_keeper *k = NULL;
  if (s->keeper) {
    k = pl_malloc(sizeof *k);
    k->inner = s->keeper;
    k->refs = 1; /* held by this function until the end */
    s->keeper = NULL;
  }
  for (int32_t i = 0; i < s->n_children; i++) {
    pl_column *c = s->children[i];
    s->children[i] = NULL;
    if (k && has_foreign(c)) {
      c->keeper = pl_calloc(1, sizeof *c->keeper);
      c->keeper->release = release_share;
      c->keeper->private_data = k;
      __atomic_add_fetch(&k->refs, 1, __ATOMIC_ACQ_REL);
    }
    pl_field f;
    pl_field_copy(&f, &s->type.children[i]);
    pl_schema_add(&batch->schema, f);
    batch->columns[i] = c;
  }
  pl_column_free(s);
  if (k) {
    struct ArrowArray self = {.release = release_share, .private_data = k};
    release_share(&self);
  }
  *out = batch;
  return PL_OK;
}

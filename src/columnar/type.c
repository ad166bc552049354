/* type.c — pl_type and pl_field values (deep copy, release, equality, widths, canonical names)
 * and schemas. Types own their children and time zone; the functions that take a pl_field by
 * value take ownership of its contents. */
#include "columnar/internal.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ constructors */
pl_type pl_type_make(pl_type_id id) {
  pl_type t;
  memset(&t, 0, sizeof t);
  t.id = id;
  if (id == PL_TIME || id == PL_TIMESTAMP) t.unit = PL_MICRO;
  return t;
}

pl_type pl_type_fixed_binary(int32_t width) {
  pl_type t = pl_type_make(PL_FIXED_BINARY);
  t.width = width;
  return t;
}

pl_type pl_type_decimal(int32_t precision, int32_t scale) {
  pl_type t = pl_type_make(PL_DECIMAL128);
  t.precision = precision;
  t.scale = scale;
  return t;
}

pl_type pl_type_timestamp(pl_time_unit unit, const char *tz) {
  pl_type t = pl_type_make(PL_TIMESTAMP);
  t.unit = unit;
  t.tz = tz ? pl_strdup(tz) : NULL;
  return t;
}

pl_type pl_type_time(pl_time_unit unit) {
  pl_type t = pl_type_make(PL_TIME);
  t.unit = unit;
  return t;
}

pl_type pl_type_list(pl_field item) {
  pl_type t = pl_type_make(PL_LIST);
  t.n_children = 1;
  t.children = pl_malloc(sizeof *t.children);
  t.children[0] = item;
  return t;
}

pl_type pl_type_struct(int32_t n, pl_field *fields) {
  pl_type t = pl_type_make(PL_STRUCT);
  t.n_children = n;
  t.children = pl_malloc(sizeof *t.children * (size_t)(n > 0 ? n : 1));
  for (int32_t i = 0; i < n; i++) t.children[i] = fields[i];
  return t;
}

/* Arrow's map layout: one non-nullable child "entries" of type struct<key, value>. */
pl_type pl_type_map(pl_field key, pl_field value) {
  pl_field kv[2] = {key, value};
  pl_type t = pl_type_make(PL_MAP);
  t.n_children = 1;
  t.children = pl_malloc(sizeof *t.children);
  t.children[0] = pl_field_make("entries", pl_type_struct(2, kv), false);
  return t;
}

pl_field pl_field_make(const char *name, pl_type type, bool nullable) {
  pl_field f;
  f.name = pl_strdup(name ? name : "");
  f.type = type;
  f.nullable = nullable;
  return f;
}

/* ------------------------------------------------------------------ copy, release, equal */
void pl_type_copy(pl_type *dst, const pl_type *src) {
  *dst = *src;
  dst->tz = src->tz ? pl_strdup(src->tz) : NULL;
  dst->children = NULL;
  if (src->n_children > 0) {
    dst->children = pl_malloc(sizeof *dst->children * (size_t)src->n_children);
    for (int32_t i = 0; i < src->n_children; i++) pl_field_copy(&dst->children[i], &src->children[i]);
  }
}

void pl_type_release(pl_type *t) {
  if (!t) return;
  for (int32_t i = 0; i < t->n_children; i++) pl_field_release(&t->children[i]);
  pl_free(t->children);
  pl_free(t->tz);
  t->children = NULL;
  t->tz = NULL;
  t->n_children = 0;
}

void pl_field_copy(pl_field *dst, const pl_field *src) {
  dst->name = pl_strdup(src->name ? src->name : "");
  dst->nullable = src->nullable;
  pl_type_copy(&dst->type, &src->type);
}

void pl_field_release(pl_field *f) {
  if (!f) return;
  pl_free(f->name);
  f->name = NULL;
  pl_type_release(&f->type);
}

/* Equality of the parameters that matter for one id (not the children). */
static bool params_equal(const pl_type *a, const pl_type *b) {
  if (a->id != b->id) return false;
  switch (a->id) {
  case PL_FIXED_BINARY: return a->width == b->width;
  case PL_DECIMAL128: return a->precision == b->precision && a->scale == b->scale;
  case PL_TIME: return a->unit == b->unit;
  case PL_TIMESTAMP:
    if (a->unit != b->unit || !a->tz != !b->tz) return false;
    return !a->tz || strcmp(a->tz, b->tz) == 0;
  default: return true;
  }
}

/* Strict: child names and nullability are part of the type (as in Arrow's field equality). */
bool pl_type_equal(const pl_type *a, const pl_type *b) {
  if (!params_equal(a, b) || a->n_children != b->n_children) return false;
  for (int32_t i = 0; i < a->n_children; i++) {
    const pl_field *x = &a->children[i], *y = &b->children[i];
    if (x->nullable != y->nullable || strcmp(x->name, y->name) != 0) return false;
    if (!pl_type_equal(&x->type, &y->type)) return false;
  }
  return true;
}

bool pl__type_layout_equal(const pl_type *a, const pl_type *b) {
  if (a->id != b->id || a->n_children != b->n_children) return false;
  if (pl_type_byte_width(a) != pl_type_byte_width(b)) return false;
  for (int32_t i = 0; i < a->n_children; i++)
    if (!pl__type_layout_equal(&a->children[i].type, &b->children[i].type)) return false;
  return true;
}

/* ------------------------------------------------------------------ widths and kinds */
int32_t pl_type_byte_width(const pl_type *t) {
  switch (t->id) {
  case PL_INT8: case PL_UINT8: return 1;
  case PL_INT16: case PL_UINT16: case PL_FLOAT16: return 2;
  case PL_INT32: case PL_UINT32: case PL_FLOAT32: case PL_DATE32: return 4;
  case PL_INT64: case PL_UINT64: case PL_FLOAT64: case PL_TIMESTAMP: return 8;
  case PL_TIME: return t->unit == PL_SECOND || t->unit == PL_MILLI ? 4 : 8;
  case PL_DECIMAL128: return 16;
  case PL_FIXED_BINARY: return t->width;
  default: return 0;
  }
}

bool pl_type_is_fixed(const pl_type *t) { return pl_type_byte_width(t) > 0; }

bool pl_type_has_offsets(const pl_type *t) {
  return t->id == PL_STRING || t->id == PL_BINARY || t->id == PL_LIST || t->id == PL_MAP;
}

bool pl_type_is_integer(pl_type_id id) { return id >= PL_INT8 && id <= PL_UINT64; }

/* ------------------------------------------------------------------ canonical names */
typedef struct {
  char *buf;
  size_t cap, len;
} sbuf;

static void put(sbuf *s, const char *text) {
  size_t n = strlen(text);
  if (s->cap && s->len < s->cap - 1) {
    size_t room = s->cap - 1 - s->len;
    memcpy(s->buf + s->len, text, n < room ? n : room);
  }
  s->len += n;
}

static const char *const simple_names[PL_TYPE_COUNT] = {
    [PL_BOOL] = "bool",       [PL_INT8] = "int8",       [PL_INT16] = "int16",
    [PL_INT32] = "int32",     [PL_INT64] = "int64",     [PL_UINT8] = "uint8",
    [PL_UINT16] = "uint16",   [PL_UINT32] = "uint32",   [PL_UINT64] = "uint64",
    [PL_FLOAT16] = "float16", [PL_FLOAT32] = "float32", [PL_FLOAT64] = "float64",
    [PL_STRING] = "string",   [PL_BINARY] = "binary",   [PL_FIXED_BINARY] = "binary",
    [PL_DATE32] = "date",     [PL_TIME] = "time",
};

static void canonical(sbuf *s, const pl_type *t) {
  char num[64];
  switch (t->id) {
  case PL_TIMESTAMP: put(s, t->tz ? "timestamptz" : "timestamp"); return;
  case PL_DECIMAL128:
    snprintf(num, sizeof num, "decimal(%d,%d)", (int)t->precision, (int)t->scale);
    put(s, num);
    return;
  case PL_LIST:
    put(s, "list<");
    if (t->n_children == 1) canonical(s, &t->children[0].type);
    put(s, ">");
    return;
  case PL_STRUCT:
    put(s, "struct<");
    for (int32_t i = 0; i < t->n_children; i++) {
      if (i) put(s, ",");
      put(s, t->children[i].name);
      put(s, ":");
      canonical(s, &t->children[i].type);
    }
    put(s, ">");
    return;
  case PL_MAP: {
    put(s, "map<");
    const pl_type *kv = t->n_children == 1 ? &t->children[0].type : NULL;
    if (kv && kv->n_children == 2) {
      canonical(s, &kv->children[0].type);
      put(s, ",");
      canonical(s, &kv->children[1].type);
    }
    put(s, ">");
    return;
  }
  default:
    put(s, (unsigned)t->id < PL_TYPE_COUNT && simple_names[t->id] ? simple_names[t->id] : "?");
  }
}

size_t pl_type_canonical(const pl_type *t, char *buf, size_t cap) {
  sbuf s = {buf, cap, 0};
  canonical(&s, t);
  if (cap) buf[s.len < cap ? s.len : cap - 1] = 0;
  return s.len;
}

/* ------------------------------------------------------------------ schemas */
void pl_schema_init(pl_schema *s) {
  s->n_fields = 0;
  s->fields = NULL;
}

void pl_schema_add(pl_schema *s, pl_field f) {
  s->fields = pl_realloc(s->fields, sizeof *s->fields * (size_t)(s->n_fields + 1));
  s->fields[s->n_fields++] = f;
}

void pl_schema_copy(pl_schema *dst, const pl_schema *src) {
  pl_schema_init(dst);
  if (src->n_fields == 0) return;
  dst->fields = pl_malloc(sizeof *dst->fields * (size_t)src->n_fields);
  for (int32_t i = 0; i < src->n_fields; i++) pl_field_copy(&dst->fields[i], &src->fields[i]);
  dst->n_fields = src->n_fields;
}

void pl_schema_release(pl_schema *s) {
  if (!s) return;
  for (int32_t i = 0; i < s->n_fields; i++) pl_field_release(&s->fields[i]);
  pl_free(s->fields);
  pl_schema_init(s);
}

int32_t pl_schema_find(const pl_schema *s, const char *name) {
  for (int32_t i = 0; i < s->n_fields; i++)
    if (strcmp(s->fields[i].name, name) == 0) return i;
  return -1;
}

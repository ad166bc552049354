/* thrift_read.c — a Thrift compact-protocol decoder for the Parquet footer and page headers.
 *
 * Written from the Thrift compact protocol spec and parquet.thrift. The decoder reads into
 * the pl_pq_* model; fields it does not know are skipped generically, so files from newer
 * writers still open. Nesting is limited (PL__THRIFT_MAX_DEPTH) so hostile input cannot
 * exhaust the stack, and every length and count is checked against the bytes that remain
 * before anything is allocated or read.
 */
#include "parquet/reader_internal.h"

#include <string.h>

#define MAX_DEPTH 32

enum {
  CT_STOP = 0, CT_TRUE = 1, CT_FALSE = 2, CT_BYTE = 3, CT_I16 = 4, CT_I32 = 5, CT_I64 = 6,
  CT_DOUBLE = 7, CT_BINARY = 8, CT_LIST = 9, CT_SET = 10, CT_MAP = 11, CT_STRUCT = 12,
  CT_UUID = 13
};

typedef struct tr {
  const uint8_t *p, *start, *end;
  int depth;
  bool truncated; /* ran out of bytes (as opposed to malformed) */
  pl_error *err;
  const char *what; /* "footer" or "page header" */
} tr;

typedef struct field {
  int16_t id;
  int type;
} field;

static pl_status fail(tr *t, const char *msg) {
  return pl_error_set(t->err, PL_ECORRUPT, "%s: %s at byte %td", t->what, msg, t->p - t->start);
}

static pl_status short_read(tr *t) {
  t->truncated = true;
  return fail(t, "unexpected end of data");
}

static pl_status rd_varint(tr *t, uint64_t *out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 70; shift += 7) {
    if (t->p >= t->end) return short_read(t);
    uint8_t b = *t->p++;
    if (shift == 63 && (b & 0x7e)) return fail(t, "varint overflows 64 bits");
    v |= (uint64_t)(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return PL_OK;
    }
  }
  return fail(t, "varint longer than 10 bytes");
}

static int64_t unzigzag(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

static pl_status rd_i64(tr *t, int64_t *out) {
  uint64_t v;
  pl_status st = rd_varint(t, &v);
  if (st) return st;
  *out = unzigzag(v);
  return PL_OK;
}

/* An i32-typed field that may have been written with another integer type. */
static pl_status rd_int_field(tr *t, const field *f, int64_t *out) {
  if (f->type == CT_BYTE) {
    if (t->p >= t->end) return short_read(t);
    *out = (int8_t)*t->p++;
    return PL_OK;
  }
  if (f->type != CT_I16 && f->type != CT_I32 && f->type != CT_I64)
    return fail(t, "integer field has a non-integer type");
  return rd_i64(t, out);
}

static pl_status rd_i32_field(tr *t, const field *f, int32_t *out) {
  int64_t v = 0;
  pl_status st = rd_int_field(t, f, &v);
  if (st) return st;
  if (v < INT32_MIN || v > INT32_MAX) return fail(t, "i32 out of range");
  *out = (int32_t)v;
  return PL_OK;
}

static pl_status rd_i64_field(tr *t, const field *f, int64_t *out) { return rd_int_field(t, f, out); }

static pl_status rd_bool_field(tr *t, const field *f, bool *out) {
  if (f->type == CT_TRUE || f->type == CT_FALSE) {
    *out = f->type == CT_TRUE;
    return PL_OK;
  }
  return fail(t, "boolean field has a non-boolean type");
}

static pl_status rd_binary(tr *t, const uint8_t **p, uint32_t *len) {
  uint64_t n;
  pl_status st = rd_varint(t, &n);
  if (st) return st;
  if (n > (uint64_t)(t->end - t->p)) return n > UINT32_MAX ? fail(t, "binary length too large") : short_read(t);
  *p = t->p;
  *len = (uint32_t)n;
  t->p += n;
  return PL_OK;
}

static pl_status rd_string(tr *t, const field *f, char **out) {
  if (f->type != CT_BINARY) return fail(t, "string field has a non-binary type");
  const uint8_t *p;
  uint32_t n;
  pl_status st = rd_binary(t, &p, &n);
  if (st) return st;
  pl_free(*out);
  *out = pl_strndup((const char *)p, n);
  return PL_OK;
}

static pl_status rd_bytes(tr *t, const field *f, pl_pq_bytes *out) {
  if (f->type != CT_BINARY) return fail(t, "binary field has a non-binary type");
  const uint8_t *p;
  uint32_t n;
  pl_status st = rd_binary(t, &p, &n);
  if (st) return st;
  pl_free(out->data);
  out->data = pl_malloc(n ? n : 1);
  if (n) memcpy(out->data, p, n);
  out->len = n;
  out->set = true;
  return PL_OK;
}

/* Reads a field header. f->type == CT_STOP ends the struct. */
static pl_status rd_field(tr *t, int16_t *last_id, field *f) {
  if (t->p >= t->end) return short_read(t);
  uint8_t b = *t->p++;
  f->type = b & 0x0f;
  if (f->type == CT_STOP) return PL_OK;
  int delta = b >> 4;
  if (delta) {
    f->id = (int16_t)(*last_id + delta);
  } else {
    int64_t id;
    pl_status st = rd_i64(t, &id);
    if (st) return st;
    if (id < INT16_MIN || id > INT16_MAX) return fail(t, "field id out of range");
    f->id = (int16_t)id;
  }
  if (f->type > CT_UUID) return fail(t, "unknown field type");
  *last_id = f->id;
  return PL_OK;
}

/* Reads a list header; checks the count against the bytes left (min_elem bytes each). */
static size_t min_size(int type);

static pl_status rd_list(tr *t, const field *f, int *elem_type, int32_t *count) {
  if (f && f->type != CT_LIST && f->type != CT_SET) return fail(t, "list field has a non-list type");
  if (t->p >= t->end) return short_read(t);
  uint8_t b = *t->p++;
  *elem_type = b & 0x0f;
  uint64_t n = b >> 4;
  if (n == 15) {
    pl_status st = rd_varint(t, &n);
    if (st) return st;
  }
  if (n > INT32_MAX) return fail(t, "list too long");
  size_t min_elem = min_size(*elem_type);
  if (n > (uint64_t)(t->end - t->p) / min_elem) {
    if (n > (uint64_t)(t->end - t->start)) return fail(t, "list count exceeds the data");
    return short_read(t);
  }
  *count = (int32_t)n;
  return PL_OK;
}

static pl_status skip(tr *t, int type);

static pl_status skip_struct(tr *t) {
  if (++t->depth > MAX_DEPTH) return fail(t, "nesting too deep");
  int16_t last = 0;
  for (;;) {
    field f;
    pl_status st = rd_field(t, &last, &f);
    if (st) return st;
    if (f.type == CT_STOP) break;
    if ((st = skip(t, f.type))) return st;
  }
  t->depth--;
  return PL_OK;
}

static size_t min_size(int type) {
  switch (type) {
  case CT_DOUBLE: return 8;
  case CT_UUID: return 16;
  default: return 1;
  }
}

/* Skips one value of a type, generically (unknown fields of newer writers). */
static pl_status skip(tr *t, int type) {
  uint64_t v;
  switch (type) {
  case CT_TRUE:
  case CT_FALSE: return PL_OK; /* in a struct the value is in the type; in a list see below */
  case CT_BYTE:
    if (t->p >= t->end) return short_read(t);
    t->p++;
    return PL_OK;
  case CT_I16:
  case CT_I32:
  case CT_I64: return rd_varint(t, &v);
  case CT_DOUBLE:
  case CT_UUID: {
    size_t n = min_size(type);
    if ((size_t)(t->end - t->p) < n) return short_read(t);
    t->p += n;
    return PL_OK;
  }
  case CT_BINARY: {
    const uint8_t *p;
    uint32_t n;
    return rd_binary(t, &p, &n);
  }
  case CT_STRUCT: return skip_struct(t);
  case CT_LIST:
  case CT_SET: {
    if (++t->depth > MAX_DEPTH) return fail(t, "nesting too deep");
    int et;
    int32_t n;
    field lf = {0, CT_LIST};
    pl_status st = rd_list(t, &lf, &et, &n);
    if (st) return st;
    for (int32_t i = 0; i < n; i++) {
      if (et == CT_TRUE || et == CT_FALSE) { /* booleans in a list take one byte */
        if (t->p >= t->end) return short_read(t);
        t->p++;
      } else if ((st = skip(t, et))) {
        return st;
      }
    }
    t->depth--;
    return PL_OK;
  }
  case CT_MAP: {
    if (++t->depth > MAX_DEPTH) return fail(t, "nesting too deep");
    pl_status st = rd_varint(t, &v);
    if (st) return st;
    if (v == 0) {
      t->depth--;
      return PL_OK;
    }
    if (v > (uint64_t)(t->end - t->p)) return short_read(t);
    if (t->p >= t->end) return short_read(t);
    uint8_t kv = *t->p++;
    for (uint64_t i = 0; i < v; i++) {
      int types[2] = {kv >> 4, kv & 0x0f};
      for (int k = 0; k < 2; k++) {
        if (types[k] == CT_TRUE || types[k] == CT_FALSE) {
          if (t->p >= t->end) return short_read(t);
          t->p++;
        } else if ((st = skip(t, types[k]))) {
          return st;
        }
      }
    }
    t->depth--;
    return PL_OK;
  }
  default: return fail(t, "unknown type");
  }
}

/* The struct loop shared by every decoder below: calls fn for each field. */
typedef pl_status (*field_fn)(tr *t, const field *f, void *obj);

static pl_status rd_struct(tr *t, const field *outer, field_fn fn, void *obj) {
  if (outer && outer->type != CT_STRUCT) return fail(t, "struct field has a non-struct type");
  if (++t->depth > MAX_DEPTH) return fail(t, "nesting too deep");
  int16_t last = 0;
  for (;;) {
    field f;
    pl_status st = rd_field(t, &last, &f);
    if (st) return st;
    if (f.type == CT_STOP) break;
    if ((st = fn(t, &f, obj))) return st;
  }
  t->depth--;
  return PL_OK;
}

/* ------------------------------------------------------------------ Statistics */
static pl_status stats_field(tr *t, const field *f, void *obj) {
  pl_pq_statistics *s = obj;
  switch (f->id) {
  case 1: return rd_bytes(t, f, &s->max);
  case 2: return rd_bytes(t, f, &s->min);
  case 3: s->has_null_count = true; return rd_i64_field(t, f, &s->null_count);
  case 4: s->has_distinct_count = true; return rd_i64_field(t, f, &s->distinct_count);
  case 5: return rd_bytes(t, f, &s->max_value);
  case 6: return rd_bytes(t, f, &s->min_value);
  case 7: s->has_is_max_exact = true; return rd_bool_field(t, f, &s->is_max_value_exact);
  case 8: s->has_is_min_exact = true; return rd_bool_field(t, f, &s->is_min_value_exact);
  case 9: s->has_nan_count = true; return rd_i64_field(t, f, &s->nan_count);
  default: return skip(t, f->type);
  }
}

static pl_status rd_stats(tr *t, const field *f, pl_pq_statistics *s) {
  s->set = true;
  return rd_struct(t, f, stats_field, s);
}

/* ------------------------------------------------------------------ LogicalType */
static pl_status unit_field(tr *t, const field *f, void *obj) {
  pl_pq_logical *l = obj;
  if (f->id >= 1 && f->id <= 3) l->unit = (pl_pq_time_unit)f->id;
  return skip(t, f->type);
}

static pl_status time_field(tr *t, const field *f, void *obj) {
  pl_pq_logical *l = obj;
  switch (f->id) {
  case 1: return rd_bool_field(t, f, &l->utc);
  case 2: return rd_struct(t, f, unit_field, l);
  default: return skip(t, f->type);
  }
}

static pl_status decimal_field(tr *t, const field *f, void *obj) {
  pl_pq_logical *l = obj;
  switch (f->id) {
  case 1: return rd_i32_field(t, f, &l->scale);
  case 2: return rd_i32_field(t, f, &l->precision);
  default: return skip(t, f->type);
  }
}

static pl_status int_field(tr *t, const field *f, void *obj) {
  pl_pq_logical *l = obj;
  switch (f->id) {
  case 1: {
    int64_t v;
    pl_status st = rd_int_field(t, f, &v);
    if (st) return st;
    if (v < INT8_MIN || v > INT8_MAX) return fail(t, "INTEGER bitWidth out of range");
    l->bit_width = (int8_t)v;
    return PL_OK;
  }
  case 2: return rd_bool_field(t, f, &l->is_signed);
  default: return skip(t, f->type);
  }
}

static pl_status logical_field(tr *t, const field *f, void *obj) {
  pl_pq_logical *l = obj;
  if (f->type != CT_STRUCT) return skip(t, f->type);
  switch (f->id) {
  case PL_LT_DECIMAL: l->kind = PL_LT_DECIMAL; return rd_struct(t, f, decimal_field, l);
  case PL_LT_TIME:
  case PL_LT_TIMESTAMP: l->kind = (pl_pq_logical_kind)f->id; return rd_struct(t, f, time_field, l);
  case PL_LT_INTEGER: l->kind = PL_LT_INTEGER; return rd_struct(t, f, int_field, l);
  case PL_LT_STRING: case PL_LT_MAP: case PL_LT_LIST: case PL_LT_ENUM: case PL_LT_DATE:
  case PL_LT_UNKNOWN: case PL_LT_JSON: case PL_LT_BSON: case PL_LT_UUID: case PL_LT_FLOAT16:
  case PL_LT_VARIANT: case PL_LT_GEOMETRY: case PL_LT_GEOGRAPHY:
    l->kind = (pl_pq_logical_kind)f->id;
    return skip(t, f->type);
  default:
    /* A logical type from a newer spec: leave kind NONE so the physical type is used. */
    return skip(t, f->type);
  }
}

/* ------------------------------------------------------------------ SchemaElement */
static pl_status schema_field(tr *t, const field *f, void *obj) {
  pl_pq_schema_element *e = obj;
  switch (f->id) {
  case 1: return rd_i32_field(t, f, &e->type);
  case 2: return rd_i32_field(t, f, &e->type_length);
  case 3: return rd_i32_field(t, f, &e->repetition);
  case 4: return rd_string(t, f, &e->name);
  case 5: return rd_i32_field(t, f, &e->num_children);
  case 6: return rd_i32_field(t, f, &e->converted_type);
  case 7: e->has_scale = true; return rd_i32_field(t, f, &e->scale);
  case 8: e->has_precision = true; return rd_i32_field(t, f, &e->precision);
  case 9: e->has_field_id = true; return rd_i32_field(t, f, &e->field_id);
  case 10: return rd_struct(t, f, logical_field, &e->logical);
  default: return skip(t, f->type);
  }
}

/* ------------------------------------------------------------------ KeyValue */
static pl_status kv_field(tr *t, const field *f, void *obj) {
  pl_pq_kv *kv = obj;
  switch (f->id) {
  case 1: return rd_string(t, f, &kv->key);
  case 2: return rd_string(t, f, &kv->value);
  default: return skip(t, f->type);
  }
}

static pl_status rd_kv_list(tr *t, const field *f, int32_t *n_out, pl_pq_kv **out) {
  int et;
  int32_t n;
  pl_status st = rd_list(t, f, &et, &n);
  if (st) return st;
  if (et != CT_STRUCT) return fail(t, "key_value_metadata is not a list of structs");
  if (*out) return fail(t, "key_value_metadata appears twice");
  *out = pl_calloc((size_t)n ? (size_t)n : 1, sizeof **out);
  for (int32_t i = 0; i < n; i++) {
    *n_out = i + 1;
    if ((st = rd_struct(t, NULL, kv_field, &(*out)[i]))) return st;
    if (!(*out)[i].key) (*out)[i].key = pl_strdup("");
  }
  *n_out = n;
  return PL_OK;
}

/* ------------------------------------------------------------------ ColumnMetaData */
static pl_status colmeta_field(tr *t, const field *f, void *obj) {
  pl_pq_column_meta *m = obj;
  pl_status st;
  switch (f->id) {
  case 1: return rd_i32_field(t, f, &m->type);
  case 2: {
    int et;
    int32_t n;
    if ((st = rd_list(t, f, &et, &n))) return st;
    if (m->encodings) return fail(t, "encodings appear twice");
    m->encodings = pl_calloc((size_t)n ? (size_t)n : 1, sizeof *m->encodings);
    for (int32_t i = 0; i < n; i++) {
      field ef = {0, et};
      if ((st = rd_i32_field(t, &ef, &m->encodings[i]))) return st;
      m->n_encodings = i + 1;
    }
    return PL_OK;
  }
  case 3: {
    int et;
    int32_t n;
    if ((st = rd_list(t, f, &et, &n))) return st;
    if (m->path) return fail(t, "path_in_schema appears twice");
    m->path = pl_calloc((size_t)n ? (size_t)n : 1, sizeof *m->path);
    for (int32_t i = 0; i < n; i++) {
      field ef = {0, et};
      m->n_path = i + 1;
      if ((st = rd_string(t, &ef, &m->path[i]))) return st;
    }
    return PL_OK;
  }
  case 4: return rd_i32_field(t, f, &m->codec);
  case 5: return rd_i64_field(t, f, &m->num_values);
  case 6: return rd_i64_field(t, f, &m->total_uncompressed_size);
  case 7: return rd_i64_field(t, f, &m->total_compressed_size);
  case 8: return rd_kv_list(t, f, &m->n_kv, &m->kv);
  case 9: return rd_i64_field(t, f, &m->data_page_offset);
  case 10: m->has_index_page_offset = true; return rd_i64_field(t, f, &m->index_page_offset);
  case 11:
    m->has_dictionary_page_offset = true;
    return rd_i64_field(t, f, &m->dictionary_page_offset);
  case 12:
    if (m->stats.set) return fail(t, "statistics appear twice");
    return rd_stats(t, f, &m->stats);
  case 14: m->has_bloom_filter_offset = true; return rd_i64_field(t, f, &m->bloom_filter_offset);
  default: return skip(t, f->type);
  }
}

/* ------------------------------------------------------------------ ColumnChunk */
static pl_status chunk_field(tr *t, const field *f, void *obj) {
  pl_pq_column_chunk *c = obj;
  switch (f->id) {
  case 1: return rd_string(t, f, &c->file_path);
  case 2: return rd_i64_field(t, f, &c->file_offset);
  case 3:
    if (c->has_meta) return fail(t, "meta_data appears twice");
    c->has_meta = true;
    c->meta.type = -1;
    c->meta.codec = -1;
    return rd_struct(t, f, colmeta_field, &c->meta);
  case 8:
  case 9: c->encrypted = true; return skip(t, f->type);
  default: return skip(t, f->type);
  }
}

/* ------------------------------------------------------------------ RowGroup */
static pl_status rowgroup_field(tr *t, const field *f, void *obj) {
  pl_pq_row_group *rg = obj;
  pl_status st;
  switch (f->id) {
  case 1: {
    int et;
    int32_t n;
    if ((st = rd_list(t, f, &et, &n))) return st;
    if (et != CT_STRUCT) return fail(t, "columns is not a list of structs");
    if (rg->columns) return fail(t, "columns appear twice");
    rg->columns = pl_calloc((size_t)n ? (size_t)n : 1, sizeof *rg->columns);
    for (int32_t i = 0; i < n; i++) {
      rg->n_columns = i + 1;
      if ((st = rd_struct(t, NULL, chunk_field, &rg->columns[i]))) return st;
    }
    return PL_OK;
  }
  case 2: return rd_i64_field(t, f, &rg->total_byte_size);
  case 3: return rd_i64_field(t, f, &rg->num_rows);
  case 5: rg->has_file_offset = true; return rd_i64_field(t, f, &rg->file_offset);
  case 6:
    rg->has_total_compressed_size = true;
    return rd_i64_field(t, f, &rg->total_compressed_size);
  case 7: {
    int64_t v;
    if ((st = rd_int_field(t, f, &v))) return st;
    rg->ordinal = (int16_t)v;
    rg->has_ordinal = true;
    return PL_OK;
  }
  default: return skip(t, f->type);
  }
}

/* ------------------------------------------------------------------ FileMetaData */
static pl_status filemeta_field(tr *t, const field *f, void *obj) {
  pl_pq_file_metadata *md = obj;
  pl_status st;
  int et;
  int32_t n;
  switch (f->id) {
  case 1: return rd_i32_field(t, f, &md->version);
  case 2:
    if ((st = rd_list(t, f, &et, &n))) return st;
    if (et != CT_STRUCT) return fail(t, "schema is not a list of structs");
    if (md->schema) return fail(t, "schema appears twice");
    md->schema = pl_calloc((size_t)n ? (size_t)n : 1, sizeof *md->schema);
    for (int32_t i = 0; i < n; i++) {
      pl_pq_schema_element *e = &md->schema[i];
      e->type = e->repetition = e->converted_type = -1;
      md->n_schema = i + 1;
      if ((st = rd_struct(t, NULL, schema_field, e))) return st;
    }
    return PL_OK;
  case 3: return rd_i64_field(t, f, &md->num_rows);
  case 4:
    if ((st = rd_list(t, f, &et, &n))) return st;
    if (et != CT_STRUCT) return fail(t, "row_groups is not a list of structs");
    if (md->row_groups) return fail(t, "row_groups appear twice");
    md->row_groups = pl_calloc((size_t)n ? (size_t)n : 1, sizeof *md->row_groups);
    for (int32_t i = 0; i < n; i++) {
      md->n_row_groups = i + 1;
      if ((st = rd_struct(t, NULL, rowgroup_field, &md->row_groups[i]))) return st;
    }
    return PL_OK;
  case 5: return rd_kv_list(t, f, &md->n_kv, &md->kv);
  case 6: return rd_string(t, f, &md->created_by);
  case 7:
    if ((st = rd_list(t, f, &et, &n))) return st;
    md->n_column_orders = n;
    for (int32_t i = 0; i < n; i++)
      if ((st = skip(t, et))) return st;
    return PL_OK;
  case 8: md->encrypted = true; return skip(t, f->type);
  default: return skip(t, f->type);
  }
}

pl_status pl__thrift_read_file_metadata(const uint8_t *p, size_t n, pl_pq_file_metadata *md,
                                        pl_error *err) {
  memset(md, 0, sizeof *md);
  tr t = {p, p, p + n, 0, false, err, "footer"};
  pl_status st = rd_struct(&t, NULL, filemeta_field, md);
  if (st) pl_pq_file_metadata_release(md);
  return st;
}

/* ------------------------------------------------------------------ PageHeader */
static pl_status dph_field(tr *t, const field *f, void *obj) {
  pl_pq_page_header *h = obj;
  switch (f->id) {
  case 1: return rd_i32_field(t, f, &h->num_values);
  case 2: return rd_i32_field(t, f, &h->encoding);
  case 3: return rd_i32_field(t, f, &h->def_level_encoding);
  case 4: return rd_i32_field(t, f, &h->rep_level_encoding);
  case 5:
    if (h->stats.set) return fail(t, "statistics appear twice");
    return rd_stats(t, f, &h->stats);
  default: return skip(t, f->type);
  }
}

static pl_status dict_field(tr *t, const field *f, void *obj) {
  pl_pq_page_header *h = obj;
  switch (f->id) {
  case 1: return rd_i32_field(t, f, &h->num_values);
  case 2: return rd_i32_field(t, f, &h->encoding);
  case 3: return rd_bool_field(t, f, &h->is_sorted);
  default: return skip(t, f->type);
  }
}

static pl_status v2_field(tr *t, const field *f, void *obj) {
  pl_pq_page_header *h = obj;
  switch (f->id) {
  case 1: return rd_i32_field(t, f, &h->num_values);
  case 2: return rd_i32_field(t, f, &h->num_nulls);
  case 3: return rd_i32_field(t, f, &h->num_rows);
  case 4: return rd_i32_field(t, f, &h->encoding);
  case 5: return rd_i32_field(t, f, &h->def_levels_byte_length);
  case 6: return rd_i32_field(t, f, &h->rep_levels_byte_length);
  case 7: return rd_bool_field(t, f, &h->is_compressed);
  case 8:
    if (h->stats.set) return fail(t, "statistics appear twice");
    return rd_stats(t, f, &h->stats);
  default: return skip(t, f->type);
  }
}

static pl_status page_field(tr *t, const field *f, void *obj) {
  pl_pq_page_header *h = obj;
  switch (f->id) {
  case 1: return rd_i32_field(t, f, &h->type);
  case 2: return rd_i32_field(t, f, &h->uncompressed_page_size);
  case 3: return rd_i32_field(t, f, &h->compressed_page_size);
  case 4: h->has_crc = true; return rd_i32_field(t, f, &h->crc);
  case 5:
    if (h->has_data_header) return fail(t, "data_page_header appears twice");
    h->has_data_header = true;
    return rd_struct(t, f, dph_field, h);
  case 7:
    if (h->has_dict_header) return fail(t, "dictionary_page_header appears twice");
    h->has_dict_header = true;
    return rd_struct(t, f, dict_field, h);
  case 8:
    if (h->has_v2_header) return fail(t, "data_page_header_v2 appears twice");
    h->has_v2_header = true;
    return rd_struct(t, f, v2_field, h);
  default: return skip(t, f->type);
  }
}

pl_status pl__thrift_read_page_header(const uint8_t *p, size_t n, pl_pq_page_header *h,
                                      size_t *used, bool *need_more, pl_error *err) {
  memset(h, 0, sizeof *h);
  h->type = -1;
  h->is_compressed = true; /* parquet.thrift: DataPageHeaderV2.is_compressed defaults to true */
  tr t = {p, p, p + n, 0, false, err, "page header"};
  pl_status st = rd_struct(&t, NULL, page_field, h);
  *need_more = st && t.truncated;
  if (st) {
    pl_pq_page_header_release(h);
    return st;
  }
  *used = (size_t)(t.p - p);
  return PL_OK;
}

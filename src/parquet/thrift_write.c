/* thrift_write.c — a Thrift compact-protocol encoder and the serialisation of the footer model
 * (FileMetaData) and of page headers, as parquet.thrift lays them out.
 *
 * The encoder appends to a pl_buf and keeps the first failure (out of memory or budget) so the
 * serialisers can write a whole struct and check once at the end. */
#include "parquet/writer_internal.h"

#include <string.h>

enum { CT_TRUE = 1, CT_FALSE = 2, CT_BYTE = 3, CT_I16 = 4, CT_I32 = 5, CT_I64 = 6,
       CT_DOUBLE = 7, CT_BINARY = 8, CT_LIST = 9, CT_SET = 10, CT_MAP = 11, CT_STRUCT = 12 };

#define TW_MAX_DEPTH 32

typedef struct tw {
  pl_buf *out;
  pl_error *err;
  pl_status st;
  int depth;
  int16_t last[TW_MAX_DEPTH]; /* last field id written in each open struct */
} tw;

static void tw_bytes(tw *w, const void *p, size_t n) {
  if (w->st) return;
  w->st = pl_buf_append(w->out, p, n, w->err);
}

static void tw_varint(tw *w, uint64_t v) {
  uint8_t b[10];
  tw_bytes(w, b, (size_t)pl__uleb(b, v));
}

static uint64_t zigzag(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }

static void tw_byte(tw *w, uint8_t b) { tw_bytes(w, &b, 1); }

static void tw_field(tw *w, int16_t id, int type) {
  int16_t delta = (int16_t)(id - w->last[w->depth]);
  if (delta > 0 && delta <= 15) {
    tw_byte(w, (uint8_t)(delta << 4 | type));
  } else {
    tw_byte(w, (uint8_t)type);
    tw_varint(w, zigzag(id));
  }
  w->last[w->depth] = id;
}

static void tw_struct_begin(tw *w) {
  if (w->depth + 1 >= TW_MAX_DEPTH) {
    if (!w->st) w->st = pl_error_set(w->err, PL_EINTERNAL, "thrift: structs nested too deep");
    return;
  }
  w->last[++w->depth] = 0;
}

static void tw_struct_end(tw *w) {
  tw_byte(w, 0); /* STOP */
  if (w->depth > 0) w->depth--;
}

static void tw_i32(tw *w, int16_t id, int32_t v) {
  tw_field(w, id, CT_I32);
  tw_varint(w, zigzag(v));
}
static void tw_i64(tw *w, int16_t id, int64_t v) {
  tw_field(w, id, CT_I64);
  tw_varint(w, zigzag(v));
}
static void tw_i8(tw *w, int16_t id, int8_t v) {
  tw_field(w, id, CT_BYTE);
  tw_byte(w, (uint8_t)v);
}
static void tw_i16(tw *w, int16_t id, int16_t v) {
  tw_field(w, id, CT_I16);
  tw_varint(w, zigzag(v));
}
static void tw_bool(tw *w, int16_t id, bool v) { tw_field(w, id, v ? CT_TRUE : CT_FALSE); }
static void tw_binary(tw *w, int16_t id, const void *p, size_t n) {
  tw_field(w, id, CT_BINARY);
  tw_varint(w, n);
  tw_bytes(w, p, n);
}
static void tw_string(tw *w, int16_t id, const char *s) { tw_binary(w, id, s, strlen(s)); }
static void tw_list(tw *w, int16_t id, int elem_type, int64_t n) {
  tw_field(w, id, CT_LIST);
  if (n < 15) {
    tw_byte(w, (uint8_t)(n << 4 | elem_type));
  } else {
    tw_byte(w, (uint8_t)(0xF0 | elem_type));
    tw_varint(w, (uint64_t)n);
  }
}
/* An empty struct as a field (the members of unions like LogicalType and TimeUnit). */
static void tw_empty_struct(tw *w, int16_t id) {
  tw_field(w, id, CT_STRUCT);
  tw_struct_begin(w);
  tw_struct_end(w);
}

/* ------------------------------------------------------------------ parquet.thrift structs */
static void write_statistics(tw *w, const pl_pq_statistics *s) {
  tw_struct_begin(w);
  if (s->max.set) tw_binary(w, 1, s->max.data, s->max.len);
  if (s->min.set) tw_binary(w, 2, s->min.data, s->min.len);
  if (s->has_null_count) tw_i64(w, 3, s->null_count);
  if (s->has_distinct_count) tw_i64(w, 4, s->distinct_count);
  if (s->max_value.set) tw_binary(w, 5, s->max_value.data, s->max_value.len);
  if (s->min_value.set) tw_binary(w, 6, s->min_value.data, s->min_value.len);
  if (s->has_is_max_exact) tw_bool(w, 7, s->is_max_value_exact);
  if (s->has_is_min_exact) tw_bool(w, 8, s->is_min_value_exact);
  if (s->has_nan_count) tw_i64(w, 9, s->nan_count);
  tw_struct_end(w);
}

static void write_time_unit(tw *w, int16_t id, pl_pq_time_unit u) {
  tw_field(w, id, CT_STRUCT);
  tw_struct_begin(w);
  tw_empty_struct(w, (int16_t)u); /* MILLIS = 1, MICROS = 2, NANOS = 3 */
  tw_struct_end(w);
}

static void write_logical(tw *w, const pl_pq_logical *l) {
  tw_field(w, 10, CT_STRUCT);
  tw_struct_begin(w);
  int16_t id = (int16_t)l->kind;
  switch (l->kind) {
  case PL_LT_DECIMAL:
    tw_field(w, id, CT_STRUCT);
    tw_struct_begin(w);
    tw_i32(w, 1, l->scale);
    tw_i32(w, 2, l->precision);
    tw_struct_end(w);
    break;
  case PL_LT_TIME:
  case PL_LT_TIMESTAMP:
    tw_field(w, id, CT_STRUCT);
    tw_struct_begin(w);
    tw_bool(w, 1, l->utc);
    write_time_unit(w, 2, l->unit);
    tw_struct_end(w);
    break;
  case PL_LT_INTEGER:
    tw_field(w, id, CT_STRUCT);
    tw_struct_begin(w);
    tw_i8(w, 1, l->bit_width);
    tw_bool(w, 2, l->is_signed);
    tw_struct_end(w);
    break;
  default: /* STRING, MAP, LIST, DATE, FLOAT16, ... are empty structs */
    tw_empty_struct(w, id);
    break;
  }
  tw_struct_end(w);
}

static void write_schema_element(tw *w, const pl_pq_schema_element *e) {
  tw_struct_begin(w);
  if (e->type >= 0) tw_i32(w, 1, e->type);
  if (e->type == PL_PQ_FIXED_LEN_BYTE_ARRAY) tw_i32(w, 2, e->type_length);
  if (e->repetition >= 0) tw_i32(w, 3, e->repetition);
  tw_string(w, 4, e->name ? e->name : "");
  if (e->type < 0) tw_i32(w, 5, e->num_children);
  if (e->converted_type >= 0) tw_i32(w, 6, e->converted_type);
  if (e->has_scale) tw_i32(w, 7, e->scale);
  if (e->has_precision) tw_i32(w, 8, e->precision);
  if (e->has_field_id) tw_i32(w, 9, e->field_id);
  if (e->logical.kind != PL_LT_NONE) write_logical(w, &e->logical);
  tw_struct_end(w);
}

static void write_kvs(tw *w, int16_t id, int32_t n, const pl_pq_kv *kv) {
  tw_list(w, id, CT_STRUCT, n);
  for (int32_t i = 0; i < n; i++) {
    tw_struct_begin(w);
    tw_string(w, 1, kv[i].key);
    if (kv[i].value) tw_string(w, 2, kv[i].value);
    tw_struct_end(w);
  }
}

static void write_column_meta(tw *w, const pl_pq_column_meta *m) {
  tw_struct_begin(w);
  tw_i32(w, 1, m->type);
  tw_list(w, 2, CT_I32, m->n_encodings);
  for (int32_t i = 0; i < m->n_encodings; i++) tw_varint(w, zigzag(m->encodings[i]));
  tw_list(w, 3, CT_BINARY, m->n_path);
  for (int32_t i = 0; i < m->n_path; i++) {
    size_t n = strlen(m->path[i]);
    tw_varint(w, n);
    tw_bytes(w, m->path[i], n);
  }
  tw_i32(w, 4, m->codec);
  tw_i64(w, 5, m->num_values);
  tw_i64(w, 6, m->total_uncompressed_size);
  tw_i64(w, 7, m->total_compressed_size);
  if (m->n_kv > 0) write_kvs(w, 8, m->n_kv, m->kv);
  tw_i64(w, 9, m->data_page_offset);
  if (m->has_index_page_offset) tw_i64(w, 10, m->index_page_offset);
  if (m->has_dictionary_page_offset) tw_i64(w, 11, m->dictionary_page_offset);
  if (m->stats.set) {
    tw_field(w, 12, CT_STRUCT);
    write_statistics(w, &m->stats);
  }
  if (m->has_bloom_filter_offset) tw_i64(w, 14, m->bloom_filter_offset);
  tw_struct_end(w);
}

static void write_row_group(tw *w, const pl_pq_row_group *rg) {
  tw_struct_begin(w);
  tw_list(w, 1, CT_STRUCT, rg->n_columns);
  for (int32_t c = 0; c < rg->n_columns; c++) {
    const pl_pq_column_chunk *cc = &rg->columns[c];
    tw_struct_begin(w);
    if (cc->file_path) tw_string(w, 1, cc->file_path);
    tw_i64(w, 2, cc->file_offset);
    if (cc->has_meta) {
      tw_field(w, 3, CT_STRUCT);
      write_column_meta(w, &cc->meta);
    }
    tw_struct_end(w);
  }
  tw_i64(w, 2, rg->total_byte_size);
  tw_i64(w, 3, rg->num_rows);
  if (rg->has_file_offset) tw_i64(w, 5, rg->file_offset);
  if (rg->has_total_compressed_size) tw_i64(w, 6, rg->total_compressed_size);
  if (rg->has_ordinal) tw_i16(w, 7, rg->ordinal);
  tw_struct_end(w);
}

pl_status pl__thrift_write_file_metadata(pl_buf *out, const pl_pq_file_metadata *md, pl_error *err) {
  tw w = {.out = out, .err = err};
  tw_struct_begin(&w);
  tw_i32(&w, 1, md->version);
  tw_list(&w, 2, CT_STRUCT, md->n_schema);
  for (int32_t i = 0; i < md->n_schema; i++) write_schema_element(&w, &md->schema[i]);
  tw_i64(&w, 3, md->num_rows);
  tw_list(&w, 4, CT_STRUCT, md->n_row_groups);
  for (int32_t g = 0; g < md->n_row_groups; g++) write_row_group(&w, &md->row_groups[g]);
  if (md->n_kv > 0) write_kvs(&w, 5, md->n_kv, md->kv);
  if (md->created_by) tw_string(&w, 6, md->created_by);
  if (md->n_column_orders > 0) {
    /* ColumnOrder is a union; TYPE_ORDER (field 1) holds an empty TypeDefinedOrder. */
    tw_list(&w, 7, CT_STRUCT, md->n_column_orders);
    for (int32_t i = 0; i < md->n_column_orders; i++) {
      tw_struct_begin(&w);
      tw_empty_struct(&w, 1);
      tw_struct_end(&w);
    }
  }
  tw_struct_end(&w);
  return w.st;
}

pl_status pl__thrift_write_page_header(pl_buf *out, const pl_pq_page_header *h, pl_error *err) {
  tw w = {.out = out, .err = err};
  tw_struct_begin(&w);
  tw_i32(&w, 1, h->type);
  tw_i32(&w, 2, h->uncompressed_page_size);
  tw_i32(&w, 3, h->compressed_page_size);
  if (h->has_crc) tw_i32(&w, 4, h->crc);
  if (h->has_data_header) {
    tw_field(&w, 5, CT_STRUCT);
    tw_struct_begin(&w);
    tw_i32(&w, 1, h->num_values);
    tw_i32(&w, 2, h->encoding);
    tw_i32(&w, 3, h->def_level_encoding);
    tw_i32(&w, 4, h->rep_level_encoding);
    if (h->stats.set) {
      tw_field(&w, 5, CT_STRUCT);
      write_statistics(&w, &h->stats);
    }
    tw_struct_end(&w);
  }
  if (h->has_dict_header) {
    tw_field(&w, 7, CT_STRUCT);
    tw_struct_begin(&w);
    tw_i32(&w, 1, h->num_values);
    tw_i32(&w, 2, h->encoding);
    tw_bool(&w, 3, h->is_sorted);
    tw_struct_end(&w);
  }
  if (h->has_v2_header) {
    tw_field(&w, 8, CT_STRUCT);
    tw_struct_begin(&w);
    tw_i32(&w, 1, h->num_values);
    tw_i32(&w, 2, h->num_nulls);
    tw_i32(&w, 3, h->num_rows);
    tw_i32(&w, 4, h->encoding);
    tw_i32(&w, 5, h->def_levels_byte_length);
    tw_i32(&w, 6, h->rep_levels_byte_length);
    tw_bool(&w, 7, h->is_compressed);
    if (h->stats.set) {
      tw_field(&w, 8, CT_STRUCT);
      write_statistics(&w, &h->stats);
    }
    tw_struct_end(&w);
  }
  tw_struct_end(&w);
  return w.st;
}

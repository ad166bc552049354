/* praline/columnar.h — types, schemas, columns in the Arrow layout, builders, batches,
 * the Arrow C Data Interface, and the canonical checksum.
 *
 * Layout (exactly Arrow's, with 64-bit offsets: Arrow's "large" variants):
 *   validity  bitmap, LSB first; an empty buffer means every row is valid
 *   bool      values is a bitmap
 *   fixed     values holds `width` bytes per row (int*, uint*, float16/32/64, date32, time,
 *             timestamp, decimal128 (16 bytes, little-endian two's complement), fixed binary)
 *   string, binary   offsets int64[length+1], values holds the bytes
 *   list, map        offsets int64[length+1], children[0] holds the items
 *                    (map: children[0] is a struct<key, value> column, as in Arrow)
 *   struct    children[i] has the same length as the struct
 * Null rows of fixed-width columns hold zero bytes; null rows of variable columns are empty.
 *
 * Ownership: a pl_column owns its buffers, its children and a deep copy of its type. Buffers
 * are charged to the column's budget. pl_column_free releases everything (NULL is fine).
 * A pl_batch owns its schema and columns. Nothing here is thread-safe; distinct columns may
 * be used from distinct threads.
 */
#ifndef PRALINE_COLUMNAR_H
#define PRALINE_COLUMNAR_H

#include "praline/arrow_abi.h"
#include "praline/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pl_type_id {
  PL_BOOL = 0,
  PL_INT8, PL_INT16, PL_INT32, PL_INT64,
  PL_UINT8, PL_UINT16, PL_UINT32, PL_UINT64,
  PL_FLOAT16, /* stored as the 2 raw IEEE half bytes */
  PL_FLOAT32, PL_FLOAT64,
  PL_STRING, PL_BINARY,
  PL_FIXED_BINARY, /* width bytes per value */
  PL_DATE32,       /* int32 days since 1970-01-01 */
  PL_TIME,         /* time of day: int32 for seconds/millis, int64 for micros/nanos */
  PL_TIMESTAMP,    /* int64 in `unit` since the epoch; tz != NULL means UTC-adjusted */
  PL_DECIMAL128,   /* 16 bytes, precision 1..38, scale */
  PL_LIST,
  PL_STRUCT,
  PL_MAP,
  PL_TYPE_COUNT
} pl_type_id;

typedef enum pl_time_unit { PL_SECOND = 0, PL_MILLI, PL_MICRO, PL_NANO } pl_time_unit;

typedef struct pl_field pl_field;

typedef struct pl_type {
  pl_type_id id;
  int32_t width;      /* PL_FIXED_BINARY: bytes per value */
  int32_t precision;  /* PL_DECIMAL128 */
  int32_t scale;      /* PL_DECIMAL128 */
  pl_time_unit unit;  /* PL_TIME, PL_TIMESTAMP */
  char *tz;           /* PL_TIMESTAMP: time zone ("UTC"), NULL = local/naive. Owned. */
  int32_t n_children; /* list: 1 (the item); struct: n; map: 1 (struct<key,value>) */
  pl_field *children; /* owned */
} pl_type;

struct pl_field {
  char *name; /* owned */
  pl_type type;
  bool nullable;
};

typedef struct pl_schema {
  int32_t n_fields;
  pl_field *fields; /* owned */
} pl_schema;

/* ------------------------------------------------------------------ types */
/* A primitive type (no children, no tz). For decimal use pl_type_decimal, etc. */
pl_type pl_type_make(pl_type_id id);
pl_type pl_type_fixed_binary(int32_t width);
pl_type pl_type_decimal(int32_t precision, int32_t scale);
pl_type pl_type_timestamp(pl_time_unit unit, const char *tz /* copied; NULL = naive */);
pl_type pl_type_time(pl_time_unit unit);
/* These take ownership of `item` / `fields` contents (the fields array itself is copied). */
pl_type pl_type_list(pl_field item);
pl_type pl_type_struct(int32_t n, pl_field *fields);
pl_type pl_type_map(pl_field key, pl_field value);
pl_field pl_field_make(const char *name, pl_type type /* taken */, bool nullable);

void pl_type_copy(pl_type *dst, const pl_type *src); /* deep */
void pl_type_release(pl_type *t);
bool pl_type_equal(const pl_type *a, const pl_type *b);
void pl_field_copy(pl_field *dst, const pl_field *src);
void pl_field_release(pl_field *f);

/* Bytes per value for fixed-width types (bool: 0, variable/nested: 0). */
int32_t pl_type_byte_width(const pl_type *t);
bool pl_type_is_fixed(const pl_type *t);   /* values buffer with byte_width bytes per row */
bool pl_type_has_offsets(const pl_type *t); /* string, binary, list, map */
bool pl_type_is_integer(pl_type_id id);
/* Canonical name as pqcheck prints it: int32, float64, string, binary, date, timestamp,
 * timestamptz, decimal(p,s), list<T>, struct<a:T,...>, map<K,V>, float16, time... .
 * Writes at most cap bytes (NUL-terminated) and returns the full length. */
size_t pl_type_canonical(const pl_type *t, char *buf, size_t cap);
/* Parses the canonical names above plus "timestamp[us]", "timestamp[ms, UTC]", "time[us]",
 * "fixed_binary(16)", "decimal128(p,s)" (for YAML specs). */
pl_status pl_type_parse(const char *text, pl_type *out, pl_error *err);

void pl_schema_init(pl_schema *s);
void pl_schema_add(pl_schema *s, pl_field f /* taken */);
void pl_schema_copy(pl_schema *dst, const pl_schema *src);
void pl_schema_release(pl_schema *s);
int32_t pl_schema_find(const pl_schema *s, const char *name); /* -1 if absent */

/* ------------------------------------------------------------------ columns */
typedef struct pl_column pl_column;
struct pl_column {
  pl_type type;        /* owned deep copy */
  int64_t length;
  int64_t null_count;
  pl_buf validity;
  pl_buf offsets;
  pl_buf values;
  int32_t n_children;
  pl_column **children;
  pl_budget *budget;
  /* For imported columns: the Arrow array whose buffers this column borrows (foreign
   * pl_bufs); released when the column is freed. NULL otherwise. */
  struct ArrowArray *keeper;
};

pl_column *pl_column_new(const pl_type *type, pl_budget *b, pl_error *err);
void pl_column_free(pl_column *c);
/* Bytes held by the column's buffers, children included (capacity, as charged). */
size_t pl_column_bytes(const pl_column *c);
/* Pre-sizes for n more rows (and, for strings, data_bytes more bytes). Optional. */
pl_status pl_column_reserve(pl_column *c, int64_t n, size_t data_bytes, pl_error *err);

static inline bool pl_bit_get(const uint8_t *bits, int64_t i) {
  return (bits[i >> 3] >> (i & 7)) & 1;
}
static inline void pl_bit_set(uint8_t *bits, int64_t i, bool v) {
  if (v) bits[i >> 3] |= (uint8_t)(1u << (i & 7));
  else bits[i >> 3] &= (uint8_t)~(1u << (i & 7));
}
static inline bool pl_column_is_valid(const pl_column *c, int64_t i) {
  return c->validity.len == 0 || pl_bit_get(c->validity.data, i);
}
static inline const int64_t *pl_column_offsets(const pl_column *c) {
  return (const int64_t *)c->offsets.data;
}

/* The integer at `row` of an int*, uint* (up to 32 bits: zero-extended; uint64: the bits),
 * date32, time or timestamp column, widened to int64. */
int64_t pl_column_int_at(const pl_column *c, int64_t row);

/* Builders: append one value, n nulls, or whole slices. Integer/temporal appends convert to
 * the column's width (the caller guarantees range). Appending a wrong kind is PL_EINVAL. */
pl_status pl_column_append_null(pl_column *c, pl_error *err);
pl_status pl_column_append_nulls(pl_column *c, int64_t n, pl_error *err);
pl_status pl_column_append_bool(pl_column *c, bool v, pl_error *err);
/* int*, uint* (bits reinterpreted), date32, time, timestamp */
pl_status pl_column_append_int(pl_column *c, int64_t v, pl_error *err);
pl_status pl_column_append_float(pl_column *c, double v, pl_error *err); /* float32/64 */
/* string, binary, fixed binary (n must equal width), decimal128 (16 LE bytes), float16 (2) */
pl_status pl_column_append_bytes(pl_column *c, const void *p, size_t n, pl_error *err);
/* n fixed-width values, all valid, from raw little-endian bytes (n * byte_width bytes). */
pl_status pl_column_append_raw(pl_column *c, const void *values, int64_t n, pl_error *err);
/* list/map: ends one row whose items were appended to children[0] since the last row. */
pl_status pl_column_end_list(pl_column *c, pl_error *err);
/* struct: ends one row; every child must already hold length+1 rows (append nulls to the
 * children for a null struct row, then call with valid = false). */
pl_status pl_column_end_struct(pl_column *c, bool valid, pl_error *err);
/* Appends rows [start, start+n) of src (same type) to dst, nested children included. */
pl_status pl_column_append_slice(pl_column *dst, const pl_column *src, int64_t start, int64_t n,
                                 pl_error *err);
/* Appends rows rows[0..n) of src (same type; any order, repeats allowed) to dst: a gather. */
pl_status pl_column_append_rows(pl_column *dst, const pl_column *src, const int64_t *rows, int64_t n,
                                pl_error *err);

/* ------------------------------------------------------------------ batches */
typedef struct pl_batch {
  pl_schema schema; /* owned */
  int64_t length;
  pl_column **columns; /* owned, schema.n_fields of them */
  pl_budget *budget;
} pl_batch;

/* Empty columns for every field of schema (copied). */
pl_batch *pl_batch_new(const pl_schema *schema, pl_budget *b, pl_error *err);
void pl_batch_free(pl_batch *batch);
/* Recomputes length from the columns; fails unless all columns have the same length. */
pl_status pl_batch_finish(pl_batch *batch, pl_error *err);
/* Appends a column (taken) under a field (copied). */
pl_status pl_batch_take_column(pl_batch *batch, const pl_field *f, pl_column *c, pl_error *err);
size_t pl_batch_bytes(const pl_batch *batch);

/* ------------------------------------------------------------------ Arrow C Data Interface */
/* Moves the column's buffers into out_array (zero-copy) and fills out_schema with name.
 * The column is consumed (freed) whether or not this succeeds. The release callbacks free
 * the buffers and credit the budget. */
pl_status pl_column_export_arrow(pl_column *c, const char *name, bool nullable,
                                 struct ArrowSchema *out_schema, struct ArrowArray *out_array,
                                 pl_error *err);
/* Builds a column that borrows array's buffers (zero-copy when array->offset == 0 and the
 * layout matches; copies otherwise). Takes ownership of *array (moved: array->release is set
 * to NULL); schema is only read. */
pl_status pl_column_import_arrow(const struct ArrowSchema *schema, struct ArrowArray *array,
                                 pl_budget *b, pl_column **out, pl_error *err);
/* A batch as a struct array (format "+s"), and back. Export consumes the batch. */
pl_status pl_batch_export_arrow(pl_batch *batch, struct ArrowSchema *out_schema,
                                struct ArrowArray *out_array, pl_error *err);
pl_status pl_batch_import_arrow(const struct ArrowSchema *schema, struct ArrowArray *array,
                                pl_budget *b, pl_batch **out, pl_error *err);
/* Arrow format string of a type into buf ("l", "U", "tsu:UTC", "d:10,2", "+L", ...). */
pl_status pl_type_to_arrow_format(const pl_type *t, char *buf, size_t cap, pl_error *err);
pl_status pl_type_from_arrow(const struct ArrowSchema *schema, pl_field *out, pl_error *err);

/* ------------------------------------------------------------------ canonical checksum */
/* The rendering and hashing of ../shared/tools/pqcheck: each value as text + "\n", SHA-256,
 * first 16 hex digits. Feed a column's batches in row order. */
typedef struct pl_checksum pl_checksum;
pl_checksum *pl_checksum_new(const pl_type *type);
pl_status pl_checksum_add(pl_checksum *ck, const pl_column *c, pl_error *err);
int64_t pl_checksum_rows(const pl_checksum *ck);
int64_t pl_checksum_nulls(const pl_checksum *ck);
void pl_checksum_hex(pl_checksum *ck, char out[17]); /* finishes; call once */
void pl_checksum_free(pl_checksum *ck);
/* File checksum: SHA-256 over "name\ttype\tchecksum\n" lines, first 16 hex digits. */
void pl_checksum_file(int n, const char *const *names, const char *const *types,
                      const char *const *checksums, char out[17]);
/* Renders one value canonically (for tests and `praline cat`); returns bytes written or the
 * length needed, like snprintf. */
size_t pl_canonical_value(const pl_column *c, int64_t row, char *buf, size_t cap);
/* JavaScript's Number.prototype.toString for a double (shortest round trip), into buf[32]. */
void pl_format_js_double(double v, char buf[32]);

#ifdef __cplusplus
}
#endif
#endif

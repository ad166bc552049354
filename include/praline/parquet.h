/* praline/parquet.h — the Parquet footer model, a streaming writer and a streaming reader.
 *
 * Implemented from the public specification (parquet.thrift and the format docs), with our
 * own Thrift compact-protocol codec.
 *
 * Ownership: the footer model (pl_pq_*) owns every string and array it points to; release it
 * with pl_pq_file_metadata_release. A writer owns its open temporary file until
 * pl_parquet_writer_close (which renames it to the final name) or pl_parquet_writer_abort
 * (which removes it). A pl_parquet_file owns its descriptor and its footer; a reader borrows
 * the file, which must outlive it. Batches returned by a reader belong to the caller.
 * Thread-safety: distinct writers/readers may run in distinct threads; one object is used by
 * one thread at a time. Two readers may share one pl_parquet_file (reads use pread).
 */
#ifndef PRALINE_PARQUET_H
#define PRALINE_PARQUET_H

#include "praline/columnar.h"
#include "praline/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ parquet.thrift enums */
typedef enum {
  PL_PQ_BOOLEAN = 0, PL_PQ_INT32 = 1, PL_PQ_INT64 = 2, PL_PQ_INT96 = 3,
  PL_PQ_FLOAT = 4, PL_PQ_DOUBLE = 5, PL_PQ_BYTE_ARRAY = 6, PL_PQ_FIXED_LEN_BYTE_ARRAY = 7
} pl_pq_type;

typedef enum {
  PL_CT_UTF8 = 0, PL_CT_MAP = 1, PL_CT_MAP_KEY_VALUE = 2, PL_CT_LIST = 3, PL_CT_ENUM = 4,
  PL_CT_DECIMAL = 5, PL_CT_DATE = 6, PL_CT_TIME_MILLIS = 7, PL_CT_TIME_MICROS = 8,
  PL_CT_TIMESTAMP_MILLIS = 9, PL_CT_TIMESTAMP_MICROS = 10, PL_CT_UINT_8 = 11,
  PL_CT_UINT_16 = 12, PL_CT_UINT_32 = 13, PL_CT_UINT_64 = 14, PL_CT_INT_8 = 15,
  PL_CT_INT_16 = 16, PL_CT_INT_32 = 17, PL_CT_INT_64 = 18, PL_CT_JSON = 19, PL_CT_BSON = 20,
  PL_CT_INTERVAL = 21
} pl_pq_converted_type;

typedef enum { PL_REP_REQUIRED = 0, PL_REP_OPTIONAL = 1, PL_REP_REPEATED = 2 } pl_pq_repetition;

/* LogicalType is a union; `kind` is the union's field id in parquet.thrift. */
typedef enum {
  PL_LT_NONE = 0, PL_LT_STRING = 1, PL_LT_MAP = 2, PL_LT_LIST = 3, PL_LT_ENUM = 4,
  PL_LT_DECIMAL = 5, PL_LT_DATE = 6, PL_LT_TIME = 7, PL_LT_TIMESTAMP = 8,
  PL_LT_INTEGER = 10, PL_LT_UNKNOWN = 11, PL_LT_JSON = 12, PL_LT_BSON = 13, PL_LT_UUID = 14,
  PL_LT_FLOAT16 = 15, PL_LT_VARIANT = 16, PL_LT_GEOMETRY = 17, PL_LT_GEOGRAPHY = 18
} pl_pq_logical_kind;

typedef enum { PL_TU_MILLIS = 1, PL_TU_MICROS = 2, PL_TU_NANOS = 3 } pl_pq_time_unit;

typedef enum {
  PL_PQ_ENC_PLAIN = 0, PL_PQ_ENC_PLAIN_DICTIONARY = 2, PL_PQ_ENC_RLE = 3,
  PL_PQ_ENC_BIT_PACKED = 4, PL_PQ_ENC_DELTA_BINARY_PACKED = 5,
  PL_PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6, PL_PQ_ENC_DELTA_BYTE_ARRAY = 7,
  PL_PQ_ENC_RLE_DICTIONARY = 8, PL_PQ_ENC_BYTE_STREAM_SPLIT = 9
} pl_pq_encoding;

typedef enum {
  PL_CODEC_UNCOMPRESSED = 0, PL_CODEC_SNAPPY = 1, PL_CODEC_GZIP = 2, PL_CODEC_LZO = 3,
  PL_CODEC_BROTLI = 4, PL_CODEC_LZ4 = 5, PL_CODEC_ZSTD = 6, PL_CODEC_LZ4_RAW = 7
} pl_codec;

typedef enum {
  PL_PAGE_DATA = 0, PL_PAGE_INDEX = 1, PL_PAGE_DICTIONARY = 2, PL_PAGE_DATA_V2 = 3
} pl_pq_page_type;

const char *pl_codec_name(pl_codec c);                /* "ZSTD" */
pl_status pl_codec_parse(const char *s, pl_codec *out, pl_error *err); /* "zstd", "lz4_raw", ... */
/* A write level the codec takes: 0 (its default), zstd -7..22, gzip 1..9, brotli 0..11;
 * other codecs take none. */
pl_status pl_codec_check_level(pl_codec c, int level, pl_error *err);
const char *pl_pq_encoding_name(int e);              /* "RLE_DICTIONARY" */
const char *pl_pq_type_name(int t);                  /* "BYTE_ARRAY" */

/* ------------------------------------------------------------------ footer model */
typedef struct pl_pq_bytes {
  uint8_t *data; /* owned; NULL when absent */
  uint32_t len;
  bool set;
} pl_pq_bytes;

typedef struct pl_pq_logical {
  pl_pq_logical_kind kind;
  int32_t precision, scale;   /* DECIMAL */
  bool utc;                   /* TIME, TIMESTAMP: isAdjustedToUTC */
  pl_pq_time_unit unit;       /* TIME, TIMESTAMP */
  int8_t bit_width;           /* INTEGER */
  bool is_signed;             /* INTEGER */
} pl_pq_logical;

typedef struct pl_pq_schema_element {
  char *name;
  int type;            /* pl_pq_type, -1 = absent (group) */
  int32_t type_length; /* FIXED_LEN_BYTE_ARRAY */
  int repetition;      /* pl_pq_repetition, -1 = absent (root) */
  int32_t num_children;
  int converted_type;  /* pl_pq_converted_type, -1 = absent */
  int32_t scale, precision;
  bool has_scale, has_precision;
  int32_t field_id;
  bool has_field_id;
  pl_pq_logical logical; /* kind PL_LT_NONE = absent */
} pl_pq_schema_element;

typedef struct pl_pq_statistics {
  pl_pq_bytes max, min;             /* deprecated fields 1, 2 */
  int64_t null_count, distinct_count;
  bool has_null_count, has_distinct_count;
  pl_pq_bytes max_value, min_value; /* fields 5, 6 */
  bool is_max_value_exact, is_min_value_exact, has_is_max_exact, has_is_min_exact;
  int64_t nan_count;                /* field 9: FLOAT, DOUBLE and FLOAT16 columns only */
  bool has_nan_count;
  bool set;                         /* the struct was present */
} pl_pq_statistics;

typedef struct pl_pq_kv {
  char *key;
  char *value; /* NULL when absent */
} pl_pq_kv;

typedef struct pl_pq_column_meta {
  int type;
  int32_t n_encodings;
  int32_t *encodings;
  int32_t n_path;
  char **path; /* path_in_schema */
  int codec;
  int64_t num_values, total_uncompressed_size, total_compressed_size;
  int32_t n_kv;
  pl_pq_kv *kv;
  int64_t data_page_offset;
  int64_t index_page_offset, dictionary_page_offset;
  bool has_index_page_offset, has_dictionary_page_offset;
  pl_pq_statistics stats;
  int64_t bloom_filter_offset;
  bool has_bloom_filter_offset;
} pl_pq_column_meta;

typedef struct pl_pq_column_chunk {
  char *file_path; /* NULL = same file */
  int64_t file_offset;
  bool has_meta;
  pl_pq_column_meta meta;
  bool encrypted; /* crypto_metadata or encrypted_column_metadata present */
} pl_pq_column_chunk;

typedef struct pl_pq_row_group {
  int32_t n_columns;
  pl_pq_column_chunk *columns;
  int64_t total_byte_size, num_rows;
  int64_t file_offset, total_compressed_size;
  bool has_file_offset, has_total_compressed_size;
  int16_t ordinal;
  bool has_ordinal;
} pl_pq_row_group;

typedef struct pl_pq_file_metadata {
  int32_t version;
  int32_t n_schema;
  pl_pq_schema_element *schema; /* depth-first, schema[0] is the root */
  int64_t num_rows;
  int32_t n_row_groups;
  pl_pq_row_group *row_groups;
  int32_t n_kv;
  pl_pq_kv *kv;
  char *created_by;
  int32_t n_column_orders; /* each TYPE_ORDER (TypeDefinedOrder) */
  bool encrypted;          /* encryption_algorithm present, or an encrypted footer ("PARE") */
} pl_pq_file_metadata;

void pl_pq_file_metadata_release(pl_pq_file_metadata *md);

typedef struct pl_pq_page_header {
  int type; /* pl_pq_page_type */
  int32_t uncompressed_page_size, compressed_page_size;
  int32_t crc;
  bool has_crc;
  /* DATA_PAGE */
  int32_t num_values;
  int encoding, def_level_encoding, rep_level_encoding;
  /* DICTIONARY_PAGE: num_values, encoding above; */
  bool is_sorted;
  /* DATA_PAGE_V2: num_values, encoding above; */
  int32_t num_nulls, num_rows;
  int32_t def_levels_byte_length, rep_levels_byte_length;
  bool is_compressed; /* default true */
  pl_pq_statistics stats;
  bool has_data_header, has_dict_header, has_v2_header;
} pl_pq_page_header;
void pl_pq_page_header_release(pl_pq_page_header *h);

/* ------------------------------------------------------------------ writer */
typedef enum {
  PL_ENC_AUTO = 0, /* dictionary if enabled, falling back to PLAIN */
  PL_ENC_PLAIN,
  PL_ENC_DICTIONARY,
  PL_ENC_DELTA_BINARY_PACKED,     /* int32/int64 columns */
  PL_ENC_DELTA_LENGTH_BYTE_ARRAY  /* string/binary columns */
} pl_encoding_choice;

typedef struct pl_parquet_column_options {
  const char *name; /* top-level field name (applies to every leaf under it) */
  pl_encoding_choice encoding;
} pl_parquet_column_options;

typedef struct pl_parquet_write_options {
  pl_codec codec;               /* default ZSTD */
  int codec_level;              /* 0 = praline's default: zstd 1, brotli 1, gzip zlib's own */
  int page_version;             /* 1 (default) or 2 */
  bool dictionary;              /* default true */
  size_t dictionary_limit;      /* dictionary bytes before falling back to PLAIN; 1 MiB */
  size_t page_bytes;            /* cut a page at this many uncompressed bytes; 1 MiB */
  size_t row_group_bytes;       /* cut a row group at this many uncompressed bytes; 128 MiB */
  int64_t row_group_rows;       /* also cut at this many rows; 0 = no row limit */
  bool statistics;              /* default true */
  size_t statistics_truncate;   /* max bytes of a string min/max; 64 */
  int n_columns;
  const pl_parquet_column_options *columns; /* per-column overrides, borrowed */
  int n_kv;
  const pl_pq_kv *kv; /* extra key/value metadata, borrowed */
  /* Write through O_DIRECT, in aligned blocks of PL_PARQUET_DIRECT_BYTES staged in memory
   * (PL_PARQUET_DIRECT_STAGE in all, charged to the writer's budget): a big one-pass output
   * then costs no copy into the page cache and leaves no dirty pages behind. A background
   * thread writes one block while the writer fills the next, so the writer does not wait for
   * the device. Where the file system refuses O_DIRECT, the writer falls back to ordinary
   * writes. The file's bytes are the same either way. */
  bool direct_io;
  /* Optional: more threads for one file. parallel(parallel_ctx, n, fn, arg) must call
   * fn(arg, i, lane) once for every i in [0, n), lane 0 or 1 with no two calls on one lane at
   * once, and return when all have returned. The writer then encodes and compresses the
   * columns of a row group side by side (lane 1 holds its own scratch, up to about three
   * pages, and a codec context, charged to the budget). NULL = one thread. The file's bytes
   * are the same either way. */
  void (*parallel)(void *parallel_ctx, int n, void (*fn)(void *arg, int i, int lane), void *arg);
  void *parallel_ctx;
} pl_parquet_write_options;
#define PL_PARQUET_DIRECT_BYTES ((size_t)2 << 20)
#define PL_PARQUET_DIRECT_STAGE (2 * PL_PARQUET_DIRECT_BYTES)

void pl_parquet_write_options_default(pl_parquet_write_options *o);

typedef struct pl_parquet_writer pl_parquet_writer;
/* Opens `<dir>/.<name>.tmp-<pid>-<n>` for writing; schema is copied. */
pl_parquet_writer *pl_parquet_writer_open(const char *path, const pl_schema *schema,
                                          const pl_parquet_write_options *o, pl_budget *b,
                                          pl_error *err);
/* Appends the batch's rows (its schema must equal the writer's). Pages and row groups are
 * flushed as they fill, so memory stays bounded whatever the number of rows. */
pl_status pl_parquet_writer_write(pl_parquet_writer *w, const pl_batch *batch, pl_error *err);
/* The same, gathering: when rows[i] is not NULL, row k of column i is that column's row
 * rows[i][k] (a filter's kept rows, written without first copying them out); else row k.
 * batch->length rows are written; a gathered column may be longer than the batch, and each
 * rows[i][k] must lie inside it. rows may be NULL (= pl_parquet_writer_write). The bytes are
 * those of writing the gathered rows as a plain batch. */
pl_status pl_parquet_writer_write_rows(pl_parquet_writer *w, const pl_batch *batch, const int64_t *const *rows,
                                       pl_error *err);
/* Flushes and writes the footer: every byte is in the (temporary) file, which is not yet
 * fsynced nor renamed. Frees all the memory charged to the writer's budget, which may go
 * away before close. No write may follow. On failure the temporary file is removed; close or
 * abort must still free w. Lets a caller hand the slow part of close (fsync, rename) to
 * another thread. */
pl_status pl_parquet_writer_finish(pl_parquet_writer *w, pl_error *err);
/* Finishes (if not done), fsyncs, renames to the final path, frees w. On failure the
 * temporary file is removed, nothing exists at the final path, and w is freed. */
pl_status pl_parquet_writer_close(pl_parquet_writer *w, pl_error *err);
void pl_parquet_writer_abort(pl_parquet_writer *w); /* removes the temporary file, frees */
uint64_t pl_parquet_writer_bytes(const pl_parquet_writer *w); /* bytes written so far */

/* ------------------------------------------------------------------ reader */
typedef struct pl_parquet_file pl_parquet_file;

typedef struct pl_parquet_open_options {
  bool verify_crc; /* check page CRCs when present */
  /* Keep the file open when its footer decodes but the reader refuses it (a schema it cannot
   * map to Arrow types, encrypted columns, inconsistent row groups): pl_parquet_metadata
   * works, pl_parquet_schema returns NULL and pl_parquet_reader_new fails with the reason.
   * For footer viewers such as `praline inspect`. */
  bool footer_only;
} pl_parquet_open_options;

/* Reads and checks the footer. Errors name the file. o may be NULL. */
pl_parquet_file *pl_parquet_open(const char *path, const pl_parquet_open_options *o,
                                 pl_budget *b, pl_error *err);
void pl_parquet_close(pl_parquet_file *f);
const pl_pq_file_metadata *pl_parquet_metadata(const pl_parquet_file *f);
/* The Arrow-level schema the reader produces (top-level fields, nested types); NULL for a
 * file opened footer_only that the reader refuses. */
const pl_schema *pl_parquet_schema(const pl_parquet_file *f);
const char *pl_parquet_path(const pl_parquet_file *f);

/* Column-wise copies (the load of a Parquet dataset). pl_parquet_copy_field writes `path`
 * (through a temporary name, renamed when complete) holding the columns `id` and `field` (or
 * only `id` when field is NULL) of
 * row groups [rg_start, rg_start + rg_count) of src. The field's column chunks are copied byte
 * for byte: nothing is decoded or re-encoded. The id column is copied likewise when
 * first_id < 0 (src must have a required int64 `id`), else generated as first_id,
 * first_id + 1, ... Fails with PL_EUNSUPPORTED unless pl_parquet_copyable(src, field) (and
 * (src, "id") when the id is copied): the top-level `field` is one flat column of a plain type
 * (boolean, signed integers, float, double, string/binary, date, timestamp), with codecs and
 * encodings that common readers share (not Hadoop LZ4), whose chunks lie in src, unencrypted,
 * with sizes that can be trusted (not PARQUET-816). Other columns are decoded and re-written.
 * With sync false the file is renamed once written but not fsynced (its writeback is started):
 * call pl_parquet_sync(path) before relying on it after a crash of the machine, so that
 * the disk works while the caller does something else. */
bool pl_parquet_copyable(const pl_parquet_file *src, const char *field);
pl_status pl_parquet_copy_field(const pl_parquet_file *src, int32_t rg_start, int32_t rg_count,
                                const char *field, int64_t first_id, const char *path, bool sync,
                                pl_budget *b, pl_error *err);
/* The same, with the copied column named `as` in the new file (its chunks stay as they are). */
pl_status pl_parquet_copy_field_as(const pl_parquet_file *src, int32_t rg_start, int32_t rg_count,
                                   const char *field, const char *as, int64_t first_id,
                                   const char *path, bool sync, pl_budget *b, pl_error *err);
/* fsyncs the file at path and its directory. */
pl_status pl_parquet_sync(const char *path, pl_error *err);

/* A statistics predicate for pruning: keep row groups where `column op value` may hold. */
typedef enum { PL_CMP_EQ, PL_CMP_NE, PL_CMP_LT, PL_CMP_LE, PL_CMP_GT, PL_CMP_GE, PL_CMP_IS_NULL, PL_CMP_NOT_NULL } pl_cmp;
typedef struct pl_parquet_predicate {
  const char *column; /* top-level primitive column */
  pl_cmp op;
  double num;         /* for numeric columns */
  const char *str;    /* for string/binary columns (NULL for numeric) */
} pl_parquet_predicate;

typedef struct pl_parquet_scan_options {
  int n_columns;
  const char *const *columns; /* top-level names to read; NULL = all */
  int n_row_groups;
  const int *row_groups;      /* NULL = all */
  int n_predicates;           /* ANDed */
  const pl_parquet_predicate *predicates;
  int64_t batch_rows;         /* rows per batch; 0 = 65536 (fewer when values are big) */
  size_t batch_bytes;         /* also end a batch at about this many bytes; 0 = 64 MiB */
} pl_parquet_scan_options;

typedef struct pl_parquet_reader pl_parquet_reader;
/* Memory for pages in flight and output batches is charged to b (may differ from the
 * file's). A value that cannot fit the budget gives PL_ELIMIT naming file, column, row group. */
pl_parquet_reader *pl_parquet_reader_new(pl_parquet_file *f, const pl_parquet_scan_options *o,
                                         pl_budget *b, pl_error *err);
/* Next batch of rows into *out (caller frees), or *out = NULL at the end. */
pl_status pl_parquet_reader_next(pl_parquet_reader *r, pl_batch **out, pl_error *err);
void pl_parquet_reader_free(pl_parquet_reader *r);

#ifdef __cplusplus
}
#endif
#endif

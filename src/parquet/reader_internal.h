/* reader_internal.h — the Parquet reader's internals shared between its files: the Thrift
 * compact decoder, the page decoders, the codecs and the schema mapping.
 *
 * Every function here parses outside bytes: lengths are checked against what remains before
 * anything is read, and failures set a message without a file name (the caller prefixes it).
 */
#ifndef PL_PARQUET_READER_INTERNAL_H
#define PL_PARQUET_READER_INTERNAL_H

#include "praline/parquet.h"

/* ------------------------------------------------------------------ reader.c */
/* The open file's descriptor and size, and whether its column chunk sizes are understated
 * (PARQUET-816), for copy.c. */
void pl__parquet_file_raw(const pl_parquet_file *f, int *fd, int64_t *size, bool *pad_chunks);

/* ------------------------------------------------------------------ thrift_read.c */
/* Decodes a FileMetaData from exactly [p, p+n). On failure md is left released. */
pl_status pl__thrift_read_file_metadata(const uint8_t *p, size_t n, pl_pq_file_metadata *md,
                                        pl_error *err);
/* Decodes one PageHeader from the start of [p, p+n); *used = its encoded size. Returns
 * PL_ECORRUPT with *need_more = true when the bytes end inside the header (the caller may
 * retry with more bytes). */
pl_status pl__thrift_read_page_header(const uint8_t *p, size_t n, pl_pq_page_header *h,
                                      size_t *used, bool *need_more, pl_error *err);

/* ------------------------------------------------------------------ decompress.c */
/* Codec contexts kept across pages (zero-initialise; release when done). */
typedef struct pl__codecs {
  void *zstd;
} pl__codecs;
void pl__codecs_release(pl__codecs *cx);
/* Decompresses src into dst, which must come out exactly dst_len bytes long. */
pl_status pl__decompress(pl__codecs *cx, int codec, const uint8_t *src, size_t src_len, uint8_t *dst,
                         size_t dst_len, pl_error *err);

/* ------------------------------------------------------------------ schema_read.c */
/* How the physical values of a leaf become the values of its output type. */
typedef enum {
  PL__CONV_NONE = 0,   /* same bytes (int32, int64, float, double, FLBA->fixed, FLBA(2)->f16) */
  PL__CONV_BOOL,       /* BOOLEAN -> bitmap */
  PL__CONV_BYTES,      /* BYTE_ARRAY -> string/binary (offsets + data) */
  PL__CONV_I32_I8,     /* INT32 -> int8/uint8 */
  PL__CONV_I32_I16,    /* INT32 -> int16/uint16 */
  PL__CONV_I32_DEC,    /* INT32 -> decimal128 */
  PL__CONV_I64_DEC,    /* INT64 -> decimal128 */
  PL__CONV_FLBA_DEC,   /* big-endian FLBA -> decimal128 */
  PL__CONV_BA_DEC,     /* big-endian BYTE_ARRAY -> decimal128 */
  PL__CONV_INT96_TS    /* INT96 (nanos of day, Julian day) -> timestamp[ns] */
} pl__conv;

/* One Arrow-level node of a top-level field, for record assembly (see reader.c). */
typedef enum { PL__NODE_LEAF, PL__NODE_STRUCT, PL__NODE_LIST } pl__node_kind;

typedef struct pl__node {
  pl__node_kind kind;
  int16_t def_present; /* def level at which this node is non-null */
  int16_t slot_def;    /* def level at which a slot for this node exists */
  int16_t slot_rep;    /* a new slot starts at an entry with rep <= slot_rep */
  int32_t leaf;        /* LEAF: leaf index; otherwise the first leaf below */
  int32_t n_children;
  struct pl__node *children; /* STRUCT: fields; LIST: 1 (the item) */
} pl__node;

typedef struct pl__leaf {
  char *path;        /* dotted path, for messages */
  int32_t schema_index;
  int phys;          /* pl_pq_type */
  int32_t type_length;
  int16_t max_def, max_rep;
  pl_type type;      /* output type of the leaf's values (owned) */
  pl__conv conv;
  int32_t out_width; /* bytes per output value for fixed outputs; 0 for bytes/bool */
  int32_t phys_width; /* bytes per physical value (0 for BYTE_ARRAY, BOOLEAN) */
  int32_t field;     /* top-level field index */
} pl__leaf;

typedef struct pl__schema {
  pl_schema arrow;
  int32_t n_fields;
  pl__node *fields; /* one per top-level field */
  int32_t n_leaves;
  pl__leaf *leaves;
  int32_t *field_first_leaf; /* n_fields + 1 entries */
} pl__schema;

pl_status pl__schema_build(const pl_pq_file_metadata *md, pl__schema *out, pl_error *err);
void pl__schema_release(pl__schema *s);

/* ------------------------------------------------------------------ decode.c */
/* RLE / bit-packed hybrid decoder (levels, dictionary indices, RLE booleans). */
typedef struct pl__rle {
  const uint8_t *p, *end;
  int bit_width;
  uint32_t run_left;   /* values left in the current run */
  bool packed;         /* current run is bit-packed */
  uint32_t value;      /* RLE run value */
  const uint8_t *bp;   /* bit-packed: start of the current group of 8 */
  uint32_t bp_index;   /* bit-packed: index within the run */
} pl__rle;

void pl__rle_init(pl__rle *r, const uint8_t *p, size_t n, int bit_width);
/* Decodes n values into out; fails (PL_ECORRUPT) if the data ends or a value >= limit
 * (limit 0 = no check). */
pl_status pl__rle_get_u16(pl__rle *r, uint16_t *out, int64_t n, uint32_t limit, pl_error *err);
pl_status pl__rle_get_u32(pl__rle *r, uint32_t *out, int64_t n, uint32_t limit, pl_error *err);
/* Levels: like pl__rle_get_u16, and adds the count of values equal to target to *count. */
pl_status pl__rle_get_levels(pl__rle *r, uint16_t *out, int64_t n, uint32_t limit,
                             uint16_t target, int64_t *count, pl_error *err);

/* Deprecated BIT_PACKED levels: MSB-first packing, num_values * bit_width bits. */
pl_status pl__bitpacked_levels(const uint8_t *p, size_t n, int bit_width, uint16_t *out,
                               int64_t count, uint16_t limit, pl_error *err);

/* A column chunk's dictionary, decoded once from its dictionary page. */
typedef struct pl__dict {
  /* dictionary values, in output representation: fixed (width w) or bytes (offsets/data)
   * or bool (one byte per value) */
  pl_buf values;
  pl_buf offsets; /* int64[n+1] for bytes */
  int64_t n;
} pl__dict;

/* A values decoder positioned at the values section of one data page. */
typedef struct pl__values {
  const pl__leaf *leaf;
  int encoding;
  const uint8_t *p, *end; /* values bytes of the page */
  const pl__dict *dict;
  /* state */
  pl__rle rle;          /* dictionary indices, RLE booleans */
  int bool_bit;         /* PLAIN booleans: bit position in *p */
  /* DELTA_BINARY_PACKED: its state lives in scratch_off */
  /* DELTA_LENGTH_BYTE_ARRAY / DELTA_BYTE_ARRAY: lengths decoded up front */
  pl_buf lens, prefixes; /* int32 arrays */
  int64_t lens_n, lens_i;
  const uint8_t *data_p; /* bytes following the lengths */
  pl_buf last;           /* DELTA_BYTE_ARRAY: the previous value */
  /* BYTE_STREAM_SPLIT */
  int64_t bss_n, bss_i;
  /* scratch for conversions */
  pl_buf scratch, scratch_off;
} pl__values;

/* Starts decoding `count` values (an upper bound; the page's non-null values). */
pl_status pl__values_init(pl__values *v, const pl__leaf *leaf, int encoding, const uint8_t *p,
                          size_t n, int64_t count, const pl__dict *dict, pl_budget *b,
                          pl_error *err);
/* Appends n values to the dense column out (type leaf->type, no validity). */
pl_status pl__values_get(pl__values *v, pl_column *out, int64_t n, pl_error *err);
void pl__values_release(pl__values *v);

/* Decodes a dictionary page (PLAIN encoded) into d in output representation. */
pl_status pl__dict_decode(pl__dict *d, const pl__leaf *leaf, const uint8_t *p, size_t n,
                          int64_t count, pl_budget *b, pl_error *err);
void pl__dict_release(pl__dict *d);

#endif

/* writer.c — the streaming Parquet writer.
 *
 * Shape of the work:
 *  - open: the praline schema becomes a Parquet schema (3-level LIST, MAP with key_value, groups
 *    for structs, logical + legacy converted types) and a list of leaves. Each leaf knows its
 *    path of nodes from the top-level column down, its max definition/repetition levels, its
 *    physical type and how an Arrow value becomes a PLAIN Parquet value.
 *  - write: rows go in "strides" (see pl_parquet_writer_write) whose lengths come from the rows
 *    already written, never from the batch; each leaf shreds the rows (Dremel levels from the
 *    Arrow validity/offsets) into its pending page: levels as uint16 arrays and the values
 *    already in PLAIN form. A page ends after the first row at which its page_bits (8 per PLAIN
 *    byte + level bit widths) reach 8 * page_bytes; it is then encoded (PLAIN, dictionary,
 *    delta, RLE booleans), compressed and appended with its header to the leaf's column chunk
 *    (a big page's buffer joins the chunk as a segment, uncopied). Pages always end at a
 *    top-level row boundary (required for v2, harmless for v1). Because every cut is computed
 *    from the values, the file's bytes do not depend on how the rows were split into batches.
 *  - at the end of a stride, when the row group's page_bits reach 8 * row_group_bytes (or it
 *    holds row_group_rows), every leaf flushes its last page and the chunks are written to the
 *    file one after the other (dictionary page first), and the footer model gets the row group.
 *  - close: footer (Thrift compact), fsync, rename from the temporary name.
 * Memory: pending pages (~page_bytes per leaf), the buffered compressed chunks of one row group,
 * and one dictionary per leaf (bounded by dictionary_limit) — all from the budget. */
#include "core/copy.h"
#include "parquet/writer_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_DEPTH 64

/* ------------------------------------------------------------------ leaves */
typedef enum { NODE_PRIM, NODE_STRUCT, NODE_LIST } node_kind;

typedef struct path_step {
  node_kind kind;
  bool nullable;
  int child;   /* struct: index of the child on the path */
  int16_t rep; /* list/map: repetition level of the items */
} path_step;

/* How an Arrow value becomes a PLAIN Parquet value. */
typedef enum {
  CV_BOOL,       /* bitmap -> one byte 0/1 (packed at encode time) */
  CV_COPY,       /* same bytes (width in_w == out_w) */
  CV_I8, CV_I16, /* sign-extend to int32 */
  CV_U8, CV_U16, /* zero-extend to int32 */
  CV_I32_MUL1000, CV_I64_MUL1000, /* seconds -> milliseconds */
  CV_DEC_I32, CV_DEC_I64,         /* decimal128 -> low 4/8 bytes */
  CV_DEC_BE,     /* decimal128 -> big-endian two's complement on out_w bytes */
  CV_BYTES       /* string/binary -> 4-byte length + bytes */
} conv_kind;

/* Statistics order of a leaf (parquet.thrift ColumnOrder, TypeDefinedOrder). */
typedef enum {
  SO_NONE, SO_BOOL, SO_I32, SO_U32, SO_I64, SO_U64, SO_F32, SO_F64, SO_F16, SO_BYTES, SO_FLBA,
  SO_DEC_BE
} stat_order;

typedef enum { E_PLAIN, E_DICT, E_DELTA, E_DLBA, E_RLE_BOOL } enc_kind;

typedef struct dict {
  pl_buf values;    /* PLAIN form of the entries (the dictionary page body) */
  pl_buf pos;       /* uint64 start of each entry in values (byte arrays only) */
  uint64_t *hashes; /* per entry */
  size_t hashes_cap;
  uint64_t *slots;  /* open addressing: high 32 bits of the hash | entry index + 1; 0 = empty */
  size_t nslots;
  uint32_t n;       /* entries */
} dict;

typedef struct chunk_stats {
  bool has;
  union { int64_t i; uint64_t u; double d; } mn, mx;
  uint16_t mn16, mx16; /* float16 bits */
  pl_buf bmin, bmax;   /* bytes: prefix of at most `trunc` bytes; flba: the value */
  bool min_trunc, max_trunc;
  int64_t nulls;
  int64_t nans; /* float leaves: NaN values (parquet.thrift Statistics.nan_count) */
} chunk_stats;

typedef struct leaf {
  int top;
  int depth;
  path_step steps[MAX_DEPTH];
  int16_t max_def, max_rep;
  int bw_def, bw_rep;
  const pl_type *type;
  int ptype;
  int32_t out_w; /* bytes per PLAIN value for fixed physical types (FLBA: type_length) */
  int32_t in_w;  /* bytes per Arrow value */
  conv_kind conv;
  stat_order so;
  bool is_string;
  int n_path;
  char **path;
  enc_kind enc;      /* the leaf's encoding choice */
  bool dict_active;  /* dictionary still in use for the current chunk */
  /* pending page */
  pl_buf def, rep;   /* uint16 levels */
  int64_t n_levels;
  pl_buf plain;      /* PLAIN values */
  int64_t n_vals, n_rows;
  /* current column chunk */
  pl_buf pages;      /* headers + compressed data pages (after segs) */
  pl_buf *segs;      /* earlier parts of the chunk, in order, when a big page was moved in */
  int nsegs, capsegs;
  pl_buf dictpage;   /* header + compressed dictionary page */
  size_t hdr_guess;  /* header bytes of the last data page: where the next page's data starts */
  int64_t c_values, c_uncomp, c_comp, c_bits, c_dict_pages; /* c_bits: page_bits of the flushed pages */
  uint32_t enc_mask; /* bit per pl_pq_encoding used */
  chunk_stats st;
  dict d;
} leaf;

/* The size that cuts pages and row groups, in bits: 8 per byte of PLAIN values plus the bit
 * widths of the levels. It is a sum over rows, computed from the values alone (never from
 * buffer capacities), so where a page or row group ends does not depend on the batches. */
static inline uint64_t page_bits(const leaf *L) {
  return (uint64_t)L->plain.len * 8 + (uint64_t)L->n_levels * (uint64_t)(L->bw_def + L->bw_rep);
}

/* What encoding a page needs beyond its leaf: scratch buffers and a codec context. Leaves are
 * independent until a row group is flushed, so with o.parallel each thread that encodes
 * leaves has its own lane (created on first use, charged to the writer's budget). */
#define PL__LANES 2
typedef struct lane {
  pl__compressor *comp;
  pl_buf idx;   /* int64 selection of leaf value slots (nested shredding) */
  pl_buf u32;   /* dictionary indices of a page */
  pl_buf body;  /* a page before compression */
  pl_buf cbuf;  /* a page after compression */
  pl_buf lv;    /* v2 levels */
  pl_buf hdr;   /* a page header */
  pl_buf join;  /* v1 levels + values joined for codecs without a two-piece input */
} lane;

struct pl_parquet_writer {
  char *path, *tmp;
  int fd;
  pl_budget *b;
  pl_parquet_write_options o;
  pl_schema schema;
  int n_leaves;
  leaf *leaves;
  pl_pq_file_metadata md;
  int32_t rg_cap;
  uint64_t pos;     /* bytes of the file so far (written, or staged for a direct write) */
  uint64_t written; /* bytes that reached the file through raw_write */
  pl__dout *dout;   /* direct_io on a file system that takes it: the O_DIRECT output */
  int64_t rg_rows;
  int64_t stride_left; /* rows before the next row-group check (see pl_parquet_writer_write) */
  int64_t prev_rg_bits, prev_rg_rows; /* size of the last row group, for the first stride */
  lane ln[PL__LANES]; /* ln[0]: the writer's own; more when leaves are encoded in parallel */
  bool finished; /* pl_parquet_writer_finish: every byte is in the file, memory freed */
  pl_status failed;
  pl_error fail_err;
};

static atomic_uint tmp_counter;

/* ------------------------------------------------------------------ small helpers */

static void put_le32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)v;
  p[1] = (uint8_t)(v >> 8);
  p[2] = (uint8_t)(v >> 16);
  p[3] = (uint8_t)(v >> 24);
}
static uint32_t get_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static const char *leaf_name(const pl_parquet_writer *w, const leaf *L, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = 0;
  for (int i = 0; i < L->n_path && n < cap; i++)
    n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? "." : "", L->path[i]);
  (void)w;
  return buf;
}

/* Fails the writer: removes the temporary file at once so nothing is left behind even if the
 * caller never calls close/abort. Keeps the first error. */
static pl_status fail(pl_parquet_writer *w, pl_status st, const pl_error *e) {
  if (!w->failed) {
    w->failed = st;
    if (e) w->fail_err = *e;
    pl__dout_free(w->dout); /* its thread may be writing to the fd */
    w->dout = NULL;
    if (w->fd >= 0) {
      close(w->fd);
      w->fd = -1;
      unlink(w->tmp);
    }
  }
  return st;
}

/* ------------------------------------------------------------------ schema */
static int decimal_flba_bytes(int32_t precision) {
  /* smallest n with 2^(8n-1) > 10^precision */
  for (int n = 1; n <= 16; n++)
    if ((8.0 * n - 1) * 0.30102999566398120 >= (double)precision) return n;
  return 16;
}

typedef struct schema_build {
  pl_parquet_writer *w;
  int32_t cap;
  int lcap;
  pl_error *err;
} schema_build;

static pl_pq_schema_element *add_element(schema_build *sb, const char *name, int repetition) {
  pl_pq_file_metadata *md = &sb->w->md;
  if (md->n_schema == sb->cap) {
    sb->cap = sb->cap ? sb->cap * 2 : 16;
    md->schema = pl_realloc(md->schema, (size_t)sb->cap * sizeof *md->schema);
  }
  pl_pq_schema_element *e = &md->schema[md->n_schema++];
  memset(e, 0, sizeof *e);
  e->name = pl_strdup(name);
  e->type = -1;
  e->repetition = repetition;
  e->converted_type = -1;
  return e;
}

/* Sets physical/logical/converted types of a leaf element and the leaf's conversion. */
static pl_status leaf_types(pl_pq_schema_element *e, leaf *L, const pl_type *t, pl_error *err) {
  L->in_w = pl_type_byte_width(t);
  L->out_w = 0;
  L->conv = CV_COPY;
  L->is_string = false;
  switch (t->id) {
  case PL_BOOL:
    e->type = PL_PQ_BOOLEAN;
    L->conv = CV_BOOL;
    L->so = SO_BOOL;
    break;
  case PL_INT8: case PL_INT16: case PL_UINT8: case PL_UINT16: case PL_UINT32: {
    static const struct { int bits; bool sign; int ct; conv_kind cv; } m[] = {
        [PL_INT8] = {8, true, PL_CT_INT_8, CV_I8},      [PL_INT16] = {16, true, PL_CT_INT_16, CV_I16},
        [PL_UINT8] = {8, false, PL_CT_UINT_8, CV_U8},   [PL_UINT16] = {16, false, PL_CT_UINT_16, CV_U16},
        [PL_UINT32] = {32, false, PL_CT_UINT_32, CV_COPY}};
    e->type = PL_PQ_INT32;
    e->converted_type = m[t->id].ct;
    e->logical = (pl_pq_logical){.kind = PL_LT_INTEGER, .bit_width = (int8_t)m[t->id].bits,
                                 .is_signed = m[t->id].sign};
    L->conv = m[t->id].cv;
    L->out_w = 4;
    L->so = m[t->id].sign ? SO_I32 : SO_U32;
    break;
  }
  case PL_INT32:
    e->type = PL_PQ_INT32;
    L->out_w = 4;
    L->so = SO_I32;
    break;
  case PL_INT64:
    e->type = PL_PQ_INT64;
    L->out_w = 8;
    L->so = SO_I64;
    break;
  case PL_UINT64:
    e->type = PL_PQ_INT64;
    e->converted_type = PL_CT_UINT_64;
    e->logical = (pl_pq_logical){.kind = PL_LT_INTEGER, .bit_width = 64, .is_signed = false};
    L->out_w = 8;
    L->so = SO_U64;
    break;
  case PL_FLOAT16:
    e->type = PL_PQ_FIXED_LEN_BYTE_ARRAY;
    e->type_length = 2;
    e->logical.kind = PL_LT_FLOAT16;
    L->out_w = 2;
    L->so = SO_F16;
    break;
  case PL_FLOAT32:
    e->type = PL_PQ_FLOAT;
    L->out_w = 4;
    L->so = SO_F32;
    break;
  case PL_FLOAT64:
    e->type = PL_PQ_DOUBLE;
    L->out_w = 8;
    L->so = SO_F64;
    break;
  case PL_STRING:
    e->type = PL_PQ_BYTE_ARRAY;
    e->converted_type = PL_CT_UTF8;
    e->logical.kind = PL_LT_STRING;
    L->conv = CV_BYTES;
    L->so = SO_BYTES;
    L->is_string = true;
    break;
  case PL_BINARY:
    e->type = PL_PQ_BYTE_ARRAY;
    L->conv = CV_BYTES;
    L->so = SO_BYTES;
    break;
  case PL_FIXED_BINARY:
    if (t->width <= 0) return pl_error_set(err, PL_EINVAL, "fixed_binary width %d", t->width);
    e->type = PL_PQ_FIXED_LEN_BYTE_ARRAY;
    e->type_length = t->width;
    L->out_w = t->width;
    L->so = SO_FLBA;
    break;
  case PL_DATE32:
    e->type = PL_PQ_INT32;
    e->converted_type = PL_CT_DATE;
    e->logical.kind = PL_LT_DATE;
    L->out_w = 4;
    L->so = SO_I32;
    break;
  case PL_TIME: {
    /* parquet.thrift TimeType: INT32 millis, INT64 micros/nanos; seconds become millis */
    e->logical = (pl_pq_logical){.kind = PL_LT_TIME, .utc = false}; /* a time of day, no zone */
    if (t->unit == PL_SECOND || t->unit == PL_MILLI) {
      e->type = PL_PQ_INT32;
      e->converted_type = PL_CT_TIME_MILLIS;
      e->logical.unit = PL_TU_MILLIS;
      L->out_w = 4;
      L->so = SO_I32;
      if (t->unit == PL_SECOND) L->conv = CV_I32_MUL1000;
    } else {
      e->type = PL_PQ_INT64;
      e->logical.unit = t->unit == PL_MICRO ? PL_TU_MICROS : PL_TU_NANOS;
      if (t->unit == PL_MICRO) e->converted_type = PL_CT_TIME_MICROS;
      L->out_w = 8;
      L->so = SO_I64;
    }
    break;
  }
  case PL_TIMESTAMP: {
    e->type = PL_PQ_INT64;
    e->logical = (pl_pq_logical){.kind = PL_LT_TIMESTAMP, .utc = t->tz != NULL};
    switch (t->unit) {
    case PL_SECOND: /* no seconds unit in Parquet: stored as millis */
      L->conv = CV_I64_MUL1000;
      /* fallthrough */
    case PL_MILLI:
      e->logical.unit = PL_TU_MILLIS;
      e->converted_type = PL_CT_TIMESTAMP_MILLIS;
      break;
    case PL_MICRO:
      e->logical.unit = PL_TU_MICROS;
      e->converted_type = PL_CT_TIMESTAMP_MICROS;
      break;
    case PL_NANO:
      e->logical.unit = PL_TU_NANOS;
      break;
    }
    L->out_w = 8;
    L->so = SO_I64;
    break;
  }
  case PL_DECIMAL128: {
    int32_t p = t->precision, s = t->scale;
    if (p < 1 || p > 38 || s < 0 || s > p)
      return pl_error_set(err, PL_EINVAL, "decimal(%d,%d) is not a valid decimal128", p, s);
    e->converted_type = PL_CT_DECIMAL;
    e->scale = s;
    e->precision = p;
    e->has_scale = e->has_precision = true;
    e->logical = (pl_pq_logical){.kind = PL_LT_DECIMAL, .precision = p, .scale = s};
    if (p <= 9) {
      e->type = PL_PQ_INT32;
      L->conv = CV_DEC_I32;
      L->out_w = 4;
      L->so = SO_I32;
    } else if (p <= 18) {
      e->type = PL_PQ_INT64;
      L->conv = CV_DEC_I64;
      L->out_w = 8;
      L->so = SO_I64;
    } else {
      e->type = PL_PQ_FIXED_LEN_BYTE_ARRAY;
      e->type_length = decimal_flba_bytes(p);
      L->conv = CV_DEC_BE;
      L->out_w = e->type_length;
      L->so = SO_DEC_BE;
    }
    break;
  }
  default:
    return pl_error_set(err, PL_EUNSUPPORTED, "type id %d cannot be a Parquet leaf", (int)t->id);
  }
  L->ptype = e->type;
  L->type = t;
  return PL_OK;
}

static leaf *new_leaf(schema_build *sb) {
  pl_parquet_writer *w = sb->w;
  if (w->n_leaves == sb->lcap) {
    sb->lcap = sb->lcap ? sb->lcap * 2 : 8;
    w->leaves = pl_realloc(w->leaves, (size_t)sb->lcap * sizeof *w->leaves);
  }
  leaf *L = &w->leaves[w->n_leaves++];
  memset(L, 0, sizeof *L);
  return L;
}

typedef struct walk {
  int top;
  int depth;
  path_step steps[MAX_DEPTH];
  int16_t def, rep;
  int n_path;
  const char *path[MAX_DEPTH * 2];
} walk;

/* Emits the Parquet schema of one field (depth-first) and the leaves under it. */
static pl_status emit_field(schema_build *sb, walk *wk, const char *name, const pl_type *t,
                            bool nullable, int repetition) {
  if (wk->depth >= MAX_DEPTH - 1 || wk->n_path >= MAX_DEPTH * 2 - 2)
    return pl_error_set(sb->err, PL_EUNSUPPORTED, "column '%s': nesting deeper than %d", name, MAX_DEPTH);
  path_step *s = &wk->steps[wk->depth];
  s->nullable = nullable;
  s->child = 0;
  int16_t def = (int16_t)(wk->def + (nullable ? 1 : 0));
  walk save = *wk;
  wk->path[wk->n_path++] = name;
  pl_status st = PL_OK;
  switch (t->id) {
  case PL_STRUCT: {
    if (t->n_children < 1)
      return pl_error_set(sb->err, PL_EUNSUPPORTED, "column '%s': a struct without fields cannot be written to Parquet", name);
    pl_pq_schema_element *e = add_element(sb, name, repetition);
    e->num_children = t->n_children;
    s->kind = NODE_STRUCT;
    for (int i = 0; i < t->n_children && !st; i++) {
      wk->steps[save.depth].child = i;
      wk->depth = save.depth + 1;
      wk->def = def;
      const pl_field *f = &t->children[i];
      st = emit_field(sb, wk, f->name, &f->type, f->nullable, f->nullable ? PL_REP_OPTIONAL : PL_REP_REQUIRED);
    }
    break;
  }
  case PL_LIST:
  case PL_MAP: {
    if (t->n_children != 1) return pl_error_set(sb->err, PL_EINVAL, "column '%s': list/map needs 1 child", name);
    bool is_map = t->id == PL_MAP;
    pl_pq_schema_element *e = add_element(sb, name, repetition);
    e->num_children = 1;
    e->converted_type = is_map ? PL_CT_MAP : PL_CT_LIST;
    e->logical.kind = is_map ? PL_LT_MAP : PL_LT_LIST;
    s->kind = NODE_LIST;
    s->rep = (int16_t)(wk->rep + 1);
    wk->depth = save.depth + 1;
    wk->def = (int16_t)(def + 1);
    wk->rep = s->rep;
    const pl_field *item = &t->children[0];
    if (!is_map) {
      pl_pq_schema_element *r = add_element(sb, "list", PL_REP_REPEATED);
      r->num_children = 1;
      wk->path[wk->n_path++] = "list";
      st = emit_field(sb, wk, "element", &item->type, item->nullable,
                      item->nullable ? PL_REP_OPTIONAL : PL_REP_REQUIRED);
    } else {
      const pl_type *kv = &item->type;
      if (kv->id != PL_STRUCT || kv->n_children != 2)
        return pl_error_set(sb->err, PL_EINVAL, "column '%s': map entries must be struct<key, value>", name);
      pl_pq_schema_element *r = add_element(sb, "key_value", PL_REP_REPEATED);
      r->num_children = 2;
      wk->path[wk->n_path++] = "key_value";
      /* the entries struct is the repeated group itself: a required struct step */
      path_step *es = &wk->steps[wk->depth];
      es->kind = NODE_STRUCT;
      es->nullable = false;
      int d0 = wk->depth;
      walk save2 = *wk;
      for (int i = 0; i < 2 && !st; i++) {
        *wk = save2;
        wk->steps[d0].child = i;
        wk->depth = d0 + 1;
        const pl_field *f = &kv->children[i];
        bool nl = i == 0 ? false : f->nullable; /* map keys are required */
        st = emit_field(sb, wk, i == 0 ? "key" : "value", &f->type, nl, nl ? PL_REP_OPTIONAL : PL_REP_REQUIRED);
      }
    }
    break;
  }
  default: {
    pl_pq_schema_element *e = add_element(sb, name, repetition);
    s->kind = NODE_PRIM;
    leaf *L = new_leaf(sb);
    st = leaf_types(e, L, t, sb->err);
    if (st) {
      pl_error_prefix(sb->err, "column '%s'", name);
      break;
    }
    L->top = wk->top;
    L->depth = wk->depth + 1;
    memcpy(L->steps, wk->steps, sizeof L->steps);
    L->max_def = def;
    L->max_rep = wk->rep;
    L->bw_def = pl__bit_width((uint64_t)L->max_def);
    L->bw_rep = pl__bit_width((uint64_t)L->max_rep);
    L->n_path = wk->n_path;
    L->path = pl_malloc((size_t)L->n_path * sizeof *L->path);
    for (int i = 0; i < L->n_path; i++) L->path[i] = pl_strdup(wk->path[i]);
    break;
  }
  }
  /* restore the walk for the caller's siblings (keeps the steps array contents up to depth) */
  int keep_depth = save.depth;
  path_step keep = wk->steps[keep_depth];
  *wk = save;
  wk->steps[keep_depth] = keep;
  return st;
}

/* ------------------------------------------------------------------ options */
void pl_parquet_write_options_default(pl_parquet_write_options *o) {
  memset(o, 0, sizeof *o);
  o->codec = PL_CODEC_ZSTD;
  o->codec_level = 0;
  o->page_version = 1;
  o->dictionary = true;
  o->dictionary_limit = 1u << 20;
  o->page_bytes = 1u << 20;
  o->row_group_bytes = (size_t)128 << 20;
  o->row_group_rows = 0;
  o->statistics = true;
  o->statistics_truncate = 64;
}

static pl_status choose_encodings(pl_parquet_writer *w, pl_error *err) {
  const pl_parquet_write_options *o = &w->o;
  for (int i = 0; i < w->n_leaves; i++) {
    leaf *L = &w->leaves[i];
    if (L->ptype == PL_PQ_BOOLEAN) L->enc = o->page_version == 2 ? E_RLE_BOOL : E_PLAIN;
    else L->enc = o->dictionary ? E_DICT : E_PLAIN;
  }
  for (int c = 0; c < o->n_columns; c++) {
    const pl_parquet_column_options *co = &o->columns[c];
    int32_t top = co->name ? pl_schema_find(&w->schema, co->name) : -1;
    if (top < 0)
      return pl_error_set(err, PL_EINVAL, "column options name '%s', which is not in the schema",
                          co->name ? co->name : "(null)");
    int applied = 0;
    for (int i = 0; i < w->n_leaves; i++) {
      leaf *L = &w->leaves[i];
      if (L->top != top) continue;
      switch (co->encoding) {
      case PL_ENC_AUTO:
        applied++;
        break;
      case PL_ENC_PLAIN:
        L->enc = E_PLAIN;
        applied++;
        break;
      case PL_ENC_DICTIONARY:
        if (L->ptype != PL_PQ_BOOLEAN) L->enc = E_DICT;
        applied++;
        break;
      case PL_ENC_DELTA_BINARY_PACKED:
        if (L->ptype == PL_PQ_INT32 || L->ptype == PL_PQ_INT64) {
          L->enc = E_DELTA;
          applied++;
        }
        break;
      case PL_ENC_DELTA_LENGTH_BYTE_ARRAY:
        if (L->ptype == PL_PQ_BYTE_ARRAY) {
          L->enc = E_DLBA;
          applied++;
        }
        break;
      default:
        return pl_error_set(err, PL_EINVAL, "column '%s': unknown encoding choice %d", co->name,
                            (int)co->encoding);
      }
    }
    if (!applied)
      return pl_error_set(err, PL_EINVAL, "column '%s': encoding %s needs %s values", co->name,
                          co->encoding == PL_ENC_DELTA_BINARY_PACKED ? "DELTA_BINARY_PACKED" : "DELTA_LENGTH_BYTE_ARRAY",
                          co->encoding == PL_ENC_DELTA_BINARY_PACKED ? "int32/int64" : "string/binary");
  }
  for (int i = 0; i < w->n_leaves; i++) w->leaves[i].dict_active = w->leaves[i].enc == E_DICT;
  return PL_OK;
}

/* ------------------------------------------------------------------ file output */

static pl_status raw_write(pl_parquet_writer *w, const uint8_t *s, size_t n, pl_error *err) {
  pl_status st = pl__write_full(w->fd, s, n, &w->written, w->path, NULL, err);
  return st ? fail(w, st, err) : PL_OK;
}

/* Appends n bytes to the file: straight through, or into the direct output's blocks. */
static pl_status write_all(pl_parquet_writer *w, const void *p, size_t n, pl_error *err) {
  w->pos += n;
  if (!w->dout) return raw_write(w, p, n, err);
  pl_status st = pl__dout_write(w->dout, p, n, err);
  return st ? fail(w, st, err) : PL_OK;
}

/* Every byte appended is in the file when it returns PL_OK. */
static pl_status flush_out(pl_parquet_writer *w, pl_error *err) {
  if (!w->dout) return PL_OK;
  pl_status st = pl__dout_flush(w->dout, err);
  return st ? fail(w, st, err) : PL_OK;
}

/* ------------------------------------------------------------------ open */
pl_parquet_writer *pl_parquet_writer_open(const char *path, const pl_schema *schema,
                                          const pl_parquet_write_options *o, pl_budget *b,
                                          pl_error *err) {
  pl_parquet_write_options def;
  if (!o) {
    pl_parquet_write_options_default(&def);
    o = &def;
  }
  if (o->page_version != 1 && o->page_version != 2) {
    pl_error_set(err, PL_EINVAL, "%s: page_version must be 1 or 2 (got %d)", path, o->page_version);
    return NULL;
  }
  pl_parquet_writer *w = pl_calloc(1, sizeof *w);
  w->fd = -1;
  w->b = b;
  w->o = *o;
  if (!w->o.page_bytes) w->o.page_bytes = 1u << 20;
  if (!w->o.row_group_bytes) w->o.row_group_bytes = (size_t)128 << 20;
  if (!w->o.dictionary_limit) w->o.dictionary_limit = 1u << 20;
  if (!w->o.statistics_truncate) w->o.statistics_truncate = SIZE_MAX;
  w->o.columns = NULL; /* borrowed: resolved below, never used after open */
  w->o.kv = NULL;
  w->path = pl_strdup(path);
  pl_schema_copy(&w->schema, schema);
  for (int k = 0; k < PL__LANES; k++) {
    lane *ln = &w->ln[k];
    ln->idx = ln->u32 = ln->body = ln->cbuf = ln->lv = ln->hdr = ln->join = PL_BUF_INIT(b);
  }

  /* schema */
  schema_build sb = {.w = w, .err = err};
  pl_pq_schema_element *root = add_element(&sb, "schema", -1);
  root->num_children = w->schema.n_fields;
  pl_status st = PL_OK;
  for (int i = 0; i < w->schema.n_fields && !st; i++) {
    const pl_field *f = &w->schema.fields[i];
    walk wk;
    memset(&wk, 0, sizeof wk);
    wk.top = i;
    st = emit_field(&sb, &wk, f->name, &f->type, f->nullable, f->nullable ? PL_REP_OPTIONAL : PL_REP_REQUIRED);
  }
  if (!st && w->schema.n_fields == 0) st = pl_error_set(err, PL_EINVAL, "a Parquet file needs at least one column");
  if (!st) {
    pl_parquet_write_options oo = *o;
    w->o.columns = oo.columns;
    w->o.n_columns = oo.n_columns;
    st = choose_encodings(w, err);
    w->o.columns = NULL;
  }
  if (!st) st = pl_codec_check_level(o->codec, o->codec_level, err);
  if (!st) {
    w->ln[0].comp = pl__compressor_new(o->codec, o->codec_level, err);
    if (!w->ln[0].comp) st = err ? err->code : PL_EINVAL;
  }
  if (st) {
    pl_error_prefix(err, "%s", path);
    pl_parquet_writer_abort(w);
    return NULL;
  }
  for (int i = 0; i < w->n_leaves; i++) {
    leaf *L = &w->leaves[i];
    L->def = L->rep = L->plain = L->pages = L->dictpage = PL_BUF_INIT(b);
    L->d.values = L->d.pos = PL_BUF_INIT(b);
    L->st.bmin = L->st.bmax = PL_BUF_INIT(b);
  }
  /* footer model: version, key/value metadata, created_by, column orders */
  w->md.version = o->page_version == 2 ? 2 : 1;
  w->md.created_by = pl_strdup(pl_version_full());
  w->md.n_column_orders = w->n_leaves;
  if (o->n_kv > 0) {
    w->md.kv = pl_calloc((size_t)o->n_kv, sizeof *w->md.kv);
    w->md.n_kv = o->n_kv;
    for (int i = 0; i < o->n_kv; i++) {
      w->md.kv[i].key = pl_strdup(o->kv[i].key ? o->kv[i].key : "");
      w->md.kv[i].value = o->kv[i].value ? pl_strdup(o->kv[i].value) : NULL;
    }
  }

  w->tmp = pl__temp_path(path);
  const int fl = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC;
  if (o->direct_io) w->fd = open(w->tmp, fl | O_DIRECT, 0644);
  bool direct = w->fd >= 0;
  /* no O_DIRECT asked, or a file system without it (tmpfs, some FUSE) */
  if (w->fd < 0 && (!o->direct_io || errno == EINVAL)) w->fd = open(w->tmp, fl, 0644);
  if (w->fd < 0) {
    int e = errno;
    pl_error_set(err, PL_EIO, "%s: cannot create temporary file %s: %s", path, w->tmp, strerror(e));
    pl_parquet_writer_abort(w);
    return NULL;
  }
  if (direct && !(w->dout = pl__dout_new(w->fd, w->path, b, err))) {
    pl_parquet_writer_abort(w);
    return NULL;
  }
  if (write_all(w, "PAR1", 4, err)) {
    pl_parquet_writer_abort(w);
    return NULL;
  }
  return w;
}

/* ------------------------------------------------------------------ shredding */
typedef struct sel {
  const int64_t *idx; /* explicit slots, or NULL for [start, end) */
  int64_t n;          /* number of selected values */
  int64_t start, end;
  const uint8_t *valid; /* with idx == NULL: skip the invalid slots of [start, end) */
} sel;

typedef struct shred_ctx {
  const leaf *L;
  uint16_t *def, *rep;
  int64_t nlev, caplev;
  int64_t *idx;
  int64_t nidx, capidx;
  pl_buf *defb, *repb, *idxb;
  pl_status st;
  pl_error *err;
} shred_ctx;

static bool shred_grow(shred_ctx *c) {
  size_t more = (size_t)(c->caplev + 1024);
  if (c->L->max_def > 0) {
    c->defb->len = (size_t)c->nlev * 2;
    if ((c->st = pl_buf_reserve(c->defb, more * 2, c->err))) return false;
    c->def = (uint16_t *)(void *)c->defb->data;
  }
  if (c->L->max_rep > 0) {
    c->repb->len = (size_t)c->nlev * 2;
    if ((c->st = pl_buf_reserve(c->repb, more * 2, c->err))) return false;
    c->rep = (uint16_t *)(void *)c->repb->data;
  }
  c->caplev = c->nlev + (int64_t)more;
  return true;
}

static inline bool shred_emit(shred_ctx *c, int16_t def, int16_t rep, int64_t slot) {
  if (c->nlev == c->caplev && !shred_grow(c)) return false;
  if (c->L->max_def > 0) c->def[c->nlev] = (uint16_t)def;
  if (c->L->max_rep > 0) c->rep[c->nlev] = (uint16_t)rep;
  c->nlev++;
  if (slot >= 0) {
    if (c->nidx == c->capidx) {
      c->idxb->len = (size_t)c->nidx * 8;
      if ((c->st = pl_buf_reserve(c->idxb, (size_t)(c->capidx + 1024) * 8, c->err))) return false;
      c->idx = (int64_t *)(void *)c->idxb->data;
      c->capidx = (int64_t)(c->idxb->cap / 8);
    }
    c->idx[c->nidx++] = slot;
  }
  return true;
}

/* Dremel shredding of slot i of column col at path step k: def is the definition level
 * reached above this node, rep the repetition level of the first value emitted. */
static bool shred(shred_ctx *c, int k, const pl_column *col, int64_t i, int16_t def, int16_t rep) {
  const path_step *s = &c->L->steps[k];
  if (s->nullable) {
    if (!pl_column_is_valid(col, i)) return shred_emit(c, def, rep, -1);
    def++;
  }
  switch (s->kind) {
  case NODE_PRIM:
    return shred_emit(c, def, rep, i);
  case NODE_STRUCT:
    return shred(c, k + 1, col->children[s->child], i, def, rep);
  case NODE_LIST: {
    const int64_t *off = pl_column_offsets(col);
    int64_t a = off[i], e = off[i + 1];
    if (a >= e) return shred_emit(c, def, rep, -1); /* empty list */
    for (int64_t j = a; j < e; j++)
      if (!shred(c, k + 1, col->children[0], j, (int16_t)(def + 1), j == a ? rep : s->rep)) return false;
    return true;
  }
  }
  return true;
}

/* ------------------------------------------------------------------ PLAIN materialisation */
#define FOR_SEL(S, I, BODY)                                                                 \
  do {                                                                                      \
    if ((S)->idx) {                                                                         \
      for (int64_t k_ = 0; k_ < (S)->n; k_++) {                                             \
        int64_t I = (S)->idx[k_];                                                           \
        BODY                                                                                \
      }                                                                                     \
    } else if ((S)->valid) {                                                                \
      for (int64_t I = (S)->start; I < (S)->end; I++)                                       \
        if (pl_bit_get((S)->valid, I)) {                                                    \
          BODY                                                                              \
        }                                                                                   \
    } else {                                                                                \
      for (int64_t I = (S)->start; I < (S)->end; I++) {                                     \
        BODY                                                                                \
      }                                                                                     \
    }                                                                                       \
  } while (0)

/* Appends the selected values of leaf column col, in PLAIN form, to L->plain. */
static pl_status materialize(leaf *L, const pl_column *col, const sel *s, pl_error *err) {
  pl_buf *out = &L->plain;
  pl_status st;
  if (s->n == 0) return PL_OK;
  if (L->conv == CV_BYTES) {
    const int64_t *off = pl_column_offsets(col);
    const uint8_t *data = col->values.data;
    const size_t dlen = col->values.len;
    size_t total = 0;
    FOR_SEL(s, i, { total += (size_t)(off[i + 1] - off[i]) + 4; });
    if ((st = pl__buf_grow(out, total + 128, err))) return st; /* + room for pl__copy_value's chunks */
    uint8_t *p = out->data + out->len, *const end = out->data + out->cap;
    FOR_SEL(s, i, {
      size_t len = (size_t)(off[i + 1] - off[i]);
      if (len > UINT32_MAX)
        return pl_error_set(err, PL_EUNSUPPORTED, "a value of %zu bytes is over Parquet's 4 GiB limit", len);
      put_le32(p, (uint32_t)len);
      pl__copy_value(p + 4, data + off[i], len, (size_t)(end - p) - 4, dlen - (size_t)off[i]);
      p += 4 + len;
    });
    out->len = (size_t)(p - out->data);
    return PL_OK;
  }
  size_t ow = L->conv == CV_BOOL ? 1 : (size_t)L->out_w;
  if ((st = pl_buf_reserve(out, (size_t)s->n * ow, err))) return st;
  uint8_t *p = out->data + out->len;
  const uint8_t *v = col->values.data;
  const size_t iw = (size_t)L->in_w;
  switch (L->conv) {
  case CV_BOOL:
    FOR_SEL(s, i, { *p++ = pl_bit_get(v, i); });
    break;
  case CV_COPY:
    if (!s->idx && !s->valid) {
      memcpy(p, v + (size_t)s->start * iw, (size_t)s->n * iw);
      p += (size_t)s->n * iw;
    } else if (iw == 4) {
      FOR_SEL(s, i, { memcpy(p, v + (size_t)i * 4, 4); p += 4; });
    } else if (iw == 8) {
      FOR_SEL(s, i, { memcpy(p, v + (size_t)i * 8, 8); p += 8; });
    } else {
      FOR_SEL(s, i, { memcpy(p, v + (size_t)i * iw, iw); p += iw; });
    }
    break;
  case CV_I8: {
    const int8_t *x = (const int8_t *)v;
    FOR_SEL(s, i, { int32_t y = x[i]; memcpy(p, &y, 4); p += 4; });
    break;
  }
  case CV_I16: {
    const int16_t *x = (const int16_t *)(const void *)v;
    FOR_SEL(s, i, { int32_t y = x[i]; memcpy(p, &y, 4); p += 4; });
    break;
  }
  case CV_U8: {
    FOR_SEL(s, i, { uint32_t y = v[i]; memcpy(p, &y, 4); p += 4; });
    break;
  }
  case CV_U16: {
    const uint16_t *x = (const uint16_t *)(const void *)v;
    FOR_SEL(s, i, { uint32_t y = x[i]; memcpy(p, &y, 4); p += 4; });
    break;
  }
  case CV_I32_MUL1000: {
    const int32_t *x = (const int32_t *)(const void *)v;
    FOR_SEL(s, i, { int32_t y = (int32_t)((uint32_t)x[i] * 1000u); memcpy(p, &y, 4); p += 4; });
    break;
  }
  case CV_I64_MUL1000: {
    const int64_t *x = (const int64_t *)(const void *)v;
    FOR_SEL(s, i, { int64_t y = (int64_t)((uint64_t)x[i] * 1000u); memcpy(p, &y, 8); p += 8; });
    break;
  }
  case CV_DEC_I32:
    FOR_SEL(s, i, { memcpy(p, v + (size_t)i * 16, 4); p += 4; });
    break;
  case CV_DEC_I64:
    FOR_SEL(s, i, { memcpy(p, v + (size_t)i * 16, 8); p += 8; });
    break;
  case CV_DEC_BE: {
    const int n = L->out_w;
    FOR_SEL(s, i, {
      const uint8_t *src = v + (size_t)i * 16;
      for (int b = 0; b < n; b++) p[b] = src[n - 1 - b];
      p += n;
    });
    break;
  }
  case CV_BYTES:
    break;
  }
  out->len = (size_t)(p - out->data);
  return PL_OK;
}

/* ------------------------------------------------------------------ statistics */
static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f, man = h & 0x3ff, f;
  if (exp == 0) {
    if (man == 0) {
      f = sign;
    } else { /* subnormal */
      exp = 127 - 15 + 1;
      while (!(man & 0x400)) {
        man <<= 1;
        exp--;
      }
      man &= 0x3ff;
      f = sign | exp << 23 | man << 13;
    }
  } else if (exp == 31) {
    f = sign | 0x7f800000u | man << 13;
  } else {
    f = sign | (exp - 15 + 127) << 23 | man << 13;
  }
  float r;
  memcpy(&r, &f, 4);
  return r;
}

/* Unsigned lexicographic order of two byte strings (memcmp, then the shorter first), 8 bytes
 * at a time inline: page statistics compare every value with the page's min and max, and the
 * call to memcmp cost more than the compare for short values sharing a prefix (URLs). */
static inline int bytes_cmp(const uint8_t *a, size_t la, const uint8_t *b, size_t lb) {
  const size_t m = la < lb ? la : lb;
  size_t i = 0;
  for (; i + 8 <= m; i += 8) {
    uint64_t x, y;
    memcpy(&x, a + i, 8);
    memcpy(&y, b + i, 8);
    if (x != y) return __builtin_bswap64(x) < __builtin_bswap64(y) ? -1 : 1;
  }
  for (; i < m; i++)
    if (a[i] != b[i]) return a[i] < b[i] ? -1 : 1;
  return la < lb ? -1 : la > lb;
}

/* Order of byte-array statistics keys: the first `t` bytes, then "value was longer". */
static int key_cmp(const uint8_t *a, size_t la, bool ta, const uint8_t *b, size_t lb, bool tb) {
  size_t m = la < lb ? la : lb;
  int c = m ? memcmp(a, b, m) : 0;
  if (c) return c;
  if (la != lb) return la < lb ? -1 : 1;
  if (ta != tb) return ta ? 1 : -1;
  return 0;
}

static int be_signed_cmp(const uint8_t *a, const uint8_t *b, int n) {
  if (a[0] != b[0]) return (int8_t)a[0] < (int8_t)b[0] ? -1 : 1;
  return n > 1 ? memcmp(a + 1, b + 1, (size_t)n - 1) : 0;
}

/* Folds the pending page's PLAIN values into the chunk statistics. */
static pl_status page_stats(pl_parquet_writer *w, leaf *L, pl_error *err) {
  chunk_stats *cs = &L->st;
  cs->nulls += L->n_levels - L->n_vals;
  if (!w->o.statistics || L->n_vals == 0) return PL_OK;
  const uint8_t *p = L->plain.data;
  const int64_t n = L->n_vals;
  pl_status st = PL_OK;
  switch (L->so) {
  case SO_NONE:
    break;
  case SO_BOOL: {
    uint8_t any0 = 0, any1 = 0;
    for (int64_t i = 0; i < n; i++) {
      any1 |= p[i];
      any0 |= (uint8_t)!p[i];
    }
    int64_t mn = any0 ? 0 : 1, mx = any1 ? 1 : 0;
    if (!cs->has || mn < cs->mn.i) cs->mn.i = mn;
    if (!cs->has || mx > cs->mx.i) cs->mx.i = mx;
    cs->has = true;
    break;
  }
#define INT_STATS(T, FIELD)                                                                 \
  {                                                                                         \
    T mn, mx;                                                                               \
    memcpy(&mn, p, sizeof(T));                                                              \
    mx = mn;                                                                                \
    for (int64_t i = 1; i < n; i++) {                                                       \
      T x;                                                                                  \
      memcpy(&x, p + (size_t)i * sizeof(T), sizeof(T));                                     \
      mn = x < mn ? x : mn;                                                                 \
      mx = x > mx ? x : mx;                                                                 \
    }                                                                                       \
    if (!cs->has || mn < (T)cs->mn.FIELD) cs->mn.FIELD = mn;                                \
    if (!cs->has || mx > (T)cs->mx.FIELD) cs->mx.FIELD = mx;                                \
    cs->has = true;                                                                         \
    break;                                                                                  \
  }
  case SO_I32: INT_STATS(int32_t, i)
  case SO_U32: INT_STATS(uint32_t, u)
  case SO_I64: INT_STATS(int64_t, i)
  case SO_U64: INT_STATS(uint64_t, u)
#undef INT_STATS
  case SO_F32:
  case SO_F64:
  case SO_F16: {
    double mn = INFINITY, mx = -INFINITY;
    uint16_t mn16 = 0, mx16 = 0;
    bool any = false;
    for (int64_t i = 0; i < n; i++) {
      double x;
      uint16_t h = 0;
      if (L->so == SO_F32) {
        float f;
        memcpy(&f, p + (size_t)i * 4, 4);
        x = f;
      } else if (L->so == SO_F64) {
        memcpy(&x, p + (size_t)i * 8, 8);
      } else {
        memcpy(&h, p + (size_t)i * 2, 2);
        x = half_to_float(h);
      }
      if (isnan(x)) { /* NaN is ignored by the TypeDefinedOrder of floats, but counted */
        cs->nans++;
        continue;
      }
      if (!any || x < mn) { mn = x; mn16 = h; }
      if (!any || x > mx) { mx = x; mx16 = h; }
      any = true;
    }
    if (!any) break;
    if (!cs->has || mn < cs->mn.d) { cs->mn.d = mn; cs->mn16 = mn16; }
    if (!cs->has || mx > cs->mx.d) { cs->mx.d = mx; cs->mx16 = mx16; }
    cs->has = true;
    break;
  }
  case SO_BYTES: {
    const size_t t = w->o.statistics_truncate;
    const uint8_t *q = p, *bmn = NULL, *bmx = NULL;
    size_t lmn = 0, lmx = 0;
    for (int64_t i = 0; i < n; i++) {
      size_t len = get_le32(q);
      const uint8_t *d = q + 4;
      q += 4 + len;
      if (!bmn) {
        bmn = bmx = d;
        lmn = lmx = len;
        continue;
      }
      /* full order inside the page; truncation only matters when merging */
      if (bytes_cmp(d, len, bmn, lmn) < 0) { bmn = d; lmn = len; }
      else if (bytes_cmp(d, len, bmx, lmx) > 0) { bmx = d; lmx = len; }
    }
    size_t kmn = lmn < t ? lmn : t, kmx = lmx < t ? lmx : t;
    bool tmn = lmn > t, tmx = lmx > t;
    if (!cs->has || key_cmp(bmn, kmn, tmn, cs->bmin.data, cs->bmin.len, cs->min_trunc) < 0) {
      cs->bmin.len = 0;
      if ((st = pl_buf_append(&cs->bmin, bmn, kmn, err))) return st;
      cs->min_trunc = tmn;
    }
    if (!cs->has || key_cmp(bmx, kmx, tmx, cs->bmax.data, cs->bmax.len, cs->max_trunc) > 0) {
      cs->bmax.len = 0;
      if ((st = pl_buf_append(&cs->bmax, bmx, kmx, err))) return st;
      cs->max_trunc = tmx;
    }
    cs->has = true;
    break;
  }
  case SO_FLBA:
  case SO_DEC_BE: {
    const int wd = L->out_w;
    const uint8_t *bmn = p, *bmx = p;
    for (int64_t i = 1; i < n; i++) {
      const uint8_t *d = p + (size_t)i * (size_t)wd;
      if (L->so == SO_FLBA) {
        if (memcmp(d, bmn, (size_t)wd) < 0) bmn = d;
        if (memcmp(d, bmx, (size_t)wd) > 0) bmx = d;
      } else {
        if (be_signed_cmp(d, bmn, wd) < 0) bmn = d;
        if (be_signed_cmp(d, bmx, wd) > 0) bmx = d;
      }
    }
    bool lt = cs->has && (L->so == SO_FLBA ? memcmp(bmn, cs->bmin.data, (size_t)wd) : be_signed_cmp(bmn, cs->bmin.data, wd)) >= 0;
    if (!lt) {
      cs->bmin.len = 0;
      if ((st = pl_buf_append(&cs->bmin, bmn, (size_t)wd, err))) return st;
    }
    bool gt = cs->has && (L->so == SO_FLBA ? memcmp(bmx, cs->bmax.data, (size_t)wd) : be_signed_cmp(bmx, cs->bmax.data, wd)) <= 0;
    if (!gt) {
      cs->bmax.len = 0;
      if ((st = pl_buf_append(&cs->bmax, bmx, (size_t)wd, err))) return st;
    }
    cs->has = true;
    break;
  }
  }
  return st;
}

static void set_bytes(pl_pq_bytes *b, const void *p, size_t n) {
  b->data = pl_malloc(n ? n : 1);
  if (n) memcpy(b->data, p, n);
  b->len = (uint32_t)n;
  b->set = true;
}

/* Length of the longest prefix of s[0..n) made of whole UTF-8 characters, or -1 if s is not
 * valid UTF-8 as far as it goes. */
static int64_t utf8_boundary(const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    uint8_t c = s[i];
    size_t l = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (!l) return -1;
    if (i + l > n) break;
    for (size_t k = 1; k < l; k++)
      if ((s[i + k] & 0xC0) != 0x80) return -1;
    i += l;
  }
  return (int64_t)i;
}

static int utf8_encode(uint8_t *p, uint32_t cp) {
  if (cp < 0x80) { p[0] = (uint8_t)cp; return 1; }
  if (cp < 0x800) { p[0] = (uint8_t)(0xC0 | cp >> 6); p[1] = (uint8_t)(0x80 | (cp & 0x3F)); return 2; }
  if (cp < 0x10000) {
    p[0] = (uint8_t)(0xE0 | cp >> 12); p[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    p[2] = (uint8_t)(0x80 | (cp & 0x3F));
    return 3;
  }
  p[0] = (uint8_t)(0xF0 | cp >> 18); p[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
  p[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F)); p[3] = (uint8_t)(0x80 | (cp & 0x3F));
  return 4;
}

/* Smallest-ish upper bound of every string starting with s[0..n): the prefix with its last
 * character (UTF-8) or byte (binary) incremented, keeping at most `limit` bytes. Returns the
 * new length in out, or -1 when no such bound exists (all 0xFF / U+10FFFF). */
static int64_t increment_bound(const uint8_t *s, size_t n, bool utf8, size_t limit, uint8_t *out) {
  if (utf8) {
    int64_t b = utf8_boundary(s, n);
    if (b >= 0) {
      size_t end = (size_t)b;
      while (end > 0) {
        size_t st = end - 1;
        while (st > 0 && (s[st] & 0xC0) == 0x80) st--;
        uint32_t cp;
        uint8_t c = s[st];
        size_t l = end - st;
        cp = l == 1 ? c : l == 2 ? c & 0x1Fu : l == 3 ? c & 0x0Fu : c & 0x07u;
        for (size_t k = 1; k < l; k++) cp = cp << 6 | (s[st + k] & 0x3Fu);
        uint32_t nx = cp + 1;
        if (nx == 0xD800) nx = 0xE000;
        if (nx <= 0x10FFFF) {
          uint8_t enc[4];
          int el = utf8_encode(enc, nx);
          if (st + (size_t)el <= limit) {
            if (st) memcpy(out, s, st);
            memcpy(out + st, enc, (size_t)el);
            return (int64_t)(st + (size_t)el);
          }
        }
        end = st;
      }
      return -1;
    }
  }
  for (size_t i = n; i > 0; i--) {
    if (s[i - 1] != 0xFF) {
      memcpy(out, s, i);
      out[i - 1]++;
      return (int64_t)i;
    }
  }
  return -1;
}

/* Fills the footer statistics from the chunk statistics (parquet.thrift Statistics). */
static void stats_to_model(const pl_parquet_writer *w, const leaf *L, pl_pq_statistics *out) {
  const chunk_stats *cs = &L->st;
  memset(out, 0, sizeof *out);
  if (!w->o.statistics) return;
  out->set = true;
  out->null_count = cs->nulls;
  out->has_null_count = true;
  if (L->so == SO_F32 || L->so == SO_F64 || L->so == SO_F16) {
    out->nan_count = cs->nans;
    out->has_nan_count = true;
  }
  if (!cs->has || L->so == SO_NONE) return;
  uint8_t buf[16];
  size_t n = 0;
  bool exact_min = true, exact_max = true;
  switch (L->so) {
  case SO_BOOL: {
    uint8_t a = (uint8_t)cs->mn.i, b = (uint8_t)cs->mx.i;
    set_bytes(&out->min_value, &a, 1);
    set_bytes(&out->max_value, &b, 1);
    break;
  }
  case SO_I32: case SO_U32: {
    int32_t a = (int32_t)cs->mn.i, b = (int32_t)cs->mx.i;
    if (L->so == SO_U32) { a = (int32_t)(uint32_t)cs->mn.u; b = (int32_t)(uint32_t)cs->mx.u; }
    set_bytes(&out->min_value, &a, 4);
    set_bytes(&out->max_value, &b, 4);
    break;
  }
  case SO_I64: case SO_U64:
    set_bytes(&out->min_value, &cs->mn.i, 8);
    set_bytes(&out->max_value, &cs->mx.i, 8);
    break;
  case SO_F32: {
    /* parquet.thrift: a zero min is written as -0.0 and a zero max as +0.0 */
    float a = cs->mn.d == 0 ? -0.0f : (float)cs->mn.d, b = cs->mx.d == 0 ? 0.0f : (float)cs->mx.d;
    set_bytes(&out->min_value, &a, 4);
    set_bytes(&out->max_value, &b, 4);
    break;
  }
  case SO_F64: {
    double a = cs->mn.d == 0 ? -0.0 : cs->mn.d, b = cs->mx.d == 0 ? 0.0 : cs->mx.d;
    set_bytes(&out->min_value, &a, 8);
    set_bytes(&out->max_value, &b, 8);
    break;
  }
  case SO_F16: {
    uint16_t a = cs->mn.d == 0 ? 0x8000 : cs->mn16, b = cs->mx.d == 0 ? 0x0000 : cs->mx16;
    set_bytes(&out->min_value, &a, 2);
    set_bytes(&out->max_value, &b, 2);
    break;
  }
  case SO_FLBA: case SO_DEC_BE:
    set_bytes(&out->min_value, cs->bmin.data, cs->bmin.len);
    set_bytes(&out->max_value, cs->bmax.data, cs->bmax.len);
    break;
  case SO_BYTES: {
    size_t lmin = cs->bmin.len;
    if (cs->min_trunc) {
      exact_min = false;
      if (L->is_string) {
        int64_t b = utf8_boundary(cs->bmin.data, lmin);
        if (b >= 0) lmin = (size_t)b;
      }
    }
    uint8_t *mx = pl_malloc(cs->bmax.len + 4);
    int64_t lmax = (int64_t)cs->bmax.len;
    if (cs->bmax.len) memcpy(mx, cs->bmax.data, cs->bmax.len);
    if (cs->max_trunc) {
      exact_max = false;
      lmax = increment_bound(cs->bmax.data, cs->bmax.len, L->is_string, cs->bmax.len, mx);
    }
    if (lmax >= 0) { /* no upper bound fits: leave min/max out, keep null_count */
      set_bytes(&out->min_value, cs->bmin.data, lmin);
      set_bytes(&out->max_value, mx, (size_t)lmax);
    }
    pl_free(mx);
    break;
  }
  case SO_NONE:
    break;
  }
  (void)buf;
  (void)n;
  if (out->min_value.set) {
    out->has_is_min_exact = out->has_is_max_exact = true;
    out->is_min_value_exact = exact_min;
    out->is_max_value_exact = exact_max;
  }
}

/* ------------------------------------------------------------------ dictionary */
#define TAG_MASK 0xFFFFFFFF00000000ULL
/* the first-page probe of dict_encode_page: values looked at, entries that mean "distinct" */
#define PROBE_VALUES 1024
#define PROBE_GIVE_UP (PROBE_VALUES - PROBE_VALUES / 8)

static inline uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

static void dict_release(pl_budget *b, dict *d) {
  pl_buf_release(&d->values);
  pl_buf_release(&d->pos);
  if (d->hashes) pl_budget_free_mem(b, d->hashes, d->hashes_cap * sizeof *d->hashes);
  if (d->slots) pl_budget_free_mem(b, d->slots, d->nslots * sizeof *d->slots);
  d->hashes = NULL;
  d->slots = NULL;
  d->hashes_cap = d->nslots = 0;
  d->n = 0;
}

static void dict_clear(dict *d) {
  d->values.len = 0;
  d->pos.len = 0;
  if (d->slots) memset(d->slots, 0, d->nslots * sizeof *d->slots);
  d->n = 0;
}

static pl_status dict_grow(pl_budget *b, dict *d, pl_error *err) {
  size_t ns = d->nslots ? d->nslots * 2 : 1024;
  uint64_t *slots = pl_budget_calloc(b, ns * sizeof *slots, err);
  if (!slots) return err ? err->code : PL_ENOMEM;
  size_t hc = ns / 2;
  uint64_t *h = pl_budget_realloc(b, d->hashes, d->hashes_cap * sizeof *h, hc * sizeof *h, err);
  if (!h) {
    pl_budget_free_mem(b, slots, ns * sizeof *slots);
    return err ? err->code : PL_ENOMEM;
  }
  d->hashes = h;
  d->hashes_cap = hc;
  for (uint32_t e = 0; e < d->n; e++) {
    size_t s = (size_t)d->hashes[e] & (ns - 1);
    while (slots[s]) s = (s + 1) & (ns - 1);
    slots[s] = (d->hashes[e] & TAG_MASK) | (e + 1);
  }
  if (d->slots) pl_budget_free_mem(b, d->slots, d->nslots * sizeof *d->slots);
  d->slots = slots;
  d->nslots = ns;
  return PL_OK;
}

/* Removes the entries from `keep` on (in reverse insertion order, which keeps the linear
 * probing chains of the older entries intact). */
static void dict_rollback(dict *d, uint32_t keep, bool bytes) {
  while (d->n > keep) {
    uint32_t e = --d->n;
    size_t s = (size_t)d->hashes[e] & (d->nslots - 1);
    while ((uint32_t)d->slots[s] != e + 1) s = (s + 1) & (d->nslots - 1);
    d->slots[s] = 0;
    if (bytes) d->values.len = ((const uint64_t *)(const void *)d->pos.data)[e];
  }
  if (bytes) d->pos.len = (size_t)keep * 8;
  else if (keep == 0) d->values.len = 0;
}

/* Adds a new entry (PLAIN form) at slot s; false with *fits = false when it would take the
 * dictionary past the limit. */
static inline pl_status dict_add(dict *d, size_t s, uint64_t h, const uint8_t *v, size_t len, bool bytes,
                                 pl_error *err) {
  pl_status st;
  if (bytes) {
    uint64_t at = d->values.len;
    uint8_t lb[4];
    put_le32(lb, (uint32_t)len);
    if ((st = pl_buf_append(&d->pos, &at, 8, err)) || (st = pl_buf_append(&d->values, lb, 4, err)) ||
        (st = pl_buf_append(&d->values, v, len, err)))
      return st;
  } else if ((st = pl_buf_append(&d->values, v, len, err))) {
    return st;
  }
  d->hashes[d->n] = h;
  d->n++;
  d->slots[s] = (h & TAG_MASK) | d->n;
  return PL_OK;
}

/* The loop of dict_encode_page for fixed-width values; `wd` is a constant at each call site so
 * the hashing and the comparisons compile to integer operations. */
static inline __attribute__((always_inline)) pl_status
dict_encode_fixed(pl_parquet_writer *w, dict *d, const uint8_t *p, int64_t n, size_t wd, uint32_t *out,
                  int64_t probe, bool *overflow, pl_error *err) {
  const size_t limit = w->o.dictionary_limit;
  pl_status st;
  for (int64_t i = 0; i < n; i++, p += wd) {
    uint64_t h;
    if (wd == 4) {
      uint32_t x;
      memcpy(&x, p, 4);
      h = mix64(x);
    } else if (wd == 8) {
      uint64_t x;
      memcpy(&x, p, 8);
      h = mix64(x);
    } else {
      h = pl_hash64(p, wd, 0);
    }
    if ((size_t)d->n + 1 > d->nslots / 2 && (st = dict_grow(w->b, d, err))) return st;
    size_t mask = d->nslots - 1, s = (size_t)h & mask;
    uint32_t e = 0;
    uint64_t sl;
    /* the tag in the slot spares a cache miss on the entry for most non-matches */
    while ((sl = d->slots[s]) != 0) {
      e = (uint32_t)sl;
      if (((sl ^ h) & TAG_MASK) == 0 && memcmp(d->values.data + (size_t)(e - 1) * wd, p, wd) == 0) break;
      e = 0;
      s = (s + 1) & mask;
    }
    if (!e) {
      if (d->values.len + wd > limit) {
        *overflow = true;
        return PL_OK;
      }
      if ((st = dict_add(d, s, h, p, wd, false, err))) return st;
      e = d->n;
    }
    out[i] = e - 1;
    if (i + 1 == probe && d->n >= PROBE_GIVE_UP) {
      *overflow = true;
      return PL_OK;
    }
  }
  return PL_OK;
}

static pl_status dict_encode_bytes(pl_parquet_writer *w, dict *d, const uint8_t *p, int64_t n, uint32_t *out,
                                   int64_t probe, bool *overflow, pl_error *err) {
  const size_t limit = w->o.dictionary_limit;
  pl_status st;
  for (int64_t i = 0; i < n; i++) {
    size_t len = get_le32(p);
    const uint8_t *v = p + 4;
    p += 4 + len;
    uint64_t h = pl_hash64(v, len, 0);
    if ((size_t)d->n + 1 > d->nslots / 2 && (st = dict_grow(w->b, d, err))) return st;
    size_t mask = d->nslots - 1, s = (size_t)h & mask;
    uint32_t e = 0;
    uint64_t sl;
    const uint64_t *pos = (const uint64_t *)(const void *)d->pos.data;
    while ((sl = d->slots[s]) != 0) {
      e = (uint32_t)sl;
      if (((sl ^ h) & TAG_MASK) == 0 && d->hashes[e - 1] == h) {
        const uint8_t *ev = d->values.data + pos[e - 1];
        if (get_le32(ev) == len && (len == 0 || memcmp(ev + 4, v, len) == 0)) break;
      }
      e = 0;
      s = (s + 1) & mask;
    }
    if (!e) {
      if (d->values.len + len + 4 > limit) {
        *overflow = true;
        return PL_OK;
      }
      if ((st = dict_add(d, s, h, v, len, true, err))) return st;
      e = d->n;
    }
    out[i] = e - 1;
    if (i + 1 == probe && d->n >= PROBE_GIVE_UP) {
      *overflow = true;
      return PL_OK;
    }
  }
  return PL_OK;
}

/* Dictionary-encodes the pending page into ln->u32. Returns PL_OK with *fits = false (and the
 * dictionary as before) when the page's new entries would take it past dictionary_limit.
 * The first page of a chunk is probed: when its first PROBE_VALUES values are nearly all
 * distinct and the page alone would fill half the dictionary at that rate, the chunk is
 * PLAIN from the start (ids, hashes, URLs, free text: the dictionary would overflow within a
 * page or two, after hashing and copying every value for nothing). Small pages are not
 * probed: trying them costs little. The choice depends on the values only. */
static pl_status dict_encode_page(pl_parquet_writer *w, lane *ln, leaf *L, bool *fits, pl_error *err) {
  dict *d = &L->d;
  const int64_t n = L->n_vals;
  const uint32_t keep = d->n;
  const size_t keep_bytes = d->values.len;
  pl_status st;
  ln->u32.len = 0;
  if ((st = pl_buf_reserve(&ln->u32, (size_t)n * 4, err))) return st;
  uint32_t *out = (uint32_t *)(void *)ln->u32.data;
  const uint8_t *p = L->plain.data;
  const bool bytes = L->ptype == PL_PQ_BYTE_ARRAY;
  bool overflow = false;
  const int64_t probe = keep == 0 && n >= PROBE_VALUES &&
                                (uint64_t)L->plain.len / 8 * 7 >= (uint64_t)w->o.dictionary_limit / 2
                            ? PROBE_VALUES
                            : 0;
  if (bytes) st = dict_encode_bytes(w, d, p, n, out, probe, &overflow, err);
  else if (L->out_w == 4) st = dict_encode_fixed(w, d, p, n, 4, out, probe, &overflow, err);
  else if (L->out_w == 8) st = dict_encode_fixed(w, d, p, n, 8, out, probe, &overflow, err);
  else st = dict_encode_fixed(w, d, p, n, (size_t)L->out_w, out, probe, &overflow, err);
  if (st) return st;
  *fits = !overflow;
  if (overflow) {
    dict_rollback(d, keep, bytes);
    d->values.len = keep_bytes;
    return PL_OK;
  }
  ln->u32.len = (size_t)n * 4;
  return PL_OK;
}

/* ------------------------------------------------------------------ pages */
/* Appends the encoded values of the pending page to out; sets *encoding. */
/* in_plain: the values are L->plain as it is (PLAIN, not boolean), nothing was appended. */
static pl_status encode_values(pl_parquet_writer *w, lane *ln, leaf *L, pl_buf *out, int *encoding, bool *in_plain,
                               pl_error *err) {
  pl_status st;
  const int64_t n = L->n_vals;
  if (L->dict_active) {
    bool fits;
    if ((st = dict_encode_page(w, ln, L, &fits, err))) return st;
    if (fits) {
      int bw = pl__bit_width(L->d.n ? L->d.n - 1 : 0);
      if (bw < 1) bw = 1;
      uint8_t b = (uint8_t)bw;
      if ((st = pl_buf_append(out, &b, 1, err))) return st;
      *encoding = PL_PQ_ENC_RLE_DICTIONARY;
      return pl__rle_encode_u32(out, (const uint32_t *)(const void *)ln->u32.data, n, bw, err);
    }
    L->dict_active = false; /* fall back to PLAIN for the rest of the column chunk */
  }
  switch (L->enc) {
  case E_DELTA:
    if (L->dict_active) break;
    *encoding = PL_PQ_ENC_DELTA_BINARY_PACKED;
    if (L->ptype == PL_PQ_INT32) return pl__delta_encode_i32(out, (const int32_t *)(const void *)L->plain.data, n, err);
    return pl__delta_encode_i64(out, (const int64_t *)(const void *)L->plain.data, n, err);
  case E_DLBA: {
    *encoding = PL_PQ_ENC_DELTA_LENGTH_BYTE_ARRAY;
    ln->u32.len = 0;
    if ((st = pl_buf_reserve(&ln->u32, (size_t)n * 4, err))) return st;
    int32_t *lens = (int32_t *)(void *)ln->u32.data;
    const uint8_t *p = L->plain.data;
    size_t total = 0;
    for (int64_t i = 0; i < n; i++) {
      uint32_t len = get_le32(p);
      lens[i] = (int32_t)len;
      total += len;
      p += 4 + (size_t)len;
    }
    if ((st = pl__delta_encode_i32(out, lens, n, err))) return st;
    if ((st = pl_buf_reserve(out, total, err))) return st;
    p = L->plain.data;
    uint8_t *q = out->data + out->len;
    for (int64_t i = 0; i < n; i++) {
      size_t len = (size_t)lens[i];
      if (len) memcpy(q, p + 4, len);
      q += len;
      p += 4 + len;
    }
    out->len += total;
    return PL_OK;
  }
  case E_RLE_BOOL: {
    /* Encodings.md: RLE booleans carry a 4-byte length prefix in v1 and v2 pages */
    *encoding = PL_PQ_ENC_RLE;
    size_t at = out->len;
    uint8_t z[4] = {0};
    if ((st = pl_buf_append(out, z, 4, err))) return st;
    if ((st = pl__rle_encode_u8(out, L->plain.data, n, 1, err))) return st;
    put_le32(out->data + at, (uint32_t)(out->len - at - 4));
    return PL_OK;
  }
  default:
    break;
  }
  *encoding = PL_PQ_ENC_PLAIN;
  if (L->ptype == PL_PQ_BOOLEAN) return pl__plain_bools(out, L->plain.data, n, err);
  *in_plain = true;
  return PL_OK;
}

/* Appends the levels of the pending page: v1 with 4-byte length prefixes, v2 bare. Returns the
 * byte lengths of the repetition and definition levels through rl/dl. */
static pl_status encode_levels(leaf *L, pl_buf *out, bool v1, int32_t *rl, int32_t *dl, pl_error *err) {
  pl_status st;
  *rl = *dl = 0;
  for (int pass = 0; pass < 2; pass++) {
    bool rep = pass == 0;
    if ((rep ? L->max_rep : L->max_def) == 0) continue;
    size_t at = out->len;
    if (v1) {
      uint8_t z[4] = {0};
      if ((st = pl_buf_append(out, z, 4, err))) return st;
    }
    const uint16_t *lv = (const uint16_t *)(const void *)(rep ? L->rep.data : L->def.data);
    if ((st = pl__rle_encode_u16(out, lv, L->n_levels, rep ? L->bw_rep : L->bw_def, err))) return st;
    size_t len = out->len - at - (v1 ? 4 : 0);
    if (len > INT32_MAX) return pl_error_set(err, PL_EUNSUPPORTED, "levels of %zu bytes in one page", len);
    if (v1) put_le32(out->data + at, (uint32_t)len);
    *(rep ? rl : dl) = (int32_t)len;
  }
  return PL_OK;
}

/* Makes room for `need` more bytes at the end of the chunk without moving what it holds: a
 * full block joins the chunk's segments and a new block starts, as big as the chunk so far
 * (at most 8 MiB, at least `need`: under the engine's mmap threshold at 2 GB, so blocks come
 * back from the heap instead of being faulted in anew). Growing one buffer by doubling copied the chunk again
 * at every doubling and faulted in twice its pages. */
static pl_status chunk_room(leaf *L, size_t need, pl_error *err) {
  pl_buf *b = &L->pages;
  if (b->cap - b->len >= need) return PL_OK;
  size_t have = b->len;
  for (int g = 0; g < L->nsegs; g++) have += L->segs[g].len;
  if (b->len > 0) {
    if (L->nsegs + 1 > L->capsegs) {
      L->capsegs = L->capsegs ? L->capsegs * 2 : 8;
      L->segs = pl_realloc(L->segs, (size_t)L->capsegs * sizeof *L->segs);
    }
    L->segs[L->nsegs++] = *b;
    *b = PL_BUF_INIT(b->budget);
  } else if (b->cap) {
    pl_buf_release(b);
  }
  size_t cap = have < ((size_t)8 << 20) ? have : (size_t)8 << 20;
  if (cap < need) cap = need;
  return pl_buf_reserve_total(b, cap, err);
}

/* Appends a page to the chunk: its header, `pre` bytes of levels, then the bytes of *db. A big
 * *db (a giant value's page) is not copied: the buffer itself joins the chunk's segments when
 * may_move, so a page costs its own size once. */
static pl_status append_page(pl_parquet_writer *w, lane *ln, leaf *L, pl_pq_page_header *h, const uint8_t *lv,
                             size_t pre, pl_buf *db, bool may_move, pl_buf *dst, pl_error *err) {
  pl_status st;
  ln->hdr.len = 0;
  if ((st = pl__thrift_write_page_header(&ln->hdr, h, err))) return st;
  const size_t len = db->len;
  const bool move = may_move && dst == &L->pages && len > 2 * w->o.page_bytes + (1u << 16);
  const size_t room = ln->hdr.len + pre + (move ? 0 : len);
  if ((st = dst == &L->pages && !move ? chunk_room(L, room, err) : pl_buf_reserve(dst, room, err))) return st;
  memcpy(dst->data + dst->len, ln->hdr.data, ln->hdr.len);
  dst->len += ln->hdr.len;
  if (pre) memcpy(dst->data + dst->len, lv, pre);
  dst->len += pre;
  if (move) {
    if (L->nsegs + 2 > L->capsegs) {
      L->capsegs = L->capsegs ? L->capsegs * 2 : 8;
      L->segs = pl_realloc(L->segs, (size_t)L->capsegs * sizeof *L->segs);
    }
    L->segs[L->nsegs++] = *dst; /* the pages so far, then the big one: ownership moves */
    L->segs[L->nsegs++] = *db;
    *dst = PL_BUF_INIT(dst->budget);
    *db = PL_BUF_INIT(db->budget);
  } else {
    if (len) memcpy(dst->data + dst->len, db->data, len);
    dst->len += len;
  }
  L->c_uncomp += (int64_t)ln->hdr.len + h->uncompressed_page_size;
  L->c_comp += (int64_t)ln->hdr.len + h->compressed_page_size;
  return PL_OK;
}

/* Compresses the pending page straight into the chunk, after room for its header, which is
 * written once the compressed size is known: no copy of the compressed page. The header's
 * length is guessed from the leaf's last page (consecutive pages compress alike, so the
 * compressed_page_size varint mostly has the same length); a wrong guess moves the data. */
static pl_status compress_page(pl_parquet_writer *w, lane *ln, leaf *L, pl_pq_page_header *h, bool v1, const pl_buf *vb,
                               size_t lvlen, pl_error *err) {
  pl_status st;
  const size_t pre = v1 ? 0 : lvlen; /* v2: the levels stay uncompressed, before the values */
  const size_t in = v1 ? lvlen + vb->len : vb->len, gap = L->hdr_guess ? L->hdr_guess : 32, slack = 64;
  if ((st = chunk_room(L, gap + slack + pre + pl__compress_bound(ln->comp, in), err))) return st;
  pl_buf *dst = &L->pages;
  const size_t at = dst->len;
  dst->len = at + gap + pre;
  if (v1) st = pl__compress2(ln->comp, ln->lv.data, lvlen, vb->data, vb->len, dst, &ln->join, err);
  else st = pl__compress(ln->comp, vb->data, vb->len, dst, err);
  const size_t clen = dst->len - (at + gap + pre);
  if (!st && clen + pre > INT32_MAX)
    st = pl_error_set(err, PL_EUNSUPPORTED, "a compressed page of %zu bytes is over 2 GiB", clen + pre);
  h->compressed_page_size = (int32_t)(clen + pre);
  ln->hdr.len = 0;
  if (!st) st = pl__thrift_write_page_header(&ln->hdr, h, err);
  const size_t hl = ln->hdr.len;
  if (!st && hl > gap + slack) st = pl_buf_reserve(dst, hl - gap, err);
  if (st) {
    dst->len = at;
    return st;
  }
  if (hl != gap) memmove(dst->data + at + hl + pre, dst->data + at + gap + pre, clen);
  memcpy(dst->data + at, ln->hdr.data, hl);
  if (pre) memcpy(dst->data + at + hl, ln->lv.data, pre);
  dst->len = at + hl + pre + clen;
  L->hdr_guess = hl;
  L->c_uncomp += (int64_t)hl + h->uncompressed_page_size;
  L->c_comp += (int64_t)hl + h->compressed_page_size;
  return PL_OK;
}

/* Encodes, compresses and appends the pending page to the chunk; empties the pending page.
 * PLAIN values are compressed straight from the pending page (no copy into a page body); v1
 * levels and values go through the codec as one stream. */
static pl_status flush_page(pl_parquet_writer *w, lane *ln, leaf *L, pl_error *err) {
  if (L->n_rows == 0) return PL_OK;
  pl_status st;
  const bool v1 = w->o.page_version == 1;
  if ((st = page_stats(w, L, err))) goto fail;
  int encoding = PL_PQ_ENC_PLAIN;
  int32_t rl = 0, dl = 0;
  ln->body.len = 0;
  ln->lv.len = 0;
  if ((st = encode_levels(L, &ln->lv, v1, &rl, &dl, err))) goto fail;
  const size_t lvlen = ln->lv.len;
  bool in_plain = false;
  if ((st = encode_values(w, ln, L, &ln->body, &encoding, &in_plain, err))) goto fail;
  pl_buf *vb = in_plain ? &L->plain : &ln->body;
  size_t ulen = vb->len + lvlen;
  if (ulen > INT32_MAX) {
    st = pl_error_set(err, PL_EUNSUPPORTED, "a page of %zu bytes is over Parquet's 2 GiB page limit", ulen);
    goto fail;
  }
  const bool compressed = w->o.codec != PL_CODEC_UNCOMPRESSED;
  pl_pq_page_header h;
  memset(&h, 0, sizeof h);
  h.uncompressed_page_size = (int32_t)ulen;
  h.compressed_page_size = (int32_t)ulen; /* compressed: set by compress_page */
  h.num_values = (int32_t)L->n_levels;
  h.encoding = encoding;
  if (v1) {
    h.type = PL_PAGE_DATA;
    h.has_data_header = true;
    h.def_level_encoding = PL_PQ_ENC_RLE;
    h.rep_level_encoding = PL_PQ_ENC_RLE;
  } else {
    h.type = PL_PAGE_DATA_V2;
    h.has_v2_header = true;
    h.num_nulls = (int32_t)(L->n_levels - L->n_vals);
    h.num_rows = (int32_t)L->n_rows;
    h.def_levels_byte_length = dl;
    h.rep_levels_byte_length = rl;
    h.is_compressed = compressed;
  }
  L->c_bits += (int64_t)page_bits(L);
  if (compressed) st = compress_page(w, ln, L, &h, v1, vb, lvlen, err);
  else st = append_page(w, ln, L, &h, ln->lv.data, lvlen, vb, true, &L->pages, err);
  if (st) goto fail;
  L->c_values += L->n_levels;
  L->enc_mask |= 1u << encoding;
  if (L->max_def > 0 || L->max_rep > 0) L->enc_mask |= 1u << PL_PQ_ENC_RLE;
  if (encoding == PL_PQ_ENC_RLE_DICTIONARY) L->c_dict_pages++;
  L->n_levels = L->n_vals = L->n_rows = 0;
  L->plain.len = L->def.len = L->rep.len = 0;
  /* give back the memory of a giant value at once */
  size_t big = 4 * w->o.page_bytes + (1u << 16);
  if (L->plain.cap > big) pl_buf_release(&L->plain);
  if (L->def.cap > big) pl_buf_release(&L->def);
  if (L->rep.cap > big) pl_buf_release(&L->rep);
  if (ln->body.cap > big) pl_buf_release(&ln->body);
  if (ln->cbuf.cap > big) pl_buf_release(&ln->cbuf);
  if (ln->join.cap > big) pl_buf_release(&ln->join);
  if (ln->idx.cap > big) pl_buf_release(&ln->idx);
  if (ln->u32.cap > big) pl_buf_release(&ln->u32);
  return PL_OK;
fail:
  return st;
}

/* The dictionary page of the chunk (if any data page used the dictionary). */
static pl_status flush_dict_page(pl_parquet_writer *w, leaf *L, pl_error *err) {
  L->dictpage.len = 0;
  if (L->c_dict_pages == 0) return PL_OK;
  pl_status st;
  const dict *d = &L->d;
  pl_buf *db = (pl_buf *)&d->values;
  if (d->values.len > INT32_MAX) return pl_error_set(err, PL_EUNSUPPORTED, "dictionary over 2 GiB");
  if (w->o.codec != PL_CODEC_UNCOMPRESSED) {
    w->ln[0].cbuf.len = 0;
    if ((st = pl__compress(w->ln[0].comp, d->values.data, d->values.len, &w->ln[0].cbuf, err))) return st;
    db = &w->ln[0].cbuf;
  }
  size_t clen = db->len;
  if (clen > INT32_MAX) return pl_error_set(err, PL_EUNSUPPORTED, "dictionary over 2 GiB");
  pl_pq_page_header h;
  memset(&h, 0, sizeof h);
  h.type = PL_PAGE_DICTIONARY;
  h.uncompressed_page_size = (int32_t)d->values.len;
  h.compressed_page_size = (int32_t)clen;
  h.num_values = (int32_t)d->n;
  h.encoding = PL_PQ_ENC_PLAIN; /* Encodings.md: PLAIN in the dictionary page */
  h.has_dict_header = true;
  if ((st = append_page(w, &w->ln[0], L, &h, NULL, 0, db, false, &L->dictpage, err))) return st;
  L->enc_mask |= 1u << PL_PQ_ENC_PLAIN;
  return PL_OK;
}


/* ------------------------------------------------------------------ row groups */
static void release_segs(leaf *L) {
  for (int g = 0; g < L->nsegs; g++) pl_buf_release(&L->segs[g]);
  L->nsegs = 0;
}

/* A leaf's failure: its file and column name the message (added here only), and the writer
 * is failed. */
static pl_status leaf_fail(pl_parquet_writer *w, const leaf *L, pl_status st, pl_error *err) {
  char nm[256];
  pl_error_prefix(err, "%s: column '%s'", w->path, leaf_name(w, L, nm, sizeof nm));
  return fail(w, st, err);
}

static pl_status flush_row_group(pl_parquet_writer *w, pl_error *err) {
  if (w->rg_rows == 0) return PL_OK;
  pl_status st;
  for (int i = 0; i < w->n_leaves; i++) {
    leaf *L = &w->leaves[i];
    if ((st = flush_page(w, &w->ln[0], L, err)) || (st = flush_dict_page(w, L, err))) return leaf_fail(w, L, st, err);
  }
  w->prev_rg_bits = 0;
  for (int i = 0; i < w->n_leaves; i++) w->prev_rg_bits += w->leaves[i].c_bits;
  w->prev_rg_rows = w->rg_rows;
  w->stride_left = 0;
  pl_pq_file_metadata *md = &w->md;
  if (md->n_row_groups == w->rg_cap) {
    w->rg_cap = w->rg_cap ? w->rg_cap * 2 : 8;
    md->row_groups = pl_realloc(md->row_groups, (size_t)w->rg_cap * sizeof *md->row_groups);
  }
  pl_pq_row_group *rg = &md->row_groups[md->n_row_groups];
  memset(rg, 0, sizeof *rg);
  rg->columns = pl_calloc((size_t)w->n_leaves, sizeof *rg->columns);
  rg->n_columns = w->n_leaves;
  md->n_row_groups++;
  rg->num_rows = w->rg_rows;
  rg->file_offset = (int64_t)w->pos;
  rg->has_file_offset = true;
  rg->ordinal = (int16_t)(md->n_row_groups - 1);
  rg->has_ordinal = md->n_row_groups <= INT16_MAX;
  for (int i = 0; i < w->n_leaves; i++) {
    leaf *L = &w->leaves[i];
    pl_pq_column_chunk *cc = &rg->columns[i];
    pl_pq_column_meta *m = &cc->meta;
    int64_t start = (int64_t)w->pos;
    if ((st = write_all(w, L->dictpage.data, L->dictpage.len, err))) return st;
    int64_t data_start = (int64_t)w->pos;
    for (int g = 0; g < L->nsegs; g++)
      if ((st = write_all(w, L->segs[g].data, L->segs[g].len, err))) return st;
    if ((st = write_all(w, L->pages.data, L->pages.len, err))) return st;
    cc->has_meta = true;
    cc->file_offset = 0; /* parquet.thrift: deprecated, 0 when no ColumnMetaData is outside the footer */
    m->type = L->ptype;
    int ne = __builtin_popcount(L->enc_mask);
    m->encodings = pl_malloc((size_t)(ne ? ne : 1) * sizeof *m->encodings);
    for (int e = 0; e < 32; e++)
      if (L->enc_mask & (1u << e)) m->encodings[m->n_encodings++] = e;
    m->n_path = L->n_path;
    m->path = pl_malloc((size_t)L->n_path * sizeof *m->path);
    for (int p = 0; p < L->n_path; p++) m->path[p] = pl_strdup(L->path[p]);
    m->codec = w->o.codec;
    m->num_values = L->c_values;
    m->total_uncompressed_size = L->c_uncomp;
    m->total_compressed_size = L->c_comp;
    m->data_page_offset = data_start;
    if (L->dictpage.len) {
      m->dictionary_page_offset = start;
      m->has_dictionary_page_offset = true;
    }
    stats_to_model(w, L, &m->stats);
    rg->total_byte_size += L->c_uncomp;
    rg->total_compressed_size += L->c_comp;
    /* reset the chunk */
    release_segs(L);
    pl_buf_release(&L->pages);
    pl_buf_release(&L->dictpage);
    L->c_values = L->c_uncomp = L->c_comp = L->c_bits = L->c_dict_pages = 0;
    L->enc_mask = 0;
    L->st.has = false;
    L->st.nulls = 0;
    L->st.nans = 0;
    L->st.bmin.len = L->st.bmax.len = 0;
    L->st.min_trunc = L->st.max_trunc = false;
    dict_clear(&L->d);
    if (L->d.values.cap > 2 * w->o.dictionary_limit + (1u << 16)) dict_release(w->b, &L->d);
    L->dict_active = L->enc == E_DICT;
  }
  rg->has_total_compressed_size = true;
  md->num_rows += w->rg_rows;
  w->rg_rows = 0;
  return PL_OK;
}

/* ------------------------------------------------------------------ appending rows */
/* Shredding of the common list<primitive> leaf (embeddings, tags) in tight loops, over at most
 * n rows from r: stops after the row at which the rows' page bits (see page_bits) reach gap.
 * Returns false, doing nothing, when a null list owns items (then the general path handles
 * it); otherwise *done is the number of rows taken. */
static bool shred_list_prim(leaf *L, const pl_column *col, int64_t r, int64_t n, uint64_t gap, sel *s,
                            int64_t *done, pl_status *st, pl_error *err) {
  const int64_t *off = pl_column_offsets(col);
  const pl_column *item = col->children[0];
  const bool lnull = L->steps[0].nullable && col->validity.len > 0 && col->null_count != 0;
  const bool inull = L->steps[1].nullable && item->validity.len > 0 && item->null_count != 0;
  const uint8_t *lv = col->validity.data, *iv = item->validity.data;
  const uint64_t lvbits = (uint64_t)(L->bw_def + L->bw_rep); /* >= 1: a list has a rep level */
  /* every level costs lvbits: rows past the point where the levels alone reach gap are not needed */
  {
    uint64_t most = gap / lvbits + 2;
    int64_t lo = 1, hi = n;
    while (lo < hi) {
      int64_t mid = lo + (hi - lo + 1) / 2;
      if ((uint64_t)(mid + (off[r + mid] - off[r])) / 2 <= most) lo = mid;
      else hi = mid - 1;
    }
    n = lo;
  }
  if (lnull)
    for (int64_t i = r; i < r + n; i++)
      if (!pl_bit_get(lv, i) && off[i] != off[i + 1]) return false;
  const int64_t a0 = off[r];
  const size_t maxlev = (size_t)(n + (off[r + n] - a0));
  if ((*st = pl_buf_reserve(&L->def, maxlev * 2, err)) || (*st = pl_buf_reserve(&L->rep, maxlev * 2, err)))
    return true;
  uint16_t *d = (uint16_t *)(void *)(L->def.data + L->def.len);
  uint16_t *rp = (uint16_t *)(void *)(L->rep.data + L->rep.len);
  const uint16_t d0 = L->steps[0].nullable ? 1 : 0, dmax = (uint16_t)L->max_def;
  const bool bytes = L->conv == CV_BYTES;
  const int64_t *ioff = bytes ? pl_column_offsets(item) : NULL;
  const uint64_t vbits = bytes ? 32 : (uint64_t)(L->conv == CV_BOOL ? 1 : L->out_w) * 8;
  uint64_t acc = 0;
  int64_t k = 0, valid = 0, i = r;
  while (i < r + n) {
    const int64_t a = off[i], e = off[i + 1];
    i++;
    if (a == e) {
      d[k] = (lnull && !pl_bit_get(lv, i - 1)) ? 0 : d0;
      rp[k++] = 0;
      acc += lvbits;
    } else {
      int64_t nv = e - a;
      if (!inull) {
        for (int64_t j = a; j < e; j++) {
          d[k] = dmax;
          rp[k++] = 1;
        }
        if (bytes) acc += (uint64_t)(ioff[e] - ioff[a]) * 8;
      } else {
        nv = 0;
        for (int64_t j = a; j < e; j++) {
          uint16_t b = pl_bit_get(iv, j);
          d[k] = (uint16_t)(dmax - 1 + b);
          rp[k++] = 1;
          nv += b;
          if (bytes && b) acc += (uint64_t)(ioff[j + 1] - ioff[j]) * 8;
        }
      }
      valid += nv;
      acc += (uint64_t)(e - a) * lvbits + (uint64_t)nv * vbits;
      rp[k - (e - a)] = 0; /* the row's first item */
    }
    if (acc >= gap) break;
  }
  L->def.len += (size_t)k * 2;
  L->rep.len += (size_t)k * 2;
  L->n_levels += k;
  s->idx = NULL;
  s->start = a0;
  s->end = off[i];
  s->valid = inull ? iv : NULL;
  s->n = valid;
  *done = i - r;
  *st = PL_OK;
  return true;
}

/* Appends top-level rows [r0, r1) of col to the leaf's pending page(s). A page ends after the
 * first row at which its page_bits reach 8 * page_bytes: each step below takes only rows that
 * cannot cross that mark before their last row, so the cuts depend on the values alone, never
 * on how the rows arrive in batches. */
/* With map, top-level row r is row map[r] of col (a gather); the pages are the same as for
 * the gathered rows in a column of their own. */
static pl_status append_rows(pl_parquet_writer *w, lane *ln, leaf *L, const pl_column *col, const int64_t *map,
                             int64_t r0, int64_t r1, pl_error *err) {
  pl_status st;
  const uint64_t page = (uint64_t)w->o.page_bytes * 8;
  const bool flat = L->depth == 1;
  const uint64_t lvbits = (uint64_t)(L->bw_def + L->bw_rep);
  const pl_column *lc = col; /* the leaf column */
  for (int k = 0; k + 1 < L->depth; k++)
    lc = L->steps[k].kind == NODE_LIST ? lc->children[0] : lc->children[L->steps[k].child];
  int64_t r = r0;
  while (r < r1) {
    uint64_t pend = page_bits(L);
    if (pend >= page) {
      if ((st = flush_page(w, ln, L, err))) return st;
      continue;
    }
    const uint64_t gap = page - pend;
    int64_t n, left = r1 - r;
    if (left > (int64_t)1 << 24) left = (int64_t)1 << 24; /* keeps the levels of one step under int32 */
    sel s = {0};
    if (flat) {
      const int64_t *m = map ? map + r : NULL; /* row r + i is row m[i] of col */
      if (L->conv != CV_BYTES) {
        uint64_t per = (uint64_t)(L->conv == CV_BOOL ? 1 : L->out_w) * 8 + lvbits;
        n = (int64_t)((gap - 1) / per);
      } else {
        /* the most rows whose bits (a null counted as a 4-byte length) stay under gap */
        const int64_t *off = pl_column_offsets(col);
        const uint64_t per = 32 + lvbits;
        int64_t lo = 0, hi = left;
        if (m) { /* no prefix sums over gathered rows: count them in order */
          for (uint64_t bits = 0; lo < left; lo++) {
            bits += (uint64_t)(off[m[lo] + 1] - off[m[lo]]) * 8 + per;
            if (bits >= gap) break;
          }
        } else {
          while (lo < hi) {
            int64_t mid = lo + (hi - lo + 1) / 2;
            uint64_t bits = (uint64_t)(off[r + mid] - off[r]) * 8 + (uint64_t)mid * per;
            if (bits < gap) lo = mid;
            else hi = mid - 1;
          }
        }
        n = lo;
      }
      if (n < 1) n = 1;
      if (n > left) n = left;
      bool has_nulls = L->steps[0].nullable && col->validity.len > 0 && col->null_count != 0;
      s.start = r;
      s.end = r + n;
      if (L->max_def > 0) {
        if ((st = pl_buf_reserve(&L->def, (size_t)n * 2, err))) return st;
        uint16_t *d = (uint16_t *)(void *)(L->def.data + L->def.len);
        int64_t valid = n;
        if (has_nulls) {
          const uint8_t *bits = col->validity.data;
          valid = 0;
          for (int64_t i = 0; i < n; i++) {
            uint16_t b = pl_bit_get(bits, m ? m[i] : r + i);
            d[i] = b;
            valid += b;
          }
          s.valid = valid < n ? bits : NULL;
        } else {
          for (int64_t i = 0; i < n; i++) d[i] = 1;
        }
        L->def.len += (size_t)n * 2;
        s.n = valid;
        if (m && valid < n) { /* the rows of the values present */
          if ((st = pl_buf_reserve_total(&ln->idx, (size_t)valid * 8, err))) return st;
          int64_t *ix = (int64_t *)(void *)ln->idx.data, k = 0;
          for (int64_t i = 0; i < n; i++)
            if (d[i]) ix[k++] = m[i];
          s.idx = ix;
          s.valid = NULL;
        }
      } else {
        s.n = n;
      }
      if (m && !s.idx) s.idx = m;
      L->n_levels += n;
    } else if (!map && L->depth == 2 && L->steps[0].kind == NODE_LIST && L->steps[1].kind == NODE_PRIM &&
               shred_list_prim(L, col, r, left, gap, &s, &n, &st, err)) {
      if (st) return st;
    } else {
      /* row by row, each row's bits counted exactly: stop after the row reaching gap */
      shred_ctx c = {.L = L, .defb = &L->def, .repb = &L->rep, .idxb = &ln->idx, .err = err};
      c.nlev = L->n_levels;
      c.caplev = L->n_levels;
      c.def = (uint16_t *)(void *)L->def.data;
      c.rep = (uint16_t *)(void *)L->rep.data;
      ln->idx.len = 0;
      c.idx = (int64_t *)(void *)ln->idx.data;
      c.capidx = (int64_t)(ln->idx.cap / 8);
      const bool bytes = L->conv == CV_BYTES;
      const int64_t *loff = bytes ? pl_column_offsets(lc) : NULL;
      const uint64_t vbits = bytes ? 32 : (uint64_t)(L->conv == CV_BOOL ? 1 : L->out_w) * 8;
      uint64_t acc = 0;
      n = 0;
      while (n < left) {
        int64_t l0 = c.nlev, v0 = c.nidx;
        if (!shred(&c, 0, col, map ? map[r + n] : r + n, 0, 0)) return c.st;
        n++;
        acc += (uint64_t)(c.nlev - l0) * lvbits + (uint64_t)(c.nidx - v0) * vbits;
        if (bytes)
          for (int64_t k = v0; k < c.nidx; k++) acc += (uint64_t)(loff[c.idx[k] + 1] - loff[c.idx[k]]) * 8;
        if (acc >= gap) break;
      }
      L->def.len = L->max_def > 0 ? (size_t)c.nlev * 2 : 0;
      L->rep.len = L->max_rep > 0 ? (size_t)c.nlev * 2 : 0;
      L->n_levels = c.nlev;
      s.n = c.nidx;
      if (c.nidx > 0 && c.idx[c.nidx - 1] - c.idx[0] == c.nidx - 1) {
        s.start = c.idx[0]; /* contiguous: no index needed */
        s.end = c.idx[0] + c.nidx;
      } else {
        s.idx = c.idx;
      }
    }
    if ((st = materialize(L, lc, &s, err))) return st;
    L->n_vals += s.n;
    L->n_rows += n;
    r += n;
  }
  return PL_OK;
}

/* Page bits of the rows of the current row group, over every leaf. */
static uint64_t rg_bits(const pl_parquet_writer *w) {
  uint64_t t = 0;
  for (int i = 0; i < w->n_leaves; i++) t += (uint64_t)w->leaves[i].c_bits + page_bits(&w->leaves[i]);
  return t;
}

/* One stride's rows of every leaf: leaf after leaf, or spread over the threads o.parallel
 * offers (each with its own lane). A leaf's pages depend on its rows alone, so the bytes are
 * the same either way; the first failed leaf in leaf order is the error. */
typedef struct stride_job {
  pl_parquet_writer *w;
  const pl_batch *batch;
  const int64_t *const *rows;
  int64_t r, n;
  pl_status *st;
  pl_error *errs;
} stride_job;

static void run_leaf(void *arg, int i, int k) {
  stride_job *j = arg;
  pl_parquet_writer *w = j->w;
  lane *ln = &w->ln[k < PL__LANES ? k : 0];
  if (!ln->comp && !(ln->comp = pl__compressor_new(w->o.codec, w->o.codec_level, &j->errs[i]))) {
    j->st[i] = j->errs[i].code ? j->errs[i].code : PL_EINVAL;
    return;
  }
  leaf *L = &w->leaves[i];
  j->st[i] = append_rows(w, ln, L, j->batch->columns[L->top], j->rows ? j->rows[L->top] : NULL, j->r, j->r + j->n,
                         &j->errs[i]);
}

static pl_status append_stride(pl_parquet_writer *w, const pl_batch *batch, const int64_t *const *rows, int64_t r,
                               int64_t n, pl_error *err) {
  stride_job j = {w, batch, rows, r, n, pl_calloc((size_t)w->n_leaves, sizeof(pl_status)),
                  pl_calloc((size_t)w->n_leaves, sizeof(pl_error))};
  if (w->o.parallel && w->n_leaves > 1) w->o.parallel(w->o.parallel_ctx, w->n_leaves, run_leaf, &j);
  else
    for (int i = 0; i < w->n_leaves && (i == 0 || !j.st[i - 1]); i++) run_leaf(&j, i, 0);
  pl_status st = PL_OK;
  for (int i = 0; i < w->n_leaves && !st; i++) {
    if (!(st = j.st[i])) continue;
    if (err) *err = j.errs[i];
    leaf_fail(w, &w->leaves[i], st, err);
  }
  pl_free(j.st);
  pl_free(j.errs);
  return st;
}

pl_status pl_parquet_writer_write(pl_parquet_writer *w, const pl_batch *batch, pl_error *err) {
  return pl_parquet_writer_write_rows(w, batch, NULL, err);
}

/* The rows rows[i] gathers from column c: each inside c, and none null unless f is nullable. */
static pl_status check_rows(const pl_parquet_writer *w, const pl_field *f, const pl_column *c, const int64_t *m,
                            int64_t n, pl_error *err) {
  const bool nulls = !f->nullable && c->validity.len > 0 && c->null_count != 0;
  for (int64_t k = 0; k < n; k++) {
    if (m[k] < 0 || m[k] >= c->length)
      return pl_error_set(err, PL_EINVAL, "%s: column '%s': row %lld gathers row %lld of %lld", w->path, f->name,
                          (long long)k, (long long)m[k], (long long)c->length);
    if (nulls && !pl_bit_get(c->validity.data, m[k]))
      return pl_error_set(err, PL_EINVAL, "%s: column '%s' is not nullable but holds nulls", w->path, f->name);
  }
  return PL_OK;
}

pl_status pl_parquet_writer_write_rows(pl_parquet_writer *w, const pl_batch *batch, const int64_t *const *rows,
                                       pl_error *err) {
  if (w->failed) {
    if (err) *err = w->fail_err;
    return w->failed;
  }
  if (w->finished) return pl_error_set(err, PL_EINVAL, "%s: write after pl_parquet_writer_finish", w->path);
  const pl_schema *s = &batch->schema;
  if (s->n_fields != w->schema.n_fields)
    return pl_error_set(err, PL_EINVAL, "%s: batch has %d columns, the file has %d", w->path,
                        s->n_fields, w->schema.n_fields);
  for (int i = 0; i < s->n_fields; i++) {
    const pl_field *a = &s->fields[i], *b = &w->schema.fields[i];
    if (strcmp(a->name, b->name) || !pl_type_equal(&a->type, &b->type))
      return pl_error_set(err, PL_EINVAL, "%s: batch column %d ('%s') does not match the file's column '%s'",
                          w->path, i, a->name, b->name);
    const pl_column *c = batch->columns[i];
    if (rows && rows[i]) {
      pl_status st = check_rows(w, a, c, rows[i], batch->length, err);
      if (st) return st;
      continue;
    }
    if (c->length != batch->length)
      return pl_error_set(err, PL_EINVAL, "%s: column '%s' has %lld rows, the batch %lld", w->path,
                          a->name, (long long)c->length, (long long)batch->length);
    if (!b->nullable && c->validity.len > 0 && c->null_count != 0)
      return pl_error_set(err, PL_EINVAL, "%s: column '%s' is not nullable but holds nulls", w->path, a->name);
  }
  const int64_t nrows = batch->length;
  const uint64_t target = (uint64_t)w->o.row_group_bytes * 8;
  pl_status st = PL_OK;
  int64_t r = 0;
  /* Row groups are checked at the end of "strides" of rows. A stride's length is fixed when it
   * starts, from the rows already in the row group (or the last row group) — never from the
   * batch — and a stride spans batches, so the cuts depend on the rows alone. */
  while (r < nrows) {
    if (w->stride_left == 0) {
      uint64_t have = rg_bits(w);
      uint64_t gap = have < target ? target - have : 1;
      uint64_t bits = w->rg_rows > 0 ? have : (uint64_t)w->prev_rg_bits;
      uint64_t had = w->rg_rows > 0 ? (uint64_t)w->rg_rows : (uint64_t)w->prev_rg_rows;
      uint64_t k = 1;
      if (bits > 0 && had > 0) {
        unsigned __int128 q = ((unsigned __int128)gap * had + bits - 1) / bits; /* ceil(gap / avg) */
        k = q > ((uint64_t)1 << 40) ? (uint64_t)1 << 40 : (uint64_t)q;
        if (k < 1) k = 1;
      }
      if (w->o.row_group_rows > 0 && k > (uint64_t)(w->o.row_group_rows - w->rg_rows))
        k = (uint64_t)(w->o.row_group_rows - w->rg_rows);
      w->stride_left = (int64_t)k;
    }
    int64_t n = nrows - r;
    if (n > w->stride_left) n = w->stride_left;
    if ((st = append_stride(w, batch, rows, r, n, err))) return st;
    w->rg_rows += n;
    w->stride_left -= n;
    r += n;
    if (w->stride_left == 0 &&
        (rg_bits(w) >= target || (w->o.row_group_rows > 0 && w->rg_rows >= w->o.row_group_rows))) {
      if ((st = flush_row_group(w, err))) return st;
    }
  }
  return st;
}

/* ------------------------------------------------------------------ close / abort */
/* Frees every byte charged to the writer's budget (and the codec and direct I/O state), so
 * that a finished writer outlives its budget. Idempotent. */
static void release_mem(pl_parquet_writer *w) {
  for (int i = 0; i < w->n_leaves; i++) {
    leaf *L = &w->leaves[i];
    for (int p = 0; p < L->n_path; p++) pl_free(L->path[p]);
    pl_free(L->path);
    pl_buf_release(&L->def);
    pl_buf_release(&L->rep);
    pl_buf_release(&L->plain);
    release_segs(L);
    pl_free(L->segs);
    pl_buf_release(&L->pages);
    pl_buf_release(&L->dictpage);
    pl_buf_release(&L->st.bmin);
    pl_buf_release(&L->st.bmax);
    dict_release(w->b, &L->d);
  }
  pl_free(w->leaves);
  w->leaves = NULL;
  w->n_leaves = 0;
  for (int k = 0; k < PL__LANES; k++) {
    lane *ln = &w->ln[k];
    pl_buf_release(&ln->idx);
    pl_buf_release(&ln->u32);
    pl_buf_release(&ln->body);
    pl_buf_release(&ln->cbuf);
    pl_buf_release(&ln->lv);
    pl_buf_release(&ln->hdr);
    pl_buf_release(&ln->join);
    pl__compressor_free(ln->comp);
    ln->comp = NULL;
  }
  pl__dout_free(w->dout); /* before the fd closes: its thread may be writing */
  w->dout = NULL;
}

static void writer_free(pl_parquet_writer *w) {
  release_mem(w);
  pl_pq_file_metadata_release(&w->md);
  pl_schema_release(&w->schema);
  pl_free(w->path);
  pl_free(w->tmp);
  pl_free(w);
}

void pl_parquet_writer_abort(pl_parquet_writer *w) {
  if (!w) return;
  release_mem(w);
  if (w->fd >= 0) {
    close(w->fd);
    w->fd = -1;
    unlink(w->tmp);
  }
  writer_free(w);
}

uint64_t pl_parquet_writer_bytes(const pl_parquet_writer *w) { return w ? w->pos : 0; }

char *pl__temp_path(const char *path) {
  const char *slash = strrchr(path, '/');
  unsigned n = atomic_fetch_add(&tmp_counter, 1);
  if (slash) return pl_sprintf("%.*s/.%s.tmp-%ld-%u", (int)(slash - path), path, slash + 1, (long)getpid(), n);
  return pl_sprintf(".%s.tmp-%ld-%u", path, (long)getpid(), n);
}

void pl__fsync_dir(const char *path) {
  const char *slash = strrchr(path, '/');
  char *dir = slash ? pl_strndup(path, slash == path ? 1 : (size_t)(slash - path)) : pl_strdup(".");
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd); /* best effort: the rename is durable once the directory is */
    close(fd);
  }
  pl_free(dir);
}

pl_status pl_parquet_writer_finish(pl_parquet_writer *w, pl_error *err) {
  if (!w) return pl_error_set(err, PL_EINVAL, "pl_parquet_writer_finish: NULL writer");
  if (w->failed) {
    if (err) *err = w->fail_err;
    return w->failed;
  }
  if (w->finished) return PL_OK;
  pl_status st = flush_row_group(w, err);
  if (st) return st;
  pl_buf foot = PL_BUF_INIT(w->b);
  if ((st = pl__thrift_write_file_metadata(&foot, &w->md, err))) {
    pl_buf_release(&foot);
    pl_error_prefix(err, "%s: footer", w->path);
    return fail(w, st, err);
  }
  uint8_t tail[8];
  put_le32(tail, (uint32_t)foot.len);
  memcpy(tail + 4, "PAR1", 4);
  st = write_all(w, foot.data, foot.len, err);
  if (!st) st = write_all(w, tail, 8, err);
  pl_buf_release(&foot);
  if (!st) st = flush_out(w, err);
  if (st) return st;
  release_mem(w);
  w->b = NULL;
  w->finished = true;
  return PL_OK;
}

pl_status pl_parquet_writer_close(pl_parquet_writer *w, pl_error *err) {
  if (!w) return pl_error_set(err, PL_EINVAL, "pl_parquet_writer_close: NULL writer");
  pl_status st = pl_parquet_writer_finish(w, err);
  if (st) goto done;
  if (fsync(w->fd) != 0) {
    int e = errno;
    st = pl_error_set(err, PL_EIO, "%s: fsync failed: %s", w->path, strerror(e));
    fail(w, st, err);
    goto done;
  }
  int fd = w->fd;
  w->fd = -1;
  if (close(fd) != 0) {
    int e = errno;
    unlink(w->tmp);
    st = pl_error_set(err, PL_EIO, "%s: close failed: %s", w->path, strerror(e));
    goto done;
  }
  if (rename(w->tmp, w->path) != 0) {
    int e = errno;
    unlink(w->tmp);
    st = pl_error_set(err, PL_EIO, "%s: rename from %s failed: %s", w->path, w->tmp, strerror(e));
    goto done;
  }
  pl__fsync_dir(w->path);
done:
  pl_parquet_writer_abort(w);
  return st;
}

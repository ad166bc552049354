/* copy.c — a column-wise file made from another Parquet file's column chunks, copied byte for
 * byte. A load from Parquet must still write `<field>/part.N.parquet` (id, field) for every
 * field it loads (the column-wise layout), but decoding and re-encoding data that is already
 * Parquet costs as much as the rest of a pipeline. The chunks of the field are therefore
 * copied as they are (copy_file_range, so the bytes need not pass through user memory), and
 * only the footer is new: offsets moved, the field's schema subtree, the source's created_by
 * (readers key writer-specific workarounds on it), and an `id` column, itself copied or
 * generated as consecutive numbers (DELTA_BINARY_PACKED, a few bytes per 128 rows). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "parquet/reader_internal.h"
#include "parquet/writer_internal.h"

/* Elements in the subtree rooted at schema[i] (itself included), or -1 when it runs out. */
static int32_t subtree(const pl_pq_file_metadata *md, int32_t i) {
  if (i >= md->n_schema) return -1;
  int32_t n = 1;
  for (int32_t c = 0; c < md->schema[i].num_children; c++) {
    int32_t k = subtree(md, i + n);
    if (k < 0) return -1;
    n += k;
  }
  return n;
}

static int32_t leaves_in(const pl_pq_file_metadata *md, int32_t i, int32_t n) {
  int32_t l = 0;
  for (int32_t k = i; k < i + n; k++) l += md->schema[k].num_children == 0;
  return l;
}

/* The top-level field `name`: its first schema element, element count, first leaf and leaf
 * count. false when absent. */
static bool find_field(const pl_pq_file_metadata *md, const char *name, int32_t *el, int32_t *n_el,
                       int32_t *leaf, int32_t *n_leaves) {
  int32_t i = 1, lf = 0;
  for (int32_t c = 0; md->n_schema > 0 && c < md->schema[0].num_children; c++) {
    int32_t n = subtree(md, i);
    if (n < 0) return false;
    int32_t nl = leaves_in(md, i, n);
    if (md->schema[i].name && strcmp(md->schema[i].name, name) == 0) {
      *el = i;
      *n_el = n;
      *leaf = lf;
      *n_leaves = nl;
      return true;
    }
    i += n;
    lf += nl;
  }
  return false;
}

/* Where a chunk's bytes start (its dictionary page, when it has one). */
static int64_t chunk_start(const pl_pq_column_meta *m) {
  int64_t s = m->data_page_offset;
  if (m->has_dictionary_page_offset && m->dictionary_page_offset > 0 && m->dictionary_page_offset < s)
    s = m->dictionary_page_offset;
  return s;
}

/* What a flat column may hold to be copied: encodings, codecs and types that every common
 * reader decodes alike. Anything else (nested or legacy structures, INT96, decimals, fixed
 * bytes, Hadoop LZ4 framing) is decoded and written again, which normalises it. */
static bool plain_encoding(int e) {
  return e == PL_PQ_ENC_PLAIN || e == PL_PQ_ENC_PLAIN_DICTIONARY || e == PL_PQ_ENC_RLE ||
         e == PL_PQ_ENC_BIT_PACKED || e == PL_PQ_ENC_RLE_DICTIONARY || e == PL_PQ_ENC_DELTA_BINARY_PACKED ||
         e == PL_PQ_ENC_DELTA_LENGTH_BYTE_ARRAY || e == PL_PQ_ENC_DELTA_BYTE_ARRAY ||
         e == PL_PQ_ENC_BYTE_STREAM_SPLIT;
}

static bool plain_codec(int c) {
  return c == PL_CODEC_UNCOMPRESSED || c == PL_CODEC_SNAPPY || c == PL_CODEC_GZIP || c == PL_CODEC_BROTLI ||
         c == PL_CODEC_ZSTD || c == PL_CODEC_LZ4_RAW;
}

static bool plain_element(const pl_pq_schema_element *e) {
  if (e->num_children != 0 || e->repetition == PL_REP_REPEATED) return false;
  switch (e->type) {
  case PL_PQ_BOOLEAN:
  case PL_PQ_FLOAT:
  case PL_PQ_DOUBLE: return e->converted_type < 0 && e->logical.kind == PL_LT_NONE;
  case PL_PQ_INT32:
  case PL_PQ_INT64:
    if (e->logical.kind == PL_LT_INTEGER) return e->logical.is_signed;
    if (e->logical.kind == PL_LT_DATE || e->logical.kind == PL_LT_TIMESTAMP) return true;
    return e->logical.kind == PL_LT_NONE &&
           (e->converted_type < 0 || e->converted_type == PL_CT_INT_8 || e->converted_type == PL_CT_INT_16 ||
            e->converted_type == PL_CT_INT_32 || e->converted_type == PL_CT_INT_64 ||
            e->converted_type == PL_CT_DATE || e->converted_type == PL_CT_TIMESTAMP_MILLIS ||
            e->converted_type == PL_CT_TIMESTAMP_MICROS);
  case PL_PQ_BYTE_ARRAY:
    return (e->logical.kind == PL_LT_NONE || e->logical.kind == PL_LT_STRING) &&
           (e->converted_type < 0 || e->converted_type == PL_CT_UTF8);
  default: return false;
  }
}

bool pl_parquet_copyable(const pl_parquet_file *src, const char *field) {
  const pl_pq_file_metadata *md = pl_parquet_metadata(src);
  int fd;
  int64_t size;
  bool pad;
  pl__parquet_file_raw(src, &fd, &size, &pad);
  if (pad || md->encrypted || !pl_parquet_schema(src)) return false;
  int32_t el, n_el, leaf, n_leaves;
  if (!find_field(md, field, &el, &n_el, &leaf, &n_leaves) || n_el != 1 || !plain_element(&md->schema[el]))
    return false;
  int64_t foot = size - 8; /* chunks end before the footer; a finer bound is not needed */
  for (int32_t g = 0; g < md->n_row_groups; g++) {
    const pl_pq_column_chunk *cc = &md->row_groups[g].columns[leaf];
    if (cc->file_path || cc->encrypted || !cc->has_meta || !plain_codec(cc->meta.codec)) return false;
    for (int32_t k = 0; k < cc->meta.n_encodings; k++)
      if (!plain_encoding(cc->meta.encodings[k])) return false;
    int64_t s = chunk_start(&cc->meta), e;
    if (s < 4 || cc->meta.total_compressed_size < 0 ||
        __builtin_add_overflow(s, cc->meta.total_compressed_size, &e) || e > foot)
      return false;
  }
  return true;
}

/* ------------------------------------------------------------------ the output file */
typedef struct out {
  int fd;
  char *path, *tmp;
  int64_t pos;
} out;

static pl_status out_write(out *o, const void *p, size_t n, pl_error *err) {
  uint64_t at = (uint64_t)o->pos;
  pl_status st = pl__write_full(o->fd, p, n, &at, o->path, NULL, err);
  o->pos = (int64_t)at;
  return st;
}

/* Appends src's bytes [off, off + n) to o: in the kernel when it can, else through a buffer. */
static pl_status out_copy(out *o, int sfd, const char *spath, int64_t off, int64_t n, pl_budget *b,
                          pl_error *err) {
  loff_t in = off;
  while (n > 0) {
    ssize_t r = copy_file_range(sfd, &in, o->fd, NULL, (size_t)(n > (1 << 30) ? (1 << 30) : n), 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break; /* EXDEV, ENOSYS, EINVAL...: copy by hand below */
    n -= r;
    o->pos += r;
  }
  if (n == 0) return PL_OK;
  size_t cap = n > (1 << 18) ? (1 << 18) : (size_t)n;
  uint8_t *buf = pl_budget_alloc(b, cap, err);
  if (!buf) return err ? err->code : PL_ENOMEM;
  pl_status st = PL_OK;
  while (!st && n > 0) {
    size_t want = (size_t)n < cap ? (size_t)n : cap;
    ssize_t r = pread(sfd, buf, want, (off_t)in);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      st = pl_error_set(err, r < 0 ? PL_EIO : PL_ECORRUPT, "%s: read of %zu bytes at offset %lld: %s", spath,
                        want, (long long)in, r < 0 ? strerror(errno) : "the file ends");
      break;
    }
    st = out_write(o, buf, (size_t)r, err);
    in += r;
    n -= r;
  }
  pl_budget_free_mem(b, buf, cap);
  return st;
}

/* ------------------------------------------------------------------ a generated id chunk */
/* Pages of consecutive ids [first, first + rows) at o's position; fills m. */
static pl_status write_ids(out *o, int64_t first, int64_t rows, pl_pq_column_meta *m, pl_budget *b,
                           pl_error *err) {
  enum { PAGE_ROWS = 1 << 16 };
  int64_t cap = rows < PAGE_ROWS ? rows : PAGE_ROWS;
  int64_t *v = pl_budget_alloc(b, (size_t)(cap ? cap : 1) * sizeof *v, err);
  if (!v) return err ? err->code : PL_ENOMEM;
  pl_buf body = PL_BUF_INIT(b), hdr = PL_BUF_INIT(b);
  pl_status st = PL_OK;
  m->data_page_offset = o->pos;
  for (int64_t at = 0; !st && (at < rows || (rows == 0 && at == 0)); at += cap ? cap : 1) {
    int64_t n = rows - at < cap ? rows - at : cap;
    for (int64_t i = 0; i < n; i++) v[i] = first + at + i;
    body.len = hdr.len = 0;
    if ((st = pl__delta_encode_i64(&body, v, n, err))) break;
    pl_pq_page_header h;
    memset(&h, 0, sizeof h);
    h.type = PL_PAGE_DATA;
    h.uncompressed_page_size = h.compressed_page_size = (int32_t)body.len;
    h.num_values = (int32_t)n;
    h.encoding = PL_PQ_ENC_DELTA_BINARY_PACKED;
    h.def_level_encoding = h.rep_level_encoding = PL_PQ_ENC_RLE;
    h.has_data_header = true;
    if ((st = pl__thrift_write_page_header(&hdr, &h, err))) break;
    if (!(st = out_write(o, hdr.data, hdr.len, err))) st = out_write(o, body.data, body.len, err);
    m->total_uncompressed_size += (int64_t)(hdr.len + body.len);
    if (rows == 0) break;
  }
  m->total_compressed_size = m->total_uncompressed_size;
  m->num_values = rows;
  pl_buf_release(&body);
  pl_buf_release(&hdr);
  pl_budget_free_mem(b, v, (size_t)(cap ? cap : 1) * sizeof *v);
  return st;
}

static void le64(uint8_t *p, int64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)((uint64_t)v >> (8 * i));
}

pl_status pl_parquet_sync(const char *path, pl_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return pl_error_set(err, PL_EIO, "%s: cannot open to fsync: %s", path, strerror(errno));
  pl_status st = PL_OK;
  if (fsync(fd) != 0) st = pl_error_set(err, PL_EIO, "%s: fsync failed: %s", path, strerror(errno));
  close(fd);
  if (!st) pl__fsync_dir(path);
  return st;
}

/* ------------------------------------------------------------------ the copy */
static int32_t enc_delta[] = {PL_PQ_ENC_DELTA_BINARY_PACKED};
static char *id_path[] = {"id"};

pl_status pl_parquet_copy_field(const pl_parquet_file *src, int32_t rg_start, int32_t rg_count,
                                const char *field, int64_t first_id, const char *path, bool sync,
                                pl_budget *b, pl_error *err) {
  return pl_parquet_copy_field_as(src, rg_start, rg_count, field, field, first_id, path, sync, b, err);
}

pl_status pl_parquet_copy_field_as(const pl_parquet_file *src, int32_t rg_start, int32_t rg_count,
                                   const char *field, const char *as, int64_t first_id,
                                   const char *path, bool sync, pl_budget *b, pl_error *err) {
  const pl_pq_file_metadata *sm = pl_parquet_metadata(src);
  const char *spath = pl_parquet_path(src);
  int sfd;
  int64_t ssize;
  bool pad;
  pl__parquet_file_raw(src, &sfd, &ssize, &pad);
  if ((field && !pl_parquet_copyable(src, field)) || (first_id < 0 && !pl_parquet_copyable(src, "id")))
    return pl_error_set(err, PL_EUNSUPPORTED, "%s: column '%s' cannot be copied as it is", spath,
                        field && !pl_parquet_copyable(src, field) ? field : "id");
  if (rg_start < 0 || rg_count < 0 || rg_start > sm->n_row_groups - rg_count)
    return pl_error_set(err, PL_EINVAL, "%s: row groups %d..%d out of %d", spath, rg_start,
                        rg_start + rg_count, sm->n_row_groups);
  int32_t el = 0, n_el = 0, leaf = 0, n_leaves = 0, iel = 0, in_el = 0, ileaf = 0, in_leaves = 0;
  if (field && !find_field(sm, field, &el, &n_el, &leaf, &n_leaves))
    return pl_error_set(err, PL_ENOTFOUND, "%s: no column '%s'", spath, field);
  if (first_id < 0 && (!find_field(sm, "id", &iel, &in_el, &ileaf, &in_leaves) ||
                       sm->schema[iel].type != PL_PQ_INT64 || sm->schema[iel].repetition != PL_REP_REQUIRED))
    return pl_error_set(err, PL_EINVAL, "%s: no required int64 column 'id' to copy", spath);

  /* the footer: root, id, the field's subtree; row groups of (id, the field's leaves) */
  pl_pq_file_metadata md;
  memset(&md, 0, sizeof md);
  md.version = sm->version ? sm->version : 1;
  md.created_by = sm->created_by;
  md.n_schema = 2 + n_el;
  md.schema = pl_calloc((size_t)md.n_schema, sizeof *md.schema);
  md.schema[0].name = "schema";
  md.schema[0].type = md.schema[0].repetition = md.schema[0].converted_type = -1;
  md.schema[0].num_children = field ? 2 : 1;
  if (first_id < 0) md.schema[1] = sm->schema[iel];
  else {
    md.schema[1].name = "id";
    md.schema[1].type = PL_PQ_INT64;
    md.schema[1].repetition = PL_REP_REQUIRED;
    md.schema[1].converted_type = -1;
  }
  if (n_el) memcpy(md.schema + 2, sm->schema + el, sizeof *md.schema * (size_t)n_el);
  /* a copyable field is one leaf: its element and its chunks' path take the new name */
  char *as_path[1] = {(char *)(as ? as : field)};
  if (n_el) md.schema[2].name = as_path[0];
  md.n_column_orders = sm->n_column_orders > 0 ? 1 + n_leaves : 0;
  md.n_row_groups = rg_count;
  md.row_groups = pl_calloc((size_t)(rg_count ? rg_count : 1), sizeof *md.row_groups);
  for (int32_t g = 0; g < rg_count; g++)
    md.row_groups[g].columns = pl_calloc((size_t)(1 + n_leaves), sizeof(pl_pq_column_chunk));
  uint8_t (*mm)[16] = pl_calloc((size_t)(rg_count ? rg_count : 1), sizeof *mm); /* id stats */

  out o = {.fd = -1, .path = (char *)path};
  o.tmp = pl__temp_path(path);
  pl_status st = PL_OK;
  o.fd = open(o.tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (o.fd < 0) st = pl_error_set(err, PL_EIO, "%s: cannot create: %s", o.tmp, strerror(errno));
  if (!st) st = out_write(&o, "PAR1", 4, err);
  int64_t id = first_id;
  for (int32_t g = 0; !st && g < rg_count; g++) {
    const pl_pq_row_group *sg = &sm->row_groups[rg_start + g];
    pl_pq_row_group *rg = &md.row_groups[g];
    rg->n_columns = 1 + n_leaves;
    rg->num_rows = sg->num_rows;
    rg->file_offset = o.pos;
    rg->has_file_offset = true;
    for (int32_t c = 0; !st && c <= n_leaves; c++) {
      pl_pq_column_chunk *cc = &rg->columns[c];
      cc->has_meta = true;
      if (c == 0 && first_id >= 0) {
        pl_pq_column_meta *m = &cc->meta;
        m->type = PL_PQ_INT64;
        m->n_encodings = 1;
        m->encodings = enc_delta;
        m->n_path = 1;
        m->path = id_path;
        m->codec = PL_CODEC_UNCOMPRESSED;
        cc->file_offset = o.pos;
        if ((st = write_ids(&o, id, sg->num_rows, m, b, err))) break;
        if (sg->num_rows > 0) {
          le64(mm[g], id);
          le64(mm[g] + 8, id + sg->num_rows - 1);
          m->stats.set = m->stats.has_null_count = true;
          m->stats.min_value = (pl_pq_bytes){mm[g], 8, true};
          m->stats.max_value = (pl_pq_bytes){mm[g] + 8, 8, true};
        }
        id += sg->num_rows;
      } else {
        const pl_pq_column_chunk *sc = &sg->columns[c == 0 ? ileaf : leaf + c - 1];
        cc->meta = sc->meta;
        if (c > 0) {
          cc->meta.n_path = 1;
          cc->meta.path = as_path;
        }
        int64_t s = chunk_start(&sc->meta), delta = o.pos - s;
        cc->meta.data_page_offset += delta;
        if (cc->meta.has_dictionary_page_offset && cc->meta.dictionary_page_offset > 0)
          cc->meta.dictionary_page_offset += delta;
        else
          cc->meta.has_dictionary_page_offset = false;
        cc->meta.has_index_page_offset = cc->meta.has_bloom_filter_offset = false;
        cc->file_offset = o.pos;
        st = out_copy(&o, sfd, spath, s, sc->meta.total_compressed_size, b, err);
      }
      rg->total_byte_size += cc->meta.total_uncompressed_size;
    }
    rg->total_compressed_size = o.pos - rg->file_offset;
    rg->has_total_compressed_size = true;
    rg->ordinal = (int16_t)g;
    rg->has_ordinal = g < 32768;
    md.num_rows += sg->num_rows;
  }
  if (!st) {
    pl_buf foot = PL_BUF_INIT(b);
    st = pl__thrift_write_file_metadata(&foot, &md, err);
    uint8_t tail[8] = {(uint8_t)foot.len, (uint8_t)(foot.len >> 8), (uint8_t)(foot.len >> 16),
                       (uint8_t)(foot.len >> 24), 'P', 'A', 'R', '1'};
    if (!st) st = out_write(&o, foot.data, foot.len, err);
    if (!st) st = out_write(&o, tail, 8, err);
    pl_buf_release(&foot);
  }
  if (!st && sync && fsync(o.fd) != 0) st = pl_error_set(err, PL_EIO, "%s: fsync failed: %s", path, strerror(errno));
  if (!st && !sync) sync_file_range(o.fd, 0, 0, SYNC_FILE_RANGE_WRITE); /* writeback starts now */
  if (o.fd >= 0 && close(o.fd) != 0 && !st) st = pl_error_set(err, PL_EIO, "%s: close failed: %s", path, strerror(errno));
  if (!st && rename(o.tmp, path) != 0)
    st = pl_error_set(err, PL_EIO, "%s: rename from %s failed: %s", path, o.tmp, strerror(errno));
  if (!st && sync) pl__fsync_dir(path);
  if (st && o.fd >= 0) unlink(o.tmp);
  for (int32_t g = 0; g < rg_count; g++) pl_free(md.row_groups[g].columns);
  pl_free(md.row_groups);
  pl_free(md.schema);
  pl_free(mm);
  pl_free(o.tmp);
  return st;
}

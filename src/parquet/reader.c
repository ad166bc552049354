/* reader.c — the streaming Parquet reader: footer, projection, row-group selection and
 * pruning, page-by-page decoding and record assembly (Dremel) into pl_batch.
 *
 * Memory: each selected leaf column keeps one read window of file bytes, one decompressed
 * page, its dictionary and the level arrays of the current page; the output batch is built
 * column by column. All of it is charged to the reader's budget, so a file whose values
 * cannot fit fails with PL_ELIMIT naming the file, column and row group.
 *
 * Record assembly: each Arrow-level node (pl__node) is built independently from the levels
 * of the first leaf below it. A node has one slot per level entry with def >= slot_def and
 * rep <= slot_rep; the slot is non-null when def >= def_present. A list counts, for each of
 * its slots, the following entries that open a slot of its item.
 */
#include "parquet/reader_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define WINDOW_MIN (64 * 1024)
#define FOOTER_MAX ((int64_t)1 << 30)

struct pl_parquet_file {
  int fd;
  char *path;
  int64_t size;
  pl_budget *budget;
  bool verify_crc;
  bool pad_chunks; /* PARQUET-816: old parquet-mr understated column chunk sizes */
  pl_pq_file_metadata md;
  pl__schema schema;
  pl_error refused; /* footer_only: why the reader cannot read the file (code 0 = it can) */
};

/* ------------------------------------------------------------------ opening */
static pl_status pread_all(int fd, void *buf, size_t n, int64_t off, pl_error *err) {
  uint8_t *p = buf;
  while (n) {
    ssize_t r = pread(fd, p, n, (off_t)off);
    if (r < 0) {
      if (errno == EINTR) continue;
      return pl_error_set(err, PL_EIO, "read of %zu bytes at offset %lld failed: %s", n,
                          (long long)off, strerror(errno));
    }
    if (r == 0)
      return pl_error_set(err, PL_ECORRUPT, "file ends at offset %lld (wanted %zu more bytes)",
                          (long long)off, n);
    p += r;
    n -= (size_t)r;
    off += r;
  }
  return PL_OK;
}

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* parquet-mr before 1.2.9 (PARQUET-816) wrote total_compressed_size without the dictionary
 * page header, so pages may run up to ~100 bytes past the declared chunk end. */
static bool old_parquet_mr(const char *created_by) {
  if (!created_by || strncmp(created_by, "parquet-mr", 10)) return false;
  int a = 0, b = 0, c = 0;
  if (sscanf(created_by, "parquet-mr version %d.%d.%d", &a, &b, &c) < 1) return true;
  return a < 1 || (a == 1 && (b < 2 || (b == 2 && c < 9)));
}

/* Structural checks that let the rest of the reader trust counts and types. */
static pl_status check_metadata(pl_parquet_file *f, pl_error *err) {
  const pl_pq_file_metadata *md = &f->md;
  const pl__schema *s = &f->schema;
  if (md->num_rows < 0) return pl_error_set(err, PL_ECORRUPT, "footer: negative num_rows");
  for (int32_t g = 0; g < md->n_row_groups; g++) {
    const pl_pq_row_group *rg = &md->row_groups[g];
    if (rg->num_rows < 0) return pl_error_set(err, PL_ECORRUPT, "row group %d: negative num_rows", (int)g);
    if (rg->n_columns != s->n_leaves)
      return pl_error_set(err, PL_ECORRUPT, "row group %d has %d columns, the schema has %d", (int)g,
                          (int)rg->n_columns, (int)s->n_leaves);
    for (int32_t c = 0; c < rg->n_columns; c++) {
      const pl_pq_column_chunk *cc = &rg->columns[c];
      const pl__leaf *lf = &s->leaves[c];
      if (cc->encrypted)
        return pl_error_set(err, PL_EUNSUPPORTED, "column '%s': encrypted column chunks are not supported", lf->path);
      if (!cc->has_meta)
        return pl_error_set(err, PL_ECORRUPT, "column '%s': row group %d has no column metadata", lf->path, (int)g);
      if (cc->file_path)
        return pl_error_set(err, PL_EUNSUPPORTED, "column '%s': data in another file ('%s') is not supported",
                            lf->path, cc->file_path);
      if (cc->meta.type != lf->phys)
        return pl_error_set(err, PL_ECORRUPT, "column '%s': row group %d stores %s but the schema says %s",
                            lf->path, (int)g, pl_pq_type_name(cc->meta.type), pl_pq_type_name(lf->phys));
      if (cc->meta.num_values < 0 || cc->meta.total_compressed_size < 0 || cc->meta.data_page_offset < 0)
        return pl_error_set(err, PL_ECORRUPT, "column '%s': row group %d has negative sizes or offsets",
                            lf->path, (int)g);
    }
  }
  return PL_OK;
}

pl_parquet_file *pl_parquet_open(const char *path, const pl_parquet_open_options *o, pl_budget *b,
                                 pl_error *err) {
  pl_parquet_file *f = pl_calloc(1, sizeof *f);
  f->fd = -1;
  f->path = pl_strdup(path);
  f->budget = b;
  f->verify_crc = o && o->verify_crc;
  uint8_t *footer = NULL;
  uint32_t flen = 0;
  pl_status st;
  /* O_NONBLOCK: a FIFO must not block the open; it is refused just below */
  f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (f->fd < 0) {
    pl_error_set(err, PL_EIO, "%s: cannot open: %s", path, strerror(errno));
    goto fail;
  }
  struct stat sb;
  if (fstat(f->fd, &sb) != 0) {
    pl_error_set(err, PL_EIO, "%s: cannot stat: %s", path, strerror(errno));
    goto fail;
  }
  if (!S_ISREG(sb.st_mode)) {
    pl_error_set(err, PL_EIO, "%s: not a regular file (Parquet needs random access)", path);
    goto fail;
  }
  f->size = (int64_t)sb.st_size;
  if (f->size < 12) {
    pl_error_set(err, PL_ECORRUPT, "%s: not a Parquet file (%lld bytes, too small)", path, (long long)f->size);
    goto fail;
  }
  uint8_t head[4], tail[8];
  if ((st = pread_all(f->fd, head, 4, 0, err)) || (st = pread_all(f->fd, tail, 8, f->size - 8, err))) {
    pl_error_prefix(err, "%s", path);
    goto fail;
  }
  if (!memcmp(tail + 4, "PARE", 4)) {
    pl_error_set(err, PL_EUNSUPPORTED, "%s: encrypted Parquet file (footer magic PARE) is not supported", path);
    goto fail;
  }
  if (memcmp(tail + 4, "PAR1", 4)) {
    pl_error_set(err, PL_ECORRUPT, "%s: not a Parquet file (no PAR1 magic at the end)", path);
    goto fail;
  }
  if (memcmp(head, "PAR1", 4) && memcmp(head, "PARE", 4)) {
    pl_error_set(err, PL_ECORRUPT, "%s: not a Parquet file (no PAR1 magic at the start)", path);
    goto fail;
  }
  flen = le32(tail);
  if ((int64_t)flen > f->size - 12 || (int64_t)flen > FOOTER_MAX) {
    pl_error_set(err, PL_ECORRUPT, "%s: footer length %u exceeds the file (%lld bytes)", path, flen,
                 (long long)f->size);
    goto fail;
  }
  footer = pl_budget_alloc(b, flen ? flen : 1, err);
  if (!footer) {
    pl_error_prefix(err, "%s: footer", path);
    goto fail;
  }
  if ((st = pread_all(f->fd, footer, flen, f->size - 8 - flen, err))) {
    pl_error_prefix(err, "%s", path);
    goto fail;
  }
  if ((st = pl__thrift_read_file_metadata(footer, flen, &f->md, err))) {
    pl_error_prefix(err, "%s", path);
    goto fail;
  }
  pl_budget_free_mem(b, footer, flen ? flen : 1);
  footer = NULL;
  f->pad_chunks = old_parquet_mr(f->md.created_by);
  pl_error why = {0};
  if (f->md.encrypted) {
    pl_error_set(&why, PL_EUNSUPPORTED, "%s: encrypted Parquet file (encryption_algorithm in the footer) is not supported", path);
  } else if ((st = pl__schema_build(&f->md, &f->schema, &why)) || (st = check_metadata(f, &why))) {
    pl__schema_release(&f->schema);
    pl_error_prefix(&why, "%s", path);
  }
  if (why.code) {
    if (o && o->footer_only) { /* the footer is fine: keep it, remember the refusal */
      f->refused = why;
      return f;
    }
    if (err) *err = why;
    goto fail;
  }
  return f;
fail:
  if (footer) pl_budget_free_mem(b, footer, flen ? flen : 1);
  pl_parquet_close(f);
  return NULL;
}

void pl_parquet_close(pl_parquet_file *f) {
  if (!f) return;
  if (f->fd >= 0) close(f->fd);
  pl_pq_file_metadata_release(&f->md);
  pl__schema_release(&f->schema);
  pl_free(f->path);
  pl_free(f);
}

const pl_pq_file_metadata *pl_parquet_metadata(const pl_parquet_file *f) { return &f->md; }
const pl_schema *pl_parquet_schema(const pl_parquet_file *f) { return f->refused.code ? NULL : &f->schema.arrow; }
const char *pl_parquet_path(const pl_parquet_file *f) { return f->path; }

/* ------------------------------------------------------------------ column chunk cursor */
typedef struct chunk {
  const pl__leaf *leaf;
  const pl_pq_column_meta *meta;
  int32_t rg;
  int64_t pos, end;      /* next page header; end of the chunk's bytes */
  int64_t values_left;   /* level entries the chunk still owes (meta.num_values) */
  pl_buf win;            /* file bytes [win_off, win_off + win.len) */
  int64_t win_off;
  pl_buf page;           /* decompressed page */
  pl__dict dict;
  bool has_dict;
  bool page_open;        /* vals is initialised */
  int64_t page_n, page_i;
  int64_t page_nonnull;  /* values (non-null entries) in the current page */
  pl_buf def, rep;       /* uint16 levels of the current page */
  pl__values vals;
  bool done;             /* no more pages */
} chunk;

/* Per-leaf output of one batch. */
typedef struct leaf_out {
  pl_buf def, rep; /* uint16 levels */
  int64_t n;       /* level entries */
  pl_column *dense;
} leaf_out;

struct pl_parquet_reader {
  pl_parquet_file *f;
  pl_budget *b;
  pl__codecs codecs;
  int32_t n_sel;        /* selected top-level fields */
  int32_t *sel;         /* their indices */
  pl_schema out_schema;
  int32_t n_rgs;
  int32_t *rgs;         /* row groups to read, after pruning */
  int32_t rg_i;         /* index into rgs */
  int64_t rg_row;       /* rows of the current row group already returned */
  int64_t batch_rows;
  size_t batch_bytes;
  int32_t n_leaves;     /* selected leaves */
  int32_t *leaves;      /* their leaf indices */
  int32_t *leaf_slot;   /* schema leaf index -> position in leaves, or -1 */
  chunk *chunks;        /* one per selected leaf, for the current row group */
  leaf_out *outs;
  bool rg_open;
  pl_buf scratch;       /* validity bytes during assembly */
  bool has_var_leaf;    /* a selected leaf holds variable-length values */
  double observed_per_row; /* output bytes per row of the last batch */
};

static void chunk_close(chunk *c) {
  if (c->page_open) pl__values_release(&c->vals);
  c->page_open = false;
  pl_buf_release(&c->win);
  pl_buf_release(&c->page);
  pl__dict_release(&c->dict);
  pl_buf_release(&c->def);
  pl_buf_release(&c->rep);
  c->has_dict = false;
}

static void chunk_open(chunk *c, const pl_parquet_file *f, const pl__leaf *lf, int32_t g,
                       pl_budget *b) {
  memset(c, 0, sizeof *c);
  const pl_pq_column_meta *m = &f->md.row_groups[g].columns[lf - f->schema.leaves].meta;
  c->leaf = lf;
  c->meta = m;
  c->rg = g;
  pl_buf_init(&c->win, b);
  pl_buf_init(&c->page, b);
  pl_buf_init(&c->def, b);
  pl_buf_init(&c->rep, b);
  pl_buf_init(&c->dict.values, b);
  pl_buf_init(&c->dict.offsets, b);
  /* dictionary_page_offset == 0 is written by some writers for "absent" */
  int64_t start = m->data_page_offset;
  if (m->has_dictionary_page_offset && m->dictionary_page_offset > 0 &&
      m->dictionary_page_offset < start)
    start = m->dictionary_page_offset;
  c->pos = start;
  int64_t end;
  if (__builtin_add_overflow(start, m->total_compressed_size + (f->pad_chunks ? 100 : 0), &end))
    end = INT64_MAX;
  int64_t limit = f->size - 8; /* data never reaches into the footer */
  c->end = end < limit ? end : limit;
  c->values_left = m->num_values;
}

/* Makes [off, off+n) available in the window; returns a pointer to it. */
static pl_status window(chunk *c, int fd, int64_t off, size_t n, const uint8_t **out, pl_error *err) {
  if (off >= c->win_off && (uint64_t)(off - c->win_off) + n <= c->win.len) {
    *out = c->win.data + (off - c->win_off);
    return PL_OK;
  }
  int64_t avail = c->end - off;
  if (off < 0 || avail < 0 || (uint64_t)avail < n)
    return pl_error_set(err, PL_ECORRUPT, "page at offset %lld runs past the column chunk (ends at %lld)",
                        (long long)off, (long long)c->end);
  size_t want = n > WINDOW_MIN ? n : WINDOW_MIN;
  if ((uint64_t)avail < want) want = (size_t)avail;
  if (want > c->win.cap) {
    /* replace rather than grow: the old bytes are not needed */
    pl_buf_release(&c->win);
    pl_status st = pl_buf_reserve_total(&c->win, want, err);
    if (st) return st;
  }
  c->win.len = 0;
  pl_status st = pread_all(fd, c->win.data, want, off, err);
  if (st) return st;
  c->win.len = want;
  c->win_off = off;
  *out = c->win.data;
  return PL_OK;
}

static int bit_width(int v) {
  int w = 0;
  while (v >> w) w++;
  return w;
}

/* Decodes one level stream of a v1 page (RLE with a 4-byte length, or BIT_PACKED). */
static pl_status levels_v1(int enc, int max, const uint8_t **p, const uint8_t *end, uint16_t *out,
                           int64_t n, int64_t *count, pl_error *err) {
  int bw = bit_width(max);
  size_t left = (size_t)(end - *p);
  if (enc == PL_PQ_ENC_RLE) {
    if (left < 4) return pl_error_set(err, PL_ECORRUPT, "levels length missing");
    uint32_t len = le32(*p);
    if (len > left - 4) return pl_error_set(err, PL_ECORRUPT, "levels length %u exceeds the page", len);
    pl__rle r;
    pl__rle_init(&r, *p + 4, len, bw);
    pl_status st = pl__rle_get_levels(&r, out, n, (uint32_t)max + 1, (uint16_t)max, count, err);
    if (st) return st;
    *p += 4 + len;
    return PL_OK;
  }
  if (enc == PL_PQ_ENC_BIT_PACKED) {
    pl_status st = pl__bitpacked_levels(*p, left, bw, out, n, (uint16_t)max, err);
    if (st) return st;
    if (count)
      for (int64_t i = 0; i < n; i++) *count += out[i] == max;
    *p += ((uint64_t)n * (uint64_t)bw + 7) / 8;
    return PL_OK;
  }
  return pl_error_set(err, PL_ECORRUPT, "levels use encoding %s (expected RLE or BIT_PACKED)",
                      pl_pq_encoding_name(enc));
}

static pl_status levels_buf(pl_buf *buf, int64_t n, pl_error *err) {
  size_t bytes;
  if (__builtin_mul_overflow((size_t)n, sizeof(uint16_t), &bytes))
    return pl_error_set(err, PL_ELIMIT, "too many levels");
  if (bytes > buf->cap) {
    pl_buf_release(buf);
    pl_status st = pl_buf_reserve_total(buf, bytes, err);
    if (st) return st;
  }
  buf->len = bytes;
  return PL_OK;
}

static pl_status decompress_into(pl_parquet_reader *r, chunk *c, const uint8_t *src, size_t n,
                                 size_t out_len, const uint8_t **out, pl_error *err) {
  if (c->meta->codec == PL_CODEC_UNCOMPRESSED) {
    if (n != out_len)
      return pl_error_set(err, PL_ECORRUPT, "uncompressed page of %zu bytes claims %zu", n, out_len);
    *out = src;
    return PL_OK;
  }
  if (out_len > c->page.cap) {
    pl_buf_release(&c->page);
    pl_status st = pl_buf_reserve_total(&c->page, out_len, err);
    if (st) return st;
  }
  c->page.len = out_len;
  *out = c->page.data ? c->page.data : (const uint8_t *)"";
  return pl__decompress(&r->codecs, c->meta->codec, src, n, c->page.data, out_len, err);
}

/* Loads the next data page with entries; c->done when the chunk has no more pages. */
static pl_status next_page(pl_parquet_reader *r, chunk *c, pl_error *err) {
  const pl__leaf *lf = c->leaf;
  if (c->page_open) {
    pl__values_release(&c->vals);
    c->page_open = false;
  }
  c->page_n = c->page_i = 0;
  for (;;) {
    if (c->pos >= c->end || c->values_left <= 0) {
      c->done = true;
      return PL_OK;
    }
    int64_t hdr_off = c->pos;
    size_t try_n = 256;
    pl_pq_page_header h;
    size_t used = 0;
    for (;;) {
      size_t avail = (size_t)(c->end - hdr_off);
      size_t n = try_n < avail ? try_n : avail;
      const uint8_t *p;
      pl_status st = window(c, r->f->fd, hdr_off, n, &p, err);
      if (st) return st;
      /* use whatever the window holds beyond n, up to the chunk end */
      size_t in_win = c->win.len - (size_t)(hdr_off - c->win_off);
      bool need_more = false;
      st = pl__thrift_read_page_header(p, in_win, &h, &used, &need_more, err);
      if (!st) break;
      if (!need_more || in_win >= avail) {
        pl_error_prefix(err, "page at offset %lld", (long long)hdr_off);
        return st;
      }
      try_n = in_win * 2;
    }
    int64_t body = hdr_off + (int64_t)used;
    pl_pq_page_header_release(&h);
    if (h.compressed_page_size < 0 || h.uncompressed_page_size < 0)
      return pl_error_set(err, PL_ECORRUPT, "page at offset %lld: negative page size", (long long)hdr_off);
    if (h.compressed_page_size > c->end - body)
      return pl_error_set(err, PL_ECORRUPT,
                          "page at offset %lld: compressed size %d runs past the column chunk (%lld bytes left)",
                          (long long)hdr_off, (int)h.compressed_page_size, (long long)(c->end - body));
    c->pos = body + h.compressed_page_size;
    const uint8_t *raw;
    pl_status st = window(c, r->f->fd, body, (size_t)h.compressed_page_size, &raw, err);
    if (st) return st;
    size_t csize = (size_t)h.compressed_page_size, usize = (size_t)h.uncompressed_page_size;
    if (r->f->verify_crc && h.has_crc &&
        (h.type == PL_PAGE_DATA || h.type == PL_PAGE_DATA_V2 || h.type == PL_PAGE_DICTIONARY)) {
      uint32_t crc = (uint32_t)crc32(0L, raw, (uInt)csize);
      if (crc != (uint32_t)h.crc)
        return pl_error_set(err, PL_ECORRUPT, "page at offset %lld: CRC mismatch (stored %08x, computed %08x)",
                            (long long)hdr_off, (uint32_t)h.crc, crc);
    }
    if (h.type == PL_PAGE_DICTIONARY) {
      if (!h.has_dict_header)
        return pl_error_set(err, PL_ECORRUPT, "page at offset %lld: dictionary page without its header", (long long)hdr_off);
      if (h.encoding != PL_PQ_ENC_PLAIN && h.encoding != PL_PQ_ENC_PLAIN_DICTIONARY)
        return pl_error_set(err, PL_EUNSUPPORTED, "page at offset %lld: dictionary page encoding %s",
                            (long long)hdr_off, pl_pq_encoding_name(h.encoding));
      if (c->has_dict)
        return pl_error_set(err, PL_ECORRUPT, "page at offset %lld: a second dictionary page", (long long)hdr_off);
      const uint8_t *data;
      if ((st = decompress_into(r, c, raw, csize, usize, &data, err)) ||
          (st = pl__dict_decode(&c->dict, lf, data, usize, h.num_values, r->b, err))) {
        pl_error_prefix(err, "dictionary page at offset %lld", (long long)hdr_off);
        return st;
      }
      c->has_dict = true;
      continue;
    }
    if (h.type != PL_PAGE_DATA && h.type != PL_PAGE_DATA_V2) continue; /* index or unknown pages */
    bool v2 = h.type == PL_PAGE_DATA_V2;
    if ((v2 && !h.has_v2_header) || (!v2 && !h.has_data_header))
      return pl_error_set(err, PL_ECORRUPT, "page at offset %lld: data page without its header", (long long)hdr_off);
    int64_t nv = h.num_values;
    if (nv < 0) return pl_error_set(err, PL_ECORRUPT, "page at offset %lld: negative num_values", (long long)hdr_off);
    if (nv > c->values_left)
      return pl_error_set(err, PL_ECORRUPT, "page at offset %lld: %lld values, but the column chunk has only %lld left",
                          (long long)hdr_off, (long long)nv, (long long)c->values_left);
    c->values_left -= nv;
    if (nv == 0) continue;
    const uint8_t *vp, *vend;
    uint16_t *def = NULL, *rep = NULL;
    int64_t nonnull = 0; /* entries with def == max_def: the values in the page */
    if (lf->max_def > 0) {
      if ((st = levels_buf(&c->def, nv, err))) return st;
      def = (uint16_t *)c->def.data;
    }
    if (lf->max_rep > 0) {
      if ((st = levels_buf(&c->rep, nv, err))) return st;
      rep = (uint16_t *)c->rep.data;
    }
    if (!v2) {
      const uint8_t *data;
      if ((st = decompress_into(r, c, raw, csize, usize, &data, err))) goto page_fail;
      vp = data;
      vend = data + usize;
      if (rep && (st = levels_v1(h.rep_level_encoding, lf->max_rep, &vp, vend, rep, nv, NULL, err))) goto page_fail;
      if (def && (st = levels_v1(h.def_level_encoding, lf->max_def, &vp, vend, def, nv, &nonnull, err))) goto page_fail;
    } else {
      int64_t rl = h.rep_levels_byte_length, dl = h.def_levels_byte_length;
      if (rl < 0 || dl < 0 || rl + dl > (int64_t)csize || rl + dl > (int64_t)usize) {
        st = pl_error_set(err, PL_ECORRUPT, "level lengths %lld + %lld exceed the page", (long long)rl, (long long)dl);
        goto page_fail;
      }
      if (rep) {
        pl__rle lr;
        pl__rle_init(&lr, raw, (size_t)rl, bit_width(lf->max_rep));
        if ((st = pl__rle_get_u16(&lr, rep, nv, (uint32_t)lf->max_rep + 1, err))) goto page_fail;
      }
      if (def) {
        pl__rle lr;
        pl__rle_init(&lr, raw + rl, (size_t)dl, bit_width(lf->max_def));
        if ((st = pl__rle_get_levels(&lr, def, nv, (uint32_t)lf->max_def + 1, (uint16_t)lf->max_def,
                                     &nonnull, err)))
          goto page_fail;
      }
      const uint8_t *src = raw + rl + dl;
      size_t clen = csize - (size_t)(rl + dl), ulen = usize - (size_t)(rl + dl);
      if (!h.is_compressed || c->meta->codec == PL_CODEC_UNCOMPRESSED) {
        if (clen != ulen) {
          st = pl_error_set(err, PL_ECORRUPT, "uncompressed values of %zu bytes, header says %zu", clen, ulen);
          goto page_fail;
        }
        vp = src;
      } else if (ulen == 0 && clen == 0) {
        vp = src;
      } else if ((st = decompress_into(r, c, src, clen, ulen, &vp, err))) {
        goto page_fail;
      }
      vend = vp + ulen;
    }
    if (!def) nonnull = nv;
    int enc = h.encoding;
    if ((st = pl__values_init(&c->vals, lf, enc, vp, (size_t)(vend - vp), nonnull,
                              c->has_dict ? &c->dict : NULL, r->b, err))) {
      pl__values_release(&c->vals);
      goto page_fail;
    }
    c->page_open = true;
    c->page_nonnull = nonnull;
    c->page_n = nv;
    c->page_i = 0;
    return PL_OK;
  page_fail:
    pl_error_prefix(err, "%s at offset %lld", v2 ? "data page v2" : "data page", (long long)hdr_off);
    return st;
  }
}

/* Brings o->def up to o->n entries: entries skipped while no value was null are max_def. */
static pl_status fill_levels(leaf_out *o, const pl__leaf *lf, pl_error *err) {
  size_t have = o->def.len / 2;
  if (have >= (size_t)o->n) return PL_OK;
  size_t missing = (size_t)o->n - have;
  uint8_t *p;
  pl_status st = pl_buf_append_zeros(&o->def, missing * 2, &p, err);
  if (st) return st;
  uint16_t md = (uint16_t)lf->max_def;
  for (size_t k = 0; k < missing; k++) memcpy(p + 2 * k, &md, 2);
  return PL_OK;
}

/* Appends the entries of the next n rows of c to o. */
static pl_status take_rows(pl_parquet_reader *r, chunk *c, leaf_out *o, int64_t n, pl_error *err) {
  const pl__leaf *lf = c->leaf;
  int64_t rows = 0;
  pl_status st;
  bool first = true;
  for (;;) {
    if (c->page_i >= c->page_n) {
      if (rows == n && lf->max_rep == 0) return PL_OK;
      if ((st = next_page(r, c, err))) return st;
      if (c->done) {
        if (rows == n) return PL_OK;
        return pl_error_set(err, PL_ECORRUPT, "column chunk ends after %lld of %lld rows",
                            (long long)rows, (long long)n);
      }
    }
    const uint16_t *rep = lf->max_rep ? (const uint16_t *)c->rep.data : NULL;
    const uint16_t *def = lf->max_def ? (const uint16_t *)c->def.data : NULL;
    int64_t i = c->page_i, e = c->page_n;
    if (!rep) {
      int64_t take = n - rows < e - i ? n - rows : e - i;
      e = i + take;
      rows += take;
    } else {
      if (first && rep[i] != 0)
        return pl_error_set(err, PL_ECORRUPT, "a row starts with repetition level %u (expected 0)", rep[i]);
      int64_t k = i;
      for (; k < e; k++) {
        if (rep[k] == 0) {
          if (rows == n) break;
          rows++;
        }
      }
      e = k;
    }
    first = false;
    int64_t m = e - i;
    if (m > 0) {
      int64_t nonnull = m;
      if (def) {
        if (i == 0 && e == c->page_n) {
          nonnull = c->page_nonnull;
        } else {
          nonnull = 0;
          uint16_t md = (uint16_t)lf->max_def;
          for (int64_t k = i; k < e; k++) nonnull += def[k] == md;
        }
        /* Flat columns skip copying levels while no value is null (all are max_def);
         * fill_levels catches up when a null shows up or assembly needs them. */
        if (rep || nonnull != m) {
          if (!rep && (st = fill_levels(o, lf, err))) return st;
          if ((st = pl_buf_append(&o->def, def + i, (size_t)m * 2, err))) return st;
        }
      }
      if (rep && (st = pl_buf_append(&o->rep, rep + i, (size_t)m * 2, err))) return st;
      if ((st = pl__values_get(&c->vals, o->dense, nonnull, err))) return st;
      o->n += m;
      c->page_i = e;
    }
    if (rows == n && c->page_i < c->page_n) return PL_OK; /* stopped at the next row's start */
  }
}

/* ------------------------------------------------------------------ assembly */
static pl_status bits_from_bytes(pl_buf *bm, const uint8_t *valid, int64_t k, int64_t *nulls,
                                 pl_error *err) {
  size_t bytes = (size_t)(k + 7) / 8;
  pl_status st = pl_buf_reserve_total(bm, bytes, err);
  if (st) return st;
  int64_t ones = 0, i = 0;
  uint8_t *out = bm->data;
  for (; i + 8 <= k; i += 8) {
    const uint8_t *v = valid + i;
    uint8_t byte = (uint8_t)(v[0] | v[1] << 1 | v[2] << 2 | v[3] << 3 | v[4] << 4 | v[5] << 5 |
                             v[6] << 6 | v[7] << 7);
    out[i >> 3] = byte;
    uint64_t x;
    memcpy(&x, v, 8);
    ones += (int64_t)((x * 0x0101010101010101ULL) >> 56); /* eight 0/1 bytes: their sum */
  }
  if (i < k) {
    uint8_t byte = 0;
    for (int64_t j = i; j < k; j++) {
      byte |= (uint8_t)(valid[j] << (j - i));
      ones += valid[j];
    }
    out[i >> 3] = byte;
  }
  *nulls = k - ones;
  if (*nulls == 0) {
    pl_buf_release(bm); /* all valid: no bitmap */
    return PL_OK;
  }
  bm->len = bytes;
  return PL_OK;
}

#define SPREAD(W)                                                                  \
  for (int64_t i = k - 1; i >= 0; i--) {                                           \
    if (valid[i]) {                                                                \
      j--;                                                                         \
      memmove(v + (size_t)i * (W), v + (size_t)j * (W), (W));                      \
    } else {                                                                       \
      memset(v + (size_t)i * (W), 0, (W));                                         \
    }                                                                              \
  }

/* Spreads the dense values of a leaf over k slots (valid[i] says which hold a value). */
static pl_status expand(pl_column *d, const uint8_t *valid, int64_t k, pl_error *err) {
  int64_t nn = d->length;
  pl_status st;
  if (nn == k) { /* no nulls: the dense layout is the answer */
    pl_buf_release(&d->validity);
    d->null_count = 0;
    return PL_OK;
  }
  if (d->type.id == PL_BOOL) {
    size_t bytes = (size_t)(k + 7) / 8;
    if ((st = pl_buf_reserve_total(&d->values, bytes + 1, err))) return st;
    uint8_t *bm = d->values.data;
    if (d->values.len < bytes) memset(bm + d->values.len, 0, bytes - d->values.len);
    int64_t j = nn;
    for (int64_t i = k - 1; i >= 0; i--) {
      bool v = false;
      if (valid[i]) {
        j--;
        v = (bm[j >> 3] >> (j & 7)) & 1;
      }
      pl_bit_set(bm, i, v);
    }
    d->values.len = bytes;
  } else if (pl_type_has_offsets(&d->type)) {
    if ((st = pl_buf_reserve_total(&d->offsets, (size_t)(k + 1) * 8, err))) return st;
    int64_t *off = (int64_t *)d->offsets.data;
    int64_t j = nn;
    off[k] = off[j];
    for (int64_t i = k - 1; i >= 0; i--) {
      j -= valid[i];
      off[i] = off[j];
    }
    d->offsets.len = (size_t)(k + 1) * 8;
  } else {
    size_t w = (size_t)pl_type_byte_width(&d->type);
    if ((st = pl_buf_reserve_total(&d->values, (size_t)k * w, err))) return st;
    uint8_t *v = d->values.data;
    int64_t j = nn;
    switch (w) {
    case 1: SPREAD(1) break;
    case 2: SPREAD(2) break;
    case 4: SPREAD(4) break;
    case 8: SPREAD(8) break;
    case 16: SPREAD(16) break;
    default: SPREAD(w) break;
    }
    d->values.len = (size_t)k * w;
  }
  d->length = k;
  return bits_from_bytes(&d->validity, valid, k, &d->null_count, err);
}

static pl_status build(pl_parquet_reader *r, const pl__node *node, const pl_type *type,
                       pl_column **out, pl_error *err);

static pl_status build_children(pl_parquet_reader *r, const pl__node *node, const pl_type *type,
                                pl_column *c, pl_error *err) {
  for (int32_t i = 0; i < node->n_children; i++) {
    const pl_type *ct = &type->children[i].type;
    if (type->id == PL_MAP) ct = &type->children[0].type;
    pl_column *child;
    pl_status st = build(r, &node->children[i], ct, &child, err);
    if (st) return st;
    pl_column_free(c->children[i]);
    c->children[i] = child;
  }
  return PL_OK;
}

static pl_status build(pl_parquet_reader *r, const pl__node *node, const pl_type *type,
                       pl_column **out, pl_error *err) {
  *out = NULL;
  int32_t li = r->leaf_slot[node->leaf];
  if (li < 0) return pl_error_set(err, PL_EINTERNAL, "leaf %d not selected", (int)node->leaf);
  leaf_out *o = &r->outs[li];
  const pl__leaf *lf = &r->f->schema.leaves[node->leaf];
  const uint16_t *def = lf->max_def ? (const uint16_t *)o->def.data : NULL;
  const uint16_t *rep = lf->max_rep ? (const uint16_t *)o->rep.data : NULL;
  int64_t m = o->n;
  pl_status st;
  if (node->kind == PL__NODE_LEAF && (!lf->max_def || (node->slot_def == 0 && o->dense->length == m))) {
    /* required and never repeated, or optional without a single null in this batch: the
     * dense values are the column */
    *out = o->dense;
    o->dense = NULL;
    return PL_OK;
  }
  if (lf->max_def && !lf->max_rep) { /* levels may lag behind where no value was null */
    if ((st = fill_levels(o, lf, err))) return st;
    def = (const uint16_t *)o->def.data;
  }
  if ((st = pl_buf_reserve_total(&r->scratch, (size_t)m + 1, err))) return st;
  uint8_t *valid = r->scratch.data;
  int64_t k = 0;
  if (node->kind == PL__NODE_LEAF) {
    uint16_t dp = (uint16_t)node->def_present;
    if (node->slot_def == 0) { /* every entry is a slot (no list above) */
      for (int64_t i = 0; i < m; i++) valid[i] = def[i] >= dp;
      k = m;
    } else {
      for (int64_t i = 0; i < m; i++)
        if (def[i] >= node->slot_def) valid[k++] = def[i] >= dp;
    }
    pl_column *d = o->dense;
    o->dense = NULL;
    if ((st = expand(d, valid, k, err))) {
      pl_column_free(d);
      return st;
    }
    *out = d;
    return PL_OK;
  }
  pl_column *c = pl_column_new(type, r->b, err);
  if (!c) return err ? err->code : PL_ENOMEM;
  if (node->kind == PL__NODE_STRUCT) {
    for (int64_t i = 0; i < m; i++) {
      uint16_t dl = def ? def[i] : 0, rl = rep ? rep[i] : 0;
      if (rl <= node->slot_rep && dl >= node->slot_def) valid[k++] = dl >= node->def_present;
    }
    c->length = k;
    if ((st = bits_from_bytes(&c->validity, valid, k, &c->null_count, err))) goto fail;
    if ((st = build_children(r, node, type, c, err))) goto fail;
    for (int32_t i = 0; i < c->n_children; i++)
      if (c->children[i]->length != k) {
        st = pl_error_set(err, PL_ECORRUPT, "struct field %d has %lld values, the struct %lld (levels disagree)",
                          (int)i, (long long)c->children[i]->length, (long long)k);
        goto fail;
      }
    *out = c;
    return PL_OK;
  }
  /* LIST / MAP */
  {
    const pl__node *item = &node->children[0];
    int64_t items = 0;
    pl_buf *ob = &c->offsets;
    ob->len = 0;
    if ((st = pl_buf_reserve_total(ob, (size_t)(m + 1) * 8, err))) goto fail;
    int64_t *off = (int64_t *)ob->data;
    off[0] = 0;
    for (int64_t i = 0; i < m; i++) {
      uint16_t dl = def ? def[i] : 0, rl = rep ? rep[i] : 0;
      if (rl <= node->slot_rep) {
        if (dl < node->slot_def) continue;
        if (k > 0) off[k] = items;
        valid[k++] = dl >= node->def_present;
        if (dl >= item->slot_def) items++;
      } else if (rl <= item->slot_rep && dl >= item->slot_def) {
        items++;
      }
    }
    off[k] = items;
    ob->len = (size_t)(k + 1) * 8;
    c->length = k;
    if ((st = bits_from_bytes(&c->validity, valid, k, &c->null_count, err))) goto fail;
    if ((st = build_children(r, node, type, c, err))) goto fail;
    if (c->children[0]->length != items) {
      st = pl_error_set(err, PL_ECORRUPT, "list has %lld items but its values have %lld (levels disagree)",
                        (long long)items, (long long)c->children[0]->length);
      goto fail;
    }
    *out = c;
    return PL_OK;
  }
fail:
  pl_column_free(c);
  return st;
}

/* ------------------------------------------------------------------ statistics pruning */
typedef struct statv {
  bool ok;
  double num;
  const uint8_t *bytes;
  size_t len;
} statv;

static statv stat_value(const pl__leaf *lf, const pl_pq_bytes *b) {
  statv v = {0};
  if (!b->set) return v;
  const uint8_t *p = b->data;
  switch (lf->phys) {
  case PL_PQ_INT32:
    if (b->len != 4 || lf->type.id == PL_DECIMAL128) return v;
    {
      uint32_t x = le32(p);
      v.num = lf->type.id == PL_UINT32 || lf->type.id == PL_UINT8 || lf->type.id == PL_UINT16
                  ? (double)x : (double)(int32_t)x;
    }
    break;
  case PL_PQ_INT64:
    if (b->len != 8 || lf->type.id == PL_DECIMAL128) return v;
    {
      uint64_t x;
      memcpy(&x, p, 8);
      v.num = lf->type.id == PL_UINT64 ? (double)x : (double)(int64_t)x;
    }
    break;
  case PL_PQ_FLOAT:
    if (b->len != 4) return v;
    {
      float x;
      memcpy(&x, p, 4);
      v.num = x;
    }
    break;
  case PL_PQ_DOUBLE:
    if (b->len != 8) return v;
    memcpy(&v.num, p, 8);
    break;
  case PL_PQ_BYTE_ARRAY:
    if (lf->type.id != PL_STRING && lf->type.id != PL_BINARY) return v;
    v.bytes = p ? p : (const uint8_t *)"";
    v.len = b->len;
    break;
  default: return v;
  }
  if (v.bytes == NULL && isnan(v.num)) return v;
  v.ok = true;
  return v;
}

static int cmp_bytes(const statv *a, const char *s) {
  size_t sl = strlen(s), n = a->len < sl ? a->len : sl;
  int c = memcmp(a->bytes, s, n);
  if (c) return c;
  return a->len < sl ? -1 : a->len > sl;
}

/* true when the row group can hold no row where `pred` holds */
static bool prune(const pl_parquet_file *f, int32_t g, const pl__leaf *lf, const pl_parquet_predicate *pr) {
  const pl_pq_column_meta *m = &f->md.row_groups[g].columns[lf - f->schema.leaves].meta;
  const pl_pq_statistics *s = &m->stats;
  if (!s->set) return false;
  int64_t rows = f->md.row_groups[g].num_rows;
  if (pr->op == PL_CMP_IS_NULL) return s->has_null_count && s->null_count == 0;
  bool all_null = s->has_null_count && s->null_count == rows && rows > 0;
  if (pr->op == PL_CMP_NOT_NULL) return all_null;
  if (all_null) return true; /* comparisons with null never hold */
  /* deprecated min/max used signed byte order: trust them only for signed numeric types */
  bool legacy_ok = lf->phys != PL_PQ_BYTE_ARRAY && lf->phys != PL_PQ_FIXED_LEN_BYTE_ARRAY &&
                   lf->type.id != PL_UINT32 && lf->type.id != PL_UINT64 && lf->type.id != PL_UINT8 &&
                   lf->type.id != PL_UINT16;
  const pl_pq_bytes *mnb = s->min_value.set ? &s->min_value : legacy_ok ? &s->min : NULL;
  const pl_pq_bytes *mxb = s->max_value.set ? &s->max_value : legacy_ok ? &s->max : NULL;
  if (!mnb || !mxb) return false;
  statv mn = stat_value(lf, mnb), mx = stat_value(lf, mxb);
  if (!mn.ok || !mx.ok) return false;
  int cmin, cmax; /* sign of (min - value), (max - value) */
  if (mn.bytes) {
    if (!pr->str) return false;
    cmin = cmp_bytes(&mn, pr->str);
    cmax = cmp_bytes(&mx, pr->str);
  } else {
    if (pr->str || isnan(pr->num)) return false;
    cmin = mn.num < pr->num ? -1 : mn.num > pr->num;
    cmax = mx.num < pr->num ? -1 : mx.num > pr->num;
  }
  switch (pr->op) {
  case PL_CMP_EQ: return cmin > 0 || cmax < 0;
  case PL_CMP_NE: return cmin == 0 && cmax == 0;
  case PL_CMP_LT: return cmin >= 0;
  case PL_CMP_LE: return cmin > 0;
  case PL_CMP_GT: return cmax <= 0;
  case PL_CMP_GE: return cmax < 0;
  default: return false;
  }
}

/* ------------------------------------------------------------------ reader */
void pl_parquet_reader_free(pl_parquet_reader *r) {
  if (!r) return;
  for (int32_t i = 0; i < r->n_leaves; i++) {
    if (r->chunks) chunk_close(&r->chunks[i]);
    if (r->outs) {
      pl_buf_release(&r->outs[i].def);
      pl_buf_release(&r->outs[i].rep);
      pl_column_free(r->outs[i].dense);
    }
  }
  pl__codecs_release(&r->codecs);
  pl_buf_release(&r->scratch);
  pl_free(r->chunks);
  pl_free(r->outs);
  pl_free(r->leaves);
  pl_free(r->leaf_slot);
  pl_free(r->sel);
  pl_free(r->rgs);
  pl_schema_release(&r->out_schema);
  pl_free(r);
}

pl_parquet_reader *pl_parquet_reader_new(pl_parquet_file *f, const pl_parquet_scan_options *o,
                                         pl_budget *b, pl_error *err) {
  const pl__schema *s = &f->schema;
  if (f->refused.code) { /* opened footer_only, and the reader cannot read it */
    if (err) *err = f->refused;
    return NULL;
  }
  pl_parquet_reader *r = pl_calloc(1, sizeof *r);
  r->f = f;
  r->b = b;
  pl_schema_init(&r->out_schema);
  pl_buf_init(&r->scratch, b);
  r->batch_rows = o && o->batch_rows > 0 ? o->batch_rows : 65536;
  r->batch_bytes = o && o->batch_bytes > 0 ? o->batch_bytes : (size_t)64 << 20;
  /* projection */
  if (o && o->columns) {
    r->sel = pl_calloc((size_t)o->n_columns + 1, sizeof *r->sel);
    for (int i = 0; i < o->n_columns; i++) {
      int32_t k = pl_schema_find(&s->arrow, o->columns[i]);
      if (k < 0) {
        pl_error_set(err, PL_ENOTFOUND, "%s: no column '%s'", f->path, o->columns[i]);
        goto fail;
      }
      for (int32_t j = 0; j < r->n_sel; j++)
        if (r->sel[j] == k) {
          pl_error_set(err, PL_EINVAL, "%s: column '%s' is listed twice", f->path, o->columns[i]);
          goto fail;
        }
      r->sel[r->n_sel++] = k;
    }
  } else {
    r->sel = pl_calloc((size_t)s->n_fields + 1, sizeof *r->sel);
    for (int32_t i = 0; i < s->n_fields; i++) r->sel[r->n_sel++] = i;
  }
  r->leaves = pl_calloc((size_t)s->n_leaves + 1, sizeof *r->leaves);
  r->leaf_slot = pl_malloc(((size_t)s->n_leaves + 1) * sizeof *r->leaf_slot);
  for (int32_t l = 0; l < s->n_leaves; l++) r->leaf_slot[l] = -1;
  for (int32_t i = 0; i < r->n_sel; i++) {
    int32_t fi = r->sel[i];
    pl_field fc;
    pl_field_copy(&fc, &s->arrow.fields[fi]);
    pl_schema_add(&r->out_schema, fc);
    for (int32_t l = s->field_first_leaf[fi]; l < s->field_first_leaf[fi + 1]; l++) {
      if (r->leaf_slot[l] >= 0) continue; /* the same column named twice */
      r->leaf_slot[l] = r->n_leaves;
      r->leaves[r->n_leaves++] = l;
    }
  }
  for (int32_t i = 0; i < r->n_leaves; i++)
    r->has_var_leaf |= s->leaves[r->leaves[i]].phys == PL_PQ_BYTE_ARRAY;
  r->chunks = pl_calloc((size_t)r->n_leaves + 1, sizeof *r->chunks);
  r->outs = pl_calloc((size_t)r->n_leaves + 1, sizeof *r->outs);
  for (int32_t i = 0; i < r->n_leaves; i++) {
    pl_buf_init(&r->outs[i].def, b);
    pl_buf_init(&r->outs[i].rep, b);
  }
  /* predicates name top-level primitive columns */
  const pl__leaf **pleaf = NULL;
  int np = o ? o->n_predicates : 0;
  if (np > 0) {
    pleaf = pl_calloc((size_t)np, sizeof *pleaf);
    for (int i = 0; i < np; i++) {
      int32_t k = pl_schema_find(&s->arrow, o->predicates[i].column);
      if (k < 0) {
        pl_free(pleaf);
        pl_error_set(err, PL_ENOTFOUND, "%s: predicate on unknown column '%s'", f->path, o->predicates[i].column);
        goto fail;
      }
      pleaf[i] = s->fields[k].kind == PL__NODE_LEAF ? &s->leaves[s->fields[k].leaf] : NULL;
    }
  }
  /* row groups */
  int32_t nrg = f->md.n_row_groups;
  r->rgs = pl_calloc((size_t)nrg + 1 + (o && o->row_groups ? (size_t)o->n_row_groups : 0), sizeof *r->rgs);
  int32_t ncand = o && o->row_groups ? o->n_row_groups : nrg;
  for (int32_t i = 0; i < ncand; i++) {
    int32_t g = o && o->row_groups ? o->row_groups[i] : i;
    if (g < 0 || g >= nrg) {
      pl_free(pleaf);
      pl_error_set(err, PL_EINVAL, "%s: no row group %d (the file has %d)", f->path, (int)g, (int)nrg);
      goto fail;
    }
    bool keep = true;
    for (int p = 0; p < np && keep; p++)
      if (pleaf[p] && prune(f, g, pleaf[p], &o->predicates[p])) keep = false;
    if (keep) r->rgs[r->n_rgs++] = g;
  }
  pl_free(pleaf);
  return r;
fail:
  pl_parquet_reader_free(r);
  return NULL;
}

static void close_rg(pl_parquet_reader *r) {
  for (int32_t i = 0; i < r->n_leaves; i++) chunk_close(&r->chunks[i]);
  r->rg_open = false;
}

/* Rows per batch: batch_rows, fewer when the row group's uncompressed bytes per row say a
 * batch would exceed batch_bytes. */
static int64_t batch_size(pl_parquet_reader *r, int32_t g, int64_t left) {
  const pl_pq_row_group *rg = &r->f->md.row_groups[g];
  double bytes = 0;
  for (int32_t i = 0; i < r->n_leaves; i++) {
    const pl_pq_column_meta *m = &rg->columns[r->leaves[i]].meta;
    bytes += (double)(m->total_uncompressed_size > 0 ? m->total_uncompressed_size : 0);
  }
  /* No columns (a row count only): one batch per row group costs nothing, and a huge
   * num_rows cannot turn into billions of empty batches. */
  if (r->n_leaves == 0) return left;
  int64_t n = r->batch_rows;
  double per_row = rg->num_rows > 0 ? bytes / (double)rg->num_rows : 0;
  /* Dictionary-encoded values decode to far more than their chunk's size: trust what the
   * previous batch measured, and probe with a small first batch when values vary in size. */
  if (r->observed_per_row > per_row) per_row = r->observed_per_row;
  if (r->observed_per_row == 0 && r->has_var_leaf && n > 4096) n = 4096;
  if (per_row > 0) {
    double fit = (double)r->batch_bytes / per_row;
    if (fit < (double)n) n = fit < 1 ? 1 : (int64_t)fit;
  }
  return n < left ? n : left;
}

/* Sizes a leaf's dense output for n rows up front, so decoding never copies on growth.
 * Nested leaves may hold more values than rows; those grow as usual. */
static pl_status reserve_dense(pl_parquet_reader *r, int32_t g, int32_t i, int64_t n, pl_error *err) {
  const pl__leaf *lf = &r->f->schema.leaves[r->leaves[i]];
  pl_column *d = r->outs[i].dense;
  const pl_pq_row_group *rg = &r->f->md.row_groups[g];
  if (lf->conv == PL__CONV_BOOL) return pl_buf_reserve_total(&d->values, (size_t)(n + 7) / 8 + 8, err);
  if (lf->conv == PL__CONV_BYTES) {
    pl_status st = pl_buf_reserve_total(&d->offsets, (size_t)(n + 1) * 8, err);
    if (st) return st;
    const pl_pq_column_meta *m = &rg->columns[r->leaves[i]].meta;
    if (rg->num_rows <= 0 || m->total_uncompressed_size <= 0) return PL_OK;
    /* the uncompressed chunk also holds lengths and levels: an over-estimate, capped */
    double per_row = (double)m->total_uncompressed_size / (double)rg->num_rows;
    double want = per_row * (double)n;
    if (want > (double)r->batch_bytes) want = (double)r->batch_bytes;
    return pl_buf_reserve_total(&d->values, (size_t)want, NULL) == PL_OK ? PL_OK : PL_OK;
  }
  size_t bytes;
  if (__builtin_mul_overflow((size_t)n, (size_t)lf->out_width, &bytes)) return PL_OK;
  return pl_buf_reserve_total(&d->values, bytes, err);
}

pl_status pl_parquet_reader_next(pl_parquet_reader *r, pl_batch **out, pl_error *err) {
  *out = NULL;
  pl_parquet_file *f = r->f;
  for (;;) {
    if (r->rg_i >= r->n_rgs) return PL_OK;
    int32_t g = r->rgs[r->rg_i];
    int64_t rows = f->md.row_groups[g].num_rows;
    if (r->rg_row >= rows) {
      close_rg(r);
      r->rg_i++;
      r->rg_row = 0;
      continue;
    }
    if (!r->rg_open) {
      for (int32_t i = 0; i < r->n_leaves; i++)
        chunk_open(&r->chunks[i], f, &f->schema.leaves[r->leaves[i]], g, r->b);
      r->rg_open = true;
    }
    int64_t n = batch_size(r, g, rows - r->rg_row);
    int32_t i;
    pl_status st = PL_OK;
    for (i = 0; i < r->n_leaves; i++) {
      leaf_out *o = &r->outs[i];
      o->def.len = o->rep.len = 0;
      o->n = 0;
      pl_column_free(o->dense);
      o->dense = pl_column_new(&f->schema.leaves[r->leaves[i]].type, r->b, err);
      if (!o->dense) {
        st = err ? err->code : PL_ENOMEM;
        break;
      }
      if ((st = reserve_dense(r, g, i, n, err))) break;
      if ((st = take_rows(r, &r->chunks[i], o, n, err))) break;
    }
    if (st) {
      const pl__leaf *lf = &f->schema.leaves[r->leaves[i < r->n_leaves ? i : 0]];
      pl_error_prefix(err, "%s: column '%s': row group %d", f->path, lf->path, (int)g);
      close_rg(r);
      r->rg_i = r->n_rgs; /* the reader is finished after an error */
      return st;
    }
    pl_batch *batch = pl_calloc(1, sizeof *batch);
    batch->budget = r->b;
    pl_schema_copy(&batch->schema, &r->out_schema);
    batch->columns = pl_calloc((size_t)r->n_sel + 1, sizeof *batch->columns);
    for (int32_t k = 0; k < r->n_sel && !st; k++) {
      int32_t fi = r->sel[k];
      st = build(r, &f->schema.fields[fi], &f->schema.arrow.fields[fi].type, &batch->columns[k], err);
      if (st) {
        pl_error_prefix(err, "%s: column '%s': row group %d", f->path, f->schema.arrow.fields[fi].name, (int)g);
        break;
      }
      if (batch->columns[k]->length != n) {
        st = pl_error_set(err, PL_ECORRUPT, "%s: column '%s': row group %d: %lld values for %lld rows",
                          f->path, f->schema.arrow.fields[fi].name, (int)g,
                          (long long)batch->columns[k]->length, (long long)n);
      }
    }
    if (st) {
      pl_batch_free(batch);
      close_rg(r);
      r->rg_i = r->n_rgs;
      return st;
    }
    batch->length = n;
    r->observed_per_row = (double)pl_batch_bytes(batch) / (double)n;
    r->rg_row += n;
    if (r->rg_row >= rows) {
      close_rg(r);
      r->rg_i++;
      r->rg_row = 0;
    }
    *out = batch;
    return PL_OK;
  }
}

void pl__parquet_file_raw(const pl_parquet_file *f, int *fd, int64_t *size, bool *pad_chunks) {
  *fd = f->fd;
  *size = f->size;
  *pad_chunks = f->pad_chunks;
}

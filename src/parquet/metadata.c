/* metadata.c — the footer model's release functions and the names of parquet.thrift enums. */
#include "praline/parquet.h"

#include <string.h>
#include <strings.h>

static void bytes_release(pl_pq_bytes *b) {
  pl_free(b->data);
  *b = (pl_pq_bytes){0};
}

static void stats_release(pl_pq_statistics *s) {
  bytes_release(&s->max);
  bytes_release(&s->min);
  bytes_release(&s->max_value);
  bytes_release(&s->min_value);
}

static void kv_release(int32_t n, pl_pq_kv *kv) {
  for (int32_t i = 0; i < n; i++) {
    pl_free(kv[i].key);
    pl_free(kv[i].value);
  }
  pl_free(kv);
}

void pl_pq_file_metadata_release(pl_pq_file_metadata *md) {
  if (!md) return;
  for (int32_t i = 0; i < md->n_schema; i++) pl_free(md->schema[i].name);
  pl_free(md->schema);
  for (int32_t g = 0; g < md->n_row_groups; g++) {
    pl_pq_row_group *rg = &md->row_groups[g];
    for (int32_t c = 0; c < rg->n_columns; c++) {
      pl_pq_column_chunk *cc = &rg->columns[c];
      pl_free(cc->file_path);
      pl_pq_column_meta *m = &cc->meta;
      pl_free(m->encodings);
      for (int32_t p = 0; p < m->n_path; p++) pl_free(m->path[p]);
      pl_free(m->path);
      kv_release(m->n_kv, m->kv);
      stats_release(&m->stats);
    }
    pl_free(rg->columns);
  }
  pl_free(md->row_groups);
  kv_release(md->n_kv, md->kv);
  pl_free(md->created_by);
  memset(md, 0, sizeof *md);
}

void pl_pq_page_header_release(pl_pq_page_header *h) {
  if (h) stats_release(&h->stats);
}

static const char *const codec_names[] = {"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO",
                                          "BROTLI",       "LZ4",    "ZSTD", "LZ4_RAW"};

const char *pl_codec_name(pl_codec c) {
  return (unsigned)c < sizeof codec_names / sizeof codec_names[0] ? codec_names[c] : "UNKNOWN";
}

pl_status pl_codec_parse(const char *s, pl_codec *out, pl_error *err) {
  for (unsigned i = 0; i < sizeof codec_names / sizeof codec_names[0]; i++) {
    if (i == PL_CODEC_LZO || i == PL_CODEC_LZ4) continue; /* not written by praline */
    if (!strcasecmp(s, codec_names[i])) {
      *out = (pl_codec)i;
      return PL_OK;
    }
  }
  if (!strcasecmp(s, "none")) {
    *out = PL_CODEC_UNCOMPRESSED;
    return PL_OK;
  }
  return pl_error_set(err, PL_EINVAL,
                      "unknown codec '%s' (expected uncompressed, snappy, gzip, zstd, lz4_raw or brotli)", s);
}

const char *pl_pq_encoding_name(int e) {
  static const char *const names[] = {"PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE",
                                      "BIT_PACKED", "DELTA_BINARY_PACKED",
                                      "DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY",
                                      "RLE_DICTIONARY", "BYTE_STREAM_SPLIT"};
  return e >= 0 && (unsigned)e < sizeof names / sizeof names[0] ? names[e] : "UNKNOWN";
}

const char *pl_pq_type_name(int t) {
  static const char *const names[] = {"BOOLEAN", "INT32",      "INT64",     "INT96",
                                      "FLOAT",   "DOUBLE",     "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"};
  return t >= 0 && (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "UNKNOWN";
}

/* inspect.c — `praline inspect FILE`: the footer of a Parquet file (schema, row groups, column
 * chunks with codec, encodings, sizes and decoded statistics), or with --checksum the
 * canonical checksums that ../shared/tools/pqcheck prints, computed from praline's reader.
 */
#include "cli/cli.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ names */
static const char *converted_name(int c) {
  static const char *const n[] = {"UTF8",      "MAP",         "MAP_KEY_VALUE",    "LIST",
                                  "ENUM",      "DECIMAL",     "DATE",             "TIME_MILLIS",
                                  "TIME_MICROS", "TIMESTAMP_MILLIS", "TIMESTAMP_MICROS", "UINT_8",
                                  "UINT_16",   "UINT_32",     "UINT_64",          "INT_8",
                                  "INT_16",    "INT_32",      "INT_64",           "JSON",
                                  "BSON",      "INTERVAL"};
  return c >= 0 && c < (int)(sizeof n / sizeof n[0]) ? n[c] : "?";
}

static const char *unit_name(pl_pq_time_unit u) {
  return u == PL_TU_MILLIS ? "MILLIS" : u == PL_TU_MICROS ? "MICROS" : u == PL_TU_NANOS ? "NANOS" : "?";
}

/* "STRING", "DECIMAL(10,2)", "TIMESTAMP(MICROS,utc)", "INT(8,unsigned)"; "" when absent. */
static void logical_text(const pl_pq_logical *l, char *buf, size_t cap) {
  static const char *const n[] = {"",        "STRING", "MAP",     "LIST",      "ENUM",
                                  "DECIMAL", "DATE",   "TIME",    "TIMESTAMP", "?",
                                  "INTEGER", "UNKNOWN", "JSON",   "BSON",      "UUID",
                                  "FLOAT16", "VARIANT", "GEOMETRY", "GEOGRAPHY"};
  const char *name = l->kind >= 0 && l->kind < (int)(sizeof n / sizeof n[0]) ? n[l->kind] : "?";
  switch (l->kind) {
  case PL_LT_DECIMAL: snprintf(buf, cap, "DECIMAL(%d,%d)", l->precision, l->scale); break;
  case PL_LT_TIME:
  case PL_LT_TIMESTAMP:
    snprintf(buf, cap, "%s(%s,%s)", name, unit_name(l->unit), l->utc ? "utc" : "local");
    break;
  case PL_LT_INTEGER:
    snprintf(buf, cap, "INT(%d,%s)", l->bit_width, l->is_signed ? "signed" : "unsigned");
    break;
  default: snprintf(buf, cap, "%s", name);
  }
}

static const char *repetition_name(int r) {
  return r == PL_REP_REQUIRED ? "required" : r == PL_REP_OPTIONAL ? "optional" : r == PL_REP_REPEATED ? "repeated" : "";
}

/* ------------------------------------------------------------------ statistics values */
/* Big-endian two's complement (Parquet DECIMAL in FIXED_LEN_BYTE_ARRAY / BYTE_ARRAY) to text. */
static bool decimal_be_text(const uint8_t *p, uint32_t n, int scale, char *buf, size_t cap) {
  if (n == 0 || n > 16) return false;
  unsigned __int128 u = (p[0] & 0x80) ? ~(unsigned __int128)0 : 0;
  for (uint32_t i = 0; i < n; i++) u = (u << 8) | p[i];
  bool neg = (p[0] & 0x80) != 0;
  if (neg) u = (unsigned __int128)0 - u;
  char digits[48];
  int k = 0;
  do {
    digits[k++] = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u);
  while (k < scale + 1) digits[k++] = '0';
  size_t o = 0;
  if (neg && o + 1 < cap) buf[o++] = '-';
  for (int i = k - 1; i >= 0 && o + 2 < cap; i--) {
    buf[o++] = digits[i];
    if (i == scale && scale > 0) buf[o++] = '.';
  }
  buf[o] = 0;
  return true;
}

typedef enum { STAT_NUMBER, STAT_TEXT, STAT_STRING } stat_kind;

/* Decodes a statistics value for display, by the column's physical and logical type.
 * STAT_STRING values are raw bytes to be JSON-quoted (out holds them, truncated); the others
 * are finished text. Unknown layouts fall back to hex. */
static stat_kind stat_value(const pl_pq_schema_element *el, const pl_pq_bytes *b, char *out, size_t cap) {
  const pl_pq_logical *l = &el->logical;
  int ct = el->converted_type;
  const uint8_t *p = b->data;
  uint32_t n = b->len;
  switch (el->type) {
  case PL_PQ_BOOLEAN:
    if (n < 1) break;
    snprintf(out, cap, "%s", p[0] ? "true" : "false");
    return STAT_TEXT;
  case PL_PQ_INT32: {
    if (n != 4) break;
    int32_t v;
    memcpy(&v, p, 4);
    if (l->kind == PL_LT_DATE || ct == PL_CT_DATE) {
      cli_date_text(v, out, cap);
      return STAT_TEXT;
    }
    int scale = l->kind == PL_LT_DECIMAL ? l->scale : ct == PL_CT_DECIMAL ? el->scale : -1;
    if (scale > 0) {
      uint8_t be[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
      decimal_be_text(be, 4, scale, out, cap);
      return STAT_TEXT;
    }
    bool uns = (l->kind == PL_LT_INTEGER && !l->is_signed) || (ct >= PL_CT_UINT_8 && ct <= PL_CT_UINT_64);
    if (uns) snprintf(out, cap, "%u", (unsigned)v);
    else snprintf(out, cap, "%d", v);
    return STAT_NUMBER;
  }
  case PL_PQ_INT64: {
    if (n != 8) break;
    int64_t v;
    memcpy(&v, p, 8);
    if (l->kind == PL_LT_TIMESTAMP || ct == PL_CT_TIMESTAMP_MILLIS || ct == PL_CT_TIMESTAMP_MICROS) {
      pl_pq_time_unit u = l->kind == PL_LT_TIMESTAMP ? l->unit : ct == PL_CT_TIMESTAMP_MILLIS ? PL_TU_MILLIS : PL_TU_MICROS;
      pl_time_unit pu = u == PL_TU_MILLIS ? PL_MILLI : u == PL_TU_MICROS ? PL_MICRO : PL_NANO;
      cli_timestamp_text(v, pu, l->kind == PL_LT_TIMESTAMP ? l->utc : true, out, cap);
      return STAT_TEXT;
    }
    int scale = l->kind == PL_LT_DECIMAL ? l->scale : ct == PL_CT_DECIMAL ? el->scale : -1;
    if (scale > 0) {
      uint8_t be[8];
      for (int i = 0; i < 8; i++) be[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
      decimal_be_text(be, 8, scale, out, cap);
      return STAT_TEXT;
    }
    bool uns = (l->kind == PL_LT_INTEGER && !l->is_signed) || ct == PL_CT_UINT_64;
    if (uns) snprintf(out, cap, "%llu", (unsigned long long)(uint64_t)v);
    else snprintf(out, cap, "%lld", (long long)v);
    return STAT_NUMBER;
  }
  case PL_PQ_FLOAT: {
    if (n != 4) break;
    float f;
    memcpy(&f, p, 4);
    char b32[32];
    pl_format_js_double(f, b32);
    snprintf(out, cap, "%s", b32);
    return isfinite(f) ? STAT_NUMBER : STAT_TEXT;
  }
  case PL_PQ_DOUBLE: {
    if (n != 8) break;
    double d;
    memcpy(&d, p, 8);
    char b64[32];
    pl_format_js_double(d, b64);
    snprintf(out, cap, "%s", b64);
    return isfinite(d) ? STAT_NUMBER : STAT_TEXT;
  }
  case PL_PQ_BYTE_ARRAY:
  case PL_PQ_FIXED_LEN_BYTE_ARRAY: {
    bool text = l->kind == PL_LT_STRING || l->kind == PL_LT_ENUM || l->kind == PL_LT_JSON ||
                ct == PL_CT_UTF8 || ct == PL_CT_ENUM || ct == PL_CT_JSON;
    int scale = l->kind == PL_LT_DECIMAL ? l->scale : ct == PL_CT_DECIMAL ? el->scale : -1;
    if (scale >= 0 && decimal_be_text(p, n, scale, out, cap)) return STAT_TEXT;
    if (l->kind == PL_LT_FLOAT16 && n == 2) {
      uint16_t h = (uint16_t)(p[0] | p[1] << 8);
      int e = (h >> 10) & 0x1f, man = h & 0x3ff;
      double v = e == 0 ? ldexp(man, -24) : e == 31 ? (man ? NAN : INFINITY) : ldexp(man | 0x400, e - 25);
      char b16[32];
      pl_format_js_double(h >> 15 ? -v : v, b16);
      snprintf(out, cap, "%s", b16);
      return STAT_TEXT;
    }
    if (text) {
      size_t m = n < cap - 1 ? n : cap - 1;
      memcpy(out, p, m);
      out[m] = 0;
      return STAT_STRING;
    }
    break;
  }
  default: break;
  }
  size_t o = 0;
  o += (size_t)snprintf(out, cap, "0x");
  for (uint32_t i = 0; i < n && o + 3 < cap; i++) o += (size_t)snprintf(out + o, cap - o, "%02x", p[i]);
  return STAT_TEXT;
}

/* ------------------------------------------------------------------ footer printing */
/* Leaves of the schema tree in order: the i-th column chunk belongs to leaves[i]. */
static int collect_leaves(const pl_pq_file_metadata *md, int at, int *leaves, int *n, int depth) {
  if (at >= md->n_schema || depth > 100) return at;
  const pl_pq_schema_element *el = &md->schema[at];
  if (el->num_children <= 0 && at > 0) {
    leaves[(*n)++] = at;
    return at + 1;
  }
  int next = at + 1;
  for (int c = 0; c < el->num_children && next < md->n_schema; c++)
    next = collect_leaves(md, next, leaves, n, depth + 1);
  return next;
}

static void print_schema_tree(const pl_pq_file_metadata *md, int *at, int depth, FILE *f) {
  if (*at >= md->n_schema || depth > 100) return;
  const pl_pq_schema_element *el = &md->schema[(*at)++];
  char lt[64];
  logical_text(&el->logical, lt, sizeof lt);
  if (depth > 0) {
    char tn[32];
    if (el->type >= 0) snprintf(tn, sizeof tn, "%s", pl_pq_type_name(el->type));
    else if (el->type == -1) snprintf(tn, sizeof tn, "group"); /* no type field */
    else snprintf(tn, sizeof tn, "physical type %d", (int)el->type); /* invalid, shown as is */
    fprintf(f, "  %*s%s: %s", 2 * (depth - 1), "", el->name ? el->name : "?", tn);
    if (el->type == PL_PQ_FIXED_LEN_BYTE_ARRAY) fprintf(f, "(%d)", el->type_length);
    if (lt[0]) fprintf(f, " %s", lt);
    else if (el->converted_type >= 0) fprintf(f, " %s", converted_name(el->converted_type));
    fprintf(f, " %s\n", repetition_name(el->repetition));
  }
  for (int c = 0; c < el->num_children; c++) print_schema_tree(md, at, depth + 1, f);
}

static void print_encodings(const pl_pq_column_meta *m, FILE *f, bool json) {
  for (int e = 0; e < m->n_encodings; e++) {
    if (json) {
      fprintf(f, "%s\"%s\"", e ? ", " : "", pl_pq_encoding_name(m->encodings[e]));
    } else {
      fprintf(f, "%s%s", e ? "," : "", pl_pq_encoding_name(m->encodings[e]));
    }
  }
}

static void path_text(const pl_pq_column_meta *m, char *buf, size_t cap) {
  size_t o = 0;
  buf[0] = 0;
  for (int k = 0; k < m->n_path && o + 1 < cap; k++)
    o += (size_t)snprintf(buf + o, cap - o, "%s%s", k ? "." : "", m->path[k]);
}

static void print_stat_text(const pl_pq_schema_element *el, const pl_pq_bytes *b, FILE *f) {
  char v[256];
  stat_kind k = stat_value(el, b, v, sizeof v);
  if (k == STAT_STRING) {
    size_t n = strlen(v);
    cli_json_string(f, v, n > 48 ? 48 : n);
    if (n > 48) fputs("…", f);
  } else {
    fputs(v, f);
  }
}

static void print_stat_json(const pl_pq_schema_element *el, const pl_pq_bytes *b, FILE *f) {
  char v[256];
  stat_kind k = stat_value(el, b, v, sizeof v);
  if (k == STAT_NUMBER) fputs(v, f);
  else cli_json_string(f, v, strlen(v));
}

static const pl_pq_bytes *stat_min(const pl_pq_statistics *s) {
  return s->min_value.set ? &s->min_value : s->min.set ? &s->min : NULL;
}
static const pl_pq_bytes *stat_max(const pl_pq_statistics *s) {
  return s->max_value.set ? &s->max_value : s->max.set ? &s->max : NULL;
}

/* refused: why the reader cannot read the file (NULL when it can); the footer is shown anyway */
static void inspect_text(pl_parquet_file *pf, uint64_t size, const char *refused, FILE *f) {
  const pl_pq_file_metadata *md = pl_parquet_metadata(pf);
  const pl_schema *sch = pl_parquet_schema(pf);
  char sz[32];
  fprintf(f, "file: %s (%s)\n", pl_parquet_path(pf), pl_format_size(size, sz, sizeof sz));
  fprintf(f, "created by: %s\n", md->created_by ? md->created_by : "-");
  fprintf(f, "format version: %d, rows: %lld, row groups: %d\n", md->version, (long long)md->num_rows,
          md->n_row_groups);
  if (refused) {
    fprintf(f, "reader: cannot read this file: %s\n", refused);
  } else {
    fprintf(f, "columns:");
    for (int i = 0; sch && i < sch->n_fields; i++) {
      char t[256];
      pl_type_canonical(&sch->fields[i].type, t, sizeof t);
      fprintf(f, "%s %s:%s", i ? "," : "", sch->fields[i].name, t);
    }
    fputc('\n', f);
  }
  fprintf(f, "parquet schema:\n");
  int at = 0;
  print_schema_tree(md, &at, 0, f);
  if (md->n_kv) {
    fprintf(f, "key/value metadata:\n");
    for (int i = 0; i < md->n_kv; i++) {
      const char *v = md->kv[i].value ? md->kv[i].value : "";
      size_t n = strlen(v);
      if (n > 60) fprintf(f, "  %s = %.60s… (%zu bytes)\n", md->kv[i].key, v, n);
      else fprintf(f, "  %s = %s\n", md->kv[i].key, v);
    }
  }
  int *leaves = pl_calloc((size_t)md->n_schema + 1, sizeof *leaves), nl = 0;
  collect_leaves(md, 0, leaves, &nl, 0);
  for (int g = 0; g < md->n_row_groups; g++) {
    const pl_pq_row_group *rg = &md->row_groups[g];
    char a[32], b[32];
    fprintf(f, "row group %d: %lld rows, %s uncompressed", g, (long long)rg->num_rows,
            pl_format_size((uint64_t)rg->total_byte_size, a, sizeof a));
    if (rg->has_total_compressed_size)
      fprintf(f, ", %s compressed", pl_format_size((uint64_t)rg->total_compressed_size, b, sizeof b));
    fputc('\n', f);
    int pw = 4, tw = 5; /* column widths: path, physical type */
    for (int c = 0; c < rg->n_columns; c++) {
      char path[256];
      if (!rg->columns[c].has_meta) continue;
      path_text(&rg->columns[c].meta, path, sizeof path);
      if ((int)strlen(path) > pw) pw = (int)strlen(path);
      if ((int)strlen(pl_pq_type_name(rg->columns[c].meta.type)) > tw) tw = (int)strlen(pl_pq_type_name(rg->columns[c].meta.type));
    }
    for (int c = 0; c < rg->n_columns; c++) {
      const pl_pq_column_chunk *cc = &rg->columns[c];
      if (!cc->has_meta) {
        fprintf(f, "  column %d: no metadata%s\n", c, cc->encrypted ? " (encrypted)" : "");
        continue;
      }
      const pl_pq_column_meta *m = &cc->meta;
      char path[256];
      path_text(m, path, sizeof path);
      fprintf(f, "  %-*s  %-*s  %-6s ", pw, path, tw, pl_pq_type_name(m->type), pl_codec_name((pl_codec)m->codec));
      print_encodings(m, f, false);
      fprintf(f, "  %s -> %s, %lld values",
              pl_format_size((uint64_t)m->total_uncompressed_size, a, sizeof a),
              pl_format_size((uint64_t)m->total_compressed_size, b, sizeof b), (long long)m->num_values);
      const pl_pq_statistics *s = &m->stats;
      if (s->set) {
        if (s->has_null_count) fprintf(f, ", nulls %lld", (long long)s->null_count);
        if (s->has_distinct_count) fprintf(f, ", distinct %lld", (long long)s->distinct_count);
        const pl_pq_bytes *mn = stat_min(s), *mx = stat_max(s);
        if (c < nl && (mn || mx)) {
          const pl_pq_schema_element *el = &md->schema[leaves[c]];
          if (mn) {
            fputs(", min ", f);
            print_stat_text(el, mn, f);
          }
          if (mx) {
            fputs(", max ", f);
            print_stat_text(el, mx, f);
          }
        }
      }
      fputc('\n', f);
    }
  }
  pl_free(leaves);
}

static void json_kv_string(FILE *f, const char *key, const char *v) {
  fprintf(f, "\"%s\": ", key);
  if (v) cli_json_string(f, v, strlen(v));
  else fputs("null", f);
}

static void inspect_json(pl_parquet_file *pf, uint64_t size, const char *refused, FILE *f) {
  const pl_pq_file_metadata *md = pl_parquet_metadata(pf);
  const pl_schema *sch = pl_parquet_schema(pf);
  fputs("{", f);
  json_kv_string(f, "file", pl_parquet_path(pf));
  fprintf(f, ", \"size\": %llu, \"version\": %d, ", (unsigned long long)size, md->version);
  json_kv_string(f, "created_by", md->created_by);
  fprintf(f, ", \"num_rows\": %lld, ", (long long)md->num_rows);
  json_kv_string(f, "reader_error", refused); /* null when the reader can read the file */
  fputs(",\n \"columns\": [", f);
  for (int i = 0; sch && i < sch->n_fields; i++) {
    char t[256];
    pl_type_canonical(&sch->fields[i].type, t, sizeof t);
    fprintf(f, "%s{", i ? ", " : "");
    json_kv_string(f, "name", sch->fields[i].name);
    fputs(", ", f);
    json_kv_string(f, "type", t);
    fprintf(f, ", \"nullable\": %s}", sch->fields[i].nullable ? "true" : "false");
  }
  fputs("],\n \"schema\": [", f);
  for (int i = 0; i < md->n_schema; i++) {
    const pl_pq_schema_element *el = &md->schema[i];
    char lt[64];
    logical_text(&el->logical, lt, sizeof lt);
    fprintf(f, "%s\n  {", i ? "," : "");
    json_kv_string(f, "name", el->name);
    fputs(", ", f);
    json_kv_string(f, "type", el->type >= 0 ? pl_pq_type_name(el->type) : NULL);
    if (el->type == PL_PQ_FIXED_LEN_BYTE_ARRAY) fprintf(f, ", \"type_length\": %d", el->type_length);
    fputs(", ", f);
    json_kv_string(f, "repetition", el->repetition >= 0 ? repetition_name(el->repetition) : NULL);
    fprintf(f, ", \"num_children\": %d, ", el->num_children);
    json_kv_string(f, "converted_type", el->converted_type >= 0 ? converted_name(el->converted_type) : NULL);
    fputs(", ", f);
    json_kv_string(f, "logical_type", lt[0] ? lt : NULL);
    fputs("}", f);
  }
  fputs("],\n \"key_value_metadata\": {", f);
  for (int i = 0; i < md->n_kv; i++) {
    if (i) fputs(", ", f);
    cli_json_string(f, md->kv[i].key, strlen(md->kv[i].key));
    fputs(": ", f);
    if (md->kv[i].value) cli_json_string(f, md->kv[i].value, strlen(md->kv[i].value));
    else fputs("null", f);
  }
  fputs("},\n \"row_groups\": [", f);
  int *leaves = pl_calloc((size_t)md->n_schema + 1, sizeof *leaves), nl = 0;
  collect_leaves(md, 0, leaves, &nl, 0);
  for (int g = 0; g < md->n_row_groups; g++) {
    const pl_pq_row_group *rg = &md->row_groups[g];
    fprintf(f, "%s\n  {\"num_rows\": %lld, \"total_byte_size\": %lld", g ? "," : "",
            (long long)rg->num_rows, (long long)rg->total_byte_size);
    if (rg->has_total_compressed_size)
      fprintf(f, ", \"total_compressed_size\": %lld", (long long)rg->total_compressed_size);
    fputs(", \"columns\": [", f);
    for (int c = 0; c < rg->n_columns; c++) {
      const pl_pq_column_chunk *cc = &rg->columns[c];
      fprintf(f, "%s\n   {", c ? "," : "");
      if (!cc->has_meta) {
        fprintf(f, "\"encrypted\": %s}", cc->encrypted ? "true" : "false");
        continue;
      }
      const pl_pq_column_meta *m = &cc->meta;
      char path[256];
      path_text(m, path, sizeof path);
      json_kv_string(f, "path", path);
      fprintf(f, ", \"type\": \"%s\", \"codec\": \"%s\", \"encodings\": [", pl_pq_type_name(m->type),
              pl_codec_name((pl_codec)m->codec));
      print_encodings(m, f, true);
      fprintf(f, "], \"num_values\": %lld, \"total_uncompressed_size\": %lld, "
                 "\"total_compressed_size\": %lld, \"data_page_offset\": %lld",
              (long long)m->num_values, (long long)m->total_uncompressed_size,
              (long long)m->total_compressed_size, (long long)m->data_page_offset);
      if (m->has_dictionary_page_offset)
        fprintf(f, ", \"dictionary_page_offset\": %lld", (long long)m->dictionary_page_offset);
      const pl_pq_statistics *s = &m->stats;
      if (s->set) {
        fputs(", \"statistics\": {", f);
        bool first = true;
        if (s->has_null_count) {
          fprintf(f, "\"null_count\": %lld", (long long)s->null_count);
          first = false;
        }
        if (s->has_distinct_count) {
          fprintf(f, "%s\"distinct_count\": %lld", first ? "" : ", ", (long long)s->distinct_count);
          first = false;
        }
        const pl_pq_bytes *mn = stat_min(s), *mx = stat_max(s);
        if (c < nl && mn) {
          fprintf(f, "%s\"min\": ", first ? "" : ", ");
          print_stat_json(&md->schema[leaves[c]], mn, f);
          first = false;
        }
        if (c < nl && mx) {
          fprintf(f, "%s\"max\": ", first ? "" : ", ");
          print_stat_json(&md->schema[leaves[c]], mx, f);
        }
        fputs("}", f);
      }
      fputs("}", f);
    }
    fputs("]}", f);
  }
  pl_free(leaves);
  fputs("]}\n", f);
}

/* ------------------------------------------------------------------ checksums */
typedef struct ck_task {
  pl_parquet_file *file;
  const pl_field *field;
  pl_budget *budget;
  char type[512];
  char hex[17];
  int64_t rows, nulls;
  pl_status st;
  pl_error err;
} ck_task;

/* One column, one reader: readers of the same file may run in parallel (pread). */
static void checksum_column(void *arg) {
  ck_task *t = arg;
  const char *names[1] = {t->field->name};
  pl_parquet_scan_options so;
  memset(&so, 0, sizeof so);
  so.n_columns = 1;
  so.columns = names;
  pl_checksum *ck = pl_checksum_new(&t->field->type);
  pl_parquet_reader *r = pl_parquet_reader_new(t->file, &so, t->budget, &t->err);
  t->st = r ? PL_OK : (t->err.code ? t->err.code : PL_EINTERNAL);
  while (!t->st) {
    pl_batch *b = NULL;
    t->st = pl_parquet_reader_next(r, &b, &t->err);
    if (t->st || !b) break;
    if (b->schema.n_fields != 1)
      t->st = pl_error_set(&t->err, PL_EINTERNAL, "reader returned %d columns for 1", b->schema.n_fields);
    else t->st = pl_checksum_add(ck, b->columns[0], &t->err);
    pl_batch_free(b);
  }
  pl_parquet_reader_free(r);
  t->rows = pl_checksum_rows(ck);
  t->nulls = pl_checksum_nulls(ck);
  pl_checksum_hex(ck, t->hex);
  pl_checksum_free(ck);
  pl_type_canonical(&t->field->type, t->type, sizeof t->type);
  /* the reader's messages usually name file and column already */
  if (t->st && !strstr(t->err.msg, t->field->name)) pl_error_prefix(&t->err, "column '%s'", t->field->name);
}

static int inspect_checksum(pl_parquet_file *pf, pl_budget *budget, int threads, bool json) {
  const pl_pq_file_metadata *md = pl_parquet_metadata(pf);
  const pl_schema *sch = pl_parquet_schema(pf);
  int n = sch->n_fields;
  ck_task *tasks = pl_calloc((size_t)n + 1, sizeof *tasks);
  double t0 = pl_now();
  int nthreads = threads < n ? threads : n;
  if (nthreads <= 1) {
    for (int i = 0; i < n; i++) {
      tasks[i] = (ck_task){.file = pf, .field = &sch->fields[i], .budget = budget};
      checksum_column(&tasks[i]);
    }
  } else {
    pl_pool *pool = pl_pool_new(nthreads);
    for (int i = 0; i < n; i++) {
      tasks[i] = (ck_task){.file = pf, .field = &sch->fields[i], .budget = budget};
      pl_pool_submit(pool, checksum_column, &tasks[i]);
    }
    pl_pool_free(pool);
  }
  double secs = pl_now() - t0;
  int rc = CLI_OK;
  int64_t rows = n ? tasks[0].rows : md->num_rows;
  for (int i = 0; i < n && rc == CLI_OK; i++) {
    pl_error e = tasks[i].err;
    if (tasks[i].st) {
      if (!strstr(e.msg, pl_parquet_path(pf))) pl_error_prefix(&e, "%s", pl_parquet_path(pf));
      rc = cli_fail("inspect", &e);
    } else if (tasks[i].rows != rows) {
      pl_error_set(&e, PL_ECORRUPT, "%s: column '%s' has %lld rows, column '%s' %lld",
                   pl_parquet_path(pf), sch->fields[i].name, (long long)tasks[i].rows,
                   sch->fields[0].name, (long long)rows);
      rc = cli_fail("inspect", &e);
    }
  }
  /* Some writers leave FileMetaData.num_rows at 0 (parquet-testing's repeated_no_annotation);
   * the decoded count is what the checksum covers, so say it and go on. */
  if (rc == CLI_OK && rows != md->num_rows)
    fprintf(stderr, "praline: inspect: warning: %s: decoded %lld rows, the footer says %lld\n",
            pl_parquet_path(pf), (long long)rows, (long long)md->num_rows);
  if (rc == CLI_OK) {
    const char **names = pl_calloc((size_t)n + 1, sizeof *names);
    const char **types = pl_calloc((size_t)n + 1, sizeof *types);
    const char **sums = pl_calloc((size_t)n + 1, sizeof *sums);
    for (int i = 0; i < n; i++) {
      names[i] = sch->fields[i].name;
      types[i] = tasks[i].type;
      sums[i] = tasks[i].hex;
    }
    char file_hex[17];
    pl_checksum_file(n, names, types, sums, file_hex);
    if (json) {
      fputs("{", stdout);
      json_kv_string(stdout, "file", pl_parquet_path(pf));
      printf(", \"rows\": %lld, \"checksum\": \"%s\", \"columns\": [", (long long)rows, file_hex);
      for (int i = 0; i < n; i++) {
        printf("%s{", i ? ", " : "");
        json_kv_string(stdout, "name", names[i]);
        fputs(", ", stdout);
        json_kv_string(stdout, "type", types[i]);
        printf(", \"checksum\": \"%s\", \"nulls\": %lld}", sums[i], (long long)tasks[i].nulls);
      }
      puts("]}");
    } else {
      printf("FILE %s\n  rows: %lld\n  schema: ", pl_parquet_path(pf), (long long)rows);
      int w = 0;
      for (int i = 0; i < n; i++) {
        printf("%s%s:%s", i ? ", " : "", names[i], types[i]);
        if ((int)strlen(names[i]) > w) w = (int)strlen(names[i]);
      }
      putchar('\n');
      for (int i = 0; i < n; i++)
        printf("    %-*s  %-14s nulls=%-8lld %s\n", w, names[i], types[i], (long long)tasks[i].nulls, sums[i]);
      char pk[32];
      printf("  checksum: %s\n  time: %.2fs, peak memory charged %s\n", file_hex, secs,
             pl_format_size(pl_budget_peak(budget), pk, sizeof pk));
    }
    pl_free(names);
    pl_free(types);
    pl_free(sums);
  }
  pl_free(tasks);
  return rc;
}

/* ------------------------------------------------------------------ command line */
static const char *const inspect_help =
    "usage: praline inspect FILE [--json]\n"
    "       praline inspect FILE --checksum [--json]\n"
    "\n"
    "Without --checksum: prints the footer of a Parquet file: schema, key/value metadata, row\n"
    "groups, and per column chunk its codec, encodings, sizes and statistics (min/max decoded\n"
    "by type). The footer is shown even for a file the reader refuses (a schema it cannot\n"
    "map, encrypted columns), with the reason; only an unreadable footer is an error.\n"
    "With --checksum: reads every column and prints the canonical checksums of pqcheck (per\n"
    "column and for the file); --json prints one object\n"
    "  {\"file\", \"rows\", \"checksum\", \"columns\": [{\"name\", \"type\", \"checksum\", \"nulls\"}]}.\n"
    "\n"
    "options:\n"
    "  --json                machine-readable output\n"
    "  --checksum            decode all values and print canonical checksums\n" CLI_RESOURCES_HELP;

int cli_inspect(int argc, char **argv) {
  const char *cmd = "inspect", *file = NULL;
  bool json = false, checksum = false;
  cli_resources res;
  cli_resources_default(&res);
  cli_parser ps = {cmd, argc, argv, 0, false};
  for (ps.i = 1; ps.i < argc; ps.i++) {
    const char *a = argv[ps.i];
    if (cli_is_help(a)) {
      fputs(inspect_help, stdout);
      return CLI_OK;
    }
    if (cli_flag(&ps, "--json")) json = true;
    else if (cli_flag(&ps, "--checksum")) checksum = true;
    else if (cli_resources_option(&ps, &res)) continue;
    else if (ps.error) return CLI_USAGE;
    else if (a[0] == '-' && a[1]) return cli_usage_error(cmd, "unknown option '%s' (try praline inspect --help)", a);
    else if (file) return cli_usage_error(cmd, "one FILE at a time (got '%s' and '%s')", file, a);
    else file = a;
  }
  if (!file) return cli_usage_error(cmd, "missing FILE (try praline inspect --help)");
  struct stat sb;
  pl_error err = {0};
  if (stat(file, &sb) != 0) {
    pl_error_set(&err, PL_ENOTFOUND, "%s: no such file", file);
    return cli_fail(cmd, &err);
  }
  if (S_ISDIR(sb.st_mode)) {
    pl_error_set(&err, PL_EINVAL, "%s: is a directory (inspect takes one file)", file);
    return cli_fail(cmd, &err);
  }
  pl_budget *budget = pl_budget_new((size_t)res.memory_limit);
  pl_parquet_file *pf = pl_parquet_open(file, NULL, budget, &err);
  pl_error refused = {0};
  if (!pf && !checksum) {
    /* The footer view needs only the Thrift footer: show it even when the reader refuses the
     * file (a schema it cannot map, encrypted columns), and say why it would refuse. */
    pl_parquet_open_options oo = {.footer_only = true};
    pl_error err2 = {0};
    pf = pl_parquet_open(file, &oo, budget, &err2);
    if (pf) refused = err;
  }
  if (!pf) {
    pl_budget_free(budget);
    if (!strstr(err.msg, file)) pl_error_prefix(&err, "%s", file);
    return cli_fail(cmd, &err);
  }
  int rc = CLI_OK;
  if (checksum) rc = inspect_checksum(pf, budget, res.threads, json);
  else if (json) inspect_json(pf, (uint64_t)sb.st_size, refused.code ? refused.msg : NULL, stdout);
  else inspect_text(pf, (uint64_t)sb.st_size, refused.code ? refused.msg : NULL, stdout);
  pl_parquet_close(pf);
  pl_budget_free(budget);
  if (fflush(stdout) != 0) return CLI_FAIL;
  return rc;
}

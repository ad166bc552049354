/* formats/writer.c — CSV and JSON Lines writers. Rows are rendered into a budget-charged
 * buffer that is written out at about 1 MiB; each file is written under a temporary name in
 * the same directory, fsynced and renamed on completion. With max_file_bytes the output is a
 * directory of part-00000.<ext> files, each cut before the row that would pass the limit. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/internal.h"

#define FLUSH_BYTES (1u << 20)

struct pl_formats_writer {
  pl_formats_options o;
  char *path;
  pl_schema schema;
  int fd;
  char *tmp, *final;
  pl_buf out, row;
  uint64_t file_bytes, total_bytes;
  int64_t file_rows;
  int part;
  char **done;
  int n_done;
  bool failed, closed, made_dir;
};

static atomic_uint tmp_counter;

/* ------------------------------------------------------------------ rendering */
#define PUT(buf, p, n) \
  do { if (pl_buf_append((buf), (p), (n), err)) return err ? err->code : PL_ENOMEM; } while (0)
#define PUTS(buf, s) PUT(buf, s, strlen(s))


static int64_t floordiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

static size_t fmt_date(char *buf, size_t cap, int64_t days) {
  int64_t y;
  unsigned m, d;
  pl_civil_from_days(days, &y, &m, &d);
  return (size_t)snprintf(buf, cap, "%04lld-%02u-%02u", (long long)y, m, d);
}

static size_t fmt_timestamp(char *buf, size_t cap, int64_t v, pl_time_unit unit, bool tz) {
  static const int64_t per_sec[] = {1, 1000, 1000000, 1000000000};
  static const int digits[] = {0, 3, 6, 9};
  int64_t ps = per_sec[unit & 3];
  int64_t secs = floordiv(v, ps), frac = v - secs * ps;
  int64_t days = floordiv(secs, 86400), sod = secs - days * 86400;
  size_t n = fmt_date(buf, cap, days);
  n += (size_t)snprintf(buf + n, cap - n, "T%02d:%02d:%02d", (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
  if (frac) n += (size_t)snprintf(buf + n, cap - n, ".%0*lld", digits[unit & 3], (long long)frac);
  if (tz) n += (size_t)snprintf(buf + n, cap - n, "Z");
  return n;
}

/* Scalar text (no quoting) for non-string types; returns false for nested types. */
static bool scalar_text(const pl_column *c, int64_t row, char *buf, size_t cap, size_t *n) {
  switch (c->type.id) {
  case PL_BOOL: *n = (size_t)snprintf(buf, cap, "%s", pl_bit_get(c->values.data, row) ? "true" : "false"); return true;
  case PL_INT8: case PL_INT16: case PL_INT32: case PL_INT64: case PL_UINT8: case PL_UINT16: case PL_UINT32:
    *n = (size_t)snprintf(buf, cap, "%lld", (long long)pl_column_int_at(c, row));
    return true;
  case PL_UINT64: *n = (size_t)snprintf(buf, cap, "%llu", (unsigned long long)((const uint64_t *)c->values.data)[row]); return true;
  case PL_FLOAT32: pl_format_js_double((double)((const float *)c->values.data)[row], buf); *n = strlen(buf); return true;
  case PL_FLOAT64: pl_format_js_double(((const double *)c->values.data)[row], buf); *n = strlen(buf); return true;
  case PL_DATE32: *n = fmt_date(buf, cap, pl_column_int_at(c, row)); return true;
  case PL_TIMESTAMP: *n = fmt_timestamp(buf, cap, pl_column_int_at(c, row), c->type.unit, c->type.tz != NULL); return true;
  case PL_LIST: case PL_STRUCT: case PL_MAP: case PL_STRING: return false;
  default: { /* binary as hex, decimal/float16/time canonical */
    size_t k = pl_canonical_value(c, row, buf, cap);
    *n = k < cap ? k : cap - 1;
    return true;
  }
  }
}

static void str_at(const pl_column *c, int64_t row, const uint8_t **p, size_t *n) {
  const int64_t *off = pl_column_offsets(c);
  *p = c->values.data + off[row];
  *n = (size_t)(off[row + 1] - off[row]);
}

static pl_status csv_value(pl_formats_writer *w, const pl_column *c, int64_t row, pl_error *err) {
  pl_buf *b = &w->row;
  if (!pl_column_is_valid(c, row)) return PL_OK;
  const uint8_t *p;
  size_t n;
  char tmp[128];
  if (c->type.id == PL_STRING || c->type.id == PL_BINARY) {
    if (c->type.id == PL_BINARY) {
      n = pl_canonical_value(c, row, NULL, 0);
      uint8_t *dst;
      if (pl_buf_append_zeros(b, n + 1, &dst, err)) return err ? err->code : PL_ENOMEM;
      pl_canonical_value(c, row, (char *)dst, n + 1);
      b->len--;
      return PL_OK;
    }
    str_at(c, row, &p, &n);
  } else {
    scalar_text(c, row, tmp, sizeof tmp, &n);
    p = (const uint8_t *)tmp;
  }
  /* a leading BOM is quoted, or the reader would skip it at the start of a file */
  bool quote = n == 0 || (n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0);
  for (size_t i = 0; i < n && !quote; i++)
    quote = p[i] == (uint8_t)w->o.delimiter || p[i] == '"' || p[i] == '\n' || p[i] == '\r';
  if (!quote) {
    PUT(b, p, n);
    return PL_OK;
  }
  PUT(b, "\"", 1);
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] != '"') continue;
    PUT(b, p + run, i + 1 - run); /* the quote itself, then doubled */
    PUT(b, "\"", 1);
    run = i + 1;
  }
  PUT(b, p + run, n - run);
  PUT(b, "\"", 1);
  return PL_OK;
}

static pl_status json_string(pl_buf *b, const uint8_t *p, size_t n, pl_error *err) {
  bool valid = pl__utf8_valid(p, n);
  PUT(b, "\"", 1);
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t ch = p[i];
    if (ch >= 0x20 && ch != '"' && ch != '\\' && (valid || ch < 0x80)) continue;
    PUT(b, p + run, i - run);
    run = i + 1;
    char esc[8];
    if (ch == '"') PUTS(b, "\\\"");
    else if (ch == '\\') PUTS(b, "\\\\");
    else if (ch == '\n') PUTS(b, "\\n");
    else if (ch == '\r') PUTS(b, "\\r");
    else if (ch == '\t') PUTS(b, "\\t");
    else if (ch >= 0x80) PUTS(b, "\\ufffd"); /* invalid UTF-8: each non-ASCII byte */
    else {
      snprintf(esc, sizeof esc, "\\u%04x", ch);
      PUTS(b, esc);
    }
  }
  PUT(b, p + run, n - run);
  PUT(b, "\"", 1);
  return PL_OK;
}

static pl_status json_value(pl_buf *b, const pl_column *c, int64_t row, pl_error *err) {
  if (!pl_column_is_valid(c, row)) {
    PUTS(b, "null");
    return PL_OK;
  }
  char tmp[128];
  size_t n;
  const uint8_t *p;
  switch (c->type.id) {
  case PL_STRING:
    str_at(c, row, &p, &n);
    return json_string(b, p, n, err);
  case PL_LIST: {
    const int64_t *off = pl_column_offsets(c);
    PUT(b, "[", 1);
    for (int64_t i = off[row]; i < off[row + 1]; i++) {
      if (i > off[row]) PUT(b, ",", 1);
      if (json_value(b, c->children[0], i, err)) return err ? err->code : PL_ENOMEM;
    }
    PUT(b, "]", 1);
    return PL_OK;
  }
  case PL_STRUCT:
    PUT(b, "{", 1);
    for (int i = 0; i < c->n_children; i++) {
      if (i) PUT(b, ",", 1);
      const char *name = c->type.children[i].name;
      if (json_string(b, (const uint8_t *)name, strlen(name), err)) return err ? err->code : PL_ENOMEM;
      PUT(b, ":", 1);
      if (json_value(b, c->children[i], row, err)) return err ? err->code : PL_ENOMEM;
    }
    PUT(b, "}", 1);
    return PL_OK;
  case PL_MAP: {
    const int64_t *off = pl_column_offsets(c);
    const pl_column *kv = c->children[0];
    PUT(b, "{", 1);
    for (int64_t i = off[row]; i < off[row + 1]; i++) {
      if (i > off[row]) PUT(b, ",", 1);
      const pl_column *k = kv->children[0];
      if (k->type.id == PL_STRING) {
        str_at(k, i, &p, &n);
      } else {
        if (!scalar_text(k, i, tmp, sizeof tmp, &n)) n = 0;
        p = (const uint8_t *)tmp;
      }
      if (json_string(b, p, n, err)) return err ? err->code : PL_ENOMEM;
      PUT(b, ":", 1);
      if (json_value(b, kv->children[1], i, err)) return err ? err->code : PL_ENOMEM;
    }
    PUT(b, "}", 1);
    return PL_OK;
  }
  case PL_FLOAT32: case PL_FLOAT64: {
    double d = c->type.id == PL_FLOAT32 ? (double)((const float *)c->values.data)[row]
                                        : ((const double *)c->values.data)[row];
    if (!isfinite(d)) PUTS(b, "null"); /* JSON has no NaN or infinities */
    else if (d == 0 && signbit(d)) PUTS(b, "-0.0"); /* "-0" would read back as the integer 0 */
    else {
      pl_format_js_double(d, tmp);
      PUTS(b, tmp);
    }
    return PL_OK;
  }
  case PL_BOOL: case PL_INT8: case PL_INT16: case PL_INT32: case PL_INT64: case PL_UINT8:
  case PL_UINT16: case PL_UINT32: case PL_UINT64: case PL_DECIMAL128:
    if (c->type.id == PL_DECIMAL128) n = pl_canonical_value(c, row, tmp, sizeof tmp);
    else scalar_text(c, row, tmp, sizeof tmp, &n);
    PUT(b, tmp, n < sizeof tmp ? n : sizeof tmp - 1);
    return PL_OK;
  case PL_BINARY: case PL_FIXED_BINARY: {
    n = pl_canonical_value(c, row, NULL, 0);
    char *hex = pl_malloc(n + 1);
    pl_canonical_value(c, row, hex, n + 1);
    pl_status s = json_string(b, (const uint8_t *)hex, n, err);
    pl_free(hex);
    return s;
  }
  default: /* date, timestamp, time, float16: as strings */
    scalar_text(c, row, tmp, sizeof tmp, &n);
    return json_string(b, (const uint8_t *)tmp, n, err);
  }
}

static pl_status render_row(pl_formats_writer *w, const pl_batch *batch, int64_t row, pl_error *err) {
  pl_buf_clear(&w->row);
  pl_buf *b = &w->row;
  char d = w->o.delimiter;
  if (w->o.format == PL_FORMAT_JSONL) PUT(b, "{", 1);
  for (int c = 0; c < w->schema.n_fields; c++) {
    pl_status s;
    if (w->o.format == PL_FORMAT_CSV) {
      if (c) PUT(b, &d, 1);
      s = csv_value(w, batch->columns[c], row, err);
    } else {
      if (c) PUT(b, ",", 1);
      const char *name = w->schema.fields[c].name;
      if ((s = json_string(b, (const uint8_t *)name, strlen(name), err))) return s;
      PUT(b, ":", 1);
      s = json_value(b, batch->columns[c], row, err);
    }
    if (s) return s;
  }
  PUTS(b, w->o.format == PL_FORMAT_JSONL ? "}\n" : "\n");
  return PL_OK;
}

/* ------------------------------------------------------------------ files */
static pl_status flush_out(pl_formats_writer *w, pl_error *err) {
  size_t done = 0;
  while (done < w->out.len) {
    ssize_t k = write(w->fd, w->out.data + done, w->out.len - done);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return pl_error_set(err, PL_EIO, "%s: write failed: %s", w->final, strerror(errno));
    done += (size_t)k;
  }
  w->out.len = 0;
  return PL_OK;
}

static pl_status open_file(pl_formats_writer *w, pl_error *err) {
  const char *ext = w->o.format == PL_FORMAT_CSV ? "csv" : "jsonl";
  pl_free(w->final);
  pl_free(w->tmp);
  w->final = w->o.max_file_bytes ? pl_sprintf("%s/part-%05d.%s", w->path, w->part, ext) : pl_strdup(w->path);
  const char *slash = strrchr(w->final, '/');
  unsigned k = atomic_fetch_add(&tmp_counter, 1);
  if (slash)
    w->tmp = pl_sprintf("%.*s/.%s.tmp-%ld-%u", (int)(slash - w->final), w->final, slash + 1, (long)getpid(), k);
  else
    w->tmp = pl_sprintf(".%s.tmp-%ld-%u", w->final, (long)getpid(), k);
  w->fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (w->fd < 0)
    return pl_error_set(err, PL_EIO, "%s: cannot create temporary file %s: %s", w->final, w->tmp, strerror(errno));
  w->file_bytes = 0;
  w->file_rows = 0;
  if (w->o.format == PL_FORMAT_CSV && w->o.header) {
    pl_buf_clear(&w->row);
    for (int c = 0; c < w->schema.n_fields; c++) {
      const char *name = w->schema.fields[c].name;
      if (c) PUT(&w->row, &w->o.delimiter, 1);
      bool q = !*name || strpbrk(name, "\"\r\n") || strchr(name, w->o.delimiter) ||
               strncmp(name, "\xEF\xBB\xBF", 3) == 0;
      if (!q) PUTS(&w->row, name);
      else {
        PUT(&w->row, "\"", 1);
        for (const char *s = name; *s; s++) {
          if (*s == '"') PUT(&w->row, "\"", 1);
          PUT(&w->row, s, 1);
        }
        PUT(&w->row, "\"", 1);
      }
    }
    PUT(&w->row, "\n", 1);
    PUT(&w->out, w->row.data, w->row.len);
    w->file_bytes += w->row.len;
  }
  return PL_OK;
}

static pl_status finish_file(pl_formats_writer *w, pl_error *err) {
  pl_status st = flush_out(w, err);
  if (!st && fsync(w->fd) != 0) st = pl_error_set(err, PL_EIO, "%s: fsync failed: %s", w->final, strerror(errno));
  if (close(w->fd) != 0 && !st) st = pl_error_set(err, PL_EIO, "%s: close failed: %s", w->final, strerror(errno));
  w->fd = -1;
  if (!st && rename(w->tmp, w->final) != 0)
    st = pl_error_set(err, PL_EIO, "%s: rename from %s failed: %s", w->final, w->tmp, strerror(errno));
  if (st) {
    unlink(w->tmp);
    return st;
  }
  w->done = pl_realloc(w->done, sizeof(char *) * (size_t)(w->n_done + 1));
  w->done[w->n_done++] = pl_strdup(w->final);
  w->total_bytes += w->file_bytes;
  w->part++;
  return PL_OK;
}

static bool writable_type(const pl_type *t, bool csv) {
  if (csv) return t->id != PL_LIST && t->id != PL_STRUCT && t->id != PL_MAP;
  return true;
}

pl_status pl_formats_writer_open(const char *path, const pl_schema *schema, const pl_formats_options *o,
                                 pl_formats_writer **out, pl_error *err) {
  pl_error local;
  if (!err) err = &local;
  *out = NULL;
  for (int i = 0; i < schema->n_fields; i++) {
    if (!writable_type(&schema->fields[i].type, o->format == PL_FORMAT_CSV)) {
      char tn[128];
      pl_type_canonical(&schema->fields[i].type, tn, sizeof tn);
      return pl_error_set(err, PL_EUNSUPPORTED, "%s: column '%s': CSV cannot hold %s values", path,
                          schema->fields[i].name, tn);
    }
  }
  if (o->format == PL_FORMAT_CSV && (o->delimiter == '"' || o->delimiter == '\n' || o->delimiter == '\r'))
    return pl_error_set(err, PL_EINVAL, "%s: the delimiter cannot be a quote or a newline", path);
  bool made_dir = false;
  if (o->max_file_bytes) {
    if (mkdir(path, 0755) == 0) made_dir = true;
    else if (errno != EEXIST)
      return pl_error_set(err, PL_EIO, "%s: cannot create directory: %s", path, strerror(errno));
  }
  pl_formats_writer *w = pl_calloc(1, sizeof *w);
  w->made_dir = made_dir;
  w->o = *o;
  w->o.schema = NULL;
  if (!w->o.delimiter) w->o.delimiter = ',';
  w->path = pl_strdup(path);
  w->fd = -1;
  pl_schema_copy(&w->schema, schema);
  pl_buf_init(&w->out, o->budget);
  pl_buf_init(&w->row, o->budget);
  pl_status st = open_file(w, err);
  if (st) {
    pl_formats_writer_free(w);
    return st;
  }
  *out = w;
  return PL_OK;
}

pl_status pl_formats_writer_write(pl_formats_writer *w, const pl_batch *batch, pl_error *err) {
  pl_error local;
  if (!err) err = &local;
  if (w->failed || w->closed) return pl_error_set(err, PL_EINVAL, "%s: writer is closed or failed", w->path);
  pl_status st = PL_OK;
  if (batch->schema.n_fields != w->schema.n_fields) {
    w->failed = true;
    return pl_error_set(err, PL_EINVAL, "%s: batch has %d columns, the writer %d", w->path,
                        batch->schema.n_fields, w->schema.n_fields);
  }
  for (int64_t row = 0; row < batch->length && !st; row++) {
    if ((st = render_row(w, batch, row, err))) break;
    uint64_t pending = w->file_bytes + w->row.len;
    if (w->o.max_file_bytes && w->file_rows > 0 && pending > w->o.max_file_bytes) {
      pl_buf keep;
      pl_buf_init(&keep, w->o.budget);
      pl_buf_move(&keep, &w->row); /* open_file uses row for the header */
      if (!(st = finish_file(w, err))) st = open_file(w, err);
      pl_buf_move(&w->row, &keep);
      if (st) break;
    }
    if ((st = pl_buf_append(&w->out, w->row.data, w->row.len, err))) break;
    w->file_bytes += w->row.len;
    w->file_rows++;
    if (w->out.len >= FLUSH_BYTES) st = flush_out(w, err);
  }
  if (st) w->failed = true;
  return st;
}

pl_status pl_formats_writer_close(pl_formats_writer *w, pl_error *err) {
  pl_error local;
  if (!err) err = &local;
  if (w->failed || w->closed) return pl_error_set(err, PL_EINVAL, "%s: writer is closed or failed", w->path);
  pl_status st = finish_file(w, err);
  if (st) {
    w->failed = true;
    return st;
  }
  w->closed = true;
  return PL_OK;
}

int pl_formats_writer_files(const pl_formats_writer *w) { return w->n_done; }
uint64_t pl_formats_writer_bytes(const pl_formats_writer *w) { return w->total_bytes; }

void pl_formats_writer_free(pl_formats_writer *w) {
  if (!w) return;
  if (w->fd >= 0) {
    close(w->fd);
    unlink(w->tmp);
  }
  for (int i = 0; i < w->n_done; i++) {
    if (!w->closed) unlink(w->done[i]); /* a failed write leaves nothing behind */
    pl_free(w->done[i]);
  }
  pl_free(w->done);
  if (!w->closed && w->made_dir) rmdir(w->path); /* only if we made it and it is empty */
  pl_buf_release(&w->out);
  pl_buf_release(&w->row);
  pl_schema_release(&w->schema);
  pl_free(w->tmp);
  pl_free(w->final);
  pl_free(w->path);
  pl_free(w);
}

/* formats/reader.c — the streaming reader for CSV and JSON Lines.
 *
 * Input is read in chunks of chunk_bytes into one budget-charged buffer. A record cut by the
 * end of the buffer is moved to the front (the carry-over) and the next chunk is appended, so
 * the buffer holds about one chunk plus one record. Each record is scanned into a scratch
 * buffer (fields unescaped), checked completely, and only then appended to the batch's columns,
 * so a bad row never leaves half a row behind. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/internal.h"

typedef struct {
  size_t off, len;
  bool quoted;
} span;

/* JSON inference node: a kind, plus children for lists (1) and structs (n). */
typedef struct inf_node inf_node;
struct inf_node {
  pl__inf_kind kind;
  bool tz, nullable;
  int64_t seen; /* non-null observations (objects, for structs) */
  int n;
  char **names;
  inf_node **kids;
  int *slots; /* open addressing over names (index + 1; 0 = empty), nslots a power of two */
  size_t nslots;
};

struct pl_formats_reader {
  pl_formats_options o;
  char *path;
  int fd;
  pl_schema schema;
  pl_buf in;
  size_t pos;
  bool eof, ended;
  int64_t line;     /* physical line of in.data[pos] */
  int64_t rec_line; /* line where the current record starts */
  pl_buf scratch;
  span *f;      /* = fbuf.data: the fields of the current record */
  pl_buf fbuf;  /* charged: a record of commas has as many spans as bytes */
  int nf;
  int n_cols;     /* CSV: fields per record */
  int *map;       /* CSV: per schema field, the record field index */
  pl__cell *cells;
  size_t batch_bytes;
  int64_t bad, rows;
  char *msgs[PL_FORMATS_MAX_MESSAGES];
  int n_msgs;
  char bad_msg[PL_ERROR_MSG_MAX];
};

enum { GOT = 1, NEED = 0, END = -1 };

pl_formats_options pl_formats_options_default(pl_format_kind format) {
  pl_formats_options o = {0};
  o.format = format;
  o.delimiter = ',';
  o.header = true;
  o.infer_rows = 1000;
  o.batch_rows = 65536;
  o.batch_bytes = 16u << 20;
  o.chunk_bytes = 1u << 20;
  o.on_error = PL_ON_ERROR_FAIL;
  return o;
}

/* ------------------------------------------------------------------ input */
/* Moves the unconsumed tail to the front and appends one chunk. A record that outgrows the
 * budget fails here, with the line where it starts. */
static pl_status fill(pl_formats_reader *r, pl_error *err) {
  if (r->pos) {
    memmove(r->in.data, r->in.data + r->pos, r->in.len - r->pos);
    r->in.len -= r->pos;
    r->pos = 0;
  }
  pl_error e2 = {0};
  if (pl_buf_reserve(&r->in, r->o.chunk_bytes, &e2) != PL_OK)
    return pl_error_set(err, e2.code, "%s: line %lld: record of more than %zu bytes does not fit in the memory budget (%s)",
                        r->path, (long long)r->rec_line, r->in.len, e2.msg);
  for (;;) {
    ssize_t n = read(r->fd, r->in.data + r->in.len, r->o.chunk_bytes);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return pl_error_set(err, PL_EIO, "%s: read failed: %s", r->path, strerror(errno));
    if (n == 0) r->eof = true;
    r->in.len += (size_t)n;
    return PL_OK;
  }
}

static pl_status push_field(pl_formats_reader *r, size_t off, bool quoted, pl_error *err) {
  if (r->nf == INT32_MAX)
    return pl_error_set(err, PL_ELIMIT, "%s: line %lld: more than %d fields", r->path, (long long)r->rec_line, INT32_MAX);
  span sp = {off, r->scratch.len - off, quoted};
  r->fbuf.len = (size_t)r->nf * sizeof sp;
  pl_status st = pl_buf_append(&r->fbuf, &sp, sizeof sp, err);
  r->f = (span *)r->fbuf.data;
  if (st == PL_OK) r->nf++;
  return st;
}

static int64_t count_lines(const uint8_t *p, size_t n, bool more_follows) {
  int64_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '\n') k++;
    else if (p[i] == '\r' && (i + 1 < n ? p[i + 1] != '\n' : !more_follows)) k++;
  }
  return k;
}

/* Scans one CSV record at pos into scratch/fields. GOT (consumed bytes in *used, newlines in
 * *nl), NEED (more input needed), END (nothing left), or -2 with err set. */
static int csv_scan(pl_formats_reader *r, size_t *used, int64_t *nl, pl_error *err) {
  const uint8_t *p = r->in.data + r->pos;
  size_t n = r->in.len - r->pos, i = 0;
  const uint8_t delim = (uint8_t)r->o.delimiter;
  pl_buf_clear(&r->scratch);
  r->nf = 0;
  if (n == 0) return r->eof ? END : NEED;
  for (;;) {
    size_t off = r->scratch.len;
    bool quoted = false;
    if (i < n && p[i] == '"') {
      quoted = true;
      i++;
      for (;;) {
        if (i >= n) {
          if (!r->eof) return NEED;
          pl_error_set(err, PL_ECORRUPT, "%s: line %lld: quoted field is not closed before the end of the file",
                       r->path, (long long)r->rec_line);
          return -2;
        }
        if (p[i] == '"') {
          if (i + 1 >= n && !r->eof) return NEED;
          if (i + 1 < n && p[i + 1] == '"') {
            if (pl_buf_append(&r->scratch, "\"", 1, err)) return -2;
            i += 2;
            continue;
          }
          i++;
          break;
        }
        const uint8_t *q = memchr(p + i, '"', n - i);
        size_t run = q ? (size_t)(q - (p + i)) : n - i;
        if (pl_buf_append(&r->scratch, p + i, run, err)) return -2;
        i += run;
      }
    }
    size_t j = i;
    while (j < n && p[j] != delim && p[j] != '\n' && p[j] != '\r') j++;
    if (j >= n && !r->eof) return NEED;
    if (j > i && pl_buf_append(&r->scratch, p + i, j - i, err)) return -2;
    i = j;
    if (push_field(r, off, quoted, err)) return -2;
    if (i >= n) break;
    if (p[i] == delim) {
      i++;
      continue;
    }
    if (p[i] == '\r') {
      if (i + 1 >= n && !r->eof) return NEED;
      i++;
      if (i < n && p[i] == '\n') i++;
    } else {
      i++;
    }
    break;
  }
  *used = i;
  *nl = count_lines(p, i, false);
  return GOT;
}

/* One JSON line into scratch as a single field. */
static int jsonl_scan(pl_formats_reader *r, size_t *used, int64_t *nl, pl_error *err) {
  const uint8_t *p = r->in.data + r->pos;
  size_t n = r->in.len - r->pos;
  pl_buf_clear(&r->scratch);
  r->nf = 0;
  if (n == 0) return r->eof ? END : NEED;
  const uint8_t *q = memchr(p, '\n', n);
  if (!q && !r->eof) return NEED;
  size_t len = q ? (size_t)(q - p) : n;
  *used = q ? len + 1 : len;
  *nl = q ? 1 : 0;
  if (len && p[len - 1] == '\r') len--;
  if (pl_buf_append(&r->scratch, p, len, err)) return -2;
  if (push_field(r, 0, false, err)) return -2;
  return GOT;
}

static bool blank_record(const pl_formats_reader *r) {
  if (r->o.format == PL_FORMAT_CSV) return r->nf == 1 && r->f[0].len == 0 && !r->f[0].quoted;
  for (size_t i = 0; i < r->scratch.len; i++)
    if (!strchr(" \t\r", r->scratch.data[i])) return false;
  return true;
}

/* Next non-blank record: GOT, END, or -2 (err set). */
static int next_record(pl_formats_reader *r, pl_error *err) {
  for (;;) {
    size_t used = 0;
    int64_t nl = 0;
    r->rec_line = r->line;
    int k = r->o.format == PL_FORMAT_CSV ? csv_scan(r, &used, &nl, err) : jsonl_scan(r, &used, &nl, err);
    if (k == -2) {
      if (err->code == PL_ELIMIT && strncmp(err->msg, r->path, strlen(r->path)) != 0)
        pl_error_prefix(err, "%s: line %lld: record does not fit in the memory budget", r->path,
                        (long long)r->rec_line);
      return -2;
    }
    if (k == END) return END;
    if (k == NEED) {
      if (fill(r, err)) return -2;
      continue;
    }
    r->pos += used;
    r->line += nl;
    if (!blank_record(r)) return GOT;
  }
}

/* Rewinds to the start, skips a BOM, and (CSV with header) reads the header names. */
static pl_status start(pl_formats_reader *r, pl_schema *header, bool rewind, pl_error *err) {
  if (rewind && lseek(r->fd, 0, SEEK_SET) != 0)
    return pl_error_set(err, PL_EUNSUPPORTED, "%s: cannot rewind (schema inference needs a regular file): %s",
                        r->path, strerror(errno));
  r->in.len = r->pos = 0;
  r->eof = false;
  r->line = r->rec_line = 1;
  while (r->in.len < 3 && !r->eof)
    if (fill(r, err)) return err ? err->code : PL_EIO;
  if (r->in.len >= 3 && memcmp(r->in.data, "\xEF\xBB\xBF", 3) == 0) r->pos = 3;
  if (r->o.format != PL_FORMAT_CSV) return PL_OK;
  if (!r->o.header) return PL_OK;
  int k = next_record(r, err);
  if (k == -2) return err ? err->code : PL_ECORRUPT;
  if (k == END) return pl_error_set(err, PL_ECORRUPT, "%s: no header line (the file is empty)", r->path);
  if (header) {
    pl_schema_init(header);
    for (int i = 0; i < r->nf; i++) {
      char *name = pl_strndup((const char *)r->scratch.data + r->f[i].off, r->f[i].len);
      pl_schema_add(header, pl_field_make(name, pl_type_make(PL_STRING), true));
      pl_free(name);
    }
  }
  return PL_OK;
}

/* ------------------------------------------------------------------ bad rows */
static pl_status bad_row(pl_formats_reader *r, pl_error *err) {
  if (r->o.on_error == PL_ON_ERROR_FAIL) return pl_error_set(err, PL_ECORRUPT, "%s", r->bad_msg);
  r->bad++;
  if (r->n_msgs < PL_FORMATS_MAX_MESSAGES) r->msgs[r->n_msgs++] = pl_strdup(r->bad_msg);
  return PL_OK;
}

#define BAD(r, ...) snprintf((r)->bad_msg, sizeof (r)->bad_msg, __VA_ARGS__)

/* Quotes at most 40 bytes of a value for a message. */
static const char *excerpt(const char *p, size_t n, char *buf, size_t cap) {
  size_t k = n > 40 ? 40 : n;
  snprintf(buf, cap, "'%.*s%s'", (int)k, p, n > 40 ? "..." : "");
  return buf;
}

/* ------------------------------------------------------------------ CSV rows */
static bool csv_row_ok(pl_formats_reader *r) {
  if (r->nf != r->n_cols) {
    BAD(r, "%s: line %lld: expected %d fields, found %d", r->path, (long long)r->rec_line, r->n_cols, r->nf);
    return false;
  }
  for (int c = 0; c < r->schema.n_fields; c++) {
    const pl_field *f = &r->schema.fields[c];
    const span *s = &r->f[r->map[c]];
    const char *p = (const char *)r->scratch.data + s->off;
    pl__cell *v = &r->cells[c];
    bool is_text = f->type.id == PL_STRING || f->type.id == PL_BINARY;
    bool null = (!s->quoted && s->len == 0) || (s->quoted && s->len == 0 && !is_text) ||
                (!s->quoted && r->o.null_string && strlen(r->o.null_string) == s->len &&
                 memcmp(r->o.null_string, p, s->len) == 0);
    if (null) {
      if (!f->nullable) {
        BAD(r, "%s: line %lld: column '%s': null in a non-nullable column", r->path,
            (long long)r->rec_line, f->name);
        return false;
      }
      v->null = true;
      continue;
    }
    if (!pl__convert_text(&f->type, p, s->len, v)) {
      char a[160], b[64];
      BAD(r, "%s: line %lld: column '%s': %s is not %s", r->path, (long long)r->rec_line, f->name,
          excerpt(p, s->len, b, sizeof b),
          f->type.id == PL_STRING ? "valid UTF-8" : pl__type_article(&f->type, a, sizeof a));
      return false;
    }
  }
  return true;
}

/* ------------------------------------------------------------------ JSON values */
static bool json_check(pl_formats_reader *r, const pl_type *t, bool nullable, json_t *v,
                       const char *name);

static bool json_fail(pl_formats_reader *r, const pl_type *t, json_t *v, const char *name) {
  char a[160], b[64];
  char *txt = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
  BAD(r, "%s: line %lld: column '%s': %s is not %s", r->path, (long long)r->rec_line, name,
      excerpt(txt ? txt : "?", txt ? strlen(txt) : 1, b, sizeof b), pl__type_article(t, a, sizeof a));
  free(txt);
  return false;
}

static bool json_check(pl_formats_reader *r, const pl_type *t, bool nullable, json_t *v,
                       const char *name) {
  static const int64_t imin[] = {INT8_MIN, INT16_MIN, INT32_MIN, INT64_MIN};
  static const int64_t imax[] = {INT8_MAX, INT16_MAX, INT32_MAX, INT64_MAX};
  static const int64_t umax[] = {UINT8_MAX, UINT16_MAX, UINT32_MAX, INT64_MAX};
  if (!v || json_is_null(v)) {
    if (nullable) return true;
    BAD(r, "%s: line %lld: column '%s': null in a non-nullable column", r->path, (long long)r->rec_line, name);
    return false;
  }
  pl__cell cell;
  switch (t->id) {
  case PL_BOOL: return json_is_boolean(v) || json_fail(r, t, v, name);
  case PL_INT8: case PL_INT16: case PL_INT32: case PL_INT64: {
    int k = t->id - PL_INT8;
    if (json_is_integer(v) && json_integer_value(v) >= imin[k] && json_integer_value(v) <= imax[k]) return true;
    return json_fail(r, t, v, name);
  }
  case PL_UINT8: case PL_UINT16: case PL_UINT32: case PL_UINT64: {
    int k = t->id - PL_UINT8;
    if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= umax[k]) return true;
    return json_fail(r, t, v, name);
  }
  case PL_FLOAT32: case PL_FLOAT64: return json_is_number(v) || json_fail(r, t, v, name);
  case PL_STRING: return true; /* non-strings are kept as their JSON text */
  case PL_BINARY: return json_is_string(v) || json_fail(r, t, v, name);
  case PL_DATE32: case PL_TIMESTAMP:
    if (json_is_string(v) && pl__convert_text(t, json_string_value(v), json_string_length(v), &cell)) return true;
    return json_fail(r, t, v, name);
  case PL_LIST: {
    if (!json_is_array(v)) return json_fail(r, t, v, name);
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
      if (!json_check(r, &t->children[0].type, t->children[0].nullable, x, name)) return false;
    }
    return true;
  }
  case PL_STRUCT: {
    if (!json_is_object(v)) return json_fail(r, t, v, name);
    for (int i = 0; i < t->n_children; i++) {
      const pl_field *f = &t->children[i];
      if (!json_check(r, &f->type, f->nullable, json_object_get(v, f->name), name)) return false;
    }
    return true;
  }
  case PL_MAP: {
    if (!json_is_object(v)) return json_fail(r, t, v, name);
    const pl_field *val = &t->children[0].type.children[1];
    const char *key;
    json_t *x;
    json_object_foreach(v, key, x) {
      if (!json_check(r, &val->type, val->nullable, x, name)) return false;
    }
    return t->children[0].type.children[0].type.id == PL_STRING || json_fail(r, t, v, name);
  }
  default: return json_fail(r, t, v, name);
  }
}

static pl_status json_append(pl_column *c, json_t *v, pl_error *err) {
  if (!v || json_is_null(v)) {
    if (c->type.id == PL_STRUCT) {
      for (int i = 0; i < c->n_children; i++)
        if (json_append(c->children[i], NULL, err)) return err ? err->code : PL_ENOMEM;
      return pl_column_end_struct(c, false, err);
    }
    return pl_column_append_null(c, err);
  }
  pl__cell cell;
  switch (c->type.id) {
  case PL_BOOL: return pl_column_append_bool(c, json_is_true(v), err);
  case PL_FLOAT32: case PL_FLOAT64: return pl_column_append_float(c, json_number_value(v), err);
  case PL_STRING: {
    if (json_is_string(v)) return pl_column_append_bytes(c, json_string_value(v), json_string_length(v), err);
    char *txt = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    if (!txt) return pl_error_set(err, PL_ENOMEM, "out of memory rendering JSON");
    pl_status s = pl_column_append_bytes(c, txt, strlen(txt), err);
    free(txt);
    return s;
  }
  case PL_BINARY: return pl_column_append_bytes(c, json_string_value(v), json_string_length(v), err);
  case PL_DATE32: case PL_TIMESTAMP:
    pl__convert_text(&c->type, json_string_value(v), json_string_length(v), &cell);
    return pl_column_append_int(c, cell.i, err);
  case PL_LIST: {
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
      if (json_append(c->children[0], x, err)) return err ? err->code : PL_ENOMEM;
    }
    return pl_column_end_list(c, err);
  }
  case PL_STRUCT:
    for (int i = 0; i < c->n_children; i++)
      if (json_append(c->children[i], json_object_get(v, c->type.children[i].name), err))
        return err ? err->code : PL_ENOMEM;
    return pl_column_end_struct(c, true, err);
  case PL_MAP: {
    pl_column *kv = c->children[0];
    const char *key;
    json_t *x;
    json_object_foreach(v, key, x) {
      if (pl_column_append_bytes(kv->children[0], key, strlen(key), err) ||
          json_append(kv->children[1], x, err) || pl_column_end_struct(kv, true, err))
        return err ? err->code : PL_ENOMEM;
    }
    return pl_column_end_list(c, err);
  }
  default: {
    uint64_t u = (uint64_t)json_integer_value(v);
    int64_t i;
    memcpy(&i, &u, 8);
    return pl_column_append_int(c, i, err);
  }
  }
}

/* Parses the current line. Returns the object (caller decrefs) or NULL with bad_msg set.
 * jansson's own allocations are estimated and reserved on the budget while they live. */
static json_t *json_parse_line(pl_formats_reader *r, size_t *reserved, pl_error *err, pl_status *st) {
  *st = PL_OK;
  size_t n = r->scratch.len, est;
  if (__builtin_mul_overflow(n, (size_t)32, &est) || __builtin_add_overflow(est, (size_t)1024, &est)) est = SIZE_MAX;
  *reserved = 0;
  if (r->o.budget) {
    pl_error e2 = {0};
    if (pl_budget_reserve(r->o.budget, est, &e2) != PL_OK) {
      *st = pl_error_set(err, PL_ELIMIT, "%s: line %lld: a JSON value of %zu bytes does not fit in the memory budget (%s)",
                         r->path, (long long)r->rec_line, n, e2.msg);
      return NULL;
    }
    *reserved = est;
  }
  json_error_t je;
  json_t *v = json_loadb((const char *)r->scratch.data, n, JSON_DECODE_ANY, &je);
  if (!v) {
    BAD(r, "%s: line %lld: invalid JSON at column %d: %s", r->path, (long long)r->rec_line, je.column, je.text);
  } else if (!json_is_object(v)) {
    BAD(r, "%s: line %lld: expected a JSON object", r->path, (long long)r->rec_line);
    json_decref(v);
    v = NULL;
  }
  if (!v && *reserved) {
    pl_budget_release(r->o.budget, *reserved);
    *reserved = 0;
  }
  return v;
}

/* ------------------------------------------------------------------ JSON inference */
static inf_node *node_new(void) { return pl_calloc(1, sizeof(inf_node)); }
static void node_free(inf_node *n) {
  if (!n) return;
  for (int i = 0; i < n->n; i++) {
    pl_free(n->names ? n->names[i] : NULL);
    node_free(n->kids[i]);
  }
  pl_free(n->names);
  pl_free(n->kids);
  pl_free(n->slots);
  pl_free(n);
}
/* The child called name (NULL: a list's item), created if absent. Hashed, so that an object
 * with many keys is not quadratic. */
static inf_node *node_child(inf_node *n, const char *name) {
  if (!name) name = "item";
  size_t mask = n->nslots - 1, h = n->nslots ? (size_t)pl_hash64(name, strlen(name), 0) & mask : 0;
  for (size_t i = h; n->nslots; i = (i + 1) & mask) {
    if (!n->slots[i]) break;
    if (strcmp(n->names[n->slots[i] - 1], name) == 0) return n->kids[n->slots[i] - 1];
  }
  n->names = pl_realloc(n->names, sizeof(char *) * (size_t)(n->n + 1));
  n->kids = pl_realloc(n->kids, sizeof(inf_node *) * (size_t)(n->n + 1));
  n->names[n->n] = pl_strdup(name);
  n->kids[n->n] = node_new();
  n->n++;
  if ((size_t)n->n * 2 > n->nslots) { /* rebuild at twice the size */
    pl_free(n->slots);
    n->nslots = n->nslots ? n->nslots * 2 : 16;
    while ((size_t)n->n * 2 > n->nslots) n->nslots *= 2;
    n->slots = pl_calloc(n->nslots, sizeof *n->slots);
    mask = n->nslots - 1;
    for (int k = 0; k < n->n; k++) {
      size_t i = (size_t)pl_hash64(n->names[k], strlen(n->names[k]), 0) & mask;
      while (n->slots[i]) i = (i + 1) & mask;
      n->slots[i] = k + 1;
    }
  } else {
    size_t i = h;
    while (n->slots[i]) i = (i + 1) & mask;
    n->slots[i] = n->n;
  }
  return n->kids[n->n - 1];
}
static void node_to_string(inf_node *n) {
  for (int i = 0; i < n->n; i++) {
    pl_free(n->names[i]);
    node_free(n->kids[i]);
  }
  n->n = 0;
  pl_free(n->slots);
  n->slots = NULL;
  n->nslots = 0;
  n->kind = PL__INF_STRING;
}
static void observe(inf_node *n, json_t *v) {
  if (!v || json_is_null(v)) {
    n->nullable = true;
    return;
  }
  pl__inf_kind k;
  bool tz = false;
  int32_t d;
  int64_t ts;
  if (json_is_boolean(v)) k = PL__INF_BOOL;
  else if (json_is_integer(v)) k = PL__INF_INT;
  else if (json_is_real(v)) k = PL__INF_FLOAT;
  else if (json_is_string(v)) {
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    k = pl__parse_date(s, len, &d) ? PL__INF_DATE
        : pl__parse_timestamp(s, len, PL_MICRO, &ts, &tz) ? PL__INF_TS : PL__INF_STRING;
  } else if (json_is_array(v)) k = PL__INF_LIST;
  else k = PL__INF_STRUCT;
  n->seen++;
  if (k == PL__INF_TS) n->tz |= tz;
  if (n->kind == PL__INF_NONE) n->kind = k;
  else if (n->kind != k) {
    bool nested = k >= PL__INF_LIST || n->kind >= PL__INF_LIST;
    if (nested) node_to_string(n);
    else n->kind = pl__infer_merge(n->kind, k);
  }
  if (n->kind == PL__INF_LIST && k == PL__INF_LIST) {
    inf_node *item = node_child(n, NULL);
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) observe(item, x);
  } else if (n->kind == PL__INF_STRUCT && k == PL__INF_STRUCT) {
    const char *key;
    json_t *x;
    json_object_foreach(v, key, x) observe(node_child(n, key), x);
    for (int i = 0; i < n->n; i++)
      if (!json_object_get(v, n->names[i])) n->kids[i]->nullable = true;
  }
}
static pl_field node_field(const char *name, const inf_node *n, int64_t parent_seen) {
  pl_type t;
  if (n->kind == PL__INF_LIST) {
    t = n->n ? pl_type_list(node_field("item", n->kids[0], -1))
             : pl_type_list(pl_field_make("item", pl_type_make(PL_STRING), true));
  } else if (n->kind == PL__INF_STRUCT) {
    pl_field *fs = pl_calloc((size_t)n->n + 1, sizeof *fs);
    for (int i = 0; i < n->n; i++) fs[i] = node_field(n->names[i], n->kids[i], n->seen);
    t = pl_type_struct(n->n, fs);
    pl_free(fs);
  } else {
    t = pl__infer_type(n->kind, n->tz);
  }
  bool nullable = n->nullable || n->kind == PL__INF_NONE || (parent_seen >= 0 && n->seen < parent_seen);
  return pl_field_make(name, t, nullable);
}

/* ------------------------------------------------------------------ open */
/* Types a JSON value can fill: the text types, and lists/structs/maps (string keys) of them. */
static bool json_type_ok(const pl_type *t) {
  if (t->id == PL_LIST || t->id == PL_STRUCT) {
    for (int i = 0; i < t->n_children; i++)
      if (!json_type_ok(&t->children[i].type)) return false;
    return true;
  }
  if (t->id == PL_MAP)
    return t->children[0].type.children[0].type.id == PL_STRING && json_type_ok(&t->children[0].type.children[1].type);
  return pl__text_type_ok(t);
}

static pl_status infer_csv(pl_formats_reader *r, const pl_schema *header, pl_error *err) {
  int n = header ? header->n_fields : -1;
  pl__inf_kind *k = NULL;
  bool *nul = NULL, *tz = NULL;
  pl_status st = PL_OK;
  for (int64_t row = 0; row < r->o.infer_rows; row++) {
    int got = next_record(r, err);
    if (got == -2) {
      st = err ? err->code : PL_ECORRUPT;
      goto done;
    }
    if (got == END) break;
    if (n < 0) n = r->nf;
    if (!k) {
      k = pl_calloc((size_t)n + 1, sizeof *k);
      nul = pl_calloc((size_t)n + 1, 1);
      tz = pl_calloc((size_t)n + 1, 1);
    }
    if (r->nf != n) continue; /* a bad row; reported while reading */
    for (int c = 0; c < n; c++) {
      const span *s = &r->f[c];
      const char *p = (const char *)r->scratch.data + s->off;
      if (s->len == 0 || (!s->quoted && r->o.null_string && strlen(r->o.null_string) == s->len &&
                          memcmp(p, r->o.null_string, s->len) == 0)) {
        nul[c] = true; /* "" reads as null in non-string columns, so it decides nothing */
        continue;
      }
      bool t = false; /* quotes do not change the type: many tools quote every field */
      pl__inf_kind kk = pl__infer_text(p, s->len, &t);
      if (kk == PL__INF_STRING && !pl__utf8_valid((const uint8_t *)p, s->len)) continue;
      k[c] = pl__infer_merge(k[c], kk);
      tz[c] |= t;
    }
  }
  if (n < 0) n = 0;
  pl_schema_init(&r->schema);
  for (int c = 0; c < n; c++) {
    char name[32];
    if (!header) snprintf(name, sizeof name, "c%d", c);
    pl_schema_add(&r->schema, pl_field_make(header ? header->fields[c].name : name,
                                            pl__infer_type(k ? k[c] : PL__INF_NONE, tz && tz[c]),
                                            !k || nul[c] || k[c] == PL__INF_NONE));
  }
done:
  pl_free(k);
  pl_free(nul);
  pl_free(tz);
  return st;
}

static pl_status infer_jsonl(pl_formats_reader *r, pl_error *err) {
  inf_node *root = node_new();
  root->kind = PL__INF_STRUCT;
  pl_status st = PL_OK;
  for (int64_t row = 0; row < r->o.infer_rows; row++) {
    int got = next_record(r, err);
    if (got == -2) {
      st = err ? err->code : PL_ECORRUPT;
      goto done;
    }
    if (got == END) break;
    size_t reserved;
    json_t *v = json_parse_line(r, &reserved, err, &st);
    if (st) goto done;
    if (!v) continue;
    observe(root, v);
    json_decref(v);
    if (reserved) pl_budget_release(r->o.budget, reserved);
  }
  pl_schema_init(&r->schema);
  for (int i = 0; i < root->n; i++) pl_schema_add(&r->schema, node_field(root->names[i], root->kids[i], root->seen));
done:
  node_free(root);
  return st;
}

pl_status pl_formats_reader_open(const char *path, const pl_formats_options *o,
                                 pl_formats_reader **out, pl_error *err) {
  pl_error local;
  if (!err) err = &local; /* internal steps read err->code back */
  *out = NULL;
  pl_formats_reader *r = pl_calloc(1, sizeof *r);
  r->o = *o;
  r->o.schema = NULL;
  if (!r->o.chunk_bytes) r->o.chunk_bytes = 1u << 20;
  if (r->o.batch_rows <= 0) r->o.batch_rows = 65536;
  if (r->o.infer_rows <= 0) r->o.infer_rows = 1000;
  if (!r->o.delimiter) r->o.delimiter = ',';
  r->batch_bytes = r->o.batch_bytes ? r->o.batch_bytes : (16u << 20);
  if (o->budget && pl_budget_limit(o->budget) != PL_UNLIMITED && r->batch_bytes > pl_budget_limit(o->budget) / 8)
    r->batch_bytes = pl_budget_limit(o->budget) / 8; /* column growth doubles; leave room */
  r->path = pl_strdup(path);
  pl_buf_init(&r->in, o->budget);
  pl_buf_init(&r->scratch, o->budget);
  pl_buf_init(&r->fbuf, o->budget);
  pl_schema header = {0};
  bool have_header = false;
  pl_status st = PL_OK;
  r->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (r->fd < 0) {
    st = pl_error_set(err, errno == ENOENT ? PL_ENOTFOUND : PL_EIO, "%s: cannot open: %s", path, strerror(errno));
    goto fail;
  }
  if (o->delimiter == '"' || o->delimiter == '\n' || o->delimiter == '\r') {
    st = pl_error_set(err, PL_EINVAL, "%s: the delimiter cannot be a quote or a newline", path);
    goto fail;
  }
  if ((st = start(r, &header, false, err))) goto fail;
  have_header = o->format == PL_FORMAT_CSV && o->header;
  if (o->schema) {
    pl_schema_copy(&r->schema, o->schema);
  } else {
    st = o->format == PL_FORMAT_CSV ? infer_csv(r, have_header ? &header : NULL, err) : infer_jsonl(r, err);
    if (st) goto fail;
    if ((st = start(r, NULL, true, err))) goto fail;
  }
  for (int i = 0; o->format == PL_FORMAT_JSONL && i < r->schema.n_fields; i++) {
    if (!json_type_ok(&r->schema.fields[i].type)) {
      char tn[128];
      pl_type_canonical(&r->schema.fields[i].type, tn, sizeof tn);
      st = pl_error_set(err, PL_EUNSUPPORTED, "%s: column '%s': JSON Lines cannot fill %s values", path,
                        r->schema.fields[i].name, tn);
      goto fail;
    }
  }
  r->cells = pl_calloc((size_t)r->schema.n_fields + 1, sizeof *r->cells);
  if (o->format == PL_FORMAT_CSV) {
    r->map = pl_calloc((size_t)r->schema.n_fields + 1, sizeof *r->map);
    r->n_cols = have_header ? header.n_fields : r->schema.n_fields;
    for (int i = 0; i < r->schema.n_fields; i++) {
      const pl_field *f = &r->schema.fields[i];
      if (!pl__text_type_ok(&f->type)) {
        char tn[128];
        pl_type_canonical(&f->type, tn, sizeof tn);
        st = pl_error_set(err, PL_EUNSUPPORTED, "%s: column '%s': CSV cannot hold %s values", path, f->name, tn);
        goto fail;
      }
      r->map[i] = have_header ? pl_schema_find(&header, f->name) : i;
      if (r->map[i] < 0) {
        st = pl_error_set(err, PL_ENOTFOUND, "%s: column '%s' of the schema is not in the header", path, f->name);
        goto fail;
      }
    }
  }
  if (have_header) pl_schema_release(&header);
  *out = r;
  return PL_OK;
fail:
  pl_schema_release(&header);
  pl_formats_reader_free(r);
  return st;
}

const pl_schema *pl_formats_reader_schema(const pl_formats_reader *r) { return &r->schema; }
int64_t pl_formats_reader_bad_rows(const pl_formats_reader *r) { return r->bad; }
int64_t pl_formats_reader_rows(const pl_formats_reader *r) { return r->rows; }
int pl_formats_reader_n_messages(const pl_formats_reader *r) { return r->n_msgs; }
const char *pl_formats_reader_message(const pl_formats_reader *r, int i) {
  return i >= 0 && i < r->n_msgs ? r->msgs[i] : NULL;
}

void pl_formats_reader_free(pl_formats_reader *r) {
  if (!r) return;
  if (r->fd >= 0) close(r->fd);
  pl_buf_release(&r->in);
  pl_buf_release(&r->scratch);
  pl_schema_release(&r->schema);
  for (int i = 0; i < r->n_msgs; i++) pl_free(r->msgs[i]);
  pl_buf_release(&r->fbuf);
  pl_free(r->map);
  pl_free(r->cells);
  pl_free(r->path);
  pl_free(r);
}

/* ------------------------------------------------------------------ batches */
static pl_status add_row(pl_formats_reader *r, pl_batch *b, pl_error *err) {
  if (r->o.format == PL_FORMAT_CSV) {
    if (!csv_row_ok(r)) return bad_row(r, err);
    for (int c = 0; c < r->schema.n_fields; c++)
      if (pl__append_cell(b->columns[c], &r->cells[c], err)) return err ? err->code : PL_ENOMEM;
    b->length++;
    return PL_OK;
  }
  size_t reserved;
  pl_status st;
  json_t *v = json_parse_line(r, &reserved, err, &st);
  if (st) return st;
  if (!v) return bad_row(r, err);
  bool ok = true;
  for (int c = 0; ok && c < r->schema.n_fields; c++) {
    const pl_field *f = &r->schema.fields[c];
    ok = json_check(r, &f->type, f->nullable, json_object_get(v, f->name), f->name);
  }
  if (!ok) st = bad_row(r, err);
  for (int c = 0; ok && !st && c < r->schema.n_fields; c++)
    st = json_append(b->columns[c], json_object_get(v, r->schema.fields[c].name), err);
  if (ok && !st) b->length++;
  json_decref(v);
  if (reserved) pl_budget_release(r->o.budget, reserved);
  return st;
}

pl_status pl_formats_reader_next(pl_formats_reader *r, pl_batch **out, pl_error *err) {
  pl_error local;
  if (!err) err = &local;
  *out = NULL;
  if (r->ended) return PL_OK;
  pl_batch *b = pl_batch_new(&r->schema, r->o.budget, err);
  if (!b) return err ? err->code : PL_ENOMEM;
  pl_status st = PL_OK;
  int64_t n = 0;
  while (n < r->o.batch_rows) {
    int got = next_record(r, err);
    if (got == -2) {
      st = err ? err->code : PL_ECORRUPT;
      break;
    }
    if (got == END) {
      r->ended = true;
      break;
    }
    if ((st = add_row(r, b, err))) break;
    n = b->length;
    if ((n & 63) == 0 && pl_batch_bytes(b) >= r->batch_bytes) break;
  }
  if (!st) st = pl_batch_finish(b, err);
  if (st || b->length == 0) {
    pl_batch_free(b);
    return st;
  }
  r->rows += b->length;
  *out = b;
  return PL_OK;
}

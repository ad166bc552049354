/* cat.c — `praline cat FILE_OR_DIR...`: rows of Parquet files through praline's reader, as an
 * aligned table, CSV, JSON Lines, or nothing at all (`--format null` decodes every value and
 * prints nothing: a reader benchmark that obeys --memory-limit). */
#include "cli/cli.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <string.h>

typedef enum { FMT_TABLE, FMT_CSV, FMT_JSONL, FMT_NULL } cat_format;

/* ------------------------------------------------------------------ value text */
static void put(pl_buf *o, const void *p, size_t n) {
  if (pl_buf_append(o, p, n, NULL) != PL_OK) { /* out of memory: output is best-effort */
  }
}
static void puts_buf(pl_buf *o, const char *s) { put(o, s, strlen(s)); }

static void json_string_buf(pl_buf *o, const uint8_t *p, size_t n) {
  static const char hexd[] = "0123456789abcdef";
  put(o, "\"", 1);
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    uint8_t b = p[i];
    if (b >= 0x20 && b != '"' && b != '\\') continue;
    put(o, p + run, i - run);
    run = i + 1;
    char e[7] = {'\\', 0};
    switch (b) {
    case '"': put(o, "\\\"", 2); break;
    case '\\': put(o, "\\\\", 2); break;
    case '\n': put(o, "\\n", 2); break;
    case '\r': put(o, "\\r", 2); break;
    case '\t': put(o, "\\t", 2); break;
    default:
      memcpy(e, "\\u00", 4);
      e[4] = hexd[b >> 4];
      e[5] = hexd[b & 15];
      put(o, e, 6);
    }
  }
  put(o, p + run, n - run);
  put(o, "\"", 1);
}

static void hex_buf(pl_buf *o, const uint8_t *p, size_t n) {
  static const char hexd[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    char h[2] = {hexd[p[i] >> 4], hexd[p[i] & 15]};
    put(o, h, 2);
  }
}

/* A value as JSON (json = true) or as plain text for table/CSV cells. Plain text differs only
 * at the top level: strings unquoted, binary as hex, temporal values unquoted; nested values
 * are JSON in both. */
static void value_text(pl_buf *o, const pl_column *c, int64_t row, bool json) {
  if (!pl_column_is_valid(c, row)) {
    puts_buf(o, json ? "null" : "");
    return;
  }
  char b[96];
  const uint8_t *v = c->values.data;
  switch (c->type.id) {
  case PL_STRING:
  case PL_BINARY: {
    const int64_t *off = pl_column_offsets(c);
    const uint8_t *p = v + off[row];
    size_t n = (size_t)(off[row + 1] - off[row]);
    if (c->type.id == PL_STRING) {
      if (json) json_string_buf(o, p, n);
      else put(o, p, n);
    } else {
      if (json) put(o, "\"", 1);
      hex_buf(o, p, n);
      if (json) put(o, "\"", 1);
    }
    return;
  }
  case PL_FIXED_BINARY:
    if (json) put(o, "\"", 1);
    hex_buf(o, v + (size_t)row * (size_t)c->type.width, (size_t)c->type.width);
    if (json) put(o, "\"", 1);
    return;
  case PL_DATE32:
    cli_date_text(((const int32_t *)v)[row], b, sizeof b);
    break;
  case PL_TIMESTAMP:
    cli_timestamp_text(((const int64_t *)v)[row], c->type.unit, c->type.tz != NULL, b, sizeof b);
    break;
  case PL_TIME:
    pl_canonical_value(c, row, b, sizeof b);
    break;
  case PL_FLOAT16: case PL_FLOAT32: case PL_FLOAT64:
    pl_canonical_value(c, row, b, sizeof b);
    if (json && (isalpha((unsigned char)b[b[0] == '-']))) { /* NaN, inf: not JSON numbers */
      puts_buf(o, "null");
      return;
    }
    puts_buf(o, b);
    return;
  case PL_LIST: {
    const int64_t *off = pl_column_offsets(c);
    put(o, "[", 1);
    for (int64_t j = off[row]; j < off[row + 1]; j++) {
      if (j > off[row]) put(o, ",", 1);
      value_text(o, c->children[0], j, true);
    }
    put(o, "]", 1);
    return;
  }
  case PL_STRUCT:
    put(o, "{", 1);
    for (int32_t k = 0; k < c->n_children; k++) {
      if (k) put(o, ",", 1);
      const char *name = c->type.children[k].name;
      json_string_buf(o, (const uint8_t *)name, strlen(name));
      put(o, ":", 1);
      value_text(o, c->children[k], row, true);
    }
    put(o, "}", 1);
    return;
  case PL_MAP: {
    const int64_t *off = pl_column_offsets(c);
    const pl_column *kv = c->children[0];
    bool str_keys = kv->children[0]->type.id == PL_STRING;
    put(o, str_keys ? "{" : "[", 1);
    for (int64_t j = off[row]; j < off[row + 1]; j++) {
      if (j > off[row]) put(o, ",", 1);
      if (!str_keys) put(o, "[", 1);
      value_text(o, kv->children[0], j, true);
      put(o, str_keys ? ":" : ",", 1);
      value_text(o, kv->children[1], j, true);
      if (!str_keys) put(o, "]", 1);
    }
    put(o, str_keys ? "}" : "]", 1);
    return;
  }
  default: /* bool, integers, decimal: canonical text is already plain and JSON */
    pl_canonical_value(c, row, b, sizeof b);
    puts_buf(o, b);
    return;
  }
  /* dates, timestamps and times are strings in JSON */
  if (json) json_string_buf(o, (const uint8_t *)b, strlen(b));
  else puts_buf(o, b);
}

/* ------------------------------------------------------------------ writers */
static void csv_cell(pl_buf *o, const uint8_t *p, size_t n) {
  bool quote = false;
  for (size_t i = 0; i < n && !quote; i++) quote = p[i] == ',' || p[i] == '"' || p[i] == '\n' || p[i] == '\r';
  if (!quote) {
    put(o, p, n);
    return;
  }
  put(o, "\"", 1);
  size_t run = 0;
  for (size_t i = 0; i < n; i++)
    if (p[i] == '"') {
      put(o, p + run, i + 1 - run);
      put(o, "\"", 1);
      run = i + 1;
    }
  put(o, p + run, n - run);
  put(o, "\"", 1);
}

/* Table cells: control characters shown as spaces, long values cut at `max` bytes (on a UTF-8
 * boundary) with an ellipsis. Returns the display width (code points). */
static size_t table_cell(pl_buf *o, const uint8_t *p, size_t n, size_t max) {
  size_t cut = n;
  if (n > max) {
    cut = max;
    while (cut > 0 && (p[cut] & 0xC0) == 0x80) cut--;
  }
  size_t width = 0;
  for (size_t i = 0; i < cut; i++) {
    uint8_t b = p[i] < 0x20 ? ' ' : p[i];
    put(o, &b, 1);
    if ((b & 0xC0) != 0x80) width++;
  }
  if (cut < n) {
    puts_buf(o, "…");
    width++;
  }
  return width;
}

typedef struct cat_state {
  cat_format fmt;
  int64_t limit, printed;
  size_t max_width;
  size_t batch_bytes; /* reader batch size cap (0 = the reader's default) */
  char **header; /* names of the last header printed */
  int n_header;
  pl_buf line, cell;
} cat_state;

static bool same_header(const cat_state *s, const pl_schema *sch) {
  if (s->n_header != sch->n_fields) return false;
  for (int i = 0; i < sch->n_fields; i++)
    if (strcmp(s->header[i], sch->fields[i].name)) return false;
  return true;
}

static void remember_header(cat_state *s, const pl_schema *sch) {
  for (int i = 0; i < s->n_header; i++) pl_free(s->header[i]);
  pl_free(s->header);
  s->n_header = sch->n_fields;
  s->header = pl_calloc((size_t)sch->n_fields + 1, sizeof *s->header);
  for (int i = 0; i < sch->n_fields; i++) s->header[i] = pl_strdup(sch->fields[i].name);
}

/* Table output: per chunk of up to 64 rows, column widths fit the chunk's cells. */
static void print_table(cat_state *s, const pl_batch *b, int64_t start, int64_t n, bool header) {
  int nc = b->schema.n_fields;
  size_t *w = pl_calloc((size_t)nc + 1, sizeof *w);
  enum { CHUNK = 64 };
  size_t cells_cap = (size_t)nc * CHUNK;
  char **cells = pl_calloc(cells_cap, sizeof *cells);
  size_t *cw = pl_calloc(cells_cap, sizeof *cw);
  for (int64_t r0 = start; r0 < start + n; r0 += CHUNK) {
    int64_t m = start + n - r0 < CHUNK ? start + n - r0 : CHUNK;
    for (int c = 0; c < nc; c++) {
      w[c] = strlen(b->schema.fields[c].name);
      for (int64_t r = 0; r < m; r++) {
        pl_buf_clear(&s->cell);
        value_text(&s->cell, b->columns[c], r0 + r, false);
        if (!pl_column_is_valid(b->columns[c], r0 + r)) puts_buf(&s->cell, "NULL");
        pl_buf_clear(&s->line);
        size_t width = table_cell(&s->line, s->cell.data, s->cell.len, s->max_width);
        size_t k = (size_t)c * CHUNK + (size_t)r;
        cells[k] = pl_strndup((const char *)s->line.data, s->line.len);
        cw[k] = width;
        if (width > w[c]) w[c] = width;
      }
    }
    if (header) {
      for (int c = 0; c < nc; c++)
        printf("%s%-*s", c ? " | " : "", (int)w[c], b->schema.fields[c].name);
      putchar('\n');
      for (int c = 0; c < nc; c++) {
        printf("%s", c ? "-+-" : "");
        for (size_t k = 0; k < w[c]; k++) putchar('-');
      }
      putchar('\n');
      header = false;
    }
    for (int64_t r = 0; r < m; r++) {
      for (int c = 0; c < nc; c++) {
        size_t k = (size_t)c * CHUNK + (size_t)r;
        printf("%s%s", c ? " | " : "", cells[k]);
        if (c + 1 < nc)
          for (size_t q = cw[k]; q < w[c]; q++) putchar(' ');
        pl_free(cells[k]);
      }
      putchar('\n');
    }
  }
  pl_free(cells);
  pl_free(cw);
  pl_free(w);
}

static void print_rows(cat_state *s, const pl_batch *b, int64_t n) {
  int nc = b->schema.n_fields;
  bool header = !same_header(s, &b->schema);
  if (header) remember_header(s, &b->schema);
  if (s->fmt == FMT_TABLE) {
    print_table(s, b, 0, n, header);
    return;
  }
  pl_buf *o = &s->line;
  if (s->fmt == FMT_CSV && header) {
    pl_buf_clear(o);
    for (int c = 0; c < nc; c++) {
      if (c) put(o, ",", 1);
      csv_cell(o, (const uint8_t *)b->schema.fields[c].name, strlen(b->schema.fields[c].name));
    }
    put(o, "\n", 1);
    fwrite(o->data, 1, o->len, stdout);
  }
  for (int64_t r = 0; r < n; r++) {
    pl_buf_clear(o);
    if (s->fmt == FMT_JSONL) put(o, "{", 1);
    for (int c = 0; c < nc; c++) {
      if (s->fmt == FMT_JSONL) {
        if (c) put(o, ",", 1);
        const char *name = b->schema.fields[c].name;
        json_string_buf(o, (const uint8_t *)name, strlen(name));
        put(o, ":", 1);
        value_text(o, b->columns[c], r, true);
      } else {
        if (c) put(o, ",", 1);
        pl_buf_clear(&s->cell);
        value_text(&s->cell, b->columns[c], r, false);
        csv_cell(o, s->cell.data, s->cell.len);
      }
    }
    put(o, s->fmt == FMT_JSONL ? "}\n" : "\n", s->fmt == FMT_JSONL ? 2 : 1);
    fwrite(o->data, 1, o->len, stdout);
  }
}

/* ------------------------------------------------------------------ command line */
static const char *const cat_help =
    "usage: praline cat FILE_OR_DIR... [options]\n"
    "\n"
    "Prints the rows of Parquet files (directories are searched for *.parquet, in name order)\n"
    "using praline's reader.\n"
    "\n"
    "options:\n"
    "  --columns a,b,...     read only these top-level columns, in this order\n"
    "  --limit N             stop after N rows in total\n"
    "  --format F            table (default), csv, jsonl, or null (decode everything, print\n"
    "                        nothing: a reader benchmark)\n"
    "  --stats               print rows, time and peak memory on stderr at the end\n"
    "  --max-width N         table: cut cells at N bytes (default 40)\n" CLI_RESOURCES_HELP
    "                        (--format null without --limit decodes row groups in parallel;\n"
    "                        other formats print files one after another)\n";

static char **split_columns(const char *s, int *n) {
  int cap = 1;
  for (const char *p = s; *p; p++) cap += *p == ',';
  char **v = pl_calloc((size_t)cap + 1, sizeof *v);
  *n = 0;
  const char *p = s;
  for (;;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len) v[(*n)++] = pl_strndup(p, len);
    if (!e) break;
    p = e + 1;
  }
  return v;
}

/* Streams one file through the reader into st's format. Errors name the file. */
static pl_status cat_file(const char *path, cat_state *st, pl_budget *budget, char **cols, int ncols,
                          int64_t *rows_read, pl_error *err) {
  pl_parquet_file *pf = pl_parquet_open(path, NULL, budget, err);
  if (!pf) {
    if (!strstr(err->msg, path)) pl_error_prefix(err, "%s", path);
    return err->code ? err->code : PL_EIO;
  }
  const pl_schema *sch = pl_parquet_schema(pf);
  for (int i = 0; i < ncols; i++)
    if (pl_schema_find(sch, cols[i]) < 0) {
      pl_parquet_close(pf);
      return pl_error_set(err, PL_ENOTFOUND, "%s: no column '%s'", path, cols[i]);
    }
  pl_parquet_scan_options so;
  memset(&so, 0, sizeof so);
  so.n_columns = ncols;
  so.columns = ncols ? (const char *const *)cols : NULL;
  so.batch_bytes = st->batch_bytes;
  if (st->limit >= 0 && st->limit - st->printed < 65536) so.batch_rows = st->limit - st->printed + 1;
  pl_parquet_reader *r = pl_parquet_reader_new(pf, &so, budget, err);
  pl_status s = r ? PL_OK : (err->code ? err->code : PL_EINTERNAL);
  while (!s && (st->limit < 0 || st->printed < st->limit)) {
    pl_batch *b = NULL;
    s = pl_parquet_reader_next(r, &b, err);
    if (s || !b) break;
    int64_t n = b->length;
    if (st->limit >= 0 && n > st->limit - st->printed) n = st->limit - st->printed;
    *rows_read += n;
    if (st->fmt != FMT_NULL) print_rows(st, b, n);
    st->printed += n;
    pl_batch_free(b);
  }
  pl_parquet_reader_free(r);
  pl_parquet_close(pf);
  if (s && !strstr(err->msg, path)) pl_error_prefix(err, "%s", path);
  return s;
}

/* --format null without --limit: row groups are independent, so decode them in parallel, all
 * charged to the one budget. Workers share a cursor: each takes a row group of a file already
 * open, or else opens the next file (so footers are read in parallel too, and only about as
 * many files are open as there are workers). A file closes when its last row group is done.
 * On an error the others stop; the error of the first failing file (in name order) is shown. */
typedef struct null_file {
  const char *path;
  pl_parquet_file *pf;
  int nrg, next_rg, active; /* row groups: in the file, handed out, being read */
  bool done; /* opened (or failed), and nothing more to read */
  int64_t rows;
  pl_status st;
  pl_error err;
} null_file;

typedef struct null_run {
  pthread_mutex_t mu;
  null_file *files;
  int n, next_file, lo; /* lo: files before it are finished */
  bool stop;
  size_t batch_bytes;
  pl_budget *budget;
  char **cols;
  int ncols;
} null_run;

static pl_status null_row_group(null_run *nr, null_file *f, int g, int64_t *rows, pl_error *err) {
  pl_parquet_scan_options so;
  memset(&so, 0, sizeof so);
  so.n_columns = nr->ncols;
  so.columns = nr->ncols ? (const char *const *)nr->cols : NULL;
  so.batch_bytes = nr->batch_bytes;
  so.n_row_groups = 1;
  so.row_groups = &g;
  pl_parquet_reader *r = pl_parquet_reader_new(f->pf, &so, nr->budget, err);
  pl_status s = r ? PL_OK : (err->code ? err->code : PL_EINTERNAL);
  while (!s) {
    pl_batch *b = NULL;
    s = pl_parquet_reader_next(r, &b, err);
    if (s || !b) break;
    *rows += b->length;
    pl_batch_free(b);
  }
  pl_parquet_reader_free(r);
  if (s && !strstr(err->msg, f->path)) pl_error_prefix(err, "%s", f->path);
  return s;
}

/* called locked: records a result and closes the file once nothing more will read it */
static void null_finish(null_run *nr, null_file *f, int64_t rows, pl_status s, const pl_error *err) {
  f->rows += rows;
  if (s && !f->st) {
    f->st = s;
    f->err = *err;
    nr->stop = true;
  }
  if (f->active == 0 && (f->next_rg >= f->nrg || nr->stop)) {
    pl_parquet_close(f->pf);
    f->pf = NULL;
    f->done = true;
  }
}

static void null_worker(void *arg) {
  null_run *nr = arg;
  pthread_mutex_lock(&nr->mu);
  while (!nr->stop) {
    null_file *f = NULL;
    while (nr->lo < nr->next_file && nr->files[nr->lo].done) nr->lo++; /* not: being opened */
    for (int i = nr->lo; i < nr->next_file && !f; i++)
      if (nr->files[i].pf && nr->files[i].next_rg < nr->files[i].nrg) f = &nr->files[i];
    pl_error e = {0};
    int64_t rows = 0;
    pl_status s;
    if (f) {
      int g = f->next_rg++;
      f->active++;
      pthread_mutex_unlock(&nr->mu);
      s = null_row_group(nr, f, g, &rows, &e);
      pthread_mutex_lock(&nr->mu);
      f->active--;
      null_finish(nr, f, rows, s, &e);
    } else if (nr->next_file < nr->n) {
      f = &nr->files[nr->next_file++];
      pthread_mutex_unlock(&nr->mu);
      pl_parquet_file *pf = pl_parquet_open(f->path, NULL, nr->budget, &e);
      s = pf ? PL_OK : (e.code ? e.code : PL_EIO);
      if (!pf && !strstr(e.msg, f->path)) pl_error_prefix(&e, "%s", f->path);
      for (int i = 0; pf && i < nr->ncols; i++)
        if (pl_schema_find(pl_parquet_schema(pf), nr->cols[i]) < 0)
          s = pl_error_set(&e, PL_ENOTFOUND, "%s: no column '%s'", f->path, nr->cols[i]);
      pthread_mutex_lock(&nr->mu);
      f->pf = pf;
      f->nrg = pf ? pl_parquet_metadata(pf)->n_row_groups : 0;
      null_finish(nr, f, 0, s, &e);
    } else {
      break;
    }
  }
  pthread_mutex_unlock(&nr->mu);
}

static pl_status cat_null_parallel(const cli_paths *files, int threads, size_t batch_bytes, pl_budget *budget,
                                   char **cols, int ncols, int64_t *rows, pl_error *err) {
  null_run nr = {.n = files->n, .batch_bytes = batch_bytes, .budget = budget, .cols = cols, .ncols = ncols};
  pthread_mutex_init(&nr.mu, NULL);
  nr.files = pl_calloc((size_t)files->n + 1, sizeof *nr.files);
  for (int i = 0; i < files->n; i++) nr.files[i].path = files->v[i];
  pl_pool *pool = pl_pool_new(threads);
  for (int i = 0; i < threads; i++) pl_pool_submit(pool, null_worker, &nr);
  pl_pool_free(pool);
  pl_status st = PL_OK;
  for (int i = 0; i < files->n; i++) {
    *rows += nr.files[i].rows;
    if (nr.files[i].st && !st) {
      st = nr.files[i].st;
      *err = nr.files[i].err;
    }
    pl_parquet_close(nr.files[i].pf); /* left open only when an error stopped the run */
  }
  pl_free(nr.files);
  pthread_mutex_destroy(&nr.mu);
  return st;
}

int cli_cat(int argc, char **argv) {
  const char *cmd = "cat", *columns = NULL, *v;
  cat_state st = {.fmt = FMT_TABLE, .limit = -1, .max_width = 40};
  bool stats = false;
  cli_resources res;
  cli_resources_default(&res);
  cli_parser ps = {cmd, argc, argv, 0, false};
  const char **targets = pl_calloc((size_t)argc + 1, sizeof *targets);
  int nt = 0, rc = CLI_OK;
  for (ps.i = 1; ps.i < argc && rc == CLI_OK; ps.i++) {
    const char *a = argv[ps.i];
    int64_t x;
    if (cli_is_help(a)) {
      fputs(cat_help, stdout);
      pl_free(targets);
      return CLI_OK;
    }
    if (cli_opt(&ps, "--columns", &v)) columns = v;
    else if (cli_opt(&ps, "--limit", &v)) {
      if (!cli_parse_i64(cmd, "--limit", v, 0, INT64_MAX, &st.limit)) rc = CLI_USAGE;
    } else if (cli_opt(&ps, "--max-width", &v)) {
      if (!cli_parse_i64(cmd, "--max-width", v, 1, 1 << 20, &x)) rc = CLI_USAGE;
      else st.max_width = (size_t)x;
    } else if (cli_opt(&ps, "--format", &v)) {
      if (!strcmp(v, "table")) st.fmt = FMT_TABLE;
      else if (!strcmp(v, "csv")) st.fmt = FMT_CSV;
      else if (!strcmp(v, "jsonl") || !strcmp(v, "json")) st.fmt = FMT_JSONL;
      else if (!strcmp(v, "null")) st.fmt = FMT_NULL;
      else rc = cli_usage_error(cmd, "--format: '%s' is not a format (table, csv, jsonl, null)", v);
    } else if (cli_flag(&ps, "--stats")) stats = true;
    else if (cli_resources_option(&ps, &res)) continue;
    else if (ps.error) rc = CLI_USAGE;
    else if (a[0] == '-' && a[1]) rc = cli_usage_error(cmd, "unknown option '%s' (try praline cat --help)", a);
    else targets[nt++] = a;
  }
  if (rc == CLI_OK && nt == 0) rc = cli_usage_error(cmd, "missing FILE_OR_DIR (try praline cat --help)");
  int ncols = 0;
  char **cols = NULL;
  if (rc == CLI_OK && columns) {
    cols = split_columns(columns, &ncols);
    if (ncols == 0) rc = cli_usage_error(cmd, "--columns: '%s' names no column", columns);
  }
  cli_paths files = {0};
  pl_error err = {0};
  for (int i = 0; i < nt && rc == CLI_OK; i++)
    if (cli_list_parquet(targets[i], &files, &err) != PL_OK) rc = cli_fail(cmd, &err);
  pl_budget *budget = pl_budget_new((size_t)res.memory_limit);
  st.line = PL_BUF_INIT(NULL);
  st.cell = PL_BUF_INIT(NULL);
  double t0 = pl_now();
  int64_t rows = 0;
  static char obuf[1 << 16];
  setvbuf(stdout, obuf, _IOFBF, sizeof obuf);
  /* Every thread holds a batch and its pages at once: size batches so that all of them fit
   * the budget with room to spare (an eighth of the limit per thread, at most 64 MiB). The
   * spare room matters for peak RSS: each thread's malloc arena keeps what that thread freed,
   * so RSS runs ~1.5x the charged peak at 16 threads (10M laion rows, 256MB: charged 129 MiB,
   * RSS 191 MiB; with a quarter per thread it was 154 MiB and 234 MiB). */
  int workers = st.fmt == FMT_NULL && st.limit < 0 && res.threads > 1 ? res.threads : 1;
  size_t per = (size_t)res.memory_limit / 8 / (size_t)workers;
  st.batch_bytes = per < ((size_t)64 << 20) ? (per > 0 ? per : 1) : ((size_t)64 << 20);
  if (rc == CLI_OK && workers > 1) {
    if (cat_null_parallel(&files, res.threads, st.batch_bytes, budget, cols, ncols, &rows, &err))
      rc = cli_fail(cmd, &err);
  } else {
    for (int i = 0; i < files.n && rc == CLI_OK && (st.limit < 0 || st.printed < st.limit); i++)
      if (cat_file(files.v[i], &st, budget, cols, ncols, &rows, &err)) rc = cli_fail(cmd, &err);
  }
  if (fflush(stdout) != 0 && rc == CLI_OK) rc = CLI_FAIL;
  if (stats && rc == CLI_OK) {
    double secs = pl_now() - t0;
    char pk[32], rss[32], lim[32];
    fprintf(stderr, "praline cat: %lld rows from %d file%s in %.3fs (%.0f rows/s); memory charged peak %s of %s limit; peak RSS %s\n",
            (long long)rows, files.n, files.n == 1 ? "" : "s", secs, secs > 0 ? (double)rows / secs : 0.0,
            pl_format_size(pl_budget_peak(budget), pk, sizeof pk),
            pl_format_size(res.memory_limit, lim, sizeof lim), pl_format_size(pl_peak_rss(), rss, sizeof rss));
  }
  pl_buf_release(&st.line);
  pl_buf_release(&st.cell);
  for (int i = 0; i < st.n_header; i++) pl_free(st.header[i]);
  pl_free(st.header);
  for (int i = 0; i < ncols; i++) pl_free(cols[i]);
  pl_free(cols);
  cli_paths_free(&files);
  pl_budget_free(budget);
  pl_free(targets);
  return rc;
}

/* util.c — small pieces the engine shares: batch views (borrowed columns), row selection,
 * directories, leftover temporary files, and the append-only journal. */
#include "engine/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ views */
pl_batch *pl__view_new(void) {
  pl_batch *v = pl_calloc(1, sizeof *v);
  pl_schema_init(&v->schema);
  return v;
}

void pl__view_add(pl_batch *v, const pl_field *f, pl_column *c) {
  pl_field cp;
  pl_field_copy(&cp, f);
  pl_schema_add(&v->schema, cp);
  v->columns = pl_realloc(v->columns, sizeof(pl_column *) * (size_t)v->schema.n_fields);
  v->columns[v->schema.n_fields - 1] = c;
  v->length = c->length;
}

void pl__view_free(pl_batch *v) {
  if (!v) return;
  pl_schema_release(&v->schema);
  pl_free(v->columns);
  pl_free(v);
}

pl_status pl__column_take(const pl_column *c, const int64_t *rows, int64_t n, pl_budget *b,
                          pl_column **out, pl_error *err) {
  pl_column *nc = pl_column_new(&c->type, b, err);
  if (!nc) return err ? err->code : PL_ENOMEM;
  /* exact sizes up front: appends would grow capacity by doubling, charged to the budget */
  size_t data = 0;
  if (c->type.id == PL_STRING || c->type.id == PL_BINARY) {
    const int64_t *o = pl_column_offsets(c);
    for (int64_t i = 0; i < n; i++) data += (size_t)(o[rows[i] + 1] - o[rows[i]]);
  }
  pl_status st = c->n_children ? PL_OK : pl_column_reserve(nc, n, data, err);
  if (!st) st = pl_column_append_rows(nc, c, rows, n, err);
  if (st) {
    pl_column_free(nc);
    return st;
  }
  *out = nc;
  return PL_OK;
}

bool pl__column_compact(pl_column *c, const int64_t *rows, int64_t n) {
  const pl_type *t = &c->type;
  const bool bytes = t->id == PL_STRING || t->id == PL_BINARY;
  if (c->n_children || c->values.foreign || c->validity.foreign || c->offsets.foreign) return false;
  if (!bytes && !pl_type_is_fixed(t) && t->id != PL_BOOL) return false;
  for (int64_t k = 0; k < n; k++)
    if (rows[k] < k || rows[k] >= c->length || (k && rows[k] <= rows[k - 1])) return false;
  /* each write goes to index k <= rows[k], never past what is still to be read */
  if (c->validity.len) {
    int64_t nulls = 0;
    for (int64_t k = 0; k < n; k++) {
      bool v = pl_bit_get(c->validity.data, rows[k]);
      pl_bit_set(c->validity.data, k, v);
      nulls += !v;
    }
    c->null_count = nulls;
    c->validity.len = (size_t)(n + 7) / 8;
  }
  uint8_t *v = c->values.data;
  if (t->id == PL_BOOL) {
    for (int64_t k = 0; k < n; k++) pl_bit_set(v, k, pl_bit_get(v, rows[k]));
    c->values.len = (size_t)(n + 7) / 8;
  } else if (!bytes) {
    const size_t w = (size_t)pl_type_byte_width(t);
    for (int64_t k = 0; k < n;) { /* runs of consecutive rows move at once */
      int64_t j = k + 1;
      while (j < n && rows[j] == rows[j - 1] + 1) j++;
      if (rows[k] != k) memmove(v + (size_t)k * w, v + (size_t)rows[k] * w, (size_t)(j - k) * w);
      k = j;
    }
    c->values.len = (size_t)n * w;
  } else {
    int64_t *o = (int64_t *)(void *)c->offsets.data;
    int64_t at = o[0];
    for (int64_t k = 0; k < n;) {
      int64_t j = k + 1;
      while (j < n && rows[j] == rows[j - 1] + 1) j++;
      const int64_t lo = o[rows[k]], hi = o[rows[j - 1] + 1];
      /* o[q + 1] is written after o[rows[q] + 1] (>= q + 1) is read; the run's ends are read first */
      for (int64_t q = k; q < j; q++) o[q + 1] = at + (o[rows[q] + 1] - lo);
      if (hi > lo && at != lo) memmove(v + at, v + lo, (size_t)(hi - lo));
      at += hi - lo;
      k = j;
    }
    c->offsets.len = (size_t)(n + 1) * sizeof(int64_t);
    c->values.len = (size_t)at;
  }
  c->length = n;
  return true;
}

uint64_t pl__column_max_value(const pl_column *c) {
  uint64_t m = 0;
  if (c->type.id == PL_STRING || c->type.id == PL_BINARY) {
    const int64_t *o = pl_column_offsets(c);
    for (int64_t i = 0; o && i < c->length; i++)
      if ((uint64_t)(o[i + 1] - o[i]) > m) m = (uint64_t)(o[i + 1] - o[i]);
  }
  for (int32_t k = 0; k < c->n_children; k++) {
    uint64_t x = pl__column_max_value(c->children[k]);
    if (x > m) m = x;
  }
  return m;
}

/* ------------------------------------------------------------------ files */
pl_status pl__mkdirs(const char *path, pl_error *err) {
  char buf[4096];
  size_t n = strlen(path);
  if (n >= sizeof buf) return pl_error_set(err, PL_EINVAL, "path too long: %s", path);
  memcpy(buf, path, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != 0) continue;
    char c = buf[i];
    buf[i] = 0;
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
      return pl_error_set(err, PL_EIO, "%s: cannot create directory: %s", buf, strerror(errno));
    buf[i] = c;
  }
  return PL_OK;
}

void pl__remove_temps(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  char path[4096];
  while ((de = readdir(d))) {
    if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    struct stat st;
    if (lstat(path, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) pl__remove_temps(path);
    else if (de->d_name[0] == '.' && strstr(de->d_name, ".tmp")) unlink(path);
  }
  closedir(d);
}

/* ------------------------------------------------------------------ journal */
/* The journal is text, one line per completed partition: "done P rows_in rows_out bytes".
 * A line without its newline is a write cut by a crash and is ignored. */
pl_status pl__journal_open(pl__journal *j, const char *dir, int64_t n_parts, bool resume,
                           pl_error *err) {
  memset(j, 0, sizeof *j);
  j->fd = -1;
  size_t cap = strlen(dir) + 16;
  j->path = pl_malloc(cap);
  snprintf(j->path, cap, "%s/_journal", dir);
  j->n_parts = n_parts;
  size_t np = (size_t)(n_parts ? n_parts : 1);
  j->done = pl_calloc(np, 1);
  j->rows_in = pl_calloc(np, sizeof(int64_t));
  j->rows_out = pl_calloc(np, sizeof(int64_t));
  j->bytes = pl_calloc(np, sizeof(uint64_t));
  if (pl__mkdirs(dir, err)) return err ? err->code : PL_EIO;
  if (resume) {
    FILE *f = fopen(j->path, "r");
    if (f) {
      char line[256];
      while (fgets(line, sizeof line, f)) {
        size_t l = strlen(line);
        if (l == 0 || line[l - 1] != '\n') break;
        long long p, ri, ro;
        unsigned long long by;
        if (sscanf(line, "done %lld %lld %lld %llu", &p, &ri, &ro, &by) != 4) continue;
        if (p < 0 || p >= n_parts) continue;
        j->done[p] = 1;
        j->rows_in[p] = ri;
        j->rows_out[p] = ro;
        j->bytes[p] = by;
      }
      fclose(f);
    }
  }
  /* A torn last line (no newline) would glue onto the next record: cut it off. */
  j->fd = open(j->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (j->fd < 0) return pl_error_set(err, PL_EIO, "%s: %s", j->path, strerror(errno));
  if (!resume) {
    if (ftruncate(j->fd, 0) != 0)
      return pl_error_set(err, PL_EIO, "%s: truncate: %s", j->path, strerror(errno));
  } else {
    struct stat st;
    if (fstat(j->fd, &st) == 0 && st.st_size > 0) {
      char c = 0;
      int rfd = open(j->path, O_RDONLY | O_CLOEXEC);
      off_t keep = st.st_size;
      if (rfd >= 0) {
        /* walk back to the last newline */
        while (keep > 0 && pread(rfd, &c, 1, keep - 1) == 1 && c != '\n') keep--;
        close(rfd);
      }
      if (keep != st.st_size && ftruncate(j->fd, keep) != 0)
        return pl_error_set(err, PL_EIO, "%s: truncate: %s", j->path, strerror(errno));
    }
  }
  return PL_OK;
}

pl_status pl__journal_append(pl__journal *j, int64_t p, int64_t rows_in, int64_t rows_out,
                             uint64_t bytes, pl_error *err) {
  char line[160];
  int n = snprintf(line, sizeof line, "done %lld %lld %lld %llu\n", (long long)p,
                   (long long)rows_in, (long long)rows_out, (unsigned long long)bytes);
  if (write(j->fd, line, (size_t)n) != n || fsync(j->fd) != 0)
    return pl_error_set(err, PL_EIO, "%s: append: %s", j->path, strerror(errno));
  return PL_OK;
}

void pl__journal_close(pl__journal *j) {
  if (j->fd >= 0) close(j->fd);
  j->fd = -1;
  pl_free(j->path);
  pl_free(j->done);
  pl_free(j->rows_in);
  pl_free(j->rows_out);
  pl_free(j->bytes);
  memset(j, 0, sizeof *j);
  j->fd = -1;
}

/* dedup.c — the global stage for exact dedup. Stage 0 hash-partitions every row's key into
 * bucket files on disk (record: hash, id, partition, key). finish() then takes one bucket at
 * a time into memory (charged to the process budget), sorts it by (hash, key, id) and keeps
 * the first row of each key: the one with the smallest id. A bucket too big for the budget
 * is split again on further bits of the hash, on disk, before it is read. Kept ids are
 * appended to one small file per partition, which stage 1 reads back. Memory stays bounded
 * whatever the number of distinct keys; disk holds the keys once (spill_limit caps it). */
#include "engine/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FANOUT 16

typedef struct bucket {
  pthread_mutex_t mu;
  FILE *f;
  char *path;
} bucket;

struct pl__dedup {
  char *dir;
  uint64_t spill_limit;
  int n;
  bucket *b;
  _Atomic uint64_t spilled, resplits;
  int64_t leaf_seq;
};

/* Removes <dir>/kept/part.* (and the directory when `dir_too`). */
static void remove_kept_dir(const pl__dedup *d, bool dir_too) {
  char path[4200];
  snprintf(path, sizeof path, "%s/kept", d->dir);
  DIR *dh = opendir(path);
  if (!dh) return;
  struct dirent *de;
  while ((de = readdir(dh))) {
    if (strncmp(de->d_name, "part.", 5) != 0) continue;
    snprintf(path, sizeof path, "%s/kept/%s", d->dir, de->d_name);
    unlink(path);
  }
  closedir(dh);
  if (dir_too) {
    snprintf(path, sizeof path, "%s/kept", d->dir);
    rmdir(path);
    rmdir(d->dir); /* only if empty: it may be the user's */
  }
}
static void remove_kept(const pl__dedup *d) { remove_kept_dir(d, false); }

pl__dedup *pl__dedup_new(const char *spill_dir, uint64_t spill_limit, int n_buckets,
                         pl_error *err) {
  if (pl__mkdirs(spill_dir, err)) return NULL;
  pl__dedup *d = pl_calloc(1, sizeof *d);
  d->dir = pl_strdup(spill_dir);
  d->spill_limit = spill_limit;
  d->n = n_buckets;
  d->b = pl_calloc((size_t)n_buckets, sizeof(bucket));
  char path[4096];
  snprintf(path, sizeof path, "%s/kept", spill_dir);
  if (pl__mkdirs(path, err)) goto fail;
  for (int i = 0; i < n_buckets; i++) {
    pthread_mutex_init(&d->b[i].mu, NULL);
    snprintf(path, sizeof path, "%s/bucket.%03d", spill_dir, i);
    d->b[i].path = pl_strdup(path);
    d->b[i].f = fopen(path, "w");
    if (!d->b[i].f) {
      pl_error_set(err, PL_EIO, "%s: %s", path, strerror(errno));
      goto fail;
    }
  }
  /* the kept files of an earlier (killed) run would be appended to */
  remove_kept(d);
  return d;
fail:
  pl__dedup_free(d);
  return NULL;
}

void pl__dedup_free(pl__dedup *d) {
  if (!d) return;
  for (int i = 0; i < d->n; i++) {
    if (d->b[i].f) fclose(d->b[i].f);
    if (d->b[i].path) unlink(d->b[i].path);
    pl_free(d->b[i].path);
    pthread_mutex_destroy(&d->b[i].mu);
  }
  pl_free(d->b);
  remove_kept_dir(d, true);
  pl_free(d->dir);
  pl_free(d);
}

uint64_t pl__dedup_spilled(const pl__dedup *d) { return d->spilled; }
uint64_t pl__dedup_resplits(const pl__dedup *d) { return d->resplits; }

/* key bytes of row i: per key a validity byte, then (u32 length + bytes) or fixed bytes */
static pl_status key_bytes(const pl_column *c, int64_t i, pl_buf *out, pl_error *err) {
  uint8_t valid = pl_column_is_valid(c, i);
  pl_status st = pl_buf_append(out, &valid, 1, err);
  if (st || !valid) return st;
  if (c->type.id == PL_STRING || c->type.id == PL_BINARY) {
    const int64_t *o = pl_column_offsets(c);
    uint32_t n = (uint32_t)(o[i + 1] - o[i]);
    st = pl_buf_append(out, &n, 4, err);
    if (!st) st = pl_buf_append(out, c->values.data + o[i], n, err);
    return st;
  }
  if (c->type.id == PL_BOOL) {
    uint8_t v = pl_bit_get(c->values.data, i);
    return pl_buf_append(out, &v, 1, err);
  }
  if (pl_type_is_fixed(&c->type)) {
    int32_t w = pl_type_byte_width(&c->type);
    return pl_buf_append(out, c->values.data + (size_t)i * (size_t)w, (size_t)w, err);
  }
  return pl_error_set(err, PL_EUNSUPPORTED, "dedup: keys of nested types are not supported");
}

pl_status pl__dedup_spill(pl__dedup *d, const pl_batch *b, int n_keys, const int *key_cols,
                          int id_col, int64_t p, int64_t row0, pl_error *err) {
  (void)row0;
  pl_budget *bud = b->columns[id_col]->budget;
  pl_buf *bufs = pl_calloc((size_t)d->n, sizeof(pl_buf));
  for (int i = 0; i < d->n; i++) pl_buf_init(&bufs[i], bud);
  pl_buf key = PL_BUF_INIT(bud);
  const int64_t *ids = (const int64_t *)b->columns[id_col]->values.data;
  pl_status st = PL_OK;
  uint64_t total = 0;
  for (int64_t r = 0; !st && r < b->length; r++) {
    pl_buf_clear(&key);
    for (int k = 0; !st && k < n_keys; k++) st = key_bytes(b->columns[key_cols[k]], r, &key, err);
    if (st) break;
    uint64_t h = pl_hash64(key.data, key.len, 0x9E3779B97F4A7C15ull);
    pl_buf *o = &bufs[h % (uint64_t)d->n];
    uint32_t kl = (uint32_t)key.len;
    int64_t id = ids[r];
    st = pl_buf_append(o, &h, 8, err);
    if (!st) st = pl_buf_append(o, &id, 8, err);
    if (!st) st = pl_buf_append(o, &p, 8, err);
    if (!st) st = pl_buf_append(o, &kl, 4, err);
    if (!st) st = pl_buf_append(o, key.data, key.len, err);
  }
  for (int i = 0; !st && i < d->n; i++) {
    if (!bufs[i].len) continue;
    pthread_mutex_lock(&d->b[i].mu);
    if (fwrite(bufs[i].data, 1, bufs[i].len, d->b[i].f) != bufs[i].len)
      st = pl_error_set(err, PL_EIO, "%s: write: %s", d->b[i].path, strerror(errno));
    pthread_mutex_unlock(&d->b[i].mu);
    total += bufs[i].len;
  }
  for (int i = 0; i < d->n; i++) pl_buf_release(&bufs[i]);
  pl_free(bufs);
  pl_buf_release(&key);
  if (!st) {
    uint64_t now = atomic_fetch_add(&d->spilled, total) + total;
    if (d->spill_limit && now > d->spill_limit) {
      char a[32];
      st = pl_error_set(err, PL_ELIMIT, "dedup: spill files exceed spill_limit %s in %s",
                        pl_format_size(d->spill_limit, a, sizeof a), d->dir);
    }
  }
  return st;
}

/* ------------------------------------------------------------------ finish */
typedef struct rec {
  uint64_t h;
  int64_t id, p;
  uint32_t kl;
  const uint8_t *key;
} rec;

static int cmp_rec(const void *a, const void *b) {
  const rec *x = a, *y = b;
  if (x->h != y->h) return x->h < y->h ? -1 : 1;
  if (x->kl != y->kl) return x->kl < y->kl ? -1 : 1;
  int c = memcmp(x->key, y->key, x->kl);
  if (c) return c;
  return x->id < y->id ? -1 : x->id > y->id;
}

static int cmp_kept(const void *a, const void *b) {
  const rec *x = a, *y = b;
  if (x->p != y->p) return x->p < y->p ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

#define HDR 28

static uint64_t fsize(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static pl_status append_kept(pl__dedup *d, const rec *k, size_t n, pl_error *err) {
  char path[4200];
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && k[j].p == k[i].p) j++;
    snprintf(path, sizeof path, "%s/kept/part.%05lld", d->dir, (long long)k[i].p);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0) return pl_error_set(err, PL_EIO, "%s: %s", path, strerror(errno));
    /* gathered into chunks: one write() per id was ~10 % of a W2 run in system time */
    int64_t chunk[4096];
    for (size_t x = i; x < j;) {
      size_t m = 0;
      while (x < j && m < sizeof chunk / sizeof chunk[0]) chunk[m++] = k[x++].id;
      const uint8_t *at = (const uint8_t *)chunk;
      size_t left = m * sizeof chunk[0];
      while (left > 0) {
        ssize_t w = write(fd, at, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
          int e = errno;
          close(fd);
          return pl_error_set(err, PL_EIO, "%s: write: %s", path, w < 0 ? strerror(e) : "no progress");
        }
        at += w;
        left -= (size_t)w;
      }
    }
    close(fd);
    i = j;
  }
  return PL_OK;
}

/* Deduplicates one bucket file (then removes it). level = how many splits it went through. */
static pl_status do_bucket(pl__dedup *d, const char *path, int level, pl_budget *g,
                           size_t max_bytes, pl_error *err) {
  uint64_t size = fsize(path);
  if (size == 0) {
    unlink(path);
    return PL_OK;
  }
  /* the file, plus one rec per record (at least HDR bytes each) */
  uint64_t need = size + size / HDR * sizeof(rec) + 4096;
  if (need > max_bytes / 2 && level < 8) {
    /* split on the next 4 bits of the hash, streaming */
    d->resplits++;
    FILE *in = fopen(path, "r");
    if (!in) return pl_error_set(err, PL_EIO, "%s: %s", path, strerror(errno));
    FILE *out[FANOUT];
    char sub[FANOUT][4200];
    pl_status st = PL_OK;
    int opened = 0;
    for (int i = 0; i < FANOUT; i++, opened++) {
      snprintf(sub[i], sizeof sub[i], "%s.%x", path, i);
      out[i] = fopen(sub[i], "w");
      if (!out[i]) {
        st = pl_error_set(err, PL_EIO, "%s: %s", sub[i], strerror(errno));
        break;
      }
    }
    uint8_t hdr[HDR];
    uint8_t *kb = NULL;
    size_t kcap = 0;
    while (!st && fread(hdr, 1, HDR, in) == HDR) {
      uint64_t h;
      uint32_t kl;
      memcpy(&h, hdr, 8);
      memcpy(&kl, hdr + 24, 4);
      if (kl > kcap) {
        kb = pl_realloc(kb, kl);
        kcap = kl;
      }
      if (kl && fread(kb, 1, kl, in) != kl) {
        st = pl_error_set(err, PL_ECORRUPT, "%s: truncated spill record", path);
        break;
      }
      int w = (int)((h >> (8 + 4 * level)) & (FANOUT - 1));
      if (fwrite(hdr, 1, HDR, out[w]) != HDR || (kl && fwrite(kb, 1, kl, out[w]) != kl))
        st = pl_error_set(err, PL_EIO, "%s: write: %s", sub[w], strerror(errno));
    }
    pl_free(kb);
    fclose(in);
    for (int i = 0; i < opened; i++)
      if (fclose(out[i]) != 0 && !st) st = pl_error_set(err, PL_EIO, "%s: close", sub[i]);
    if (st) return st;
    unlink(path);
    for (int i = 0; !st && i < FANOUT; i++) st = do_bucket(d, sub[i], level + 1, g, max_bytes, err);
    return st;
  }
  size_t n_rec_max = (size_t)(size / HDR) + 1;
  uint8_t *data = pl_budget_alloc(g, (size_t)size, err);
  if (!data) {
    if (err) pl_error_prefix(err, "dedup bucket %s (%llu bytes)", path, (unsigned long long)size);
    return err ? err->code : PL_ELIMIT;
  }
  rec *rs = pl_budget_alloc(g, n_rec_max * sizeof(rec), err);
  pl_status st = rs ? PL_OK : (err ? err->code : PL_ELIMIT);
  int fd = st ? -1 : open(path, O_RDONLY | O_CLOEXEC);
  if (!st && fd < 0) st = pl_error_set(err, PL_EIO, "%s: %s", path, strerror(errno));
  uint64_t got = 0;
  while (!st && got < size) {
    ssize_t r = pread(fd, data + got, (size_t)(size - got), (off_t)got);
    if (r <= 0) st = pl_error_set(err, PL_EIO, "%s: read: %s", path, strerror(errno));
    else got += (uint64_t)r;
  }
  if (fd >= 0) close(fd);
  size_t n = 0;
  for (uint64_t at = 0; !st && at < size;) {
    if (size - at < HDR) {
      st = pl_error_set(err, PL_ECORRUPT, "%s: truncated spill record at %llu", path, (unsigned long long)at);
      break;
    }
    rec *x = &rs[n++];
    memcpy(&x->h, data + at, 8);
    memcpy(&x->id, data + at + 8, 8);
    memcpy(&x->p, data + at + 16, 8);
    memcpy(&x->kl, data + at + 24, 4);
    at += HDR;
    if (x->kl > size - at) {
      st = pl_error_set(err, PL_ECORRUPT, "%s: spill record overruns at %llu", path, (unsigned long long)at);
      break;
    }
    x->key = data + at;
    at += x->kl;
  }
  if (!st) {
    qsort(rs, n, sizeof(rec), cmp_rec);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
      if (i == 0 || rs[i].h != rs[i - 1].h || rs[i].kl != rs[i - 1].kl ||
          memcmp(rs[i].key, rs[i - 1].key, rs[i].kl) != 0)
        rs[k++] = rs[i];
    qsort(rs, k, sizeof(rec), cmp_kept);
    st = append_kept(d, rs, k, err);
  }
  if (rs) pl_budget_free_mem(g, rs, n_rec_max * sizeof(rec));
  pl_budget_free_mem(g, data, (size_t)size);
  if (!st) unlink(path);
  return st;
}

pl_status pl__dedup_finish(pl__dedup *d, pl_budget *global, size_t max_bytes, pl_error *err) {
  for (int i = 0; i < d->n; i++) {
    if (fclose(d->b[i].f) != 0) {
      d->b[i].f = NULL;
      return pl_error_set(err, PL_EIO, "%s: close: %s", d->b[i].path, strerror(errno));
    }
    d->b[i].f = NULL;
  }
  for (int i = 0; i < d->n; i++) {
    pl_status st = do_bucket(d, d->b[i].path, 0, global, max_bytes, err);
    if (st) return st;
  }
  return PL_OK;
}

static int cmp_id(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

pl_status pl__dedup_kept(pl__dedup *d, int64_t p, int64_t **rows, int64_t *n, pl_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/kept/part.%05lld", d->dir, (long long)p);
  *rows = NULL;
  *n = 0;
  uint64_t size = fsize(path);
  if (size == 0) return PL_OK;
  int64_t *v = pl_malloc((size_t)size);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    pl_free(v);
    return pl_error_set(err, PL_EIO, "%s: %s", path, strerror(errno));
  }
  uint64_t got = 0;
  while (got < size) {
    ssize_t r = pread(fd, (uint8_t *)v + got, (size_t)(size - got), (off_t)got);
    if (r <= 0) break;
    got += (uint64_t)r;
  }
  close(fd);
  if (got != size) {
    pl_free(v);
    return pl_error_set(err, PL_EIO, "%s: short read", path);
  }
  *n = (int64_t)(size / 8);
  qsort(v, (size_t)*n, 8, cmp_id);
  *rows = v;
  return PL_OK;
}

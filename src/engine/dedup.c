/* dedup.c — the global stage for exact dedup. Stage 0 hash-partitions every row's key into
 * buckets (record: hash, id, partition, key). A bucket keeps its records in memory, in chunks
 * charged to the process budget, while they fit in what the workers leave free; a bucket that
 * does not get memory goes to its file on disk for good. finish() then takes the buckets on
 * every worker thread, sorts each by (hash, key, id) and keeps the first row of each key: the
 * one with the smallest id. A bucket on disk too big for half the budget is split again on
 * further bits of the hash, on disk, before it is read. Kept ids are appended to one small
 * file per partition, which stage 1 reads back. Memory stays bounded whatever the number of
 * distinct keys; disk holds the spilled keys once (spill_limit caps it). */
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
#define HDR 28 /* hash u64, id i64, partition i64, key length u32 */

/* in-memory records of a bucket: whole records only, so a chunk can be parsed alone */
typedef struct chunk {
  struct chunk *next;
  size_t len, cap; /* bytes used / allocated in data */
  uint8_t data[];
} chunk;

typedef struct bucket {
  pthread_mutex_t mu;
  FILE *f;             /* open once the bucket went to disk, until finish */
  bool disk;           /* its records are in the file (memory is no longer tried) */
  chunk *head, *tail;  /* in-memory records */
  char *path;
} bucket;

struct pl__dedup {
  char *dir;
  uint64_t spill_limit;
  int n;
  bucket *b;
  pl_budget *global;  /* charged for in-memory records; NULL: every bucket goes to disk */
  size_t chunk_bytes;
  pthread_mutex_t mu; /* held, rmax */
  size_t held;        /* bytes of chunks charged to global */
  size_t rmax;        /* largest reservation a worker asked for */
  pthread_mutex_t kept_mu;
  _Atomic uint64_t spilled, resplits;
  _Atomic int64_t max_p; /* largest partition spilled: bounds the records read back */
  _Atomic bool full;     /* the spill files went over spill_limit */
};

/* Removes the files <dir>/<prefix>* (left by this run, or by an earlier killed one). */
static void remove_prefixed(const char *dir, const char *prefix) {
  char path[4200];
  DIR *dh = opendir(dir);
  if (!dh) return;
  struct dirent *de;
  while ((de = readdir(dh))) {
    if (strncmp(de->d_name, prefix, strlen(prefix)) != 0) continue;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    unlink(path);
  }
  closedir(dh);
}

/* Removes <dir>/kept/part.* (and the directory when `dir_too`). */
static void remove_kept_dir(const pl__dedup *d, bool dir_too) {
  char path[4200];
  snprintf(path, sizeof path, "%s/kept", d->dir);
  remove_prefixed(path, "part.");
  if (dir_too) {
    rmdir(path);
    rmdir(d->dir); /* only if empty: it may be the user's */
  }
}
static void remove_kept(const pl__dedup *d) { remove_kept_dir(d, false); }

pl__dedup *pl__dedup_new(const char *spill_dir, uint64_t spill_limit, int n_buckets,
                         pl_budget *global, pl_error *err) {
  if (pl__mkdirs(spill_dir, err)) return NULL;
  pl__dedup *d = pl_calloc(1, sizeof *d);
  d->dir = pl_strdup(spill_dir);
  d->spill_limit = spill_limit;
  d->n = n_buckets;
  d->b = pl_calloc((size_t)n_buckets, sizeof(bucket));
  d->global = global;
  size_t lim = global ? pl_budget_limit(global) : 0;
  d->chunk_bytes = lim / 512 < (64u << 10) ? (64u << 10) : lim / 512 > (4u << 20) ? (4u << 20) : lim / 512;
  pthread_mutex_init(&d->mu, NULL);
  pthread_mutex_init(&d->kept_mu, NULL);
  char path[4096];
  for (int i = 0; i < n_buckets; i++) {
    pthread_mutex_init(&d->b[i].mu, NULL);
    snprintf(path, sizeof path, "%s/bucket.%03d", spill_dir, i);
    d->b[i].path = pl_strdup(path);
  }
  remove_prefixed(spill_dir, "bucket."); /* an earlier (killed) run's, split ones too */
  snprintf(path, sizeof path, "%s/kept", spill_dir);
  if (pl__mkdirs(path, err)) goto fail;
  /* the kept files of an earlier (killed) run would be appended to */
  remove_kept(d);
  return d;
fail:
  pl__dedup_free(d);
  return NULL;
}

/* Frees the bucket's chunks (bucket lock held, or no other thread). */
static void drop_chunks(pl__dedup *d, bucket *bk) {
  size_t total = 0;
  for (chunk *c = bk->head, *nx; c; c = nx) {
    nx = c->next;
    total += sizeof(chunk) + c->cap;
    pl_budget_free_mem(d->global, c, sizeof(chunk) + c->cap);
  }
  bk->head = bk->tail = NULL;
  if (!total) return;
  pthread_mutex_lock(&d->mu);
  d->held -= total;
  pthread_mutex_unlock(&d->mu);
}

void pl__dedup_free(pl__dedup *d) {
  if (!d) return;
  for (int i = 0; i < d->n; i++) {
    drop_chunks(d, &d->b[i]);
    if (d->b[i].f) fclose(d->b[i].f);
    if (d->b[i].path) unlink(d->b[i].path);
    pl_free(d->b[i].path);
    pthread_mutex_destroy(&d->b[i].mu);
  }
  pl_free(d->b);
  remove_kept_dir(d, true);
  pthread_mutex_destroy(&d->mu);
  pthread_mutex_destroy(&d->kept_mu);
  pl_free(d->dir);
  pl_free(d);
}

uint64_t pl__dedup_spilled(const pl__dedup *d) { return d->spilled; }
uint64_t pl__dedup_resplits(const pl__dedup *d) { return d->resplits; }
bool pl__dedup_full(const pl__dedup *d) { return d->full; }

/* Appends n bytes to the bucket's file (bucket lock held), counting them against spill_limit. */
static pl_status disk_write(pl__dedup *d, bucket *bk, const void *p, size_t n, pl_error *err) {
  if (!bk->f) {
    bk->f = fopen(bk->path, "w");
    if (!bk->f) return pl_error_set(err, PL_EIO, "%s: %s", bk->path, strerror(errno));
  }
  if (n && fwrite(p, 1, n, bk->f) != n)
    return pl_error_set(err, PL_EIO, "%s: write: %s", bk->path, strerror(errno));
  uint64_t now = atomic_fetch_add(&d->spilled, n) + n;
  if (d->spill_limit && now > d->spill_limit) {
    d->full = true;
    char a[32];
    return pl_error_set(err, PL_ELIMIT, "dedup: spill files exceed spill_limit %s in %s",
                        pl_format_size(d->spill_limit, a, sizeof a), d->dir);
  }
  return PL_OK;
}

/* Moves the bucket's in-memory records to its file, for good (bucket lock held). */
static pl_status to_disk(pl__dedup *d, bucket *bk, pl_error *err) {
  pl_status st = PL_OK;
  for (chunk *c = bk->head; !st && c; c = c->next) st = disk_write(d, bk, c->data, c->len, err);
  drop_chunks(d, bk);
  bk->disk = true;
  return st;
}

/* Room for n bytes of whole records in the bucket's memory, if the budget has it beside the
 * largest reservation a worker asked for (so a waiting worker is never starved by keys).
 * NULL: no room (nothing was changed). Bucket lock held. */
static uint8_t *mem_take(pl__dedup *d, bucket *bk, size_t n) {
  if (!d->global || bk->disk) return NULL;
  chunk *c = bk->tail;
  if (!c || c->cap - c->len < n) {
    size_t cap = n > d->chunk_bytes ? n : d->chunk_bytes, sz = sizeof(chunk) + cap;
    pthread_mutex_lock(&d->mu);
    size_t lim = pl_budget_limit(d->global);
    bool ok = d->held + d->rmax <= lim && sz <= lim - d->held - d->rmax;
    if (ok) d->held += sz;
    pthread_mutex_unlock(&d->mu);
    if (!ok) return NULL;
    c = pl_budget_alloc(d->global, sz, NULL);
    if (!c) { /* the workers hold the rest for now */
      pthread_mutex_lock(&d->mu);
      d->held -= sz;
      pthread_mutex_unlock(&d->mu);
      return NULL;
    }
    c->next = NULL;
    c->len = 0;
    c->cap = cap;
    if (bk->tail) bk->tail->next = c;
    else bk->head = c;
    bk->tail = c;
  }
  uint8_t *at = c->data + c->len;
  c->len += n;
  return at;
}

pl_status pl__dedup_reserving(pl__dedup *d, size_t r, pl_error *err) {
  if (!d || !d->global) return PL_OK;
  pthread_mutex_lock(&d->mu);
  if (r > d->rmax) d->rmax = r;
  size_t lim = pl_budget_limit(d->global);
  bool flush = d->held > lim || d->rmax > lim - d->held;
  pthread_mutex_unlock(&d->mu);
  pl_status st = PL_OK;
  /* mem_add now keeps held <= lim - rmax: flushing every bucket once gets there */
  for (int i = 0; flush && !st && i < d->n; i++) {
    bucket *bk = &d->b[i];
    pthread_mutex_lock(&bk->mu);
    if (bk->head) st = to_disk(d, bk, err);
    pthread_mutex_unlock(&bk->mu);
  }
  return st;
}

/* The key of a row: per key column a validity byte, then (u32 length + bytes) for strings
 * and binaries, one byte for a bool, the value's bytes for other fixed-width types. */
static bool key_supported(const pl_column *c) {
  return c->type.id == PL_STRING || c->type.id == PL_BINARY || c->type.id == PL_BOOL ||
         pl_type_is_fixed(&c->type);
}

static size_t key_len(const pl_column *c, int64_t i) {
  if (!pl_column_is_valid(c, i)) return 1;
  if (c->type.id == PL_STRING || c->type.id == PL_BINARY) {
    const int64_t *o = pl_column_offsets(c);
    return 5 + (size_t)(o[i + 1] - o[i]);
  }
  return c->type.id == PL_BOOL ? 2 : 1 + (size_t)pl_type_byte_width(&c->type);
}

/* Writes the key_len(c, i) bytes of row i's key at dst. */
static void key_write(const pl_column *c, int64_t i, uint8_t *dst) {
  uint8_t valid = pl_column_is_valid(c, i);
  *dst++ = valid;
  if (!valid) return;
  if (c->type.id == PL_STRING || c->type.id == PL_BINARY) {
    const int64_t *o = pl_column_offsets(c);
    uint32_t n = (uint32_t)(o[i + 1] - o[i]);
    memcpy(dst, &n, 4);
    memcpy(dst + 4, c->values.data + o[i], n);
  } else if (c->type.id == PL_BOOL) {
    *dst = pl_bit_get(c->values.data, i);
  } else {
    size_t w = (size_t)pl_type_byte_width(&c->type);
    memcpy(dst, c->values.data + (size_t)i * w, w);
  }
}

/* Records are written straight into the buckets' memory (or one buffer per bucket bound for
 * its file): a first pass hashes each key and sizes the buckets, a second one writes each
 * bucket's records under its lock. */
pl_status pl__dedup_spill(pl__dedup *d, const pl_batch *b, int n_keys, const int *key_cols,
                          int id_col, int64_t p, int64_t row0, pl_error *err) {
  (void)row0;
  for (int k = 0; k < n_keys; k++)
    if (!key_supported(b->columns[key_cols[k]]))
      return pl_error_set(err, PL_EUNSUPPORTED, "dedup: keys of nested types are not supported");
  for (int64_t m = atomic_load(&d->max_p); p > m && !atomic_compare_exchange_weak(&d->max_p, &m, p);) {
  }
  size_t n = (size_t)b->length;
  if (n == 0) return PL_OK;
  pl_budget *bud = b->columns[id_col]->budget;
  const int64_t *ids = (const int64_t *)b->columns[id_col]->values.data;
  /* per row: hash, key length, position in bucket order; per bucket: rows, bytes */
  size_t per_row = sizeof(uint64_t) + sizeof(uint32_t) + sizeof(size_t);
  uint8_t *rows_mem = pl_budget_alloc(bud, n * per_row, err);
  if (!rows_mem) return err ? err->code : PL_ELIMIT;
  uint64_t *hs = (uint64_t *)rows_mem;
  size_t *ord = (size_t *)(rows_mem + n * sizeof(uint64_t));
  uint32_t *kls = (uint32_t *)(rows_mem + n * (sizeof(uint64_t) + sizeof(size_t)));
  size_t *cnt = pl_calloc(2 * (size_t)d->n + 1, sizeof(size_t)), *bytes = cnt + d->n + 1;
  uint8_t *key = NULL;
  size_t kcap = 0;
  for (size_t r = 0; r < n; r++) {
    size_t kl = 0;
    for (int k = 0; k < n_keys; k++) kl += key_len(b->columns[key_cols[k]], (int64_t)r);
    if (kl > kcap) {
      kcap = kl * 2;
      key = pl_realloc(key, kcap);
    }
    for (size_t k = 0, at = 0; k < (size_t)n_keys; k++) {
      key_write(b->columns[key_cols[k]], (int64_t)r, key + at);
      at += key_len(b->columns[key_cols[k]], (int64_t)r);
    }
    hs[r] = pl_hash64(key, kl, 0x9E3779B97F4A7C15ull);
    kls[r] = (uint32_t)kl;
    size_t bi = hs[r] % (uint64_t)d->n;
    cnt[bi + 1]++;
    bytes[bi] += HDR + kl;
  }
  pl_free(key);
  for (int i = 0; i < d->n; i++) cnt[i + 1] += cnt[i];
  for (size_t r = 0; r < n; r++) ord[cnt[hs[r] % (uint64_t)d->n]++] = r;
  /* cnt[i] is now the end of bucket i's rows in ord */
  pl_status st = PL_OK;
  for (size_t i = 0, from = 0; !st && i < (size_t)d->n; from = cnt[i], i++) {
    if (!bytes[i]) continue;
    bucket *bk = &d->b[i];
    pthread_mutex_lock(&bk->mu);
    uint8_t *dst = mem_take(d, bk, bytes[i]), *own = NULL;
    if (!dst) {
      own = dst = pl_budget_alloc(bud, bytes[i], err);
      if (!own) st = err ? err->code : PL_ELIMIT;
    }
    uint8_t *at = dst;
    for (size_t x = from; !st && x < cnt[i]; x++) {
      size_t r = ord[x];
      memcpy(at, &hs[r], 8);
      memcpy(at + 8, &ids[r], 8);
      memcpy(at + 16, &p, 8);
      memcpy(at + 24, &kls[r], 4);
      at += HDR;
      for (int k = 0; k < n_keys; k++) {
        key_write(b->columns[key_cols[k]], (int64_t)r, at);
        at += key_len(b->columns[key_cols[k]], (int64_t)r);
      }
    }
    if (own) {
      if (!st && !bk->disk) st = to_disk(d, bk, err);
      if (!st) st = disk_write(d, bk, own, bytes[i], err);
      pl_budget_free_mem(bud, own, bytes[i]);
    }
    pthread_mutex_unlock(&bk->mu);
  }
  pl_free(cnt);
  pl_budget_free_mem(bud, rows_mem, n * per_row);
  return st;
}

/* ------------------------------------------------------------------ finish */
typedef struct rec {
  uint64_t h;
  int64_t id, p;
  uint32_t kl;
  const uint8_t *key;
} rec;

/* Parses the records in data[0..size) into rs (room for size / HDR of them); *n = how many. */
static pl_status parse_recs(const pl__dedup *d, const uint8_t *data, uint64_t size, rec *rs,
                            size_t *n, const char *what, pl_error *err) {
  for (uint64_t at = 0; at < size;) {
    if (size - at < HDR)
      return pl_error_set(err, PL_ECORRUPT, "%s: truncated spill record at %llu", what, (unsigned long long)at);
    rec *x = &rs[(*n)++];
    memcpy(&x->h, data + at, 8);
    memcpy(&x->id, data + at + 8, 8);
    memcpy(&x->p, data + at + 16, 8);
    memcpy(&x->kl, data + at + 24, 4);
    at += HDR;
    if (x->p < 0 || x->p > d->max_p)
      return pl_error_set(err, PL_ECORRUPT, "%s: spill record of partition %lld at %llu", what,
                          (long long)x->p, (unsigned long long)(at - HDR));
    if (x->kl > size - at)
      return pl_error_set(err, PL_ECORRUPT, "%s: spill record overruns at %llu", what, (unsigned long long)at);
    x->key = data + at;
    at += x->kl;
  }
  return PL_OK;
}

static void sift(rec *r, size_t i, size_t n) {
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) return;
    if (c + 1 < n && r[c + 1].h > r[c].h) c++;
    if (r[c].h <= r[i].h) return;
    rec t = r[i];
    r[i] = r[c];
    r[c] = t;
    i = c;
  }
}

/* By hash only: insertion sort for the small bins, heap sort for a big one (many rows of one
 * key share a hash, so a bin can be as big as the bucket). */
static void sort_bin(rec *r, size_t n) {
  if (n <= 32) {
    for (size_t i = 1; i < n; i++) {
      rec x = r[i];
      size_t j = i;
      for (; j > 0 && r[j - 1].h > x.h; j--) r[j] = r[j - 1];
      r[j] = x;
    }
    return;
  }
  for (size_t i = n / 2; i-- > 0;) sift(r, i, n);
  for (size_t e = n - 1; e > 0; e--) {
    rec t = r[0];
    r[0] = r[e];
    r[e] = t;
    sift(r, 0, e);
  }
}

/* rs[0..n) sorted by hash into out: a counting pass on the top bits (the hash is uniform
 * there; a bucket shares its low bits), then each bin alone. */
static void sort_by_hash(const rec *rs, rec *out, size_t n) {
  int bits = 1;
  while (bits < 16 && ((size_t)1 << bits) * 8 < n) bits++;
  size_t nb = (size_t)1 << bits;
  size_t *at = pl_calloc(nb + 1, sizeof(size_t));
  for (size_t i = 0; i < n; i++) at[(rs[i].h >> (64 - bits)) + 1]++;
  for (size_t i = 1; i <= nb; i++) at[i] += at[i - 1];
  for (size_t i = 0; i < n; i++) out[at[rs[i].h >> (64 - bits)]++] = rs[i];
  /* at[b] is now the end of bin b */
  for (size_t b = 0, from = 0; b < nb; from = at[b], b++) sort_bin(out + from, at[b] - from);
  pl_free(at);
}

static bool same_key(const rec *x, const rec *y) {
  return x->kl == y->kl && memcmp(x->key, y->key, x->kl) == 0;
}

/* r[0..m): rows of one hash. Writes the smallest-id row of each distinct key to out and
 * returns how many; r is reordered. Nearly always one key; a collision takes another pass. */
static size_t run_winners(rec *r, size_t m, rec *out) {
  size_t k = 0;
  while (m > 0) {
    rec best = r[0];
    size_t w = 0; /* rows of other keys move to the front, for the next pass */
    for (size_t x = 1; x < m; x++) {
      if (same_key(&r[x], &best)) {
        if (r[x].id < best.id) best = r[x];
      } else {
        r[w++] = r[x];
      }
    }
    out[k++] = best;
    m = w;
  }
  return k;
}

/* Appends n kept ids of partition p to its file. Serialized: buckets finish in parallel. */
static pl_status append_kept(pl__dedup *d, int64_t p, const int64_t *ids, size_t n, pl_error *err) {
  char path[4200];
  snprintf(path, sizeof path, "%s/kept/part.%05lld", d->dir, (long long)p);
  pthread_mutex_lock(&d->kept_mu);
  pl_status st = PL_OK;
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
  if (fd < 0) st = pl_error_set(err, PL_EIO, "%s: %s", path, strerror(errno));
  const uint8_t *at = (const uint8_t *)ids;
  size_t left = n * sizeof(int64_t);
  while (!st && left > 0) {
    ssize_t w = write(fd, at, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      st = pl_error_set(err, PL_EIO, "%s: write: %s", path, w < 0 ? strerror(errno) : "no progress");
      break;
    }
    at += w;
    left -= (size_t)w;
  }
  if (fd >= 0) close(fd);
  pthread_mutex_unlock(&d->kept_mu);
  return st;
}

/* Deduplicates the n records in rs (tmp: room for n more) and appends the kept ids, grouped
 * by partition, to the kept files. */
static pl_status dedup_recs(pl__dedup *d, rec *rs, rec *tmp, size_t n, pl_error *err) {
  sort_by_hash(rs, tmp, n);
  size_t k = 0;
  int64_t maxp = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && tmp[j].h == tmp[i].h) j++;
    if (j - i == 1) rs[k++] = tmp[i];
    else k += run_winners(tmp + i, j - i, rs + k);
    i = j;
  }
  for (size_t i = 0; i < k; i++)
    if (rs[i].p > maxp) maxp = rs[i].p;
  /* group the kept ids by partition (a counting sort into tmp's room) */
  size_t *at = pl_calloc((size_t)maxp + 2, sizeof(size_t));
  int64_t *ids = (int64_t *)tmp;
  for (size_t i = 0; i < k; i++) at[rs[i].p + 1]++;
  for (int64_t q = 1; q <= maxp + 1; q++) at[q] += at[q - 1];
  for (size_t i = 0; i < k; i++) ids[at[rs[i].p]++] = rs[i].id;
  pl_status st = PL_OK;
  for (int64_t q = 0, from = 0; !st && q <= maxp; from = (int64_t)at[q], q++)
    if ((int64_t)at[q] > from) st = append_kept(d, q, ids + from, at[q] - (size_t)from, err);
  pl_free(at);
  return st;
}

static uint64_t fsize(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Splits a bucket file on the next 4 bits of the hash, streaming, into path.0 .. path.f. */
static pl_status split_file(const char *path, int level, char sub[FANOUT][4200], pl_error *err) {
  FILE *in = fopen(path, "r");
  if (!in) return pl_error_set(err, PL_EIO, "%s: %s", path, strerror(errno));
  FILE *out[FANOUT];
  pl_status st = PL_OK;
  int opened = 0;
  for (int i = 0; i < FANOUT; i++, opened++) {
    snprintf(sub[i], 4200, "%s.%x", path, i);
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
  if (!st) unlink(path);
  return st;
}

/* Deduplicates one bucket file (then removes it). level = how many splits it went through.
 * Its memory is reserved from g first (waiting while other threads hold theirs). */
static pl_status do_bucket(pl__dedup *d, const char *path, int level, pl_budget *g,
                           size_t max_bytes, pl_error *err) {
  uint64_t size = fsize(path);
  if (size == 0) {
    unlink(path);
    return PL_OK;
  }
  /* the file, plus two recs per record (at least HDR bytes each): the array and the sorted copy */
  size_t n_rec_max = (size_t)(size / HDR) + 1;
  uint64_t need = size + 2 * (uint64_t)n_rec_max * sizeof(rec) + 4096;
  if (need > max_bytes / 2 && level < 8) {
    d->resplits++;
    char sub[FANOUT][4200];
    pl_status st = split_file(path, level, sub, err);
    for (int i = 0; !st && i < FANOUT; i++) st = do_bucket(d, sub[i], level + 1, g, max_bytes, err);
    return st;
  }
  pl_status st = pl_budget_reserve_wait(g, (size_t)need, err);
  if (st) {
    if (err) pl_error_prefix(err, "dedup bucket %s (%llu bytes)", path, (unsigned long long)size);
    return st;
  }
  pl_budget *mine = pl_budget_new((size_t)need);
  uint8_t *data = pl_budget_alloc(mine, (size_t)size, err);
  rec *rs = data ? pl_budget_alloc(mine, n_rec_max * sizeof(rec), err) : NULL;
  rec *tmp = rs ? pl_budget_alloc(mine, n_rec_max * sizeof(rec), err) : NULL;
  st = tmp ? PL_OK : (err ? err->code : PL_ELIMIT);
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
  if (!st) st = parse_recs(d, data, size, rs, &n, path, err);
  if (!st) st = dedup_recs(d, rs, tmp, n, err);
  if (tmp) pl_budget_free_mem(mine, tmp, n_rec_max * sizeof(rec));
  if (rs) pl_budget_free_mem(mine, rs, n_rec_max * sizeof(rec));
  if (data) pl_budget_free_mem(mine, data, (size_t)size);
  pl_budget_free(mine);
  pl_budget_release(g, (size_t)need);
  if (!st) unlink(path);
  return st;
}

/* Deduplicates a bucket held in memory. Without memory for its sort arrays (taken from the
 * global budget without waiting: the chunks of other buckets may be what holds it), the
 * bucket goes to disk and *to_file says so. */
static pl_status mem_bucket(pl__dedup *d, bucket *bk, bool *to_file, pl_error *err) {
  size_t n = 0;
  for (const chunk *c = bk->head; c; c = c->next) {
    const uint8_t *p = c->data;
    for (size_t at = 0; at + HDR <= c->len; n++) {
      uint32_t kl;
      memcpy(&kl, p + at + 24, 4);
      at += HDR + (size_t)kl;
    }
  }
  size_t bytes = 2 * (n ? n : 1) * sizeof(rec);
  rec *rs = pl_budget_alloc(d->global, bytes, NULL);
  if (!rs) {
    *to_file = true;
    pl_status st = to_disk(d, bk, err);
    if (bk->f && fclose(bk->f) != 0 && !st) st = pl_error_set(err, PL_EIO, "%s: close", bk->path);
    bk->f = NULL;
    return st;
  }
  size_t got = 0;
  pl_status st = PL_OK;
  for (const chunk *c = bk->head; !st && c; c = c->next) st = parse_recs(d, c->data, c->len, rs, &got, bk->path, err);
  if (!st) st = dedup_recs(d, rs, rs + n, got, err);
  pl_budget_free_mem(d->global, rs, bytes);
  drop_chunks(d, bk);
  return st;
}

typedef struct fin {
  pl__dedup *d;
  pl_budget *g;
  size_t max_bytes;
  bool disk_phase;
  _Atomic int next;
  pthread_mutex_t mu;
  pl_status st;
  pl_error err;
} fin;

/* One finishing thread: takes buckets in turn until none is left or one failed. */
static void *fin_main(void *arg) {
  fin *f = arg;
  pl__dedup *d = f->d;
  for (;;) {
    pthread_mutex_lock(&f->mu);
    bool failed = f->st != PL_OK;
    pthread_mutex_unlock(&f->mu);
    int i = atomic_fetch_add(&f->next, 1);
    if (failed || i >= d->n) break;
    bucket *bk = &d->b[i];
    pl_error e;
    pl_error_clear(&e);
    pl_status st = PL_OK;
    bool to_file = false;
    if (!f->disk_phase && !bk->disk && bk->head) st = mem_bucket(d, bk, &to_file, &e);
    else if (f->disk_phase && bk->disk) st = do_bucket(d, bk->path, 0, f->g, f->max_bytes, &e);
    if (to_file) bk->disk = true;
    if (st) {
      pthread_mutex_lock(&f->mu);
      if (!f->st) {
        f->st = st;
        f->err = e;
      }
      pthread_mutex_unlock(&f->mu);
    }
  }
  return NULL;
}

/* Runs fin_main on `threads` threads (this one included). */
static pl_status fin_phase(fin *f, int threads, pl_error *err) {
  atomic_store(&f->next, 0);
  pthread_t th[64];
  if (threads > 64) threads = 64;
  int started = 0;
  for (; started < threads - 1; started++)
    if (pthread_create(&th[started], NULL, fin_main, f) != 0) break;
  fin_main(f);
  for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
  if (f->st && err) *err = f->err;
  return f->st;
}

pl_status pl__dedup_finish(pl__dedup *d, pl_budget *global, size_t max_bytes, int workers,
                           pl_error *err) {
  pl_status st = PL_OK;
  for (int i = 0; i < d->n; i++) {
    bucket *bk = &d->b[i];
    if (bk->f && fclose(bk->f) != 0 && !st) st = pl_error_set(err, PL_EIO, "%s: close: %s", bk->path, strerror(errno));
    bk->f = NULL;
  }
  if (st) return st;
  fin f = {.d = d, .g = global, .max_bytes = max_bytes};
  pthread_mutex_init(&f.mu, NULL);
  pl_error_clear(&f.err);
  /* memory first: it frees the chunks that the disk buckets' reservations may need */
  st = fin_phase(&f, workers < 1 ? 1 : workers, err);
  if (!st) {
    f.disk_phase = true;
    st = fin_phase(&f, workers < 1 ? 1 : workers, err);
  }
  pthread_mutex_destroy(&f.mu);
  return st;
}

/* Sorts v[0..n) ascending: LSD radix on 11-bit digits of the id with its sign bit flipped,
 * skipping the digits every id shares (a partition's ids span a narrow range). */
static void sort_ids(int64_t *v, int64_t *tmp, size_t n) {
  uint64_t lo = UINT64_MAX, hi = 0;
  for (size_t i = 0; i < n; i++) {
    uint64_t u = (uint64_t)v[i] ^ (1ull << 63);
    if (u < lo) lo = u;
    if (u > hi) hi = u;
  }
  size_t cnt[2048];
  for (int shift = 0; shift < 64; shift += 11) {
    if (((lo ^ hi) >> shift) == 0) break; /* higher digits are all equal */
    memset(cnt, 0, sizeof cnt);
    for (size_t i = 0; i < n; i++) cnt[((((uint64_t)v[i] ^ (1ull << 63)) >> shift) & 2047)]++;
    size_t sum = 0;
    for (int k = 0; k < 2048; k++) {
      size_t c = cnt[k];
      cnt[k] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++) tmp[cnt[(((uint64_t)v[i] ^ (1ull << 63)) >> shift) & 2047]++] = v[i];
    memcpy(v, tmp, n * sizeof *v);
  }
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
  int64_t *tmp = pl_malloc((size_t)size);
  sort_ids(v, tmp, (size_t)*n);
  pl_free(tmp);
  *rows = v;
  return PL_OK;
}

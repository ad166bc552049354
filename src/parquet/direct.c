/* direct.c — a file's output through O_DIRECT, in aligned blocks that a background thread
 * writes while the caller fills the next one.
 *
 * A direct write returns only when the device has the data, so a writer that waited for each
 * block would leave its core idle for that time. Two blocks take turns instead: the caller
 * fills one while the thread writes the other, and waits only when it fills a block before
 * the other is out. The thread is started at the first full block (a small file never starts
 * one). Only one block is ever in flight and the caller touches the fd only when none is, so
 * the writes go out in order through the fd's own offset.
 *
 * Ownership: the blocks are charged to the budget given at creation; the fd and the path
 * stay the caller's. */
#include "writer_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#define ALIGN 4096

struct pl__dout {
  int fd;
  const char *path; /* borrowed, for messages */
  pl_budget *b;
  bool direct;     /* the fd still has O_DIRECT; only touched with no block in flight */
  uint8_t *blk[2];
  int cur;         /* the block being filled */
  size_t len;      /* its bytes */
  uint64_t handed; /* bytes handed to the thread or written, for messages */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  const uint8_t *pend; /* the block in flight, NULL when none */
  size_t pend_len;
  uint64_t pend_at;
  bool stop, started;
  pthread_t th;
  pl_status st; /* the first failed write, sticky */
  pl_error err;
};

/* Writes n bytes at the fd's offset; at takes the file offset for messages. On EINVAL under
 * O_DIRECT (a file system that took the flag at open, not for this write) it drops the flag
 * and goes on buffered. */
static pl_status fd_write(pl__dout *d, const uint8_t *s, size_t n, uint64_t at, pl_error *err) {
  while (n > 0) {
    size_t chunk = n > (1u << 30) ? (1u << 30) : n;
    ssize_t r = write(d->fd, s, chunk);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EINVAL && d->direct && pl__dout_direct_off(d)) continue;
      int e = errno;
      return pl_error_set(err, PL_EIO, "%s: write of %zu bytes at offset %llu failed: %s", d->path, chunk,
                          (unsigned long long)at, strerror(e));
    }
    if (r == 0)
      return pl_error_set(err, PL_EIO, "%s: write at offset %llu wrote nothing", d->path, (unsigned long long)at);
    s += r;
    n -= (size_t)r;
    at += (uint64_t)r;
  }
  return PL_OK;
}

bool pl__dout_direct_off(pl__dout *d) {
  int fl = fcntl(d->fd, F_GETFL);
  if (fl < 0 || fcntl(d->fd, F_SETFL, fl & ~O_DIRECT) < 0) return false;
  d->direct = false;
  return true;
}

static void *dout_main(void *arg) {
  pl__dout *d = arg;
  pthread_mutex_lock(&d->mu);
  for (;;) {
    while (!d->pend && !d->stop) pthread_cond_wait(&d->cv, &d->mu);
    if (!d->pend) break;
    const uint8_t *s = d->pend;
    size_t n = d->pend_len;
    uint64_t at = d->pend_at;
    bool failed = d->st != PL_OK;
    pthread_mutex_unlock(&d->mu);
    pl_error e;
    pl_error_clear(&e);
    pl_status st = failed ? PL_OK : fd_write(d, s, n, at, &e);
    pthread_mutex_lock(&d->mu);
    if (st && !d->st) {
      d->st = st;
      d->err = e;
    }
    d->pend = NULL;
    pthread_cond_broadcast(&d->cv);
  }
  pthread_mutex_unlock(&d->mu);
  return NULL;
}

pl__dout *pl__dout_new(int fd, const char *path, bool direct, pl_budget *b, pl_error *err) {
  pl__dout *d = pl_calloc(1, sizeof *d);
  d->fd = fd;
  d->path = path;
  d->b = b;
  d->direct = direct;
  pthread_mutex_init(&d->mu, NULL);
  pthread_cond_init(&d->cv, NULL);
  for (int i = 0; i < 2; i++) {
    d->blk[i] = pl_budget_alloc_aligned(b, PL_PARQUET_DIRECT_BYTES, ALIGN, err);
    if (!d->blk[i]) {
      pl_error_prefix(err, "%s: direct I/O staging block", path);
      pl__dout_free(d);
      return NULL;
    }
  }
  return d;
}

/* Waits until no block is in flight; returns the thread's first error, if any. */
static pl_status settle(pl__dout *d, pl_error *err) {
  if (!d->started) return d->st;
  pthread_mutex_lock(&d->mu);
  while (d->pend) pthread_cond_wait(&d->cv, &d->mu);
  pl_status st = d->st;
  if (st && err) *err = d->err;
  pthread_mutex_unlock(&d->mu);
  return st;
}

/* Hands the full current block to the thread (or writes it here when no thread could start)
 * and switches to the other block, waiting for it to be out. */
static pl_status hand_off(pl__dout *d, pl_error *err) {
  pl_status st = settle(d, err);
  if (st) return st;
  uint64_t at = d->handed;
  d->handed += d->len;
  if (!d->started) {
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setstacksize(&a, (size_t)256 << 10);
    d->started = pthread_create(&d->th, &a, dout_main, d) == 0;
    pthread_attr_destroy(&a);
    if (!d->started) {
      st = fd_write(d, d->blk[d->cur], d->len, at, err);
      if (st) d->st = st;
      d->len = 0;
      return st;
    }
  }
  pthread_mutex_lock(&d->mu);
  d->pend = d->blk[d->cur];
  d->pend_len = d->len;
  d->pend_at = at;
  pthread_cond_broadcast(&d->cv);
  pthread_mutex_unlock(&d->mu);
  d->cur ^= 1;
  d->len = 0;
  return PL_OK;
}

pl_status pl__dout_write(pl__dout *d, const void *p, size_t n, pl_error *err) {
  const uint8_t *s = p;
  while (n > 0) {
    size_t k = PL_PARQUET_DIRECT_BYTES - d->len;
    if (k > n) k = n;
    memcpy(d->blk[d->cur] + d->len, s, k);
    d->len += k;
    s += k;
    n -= k;
    if (d->len == PL_PARQUET_DIRECT_BYTES) {
      pl_status st = hand_off(d, err);
      if (st) return st;
    }
  }
  return PL_OK;
}

pl_status pl__dout_flush(pl__dout *d, pl_error *err) {
  pl_status st = settle(d, err);
  if (st || d->len == 0) return st;
  size_t aligned = d->len & ~(size_t)(ALIGN - 1);
  st = fd_write(d, d->blk[d->cur], aligned, d->handed, err);
  if (!st && aligned < d->len) {
    if (d->direct && !pl__dout_direct_off(d)) {
      int e = errno;
      st = pl_error_set(err, PL_EIO, "%s: cannot leave O_DIRECT for the last %zu bytes: %s", d->path,
                        d->len - aligned, strerror(e));
    } else {
      st = fd_write(d, d->blk[d->cur] + aligned, d->len - aligned, d->handed + aligned, err);
    }
  }
  d->handed += d->len;
  d->len = 0;
  if (st) d->st = st;
  return st;
}

void pl__dout_free(pl__dout *d) {
  if (!d) return;
  if (d->started) {
    pthread_mutex_lock(&d->mu);
    d->stop = true;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->th, NULL);
  }
  pthread_mutex_destroy(&d->mu);
  pthread_cond_destroy(&d->cv);
  for (int i = 0; i < 2; i++)
    if (d->blk[i]) pl_budget_free_mem(d->b, d->blk[i], PL_PARQUET_DIRECT_BYTES);
  pl_free(d);
}

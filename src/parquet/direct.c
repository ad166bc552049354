/* direct.c — a file's output through O_DIRECT, in aligned blocks that a background thread
 * writes while the caller fills the next one.
 *
 * A direct write returns only when the device has the data, so a writer that waited for each
 * block would leave its core idle for that time. Two blocks take turns instead: the caller
 * fills one while a one-thread pl_pool writes the other, and waits only when it fills a block
 * before the other is out. The pool is started at the first full block (a small file never
 * starts one). Only one block is ever in flight and the caller touches the fd only when none
 * is, so the writes go out in order through the fd's own offset.
 *
 * Ownership: the blocks are charged to the budget given at creation; the fd and the path
 * stay the caller's. */
#include "writer_internal.h"

#include <errno.h>
#include <fcntl.h>
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
  pl_pool *pool;   /* one thread, started at the first full block; NULL before */
  const uint8_t *pend; /* the block in flight (read by the pool's task) */
  size_t pend_len;
  uint64_t pend_at;
  pl_status st; /* the first failed write, sticky (written by the task, read after a wait) */
  pl_error err;
};

pl_status pl__write_full(int fd, const void *p, size_t n, uint64_t *at, const char *path, int *errnum,
                         pl_error *err) {
  const uint8_t *s = p;
  while (n > 0) {
    size_t chunk = n > (1u << 30) ? (1u << 30) : n;
    ssize_t r = write(fd, s, chunk);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      int e = r < 0 ? errno : 0;
      if (errnum) *errnum = e;
      if (!e) return pl_error_set(err, PL_EIO, "%s: write at offset %llu wrote nothing", path, (unsigned long long)*at);
      return pl_error_set(err, PL_EIO, "%s: write of %zu bytes at offset %llu failed: %s", path, chunk,
                          (unsigned long long)*at, strerror(e));
    }
    s += r;
    n -= (size_t)r;
    *at += (uint64_t)r;
  }
  return PL_OK;
}

/* pl__write_full, and on EINVAL under O_DIRECT (a file system that took the flag at open, not
 * for this write) the rest buffered. */
static pl_status fd_write(pl__dout *d, const uint8_t *s, size_t n, uint64_t at, pl_error *err) {
  const uint64_t at0 = at;
  int e = 0;
  pl_status st = pl__write_full(d->fd, s, n, &at, d->path, &e, err);
  if (st && e == EINVAL && d->direct && pl__dout_direct_off(d))
    st = pl__write_full(d->fd, s + (at - at0), n - (size_t)(at - at0), &at, d->path, NULL, err);
  return st;
}

bool pl__dout_direct_off(pl__dout *d) {
  int fl = fcntl(d->fd, F_GETFL);
  if (fl < 0 || fcntl(d->fd, F_SETFL, fl & ~O_DIRECT) < 0) return false;
  d->direct = false;
  return true;
}

/* The pool's task: writes the block in flight (nothing after a failure). */
static void write_pending(void *arg) {
  pl__dout *d = arg;
  if (!d->st) d->st = fd_write(d, d->pend, d->pend_len, d->pend_at, &d->err);
}

pl__dout *pl__dout_new(int fd, const char *path, pl_budget *b, pl_error *err) {
  pl__dout *d = pl_calloc(1, sizeof *d);
  d->fd = fd;
  d->path = path;
  d->b = b;
  d->direct = true;
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

/* Waits until no block is in flight; returns the first failed write, if any. */
static pl_status settle(pl__dout *d, pl_error *err) {
  if (d->pool) pl_pool_wait(d->pool);
  if (d->st && err) *err = d->err;
  return d->st;
}

/* Hands the full current block to the thread and switches to the other block, once the
 * block in flight is out. */
static pl_status hand_off(pl__dout *d, pl_error *err) {
  pl_status st = settle(d, err);
  if (st) return st;
  if (!d->pool) d->pool = pl_pool_new(1); /* no thread: submit writes it here */
  d->pend = d->blk[d->cur];
  d->pend_len = d->len;
  d->pend_at = d->handed;
  d->handed += d->len;
  pl_pool_submit(d->pool, write_pending, d);
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
  pl_pool_free(d->pool); /* waits for the block in flight */
  for (int i = 0; i < 2; i++)
    if (d->blk[i]) pl_budget_free_mem(d->b, d->blk[i], PL_PARQUET_DIRECT_BYTES);
  pl_free(d);
}

/* buf.c — growable byte buffers charged to a budget. */
#include "praline/core.h"

#include <string.h>

void pl_buf_init(pl_buf *buf, pl_budget *b) { *buf = PL_BUF_INIT(b); }

pl_status pl_buf_reserve_total(pl_buf *buf, size_t n, pl_error *err) {
  if (n <= buf->cap) return PL_OK;
  if (buf->foreign) return pl_error_set(err, PL_EINTERNAL, "write to a foreign (imported) buffer");
  void *p = pl_budget_realloc(buf->budget, buf->data, buf->cap, n, err);
  if (!p) return err ? err->code : PL_ENOMEM;
  buf->data = p;
  buf->cap = n;
  return PL_OK;
}

pl_status pl_buf_reserve(pl_buf *buf, size_t extra, pl_error *err) {
  size_t need;
  if (__builtin_add_overflow(buf->len, extra, &need))
    return pl_error_set(err, PL_ENOMEM, "buffer size overflows");
  if (need <= buf->cap) return PL_OK;
  size_t cap = buf->cap < 64 ? 64 : buf->cap;
  while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
  /* Growth by doubling may not fit a tight budget while the exact size would. */
  if (pl_buf_reserve_total(buf, cap, NULL) == PL_OK) return PL_OK;
  return pl_buf_reserve_total(buf, need, err);
}

pl_status pl_buf_append(pl_buf *buf, const void *p, size_t n, pl_error *err) {
  if (!n) return PL_OK;
  pl_status st = pl_buf_reserve(buf, n, err);
  if (st) return st;
  memcpy(buf->data + buf->len, p, n);
  buf->len += n;
  return PL_OK;
}

pl_status pl_buf_append_zeros(pl_buf *buf, size_t n, uint8_t **out, pl_error *err) {
  pl_status st = pl_buf_reserve(buf, n, err);
  if (st) return st;
  if (buf->data) memset(buf->data + buf->len, 0, n);
  if (out) *out = buf->data ? buf->data + buf->len : NULL;
  buf->len += n;
  return PL_OK;
}

void pl_buf_release(pl_buf *buf) {
  if (!buf) return;
  if (!buf->foreign && buf->data) pl_budget_free_mem(buf->budget, buf->data, buf->cap);
  buf->data = NULL;
  buf->len = buf->cap = 0;
  buf->foreign = false;
}

void pl_buf_move(pl_buf *dst, pl_buf *src) {
  if (dst == src) return;
  pl_buf_release(dst);
  *dst = *src;
  src->data = NULL;
  src->len = src->cap = 0;
  src->foreign = false;
}

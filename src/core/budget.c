/* budget.c — a thread-safe byte budget with a hard limit, and memory charged to it.
 * Every column buffer in praline is charged here, so --memory-limit is a real cap. */
#include "praline/core.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pl_budget {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  size_t limit, used, peak;
  uint64_t waits;
  bool canceled;
};

pl_budget *pl_budget_new(size_t limit) {
  pl_budget *b = pl_calloc(1, sizeof *b);
  pthread_mutex_init(&b->mu, NULL);
  pthread_cond_init(&b->cv, NULL);
  b->limit = limit;
  return b;
}

void pl_budget_free(pl_budget *b) {
  if (!b) return;
  pthread_mutex_destroy(&b->mu);
  pthread_cond_destroy(&b->cv);
  pl_free(b);
}

#define LOCKED(b, expr)                                                                            \
  do {                                                                                             \
    pthread_mutex_lock(&((pl_budget *)(b))->mu);                                                   \
    expr;                                                                                          \
    pthread_mutex_unlock(&((pl_budget *)(b))->mu);                                                 \
  } while (0)

size_t pl_budget_limit(const pl_budget *b) { size_t v; LOCKED(b, v = b->limit); return v; }

void pl_budget_grow(pl_budget *b, size_t n) {
  pthread_mutex_lock(&b->mu);
  b->limit = b->limit > SIZE_MAX - n ? SIZE_MAX : b->limit + n;
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
}
bool pl_budget_shrink(pl_budget *b, size_t n) {
  bool ok;
  pthread_mutex_lock(&b->mu);
  ok = n <= b->limit && b->used <= b->limit - n;
  if (ok) b->limit -= n;
  pthread_mutex_unlock(&b->mu);
  return ok;
}
size_t pl_budget_used(const pl_budget *b) { size_t v; LOCKED(b, v = b->used); return v; }
size_t pl_budget_peak(const pl_budget *b) { size_t v; LOCKED(b, v = b->peak); return v; }
uint64_t pl_budget_waits(const pl_budget *b) { uint64_t v; LOCKED(b, v = b->waits); return v; }

/* Caller holds the lock. */
static bool fits_locked(pl_budget *b, size_t n) {
  if (n > b->limit || b->used > b->limit - n) return false;
  b->used += n;
  if (b->used > b->peak) b->peak = b->used;
  return true;
}

bool pl_budget_try_reserve(pl_budget *b, size_t n) {
  if (!b) return true;
  bool ok;
  LOCKED(b, ok = fits_locked(b, n));
  return ok;
}

static pl_status over_limit(pl_budget *b, size_t n, pl_error *err) {
  char a[32], u[32], l[32];
  return pl_error_set(err, PL_ELIMIT, "memory budget exceeded: need %s more, %s of %s in use",
                      pl_format_size(n, a, sizeof a), pl_format_size(pl_budget_used(b), u, sizeof u),
                      pl_format_size(b->limit, l, sizeof l));
}

pl_status pl_budget_reserve(pl_budget *b, size_t n, pl_error *err) {
  return pl_budget_try_reserve(b, n) ? PL_OK : over_limit(b, n, err);
}

pl_status pl_budget_reserve_wait(pl_budget *b, size_t n, pl_error *err) {
  if (!b) return PL_OK;
  if (n > b->limit) return over_limit(b, n, err);
  pthread_mutex_lock(&b->mu);
  bool waited = false, got = false;
  for (;;) {
    if (fits_locked(b, n)) {
      got = true;
      break;
    }
    if (b->canceled) break;
    if (!waited) b->waits++;
    waited = true;
    pthread_cond_wait(&b->cv, &b->mu);
  }
  pthread_mutex_unlock(&b->mu);
  pl_status st = got ? PL_OK : PL_ECANCELED;
  if (st) pl_error_set(err, st, "canceled while waiting for memory");
  return st;
}

void pl_budget_release(pl_budget *b, size_t n) {
  if (!b || !n) return;
  pthread_mutex_lock(&b->mu);
  if (n > b->used) {
    fprintf(stderr, "praline: internal error: budget release of %zu with %zu used\n", n, b->used);
    abort();
  }
  b->used -= n;
  pthread_cond_broadcast(&b->cv);
  pthread_mutex_unlock(&b->mu);
}

void pl_budget_cancel(pl_budget *b) {
  if (!b) return;
  LOCKED(b, b->canceled = true; pthread_cond_broadcast(&b->cv));
}

/* ------------------------------------------------------------------ charged memory */
#define PL_ALIGN 64

void *pl_budget_alloc(pl_budget *b, size_t n, pl_error *err) {
  return pl_budget_alloc_aligned(b, n, PL_ALIGN, err);
}

void *pl_budget_alloc_aligned(pl_budget *b, size_t n, size_t align, pl_error *err) {
  if (n == 0) n = 1;
  size_t rounded;
  if (__builtin_add_overflow(n, align - 1, &rounded))
    return pl_error_set(err, PL_ENOMEM, "allocation of %zu bytes overflows", n), NULL;
  rounded &= ~(align - 1);
  if (pl_budget_reserve(b, n, err)) return NULL;
  void *p = aligned_alloc(align, rounded);
  if (!p) {
    pl_budget_release(b, n);
    pl_error_set(err, PL_ENOMEM, "out of memory allocating %zu bytes", n);
  }
  return p;
}

void *pl_budget_calloc(pl_budget *b, size_t n, pl_error *err) {
  void *p = pl_budget_alloc(b, n, err);
  if (p) memset(p, 0, n ? n : 1);
  return p;
}

void *pl_budget_realloc(pl_budget *b, void *p, size_t old_n, size_t new_n, pl_error *err) {
  if (!p) return pl_budget_alloc(b, new_n, err);
  if (old_n == 0) old_n = 1;
  void *q = pl_budget_alloc(b, new_n, err);
  if (!q) return NULL;
  memcpy(q, p, old_n < new_n ? old_n : new_n);
  pl_budget_free_mem(b, p, old_n);
  return q;
}

void pl_budget_free_mem(pl_budget *b, void *p, size_t n) {
  if (!p) return;
  free(p);
  pl_budget_release(b, n ? n : 1);
}

/* ------------------------------------------------------------------ small structs */
static void oom(size_t n) {
  fprintf(stderr, "praline: out of memory allocating %zu bytes\n", n);
  abort();
}
void *pl_malloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) oom(n);
  return p;
}
void *pl_calloc(size_t count, size_t n) {
  void *p = calloc(count ? count : 1, n ? n : 1);
  if (!p) oom(count * n);
  return p;
}
void *pl_realloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) oom(n);
  return q;
}
char *pl_strdup(const char *s) { return pl_strndup(s, strlen(s)); }
char *pl_strndup(const char *s, size_t n) {
  char *d = pl_malloc(n + 1);
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}
void pl_free(void *p) { free(p); }

char *pl_sprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  char *s = pl_malloc((size_t)n + 1);
  s[0] = 0;
  va_start(ap, fmt);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return s;
}

/* praline/core.h — errors, memory budgets, buffers, hashing, threads, queues, logging, sizes.
 *
 * Ownership and threads:
 *  - pl_error is a caller-owned value; functions fill it once where a failure is detected.
 *  - pl_budget is thread-safe. It counts bytes; it never frees anything by itself.
 *  - pl_buf is a growable byte buffer charged to a budget; it is not thread-safe. The owner
 *    calls pl_buf_release, which credits the budget back.
 *  - pl_pool and pl_queue are thread-safe; their _free must be called by one thread once
 *    no other thread uses them.
 */
#ifndef PRALINE_CORE_H
#define PRALINE_CORE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ status and errors */
typedef enum pl_status {
  PL_OK = 0,
  PL_EINVAL,       /* bad argument or bad user input (usage, options, YAML) */
  PL_ENOMEM,       /* allocation failed */
  PL_ELIMIT,       /* a memory budget or another hard limit would be exceeded */
  PL_EIO,          /* the OS refused a read/write/open/rename (errno in the message) */
  PL_ECORRUPT,     /* outside bytes are malformed (Parquet, Thrift, CSV, ...) */
  PL_EUNSUPPORTED, /* valid input that praline does not handle (yet) */
  PL_ENOTFOUND,    /* a named thing does not exist */
  PL_ECANCELED,    /* stopped on request */
  PL_EINTERNAL     /* a bug in praline */
} pl_status;

#define PL_ERROR_MSG_MAX 1024
typedef struct pl_error {
  pl_status code;
  char msg[PL_ERROR_MSG_MAX];
} pl_error;

/* Sets err (if not NULL) and returns code, so callers can `return pl_error_set(...)`. */
pl_status pl_error_set(pl_error *err, pl_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepends "<context>: " to the message, keeping the code. */
void pl_error_prefix(pl_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pl_error_clear(pl_error *err);
const char *pl_status_name(pl_status s);

/* ------------------------------------------------------------------ budgets */
/* A thread-safe byte budget with a hard limit. reserve fails (PL_ELIMIT) rather than exceed
 * the limit; reserve_wait blocks until other threads release enough. peak is the largest
 * `used` ever seen, exactly. */
typedef struct pl_budget pl_budget;

#define PL_UNLIMITED SIZE_MAX
pl_budget *pl_budget_new(size_t limit);
void pl_budget_free(pl_budget *b);
size_t pl_budget_limit(const pl_budget *b);
/* Raises the limit by n (a task's budget, once the bytes are reserved from the global one). */
void pl_budget_grow(pl_budget *b, size_t n);
/* Lowers the limit by n if what is in use still fits (a task's budget giving bytes back to
 * the global one); false, and no change, otherwise. */
bool pl_budget_shrink(pl_budget *b, size_t n);
size_t pl_budget_used(const pl_budget *b);
size_t pl_budget_peak(const pl_budget *b);
bool pl_budget_try_reserve(pl_budget *b, size_t n);
pl_status pl_budget_reserve(pl_budget *b, size_t n, pl_error *err);
/* Blocks until n bytes fit. Fails at once with PL_ELIMIT if n > limit (it could never fit).
 * Fails with PL_ECANCELED if pl_budget_cancel is called while waiting. */
pl_status pl_budget_reserve_wait(pl_budget *b, size_t n, pl_error *err);
void pl_budget_release(pl_budget *b, size_t n);
void pl_budget_cancel(pl_budget *b); /* wakes all waiters with PL_ECANCELED */
/* Number of times reserve_wait had to block (back-pressure waits). */
uint64_t pl_budget_waits(const pl_budget *b);

/* Memory charged to a budget. b may be NULL (uncounted). Returned memory is 64-byte aligned
 * (as Arrow recommends) and the caller must pass the same n back to pl_budget_free_mem. */
void *pl_budget_alloc(pl_budget *b, size_t n, pl_error *err);
/* The same with `align` (a power of two, at least 64) instead of 64: for O_DIRECT buffers. */
void *pl_budget_alloc_aligned(pl_budget *b, size_t n, size_t align, pl_error *err);
void *pl_budget_calloc(pl_budget *b, size_t n, pl_error *err);
void *pl_budget_realloc(pl_budget *b, void *p, size_t old_n, size_t new_n, pl_error *err);
void pl_budget_free_mem(pl_budget *b, void *p, size_t n);

/* Small fixed structs: counted in a process-wide counter, abort with a message on OOM. */
void *pl_malloc(size_t n);
void *pl_calloc(size_t count, size_t n);
void *pl_realloc(void *p, size_t n);
char *pl_strdup(const char *s);
char *pl_strndup(const char *s, size_t n);
void pl_free(void *p);
/* printf into a new string (free with pl_free). */
char *pl_sprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ------------------------------------------------------------------ buffers */
/* A growable byte buffer charged to a budget. Zero-initialise (or PL_BUF_INIT(b)) before use.
 * `data` may be NULL when cap == 0. If `foreign` is set the bytes belong to someone else
 * (an imported Arrow array): the buffer is read-only and release only forgets it. */
typedef struct pl_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
  pl_budget *budget;
  bool foreign;
} pl_buf;
#define PL_BUF_INIT(b) ((pl_buf){NULL, 0, 0, (b), false})

void pl_buf_init(pl_buf *buf, pl_budget *b);
/* Ensures cap >= len + extra (amortised doubling). */
pl_status pl_buf_reserve(pl_buf *buf, size_t extra, pl_error *err);
/* Ensures cap >= n exactly-ish (no doubling); for sizes known up front. */
pl_status pl_buf_reserve_total(pl_buf *buf, size_t n, pl_error *err);
pl_status pl_buf_append(pl_buf *buf, const void *p, size_t n, pl_error *err);
/* Appends n zero bytes and returns a pointer to them through *out. */
pl_status pl_buf_append_zeros(pl_buf *buf, size_t n, uint8_t **out, pl_error *err);
/* Frees the memory and credits the budget. The buffer is left empty (reusable). */
void pl_buf_release(pl_buf *buf);
/* Moves src into dst (dst is released first); src is left empty. */
void pl_buf_move(pl_buf *dst, pl_buf *src);
static inline void pl_buf_clear(pl_buf *buf) { buf->len = 0; }

/* ------------------------------------------------------------------ hashing (xxh3, libxxhash) */
uint64_t pl_hash64(const void *p, size_t n, uint64_t seed);
typedef struct pl_hasher pl_hasher; /* streaming xxh3-64 */
pl_hasher *pl_hasher_new(uint64_t seed);
void pl_hasher_update(pl_hasher *h, const void *p, size_t n);
uint64_t pl_hasher_digest(const pl_hasher *h);
void pl_hasher_free(pl_hasher *h);

/* ------------------------------------------------------------------ thread pool */
typedef struct pl_pool pl_pool;
typedef void (*pl_task_fn)(void *arg);
pl_pool *pl_pool_new(int nthreads);
/* Queues fn(arg). Never blocks for long (the task list is unbounded). A pool none of whose
 * threads could start runs fn(arg) here. */
void pl_pool_submit(pl_pool *p, pl_task_fn fn, void *arg);
/* Waits until every submitted task has finished. */
void pl_pool_wait(pl_pool *p);
int pl_pool_threads(const pl_pool *p);
void pl_pool_free(pl_pool *p); /* waits, then joins */

/* ------------------------------------------------------------------ bounded MPMC queue */
/* Holds void* items. Bounded by count and, optionally, by a byte weight given per push.
 * push blocks while full; pop blocks while empty. After close, push fails and pop drains
 * what is left and then returns false. */
typedef struct pl_queue pl_queue;
pl_queue *pl_queue_new(size_t max_items, size_t max_bytes /* 0 = no byte bound */);
bool pl_queue_push(pl_queue *q, void *item, size_t bytes);
bool pl_queue_try_push(pl_queue *q, void *item, size_t bytes);
bool pl_queue_pop(pl_queue *q, void **item);
bool pl_queue_try_pop(pl_queue *q, void **item);
void pl_queue_close(pl_queue *q);
size_t pl_queue_len(pl_queue *q);
uint64_t pl_queue_push_waits(pl_queue *q); /* times a push had to wait (back-pressure) */
void pl_queue_free(pl_queue *q);

/* ------------------------------------------------------------------ logging */
typedef enum { PL_LOG_ERROR = 0, PL_LOG_WARN, PL_LOG_INFO, PL_LOG_DEBUG } pl_log_level;
/* Level from PRALINE_LOG (error|warn|info|debug), default warn. Thread-safe, to stderr. */
void pl_log(pl_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pl_log_set_level(pl_log_level lvl);

/* ------------------------------------------------------------------ sizes and misc */
/* "512MB", "2GB", "64KiB", "1.5GiB" or plain bytes. KB/MB/GB/TB are powers of 1000,
 * KiB/MiB/GiB/TiB powers of 1024; a bare "K/M/G" suffix is refused as ambiguous. */
pl_status pl_parse_size(const char *s, uint64_t *out, pl_error *err);
/* Human text for a byte count ("1.5 GiB") into buf. Returns buf. */
const char *pl_format_size(uint64_t n, char *buf, size_t cap);
/* Seconds since an arbitrary fixed point (CLOCK_MONOTONIC). */
double pl_now(void);
/* Peak resident set size of this process in bytes (getrusage). */
uint64_t pl_peak_rss(void);
/* Physical memory, or the cgroup limit when one is set and lower. */
uint64_t pl_system_memory(void);
int pl_cpu_count(void);
/* UTF-8: the length of the sequence that starts at p[0] (n >= 1 bytes available). Sets *valid.
 * When the sequence is ill-formed, returns the length of its maximal subpart (at least 1), the
 * unit that WHATWG's TextDecoder replaces with one U+FFFD. */
size_t pl_utf8_next(const uint8_t *p, size_t n, bool *valid);
/* Proleptic Gregorian calendar <-> days since 1970-01-01 (H. Hinnant's algorithms). */
int64_t pl_days_from_civil(int64_t y, unsigned m, unsigned d);
void pl_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
const char *pl_version(void);          /* "0.1.0" */
const char *pl_version_full(void);     /* "praline version 0.1.0 (build <git hash>)" */

#ifdef __cplusplus
}
#endif
#endif

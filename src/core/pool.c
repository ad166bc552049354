/* pool.c — a fixed thread pool with an unbounded task list, and a bounded MPMC queue. */
#include "praline/core.h"

#include <pthread.h>

typedef struct task {
  pl_task_fn fn;
  void *arg;
  struct task *next;
} task;

struct pl_pool {
  pthread_mutex_t mu;
  pthread_cond_t has_work, idle;
  task *head, *tail;
  int nthreads, running;
  bool stop;
  pthread_t *threads;
};

static void *worker(void *arg) {
  pl_pool *p = arg;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->head && !p->stop) pthread_cond_wait(&p->has_work, &p->mu);
    if (!p->head && p->stop) break;
    task *t = p->head;
    p->head = t->next;
    if (!p->head) p->tail = NULL;
    p->running++;
    pthread_mutex_unlock(&p->mu);
    t->fn(t->arg);
    pl_free(t);
    pthread_mutex_lock(&p->mu);
    p->running--;
    if (!p->head && !p->running) pthread_cond_broadcast(&p->idle);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

pl_pool *pl_pool_new(int nthreads) {
  if (nthreads < 1) nthreads = 1;
  pl_pool *p = pl_calloc(1, sizeof *p);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->has_work, NULL);
  pthread_cond_init(&p->idle, NULL);
  p->threads = pl_calloc((size_t)nthreads, sizeof *p->threads);
  /* the threads that started; with none, pl_pool_submit runs each task itself */
  for (int i = 0; i < nthreads; i++) p->nthreads += pthread_create(&p->threads[p->nthreads], NULL, worker, p) == 0;
  return p;
}

void pl_pool_submit(pl_pool *p, pl_task_fn fn, void *arg) {
  if (p->nthreads == 0) {
    fn(arg);
    return;
  }
  task *t = pl_malloc(sizeof *t);
  t->fn = fn;
  t->arg = arg;
  t->next = NULL;
  pthread_mutex_lock(&p->mu);
  if (p->tail) p->tail->next = t;
  else p->head = t;
  p->tail = t;
  pthread_cond_signal(&p->has_work);
  pthread_mutex_unlock(&p->mu);
}

void pl_pool_wait(pl_pool *p) {
  pthread_mutex_lock(&p->mu);
  while (p->head || p->running) pthread_cond_wait(&p->idle, &p->mu);
  pthread_mutex_unlock(&p->mu);
}

int pl_pool_threads(const pl_pool *p) { return p->nthreads; }

void pl_pool_free(pl_pool *p) {
  if (!p) return;
  pl_pool_wait(p);
  pthread_mutex_lock(&p->mu);
  p->stop = true;
  pthread_cond_broadcast(&p->has_work);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->has_work);
  pthread_cond_destroy(&p->idle);
  pl_free(p->threads);
  pl_free(p);
}

/* ------------------------------------------------------------------ bounded queue */
struct pl_queue {
  pthread_mutex_t mu;
  pthread_cond_t not_full, not_empty;
  void **items;
  size_t *weights;
  size_t cap, head, len, max_bytes, bytes;
  uint64_t push_waits;
  bool closed;
};

pl_queue *pl_queue_new(size_t max_items, size_t max_bytes) {
  if (max_items < 1) max_items = 1;
  pl_queue *q = pl_calloc(1, sizeof *q);
  pthread_mutex_init(&q->mu, NULL);
  pthread_cond_init(&q->not_full, NULL);
  pthread_cond_init(&q->not_empty, NULL);
  q->cap = max_items;
  q->max_bytes = max_bytes;
  q->items = pl_calloc(max_items, sizeof *q->items);
  q->weights = pl_calloc(max_items, sizeof *q->weights);
  return q;
}

/* An item heavier than max_bytes is still accepted when the queue is empty, so that one big
 * partition cannot deadlock the writers. */
static bool has_room(const pl_queue *q, size_t bytes) {
  if (q->len >= q->cap) return false;
  if (q->max_bytes && q->len > 0 && q->bytes + bytes > q->max_bytes) return false;
  return true;
}

static void put_locked(pl_queue *q, void *item, size_t bytes) {
  size_t at = (q->head + q->len) % q->cap;
  q->items[at] = item;
  q->weights[at] = bytes;
  q->len++;
  q->bytes += bytes;
  pthread_cond_signal(&q->not_empty);
}

bool pl_queue_push(pl_queue *q, void *item, size_t bytes) {
  pthread_mutex_lock(&q->mu);
  bool waited = false;
  while (!q->closed && !has_room(q, bytes)) {
    if (!waited) q->push_waits++;
    waited = true;
    pthread_cond_wait(&q->not_full, &q->mu);
  }
  bool ok = !q->closed;
  if (ok) put_locked(q, item, bytes);
  pthread_mutex_unlock(&q->mu);
  return ok;
}

bool pl_queue_try_push(pl_queue *q, void *item, size_t bytes) {
  pthread_mutex_lock(&q->mu);
  bool ok = !q->closed && has_room(q, bytes);
  if (ok) put_locked(q, item, bytes);
  pthread_mutex_unlock(&q->mu);
  return ok;
}

static void take_locked(pl_queue *q, void **item) {
  *item = q->items[q->head];
  q->bytes -= q->weights[q->head];
  q->head = (q->head + 1) % q->cap;
  q->len--;
  pthread_cond_broadcast(&q->not_full);
}

bool pl_queue_pop(pl_queue *q, void **item) {
  pthread_mutex_lock(&q->mu);
  while (!q->len && !q->closed) pthread_cond_wait(&q->not_empty, &q->mu);
  bool ok = q->len > 0;
  if (ok) take_locked(q, item);
  pthread_mutex_unlock(&q->mu);
  return ok;
}

bool pl_queue_try_pop(pl_queue *q, void **item) {
  pthread_mutex_lock(&q->mu);
  bool ok = q->len > 0;
  if (ok) take_locked(q, item);
  pthread_mutex_unlock(&q->mu);
  return ok;
}

void pl_queue_close(pl_queue *q) {
  pthread_mutex_lock(&q->mu);
  q->closed = true;
  pthread_cond_broadcast(&q->not_empty);
  pthread_cond_broadcast(&q->not_full);
  pthread_mutex_unlock(&q->mu);
}

size_t pl_queue_len(pl_queue *q) {
  pthread_mutex_lock(&q->mu);
  size_t n = q->len;
  pthread_mutex_unlock(&q->mu);
  return n;
}

uint64_t pl_queue_push_waits(pl_queue *q) {
  pthread_mutex_lock(&q->mu);
  uint64_t n = q->push_waits;
  pthread_mutex_unlock(&q->mu);
  return n;
}

void pl_queue_free(pl_queue *q) {
  if (!q) return;
  pthread_mutex_destroy(&q->mu);
  pthread_cond_destroy(&q->not_full);
  pthread_cond_destroy(&q->not_empty);
  pl_free(q->items);
  pl_free(q->weights);
  pl_free(q);
}

/* test_core.c — budgets under contention, the bounded queue, the pool, sizes, errors. */
#include "test_util.h"

#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------ budget */
typedef struct {
  pl_budget *b;
  unsigned seed;
  int iters;
  size_t max_seen_over; /* set if used ever exceeded the limit */
} budget_arg;

static void *budget_thread(void *p) {
  budget_arg *a = p;
  for (int i = 0; i < a->iters; i++) {
    size_t n = (size_t)(rand_r(&a->seed) % 300) + 1;
    bool wait = rand_r(&a->seed) & 1;
    if (wait) {
      if (pl_budget_reserve_wait(a->b, n, NULL) != PL_OK) continue;
    } else if (!pl_budget_try_reserve(a->b, n)) {
      continue;
    }
    size_t used = pl_budget_used(a->b);
    if (used > pl_budget_limit(a->b)) a->max_seen_over = used;
    pl_budget_release(a->b, n);
  }
  return NULL;
}

static void test_budget_contention(void **state) {
  (void)state;
  enum { T = 8 };
  pl_budget *b = pl_budget_new(1000);
  pthread_t th[T];
  budget_arg args[T];
  for (int i = 0; i < T; i++) {
    args[i] = (budget_arg){b, (unsigned)i * 7919u + 1, 20000, 0};
    pthread_create(&th[i], NULL, budget_thread, &args[i]);
  }
  for (int i = 0; i < T; i++) pthread_join(th[i], NULL);
  for (int i = 0; i < T; i++) assert_int_equal(args[i].max_seen_over, 0);
  assert_int_equal(pl_budget_used(b), 0);
  assert_true(pl_budget_peak(b) <= 1000);
  pl_budget_free(b);
}

/* All threads hold a reservation at the same moment (a barrier), so the peak is known exactly. */
typedef struct {
  pl_budget *b;
  pthread_barrier_t *bar;
  size_t n;
} hold_arg;
static void *hold_thread(void *p) {
  hold_arg *a = p;
  assert_int_equal(pl_budget_reserve(a->b, a->n, NULL), PL_OK);
  pthread_barrier_wait(a->bar);
  pl_budget_release(a->b, a->n);
  return NULL;
}
static void test_budget_peak_exact_concurrent(void **state) {
  (void)state;
  enum { T = 8 };
  pl_budget *b = pl_budget_new(10000);
  pthread_barrier_t bar;
  pthread_barrier_init(&bar, NULL, T);
  pthread_t th[T];
  hold_arg args[T];
  size_t total = 0;
  for (int i = 0; i < T; i++) {
    args[i] = (hold_arg){b, &bar, (size_t)(i + 1) * 100};
    total += args[i].n;
    pthread_create(&th[i], NULL, hold_thread, &args[i]);
  }
  for (int i = 0; i < T; i++) pthread_join(th[i], NULL);
  pthread_barrier_destroy(&bar);
  assert_int_equal(pl_budget_peak(b), total);
  assert_int_equal(pl_budget_used(b), 0);
  pl_budget_free(b);
}

static void test_budget_peak_exact(void **state) {
  (void)state;
  pl_budget *b = pl_budget_new(100);
  pl_error err = {0};
  assert_int_equal(pl_budget_reserve(b, 60, &err), PL_OK);
  assert_int_equal(pl_budget_reserve(b, 30, &err), PL_OK);
  pl_budget_release(b, 60);
  assert_int_equal(pl_budget_reserve(b, 50, &err), PL_OK);
  assert_int_equal(pl_budget_peak(b), 90);
  assert_int_equal(pl_budget_used(b), 80);
  assert_int_equal(pl_budget_reserve(b, 21, &err), PL_ELIMIT);
  assert_non_null(strstr(err.msg, "memory budget exceeded"));
  assert_int_equal(pl_budget_reserve_wait(b, 101, &err), PL_ELIMIT); /* can never fit */
  pl_budget_release(b, 80);
  assert_int_equal(pl_budget_used(b), 0);
  pl_budget_free(b);
}

typedef struct {
  pl_budget *b;
  volatile int got;
} waiter_arg;
static void *waiter(void *p) {
  waiter_arg *a = p;
  if (pl_budget_reserve_wait(a->b, 50, NULL) == PL_OK) a->got = 1;
  return NULL;
}
static void test_budget_wait_blocks_until_release(void **state) {
  (void)state;
  pl_budget *b = pl_budget_new(100);
  assert_true(pl_budget_try_reserve(b, 80));
  waiter_arg a = {b, 0};
  pthread_t t;
  pthread_create(&t, NULL, waiter, &a);
  usleep(50 * 1000);
  assert_int_equal(a.got, 0); /* still blocked: 80 + 50 > 100 */
  pl_budget_release(b, 80);
  pthread_join(t, NULL);
  assert_int_equal(a.got, 1);
  assert_int_equal(pl_budget_used(b), 50);
  assert_true(pl_budget_waits(b) >= 1);
  pl_budget_release(b, 50);
  pl_budget_free(b);
}

/* grow and shrink move a task budget's limit; shrink refuses to go under what is in use. */
static void test_budget_grow_shrink(void **state) {
  (void)state;
  pl_budget *b = pl_budget_new(100);
  assert_true(pl_budget_try_reserve(b, 60));
  assert_false(pl_budget_shrink(b, 50)); /* 50 < 60 in use */
  assert_int_equal(pl_budget_limit(b), 100);
  assert_true(pl_budget_shrink(b, 40));
  assert_int_equal(pl_budget_limit(b), 60);
  assert_false(pl_budget_try_reserve(b, 1));
  assert_false(pl_budget_shrink(b, 61));
  pl_budget_grow(b, 10);
  assert_true(pl_budget_try_reserve(b, 10));
  pl_budget_release(b, 70);
  assert_true(pl_budget_shrink(b, 70));
  assert_int_equal(pl_budget_limit(b), 0);
  pl_budget_free(b);
}

static void test_budget_alloc_charges(void **state) {
  (void)state;
  pl_budget *b = pl_budget_new(1 << 20);
  pl_error err = {0};
  pl_buf buf = PL_BUF_INIT(b);
  for (int i = 0; i < 1000; i++) assert_int_equal(pl_buf_append(&buf, "abcdefgh", 8, &err), PL_OK);
  assert_int_equal(buf.len, 8000);
  assert_int_equal(pl_budget_used(b), buf.cap);
  assert_true(((uintptr_t)buf.data & 63) == 0);
  pl_buf_release(&buf);
  assert_int_equal(pl_budget_used(b), 0);
  /* a buffer that cannot grow within the budget fails cleanly */
  assert_int_equal(pl_buf_reserve_total(&buf, 2 << 20, &err), PL_ELIMIT);
  assert_null(buf.data);
  pl_budget_free(b);
}

/* ------------------------------------------------------------------ queue */
enum { QP = 4, QC = 4, QN = 20000 };
typedef struct {
  pl_queue *q;
  int id;
  int *seen; /* consumers: count per item */
  pthread_mutex_t *mu;
} q_arg;
static void *producer(void *p) {
  q_arg *a = p;
  for (int i = 0; i < QN; i++) assert_true(pl_queue_push(a->q, (void *)(intptr_t)(a->id * QN + i + 1), 1));
  return NULL;
}
static void *consumer(void *p) {
  q_arg *a = p;
  void *it;
  while (pl_queue_pop(a->q, &it)) {
    intptr_t v = (intptr_t)it - 1;
    pthread_mutex_lock(a->mu);
    a->seen[v]++;
    pthread_mutex_unlock(a->mu);
  }
  return NULL;
}
static void test_queue_no_loss_no_dup(void **state) {
  (void)state;
  pl_queue *q = pl_queue_new(16, 0);
  int *seen = calloc(QP * QN, sizeof *seen);
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_t pt[QP], ct[QC];
  q_arg pa[QP], ca[QC];
  for (int i = 0; i < QC; i++) {
    ca[i] = (q_arg){q, i, seen, &mu};
    pthread_create(&ct[i], NULL, consumer, &ca[i]);
  }
  for (int i = 0; i < QP; i++) {
    pa[i] = (q_arg){q, i, NULL, NULL};
    pthread_create(&pt[i], NULL, producer, &pa[i]);
  }
  for (int i = 0; i < QP; i++) pthread_join(pt[i], NULL);
  pl_queue_close(q);
  for (int i = 0; i < QC; i++) pthread_join(ct[i], NULL);
  for (int i = 0; i < QP * QN; i++) assert_int_equal(seen[i], 1);
  assert_true(pl_queue_push_waits(q) > 0); /* 16 slots, 80000 items: producers must have waited */
  free(seen);
  pl_queue_free(q);
}

static void test_queue_blocks_when_full(void **state) {
  (void)state;
  pl_queue *q = pl_queue_new(2, 100);
  assert_true(pl_queue_try_push(q, (void *)1, 60));
  assert_false(pl_queue_try_push(q, (void *)2, 60)); /* byte bound */
  assert_true(pl_queue_try_push(q, (void *)3, 40));
  assert_false(pl_queue_try_push(q, (void *)4, 0)); /* count bound */
  void *it;
  assert_true(pl_queue_try_pop(q, &it));
  assert_ptr_equal(it, (void *)1);
  assert_true(pl_queue_try_push(q, (void *)5, 10));
  pl_queue_close(q);
  assert_false(pl_queue_push(q, (void *)6, 1));
  assert_true(pl_queue_pop(q, &it));
  assert_ptr_equal(it, (void *)3);
  assert_true(pl_queue_pop(q, &it));
  assert_ptr_equal(it, (void *)5);
  assert_false(pl_queue_pop(q, &it));
  pl_queue_free(q);
}

/* ------------------------------------------------------------------ pool */
static void add_one(void *p) { __atomic_fetch_add((int *)p, 1, __ATOMIC_SEQ_CST); }
static void test_pool_runs_everything(void **state) {
  (void)state;
  pl_pool *p = pl_pool_new(3);
  int n = 0;
  for (int i = 0; i < 1000; i++) pl_pool_submit(p, add_one, &n);
  pl_pool_wait(p);
  assert_int_equal(n, 1000);
  pl_pool_free(p);
}

/* ------------------------------------------------------------------ sizes, errors, hash */
static void test_parse_size(void **state) {
  (void)state;
  uint64_t v;
  pl_error err = {0};
  assert_int_equal(pl_parse_size("512MB", &v, &err), PL_OK);
  assert_int_equal(v, 512000000ull);
  assert_int_equal(pl_parse_size("2GB", &v, &err), PL_OK);
  assert_int_equal(v, 2000000000ull);
  assert_int_equal(pl_parse_size("64KiB", &v, &err), PL_OK);
  assert_int_equal(v, 65536);
  assert_int_equal(pl_parse_size("1.5GiB", &v, &err), PL_OK);
  assert_int_equal(v, 1610612736ull);
  assert_int_equal(pl_parse_size("12345", &v, &err), PL_OK);
  assert_int_equal(v, 12345);
  assert_int_equal(pl_parse_size("12 mb", &v, &err), PL_OK);
  assert_int_equal(v, 12000000);
  assert_int_equal(pl_parse_size("2G", &v, &err), PL_EINVAL);
  assert_non_null(strstr(err.msg, "unknown unit"));
  assert_int_equal(pl_parse_size("lots", &v, &err), PL_EINVAL);
  assert_int_equal(pl_parse_size("-5MB", &v, &err), PL_EINVAL);
}

static void test_error_prefix(void **state) {
  (void)state;
  pl_error err = {0};
  assert_int_equal(pl_error_set(&err, PL_ECORRUPT, "unknown physical type %d", 7), PL_ECORRUPT);
  pl_error_prefix(&err, "column '%s'", "x");
  pl_error_prefix(&err, "%s", "PARQUET-1481.parquet");
  assert_string_equal(err.msg, "PARQUET-1481.parquet: column 'x': unknown physical type 7");
  assert_int_equal(err.code, PL_ECORRUPT);
  assert_int_equal(pl_error_set(NULL, PL_EIO, "ignored"), PL_EIO);
}

static void test_hash(void **state) {
  (void)state;
  assert_int_equal(pl_hash64("abc", 3, 0), pl_hash64("abc", 3, 0));
  assert_int_not_equal(pl_hash64("abc", 3, 0), pl_hash64("abd", 3, 0));
  pl_hasher *h = pl_hasher_new(0);
  pl_hasher_update(h, "a", 1);
  pl_hasher_update(h, "bc", 2);
  assert_int_equal(pl_hasher_digest(h), pl_hash64("abc", 3, 0));
  pl_hasher_free(h);
}

static void test_dates_and_sprintf(void **state) {
  (void)state;
  assert_int_equal(pl_days_from_civil(1970, 1, 1), 0);
  assert_int_equal(pl_days_from_civil(2000, 3, 1), 11017);
  assert_int_equal(pl_days_from_civil(1969, 12, 31), -1);
  for (int64_t days = -800000; days <= 800000; days += 997) {
    int64_t y;
    unsigned m, d;
    pl_civil_from_days(days, &y, &m, &d);
    assert_true(m >= 1 && m <= 12 && d >= 1 && d <= 31);
    assert_int_equal(pl_days_from_civil(y, m, d), days);
  }
  char *s = pl_sprintf("%s-%05d", "part", 42);
  assert_string_equal(s, "part-00042");
  pl_free(s);
}

static void test_utf8_next(void **state) {
  (void)state;
  bool ok;
  assert_int_equal(pl_utf8_next((const uint8_t *)"a", 1, &ok), 1);
  assert_true(ok);
  assert_int_equal(pl_utf8_next((const uint8_t *)"\xc3\xa9", 2, &ok), 2); /* é */
  assert_true(ok);
  assert_int_equal(pl_utf8_next((const uint8_t *)"\xf0\x9f\x98\x80", 4, &ok), 4); /* U+1F600 */
  assert_true(ok);
  assert_int_equal(pl_utf8_next((const uint8_t *)"\xc0\xaf", 2, &ok), 1); /* overlong lead */
  assert_false(ok);
  assert_int_equal(pl_utf8_next((const uint8_t *)"\xed\xa0\x80", 3, &ok), 1); /* surrogate */
  assert_false(ok);
  assert_int_equal(pl_utf8_next((const uint8_t *)"\xe2\x82", 2, &ok), 2); /* truncated */
  assert_false(ok);
  assert_int_equal(pl_utf8_next((const uint8_t *)"\xf0\x9f\x41", 3, &ok), 2); /* bad 3rd byte */
  assert_false(ok);
  assert_int_equal(pl_utf8_next((const uint8_t *)"\xff", 1, &ok), 1);
  assert_false(ok);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_budget_contention),  cmocka_unit_test(test_budget_peak_exact),
      cmocka_unit_test(test_budget_peak_exact_concurrent),
      cmocka_unit_test(test_budget_wait_blocks_until_release),
      cmocka_unit_test(test_budget_grow_shrink),
      cmocka_unit_test(test_budget_alloc_charges), cmocka_unit_test(test_queue_no_loss_no_dup),
      cmocka_unit_test(test_queue_blocks_when_full), cmocka_unit_test(test_pool_runs_everything),
      cmocka_unit_test(test_parse_size),         cmocka_unit_test(test_error_prefix),
      cmocka_unit_test(test_hash), cmocka_unit_test(test_dates_and_sprintf),
      cmocka_unit_test(test_utf8_next),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

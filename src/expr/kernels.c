/* kernels.c — arithmetic, comparison, logic, selection and math over whole vectors. Each
 * operator has one tight loop per physical kind, written once through a macro; constants
 * are read at index i & m with m = 0, so one loop serves array/array, array/constant and
 * constant/array. Integer overflow is detected in the loop with a sticky flag; only when it
 * is set is the vector scanned again for the first valid, active row, which is reported.
 * Overflow in a null or unused row is no error. */
#include "expr/internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *text_of(const pl__ctx *c) { return c->e ? c->e->text : ""; }

static bool row_counts(const pl__vec *a, const pl__vec *b, const uint8_t *active, int64_t i) {
  return pl__valid(a, i) && (!b || pl__valid(b, i)) && (!active || active[i]);
}

static const char *type_name(pl_type_id id) {
  static const char *const names[] = {"bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"};
  return id <= PL_UINT64 ? names[id] : "integer";
}

/* ------------------------------------------------------------------ arithmetic */
static bool i64_op(int op, int64_t x, int64_t y, int64_t *r) {
  switch (op) {
  case '+': return __builtin_add_overflow(x, y, r);
  case '-': return __builtin_sub_overflow(x, y, r);
  case '*': return __builtin_mul_overflow(x, y, r);
  case '/': *r = y == 0 ? 0 : (x == INT64_MIN && y == -1) ? INT64_MIN : x / y; return y == -1 && x == INT64_MIN;
  default: *r = y == 0 || y == -1 ? 0 : x % y; return false;
  }
}

static bool u64_op(int op, uint64_t x, uint64_t y, uint64_t *r) {
  switch (op) {
  case '+': return __builtin_add_overflow(x, y, r);
  case '-': return __builtin_sub_overflow(x, y, r);
  case '*': return __builtin_mul_overflow(x, y, r);
  case '/': *r = y ? x / y : 0; return false;
  default: *r = y ? x % y : 0; return false;
  }
}

/* The loop body for ints: compute, note overflow past the type's range, store. */
#define INT_LOOP(T, FN, OP)                                                                                  \
  for (int64_t i = 0; i < rows; i++) {                                                                       \
    T r;                                                                                                     \
    bool o = FN(OP, A[i & ma], B[i & mb], &r);                                                               \
    bad |= o | ((int64_t)r < lo) | ((int64_t)r > hi);                                                        \
    O[i] = r;                                                                                                \
  }

static pl__vec *overflow_error(pl__ctx *c, const pl__node *n, pl__vec *a, pl__vec *b, int64_t i, pl__vec *out) {
  char x[32], y[32];
  int64_t ma = pl__m(a), mb = b ? pl__m(b) : 0;
  if (a->kind == V_U64) snprintf(x, sizeof x, "%llu", (unsigned long long)((uint64_t *)a->data)[i & ma]);
  else snprintf(x, sizeof x, "%lld", (long long)((int64_t *)a->data)[i & ma]);
  if (b && b->kind == V_U64) snprintf(y, sizeof y, "%llu", (unsigned long long)((uint64_t *)b->data)[i & mb]);
  else if (b) snprintf(y, sizeof y, "%lld", (long long)((int64_t *)b->data)[i & mb]);
  const char *tn = type_name(out->tid);
  if (b)
    pl__error_at(c->err, PL_EINVAL, text_of(c), n->pos,
                 "%s overflow at row %lld: %s %c %s does not fit %s (cast an operand to a wider type, e.g. "
                 "cast(x as int64) or x::float64)",
                 tn, (long long)(c->row0 + i), x, n->op, y, tn);
  else
    pl__error_at(c->err, PL_EINVAL, text_of(c), n->pos, "%s overflow at row %lld: %s(%s) does not fit %s", tn,
                 (long long)(c->row0 + i), n->kind == N_NEG ? "-" : "abs", x, tn);
  pl__vec_free(c, out);
  return NULL;
}

pl__vec *pl__k_arith(pl__ctx *c, const pl__node *n, pl__vec *a, pl__vec *b, const uint8_t *active) {
  pl__vec *in[2] = {a, b};
  int64_t rows = pl__rows(c, in, 2), ma = pl__m(a), mb = pl__m(b);
  pl__vec *v = pl__vec_array_nz(c, a->kind, n->type.id, rows);
  if (!v) return NULL;
  v->cnst = rows == 1 && a->cnst && b->cnst;
  if (pl__valid_and(c, v, in, 2)) goto fail;
  int op = n->op;
  bool divides = op == '/' || op == '%';
  if (a->kind == V_I64) {
    const int64_t *A = a->data, *B = b->data;
    int64_t *O = v->data, lo, hi;
    pl__int_range(v->tid, &lo, &hi);
    bool bad = false;
    switch (op) {
    case '+': INT_LOOP(int64_t, i64_op, '+') break;
    case '-': INT_LOOP(int64_t, i64_op, '-') break;
    case '*': INT_LOOP(int64_t, i64_op, '*') break;
    case '/': INT_LOOP(int64_t, i64_op, '/') break;
    default: INT_LOOP(int64_t, i64_op, '%') break;
    }
    if (bad)
      for (int64_t i = 0; i < rows; i++) {
        int64_t r;
        bool o = i64_op(op, A[i & ma], B[i & mb], &r);
        if ((o || r < lo || r > hi) && !(divides && B[i & mb] == 0) && row_counts(a, b, active, i))
          return overflow_error(c, n, a, b, i, v);
      }
  } else if (a->kind == V_U64) {
    const uint64_t *A = a->data, *B = b->data;
    uint64_t *O = v->data;
    int64_t lo = INT64_MIN, hi = INT64_MAX; /* uint64 values pass the signed range test as they wrap */
    bool bad = false;
    (void)lo, (void)hi;
    for (int64_t i = 0; i < rows; i++) {
      uint64_t r;
      bad |= u64_op(op, A[i & ma], B[i & mb], &r);
      O[i] = r;
    }
    if (bad)
      for (int64_t i = 0; i < rows; i++) {
        uint64_t r;
        if (u64_op(op, A[i & ma], B[i & mb], &r) && row_counts(a, b, active, i)) return overflow_error(c, n, a, b, i, v);
      }
  } else {
    const double *A = a->data, *B = b->data;
    double *O = v->data;
    switch (op) {
    case '+': for (int64_t i = 0; i < rows; i++) O[i] = A[i & ma] + B[i & mb]; break;
    case '-': for (int64_t i = 0; i < rows; i++) O[i] = A[i & ma] - B[i & mb]; break;
    case '*': for (int64_t i = 0; i < rows; i++) O[i] = A[i & ma] * B[i & mb]; break;
    case '/': for (int64_t i = 0; i < rows; i++) O[i] = B[i & mb] == 0 ? 0 : A[i & ma] / B[i & mb]; break;
    default: for (int64_t i = 0; i < rows; i++) O[i] = B[i & mb] == 0 ? 0 : fmod(A[i & ma], B[i & mb]); break;
    }
    if (v->tid == PL_FLOAT32)
      for (int64_t i = 0; i < rows; i++) O[i] = pl__f32(O[i]);
  }
  if (divides) {
    /* x / 0 and x % 0 are null, whatever the type */
    bool any = false;
    for (int64_t i = 0; i < rows && !any; i++)
      any = a->kind == V_F64 ? ((double *)b->data)[i & mb] == 0 : ((uint64_t *)b->data)[i & mb] == 0;
    if (any) {
      uint8_t *ok = pl__valid_make(c, v);
      if (!ok) goto fail;
      for (int64_t i = 0; i < rows; i++)
        if (a->kind == V_F64 ? ((double *)b->data)[i & mb] == 0 : ((uint64_t *)b->data)[i & mb] == 0) ok[i] = 0;
    }
  }
  return v;
fail:
  pl__vec_free(c, v);
  return NULL;
}

pl__vec *pl__k_neg(pl__ctx *c, const pl__node *n, pl__vec *a, const uint8_t *active) {
  int64_t rows = pl__rows(c, &a, 1), m = pl__m(a);
  pl__vec *v = pl__vec_array_nz(c, a->kind, n->type.id, rows);
  if (!v) return NULL;
  v->cnst = a->cnst;
  if (pl__valid_and(c, v, &a, 1)) goto fail;
  if (a->kind == V_F64) {
    const double *A = a->data;
    double *O = v->data;
    for (int64_t i = 0; i < rows; i++) O[i] = -A[i & m];
    return v;
  }
  const int64_t *A = a->data;
  int64_t *O = v->data, lo, hi;
  pl__int_range(v->tid, &lo, &hi);
  bool bad = false;
  for (int64_t i = 0; i < rows; i++) {
    bool o = __builtin_sub_overflow((int64_t)0, A[i & m], &O[i]);
    bad |= o | (O[i] < lo) | (O[i] > hi);
  }
  if (bad)
    for (int64_t i = 0; i < rows; i++)
      if ((A[i & m] == INT64_MIN || -A[i & m] < lo || -A[i & m] > hi) && row_counts(a, NULL, active, i))
        return overflow_error(c, n, a, NULL, i, v);
  return v;
fail:
  pl__vec_free(c, v);
  return NULL;
}

/* ------------------------------------------------------------------ comparisons */
#define CMP_LOOP(TA, TB, E)                                                                                  \
  for (int64_t i = 0; i < rows; i++) {                                                                       \
    TA x = A[i & ma];                                                                                        \
    TB y = B[i & mb];                                                                                        \
    O[i] = (E);                                                                                              \
  }
#define CMP_ALL(TA, TB, EQ, NE, LT, LE, GT, GE)                                                              \
  do {                                                                                                       \
    const TA *A = a->data;                                                                                   \
    const TB *B = b->data;                                                                                   \
    switch (op) {                                                                                            \
    case C_EQ: CMP_LOOP(TA, TB, EQ) break;                                                                   \
    case C_NE: CMP_LOOP(TA, TB, NE) break;                                                                   \
    case C_LT: CMP_LOOP(TA, TB, LT) break;                                                                   \
    case C_LE: CMP_LOOP(TA, TB, LE) break;                                                                   \
    case C_GT: CMP_LOOP(TA, TB, GT) break;                                                                   \
    default: CMP_LOOP(TA, TB, GE) break;                                                                     \
    }                                                                                                        \
  } while (0)
#define PLAIN(T) CMP_ALL(T, T, x == y, x != y, x < y, x <= y, x > y, x >= y)

static int str_cmp(const pl__vec *a, const pl__vec *b, int64_t i) {
  size_t la = pl__slen(a, i), lb = pl__slen(b, i);
  int r = memcmp(pl__sptr(a, i), pl__sptr(b, i), la < lb ? la : lb);
  return r ? r : (la > lb) - (la < lb);
}

pl__vec *pl__k_cmp(pl__ctx *c, int op, pl__vec *a, pl__vec *b) {
  if (a->kind == V_U64 && b->kind == V_I64) { /* mirror so the mixed loop has int64 on the left */
    static const int mirror[] = {C_EQ, C_NE, C_GT, C_GE, C_LT, C_LE};
    pl__vec *t = a;
    a = b, b = t, op = mirror[op];
  }
  pl__vec *in[2] = {a, b};
  int64_t rows = pl__rows(c, in, 2), ma = pl__m(a), mb = pl__m(b);
  pl__vec *v = pl__vec_array_nz(c, V_BOOL, PL_BOOL, rows);
  if (!v) return NULL;
  v->cnst = rows == 1 && a->cnst && b->cnst;
  if (pl__valid_and(c, v, in, 2)) {
    pl__vec_free(c, v);
    return NULL;
  }
  uint8_t *O = v->data;
  if (a->kind == V_I64 && b->kind == V_U64) {
    CMP_ALL(int64_t, uint64_t, x >= 0 && (uint64_t)x == y, x < 0 || (uint64_t)x != y, x < 0 || (uint64_t)x < y,
            x < 0 || (uint64_t)x <= y, x >= 0 && (uint64_t)x > y, x >= 0 && (uint64_t)x >= y);
    return v;
  }
  switch (a->kind) {
  case V_BOOL: PLAIN(uint8_t); break;
  case V_I64: PLAIN(int64_t); break;
  case V_U64: PLAIN(uint64_t); break;
  case V_F64: PLAIN(double); break; /* IEEE: NaN equals nothing, orders with nothing */
  case V_STR:
    for (int64_t i = 0; i < rows; i++) {
      int r = str_cmp(a, b, i);
      O[i] = op == C_EQ ? r == 0 : op == C_NE ? r != 0 : op == C_LT ? r < 0 : op == C_LE ? r <= 0 : op == C_GT ? r > 0 : r >= 0;
    }
    break;
  case V_OPAQUE: break;
  }
  return v;
}

/* ------------------------------------------------------------------ logic */
/* SQL three-valued logic, branch-free: for `and`, a definite false on either side wins over
 * null; for `or`, a definite true does. */
pl__vec *pl__k_and_or(pl__ctx *c, bool is_and, pl__vec *a, pl__vec *b) {
  pl__vec *in[2] = {a, b};
  int64_t rows = pl__rows(c, in, 2), ma = pl__m(a), mb = pl__m(b);
  pl__vec *v = pl__vec_array_nz(c, V_BOOL, PL_BOOL, rows);
  if (!v) return NULL;
  v->cnst = rows == 1 && a->cnst && b->cnst;
  const uint8_t *A = a->data, *B = b->data, *VA = a->valid, *VB = b->valid;
  uint8_t *O = v->data;
  if (!VA && !VB) {
    if (is_and)
      for (int64_t i = 0; i < rows; i++) O[i] = A[i & ma] & B[i & mb];
    else
      for (int64_t i = 0; i < rows; i++) O[i] = A[i & ma] | B[i & mb];
    return v;
  }
  uint8_t *ok = pl__valid_make(c, v);
  if (!ok) {
    pl__vec_free(c, v);
    return NULL;
  }
  for (int64_t i = 0; i < rows; i++) {
    uint8_t va = VA ? VA[i & ma] : 1, vb = VB ? VB[i & mb] : 1, x = A[i & ma] & va, y = B[i & mb] & vb;
    if (is_and) {
      uint8_t decided_false = (va & !x) | (vb & !y);
      ok[i] = (va & vb) | decided_false;
      O[i] = x & y;
    } else {
      ok[i] = (va & vb) | x | y;
      O[i] = x | y;
    }
  }
  return v;
}

pl__vec *pl__k_not(pl__ctx *c, pl__vec *a) {
  int64_t rows = pl__rows(c, &a, 1), m = pl__m(a);
  pl__vec *v = pl__vec_array_nz(c, V_BOOL, PL_BOOL, rows);
  if (!v) return NULL;
  v->cnst = a->cnst;
  if (pl__valid_and(c, v, &a, 1)) {
    pl__vec_free(c, v);
    return NULL;
  }
  const uint8_t *A = a->data;
  uint8_t *O = v->data;
  for (int64_t i = 0; i < rows; i++) O[i] = !A[i & m];
  return v;
}

pl__vec *pl__k_isnull(pl__ctx *c, pl__vec *a, bool negate) {
  int64_t rows = pl__rows(c, &a, 1), m = pl__m(a);
  pl__vec *v = pl__vec_array_nz(c, V_BOOL, PL_BOOL, rows);
  if (!v) return NULL;
  v->cnst = a->cnst;
  uint8_t *O = v->data;
  for (int64_t i = 0; i < rows; i++) O[i] = (uint8_t)((a->valid ? !a->valid[i & m] : 0) ^ negate);
  return v;
}

/* ------------------------------------------------------------------ selection */
pl__vec *pl__k_pick(pl__ctx *c, pl__vkind kind, pl_type_id tid, pl__vec *const *v, const int8_t *pick, int64_t n) {
  if (kind == V_STR) {
    pl__strb sb;
    if (pl__strb_init(c, &sb, tid, n)) return NULL;
    size_t total = 0;
    for (int64_t i = 0; i < n; i++)
      if (pick[i] >= 0 && pl__valid(v[pick[i]], i)) total += pl__slen(v[pick[i]], i);
    if (pl_buf_reserve_total(&sb.buf, total, c->err)) goto str_fail;
    for (int64_t i = 0; i < n; i++) {
      const pl__vec *s = pick[i] >= 0 ? v[pick[i]] : NULL;
      bool ok = s && pl__valid(s, i);
      if (pl__strb_push(c, &sb, i, ok ? pl__sptr(s, i) : NULL, ok ? pl__slen(s, i) : 0)) goto str_fail;
    }
    pl__vec *out = pl__strb_finish(c, &sb);
    uint8_t *valid = pl__valid_make(c, out);
    if (!valid) {
      pl__vec_free(c, out);
      return NULL;
    }
    for (int64_t i = 0; i < n; i++) valid[i] = pick[i] >= 0 && pl__valid(v[pick[i]], i);
    return out;
  str_fail:
    pl__strb_abort(c, &sb);
    return NULL;
  }
  pl__vec *out = pl__vec_array(c, kind, tid, n);
  if (!out) return NULL;
  uint8_t *valid = pl__valid_make(c, out);
  if (!valid) {
    pl__vec_free(c, out);
    return NULL;
  }
  size_t w = kind == V_BOOL ? 1 : 8;
  uint8_t *O = out->data;
  for (int64_t i = 0; i < n; i++) {
    const pl__vec *s = pick[i] >= 0 ? v[pick[i]] : NULL;
    if (!s || !pl__valid(s, i)) {
      valid[i] = 0;
      continue;
    }
    valid[i] = 1;
    if (kind != V_OPAQUE) memcpy(O + (size_t)i * w, (const uint8_t *)s->data + (size_t)(i & pl__m(s)) * w, w);
  }
  return out;
}

/* ------------------------------------------------------------------ math */
static double round_digits(double x, int64_t d) {
  if (d > 340 || d < -340) return d > 0 ? x : 0 * x;
  double f = pow(10.0, (double)d), y = x * f;
  if (!isfinite(y)) return x;
  return round(y) / f;
}

pl__vec *pl__k_math(pl__ctx *c, const pl__node *n, pl__vec *const *in, const uint8_t *active) {
  pl__vec *a = in[0], *b = n->nargs > 1 ? in[1] : NULL;
  int64_t rows = pl__rows(c, in, (int)n->nargs), ma = pl__m(a), mb = b ? pl__m(b) : 0;
  pl__vec *v = pl__vec_array(c, a->kind == V_I64 && n->op != F_ABS && n->op != F_ROUND && n->op != F_FLOOR && n->op != F_CEIL ? V_F64 : a->kind,
                             n->type.id, rows);
  if (!v) return NULL;
  v->cnst = rows == 1;
  if (pl__valid_and(c, v, in, (int)n->nargs)) goto fail;
  if (a->kind != V_F64) { /* abs, round, floor, ceil of integers */
    size_t w = 8;
    memcpy(v->data, a->data, (size_t)(rows == 1 || a->cnst ? 1 : rows) * w);
    if (a->cnst && rows > 1)
      for (int64_t i = 1; i < rows; i++) ((int64_t *)v->data)[i] = ((int64_t *)a->data)[0];
    if (n->op == F_ABS && a->kind == V_I64) {
      int64_t *O = v->data, lo, hi;
      pl__int_range(v->tid, &lo, &hi);
      for (int64_t i = 0; i < rows; i++) {
        int64_t x = O[i];
        if (x < 0 && (x == INT64_MIN || -x > hi)) {
          if (row_counts(a, NULL, active, i)) return overflow_error(c, n, a, NULL, i, v);
          O[i] = 0;
        } else if (x < 0) {
          O[i] = -x;
        }
      }
    }
    return v;
  }
  const double *A = a->data, *B = b ? b->data : NULL;
  double *O = v->data;
  switch (n->op) {
  case F_ABS: for (int64_t i = 0; i < rows; i++) O[i] = fabs(A[i & ma]); break;
  case F_FLOOR: for (int64_t i = 0; i < rows; i++) O[i] = floor(A[i & ma]); break;
  case F_CEIL: for (int64_t i = 0; i < rows; i++) O[i] = ceil(A[i & ma]); break;
  case F_ROUND:
    if (!b) for (int64_t i = 0; i < rows; i++) O[i] = round(A[i & ma]);
    else for (int64_t i = 0; i < rows; i++) O[i] = round_digits(A[i & ma], ((int64_t *)b->data)[i & mb]);
    if (v->tid == PL_FLOAT32) for (int64_t i = 0; i < rows; i++) O[i] = pl__f32(O[i]);
    break;
  case F_SQRT: for (int64_t i = 0; i < rows; i++) O[i] = sqrt(A[i & ma]); break;
  case F_LN: for (int64_t i = 0; i < rows; i++) O[i] = log(A[i & ma]); break;
  case F_LOG10: for (int64_t i = 0; i < rows; i++) O[i] = log10(A[i & ma]); break;
  case F_EXP: for (int64_t i = 0; i < rows; i++) O[i] = exp(A[i & ma]); break;
  case F_POW: for (int64_t i = 0; i < rows; i++) O[i] = pow(A[i & ma], B[i & mb]); break;
  }
  if (n->op == F_SQRT || n->op == F_LN || n->op == F_LOG10 || n->op == F_EXP || n->op == F_POW) {
    /* A result that is not a finite number while the inputs are is null: sqrt(-1), ln(0),
     * exp(1000), pow(0, -1). */
    uint8_t *ok = NULL;
    for (int64_t i = 0; i < rows; i++) {
      if (isfinite(O[i]) || !isfinite(A[i & ma]) || (B && !isfinite(B[i & mb]))) continue;
      if (!ok && !(ok = pl__valid_make(c, v))) goto fail;
      ok[i] = 0;
      O[i] = 0;
    }
  }
  return v;
fail:
  pl__vec_free(c, v);
  return NULL;
}

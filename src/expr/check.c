/* check.c — types the parsed tree against a schema. It resolves columns (suggesting the nearest
 * name when one is missing), picks each operator's result type with SQL-like promotion, and
 * makes every conversion explicit by inserting implicit N_CAST nodes, so that the kernels only
 * ever see operands of one physical kind. Regex patterns are compiled here, once. */
#include "expr/internal.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

typedef struct {
  const char *text;
  const pl_schema *schema;
  int32_t *err_pos;
  pl_error *err;
} checker;

static pl_status fail(checker *ck, int32_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static pl_status fail(checker *ck, int32_t pos, const char *fmt, ...) {
  char what[640];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (ck->err_pos) *ck->err_pos = pos;
  pl__error_at(ck->err, PL_EINVAL, ck->text, pos, "%s", what);
  return PL_EINVAL;
}

static const struct {
  const char *name;
  int id, min, max;
} fns[] = {
    {"length", F_LENGTH, 1, 1},       {"lower", F_LOWER, 1, 1},       {"upper", F_UPPER, 1, 1},
    {"trim", F_TRIM, 1, 1},           {"ltrim", F_LTRIM, 1, 1},       {"rtrim", F_RTRIM, 1, 1},
    {"contains", F_CONTAINS, 2, 2},   {"starts_with", F_STARTS_WITH, 2, 2}, {"ends_with", F_ENDS_WITH, 2, 2},
    {"substr", F_SUBSTR, 2, 3},       {"concat", F_CONCAT, 1, 64},    {"replace", F_REPLACE, 3, 3},
    {"matches", F_MATCHES, 2, 2},     {"abs", F_ABS, 1, 1},           {"round", F_ROUND, 1, 2},
    {"floor", F_FLOOR, 1, 1},         {"ceil", F_CEIL, 1, 1},         {"sqrt", F_SQRT, 1, 1},
    {"ln", F_LN, 1, 1},               {"log10", F_LOG10, 1, 1},       {"exp", F_EXP, 1, 1},
    {"pow", F_POW, 2, 2},             {"least", F_LEAST, 1, 64},      {"greatest", F_GREATEST, 1, 64},
    {"coalesce", F_COALESCE, 1, 64},  {"if", F_IF, 3, 3},
};
#define N_FNS ((int)(sizeof fns / sizeof fns[0]))

const char *pl__fn_name(int id) {
  for (int i = 0; i < N_FNS; i++)
    if (fns[i].id == id) return fns[i].name;
  return "?";
}

/* ------------------------------------------------------------------ did you mean */
/* Optimal string alignment distance (Levenshtein plus adjacent transpositions), ignoring
 * ASCII case, so 'widht' is 1 away from 'width'. */
static int osa_distance(const char *a, const char *b) {
  size_t n = strlen(a), m = strlen(b);
  if (n > 64 || m > 64) return 1000;
  int d[65][65];
  for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= n; i++)
    for (size_t j = 1; j <= m; j++) {
      int cost = tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
      int v = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < v) v = d[i][j - 1] + 1;
      if (d[i - 1][j - 1] + cost < v) v = d[i - 1][j - 1] + cost;
      if (i > 1 && j > 1 && tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 2]) &&
          tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]) && d[i - 2][j - 2] + 1 < v)
        v = d[i - 2][j - 2] + 1;
      d[i][j] = v;
    }
  return d[n][m];
}

/* The nearest of names[] to name, or NULL when none is close (at most 2 edits, and fewer
 * edits than the name has characters). */
static const char *nearest(const char *name, const char *const *names, int count) {
  const char *best = NULL;
  int best_d = 3;
  int limit = (int)strlen(name);
  for (int i = 0; i < count; i++) {
    int d = osa_distance(name, names[i]);
    if (d < best_d && d < limit) {
      best_d = d;
      best = names[i];
    }
  }
  return best;
}

/* ------------------------------------------------------------------ types */
static bool is_int(pl_type_id id) { return id >= PL_INT8 && id <= PL_UINT64; }
static bool is_signed(pl_type_id id) { return id >= PL_INT8 && id <= PL_INT64; }
static bool is_float(pl_type_id id) { return id == PL_FLOAT32 || id == PL_FLOAT64; }
static bool is_num(pl_type_id id) { return is_int(id) || is_float(id); }
static bool is_str(pl_type_id id) { return id == PL_STRING || id == PL_BINARY; }
static int int_width(pl_type_id id) {
  static const int w[] = {1, 2, 4, 8};
  return is_signed(id) ? w[id - PL_INT8] : w[id - PL_UINT8];
}
static pl_type_id signed_of(int w) { return w == 1 ? PL_INT8 : w == 2 ? PL_INT16 : w == 4 ? PL_INT32 : PL_INT64; }
static pl_type_id unsigned_of(int w) { return w == 1 ? PL_UINT8 : w == 2 ? PL_UINT16 : w == 4 ? PL_UINT32 : PL_UINT64; }

static const char *tname(const pl_type *t, char *buf, size_t cap) {
  if (t->id == T_NULL) return "null";
  pl_type_canonical(t, buf, cap);
  return buf;
}

static void set_type(pl__node *n, pl_type t /* taken */) {
  if (n->type.id != T_NULL) pl_type_release(&n->type);
  n->type = t;
}

static pl_type_id common_int(pl_type_id a, pl_type_id b) {
  int wa = int_width(a), wb = int_width(b);
  if (is_signed(a) == is_signed(b)) {
    int w = wa > wb ? wa : wb;
    return is_signed(a) ? signed_of(w) : unsigned_of(w);
  }
  int ws = is_signed(a) ? wa : wb, wu = is_signed(a) ? wb : wa;
  if (wu < ws) return signed_of(ws);
  if (wu < 8) return signed_of(2 * wu > ws ? 2 * wu : ws);
  return PL_INT64; /* uint64 with a signed type: values above INT64_MAX fail at run time */
}

static bool lit_fits(const pl__node *n, pl_type_id id) {
  int64_t lo, hi;
  if (id == PL_UINT64) return n->lit_i >= 0;
  pl__int_range(id, &lo, &hi);
  return n->lit_i >= lo && n->lit_i <= hi;
}

/* The numeric type two operands meet at, or T_NULL when they are not both numeric. */
static pl_type_id common_num(const pl__node *a, const pl__node *b) {
  pl_type_id ta = a->type.id, tb = b->type.id;
  if (!is_num(ta) || !is_num(tb)) return T_NULL;
  if (a->untyped_int && b->untyped_int) return PL_INT64;
  if (a->untyped_int || b->untyped_int) {
    const pl__node *lit = a->untyped_int ? a : b;
    pl_type_id other = a->untyped_int ? tb : ta;
    if (is_float(other)) return other;
    if (lit_fits(lit, other)) return other;
    return common_int(PL_INT64, other);
  }
  if (is_float(ta) || is_float(tb)) return ta == PL_FLOAT32 && tb == PL_FLOAT32 ? PL_FLOAT32 : PL_FLOAT64;
  return common_int(ta, tb);
}

/* Makes *slot produce type t: literals are retyped in place, anything else is wrapped in an
 * implicit cast. The conversions requested here are those `unify` allows. */
static void coerce(pl__node **slot, const pl_type *t) {
  pl__node *n = *slot;
  if (n->type.id == t->id && (t->id != PL_TIMESTAMP || n->type.unit == t->unit)) {
    n->untyped_int = false; /* the context has decided */
    return;
  }
  /* Literals take a numeric type (or any type, for null) in place; the checker made sure an
   * integer literal fits the type it is given. */
  if (n->kind == N_LIT && (n->lit == L_NULL || (n->lit == L_INT && n->untyped_int && is_num(t->id)))) {
    pl_type c;
    pl_type_copy(&c, t);
    set_type(n, c);
    n->untyped_int = false;
    return;
  }
  pl__node *c = pl__node_new(N_CAST, n->pos);
  c->is_implicit = true;
  pl_type_copy(&c->cast_type, t);
  pl_type_copy(&c->type, t);
  c->nullable = n->nullable;
  c->untyped_int = false;
  pl__node_add(c, n);
  *slot = c;
}

/* The type that values of a and b meet at in comparisons, in, between, coalesce, case:
 * numbers promote, strings meet binary as binary, null meets anything. Returns false if
 * they do not meet. For comparisons (for_cmp) uint64 against a signed type stays mixed:
 * out_a / out_b receive the types each side is cast to. */
static bool unify2(const pl__node *a, const pl__node *b, bool for_cmp, pl_type *out_a, pl_type *out_b) {
  pl_type_id ta = a->type.id, tb = b->type.id;
  if (ta == T_NULL && tb == T_NULL) { /* still open: a later operand (or the end) decides */
    memset(out_a, 0, sizeof *out_a);
    memset(out_b, 0, sizeof *out_b);
    out_a->id = out_b->id = T_NULL;
    return true;
  }
  if (ta == T_NULL || tb == T_NULL) {
    const pl_type *t = ta == T_NULL ? &b->type : &a->type;
    if (t->id == PL_INT64 || !(ta == T_NULL ? b : a)->untyped_int) {
      pl_type_copy(out_a, t);
      pl_type_copy(out_b, t);
    } else {
      *out_a = pl_type_make(PL_INT64);
      *out_b = pl_type_make(PL_INT64);
    }
    return true;
  }
  pl_type_id c = common_num(a, b);
  if (c != T_NULL) {
    /* uint64 against a signed value (a column, or a negative literal): compare exactly,
     * without forcing the uint64 side into int64 */
    bool ua = ta == PL_UINT64 && !a->untyped_int, ub = tb == PL_UINT64 && !b->untyped_int;
    if (for_cmp && c == PL_INT64 && is_int(ta) && is_int(tb) && ua != ub) {
      *out_a = pl_type_make(ta == PL_UINT64 ? PL_UINT64 : PL_INT64);
      *out_b = pl_type_make(tb == PL_UINT64 ? PL_UINT64 : PL_INT64);
      return true;
    }
    *out_a = pl_type_make(c);
    *out_b = pl_type_make(c);
    return true;
  }
  if (is_str(ta) && is_str(tb)) {
    pl_type_id s = ta == tb ? ta : PL_BINARY;
    *out_a = pl_type_make(s);
    *out_b = pl_type_make(s);
    return true;
  }
  if (ta == tb && (ta == PL_BOOL || ta == PL_DATE32 || ((ta == PL_TIMESTAMP || ta == PL_TIME) && a->type.unit == b->type.unit))) {
    pl_type_copy(out_a, &a->type);
    pl_type_copy(out_b, &b->type);
    return true;
  }
  /* A date or timestamp against a string literal: the literal is parsed (and checked) here. */
  const pl__node *lit = a->kind == N_LIT && a->lit == L_STRING ? a : b->kind == N_LIT && b->lit == L_STRING ? b : NULL;
  const pl__node *other = lit == a ? b : a;
  if (lit && (other->type.id == PL_DATE32 || other->type.id == PL_TIMESTAMP)) {
    pl_type_copy(out_a, &other->type);
    pl_type_copy(out_b, &other->type);
    return true;
  }
  return false;
}

static pl_status type_error2(checker *ck, const pl__node *at, const char *what, const pl__node *a,
                             const pl__node *b) {
  char x[128], y[128];
  return fail(ck, at->pos, "%s: %s and %s do not mix (use cast(x as T) to convert one side)", what,
              tname(&a->type, x, sizeof x), tname(&b->type, y, sizeof y));
}

/* Unifies args[from..] (every one with every other) and coerces them all to the result. */
static pl_status unify_all(checker *ck, pl__node *n, int from, int step, const char *what) {
  pl__node *acc = NULL;
  for (int i = from; i < n->nargs; i += step) {
    if (!acc) {
      acc = n->args[i];
      continue;
    }
    pl_type ta, tb;
    if (!unify2(acc, n->args[i], false, &ta, &tb)) return type_error2(ck, n->args[i], what, acc, n->args[i]);
    pl_type_release(&tb);
    /* acc stands for the type so far: a node whose type is the unified one. */
    if (ta.id != acc->type.id || acc->untyped_int || (ta.id == PL_TIMESTAMP && ta.unit != acc->type.unit)) {
      for (int k = from; k < i; k += step) coerce(&n->args[k], &ta);
      acc = n->args[from];
    }
    coerce(&n->args[i], &ta);
    pl_type_release(&ta);
  }
  /* Values that were all untyped integers or nulls still need a concrete type. */
  if (acc && (acc->untyped_int || acc->type.id == T_NULL)) {
    pl_type t = pl_type_make(acc->untyped_int ? PL_INT64 : PL_BOOL);
    for (int k = from; k < n->nargs; k += step) coerce(&n->args[k], &t);
    pl_type_release(&t);
  }
  return PL_OK;
}

/* For `in` and `between`, which only compare: uint64 values met by signed ones stay uint64
 * (the comparison kernel compares the two exactly) instead of going through int64. */
static bool unify_mixed_u64(pl__node *n) {
  bool has_u = false, has_s = false;
  for (int32_t i = 0; i < n->nargs; i++) {
    const pl__node *a = n->args[i];
    pl_type_id id = a->type.id;
    if (id == T_NULL) continue;
    if (!is_int(id)) return false;
    if (id == PL_UINT64 && !a->untyped_int) has_u = true;
    else if (is_signed(id) && (!a->untyped_int || !lit_fits(a, PL_UINT64))) has_s = true;
  }
  if (!has_u || !has_s) return false;
  pl_type t = pl_type_make(PL_INT64);
  for (int32_t i = 0; i < n->nargs; i++)
    if (n->args[i]->type.id != PL_UINT64 || n->args[i]->untyped_int) coerce(&n->args[i], &t);
  return true;
}

/* ------------------------------------------------------------------ casts */
static bool cast_target_ok(pl_type_id t) {
  return t == PL_BOOL || is_num(t) || is_str(t) || t == PL_DATE32 || t == PL_TIMESTAMP;
}

static bool cast_allowed(pl_type_id from, pl_type_id to) {
  if (!cast_target_ok(to) && from != to) return false;
  if (from == T_NULL || from == to) return true;
  if (from == PL_TIME) return is_int(to);
  if (is_str(to)) return from == PL_BOOL || is_num(from) || is_str(from) || from == PL_DATE32 || from == PL_TIMESTAMP;
  if (is_str(from)) return true;
  if ((is_num(from) || from == PL_BOOL) && (is_num(to) || to == PL_BOOL)) return true;
  if ((from == PL_DATE32 || from == PL_TIMESTAMP) && (is_int(to) || to == PL_DATE32 || to == PL_TIMESTAMP)) return true;
  if (is_int(from) && (to == PL_DATE32 || to == PL_TIMESTAMP)) return true;
  return false;
}

/* A constant string cast to a date or timestamp is parsed now, not at every batch, so that
 * `day >= '2024-13-01'` is a compile error. */
static pl_status validate_literal_cast(checker *ck, const pl__node *n) {
  if (n->kind != N_CAST || n->nargs != 1) return PL_OK;
  const pl__node *a = n->args[0];
  pl_type_id to = n->cast_type.id;
  if (a->kind != N_LIT || a->lit != L_STRING || (to != PL_DATE32 && to != PL_TIMESTAMP)) return PL_OK;
  pl__ctx c = {.err = ck->err, .n = 1};
  pl__vec *v = pl__vec_literal(a), *r = pl__k_cast(&c, n, v, NULL);
  bool ok = r && pl__valid(r, 0);
  pl__vec_free(&c, v);
  pl__vec_free(&c, r);
  if (ok) return PL_OK;
  return fail(ck, a->pos, "'%s' is not a %s (expected %s)", a->lit_s, to == PL_DATE32 ? "date" : "timestamp",
              to == PL_DATE32 ? "YYYY-MM-DD" : "YYYY-MM-DD[ HH:MM:SS[.ffffff]]");
}

static pl_status validate_args(checker *ck, const pl__node *n) {
  for (int32_t i = 0; i < n->nargs; i++) {
    pl_status st = validate_literal_cast(ck, n->args[i]);
    if (st) return st;
  }
  return PL_OK;
}

/* ------------------------------------------------------------------ the walk */
static pl_status check_node(checker *ck, pl__node **slot);

static pl_status need_bool(checker *ck, pl__node **slot, const char *what) {
  pl__node *a = *slot;
  char x[128];
  if (a->type.id == PL_BOOL) return PL_OK;
  if (a->type.id == T_NULL) {
    pl_type t = pl_type_make(PL_BOOL);
    coerce(slot, &t);
    return PL_OK;
  }
  return fail(ck, a->pos, "%s needs a bool, got %s (compare it: x != 0, x is not null)", what,
              tname(&a->type, x, sizeof x));
}

static pl_status need_str(checker *ck, pl__node **slot, const char *what, bool binary_ok) {
  pl__node *a = *slot;
  char x[128];
  if (a->type.id == PL_STRING || (binary_ok && a->type.id == PL_BINARY)) return PL_OK;
  if (a->type.id == T_NULL) {
    pl_type t = pl_type_make(PL_STRING);
    coerce(slot, &t);
    return PL_OK;
  }
  return fail(ck, a->pos, "%s needs a string, got %s (convert it with cast(x as string))", what,
              tname(&a->type, x, sizeof x));
}

static pl_status need_num(checker *ck, pl__node **slot, const char *what, bool int_only) {
  pl__node *a = *slot;
  char x[128];
  if (int_only ? is_int(a->type.id) : is_num(a->type.id)) return PL_OK;
  if (a->type.id == T_NULL) {
    pl_type t = pl_type_make(int_only ? PL_INT64 : PL_FLOAT64);
    coerce(slot, &t);
    return PL_OK;
  }
  return fail(ck, a->pos, "%s needs %s, got %s", what, int_only ? "an integer" : "a number",
              tname(&a->type, x, sizeof x));
}

/* An untyped integer (or null) where a concrete type is needed on its own. */
static void settle(pl__node **slot, pl_type_id id) {
  if ((*slot)->untyped_int || (*slot)->type.id == T_NULL) {
    pl_type t = pl_type_make(id);
    coerce(slot, &t);
  }
}

static pl_status check_column(checker *ck, pl__node *n) {
  int32_t i = pl_schema_find(ck->schema, n->name);
  if (i < 0) {
    const pl_schema *s = ck->schema;
    const char **names = pl_malloc(sizeof *names * (size_t)(s->n_fields > 0 ? s->n_fields : 1));
    for (int32_t k = 0; k < s->n_fields; k++) names[k] = s->fields[k].name;
    const char *near = nearest(n->name, names, s->n_fields);
    pl_status st;
    if (near) st = fail(ck, n->pos, "field '%s' not found; did you mean '%s'?", n->name, near);
    else if (s->n_fields == 0) st = fail(ck, n->pos, "field '%s' not found (the input has no fields)", n->name);
    else {
      char list[400];
      size_t len = 0;
      list[0] = 0;
      for (int32_t k = 0; k < s->n_fields && len < sizeof list - 40; k++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s'%s'", k ? ", " : "", names[k]);
      if (len >= sizeof list - 40) snprintf(list + len, sizeof list - len, ", ...");
      st = fail(ck, n->pos, "field '%s' not found (fields: %s)", n->name, list);
    }
    pl_free(names);
    return st;
  }
  n->col = i;
  const pl_field *f = &ck->schema->fields[i];
  pl_type t;
  switch (f->type.id) {
  case PL_FLOAT16: case PL_DECIMAL128: t = pl_type_make(PL_FLOAT64); break;
  case PL_FIXED_BINARY: t = pl_type_make(PL_BINARY); break;
  default: pl_type_copy(&t, &f->type);
  }
  set_type(n, t);
  n->nullable = f->nullable;
  return PL_OK;
}

static pl_status check_literal(checker *ck, pl__node *n) {
  switch (n->lit) {
  case L_NULL: n->nullable = true; return PL_OK;
  case L_BOOL: set_type(n, pl_type_make(PL_BOOL)); return PL_OK;
  case L_FLOAT: set_type(n, pl_type_make(PL_FLOAT64)); return PL_OK;
  case L_STRING: set_type(n, pl_type_make(PL_STRING)); return PL_OK;
  case L_INT:
    if (n->lit_big) {
      set_type(n, pl_type_make(PL_UINT64));
    } else {
      set_type(n, pl_type_make(PL_INT64));
      n->untyped_int = true;
    }
    return PL_OK;
  }
  return PL_OK;
}

static bool any_nullable(const pl__node *n, int from) {
  for (int i = from; i < n->nargs; i++)
    if (n->args[i]->nullable) return true;
  return false;
}

static pl_status check_cast(checker *ck, pl__node *n) {
  pl__node *a = n->args[0];
  char x[128], y[128];
  pl_type_id to = n->cast_type.id;
  if (!cast_target_ok(to))
    return fail(ck, n->pos, "cannot cast to %s (expressions produce bool, integers, float32, float64, string, "
                            "binary, date32 or timestamp)", tname(&n->cast_type, y, sizeof y));
  if (a->untyped_int) settle(&n->args[0], PL_INT64);
  a = n->args[0];
  if (!cast_allowed(a->type.id, to))
    return fail(ck, n->pos, "cannot cast %s to %s", tname(&a->type, x, sizeof x), tname(&n->cast_type, y, sizeof y));
  if (a->type.id == T_NULL) {
    coerce(&n->args[0], &n->cast_type);
    a = n->args[0];
  }
  pl_type t;
  pl_type_copy(&t, &n->cast_type);
  set_type(n, t);
  /* Widening casts and casts to text never fail; the others give null where they do. */
  bool safe = a->type.id == to || to == PL_STRING || to == PL_BINARY || (to == PL_FLOAT64 && is_num(a->type.id)) ||
              (is_int(a->type.id) && is_int(to) && common_int(a->type.id, to) == to) ||
              (a->type.id == PL_BOOL && is_num(to));
  n->nullable = a->nullable || !safe;
  return validate_literal_cast(ck, n);
}

static pl_status check_call(checker *ck, pl__node *n) {
  int k = -1;
  for (int i = 0; i < N_FNS; i++)
    if (!strcasecmp(fns[i].name, n->name)) k = i;
  if (k < 0) {
    const char *names[N_FNS];
    for (int i = 0; i < N_FNS; i++) names[i] = fns[i].name;
    const char *near = nearest(n->name, names, N_FNS);
    if (near) return fail(ck, n->pos, "unknown function '%s'; did you mean '%s'?", n->name, near);
    return fail(ck, n->pos, "unknown function '%s' (see docs/EXPR.md for the list)", n->name);
  }
  n->op = fns[k].id;
  if (n->nargs < fns[k].min || n->nargs > fns[k].max) {
    if (fns[k].min == fns[k].max)
      return fail(ck, n->pos, "%s() takes %d argument%s, got %d", fns[k].name, fns[k].min, fns[k].min == 1 ? "" : "s",
                  (int)n->nargs);
    return fail(ck, n->pos, "%s() takes %d to %d arguments, got %d", fns[k].name, fns[k].min, fns[k].max, (int)n->nargs);
  }
  const char *fname = fns[k].name;
  char what[64];
  snprintf(what, sizeof what, "%s()", fname);
  pl_status st = PL_OK;
  bool nullable = any_nullable(n, 0);
  pl_type_id rt = PL_STRING;
  switch (n->op) {
  case F_LENGTH:
    st = need_str(ck, &n->args[0], what, true);
    rt = PL_INT64;
    break;
  case F_LOWER: case F_UPPER:
    st = need_str(ck, &n->args[0], what, false);
    break;
  case F_TRIM: case F_LTRIM: case F_RTRIM:
    st = need_str(ck, &n->args[0], what, true);
    rt = n->args[0]->type.id;
    break;
  case F_CONTAINS: case F_STARTS_WITH: case F_ENDS_WITH:
    if (!(st = need_str(ck, &n->args[0], what, true))) st = need_str(ck, &n->args[1], what, true);
    rt = PL_BOOL;
    break;
  case F_REPLACE:
    for (int i = 0; i < 3 && !st; i++) st = need_str(ck, &n->args[i], what, i > 0);
    break;
  case F_SUBSTR:
    st = need_str(ck, &n->args[0], what, false);
    for (int i = 1; i < n->nargs && !st; i++) {
      if (!(st = need_num(ck, &n->args[i], what, true))) {
        pl_type t = pl_type_make(PL_INT64);
        coerce(&n->args[i], &t);
      }
    }
    break;
  case F_CONCAT: {
    pl_type t = pl_type_make(PL_STRING);
    for (int i = 0; i < n->nargs; i++) {
      char x[128];
      pl_type_id id = n->args[i]->type.id;
      if (id != T_NULL && id != PL_BINARY && !cast_allowed(id, PL_STRING))
        return fail(ck, n->args[i]->pos, "concat() cannot turn %s into text", tname(&n->args[i]->type, x, sizeof x));
      settle(&n->args[i], PL_INT64);
      if (n->args[i]->type.id != PL_BINARY) coerce(&n->args[i], &t);
    }
    nullable = false; /* nulls are skipped */
    break;
  }
  case F_MATCHES: {
    if ((st = need_str(ck, &n->args[0], what, true))) break;
    pl__node *p = n->args[1];
    if (p->kind != N_LIT || p->lit != L_STRING)
      return fail(ck, p->pos, "matches() needs its pattern as a 'string literal' (it is compiled once)");
    int errcode;
    PCRE2_SIZE erroff;
    n->re = pcre2_compile((PCRE2_SPTR)p->lit_s, p->lit_len, PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &errcode, &erroff, NULL);
    if (!n->re) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(errcode, msg, sizeof msg);
      return fail(ck, p->pos, "bad regular expression at pattern offset %zu: %s", (size_t)erroff, (const char *)msg);
    }
    /* JIT when the platform has it; pcre2_match then uses it on its own. */
    (void)pcre2_jit_compile(n->re, PCRE2_JIT_COMPLETE);
    rt = PL_BOOL;
    nullable = n->args[0]->nullable;
    break;
  }
  case F_ABS: case F_FLOOR: case F_CEIL:
    st = need_num(ck, &n->args[0], what, false);
    settle(&n->args[0], PL_INT64);
    rt = n->args[0]->type.id;
    break;
  case F_ROUND:
    if ((st = need_num(ck, &n->args[0], what, false))) break;
    settle(&n->args[0], PL_INT64);
    rt = n->args[0]->type.id;
    if (n->nargs == 2) {
      if ((st = need_num(ck, &n->args[1], what, true))) break;
      pl_type t = pl_type_make(PL_INT64), f = pl_type_make(PL_FLOAT64);
      coerce(&n->args[1], &t);
      if (rt != PL_FLOAT32) coerce(&n->args[0], &f);
      rt = n->args[0]->type.id;
    }
    break;
  case F_SQRT: case F_LN: case F_LOG10: case F_EXP: case F_POW:
    for (int i = 0; i < n->nargs && !st; i++) {
      if (!(st = need_num(ck, &n->args[i], what, false))) {
        pl_type t = pl_type_make(PL_FLOAT64);
        coerce(&n->args[i], &t);
      }
    }
    rt = PL_FLOAT64;
    nullable = true; /* domain errors: sqrt(-1), ln(0) */
    break;
  case F_LEAST: case F_GREATEST: case F_COALESCE:
    for (int i = 0; i < n->nargs; i++)
      if (n->args[i]->type.id >= PL_LIST && n->args[i]->type.id != T_NULL) {
        char x[128];
        return fail(ck, n->args[i]->pos, "%s cannot take %s values", what, tname(&n->args[i]->type, x, sizeof x));
      }
    if ((st = unify_all(ck, n, 0, 1, what))) break;
    rt = n->args[0]->type.id;
    nullable = true;
    for (int i = 0; i < n->nargs; i++)
      if (!n->args[i]->nullable) nullable = false;
    break;
  case F_IF:
    if ((st = need_bool(ck, &n->args[0], what))) break;
    if ((st = unify_all(ck, n, 1, 1, what))) break;
    rt = n->args[1]->type.id;
    nullable = any_nullable(n, 1);
    break;
  }
  if (st || (st = validate_args(ck, n))) return st;
  if (rt == PL_TIMESTAMP || rt == PL_TIME) {
    /* value functions keep their argument's full type (unit, tz) */
    pl_type t;
    pl_type_copy(&t, &n->args[n->op == F_IF ? 1 : 0]->type);
    set_type(n, t);
  } else {
    set_type(n, pl_type_make(rt));
  }
  n->nullable = nullable;
  return PL_OK;
}

static pl_status check_node(checker *ck, pl__node **slot) {
  pl__node *n = *slot;
  pl_status st;
  for (int32_t i = 0; i < n->nargs; i++)
    if ((st = check_node(ck, &n->args[i]))) return st;
  char x[128], y[128];
  switch (n->kind) {
  case N_LIT: return check_literal(ck, n);
  case N_COL: return check_column(ck, n);
  case N_NEG: {
    pl__node *a = n->args[0];
    if (a->type.id == T_NULL) settle(&n->args[0], PL_INT64), a = n->args[0];
    if (!is_num(a->type.id)) return fail(ck, n->pos, "'-' needs a number, got %s", tname(&a->type, x, sizeof x));
    pl_type_id t = a->type.id;
    if (t == PL_UINT64) return fail(ck, n->pos, "cannot negate a uint64 (cast it to int64 first)");
    if (is_int(t) && !is_signed(t)) {
      t = signed_of(2 * int_width(t));
      pl_type w = pl_type_make(t);
      coerce(&n->args[0], &w);
    }
    set_type(n, pl_type_make(t));
    n->nullable = a->nullable;
    n->untyped_int = a->untyped_int;
    return PL_OK;
  }
  case N_ARITH: {
    char opname[2] = {(char)n->op, 0};
    for (int i = 0; i < 2; i++)
      if (n->args[i]->type.id == T_NULL) {
        pl__node *o = n->args[1 - i];
        pl_type t;
        if (o->type.id == T_NULL || o->untyped_int) t = pl_type_make(PL_INT64);
        else pl_type_copy(&t, &o->type);
        coerce(&n->args[i], &t);
        pl_type_release(&t);
      }
    pl__node *a = n->args[0], *b = n->args[1];
    pl_type_id t = common_num(a, b);
    if (t == T_NULL) {
      const pl__node *bad = is_num(a->type.id) ? b : a;
      if (n->op == '+' && is_str(a->type.id) && is_str(b->type.id))
        return fail(ck, n->pos, "'+' does not join strings; use a || b or concat(a, b)");
      return fail(ck, bad->pos, "'%s' needs numbers, got %s and %s", opname, tname(&a->type, x, sizeof x),
                  tname(&b->type, y, sizeof y));
    }
    bool both_untyped = a->untyped_int && b->untyped_int;
    pl_type tt = pl_type_make(t);
    coerce(&n->args[0], &tt);
    coerce(&n->args[1], &tt);
    set_type(n, tt);
    n->untyped_int = false;
    (void)both_untyped;
    n->nullable = a->nullable || b->nullable || n->op == '/' || n->op == '%';
    return PL_OK;
  }
  case N_CONCAT: {
    pl_type s = pl_type_make(PL_STRING);
    bool all_bin = true;
    for (int i = 0; i < 2; i++) {
      pl_type_id id = n->args[i]->type.id;
      if (id != T_NULL && id != PL_BINARY && !cast_allowed(id, PL_STRING))
        return fail(ck, n->args[i]->pos, "'||' cannot turn %s into text", tname(&n->args[i]->type, x, sizeof x));
      if (id != PL_BINARY) all_bin = false;
    }
    for (int i = 0; i < 2; i++) {
      settle(&n->args[i], PL_INT64);
      if (!all_bin) coerce(&n->args[i], &s);
    }
    set_type(n, pl_type_make(all_bin ? PL_BINARY : PL_STRING));
    n->nullable = any_nullable(n, 0);
    return PL_OK;
  }
  case N_CMP: {
    static const char *const opn[] = {"=", "!=", "<", "<=", ">", ">="};
    pl_type ta, tb;
    char what[32];
    snprintf(what, sizeof what, "'%s'", opn[n->op]);
    if (n->args[0]->type.id >= PL_LIST && n->args[0]->type.id != T_NULL) return type_error2(ck, n, what, n->args[0], n->args[1]);
    if (n->args[1]->type.id >= PL_LIST && n->args[1]->type.id != T_NULL) return type_error2(ck, n, what, n->args[0], n->args[1]);
    if (!unify2(n->args[0], n->args[1], true, &ta, &tb)) return type_error2(ck, n, what, n->args[0], n->args[1]);
    coerce(&n->args[0], &ta);
    coerce(&n->args[1], &tb);
    pl_type_release(&ta);
    pl_type_release(&tb);
    set_type(n, pl_type_make(PL_BOOL));
    n->nullable = any_nullable(n, 0);
    return validate_args(ck, n);
  }
  case N_AND: case N_OR: case N_NOT:
    for (int i = 0; i < n->nargs; i++)
      if ((st = need_bool(ck, &n->args[i], n->kind == N_AND ? "'and'" : n->kind == N_OR ? "'or'" : "'not'"))) return st;
    set_type(n, pl_type_make(PL_BOOL));
    n->nullable = any_nullable(n, 0);
    return PL_OK;
  case N_ISNULL:
    set_type(n, pl_type_make(PL_BOOL));
    n->nullable = false;
    return PL_OK;
  case N_IN: case N_BETWEEN:
    for (int i = 0; i < n->nargs; i++)
      if (n->args[i]->type.id >= PL_LIST && n->args[i]->type.id != T_NULL)
        return fail(ck, n->args[i]->pos, "%s cannot compare %s values", n->kind == N_IN ? "'in'" : "'between'",
                    tname(&n->args[i]->type, x, sizeof x));
    if (!unify_mixed_u64(n) && (st = unify_all(ck, n, 0, 1, n->kind == N_IN ? "'in'" : "'between'"))) return st;
    set_type(n, pl_type_make(PL_BOOL));
    n->nullable = any_nullable(n, 0);
    return validate_args(ck, n);
  case N_CAST: return check_cast(ck, n);
  case N_CALL: return check_call(ck, n);
  case N_CASE: {
    int nw = n->nargs / 2;
    if (nw + n->has_else > 64) return fail(ck, n->pos, "case has %d branches; at most 64 are supported", nw + n->has_else);
    for (int i = 0; i < nw; i++)
      if ((st = need_bool(ck, &n->args[2 * i], "'when'"))) return st;
    /* values: odd slots, and the else at the end */
    int from = 1;
    if ((st = unify_all(ck, n, from, 2, "case values"))) return st;
    if (n->has_else) {
      pl_type ta, tb;
      pl__node *e = n->args[n->nargs - 1], *v = n->args[1];
      if (!unify2(v, e, false, &ta, &tb)) return type_error2(ck, e, "case values", v, e);
      pl_type_release(&tb);
      if (ta.id != v->type.id || (ta.id == PL_TIMESTAMP && ta.unit != v->type.unit))
        for (int i = 1; i < n->nargs - 1; i += 2) coerce(&n->args[i], &ta);
      coerce(&n->args[n->nargs - 1], &ta);
      pl_type_release(&ta);
    }
    pl_type t;
    pl_type_copy(&t, &n->args[1]->type);
    set_type(n, t);
    n->nullable = !n->has_else;
    for (int i = 1; i < n->nargs; i += 2) n->nullable |= n->args[i]->nullable;
    if (n->has_else) n->nullable |= n->args[n->nargs - 1]->nullable;
    return validate_args(ck, n);
  }
  }
  return PL_OK;
}

pl_status pl__check(const char *text, pl__node **root, const pl_schema *schema, int32_t *err_pos, pl_error *err) {
  checker ck = {.text = text, .schema = schema, .err_pos = err_pos, .err = err};
  pl_status st = check_node(&ck, root);
  if (st) return st;
  if ((*root)->type.id == T_NULL || (*root)->untyped_int) settle(root, (*root)->untyped_int ? PL_INT64 : PL_BOOL);
  if ((*root)->type.id >= PL_LIST) {
    char x[128];
    return fail(&ck, (*root)->pos, "the expression gives %s; expressions must give a scalar value",
                tname(&(*root)->type, x, sizeof x));
  }
  return PL_OK;
}

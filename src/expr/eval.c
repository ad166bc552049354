/* eval.c — the public API: compile (parse + check + the list of consumed columns), evaluate
 * a compiled tree over a batch one node at a time (each node turns whole vectors into a
 * whole vector; nothing walks the tree per row), filter, and gather selected rows. */
#include "expr/internal.h"

#include <string.h>

/* ------------------------------------------------------------------ compile */
static void collect_columns(pl_expr *e, pl__node *n, const pl_schema *schema) {
  for (int32_t i = 0; i < n->nargs; i++) collect_columns(e, n->args[i], schema);
  if (n->kind != N_COL) return;
  int32_t k = 0;
  while (k < e->n_cols && strcmp(e->cols[k], n->name)) k++;
  if (k == e->n_cols) {
    e->cols = pl_realloc(e->cols, sizeof *e->cols * (size_t)(k + 1));
    e->col_types = pl_realloc(e->col_types, sizeof *e->col_types * (size_t)(k + 1));
    e->cols[k] = pl_strdup(n->name);
    pl_type_copy(&e->col_types[k], &schema->fields[n->col].type);
    e->n_cols++;
  }
  n->col = k; /* from here on: the index into e->cols */
}

pl_status pl_expr_compile_diag(const char *text, const pl_schema *input, pl_expr **out, pl_expr_diag *diag,
                               pl_error *err) {
  *out = NULL;
  int32_t pos = -1;
  if (diag) diag->offset = -1, diag->column = 0;
  pl__node *root;
  pl_status st = pl__parse(text, &root, &pos, err);
  if (!st) {
    st = pl__check(text, &root, input, &pos, err);
    if (st) pl__node_free(root);
  }
  if (st) {
    if (diag && pos >= 0) diag->offset = pos, diag->column = pl__char_column(text, pos);
    return st;
  }
  pl_expr *e = pl_calloc(1, sizeof *e);
  e->text = pl_strdup(text);
  e->root = root;
  pl_type_copy(&e->type, &root->type);
  e->nullable = root->nullable;
  collect_columns(e, root, input);
  *out = e;
  return PL_OK;
}

pl_status pl_expr_compile(const char *text, const pl_schema *input, pl_expr **out, pl_error *err) {
  return pl_expr_compile_diag(text, input, out, NULL, err);
}

void pl_expr_free(pl_expr *e) {
  if (!e) return;
  pl__node_free(e->root);
  for (int32_t i = 0; i < e->n_cols; i++) {
    pl_free(e->cols[i]);
    pl_type_release(&e->col_types[i]);
  }
  pl_free(e->cols);
  pl_free(e->col_types);
  pl_type_release(&e->type);
  pl_free(e->text);
  pl_free(e);
}

const char *pl_expr_text(const pl_expr *e) { return e->text; }
const pl_type *pl_expr_type(const pl_expr *e) { return &e->type; }
bool pl_expr_nullable(const pl_expr *e) { return e->nullable; }
int32_t pl_expr_n_columns(const pl_expr *e) { return e->n_cols; }
const char *pl_expr_column(const pl_expr *e, int32_t i) { return i >= 0 && i < e->n_cols ? e->cols[i] : NULL; }

/* ------------------------------------------------------------------ evaluation */
typedef struct {
  pl__ctx c;
  const pl_column **cols; /* the batch's column for each consumed name */
} evaluator;

/* Row masks (one byte per row) for `active`: owned by the caller of mask_*, budget-charged. */
static uint8_t *mask_new(pl__ctx *c) { return pl_budget_alloc(c->b, (size_t)(c->n ? c->n : 1), c->err); }
static void mask_free(pl__ctx *c, uint8_t *m) {
  if (m) pl_budget_free_mem(c->b, m, (size_t)(c->n ? c->n : 1));
}

/* active AND (cond's row is true, or false when want_true is false; null rows count as
 * `null_as`). NULL cond means "every row". */
static void mask_fill(uint8_t *m, int64_t n, const uint8_t *active, const pl__vec *cond, bool want_true,
                      bool null_as) {
  int64_t cm = pl__m(cond);
  const uint8_t *d = cond->data;
  if (!active && !cond->valid && cm == -1) { /* a plain vector, every row live: vectorizes */
    for (int64_t i = 0; i < n; i++) m[i] = (uint8_t)((d[i] != 0) == want_true);
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    bool v = pl__valid(cond, i) ? (d[i & cm] != 0) == want_true : null_as;
    m[i] = (uint8_t)((active ? active[i] : 1) & v);
  }
}

static uint8_t *mask_with(pl__ctx *c, const uint8_t *active, const pl__vec *cond, bool want_true, bool null_as) {
  uint8_t *m = mask_new(c);
  if (m) mask_fill(m, c->n, active, cond, want_true, null_as);
  return m;
}

static pl__vec *eval(evaluator *ev, const pl__node *n, const uint8_t *active);

static void free_all(pl__ctx *c, pl__vec **v, int k) {
  for (int i = 0; i < k; i++) pl__vec_free(c, v[i]);
}

/* Evaluates every argument with the same active rows; false on failure (all freed). */
static bool eval_args(evaluator *ev, const pl__node *n, const uint8_t *active, pl__vec **out) {
  for (int32_t i = 0; i < n->nargs; i++) {
    out[i] = eval(ev, n->args[i], active);
    if (!out[i]) {
      free_all(&ev->c, out, i);
      return false;
    }
  }
  return true;
}

/* Whether a cast only changes the logical type: same kind, every value representable. */
static bool cast_is_relabel(const pl__node *n) {
  const pl_type *from = &n->args[0]->type, *to = &n->cast_type;
  pl__vkind fk = pl__kind_of(from->id), tk = pl__kind_of(to->id);
  if (from->id == T_NULL || fk != tk) return false;
  if (fk == V_STR || (fk == V_BOOL)) return true;
  if (fk == V_F64) return to->id == PL_FLOAT64 || from->id == PL_FLOAT32;
  if (fk == V_U64) return true;
  if (from->id == PL_DATE32 || from->id == PL_TIMESTAMP || to->id == PL_DATE32 || to->id == PL_TIMESTAMP ||
      from->id == PL_TIME || to->id == PL_TIME)
    return from->id == to->id && from->unit == to->unit;
  int64_t flo, fhi, tlo, thi;
  pl__int_range(from->id, &flo, &fhi);
  pl__int_range(to->id, &tlo, &thi);
  return tlo <= flo && fhi <= thi;
}

static pl__vec *eval_logic(evaluator *ev, const pl__node *n, const uint8_t *active) {
  pl__ctx *c = &ev->c;
  pl__vec *a = eval(ev, n->args[0], active), *b = NULL, *r = NULL;
  if (!a) return NULL;
  /* The right side matters only where the left does not decide: errors elsewhere are moot. */
  uint8_t *act = mask_with(c, active, a, n->kind == N_OR ? false : true, true);
  if (act) b = eval(ev, n->args[1], act);
  mask_free(c, act);
  if (b) r = pl__k_and_or(c, n->kind == N_AND, a, b);
  pl__vec_free(c, a);
  pl__vec_free(c, b);
  return r;
}

static pl__vec *eval_in(evaluator *ev, const pl__node *n, const uint8_t *active) {
  pl__ctx *c = &ev->c;
  pl__vec *x = eval(ev, n->args[0], active), *acc = NULL;
  if (!x) return NULL;
  for (int32_t i = 1; i < n->nargs; i++) {
    pl__vec *item = eval(ev, n->args[i], active), *eq = NULL, *next = NULL;
    if (item) eq = pl__k_cmp(c, C_EQ, x, item);
    pl__vec_free(c, item);
    if (!eq) goto fail;
    if (!acc) {
      acc = eq;
      continue;
    }
    next = pl__k_and_or(c, false, acc, eq);
    pl__vec_free(c, eq);
    pl__vec_free(c, acc);
    acc = next;
    if (!acc) goto fail;
  }
  pl__vec_free(c, x);
  if (n->negate) {
    pl__vec *r = pl__k_not(c, acc);
    pl__vec_free(c, acc);
    return r;
  }
  return acc;
fail:
  pl__vec_free(c, x);
  pl__vec_free(c, acc);
  return NULL;
}

static pl__vec *eval_between(evaluator *ev, const pl__node *n, const uint8_t *active) {
  pl__ctx *c = &ev->c;
  pl__vec *v[3], *ge = NULL, *le = NULL, *r = NULL;
  if (!eval_args(ev, n, active, v)) return NULL;
  if ((ge = pl__k_cmp(c, C_GE, v[0], v[1])) && (le = pl__k_cmp(c, C_LE, v[0], v[2])))
    r = pl__k_and_or(c, true, ge, le);
  free_all(c, v, 3);
  pl__vec_free(c, ge);
  pl__vec_free(c, le);
  if (r && n->negate) {
    pl__vec *t = pl__k_not(c, r);
    pl__vec_free(c, r);
    r = t;
  }
  return r;
}

/* if / case / coalesce: conditions and values evaluated a whole vector at a time, each value
 * only "active" on the rows that will take it; then one pass picks each row's source. */
static pl__vec *eval_choice(evaluator *ev, const pl__node *n, const uint8_t *active) {
  pl__ctx *c = &ev->c;
  pl__vkind kind = pl__kind_of(n->type.id);
  int32_t nv = 0;
  pl__vec *vals[64] = {0};
  int8_t *pick = pl_budget_alloc(c->b, (size_t)(c->n ? c->n : 1), c->err);
  uint8_t *open = mask_new(c); /* rows not yet decided */
  pl__vec *r = NULL;
  if (!pick || !open) goto done;
  memset(pick, -1, (size_t)c->n);
  for (int64_t i = 0; i < c->n; i++) open[i] = active ? active[i] : 1;
  bool is_case = n->kind == N_CASE, is_if = n->kind == N_CALL && n->op == F_IF;
  if (is_case || is_if) {
    int32_t nw = is_if ? 1 : n->nargs / 2;
    bool has_else = is_if || n->has_else;
    for (int32_t w = 0; w < nw; w++) {
      pl__vec *cond = eval(ev, n->args[is_if ? 0 : 2 * w], open);
      if (!cond) goto done;
      uint8_t *take = mask_with(c, open, cond, true, false);
      pl__vec_free(c, cond);
      if (!take) goto done;
      vals[nv] = eval(ev, n->args[is_if ? 1 : 2 * w + 1], take);
      if (!vals[nv]) {
        mask_free(c, take);
        goto done;
      }
      for (int64_t i = 0; i < c->n; i++)
        if (take[i]) pick[i] = (int8_t)nv, open[i] = 0;
      nv++;
      mask_free(c, take);
    }
    if (has_else) {
      if (!(vals[nv] = eval(ev, n->args[n->nargs - 1], open))) goto done;
      for (int64_t i = 0; i < c->n; i++)
        if (open[i] || (!active && pick[i] < 0)) pick[i] = (int8_t)nv;
      nv++;
    }
    /* rows outside `active` are never used; give them any source */
    if (active)
      for (int64_t i = 0; i < c->n; i++)
        if (!active[i]) pick[i] = -1;
  } else { /* coalesce: each argument is needed only where all before it were null */
    for (int32_t k = 0; k < n->nargs && k < 64; k++) {
      if (!(vals[nv] = eval(ev, n->args[k], open))) goto done;
      for (int64_t i = 0; i < c->n; i++)
        if (pick[i] < 0 && pl__valid(vals[nv], i)) pick[i] = (int8_t)nv, open[i] = 0;
      nv++;
    }
  }
  r = pl__k_pick(c, kind, n->type.id, vals, pick, c->n);
done:
  free_all(c, vals, nv);
  if (pick) pl_budget_free_mem(c->b, pick, (size_t)(c->n ? c->n : 1));
  mask_free(c, open);
  return r;
}

/* least / greatest: fold pairwise, nulls skipped. */
static pl__vec *eval_extreme(evaluator *ev, const pl__node *n, const uint8_t *active) {
  pl__ctx *c = &ev->c;
  pl__vkind kind = pl__kind_of(n->type.id);
  pl__vec *acc = eval(ev, n->args[0], active);
  int8_t *pick = pl_budget_alloc(c->b, (size_t)(c->n ? c->n : 1), c->err);
  if (!acc || !pick) goto fail;
  for (int32_t k = 1; k < n->nargs; k++) {
    pl__vec *x = eval(ev, n->args[k], active), *cmp = NULL;
    if (x) cmp = pl__k_cmp(c, n->op == F_LEAST ? C_LT : C_GT, x, acc);
    if (!cmp) {
      pl__vec_free(c, x);
      goto fail;
    }
    for (int64_t i = 0; i < c->n; i++) {
      bool xv = pl__valid(x, i), av = pl__valid(acc, i);
      pick[i] = (int8_t)(xv && (!av || ((uint8_t *)cmp->data)[i & pl__m(cmp)]) ? 1 : 0);
    }
    pl__vec *pair[2] = {acc, x}, *next = pl__k_pick(c, kind, n->type.id, pair, pick, c->n);
    pl__vec_free(c, cmp);
    pl__vec_free(c, x);
    pl__vec_free(c, acc);
    acc = next;
    if (!acc) goto fail;
  }
  pl_budget_free_mem(c->b, pick, (size_t)(c->n ? c->n : 1));
  return acc;
fail:
  if (pick) pl_budget_free_mem(c->b, pick, (size_t)(c->n ? c->n : 1));
  pl__vec_free(c, acc);
  return NULL;
}

static pl__vec *eval_call(evaluator *ev, const pl__node *n, const uint8_t *active) {
  pl__ctx *c = &ev->c;
  switch (n->op) {
  case F_IF: case F_COALESCE: return eval_choice(ev, n, active);
  case F_LEAST: case F_GREATEST: return eval_extreme(ev, n, active);
  default: break;
  }
  pl__vec *v[64], *r = NULL;
  if (!eval_args(ev, n, active, v)) return NULL;
  switch (n->op) {
  case F_MATCHES: r = pl__k_matches(c, n, v[0]); break;
  case F_ABS: case F_ROUND: case F_FLOOR: case F_CEIL: case F_SQRT: case F_LN: case F_LOG10: case F_EXP: case F_POW:
    r = pl__k_math(c, n, v, active);
    break;
  default: r = pl__k_string(c, n, v); break;
  }
  free_all(c, v, (int)n->nargs);
  return r;
}

static pl__vec *eval(evaluator *ev, const pl__node *n, const uint8_t *active) {
  pl__ctx *c = &ev->c;
  pl__vec *a = NULL, *b = NULL, *r = NULL;
  switch (n->kind) {
  case N_LIT: return pl__vec_literal(n);
  case N_COL: return pl__vec_load(c, ev->cols[n->col], &r) ? NULL : r;
  case N_AND: case N_OR: return eval_logic(ev, n, active);
  case N_IN: return eval_in(ev, n, active);
  case N_BETWEEN: return eval_between(ev, n, active);
  case N_CASE: return eval_choice(ev, n, active);
  case N_CALL: return eval_call(ev, n, active);
  default: break;
  }
  if (!(a = eval(ev, n->args[0], active))) return NULL;
  if (n->nargs > 1 && !(b = eval(ev, n->args[1], active))) {
    pl__vec_free(c, a);
    return NULL;
  }
  switch (n->kind) {
  case N_NEG: r = pl__k_neg(c, n, a, active); break;
  case N_ARITH: r = pl__k_arith(c, n, a, b, active); break;
  case N_CONCAT: {
    pl__vec *in[2] = {a, b};
    r = pl__k_string(c, n, in);
    break;
  }
  case N_CMP: r = pl__k_cmp(c, n->op, a, b); break;
  case N_NOT: r = pl__k_not(c, a); break;
  case N_ISNULL: r = pl__k_isnull(c, a, n->negate); break;
  case N_CAST:
    if (cast_is_relabel(n)) { /* no copy: the vector is ours, relabel it */
      a->tid = n->cast_type.id;
      return a;
    }
    r = pl__k_cast(c, n, a, active);
    break;
  default: pl_error_set(c->err, PL_EINTERNAL, "unexpected expression node %d", (int)n->kind);
  }
  pl__vec_free(c, a);
  pl__vec_free(c, b);
  return r;
}

static bool same_type(const pl_type *a, const pl_type *b) {
  if (a->id != b->id) return false;
  switch (a->id) {
  case PL_TIME: case PL_TIMESTAMP: return a->unit == b->unit;
  case PL_DECIMAL128: return a->scale == b->scale;
  case PL_FIXED_BINARY: return a->width == b->width;
  default: return true;
  }
}

/* Binds the consumed names to the batch's columns, checking their types. */
static pl_status bind(evaluator *ev, const pl_expr *e, const pl_batch *in, pl_error *err) {
  ev->cols = pl_calloc((size_t)(e->n_cols ? e->n_cols : 1), sizeof *ev->cols);
  for (int32_t k = 0; k < e->n_cols; k++) {
    int32_t i = pl_schema_find(&in->schema, e->cols[k]);
    if (i < 0) return pl_error_set(err, PL_ENOTFOUND, "expression \"%s\": the batch has no field '%s'", e->text, e->cols[k]);
    const pl_type *t = &in->schema.fields[i].type;
    if (!same_type(t, &e->col_types[k])) {
      char x[128], y[128];
      pl_type_canonical(t, x, sizeof x);
      pl_type_canonical(&e->col_types[k], y, sizeof y);
      return pl_error_set(err, PL_EINVAL, "expression \"%s\": field '%s' is %s in the batch but was %s when compiled",
                          e->text, e->cols[k], x, y);
    }
    if (in->columns[i]->length != in->length)
      return pl_error_set(err, PL_EINVAL, "expression \"%s\": field '%s' has %lld rows, the batch %lld", e->text,
                          e->cols[k], (long long)in->columns[i]->length, (long long)in->length);
    ev->cols[k] = in->columns[i];
  }
  return PL_OK;
}

/* Rows per evaluation chunk: the vectors passed between nodes (up to 8 bytes a row) then
 * stay in the L2 cache instead of streaming through memory once per node. */
int64_t pl__expr_chunk_rows = 16384;

/* Binds the batch; the chunks are then evaluated with eval_chunk. */
static pl_status eval_setup(const pl_expr *e, const pl_batch *in, pl_budget *b, evaluator *ev,
                            pl_error *err /* not NULL */) {
  pl_error_clear(err);
  *ev = (evaluator){.c = {.e = e, .in = in, .b = b, .err = err, .n = in->length}};
  return bind(ev, e, in, err);
}

/* Evaluates the root over rows [row0, row0 + n) into a vector (constants stay one row). */
static pl_status eval_chunk(evaluator *ev, int64_t row0, int64_t n, pl__vec **out) {
  ev->c.row0 = row0;
  ev->c.n = n;
  *out = eval(ev, ev->c.e->root, NULL);
  if (!*out)
    return ev->c.err->code ? ev->c.err->code : pl_error_set(ev->c.err, PL_EINTERNAL, "expression failed without a message");
  return PL_OK;
}

/* The chunk starting at row0 has this many rows; an empty batch is one empty chunk. */
static int64_t chunk_rows(int64_t total, int64_t row0) {
  return total - row0 < pl__expr_chunk_rows ? total - row0 : pl__expr_chunk_rows;
}

pl_status pl_expr_eval(const pl_expr *e, const pl_batch *in, pl_budget *b, pl_column **out, pl_error *err) {
  pl_error local; /* the kernels report through ctx.err, which must point somewhere */
  if (!err) err = &local;
  *out = NULL;
  evaluator ev;
  pl_status st = eval_setup(e, in, b, &ev, err);
  const int64_t total = in->length;
  pl_column *acc = NULL;
  for (int64_t r0 = 0; !st && (r0 == 0 || r0 < total); r0 += pl__expr_chunk_rows) {
    const int64_t k = chunk_rows(total, r0);
    pl__vec *v = NULL;
    pl_column *col = NULL;
    st = eval_chunk(&ev, r0, k, &v);
    if (!st) st = pl__vec_to_column(&ev.c, v, &e->type, &col);
    pl__vec_free(&ev.c, v);
    if (st) break;
    if (!acc) {
      acc = col;
      if (total > k) st = pl_column_reserve(acc, total - k, 0, err);
    } else {
      st = pl_column_append_slice(acc, col, 0, col->length, err);
      pl_column_free(col);
    }
  }
  pl_free(ev.cols);
  if (st) pl_column_free(acc);
  else *out = acc;
  return st;
}

pl_status pl_expr_filter(const pl_expr *e, const pl_batch *in, pl_budget *b, pl_batch **out, pl_error *err) {
  *out = NULL;
  uint8_t *sel = NULL;
  pl_status st = pl_expr_select(e, in, b, &sel, err);
  if (!st) st = pl_expr_gather(in, sel, b, out, err);
  pl_expr_select_free(b, sel, in->length);
  return st;
}

pl_status pl_expr_select(const pl_expr *e, const pl_batch *in, pl_budget *b, uint8_t **sel, pl_error *err) {
  pl_error local;
  if (!err) err = &local;
  *sel = NULL;
  if (e->type.id != PL_BOOL) {
    char x[128];
    pl_type_canonical(&e->type, x, sizeof x);
    return pl_error_set(err, PL_EINVAL, "filter \"%s\": the expression gives %s, not bool", e->text, x);
  }
  evaluator ev;
  pl_status st = eval_setup(e, in, b, &ev, err);
  const int64_t total = in->length;
  uint8_t *m = st ? NULL : pl_budget_alloc(b, (size_t)(total ? total : 1), err);
  if (!st && !m) st = err->code ? err->code : PL_ENOMEM;
  for (int64_t r0 = 0; !st && (r0 == 0 || r0 < total); r0 += pl__expr_chunk_rows) {
    const int64_t k = chunk_rows(total, r0);
    pl__vec *v = NULL;
    st = eval_chunk(&ev, r0, k, &v);
    if (!st) mask_fill(m + r0, k, NULL, v, true, false);
    pl__vec_free(&ev.c, v);
  }
  pl_free(ev.cols);
  if (st) pl_expr_select_free(b, m, total);
  else *sel = m;
  return st;
}

void pl_expr_select_free(pl_budget *b, uint8_t *sel, int64_t n) {
  if (sel) pl_budget_free_mem(b, sel, (size_t)(n ? n : 1));
}

/* ------------------------------------------------------------------ gather */
static pl_status gather_column(pl_column *dst, const pl_column *src, const uint8_t *sel, const int64_t *idx, int64_t k,
                               pl_error *err) {
  const pl_type *t = &src->type;
  int64_t n = src->length;
  bool flat = t->id == PL_BOOL || pl_type_is_fixed(t) || t->id == PL_STRING || t->id == PL_BINARY;
  if (!flat || k == n) {
    /* nested types (and everything, when all rows stay): copy runs of selected rows */
    for (int64_t i = 0; i < n;) {
      if (!sel[i]) {
        i++;
        continue;
      }
      int64_t j = i;
      while (j < n && sel[j]) j++;
      pl_status st = pl_column_append_slice(dst, src, i, j - i, err);
      if (st) return st;
      i = j;
    }
    return PL_OK;
  }
  pl_status st;
  int64_t nulls = 0;
  if (src->validity.len && src->null_count) {
    const uint8_t *bits = src->validity.data;
    for (int64_t r = 0; r < k; r++) nulls += !pl_bit_get(bits, idx[r]);
    if (nulls) {
      uint8_t *o;
      if ((st = pl_buf_append_zeros(&dst->validity, (size_t)(k + 7) / 8, &o, err))) return st;
      for (int64_t r = 0; r < k; r++)
        if (pl_bit_get(bits, idx[r])) o[r >> 3] |= (uint8_t)(1u << (r & 7));
    }
  }
  if (t->id == PL_BOOL) {
    uint8_t *o;
    if ((st = pl_buf_append_zeros(&dst->values, (size_t)(k + 7) / 8, &o, err))) return st;
    for (int64_t r = 0; r < k; r++)
      if (pl_bit_get(src->values.data, idx[r])) o[r >> 3] |= (uint8_t)(1u << (r & 7));
  } else if (t->id == PL_STRING || t->id == PL_BINARY) {
    const int64_t *so = pl_column_offsets(src);
    size_t total = 0;
    for (int64_t r = 0; r < k; r++) total += (size_t)(so[idx[r] + 1] - so[idx[r]]);
    int64_t *o;
    uint8_t *d = NULL;
    if ((st = pl_buf_append_zeros(&dst->offsets, (size_t)k * 8, (uint8_t **)&o, err))) return st;
    if (total && (st = pl_buf_append_zeros(&dst->values, total, &d, err))) return st;
    int64_t pos = 0;
    for (int64_t r = 0; r < k; r++) {
      int64_t a = so[idx[r]], l = so[idx[r] + 1] - a;
      if (l) memcpy(d + pos, src->values.data + a, (size_t)l);
      pos += l;
      o[r] = pos;
    }
  } else {
    size_t w = (size_t)pl_type_byte_width(t);
    uint8_t *o;
    if ((st = pl_buf_append_zeros(&dst->values, (size_t)k * w, &o, err))) return st;
    const uint8_t *s = src->values.data;
    switch (w) {
#define G(W)                                                                                                 \
  case W:                                                                                                    \
    for (int64_t r = 0; r < k; r++) memcpy(o + (size_t)r * W, s + (size_t)idx[r] * W, W);                   \
    break;
      G(1) G(2) G(4) G(8) G(16)
#undef G
    default:
      for (int64_t r = 0; r < k; r++) memcpy(o + (size_t)r * w, s + (size_t)idx[r] * w, w);
    }
  }
  dst->length = k;
  dst->null_count = nulls;
  return PL_OK;
}

/* Buffers of a column that the fast gather may read without bounds checks. */
static pl_status check_column(const pl_column *c, const char *name, pl_error *err) {
  const pl_type *t = &c->type;
  int64_t n = c->length;
  bool ok = true;
  if (c->validity.len && c->null_count) ok = c->validity.len >= (size_t)(n + 7) / 8;
  if (t->id == PL_BOOL) ok = ok && c->values.len >= (size_t)(n + 7) / 8;
  else if (pl_type_is_fixed(t)) ok = ok && c->values.len >= (size_t)n * (size_t)pl_type_byte_width(t);
  else if (t->id == PL_STRING || t->id == PL_BINARY) {
    ok = ok && c->offsets.len >= (size_t)(n + 1) * 8 && !((uintptr_t)c->offsets.data & 7);
    if (ok) {
      const int64_t *o = pl_column_offsets(c);
      for (int64_t i = 0; i < n && ok; i++) ok = o[i] >= 0 && o[i] <= o[i + 1];
      ok = ok && (uint64_t)o[n] <= c->values.len;
    }
  }
  if (!ok) return pl_error_set(err, PL_ECORRUPT, "field '%s': buffers too short for %lld rows", name, (long long)n);
  return PL_OK;
}

pl_status pl_expr_gather(const pl_batch *in, const uint8_t *sel, pl_budget *b, pl_batch **out, pl_error *err) {
  *out = NULL;
  int64_t n = in->length, k = 0;
  for (int64_t i = 0; i < n; i++) k += sel[i] != 0;
  int64_t *idx = NULL;
  size_t idx_bytes = (size_t)(k ? k : 1) * sizeof *idx;
  pl_status st = PL_OK;
  pl_batch *batch = pl_batch_new(&in->schema, b, err);
  if (!batch) return err && err->code ? err->code : PL_ENOMEM;
  if (k && k < n) {
    if (!(idx = pl_budget_alloc(b, idx_bytes, err))) {
      st = PL_ENOMEM;
      goto done;
    }
    for (int64_t i = 0, r = 0; i < n; i++)
      if (sel[i]) idx[r++] = i;
  }
  if (k)
    for (int32_t f = 0; f < in->schema.n_fields && !st; f++) {
      const pl_column *src = in->columns[f];
      if (src->length != n) {
        st = pl_error_set(err, PL_EINVAL, "field '%s' has %lld rows, the batch %lld", in->schema.fields[f].name,
                          (long long)src->length, (long long)n);
        break;
      }
      if (!(st = check_column(src, in->schema.fields[f].name, err)))
        st = gather_column(batch->columns[f], src, sel, idx, k, err);
      if (st) pl_error_prefix(err, "filter");
    }
  if (!st) {
    st = pl_batch_finish(batch, err);
    batch->length = k;
  }
done:
  if (idx) pl_budget_free_mem(b, idx, idx_bytes);
  if (st) {
    pl_batch_free(batch);
    return st;
  }
  *out = batch;
  return PL_OK;
}

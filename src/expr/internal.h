/* expr/internal.h — the expression module's shared pieces: the syntax tree (built by parse.c,
 * typed by check.c), the column-at-a-time vectors and kernels (vec.c, kernels.c, strings.c),
 * and the evaluator (eval.c). Not public. */
#ifndef PRALINE_EXPR_INTERNAL_H
#define PRALINE_EXPR_INTERNAL_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "praline/expr.h"

/* ------------------------------------------------------------------ syntax tree */
typedef enum {
  N_LIT,     /* literal: lit_* fields */
  N_COL,     /* column reference: name, col (index in the compile schema) */
  N_NEG,     /* unary minus: args[0] */
  N_ARITH,   /* op: '+', '-', '*', '/', '%' */
  N_CONCAT,  /* a || b */
  N_CMP,     /* op: a pl__cmp_op */
  N_AND, N_OR, N_NOT,
  N_ISNULL,  /* negate: is not null */
  N_IN,      /* args[0] in (args[1..]); negate: not in */
  N_BETWEEN, /* args[0] between args[1] and args[2]; negate: not between */
  N_CAST,    /* args[0] as cast_type; implicit casts are inserted by check.c */
  N_CALL,    /* op: a pl__fn id */
  N_CASE     /* args: cond0, val0, cond1, val1, ..., [else]; has_else */
} pl__node_kind;

typedef enum { L_NULL, L_BOOL, L_INT, L_FLOAT, L_STRING } pl__lit_kind;

enum { C_EQ, C_NE, C_LT, C_LE, C_GT, C_GE };

enum {
  F_LENGTH, F_LOWER, F_UPPER, F_TRIM, F_LTRIM, F_RTRIM, F_CONTAINS, F_STARTS_WITH, F_ENDS_WITH,
  F_SUBSTR, F_CONCAT, F_REPLACE, F_MATCHES, F_ABS, F_ROUND, F_FLOOR, F_CEIL, F_SQRT, F_LN,
  F_LOG10, F_EXP, F_POW, F_LEAST, F_GREATEST, F_COALESCE, F_IF, F_COUNT
};

/* Pseudo type ids beyond pl_type_id: the type of a bare `null`. */
#define T_NULL ((pl_type_id)(PL_TYPE_COUNT + 1))

typedef struct pl__node pl__node;
struct pl__node {
  pl__node_kind kind;
  int op;
  int32_t pos; /* byte offset in the text */
  bool negate, has_else, is_implicit;
  int32_t nargs;
  pl__node **args;
  /* literal */
  pl__lit_kind lit;
  bool lit_bool, lit_big; /* lit_big: an integer literal above INT64_MAX, held in lit_u */
  int64_t lit_i;
  uint64_t lit_u;
  double lit_f;
  char *lit_s;
  size_t lit_len;
  /* column */
  char *name;
  int32_t col;
  /* set by check.c */
  pl_type type;       /* result type (T_NULL for a bare null) */
  bool untyped_int;   /* an integer literal whose type follows its context */
  bool nullable;
  pl_type cast_type;  /* N_CAST: target */
  pcre2_code *re;     /* F_MATCHES: compiled once */
};

struct pl_expr {
  char *text;
  pl__node *root;
  pl_type type;
  bool nullable;
  int32_t n_cols;
  char **cols;       /* consumed column names, in order of first use */
  pl_type *col_types; /* their types in the compile schema */
};

pl__node *pl__node_new(pl__node_kind kind, int32_t pos);
void pl__node_free(pl__node *n);
void pl__node_add(pl__node *n, pl__node *child);

/* Parses text into a tree. On failure sets err (with the offset) and *err_pos. */
pl_status pl__parse(const char *text, pl__node **out, int32_t *err_pos, pl_error *err);
/* Types the tree against schema, inserts implicit casts, compiles regexes. */
pl_status pl__check(const char *text, pl__node **root, const pl_schema *schema, int32_t *err_pos,
                    pl_error *err);
/* "<text>", column N: — the prefix of every compile and run-time error about a spot. */
void pl__error_at(pl_error *err, pl_status code, const char *text, int32_t pos, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int32_t pl__char_column(const char *text, int32_t pos);
const char *pl__fn_name(int id);

/* ------------------------------------------------------------------ vectors */
/* A column during evaluation. Physical kinds are few so kernels are few: every integer-like
 * type (ints, uint8..32, date32, time, timestamp) is int64; uint64 is uint64; float16/32/64
 * and decimal are float64; bool and validity are one byte per row (0 or 1); string, binary
 * and fixed binary are int64 offsets + bytes. A constant is a vector of one row with cnst
 * set: kernels index row i as [i & m] where m is 0 for constants and -1 otherwise. */
typedef enum { V_BOOL, V_I64, V_U64, V_F64, V_STR, V_OPAQUE } pl__vkind;

typedef struct pl__vec {
  pl__vkind kind;
  pl_type_id tid; /* logical type: int ranges, error messages */
  int64_t n;      /* rows held: 1 when cnst */
  bool cnst;
  uint8_t *valid; /* NULL: every row valid */
  void *data;     /* bool: uint8_t[n]; i64/u64/f64: [n] */
  const int64_t *off;
  const uint8_t *bytes;
  struct {
    void *p;
    size_t n;
  } own[4];
  int n_own;
  /* storage for constants */
  uint8_t c_valid;
  union {
    uint8_t b;
    int64_t i;
    uint64_t u;
    double f;
  } c_val;
  int64_t c_off[2];
} pl__vec;

static inline int64_t pl__m(const pl__vec *v) { return v->cnst ? 0 : -1; }
static inline bool pl__valid(const pl__vec *v, int64_t i) { return !v->valid || v->valid[i & pl__m(v)]; }

/* An evaluation runs over a chunk of the batch's rows at a time, [row0, row0 + n), so that
 * the vectors between nodes stay in the cache; messages name batch rows (row0 + i). */
typedef struct pl__ctx {
  const pl_expr *e;
  const pl_batch *in;
  pl_budget *b;
  pl_error *err;
  int64_t n;
  int64_t row0;
} pl__ctx;
/* Rows per chunk (16384). A fuzzer lowers it to check that chunking never changes a result;
 * nothing else writes it. */
extern int64_t pl__expr_chunk_rows;

pl__vkind pl__kind_of(pl_type_id id);
pl__vec *pl__vec_new(pl__vkind kind, pl_type_id tid);
/* An owned zeroed buffer of n bytes attached to v (NULL and err set on failure). */
void *pl__vec_alloc(pl__ctx *c, pl__vec *v, size_t n);
void *pl__vec_alloc_nz(pl__ctx *c, pl__vec *v, size_t n); /* not zeroed: the caller writes every byte */
void pl__vec_free(pl__ctx *c, pl__vec *v);
/* A fresh array vector of n rows (data allocated, validity not). */
pl__vec *pl__vec_array(pl__ctx *c, pl__vkind kind, pl_type_id tid, int64_t n);
/* The same, data not zeroed: for kernels that write every row, null rows included. */
pl__vec *pl__vec_array_nz(pl__ctx *c, pl__vkind kind, pl_type_id tid, int64_t n);
/* Rows the result of an op over these inputs holds: 1 if all are constant, else ctx n. */
int64_t pl__rows(pl__ctx *c, pl__vec *const *v, int k);
/* out->valid = AND of the inputs' validity (left NULL if all valid). */
pl_status pl__valid_and(pl__ctx *c, pl__vec *out, pl__vec *const *v, int k);
uint8_t *pl__valid_make(pl__ctx *c, pl__vec *out); /* ensures out->valid exists (all 1) */
/* A string vector being built: offsets [n+1] allocated, bytes in a pl_buf. */
typedef struct {
  pl__vec *v;
  int64_t *off;
  pl_buf buf;
} pl__strb;
pl_status pl__strb_init(pl__ctx *c, pl__strb *sb, pl_type_id tid, int64_t n);
pl_status pl__strb_push(pl__ctx *c, pl__strb *sb, int64_t row, const void *p, size_t len);
pl__vec *pl__strb_finish(pl__ctx *c, pl__strb *sb); /* moves the bytes into the vector */
void pl__strb_abort(pl__ctx *c, pl__strb *sb);
static inline size_t pl__slen(const pl__vec *v, int64_t i) {
  int64_t j = i & pl__m(v);
  return (size_t)(v->off[j + 1] - v->off[j]);
}
static inline const uint8_t *pl__sptr(const pl__vec *v, int64_t i) {
  return v->bytes + v->off[i & pl__m(v)];
}

/* Column of the batch as a vector (borrowing its buffers where the layout allows). */
pl_status pl__vec_load(pl__ctx *c, const pl_column *col, pl__vec **out);
/* A literal as a constant vector. */
pl__vec *pl__vec_literal(const pl__node *n);
/* The vector as a column of type t, n rows (constants are repeated). */
pl_status pl__vec_to_column(pl__ctx *c, const pl__vec *v, const pl_type *t, pl_column **out);

/* ------------------------------------------------------------------ kernels */
/* Each takes vectors (not consumed) and returns a new one, or NULL with c->err set. `active`
 * (NULL = all) marks the rows whose result is used: run-time errors are raised only there. */
pl__vec *pl__k_cast(pl__ctx *c, const pl__node *n, pl__vec *a, const uint8_t *active);
pl__vec *pl__k_neg(pl__ctx *c, const pl__node *n, pl__vec *a, const uint8_t *active);
pl__vec *pl__k_arith(pl__ctx *c, const pl__node *n, pl__vec *a, pl__vec *b, const uint8_t *active);
pl__vec *pl__k_cmp(pl__ctx *c, int op, pl__vec *a, pl__vec *b);
pl__vec *pl__k_and_or(pl__ctx *c, bool is_and, pl__vec *a, pl__vec *b);
pl__vec *pl__k_not(pl__ctx *c, pl__vec *a);
pl__vec *pl__k_isnull(pl__ctx *c, pl__vec *a, bool negate);
/* pick[i] says which of v[] gives row i (-1: null). */
pl__vec *pl__k_pick(pl__ctx *c, pl__vkind kind, pl_type_id tid, pl__vec *const *v, const int8_t *pick,
                    int64_t n);
pl__vec *pl__k_math(pl__ctx *c, const pl__node *n, pl__vec *const *a, const uint8_t *active);
pl__vec *pl__k_string(pl__ctx *c, const pl__node *n, pl__vec *const *a);
pl__vec *pl__k_matches(pl__ctx *c, const pl__node *n, pl__vec *a);

/* A double rounded to float32. Out of float range it is infinity (a plain C conversion
 * would be undefined there). */
static inline double pl__f32(double d) {
  if (d >= 0x1.ffffffp127) return __builtin_inf();
  if (d <= -0x1.ffffffp127) return -__builtin_inf();
  return (double)(float)d;
}

/* Integer range of an integer-like type id. */
void pl__int_range(pl_type_id id, int64_t *lo, int64_t *hi);

/* Dates: days since 1970-01-01 <-> civil, for casts to and from text. */

#endif

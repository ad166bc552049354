/* praline/expr.h — the expression language of the filter and derive components
 * (`width >= 256 and caption is not null`, `length(caption)`), evaluated column at a time.
 * The language itself is described in docs/EXPR.md.
 *
 * Ownership and threads:
 *  - pl_expr_compile parses and type-checks text against a schema and returns a pl_expr the
 *    caller frees with pl_expr_free (NULL is fine). The text and schema are copied as needed;
 *    neither must outlive the call.
 *  - A compiled pl_expr is immutable. pl_expr_eval and pl_expr_filter may be called on the
 *    same pl_expr from many threads at once: every call keeps its own state (intermediate
 *    vectors, PCRE2 match data) and frees it before returning.
 *  - Results (columns, batches) belong to the caller; their buffers and every intermediate
 *    vector are charged to the budget given to the call.
 *  - The accessors return pointers into the pl_expr, valid until pl_expr_free.
 */
#ifndef PRALINE_EXPR_H
#define PRALINE_EXPR_H

#include "praline/columnar.h"
#include "praline/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pl_expr pl_expr;

/* Where a compile error is: byte offset into the text (0-based) and character column
 * (1-based, UTF-8 characters), or -1 / 0 when the error has no position. */
typedef struct pl_expr_diag {
  int32_t offset;
  int32_t column;
} pl_expr_diag;

/* Parses and type-checks text against the input schema. Errors (PL_EINVAL) quote the text
 * and give the column and what was expected, e.g.
 *   "width >= 256 and widht > 0", column 18: field 'widht' not found; did you mean 'width'? */
pl_status pl_expr_compile(const char *text, const pl_schema *input, pl_expr **out, pl_error *err);
/* The same, and fills *diag (may be NULL) with the error's position. */
pl_status pl_expr_compile_diag(const char *text, const pl_schema *input, pl_expr **out,
                               pl_expr_diag *diag, pl_error *err);
void pl_expr_free(pl_expr *e);

const char *pl_expr_text(const pl_expr *e);
/* Result type (bool for predicates). An expression that is only `null` has type bool. */
const pl_type *pl_expr_type(const pl_expr *e);
/* False when the result can never hold a null. */
bool pl_expr_nullable(const pl_expr *e);
/* The columns the expression reads, each once, in order of first use. */
int32_t pl_expr_n_columns(const pl_expr *e);
const char *pl_expr_column(const pl_expr *e, int32_t i);

/* Evaluates over every row of the batch into a new column of pl_expr_type(e), charged to b.
 * The batch needs the consumed columns (found by name, with the compile-time type); it may
 * hold others, in any order. Run-time errors (integer overflow) name the row. */
pl_status pl_expr_eval(const pl_expr *e, const pl_batch *in, pl_budget *b, pl_column **out,
                       pl_error *err);
/* Keeps the rows where the bool predicate e is true (null counts as false): *out gets a new
 * batch with the schema of in and the selected rows of every column, in order. */
pl_status pl_expr_filter(const pl_expr *e, const pl_batch *in, pl_budget *b, pl_batch **out,
                         pl_error *err);
/* The predicate's rows as bytes: (*sel)[i] is 1 where the bool predicate e is true, 0 where
 * it is false or null; in->length bytes charged to b, freed with pl_expr_select_free. */
pl_status pl_expr_select(const pl_expr *e, const pl_batch *in, pl_budget *b, uint8_t **sel,
                         pl_error *err);
void pl_expr_select_free(pl_budget *b, uint8_t *sel, int64_t n);
/* Copies the rows of in whose byte sel[i] is non-zero into a new batch (what filter uses;
 * exposed for callers with their own selection). */
pl_status pl_expr_gather(const pl_batch *in, const uint8_t *sel, pl_budget *b, pl_batch **out,
                         pl_error *err);

#ifdef __cplusplus
}
#endif
#endif

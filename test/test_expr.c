/* test_expr.c — the expression language: parse and type errors (offsets, did-you-mean),
 * result types, every operator and function over nullable columns, three-valued logic,
 * overflow, division by zero, UTF-8, regexes, casts, case/if/coalesce, filter over 100k rows
 * (evaluated in chunks of rows: values and error rows checked across chunk edges)
 * against a reference computed here, empty batches, and concurrent evaluation. */
#include "test_util.h"

#include <math.h>
#include <pthread.h>

#include "praline/columnar.h"
#include "praline/expr.h"

#define OK(expr) assert_int_equal((expr), PL_OK)

static pl_budget *B;
static pl_error E;
static pl_batch *FX; /* the fixture batch */

/* ------------------------------------------------------------------ building columns */
#define NUL INT64_MIN /* marks a null in int arrays */

static pl_column *col_of(pl_type t) {
  pl_column *c = pl_column_new(&t, B, &E);
  assert_non_null(c);
  pl_type_release(&t);
  return c;
}
static pl_column *ints(pl_type_id id, const int64_t *v, int n) {
  pl_column *c = col_of(pl_type_make(id));
  for (int i = 0; i < n; i++) OK(v[i] == NUL ? pl_column_append_null(c, &E) : pl_column_append_int(c, v[i], &E));
  return c;
}
static pl_column *floats(pl_type_id id, const double *v, const bool *null, int n) {
  pl_column *c = col_of(pl_type_make(id));
  for (int i = 0; i < n; i++) OK(null && null[i] ? pl_column_append_null(c, &E) : pl_column_append_float(c, v[i], &E));
  return c;
}
static pl_column *strs(pl_type_id id, const char *const *v, int n) {
  pl_column *c = col_of(pl_type_make(id));
  for (int i = 0; i < n; i++) OK(v[i] ? pl_column_append_bytes(c, v[i], strlen(v[i]), &E) : pl_column_append_null(c, &E));
  return c;
}
static pl_column *bools(const int *v, int n) { /* 1, 0, -1 = null */
  pl_column *c = col_of(pl_type_make(PL_BOOL));
  for (int i = 0; i < n; i++) OK(v[i] < 0 ? pl_column_append_null(c, &E) : pl_column_append_bool(c, v[i], &E));
  return c;
}
static void add(pl_batch *b, const char *name, pl_column *c) {
  pl_field f = pl_field_make(name, pl_type_make(PL_BOOL), true);
  pl_type_release(&f.type);
  pl_type_copy(&f.type, &c->type);
  OK(pl_batch_take_column(b, &f, c, &E));
  pl_field_release(&f);
}
static pl_batch *empty_batch(void) {
  pl_schema s;
  pl_schema_init(&s);
  pl_batch *b = pl_batch_new(&s, B, &E);
  pl_schema_release(&s);
  assert_non_null(b);
  return b;
}

/* The fixture: 5 rows, nulls in most columns. */
static pl_batch *fixture(void) {
  pl_batch *b = empty_batch();
  add(b, "i", ints(PL_INT32, (int64_t[]){1, -2, NUL, 2147483647, 0}, 5));
  add(b, "j", ints(PL_INT64, (int64_t[]){10, 3, 5, NUL, 0}, 5));
  add(b, "u8", ints(PL_UINT8, (int64_t[]){1, 2, 3, 250, 0}, 5));
  add(b, "u64", ints(PL_UINT64, (int64_t[]){0, 1, -1 /* 2^64-1 */, 5, NUL}, 5));
  add(b, "f", floats(PL_FLOAT64, (double[]){1.5, -0.5, 0, 4, 0}, (bool[]){0, 0, 1, 0, 0}, 5));
  add(b, "f32", floats(PL_FLOAT32, (double[]){0.5, 2.25, 1, -3, 0.1}, NULL, 5));
  add(b, "s", strs(PL_STRING, (const char *[]){"Hello", "wörld", NULL, "  pad  ", ""}, 5));
  add(b, "bin", strs(PL_BINARY, (const char *[]){"ab", "", "xyz", NULL, "q"}, 5));
  add(b, "b", bools((int[]){1, 0, -1, 1, 0}, 5));
  add(b, "d", ints(PL_DATE32, (int64_t[]){0, 19723, NUL, -1, 365}, 5));
  add(b, "odd name", ints(PL_INT16, (int64_t[]){7, 8, 9, 10, 11}, 5));
  {
    pl_type t = pl_type_timestamp(PL_MICRO, NULL);
    pl_column *c = pl_column_new(&t, B, &E);
    pl_type_release(&t);
    int64_t v[] = {0, 1704067200000000LL + 1500000, NUL, -1, 86400000000LL};
    for (int i = 0; i < 5; i++) OK(v[i] == NUL ? pl_column_append_null(c, &E) : pl_column_append_int(c, v[i], &E));
    add(b, "ts", c);
  }
  {
    pl_type t = pl_type_decimal(10, 2);
    pl_column *c = pl_column_new(&t, B, &E);
    pl_type_release(&t);
    for (int i = 0; i < 5; i++) {
      __int128 v = (__int128)(i * 125 - 100); /* -1.00, 0.25, 1.50, 2.75, 4.00 */
      OK(pl_column_append_bytes(c, &v, 16, &E));
    }
    add(b, "dec", c);
  }
  {
    pl_field item = pl_field_make("item", pl_type_make(PL_INT32), true);
    pl_type t = pl_type_list(item);
    pl_column *c = pl_column_new(&t, B, &E);
    pl_type_release(&t);
    for (int i = 0; i < 5; i++) {
      if (i == 1) {
        OK(pl_column_append_null(c, &E));
        continue;
      }
      OK(pl_column_append_int(c->children[0], i, &E));
      OK(pl_column_end_list(c, &E));
    }
    add(b, "lst", c);
  }
  OK(pl_batch_finish(b, &E));
  return b;
}

static int setup(void **state) {
  (void)state;
  B = pl_budget_new(PL_UNLIMITED);
  pl_error_clear(&E);
  FX = fixture();
  return 0;
}
static int teardown(void **state) {
  (void)state;
  pl_batch_free(FX);
  assert_int_equal(pl_budget_used(B), 0); /* every vector and column credited back */
  pl_budget_free(B);
  return 0;
}

/* ------------------------------------------------------------------ rendering results */
static void render(const pl_column *c, int64_t i, char *buf, size_t cap) {
  if (!pl_column_is_valid(c, i)) {
    snprintf(buf, cap, "null");
    return;
  }
  const uint8_t *v = c->values.data;
  switch (c->type.id) {
  case PL_BOOL: snprintf(buf, cap, "%s", pl_bit_get(v, i) ? "true" : "false"); return;
  case PL_INT8: snprintf(buf, cap, "%d", ((const int8_t *)v)[i]); return;
  case PL_INT16: snprintf(buf, cap, "%d", ((const int16_t *)v)[i]); return;
  case PL_INT32: case PL_DATE32: snprintf(buf, cap, "%d", ((const int32_t *)v)[i]); return;
  case PL_INT64: case PL_TIMESTAMP: snprintf(buf, cap, "%lld", (long long)((const int64_t *)v)[i]); return;
  case PL_UINT8: snprintf(buf, cap, "%u", ((const uint8_t *)v)[i]); return;
  case PL_UINT16: snprintf(buf, cap, "%u", ((const uint16_t *)v)[i]); return;
  case PL_UINT32: snprintf(buf, cap, "%u", ((const uint32_t *)v)[i]); return;
  case PL_UINT64: snprintf(buf, cap, "%llu", (unsigned long long)((const uint64_t *)v)[i]); return;
  case PL_FLOAT32: snprintf(buf, cap, "%g", (double)((const float *)v)[i]); return;
  case PL_FLOAT64: snprintf(buf, cap, "%g", ((const double *)v)[i]); return;
  case PL_STRING: case PL_BINARY: {
    const int64_t *o = pl_column_offsets(c);
    snprintf(buf, cap, "%.*s", (int)(o[i + 1] - o[i]), (const char *)v + o[i]);
    return;
  }
  default: snprintf(buf, cap, "?");
  }
}

static char *render_all(const pl_column *c) {
  static char out[4096];
  size_t len = 0;
  out[0] = 0;
  for (int64_t i = 0; i < c->length; i++) {
    char one[512];
    render(c, i, one, sizeof one);
    len += (size_t)snprintf(out + len, sizeof out - len, "%s%s", i ? "|" : "", one);
  }
  return out;
}

/* Compiles and evaluates text over the fixture; checks the result's rows, type and nulls. */
static void check_eval(const char *text, const char *want_type, const char *want) {
  pl_expr *e;
  pl_status st = pl_expr_compile(text, &FX->schema, &e, &E);
  if (st) fail_msg("compile %s: %s", text, E.msg);
  pl_column *c;
  st = pl_expr_eval(e, FX, B, &c, &E);
  if (st) fail_msg("eval %s: %s", text, E.msg);
  char t[128];
  pl_type_canonical(&c->type, t, sizeof t);
  if (strcmp(t, want_type)) fail_msg("%s: type %s, want %s", text, t, want_type);
  assert_int_equal(c->length, FX->length);
  int64_t nulls = 0;
  for (int64_t i = 0; i < c->length; i++) nulls += !pl_column_is_valid(c, i);
  assert_int_equal(nulls, c->null_count); /* the column's own count is right */
  if (nulls && !pl_expr_nullable(e)) fail_msg("%s: declared never null, gave %lld nulls", text, (long long)nulls);
  const char *got = render_all(c);
  if (strcmp(got, want)) fail_msg("%s:\n  got  %s\n  want %s", text, got, want);
  pl_column_free(c);
  pl_expr_free(e);
}

/* Expects eval (not compile) to fail with a message containing `want`. */
static void check_eval_error(const char *text, const char *want) {
  pl_expr *e;
  pl_status st = pl_expr_compile(text, &FX->schema, &e, &E);
  if (st) fail_msg("compile %s: %s", text, E.msg);
  pl_column *c = NULL;
  st = pl_expr_eval(e, FX, B, &c, &E);
  if (st == PL_OK) fail_msg("%s: evaluated, want an error with \"%s\"", text, want);
  assert_null(c);
  if (!strstr(E.msg, want)) fail_msg("%s: error \"%s\" lacks \"%s\"", text, E.msg, want);
  pl_expr_free(e);
}

/* ------------------------------------------------------------------ compile errors */
static void test_compile_errors(void **state) {
  (void)state;
  static const struct {
    const char *text, *want;
    int column; /* 1-based character column, 0 = none */
  } cases[] = {
      {"widht > 1", "field 'widht' not found", 1},
      {"i > 0 and jj > 1", "field 'jj' not found; did you mean 'j'?", 11},
      {"lenght(s)", "unknown function 'lenght'; did you mean 'length'?", 1},
      {"frobnicate(s)", "unknown function 'frobnicate'", 1},
      {"nothing_like_it", "field 'nothing_like_it' not found (fields: 'i', 'j'", 1},
      {"i >", "expected a value", 4},
      {"(i > 1", "expected ')'", 7},
      {"i > 1)", "expected an operator or the end", 6},
      {"", "empty expression", 1},
      {"'abc", "unterminated string", 1},
      {"s = 'abc\\", "unterminated string", 5}, /* a backslash as the last byte */
      {"`abc", "unterminated quoted name", 1},
      {"s = 'a\\qb'", "unknown escape '\\q'", 7},
      {"s = '\\uD800'", "surrogate", 6},
      {"i + s", "'+' needs numbers, got int32 and string", 5},
      {"s + s", "use a || b", 3},
      {"i and b", "'and' needs a bool, got int32", 1},
      {"not s", "'not' needs a bool, got string", 5},
      {"i = s", "'=': int32 and string do not mix", 3},
      {"b < 1", "bool and int64 do not mix", 3},
      {"length(i)", "length() needs a string, got int32", 8},
      {"length(s, s)", "length() takes 1 argument, got 2", 1},
      {"substr(s)", "substr() takes 2 to 3 arguments, got 1", 1},
      {"matches(s, s)", "needs its pattern as a 'string literal'", 12},
      {"matches(s, '(unclosed')", "bad regular expression", 12},
      {"cast(s as decimal(10,2))", "cannot cast to decimal(10,2)", 1},
      {"cast(s as nonsense)", "unknown type 'nonsense'", 11},
      {"i::lol", "unknown type 'lol'", 4},
      {"cast(lst as string)", "cannot cast list<int32> to string", 1},
      {"lst = lst", "do not mix", 5},
      {"lst", "must give a scalar value", 1},
      {"1 < i < 3", "comparisons do not chain", 7},
      {"i is 3", "expected 'null' or 'not null' after 'is'", 6},
      {"i not like 3", "expected 'in' or 'between' after 'not'", 7},
      {"i between 1 or 2", "expected 'and' in 'between a and b'", 13},
      {"i in ()", "'in' needs at least one value", 3},
      {"case i then 1 end", "expected 'when'", 6},
      {"case when b then 1 else 'x' end", "case values: int64 and string do not mix", 25},
      {"and", "expected a value, found the keyword 'and'", 1},
      {"d > '2024-13-01'", "'2024-13-01' is not a date", 5},
      {"99999999999999999999", "does not fit 64 bits", 1},
      {"-u64", "cannot negate a uint64", 1},
      {"é > 1", "non-ASCII", 1},
      {"s = 'é' and dce > 1", "field 'dce' not found; did you mean 'dec'?", 13}, /* columns count characters */
      {"`odd nam` > 1", "did you mean 'odd name'?", 1},
      {"if(i, 1, 2)", "if() needs a bool, got int32", 4},
      {"12abc", "bad number", 1},
      /* errors deep inside calls, case and cast (partial trees must be freed: ASan checks) */
      {"substr(trim(s), -3s)", "bad number", 18},
      {"case when i > 1 then s || end", "expected a value, found the keyword 'end'", 27},
      {"cast(i + as int8)", "found the keyword 'as'", 10},
      {"coalesce(i, (j + ", "expected a value", 18},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    pl_expr *e = NULL;
    pl_expr_diag d;
    pl_error_clear(&E);
    pl_status st = pl_expr_compile_diag(cases[k].text, &FX->schema, &e, &d, &E);
    if (st == PL_OK) fail_msg("'%s' compiled; want error \"%s\"", cases[k].text, cases[k].want);
    assert_int_equal(st, PL_EINVAL);
    assert_null(e);
    if (!strstr(E.msg, cases[k].want)) fail_msg("'%s': message \"%s\" lacks \"%s\"", cases[k].text, E.msg, cases[k].want);
    if (d.column != cases[k].column) fail_msg("'%s': column %d, want %d (%s)", cases[k].text, d.column, cases[k].column, E.msg);
    char col[32];
    snprintf(col, sizeof col, "column %d:", cases[k].column);
    if (cases[k].column && !strstr(E.msg, col)) fail_msg("'%s': message \"%s\" lacks \"%s\"", cases[k].text, E.msg, col);
  }
}

static void test_deep_nesting_is_refused(void **state) {
  (void)state;
  char text[4096];
  size_t n = 0;
  for (int i = 0; i < 1000; i++) text[n++] = '(';
  text[n++] = '1';
  for (int i = 0; i < 1000; i++) text[n++] = ')';
  text[n] = 0;
  pl_expr *e;
  assert_int_equal(pl_expr_compile(text, &FX->schema, &e, &E), PL_EINVAL);
  assert_non_null(strstr(E.msg, "nested too deeply"));
  memset(text, '-', 3000);
  strcpy(text + 3000, "1");
  assert_int_equal(pl_expr_compile(text, &FX->schema, &e, &E), PL_EINVAL);
  /* case takes at most 64 branches */
  n = (size_t)snprintf(text, sizeof text, "case");
  for (int i = 0; i < 65; i++) n += (size_t)snprintf(text + n, sizeof text - n, " when i = %d then %d", i, i);
  snprintf(text + n, sizeof text - n, " end");
  assert_int_equal(pl_expr_compile(text, &FX->schema, &e, &E), PL_EINVAL);
  assert_non_null(strstr(E.msg, "at most 64"));
  /* 100 levels are fine */
  n = 0;
  for (int i = 0; i < 100; i++) text[n++] = '(';
  text[n++] = 'i';
  for (int i = 0; i < 100; i++) text[n++] = ')';
  text[n] = 0;
  OK(pl_expr_compile(text, &FX->schema, &e, &E));
  pl_expr_free(e);
}

/* ------------------------------------------------------------------ types, columns */
static void test_result_types_and_columns(void **state) {
  (void)state;
  static const struct {
    const char *text, *type;
  } cases[] = {
      {"i + j", "int64"},          {"i + 1", "int32"},          {"i + 3000000000", "int64"},
      {"u8 + u8", "uint8"},        {"u8 + i", "int32"},         {"u8 - 1", "uint8"},
      {"u8 + 300", "int64"},       {"u64 + 1", "uint64"},       {"i / f", "float64"},
      {"f32 * f32", "float32"},    {"f32 + 1", "float32"},      {"f32 + f", "float64"},
      {"1 + 2", "int64"},          {"1.5", "float64"},          {"dec + 1", "float64"},
      {"-u8", "int16"},            {"length(s)", "int64"},      {"s || 1", "string"},
      {"concat(s, i, f)", "string"}, {"cast(i as int8)", "int8"}, {"i::float64", "float64"},
      {"j::int8", "int8"},         {"u8::int64", "int64"},      {"d >= '2024-01-01'", "bool"},
      {"i is null", "bool"},       {"null", "bool"},            {"coalesce(i, 0)", "int32"},
      {"coalesce(i, j)", "int64"}, {"if(b, 1, 2.5)", "float64"}, {"case when b then s end", "string"},
      {"sqrt(u8)", "float64"},     {"abs(i)", "int32"},         {"round(f32)", "float32"},
      {"round(i, 1)", "float64"},  {"ts", "timestamp"},         {"cast(s as timestamp[ms])", "timestamp"},
      {"bin || bin", "binary"},    {"trim(bin)", "binary"},     {"`odd name` * 2", "int16"},
      {"coalesce(null, null)", "bool"}, {"null = null", "bool"}, {"least(u8, 1000)", "int64"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    pl_expr *e;
    if (pl_expr_compile(cases[k].text, &FX->schema, &e, &E)) fail_msg("%s: %s", cases[k].text, E.msg);
    char t[64];
    pl_type_canonical(pl_expr_type(e), t, sizeof t);
    if (strcmp(t, cases[k].type)) fail_msg("%s: type %s, want %s", cases[k].text, t, cases[k].type);
    pl_expr_free(e);
  }
  /* nullability follows the schema: declare the fields NOT NULL */
  pl_schema s;
  pl_schema_init(&s);
  pl_schema_add(&s, pl_field_make("w", pl_type_make(PL_INT32), false));
  pl_schema_add(&s, pl_field_make("h", pl_type_make(PL_INT32), false));
  pl_schema_add(&s, pl_field_make("caption", pl_type_make(PL_STRING), true));
  pl_expr *e;
  OK(pl_expr_compile("w * h", &s, &e, &E));
  assert_false(pl_expr_nullable(e));
  pl_expr_free(e);
  OK(pl_expr_compile("w / h", &s, &e, &E));
  assert_true(pl_expr_nullable(e)); /* division by zero gives null */
  pl_expr_free(e);
  OK(pl_expr_compile("coalesce(caption, 'none')", &s, &e, &E));
  assert_false(pl_expr_nullable(e));
  pl_expr_free(e);
  OK(pl_expr_compile("caption is not null and w >= 256 and h >= w and length(caption) > 0", &s, &e, &E));
  assert_int_equal(pl_expr_n_columns(e), 3);
  assert_string_equal(pl_expr_column(e, 0), "caption");
  assert_string_equal(pl_expr_column(e, 1), "w");
  assert_string_equal(pl_expr_column(e, 2), "h");
  assert_null(pl_expr_column(e, 3));
  assert_string_equal(pl_expr_text(e), "caption is not null and w >= 256 and h >= w and length(caption) > 0");
  pl_expr_free(e);
  OK(pl_expr_compile("1 + 1", &s, &e, &E));
  assert_int_equal(pl_expr_n_columns(e), 0);
  pl_expr_free(e);
  pl_schema_release(&s);
}

/* ------------------------------------------------------------------ arithmetic */
static void test_arithmetic(void **state) {
  (void)state;
  /* i = 1,-2,null,2147483647,0   j = 10,3,5,null,0   f = 1.5,-0.5,null,4,0 */
  check_eval("i + j", "int64", "11|1|null|null|0");
  check_eval("j - i", "int64", "9|5|null|null|0");
  check_eval("j * 2", "int64", "20|6|10|null|0");
  check_eval("j / 3", "int64", "3|1|1|null|0");
  check_eval("-j / 3", "int64", "-3|-1|-1|null|0"); /* truncates toward zero */
  check_eval("j % 3", "int64", "1|0|2|null|0");
  check_eval("-j % 3", "int64", "-1|0|-2|null|0"); /* sign of the dividend */
  check_eval("f * 2", "float64", "3|-1|null|8|0");
  check_eval("f / 2", "float64", "0.75|-0.25|null|2|0");
  check_eval("f % 1", "float64", "0.5|-0.5|null|0|0");
  check_eval("i / f", "float64", "0.666667|4|null|5.36871e+08|null");
  check_eval("-i", "int32", "-1|2|null|-2147483647|0");
  check_eval("-f", "float64", "-1.5|0.5|null|-4|-0");
  check_eval("u8 + 5", "uint8", "6|7|8|255|5");
  check_eval("u8 * 2::int16", "int16", "2|4|6|500|0");
  check_eval("u8 - i", "int32", "0|4|null|-2147483397|0");
  check_eval("u64 / 2", "uint64", "0|0|9223372036854775807|2|null");
  check_eval("dec * 2", "float64", "-2|0.5|3|5.5|8");
  check_eval("f32 * 2", "float32", "1|4.5|2|-6|0.2");
  check_eval("`odd name` + 1", "int16", "8|9|10|11|12");
  check_eval("2 + 3 * 4 - 10 / 3", "int64", "11|11|11|11|11"); /* precedence, constant broadcast */
  check_eval("(2 + 3) * 4", "int64", "20|20|20|20|20");
  check_eval("-(-(j))", "int64", "10|3|5|null|0");
  check_eval("null + j", "int64", "null|null|null|null|null");
  check_eval("- -1 + j", "int64", "11|4|6|null|1");
  check_eval("-(-9223372036854775808)", "uint64", "9223372036854775808|9223372036854775808|9223372036854775808|"
                                                  "9223372036854775808|9223372036854775808");
  check_eval("'x' || 1 || 2.5 || true", "string", "x12.5true|x12.5true|x12.5true|x12.5true|x12.5true");
  check_eval("concat(1, null, 'a')", "string", "1a|1a|1a|1a|1a");
  check_eval("cast(1 as string) || substr('abc', 2)", "string", "1bc|1bc|1bc|1bc|1bc");
}

/* Integer overflow is an error naming the row and the values; it is not raised for rows
 * that are null or whose value is not used (untaken case branches, decided and/or). */
static void test_overflow(void **state) {
  (void)state;
  check_eval_error("i + 1", "int32 overflow at row 3: 2147483647 + 1 does not fit int32");
  check_eval("cast(i as int64) + 1", "int64", "2|-1|null|2147483648|1");
  check_eval("i::int64 * i", "int64", "1|4|null|4611686014132420609|0");
  check_eval_error("i * i", "int32 overflow at row 3");
  check_eval_error("j * 9223372036854775807", "int64 overflow at row 0");
  check_eval_error("u8 * 2", "uint8 overflow at row 3: 250 * 2 does not fit uint8");
  check_eval_error("u8 - 3", "uint8 overflow at row 0: 1 - 3");
  check_eval_error("u64 + 1", "uint64 overflow at row 2");
  check_eval_error("u64 + j", "uint64 value 18446744073709551615 at row 2 does not fit int64");
  check_eval_error("i - 2147483647 - 1", "int32 overflow at row 1: -2 - 2147483647");
  check_eval_error("-(j - j - 9223372036854775807 - 1)", "int64 overflow at row 0: -(-9223372036854775808)");
  check_eval_error("abs(cast(j - j - 2147483648 as int32))", "int32 overflow at row 0: abs(-2147483648)");
  check_eval_error("(-9223372036854775808) / (j - j - 1)", "int64 overflow at row 0");
  /* not raised where the value is null or unused */
  check_eval("case when i < 1000 then i * 1000 else 0 end", "int32", "1000|-2000|0|0|0");
  check_eval("if(i > 1000, 0, i * 1000)", "int32", "1000|-2000|null|0|0");
  check_eval("i < 1000 and i * 1000 > 0", "bool", "true|false|null|false|false");
  check_eval("i > 1000 or i * 1000 < 0", "bool", "false|true|null|true|false");
  check_eval_error("coalesce(j, i + 1)", "int32 overflow at row 3"); /* row 3 needs i + 1 */
  check_eval("coalesce(i, j + 1)", "int64", "1|-2|6|2147483647|0");  /* j + 1 only on row 2 */
}

static void test_division_by_zero(void **state) {
  (void)state;
  check_eval("j / i", "int64", "10|-1|null|null|null");
  check_eval("j % i", "int64", "0|1|null|null|null");
  check_eval("j / 0", "int64", "null|null|null|null|null");
  check_eval("u64 / u64", "uint64", "null|1|1|1|null");
  check_eval("f / 0", "float64", "null|null|null|null|null");
  check_eval("f % 0.0", "float64", "null|null|null|null|null");
  check_eval("1 / 0 is null", "bool", "true|true|true|true|true");
  check_eval("j / (j - j)", "int64", "null|null|null|null|null");
}

/* ------------------------------------------------------------------ logic */
static void test_three_valued_logic(void **state) {
  (void)state;
  /* p and q run over every pair of (true, false, null) */
  pl_batch *b = empty_batch();
  int P[9], Q[9];
  for (int k = 0; k < 9; k++) P[k] = (k / 3 == 2) ? -1 : 1 - k / 3, Q[k] = (k % 3 == 2) ? -1 : 1 - k % 3;
  add(b, "p", bools(P, 9));
  add(b, "q", bools(Q, 9));
  OK(pl_batch_finish(b, &E));
  /* SQL's tables: T=1 F=0 N=-1 */
  static const int AND[3][3] = {{1, 0, -1}, {0, 0, 0}, {-1, 0, -1}};
  static const int OR[3][3] = {{1, 1, 1}, {1, 0, -1}, {1, -1, -1}};
  static const char *const exprs[] = {"p and q", "p or q", "not p", "(not (p and q)) = (not p or not q)", "p is null",
                                      "p is not null", "p = q", "p != q"};
  for (size_t x = 0; x < sizeof exprs / sizeof exprs[0]; x++) {
    pl_expr *e;
    OK(pl_expr_compile(exprs[x], &b->schema, &e, &E));
    pl_column *c;
    OK(pl_expr_eval(e, b, B, &c, &E));
    for (int k = 0; k < 9; k++) {
      int pi = k / 3, qi = k % 3, want;
      int p = P[k], q = Q[k];
      switch (x) {
      case 0: want = AND[pi][qi]; break;
      case 1: want = OR[pi][qi]; break;
      case 2: want = p < 0 ? -1 : !p; break;
      case 3: want = AND[pi][qi] == -1 ? -1 : 1; break; /* De Morgan holds wherever it is known */
      case 4: want = p < 0; break;
      case 5: want = p >= 0; break;
      case 6: want = p < 0 || q < 0 ? -1 : p == q; break;
      default: want = p < 0 || q < 0 ? -1 : p != q; break;
      }
      int got = pl_column_is_valid(c, k) ? pl_bit_get(c->values.data, k) : -1;
      if (got != want) fail_msg("%s with p=%d q=%d: got %d want %d", exprs[x], p, q, got, want);
    }
    pl_column_free(c);
    pl_expr_free(e);
  }
  pl_batch_free(b);
  check_eval("b and null", "bool", "null|false|null|null|false");
  check_eval("b or null", "bool", "true|null|null|true|null");
  check_eval("not b", "bool", "false|true|null|false|true");
  check_eval("true and not false", "bool", "true|true|true|true|true");
}

static void test_comparisons(void **state) {
  (void)state;
  check_eval("i = 1", "bool", "true|false|null|false|false");
  check_eval("i == 1", "bool", "true|false|null|false|false");
  check_eval("i != 1", "bool", "false|true|null|true|true");
  check_eval("i <> 1", "bool", "false|true|null|true|true");
  check_eval("i < j", "bool", "true|true|null|null|false");
  check_eval("i <= 0", "bool", "false|true|null|false|true");
  check_eval("i > 0", "bool", "true|false|null|true|false");
  check_eval("i >= -2", "bool", "true|true|null|true|true");
  check_eval("i > 2147483646.5", "bool", "false|false|null|true|false");
  check_eval("u64 > i", "bool", "false|true|null|false|null"); /* uint64 against int32, exactly */
  check_eval("i < u64", "bool", "false|true|null|false|null");
  check_eval("u64 = 18446744073709551615", "bool", "false|false|true|false|null");
  check_eval("u64 >= j", "bool", "false|false|true|null|null");
  check_eval("u64 > -1", "bool", "true|true|true|true|null"); /* no int64 detour for the uint64 side */
  check_eval("u64 in (-1, 1)", "bool", "false|true|false|false|null");
  check_eval("u64 between -5 and 1", "bool", "true|true|false|false|null");
  check_eval("f > 0", "bool", "true|false|null|true|false");
  check_eval("f32 = 0.1", "bool", "false|false|false|false|false"); /* float32 0.1 is not float64 0.1 */
  check_eval("f32 = 0.1::float32", "bool", "false|false|false|false|true");
  check_eval("s = 'Hello'", "bool", "true|false|null|false|false");
  check_eval("s < 'b'", "bool", "true|false|null|true|true"); /* bytewise: 'H' < 'b' */
  check_eval("s >= ''", "bool", "true|true|null|true|true");
  check_eval("bin = 'ab'", "bool", "true|false|false|null|false");
  check_eval("b = true", "bool", "true|false|null|true|false");
  check_eval("b > false", "bool", "true|false|null|true|false");
  check_eval("d >= '2024-01-01'", "bool", "false|true|null|false|false");
  check_eval("d < '1970-01-02'", "bool", "true|false|null|true|false");
  check_eval("ts >= '2024-01-01 00:00:01.5'", "bool", "false|true|null|false|false");
  check_eval("ts > '1970-01-01'", "bool", "false|true|null|false|true");
  check_eval("`odd name` > 8", "bool", "false|false|true|true|true");
}

static void test_in_between_is_null(void **state) {
  (void)state;
  check_eval("i in (1, 0)", "bool", "true|false|null|false|true");
  check_eval("i not in (1, 0)", "bool", "false|true|null|true|false");
  check_eval("i in (1, null)", "bool", "true|null|null|null|null"); /* SQL: no match + null = null */
  check_eval("i not in (1, null)", "bool", "false|null|null|null|null");
  check_eval("i in (j, 0)", "bool", "false|false|null|null|true");
  check_eval("s in ('Hello', 'x')", "bool", "true|false|null|false|false");
  check_eval("i in (3000000000, 1)", "bool", "true|false|null|false|false");
  check_eval("i between 0 and 1", "bool", "true|false|null|false|true");
  check_eval("i not between 0 and 1", "bool", "false|true|null|true|false");
  check_eval("j between i and 5", "bool", "false|true|null|null|true");
  check_eval("i between 0 and 1 and j > 0", "bool", "true|false|null|false|false");
  check_eval("s between 'a' and 'z'", "bool", "false|true|null|false|false");
  check_eval("i is null", "bool", "false|false|true|false|false");
  check_eval("s is not null", "bool", "true|true|false|true|true");
  check_eval("lst is null", "bool", "false|true|false|false|false");
  check_eval("lst is not null", "bool", "true|false|true|true|true");
  check_eval("null is null", "bool", "true|true|true|true|true");
  check_eval("(i + j) is null", "bool", "false|false|true|true|false");
}

/* ------------------------------------------------------------------ strings */
static void test_strings(void **state) {
  (void)state;
  /* s = "Hello", "wörld", null, "  pad  ", "" */
  check_eval("length(s)", "int64", "5|5|null|7|0"); /* characters, not bytes: ö is 2 bytes */
  check_eval("length(bin)", "int64", "2|0|3|null|1");
  check_eval("length('日本語') + length('😀')", "int64", "4|4|4|4|4");
  check_eval("lower(s)", "string", "hello|wörld|null|  pad  |");
  check_eval("upper(s)", "string", "HELLO|WÖRLD|null|  PAD  |");
  check_eval("upper('straße ÉTÉ ıi σς привет')", "string", "STRAßE ÉTÉ II ΣΣ ПРИВЕТ|STRAßE ÉTÉ II ΣΣ ПРИВЕТ|"
                                                           "STRAßE ÉTÉ II ΣΣ ПРИВЕТ|STRAßE ÉTÉ II ΣΣ ПРИВЕТ|STRAßE ÉTÉ II ΣΣ ПРИВЕТ");
  check_eval("lower('ÀÉÎÕÜ ΑΒΓ ПРИВЕТ')", "string", "àéîõü αβγ привет|àéîõü αβγ привет|àéîõü αβγ привет|"
                                                   "àéîõü αβγ привет|àéîõü αβγ привет");
  check_eval("length(upper('ıi'))", "int64", "2|2|2|2|2");
  check_eval("lower('A\\xffB')", "string", "a\xff" "b|a\xff" "b|a\xff" "b|a\xff" "b|a\xff" "b"); /* bad bytes kept */
  check_eval("trim(s)", "string", "Hello|wörld|null|pad|");
  check_eval("ltrim(s)", "string", "Hello|wörld|null|pad  |");
  check_eval("rtrim(s)", "string", "Hello|wörld|null|  pad|");
  check_eval("trim(' \\t\\n x y \\r ')", "string", "x y|x y|x y|x y|x y");
  check_eval("contains(s, 'l')", "bool", "true|true|null|false|false");
  check_eval("contains(s, '')", "bool", "true|true|null|true|true");
  check_eval("contains(s, 'ör')", "bool", "false|true|null|false|false");
  check_eval("starts_with(s, 'He')", "bool", "true|false|null|false|false");
  check_eval("ends_with(s, 'ld')", "bool", "false|true|null|false|false");
  check_eval("ends_with(s, s)", "bool", "true|true|null|true|true");
  check_eval("substr(s, 2, 3)", "string", "ell|örl|null| pa|");
  check_eval("substr(s, 2)", "string", "ello|örld|null| pad  |");
  check_eval("substr(s, -3, 2)", "string", "ll|rl|null|d |");
  check_eval("substr(s, 0, 3)", "string", "He|wö|null|  |");
  check_eval("substr(s, 10)", "string", "||null||");
  check_eval("substr(s, 1, -1)", "string", "||null||");
  check_eval("substr(s, 1, j)", "string", "Hello|wör|null|null|");
  check_eval("s || '!'", "string", "Hello!|wörld!|null|  pad  !|!");
  check_eval("s || i", "string", "Hello1|wörld-2|null|  pad  2147483647|0");
  check_eval("'x' || f || b", "string", "x1.5true|x-0.5false|null|x4true|x0false");
  check_eval("concat(s, '-', i)", "string", "Hello-1|wörld--2|-|  pad  -2147483647|-0"); /* nulls skipped */
  check_eval("concat(s)", "string", "Hello|wörld||  pad  |");
  check_eval("replace(s, 'l', 'LL')", "string", "HeLLLLo|wörLLd|null|  pad  |");
  check_eval("replace(s, '', 'x')", "string", "Hello|wörld|null|  pad  |");
  check_eval("replace(s, 'ö', '')", "string", "Hello|wrld|null|  pad  |");
  check_eval("replace('aaa', 'aa', 'b')", "string", "ba|ba|ba|ba|ba");
  check_eval("\"double\" || 'single' || 'it''s' || \"\\\"q\\\"\"", "string",
             "doublesingleit's\"q\"|doublesingleit's\"q\"|doublesingleit's\"q\"|doublesingleit's\"q\"|doublesingleit's\"q\"");
  check_eval("'\\u00e9\\x41'", "string", "éA|éA|éA|éA|éA");
}

static void test_regex(void **state) {
  (void)state;
  check_eval("matches(s, 'l+')", "bool", "true|true|null|false|false");
  check_eval("matches(s, '^H')", "bool", "true|false|null|false|false");
  check_eval("matches(s, '^\\\\s+pad\\\\s+$')", "bool", "false|false|null|true|false");
  check_eval("matches(s, '^.{5}$')", "bool", "true|true|null|false|false"); /* UTF-8: ö is one character */
  check_eval("matches(s, '(?i)^hello$')", "bool", "true|false|null|false|false");
  check_eval("matches(s, '\\\\p{L}ö')", "bool", "false|true|null|false|false");
  check_eval("matches(s, '')", "bool", "true|true|null|true|true");
  check_eval("matches(bin, '^a')", "bool", "true|false|false|null|false");
  check_eval("not matches(s, 'o')", "bool", "false|true|null|true|true"); /* ö is not o */
  /* invalid UTF-8 in the data is not an error */
  pl_batch *b = empty_batch();
  add(b, "t", strs(PL_STRING, (const char *[]){"ok", "bad\xff\xfe", "\xc3"}, 3));
  OK(pl_batch_finish(b, &E));
  pl_expr *e;
  OK(pl_expr_compile("matches(t, '^[a-z]+')", &b->schema, &e, &E));
  pl_column *c;
  OK(pl_expr_eval(e, b, B, &c, &E));
  assert_string_equal(render_all(c), "true|true|false");
  pl_column_free(c);
  pl_expr_free(e);
  pl_batch_free(b);
}

/* ------------------------------------------------------------------ math */
static void test_math(void **state) {
  (void)state;
  check_eval("abs(i)", "int32", "1|2|null|2147483647|0");
  check_eval("abs(f)", "float64", "1.5|0.5|null|4|0");
  check_eval("abs(u8)", "uint8", "1|2|3|250|0");
  check_eval("round(f)", "float64", "2|-1|null|4|0"); /* half away from zero */
  check_eval("round(2.345, 2)", "float64", "2.35|2.35|2.35|2.35|2.35");
  check_eval("round(1234.5, -2)", "float64", "1200|1200|1200|1200|1200");
  check_eval("round(i)", "int32", "1|-2|null|2147483647|0");
  check_eval("floor(f)", "float64", "1|-1|null|4|0");
  check_eval("ceil(f)", "float64", "2|-0|null|4|0");
  check_eval("floor(f32 * 3)", "float32", "1|6|3|-9|0");
  check_eval("sqrt(f)", "float64", "1.22474|null|null|2|0"); /* sqrt(-0.5) is null */
  check_eval("sqrt(j)", "float64", "3.16228|1.73205|2.23607|null|0");
  check_eval("ln(j)", "float64", "2.30259|1.09861|1.60944|null|null"); /* ln(0) is null */
  check_eval("log10(j)", "float64", "1|0.477121|0.69897|null|null");
  check_eval("exp(f)", "float64", "4.48169|0.606531|null|54.5982|1");
  check_eval("exp(1000) is null", "bool", "true|true|true|true|true");
  check_eval("pow(j, 2)", "float64", "100|9|25|null|0");
  check_eval("pow(f, 0.5)", "float64", "1.22474|null|null|2|0");
  check_eval("pow(0, -1) is null", "bool", "true|true|true|true|true");
  check_eval("least(i, j, 3)", "int64", "1|-2|3|3|0");
  check_eval("greatest(i, j)", "int64", "10|3|5|2147483647|0"); /* nulls skipped */
  check_eval("greatest(null, i)", "int32", "1|-2|null|2147483647|0");
  check_eval("least(s, 'b')", "string", "Hello|b|b|  pad  |");
  check_eval("greatest(f, i)", "float64", "1.5|-0.5|null|2.14748e+09|0");
}

/* ------------------------------------------------------------------ casts */
static void test_casts(void **state) {
  (void)state;
  pl_batch *b = empty_batch();
  add(b, "t", strs(PL_STRING, (const char *[]){"42", " -7 ", "12abc", "", NULL, "3.9", "9223372036854775808", "1e3",
                                                "true", "2024-02-29", "2023-02-29", "1e400", "-inf"}, 13));
  OK(pl_batch_finish(b, &E));
  pl_batch *saved = FX;
  FX = b;
  /* text that is not a number gives null (never an error) */
  check_eval("cast(t as int64)", "int64", "42|-7|null|null|null|null|null|null|null|null|null|null|null");
  check_eval("cast(t as int8)", "int8", "42|-7|null|null|null|null|null|null|null|null|null|null|null");
  check_eval("t::float64", "float64", "42|-7|null|null|null|3.9|9.22337e+18|1000|null|null|null|null|-inf");
  check_eval("t::uint64", "uint64", "42|null|null|null|null|null|9223372036854775808|null|null|null|null|null|null");
  check_eval("t::bool", "bool", "null|null|null|null|null|null|null|null|true|null|null|null|null");
  check_eval("t::date32", "date", "null|null|null|null|null|null|null|null|null|19782|null|null|null");
  check_eval("t::date32::string", "string", "null|null|null|null|null|null|null|null|null|2024-02-29|null|null|null");
  FX = saved;
  pl_batch_free(b);
  check_eval("cast(f as int32)", "int32", "2|-1|null|4|0"); /* rounds half away from zero */
  check_eval("cast(j * 100 as int8)", "int8", "null|null|null|null|0"); /* out of range: null */
  check_eval("cast(i as uint8)", "uint8", "1|null|null|null|0");
  check_eval("cast(u64 as int64)", "int64", "0|1|null|5|null");
  check_eval("cast(i as float32)", "float32", "1|-2|null|2.14748e+09|0");
  check_eval("cast(1e300 as float32)", "float32", "inf|inf|inf|inf|inf");
  check_eval("cast(b as int32) + 1", "int32", "2|1|null|2|1");
  check_eval("cast(j as bool)", "bool", "true|true|true|null|false");
  check_eval("cast(i as string)", "string", "1|-2|null|2147483647|0");
  check_eval("cast(f as string)", "string", "1.5|-0.5|null|4|0");
  check_eval("cast(f32 as string)", "string", "0.5|2.25|1|-3|0.1");
  check_eval("cast(b as string)", "string", "true|false|null|true|false");
  check_eval("cast(d as string)", "string", "1970-01-01|2024-01-01|null|1969-12-31|1971-01-01");
  check_eval("cast(ts as string)", "string", "1970-01-01 00:00:00|2024-01-01 00:00:01.500000|null|1969-12-31 23:59:59.999999|1970-01-02 00:00:00");
  check_eval("cast(d as timestamp)", "timestamp", "0|1704067200000000|null|-86400000000|31536000000000");
  check_eval("cast(ts as date32)", "date", "0|19723|null|-1|1");
  check_eval("cast(ts as timestamp[s])", "timestamp", "0|1704067201|null|-1|86400");
  check_eval("cast(d as int32)", "int32", "0|19723|null|-1|365");
  check_eval("cast('2024-01-01T12:30:00Z' as timestamp[ms])", "timestamp",
             "1704112200000|1704112200000|1704112200000|1704112200000|1704112200000");
  check_eval("cast(s as binary)", "binary", "Hello|wörld|null|  pad  |");
  check_eval("cast(null as int32) is null", "bool", "true|true|true|true|true");
  check_eval("cast(i as int16)", "int16", "1|-2|null|null|0");
}

/* ------------------------------------------------------------------ case, if, coalesce */
static void test_choice(void **state) {
  (void)state;
  check_eval("if(b, 'yes', 'no')", "string", "yes|no|no|yes|no"); /* null condition takes the else */
  check_eval("if(i > 0, i, j)", "int64", "1|3|5|2147483647|0");
  check_eval("case when i > 1 then 'big' when i > 0 then 'one' when i is null then 'none' else 'small' end",
             "string", "one|small|none|big|small");
  check_eval("case when i > 1 then 'big' end", "string", "null|null|null|big|null");
  check_eval("case when b then f when not b then 0 end", "float64", "1.5|0|null|4|0");
  check_eval("case when b then d end", "date", "0|null|null|-1|null");
  check_eval("coalesce(i, j, -1)", "int64", "1|-2|5|2147483647|0");
  check_eval("coalesce(s, 'none')", "string", "Hello|wörld|none|  pad  |");
  check_eval("coalesce(null, null, 3)", "int64", "3|3|3|3|3");
  check_eval("coalesce(u64, 7)", "uint64", "0|1|18446744073709551615|5|7");
}

/* ------------------------------------------------------------------ filter */
static void test_filter_matches_reference(void **state) {
  (void)state;
  enum { N = 100000 };
  pl_schema s;
  pl_schema_init(&s);
  pl_schema_add(&s, pl_field_make("width", pl_type_make(PL_INT32), true));
  pl_schema_add(&s, pl_field_make("height", pl_type_make(PL_INT32), true));
  pl_schema_add(&s, pl_field_make("caption", pl_type_make(PL_STRING), true));
  pl_schema_add(&s, pl_field_make("score", pl_type_make(PL_FLOAT64), true));
  pl_schema_add(&s, pl_field_make("nsfw", pl_type_make(PL_BOOL), true));
  pl_schema_add(&s, pl_field_make("tags", pl_type_list(pl_field_make("item", pl_type_make(PL_STRING), true)), true));
  pl_batch *in = pl_batch_new(&s, B, &E);
  assert_non_null(in);
  uint64_t x = 88172645463325252ULL;
#define RND() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)
  static int32_t W[N], H[N];
  static bool wn[N], hn[N], cn[N];
  for (int i = 0; i < N; i++) {
    W[i] = (int32_t)(RND() % 1024), H[i] = (int32_t)(RND() % 1024);
    wn[i] = RND() % 17 == 0, hn[i] = RND() % 19 == 0, cn[i] = RND() % 5 == 0;
    OK(wn[i] ? pl_column_append_null(in->columns[0], &E) : pl_column_append_int(in->columns[0], W[i], &E));
    OK(hn[i] ? pl_column_append_null(in->columns[1], &E) : pl_column_append_int(in->columns[1], H[i], &E));
    char cap[64];
    int len = snprintf(cap, sizeof cap, "caption %d %s", i, i % 3 ? "a photo" : "ünïcode");
    OK(cn[i] ? pl_column_append_null(in->columns[2], &E) : pl_column_append_bytes(in->columns[2], cap, (size_t)len, &E));
    OK(i % 11 == 0 ? pl_column_append_null(in->columns[3], &E) : pl_column_append_float(in->columns[3], i * 0.5, &E));
    OK(pl_column_append_bool(in->columns[4], i % 2, &E));
    pl_column *tags = in->columns[5];
    if (i % 7 == 0) OK(pl_column_append_null(tags, &E));
    else {
      for (int k = 0; k < i % 3; k++) OK(pl_column_append_bytes(tags->children[0], "t", 1, &E));
      OK(pl_column_end_list(tags, &E));
    }
  }
  OK(pl_batch_finish(in, &E));
  pl_expr *e;
  OK(pl_expr_compile("width >= 256 and height >= 256 and caption is not null", &s, &e, &E));
  pl_batch *out;
  OK(pl_expr_filter(e, in, B, &out, &E));
  /* the reference: a plain loop over the rows */
  int64_t k = 0;
  for (int i = 0; i < N; i++) {
    if (wn[i] || hn[i] || cn[i] || W[i] < 256 || H[i] < 256) continue;
    for (int f = 0; f < s.n_fields; f++) {
      char a[256], b[256];
      pl_canonical_value(in->columns[f], i, a, sizeof a);
      pl_canonical_value(out->columns[f], k, b, sizeof b);
      if (strcmp(a, b)) fail_msg("row %d (out %lld) field %s: %s vs %s", i, (long long)k, s.fields[f].name, a, b);
      assert_int_equal(pl_column_is_valid(in->columns[f], i), pl_column_is_valid(out->columns[f], k));
    }
    k++;
  }
  assert_true(k > 20000 && k < 60000); /* a real selection, neither all nor nothing */
  assert_int_equal(out->length, k);
  for (int f = 0; f < s.n_fields; f++) {
    assert_int_equal(out->columns[f]->length, k);
    int64_t nulls = 0;
    for (int64_t r = 0; r < k; r++) nulls += !pl_column_is_valid(out->columns[f], r);
    assert_int_equal(out->columns[f]->null_count, nulls);
  }
  pl_batch_free(out);
  pl_expr_free(e);
  /* all rows, no rows, and a null predicate */
  static const struct {
    const char *text;
    int64_t rows;
  } edge[] = {{"true", N}, {"false", 0}, {"null", 0}, {"width is null or width is not null", N}, {"score > 1e9", 0}};
  for (size_t c = 0; c < sizeof edge / sizeof edge[0]; c++) {
    OK(pl_expr_compile(edge[c].text, &s, &e, &E));
    OK(pl_expr_filter(e, in, B, &out, &E));
    assert_int_equal(out->length, edge[c].rows);
    assert_int_equal(out->schema.n_fields, s.n_fields);
    if (edge[c].rows == N)
      for (int f = 0; f < s.n_fields; f++) {
        char a[256], b[256];
        pl_canonical_value(in->columns[f], N - 1, a, sizeof a);
        pl_canonical_value(out->columns[f], N - 1, b, sizeof b);
        assert_string_equal(a, b);
      }
    pl_batch_free(out);
    pl_expr_free(e);
  }
  /* filter needs a bool */
  OK(pl_expr_compile("width + 1", &s, &e, &E));
  assert_int_equal(pl_expr_filter(e, in, B, &out, &E), PL_EINVAL);
  assert_non_null(strstr(E.msg, "not bool"));
  pl_expr_free(e);
  /* Expressions run over chunks of rows: every value of a 100k-row evaluation equals the
   * same expression over that row alone (one row, one chunk), at the chunk edges and at
   * random rows, for int, string, bool and nullable results. */
  static const char *const texts[] = {"length(caption)::int32", "width + height", "nsfw and width > 300",
                                      "upper(caption)", "coalesce(score, width::float64)", "caption is null",
                                      "case when nsfw then caption else 'x' end"};
  static const int64_t edges[] = {0, 1, 8191, 16383, 16384, 16385, 32767, 32768, 49152, 65535, 99998, 99999};
  for (size_t t = 0; t < sizeof texts / sizeof texts[0]; t++) {
    OK(pl_expr_compile(texts[t], &s, &e, &E));
    pl_column *all;
    OK(pl_expr_eval(e, in, B, &all, &E));
    assert_int_equal(all->length, N);
    int64_t nulls = 0;
    for (int64_t r = 0; r < N; r++) nulls += !pl_column_is_valid(all, r);
    assert_int_equal(all->null_count, nulls);
    for (int q = 0; q < 40; q++) {
      int64_t r = q < 12 ? edges[q] : (int64_t)(RND() % N);
      pl_batch *one = pl_batch_new(&s, B, &E);
      assert_non_null(one);
      for (int f = 0; f < s.n_fields; f++) OK(pl_column_append_slice(one->columns[f], in->columns[f], r, 1, &E));
      OK(pl_batch_finish(one, &E));
      pl_column *c1;
      OK(pl_expr_eval(e, one, B, &c1, &E));
      char a[256], b[256];
      pl_canonical_value(all, r, a, sizeof a);
      pl_canonical_value(c1, 0, b, sizeof b);
      if (strcmp(a, b)) fail_msg("%s at row %lld: %s over the batch, %s alone", texts[t], (long long)r, a, b);
      pl_column_free(c1);
      pl_batch_free(one);
    }
    pl_column_free(all);
    pl_expr_free(e);
  }
  pl_batch_free(in);
  pl_schema_release(&s);
}

/* An error in a later chunk names the batch's row, not the chunk's. */
static void test_error_row_in_later_chunk(void **state) {
  (void)state;
  pl_schema s;
  pl_schema_init(&s);
  pl_schema_add(&s, pl_field_make("j", pl_type_make(PL_INT64), false));
  pl_batch *in = pl_batch_new(&s, B, &E);
  assert_non_null(in);
  for (int64_t i = 0; i < 40000; i++) OK(pl_column_append_int(in->columns[0], i == 39999 ? INT64_MAX : i, &E));
  OK(pl_batch_finish(in, &E));
  pl_expr *e;
  OK(pl_expr_compile("j + 1", &s, &e, &E));
  pl_column *c;
  assert_int_equal(pl_expr_eval(e, in, B, &c, &E), PL_EINVAL);
  assert_non_null(strstr(E.msg, "int64 overflow at row 39999"));
  pl_expr_free(e);
  pl_batch_free(in);
  pl_schema_release(&s);
}

static void test_empty_batch(void **state) {
  (void)state;
  pl_batch *b = pl_batch_new(&FX->schema, B, &E);
  assert_non_null(b);
  OK(pl_batch_finish(b, &E));
  static const char *const texts[] = {"i + j", "length(upper(s)) > 1", "matches(s, 'x')", "coalesce(i, 1)",
                                      "case when b then 1 end", "42", "cast(s as int64)", "least(i, j)"};
  for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
    pl_expr *e;
    OK(pl_expr_compile(texts[k], &b->schema, &e, &E));
    pl_column *c;
    OK(pl_expr_eval(e, b, B, &c, &E));
    assert_int_equal(c->length, 0);
    pl_column_free(c);
    pl_expr_free(e);
  }
  pl_expr *e;
  OK(pl_expr_compile("i > 0", &b->schema, &e, &E));
  pl_batch *out;
  OK(pl_expr_filter(e, b, B, &out, &E));
  assert_int_equal(out->length, 0);
  assert_int_equal(out->schema.n_fields, FX->schema.n_fields);
  pl_batch_free(out);
  pl_expr_free(e);
  pl_batch_free(b);
}

/* pl_expr_gather on its own: every type of the fixture, lists and decimals included. */
static void test_gather(void **state) {
  (void)state;
  static const uint8_t sels[][5] = {{1, 0, 1, 0, 1}, {0, 1, 1, 1, 0}, {0, 0, 0, 0, 1}, {1, 1, 1, 1, 1}, {0, 0, 0, 0, 0}};
  for (size_t k = 0; k < sizeof sels / sizeof sels[0]; k++) {
    pl_batch *out;
    OK(pl_expr_gather(FX, sels[k], B, &out, &E));
    int64_t r = 0;
    for (int64_t i = 0; i < FX->length; i++) {
      if (!sels[k][i]) continue;
      for (int32_t f = 0; f < FX->schema.n_fields; f++) {
        char a[256], b[256];
        /* pl_canonical_value passes a NULL buffer to memcpy for an empty string in a column
         * whose values are all empty (a columnar bug, reported); render flat types here */
        pl_type_id id = FX->columns[f]->type.id;
        if (id == PL_LIST || id == PL_DECIMAL128) {
          pl_canonical_value(FX->columns[f], i, a, sizeof a);
          pl_canonical_value(out->columns[f], r, b, sizeof b);
        } else {
          render(FX->columns[f], i, a, sizeof a);
          render(out->columns[f], r, b, sizeof b);
        }
        if (strcmp(a, b)) fail_msg("sel %zu row %lld field %s: %s vs %s", k, (long long)i, FX->schema.fields[f].name, a, b);
        assert_int_equal(pl_column_is_valid(FX->columns[f], i), pl_column_is_valid(out->columns[f], r));
      }
      r++;
    }
    assert_int_equal(out->length, r);
    for (int32_t f = 0; f < FX->schema.n_fields; f++) assert_int_equal(out->columns[f]->length, r);
    pl_batch_free(out);
  }
}

/* Constants are repeated to the batch's length. */
static void test_constant_results(void **state) {
  (void)state;
  check_eval("42", "int64", "42|42|42|42|42");
  check_eval("'x'", "string", "x|x|x|x|x");
  check_eval("null", "bool", "null|null|null|null|null");
  check_eval("upper('a') || lower('B')", "string", "Ab|Ab|Ab|Ab|Ab");
}

/* The batch given to eval is checked against what the expression was compiled for. */
static void test_bind_errors(void **state) {
  (void)state;
  pl_schema s;
  pl_schema_init(&s);
  pl_schema_add(&s, pl_field_make("i", pl_type_make(PL_INT64), true));
  pl_expr *e;
  OK(pl_expr_compile("i + 1", &s, &e, &E));
  pl_column *c = NULL;
  assert_int_equal(pl_expr_eval(e, FX, B, &c, &E), PL_EINVAL); /* FX.i is int32 */
  assert_non_null(strstr(E.msg, "field 'i' is int32 in the batch but was int64"));
  pl_expr_free(e);
  pl_schema_release(&s);
  pl_schema_init(&s);
  pl_schema_add(&s, pl_field_make("zz", pl_type_make(PL_INT64), true));
  OK(pl_expr_compile("zz", &s, &e, &E));
  assert_int_equal(pl_expr_eval(e, FX, B, &c, &E), PL_ENOTFOUND);
  assert_non_null(strstr(E.msg, "no field 'zz'"));
  assert_null(c);
  pl_expr_free(e);
  pl_schema_release(&s);
  /* errors without an error struct: NULL is fine */
  OK(pl_expr_compile("i + 1", &FX->schema, &e, NULL));
  assert_int_equal(pl_expr_eval(e, FX, B, &c, NULL), PL_EINVAL); /* overflow at row 3 */
  pl_expr_free(e);
  assert_int_equal(pl_expr_compile("i +", &FX->schema, &e, NULL), PL_EINVAL);
  /* a budget too small fails cleanly */
  pl_budget *tiny = pl_budget_new(64);
  OK(pl_expr_compile("upper(s) || lower(s)", &FX->schema, &e, &E));
  assert_int_equal(pl_expr_eval(e, FX, tiny, &c, &E), PL_ELIMIT);
  assert_int_equal(pl_budget_used(tiny), 0);
  pl_budget_free(tiny);
  pl_expr_free(e);
}

/* ------------------------------------------------------------------ threads */
typedef struct {
  const pl_expr *e;
  const pl_batch *in;
  int64_t count;
  pl_status st;
} job;

static void *run_job(void *arg) {
  job *j = arg;
  pl_budget *b = pl_budget_new(PL_UNLIMITED);
  pl_error err;
  for (int rep = 0; rep < 20 && !j->st; rep++) {
    pl_batch *out;
    j->st = pl_expr_filter(j->e, j->in, b, &out, &err);
    if (!j->st) {
      j->count += out->length;
      pl_batch_free(out);
    }
  }
  if (pl_budget_used(b)) j->st = PL_EINTERNAL;
  pl_budget_free(b);
  return NULL;
}

static void test_shared_across_threads(void **state) {
  (void)state;
  pl_schema s;
  pl_schema_init(&s);
  pl_schema_add(&s, pl_field_make("t", pl_type_make(PL_STRING), true));
  pl_batch *in = pl_batch_new(&s, B, &E);
  for (int i = 0; i < 5000; i++) {
    char buf[32];
    int n = snprintf(buf, sizeof buf, "row-%d-%s", i, i % 4 ? "x" : "Ünï");
    OK(pl_column_append_bytes(in->columns[0], buf, (size_t)n, &E));
  }
  OK(pl_batch_finish(in, &E));
  pl_expr *e;
  OK(pl_expr_compile("matches(t, '^row-\\\\d*7-') and length(upper(t)) > 8", &s, &e, &E));
  job jobs[4];
  pthread_t th[4];
  for (int k = 0; k < 4; k++) {
    jobs[k] = (job){.e = e, .in = in};
    assert_int_equal(pthread_create(&th[k], NULL, run_job, &jobs[k]), 0);
  }
  int64_t want = 0;
  for (int i = 0; i < 5000; i++) {
    char buf[32];
    int n = snprintf(buf, sizeof buf, "row-%d-%s", i, i % 4 ? "x" : "Ünï");
    want += i % 10 == 7 && n - (i % 4 ? 0 : 3) > 8; /* Ünï: 3 characters, 6 bytes */
  }
  for (int k = 0; k < 4; k++) {
    pthread_join(th[k], NULL);
    assert_int_equal(jobs[k].st, PL_OK);
    assert_int_equal(jobs[k].count, 20 * want);
  }
  assert_true(want > 0);
  pl_expr_free(e);
  pl_batch_free(in);
  pl_schema_release(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_compile_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_deep_nesting_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_result_types_and_columns, setup, teardown),
      cmocka_unit_test_setup_teardown(test_arithmetic, setup, teardown),
      cmocka_unit_test_setup_teardown(test_overflow, setup, teardown),
      cmocka_unit_test_setup_teardown(test_division_by_zero, setup, teardown),
      cmocka_unit_test_setup_teardown(test_three_valued_logic, setup, teardown),
      cmocka_unit_test_setup_teardown(test_comparisons, setup, teardown),
      cmocka_unit_test_setup_teardown(test_in_between_is_null, setup, teardown),
      cmocka_unit_test_setup_teardown(test_strings, setup, teardown),
      cmocka_unit_test_setup_teardown(test_regex, setup, teardown),
      cmocka_unit_test_setup_teardown(test_math, setup, teardown),
      cmocka_unit_test_setup_teardown(test_casts, setup, teardown),
      cmocka_unit_test_setup_teardown(test_choice, setup, teardown),
      cmocka_unit_test_setup_teardown(test_filter_matches_reference, setup, teardown),
      cmocka_unit_test_setup_teardown(test_error_row_in_later_chunk, setup, teardown),
      cmocka_unit_test_setup_teardown(test_empty_batch, setup, teardown),
      cmocka_unit_test_setup_teardown(test_gather, setup, teardown),
      cmocka_unit_test_setup_teardown(test_constant_results, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bind_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_shared_across_threads, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

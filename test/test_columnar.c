/* test_columnar.c — types, canonical names, schemas, builders (every type, nulls, nesting),
 * append_slice, batches, and budget accounting. */
#include "test_util.h"

#include "praline/columnar.h"

#define OK(expr) assert_int_equal((expr), PL_OK)

static pl_budget *B;
static pl_error E;

static int setup(void **state) {
  (void)state;
  B = pl_budget_new(PL_UNLIMITED);
  pl_error_clear(&E);
  return 0;
}
static int teardown(void **state) {
  (void)state;
  assert_int_equal(pl_budget_used(B), 0); /* every column freed, every byte credited */
  pl_budget_free(B);
  return 0;
}

static pl_column *col(pl_type t) {
  pl_column *c = pl_column_new(&t, B, &E);
  assert_non_null(c);
  pl_type_release(&t);
  return c;
}

static const char *canon(pl_type t, char *buf, size_t cap) {
  pl_type_canonical(&t, buf, cap);
  pl_type_release(&t);
  return buf;
}

static int64_t off(const pl_column *c, int64_t i) { return pl_column_offsets(c)[i]; }
static int32_t i32(const pl_column *c, int64_t i) {
  int32_t v;
  memcpy(&v, c->values.data + 4 * i, 4);
  return v;
}
static int64_t i64(const pl_column *c, int64_t i) {
  int64_t v;
  memcpy(&v, c->values.data + 8 * i, 8);
  return v;
}
static void assert_str(const pl_column *c, int64_t i, const char *s) {
  size_t n = (size_t)(off(c, i + 1) - off(c, i));
  assert_int_equal(n, strlen(s));
  assert_memory_equal(c->values.data + off(c, i), s, n);
}

/* ------------------------------------------------------------------ types */
static void test_canonical_names(void **state) {
  (void)state;
  char buf[256];
  static const struct {
    pl_type_id id;
    const char *name;
  } simple[] = {{PL_BOOL, "bool"},       {PL_INT8, "int8"},       {PL_INT16, "int16"},
                {PL_INT32, "int32"},     {PL_INT64, "int64"},     {PL_UINT8, "uint8"},
                {PL_UINT16, "uint16"},   {PL_UINT32, "uint32"},   {PL_UINT64, "uint64"},
                {PL_FLOAT16, "float16"}, {PL_FLOAT32, "float32"}, {PL_FLOAT64, "float64"},
                {PL_STRING, "string"},   {PL_BINARY, "binary"},   {PL_DATE32, "date"}};
  for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
    assert_string_equal(canon(pl_type_make(simple[i].id), buf, sizeof buf), simple[i].name);
  assert_string_equal(canon(pl_type_fixed_binary(16), buf, sizeof buf), "binary");
  assert_string_equal(canon(pl_type_time(PL_MILLI), buf, sizeof buf), "time");
  assert_string_equal(canon(pl_type_timestamp(PL_NANO, NULL), buf, sizeof buf), "timestamp");
  assert_string_equal(canon(pl_type_timestamp(PL_MILLI, "UTC"), buf, sizeof buf), "timestamptz");
  assert_string_equal(canon(pl_type_decimal(10, 2), buf, sizeof buf), "decimal(10,2)");
  pl_field fs[2] = {pl_field_make("a", pl_type_make(PL_INT32), true),
                    pl_field_make("b", pl_type_list(pl_field_make("item", pl_type_make(PL_STRING), true)), true)};
  pl_type st = pl_type_struct(2, fs);
  pl_type lst = pl_type_list(pl_field_make("item", st, true));
  assert_string_equal(canon(lst, buf, sizeof buf), "list<struct<a:int32,b:list<string>>>");
  pl_type m = pl_type_map(pl_field_make("key", pl_type_make(PL_STRING), false),
                          pl_field_make("value", pl_type_make(PL_FLOAT64), true));
  assert_int_equal(pl_type_canonical(&m, buf, 5), strlen("map<string,float64>"));
  assert_string_equal(buf, "map<");
  assert_string_equal(canon(m, buf, sizeof buf), "map<string,float64>");
}

static void test_type_copy_equal(void **state) {
  (void)state;
  pl_field fs[2] = {pl_field_make("ts", pl_type_timestamp(PL_MICRO, "UTC"), true),
                    pl_field_make("d", pl_type_decimal(20, 4), false)};
  pl_type a = pl_type_list(pl_field_make("item", pl_type_struct(2, fs), true));
  pl_type b;
  pl_type_copy(&b, &a);
  assert_true(pl_type_equal(&a, &b));
  assert_ptr_not_equal(a.children, b.children);
  assert_ptr_not_equal(a.children[0].type.children[0].type.tz, b.children[0].type.children[0].type.tz);
  pl_free(b.children[0].type.children[0].type.tz);
  b.children[0].type.children[0].type.tz = pl_strdup("Europe/Paris");
  assert_false(pl_type_equal(&a, &b));
  pl_type_release(&b);
  pl_type_copy(&b, &a);
  b.children[0].type.children[1].type.scale = 3;
  assert_false(pl_type_equal(&a, &b));
  b.children[0].type.children[1].type.scale = 4;
  b.children[0].type.children[1].nullable = true;
  assert_false(pl_type_equal(&a, &b));
  pl_type_release(&a);
  pl_type_release(&b);

  pl_type t1 = pl_type_time(PL_SECOND), t2 = pl_type_time(PL_NANO);
  assert_int_equal(pl_type_byte_width(&t1), 4);
  assert_int_equal(pl_type_byte_width(&t2), 8);
  assert_false(pl_type_equal(&t1, &t2));
  pl_type fb = pl_type_fixed_binary(7), d = pl_type_decimal(5, 0), bo = pl_type_make(PL_BOOL),
          s = pl_type_make(PL_STRING);
  assert_int_equal(pl_type_byte_width(&fb), 7);
  assert_int_equal(pl_type_byte_width(&d), 16);
  assert_int_equal(pl_type_byte_width(&bo), 0);
  assert_false(pl_type_is_fixed(&bo));
  assert_true(pl_type_is_fixed(&d));
  assert_true(pl_type_has_offsets(&s));
  assert_false(pl_type_has_offsets(&fb));
  assert_true(pl_type_is_integer(PL_UINT64));
  assert_false(pl_type_is_integer(PL_DATE32));
}

static void test_schema(void **state) {
  (void)state;
  pl_schema s;
  pl_schema_init(&s);
  pl_schema_add(&s, pl_field_make("id", pl_type_make(PL_INT64), false));
  pl_schema_add(&s, pl_field_make("name", pl_type_make(PL_STRING), true));
  assert_int_equal(pl_schema_find(&s, "name"), 1);
  assert_int_equal(pl_schema_find(&s, "id"), 0);
  assert_int_equal(pl_schema_find(&s, "nope"), -1);
  pl_schema c;
  pl_schema_copy(&c, &s);
  assert_int_equal(c.n_fields, 2);
  assert_string_equal(c.fields[1].name, "name");
  assert_ptr_not_equal(c.fields[1].name, s.fields[1].name);
  assert_false(c.fields[0].nullable);
  pl_schema_release(&s);
  pl_schema_release(&c);
  assert_int_equal(c.n_fields, 0);
}

static void test_type_parse(void **state) {
  (void)state;
  static const char *const canonical_names[] = {
      "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16",
      "float32", "float64", "string", "binary", "date", "time", "timestamp", "timestamptz",
      "decimal(10,2)", "list<int32>", "list<list<string>>", "struct<a:int32,b:list<string>>",
      "map<string,float64>", "list<struct<x:map<int64,list<bool>>,y:decimal(38,0)>>", "struct<>"};
  char buf[256];
  pl_type t;
  for (size_t i = 0; i < sizeof canonical_names / sizeof canonical_names[0]; i++) {
    if (pl_type_parse(canonical_names[i], &t, &E) != PL_OK) fail_msg("%s: %s", canonical_names[i], E.msg);
    pl_type_canonical(&t, buf, sizeof buf);
    assert_string_equal(buf, canonical_names[i]);
    pl_type_release(&t);
  }
  OK(pl_type_parse(" timestamp[ms, UTC] ", &t, &E));
  assert_int_equal(t.id, PL_TIMESTAMP);
  assert_int_equal(t.unit, PL_MILLI);
  assert_string_equal(t.tz, "UTC");
  pl_type_release(&t);
  OK(pl_type_parse("timestamp[ns]", &t, &E));
  assert_int_equal(t.unit, PL_NANO);
  assert_null(t.tz);
  pl_type_release(&t);
  OK(pl_type_parse("timestamptz", &t, &E));
  assert_int_equal(t.unit, PL_MICRO);
  assert_string_equal(t.tz, "UTC");
  pl_type_release(&t);
  OK(pl_type_parse("time[ms]", &t, &E));
  assert_int_equal(t.id, PL_TIME);
  assert_int_equal(pl_type_byte_width(&t), 4);
  pl_type_release(&t);
  OK(pl_type_parse("fixed_binary(16)", &t, &E));
  assert_int_equal(t.id, PL_FIXED_BINARY);
  assert_int_equal(t.width, 16);
  pl_type_release(&t);
  OK(pl_type_parse("decimal128( 20 , 5 )", &t, &E));
  assert_int_equal(t.precision, 20);
  assert_int_equal(t.scale, 5);
  pl_type_release(&t);
  OK(pl_type_parse("struct< a b : int32 , c:timestamp[us, Europe/Paris]>", &t, &E));
  assert_int_equal(t.n_children, 2);
  assert_string_equal(t.children[0].name, "a b");
  assert_string_equal(t.children[1].type.tz, "Europe/Paris");
  pl_type_release(&t);
  OK(pl_type_parse("map<string, int64>", &t, &E));
  assert_false(t.children[0].type.children[0].nullable); /* keys are required */
  assert_true(t.children[0].type.children[1].nullable);
  pl_type_release(&t);
  static const char *const bad[] = {"int33", "list<int32", "decimal(40,2)", "decimal(5,6)", "struct<:int32>",
                                    "int32 x", "", "timestamp[ks]", "map<int32>", "fixed_binary(0)",
                                    "timestamptz[ms, UTC]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    pl_error_clear(&E);
    if (pl_type_parse(bad[i], &t, &E) != PL_EINVAL) fail_msg("'%s' was accepted", bad[i]);
    assert_non_null(strstr(E.msg, "type \""));
  }
}

/* ------------------------------------------------------------------ builders */
static void test_empty_column_offsets(void **state) {
  (void)state;
  pl_column *c = col(pl_type_make(PL_STRING));
  assert_int_equal(c->length, 0);
  assert_int_equal(c->offsets.len, 8); /* documented: the initial 0 is always present */
  assert_int_equal(off(c, 0), 0);
  assert_int_equal(pl_budget_used(B), pl_column_bytes(c));
  pl_column_free(c);
  pl_column_free(NULL);
}

static void test_build_ints_lazy_validity(void **state) {
  (void)state;
  pl_column *c = col(pl_type_make(PL_INT32));
  for (int i = 0; i < 10; i++) OK(pl_column_append_int(c, i * 7 - 20, &E));
  assert_int_equal(c->validity.len, 0); /* no null yet: no bitmap */
  OK(pl_column_append_null(c, &E));
  assert_true(c->validity.len >= 2);
  OK(pl_column_append_int(c, -1, &E));
  OK(pl_column_append_nulls(c, 3, &E));
  assert_int_equal(c->length, 15);
  assert_int_equal(c->null_count, 4);
  for (int i = 0; i < 10; i++) {
    assert_true(pl_column_is_valid(c, i));
    assert_int_equal(i32(c, i), i * 7 - 20);
  }
  assert_false(pl_column_is_valid(c, 10));
  assert_int_equal(i32(c, 10), 0); /* null rows hold zeros */
  assert_true(pl_column_is_valid(c, 11));
  assert_int_equal(i32(c, 11), -1);
  for (int i = 12; i < 15; i++) assert_false(pl_column_is_valid(c, i));
  assert_int_equal(c->values.len, 15 * 4);
  /* a wrong kind is refused and leaves the column as it was */
  assert_int_equal(pl_column_append_float(c, 1.5, &E), PL_EINVAL);
  assert_non_null(strstr(E.msg, "int32"));
  assert_int_equal(pl_column_append_bytes(c, "ab", 2, &E), PL_EINVAL);
  assert_int_equal(pl_column_append_bool(c, true, &E), PL_EINVAL);
  assert_int_equal(c->length, 15);
  pl_column_free(c);
}

static void test_build_all_widths(void **state) {
  (void)state;
  pl_type_id ids[] = {PL_INT8, PL_INT16, PL_INT64, PL_UINT8, PL_UINT16, PL_UINT32, PL_UINT64, PL_DATE32};
  for (size_t k = 0; k < sizeof ids / sizeof ids[0]; k++) {
    pl_column *c = col(pl_type_make(ids[k]));
    int w = pl_type_byte_width(&c->type);
    OK(pl_column_append_int(c, -2, &E));
    OK(pl_column_append_null(c, &E));
    OK(pl_column_append_int(c, 100, &E));
    assert_int_equal(c->values.len, (size_t)(3 * w));
    uint64_t v0 = 0, v1 = 1, v2 = 0;
    memcpy(&v0, c->values.data, (size_t)w);
    memcpy(&v1, c->values.data + w, (size_t)w);
    memcpy(&v2, c->values.data + 2 * w, (size_t)w);
    uint64_t mask = w == 8 ? UINT64_MAX : ((uint64_t)1 << (8 * w)) - 1;
    assert_int_equal(v0, (uint64_t)-2 & mask);
    assert_int_equal(v1, 0);
    assert_int_equal(v2, 100);
    pl_column_free(c);
  }
  /* uint64 bits are reinterpreted */
  pl_column *u = col(pl_type_make(PL_UINT64));
  OK(pl_column_append_int(u, (int64_t)UINT64_C(18446744073709551615), &E));
  assert_int_equal(i64(u, 0), -1);
  pl_column_free(u);
  /* time: int32 for s/ms, int64 for us/ns; timestamps int64 */
  pl_column *t = col(pl_type_time(PL_MILLI));
  OK(pl_column_append_int(t, 86399999, &E));
  assert_int_equal(t->values.len, 4);
  assert_int_equal(i32(t, 0), 86399999);
  pl_column_free(t);
  pl_column *ts = col(pl_type_timestamp(PL_NANO, "UTC"));
  OK(pl_column_append_int(ts, INT64_C(1700000000123456789), &E));
  assert_int_equal(i64(ts, 0), INT64_C(1700000000123456789));
  pl_column_free(ts);
  /* floats */
  pl_column *f = col(pl_type_make(PL_FLOAT32)), *g = col(pl_type_make(PL_FLOAT64));
  OK(pl_column_append_float(f, 0.1, &E));
  OK(pl_column_append_null(f, &E));
  OK(pl_column_append_float(g, 0.1, &E));
  float fv;
  double gv;
  memcpy(&fv, f->values.data, 4);
  memcpy(&gv, g->values.data, 8);
  assert_true(fv == 0.1f);
  assert_true(gv == 0.1);
  assert_int_equal(f->values.len, 8);
  assert_int_equal(pl_column_append_int(f, 1, &E), PL_EINVAL);
  pl_column_free(f);
  pl_column_free(g);
}

static void test_build_bool(void **state) {
  (void)state;
  pl_column *c = col(pl_type_make(PL_BOOL));
  for (int i = 0; i < 20; i++) {
    if (i % 7 == 3) OK(pl_column_append_null(c, &E));
    else OK(pl_column_append_bool(c, i % 3 == 0, &E));
  }
  assert_int_equal(c->length, 20);
  assert_int_equal(c->null_count, 3);
  for (int i = 0; i < 20; i++) {
    assert_int_equal(pl_column_is_valid(c, i), i % 7 != 3);
    assert_int_equal(pl_bit_get(c->values.data, i), i % 7 != 3 && i % 3 == 0);
  }
  assert_int_equal(c->values.len, 3);
  pl_column_free(c);
}

static void test_build_bytes_kinds(void **state) {
  (void)state;
  pl_column *s = col(pl_type_make(PL_STRING));
  OK(pl_column_append_bytes(s, "hello", 5, &E));
  OK(pl_column_append_null(s, &E));
  OK(pl_column_append_bytes(s, "", 0, &E));
  OK(pl_column_append_bytes(s, "wörld", strlen("wörld"), &E));
  assert_int_equal(s->length, 4);
  assert_int_equal(s->offsets.len, 5 * 8);
  assert_str(s, 0, "hello");
  assert_str(s, 1, "");
  assert_false(pl_column_is_valid(s, 1));
  assert_true(pl_column_is_valid(s, 2));
  assert_str(s, 2, "");
  assert_str(s, 3, "wörld");
  assert_int_equal(pl_column_append_int(s, 1, &E), PL_EINVAL);
  pl_column_free(s);

  pl_column *fb = col(pl_type_fixed_binary(3));
  OK(pl_column_append_bytes(fb, "abc", 3, &E));
  assert_int_equal(pl_column_append_bytes(fb, "ab", 2, &E), PL_EINVAL);
  OK(pl_column_append_null(fb, &E));
  assert_int_equal(fb->length, 2);
  assert_memory_equal(fb->values.data, "abc\0\0\0", 6);
  pl_column_free(fb);

  pl_column *d = col(pl_type_decimal(38, 10));
  uint8_t v[16];
  for (int i = 0; i < 16; i++) v[i] = (uint8_t)(i * 17);
  OK(pl_column_append_bytes(d, v, 16, &E));
  assert_memory_equal(d->values.data, v, 16);
  assert_int_equal(pl_column_append_bytes(d, v, 8, &E), PL_EINVAL);
  pl_column_free(d);

  pl_column *h = col(pl_type_make(PL_FLOAT16));
  OK(pl_column_append_bytes(h, "\x00\x3c", 2, &E)); /* 1.0 */
  assert_int_equal(h->values.len, 2);
  pl_column_free(h);
}

static void test_build_raw(void **state) {
  (void)state;
  pl_column *c = col(pl_type_make(PL_INT64));
  int64_t vals[5] = {1, -2, 3, INT64_MIN, INT64_MAX};
  OK(pl_column_append_null(c, &E));
  OK(pl_column_append_raw(c, vals, 5, &E));
  assert_int_equal(c->length, 6);
  assert_false(pl_column_is_valid(c, 0));
  for (int i = 0; i < 5; i++) {
    assert_true(pl_column_is_valid(c, i + 1));
    assert_int_equal(i64(c, i + 1), vals[i]);
  }
  pl_column_free(c);
  pl_column *b = col(pl_type_make(PL_BOOL));
  assert_int_equal(pl_column_append_raw(b, vals, 1, &E), PL_EINVAL);
  pl_column_free(b);
}

/* list<struct<a:int32, b:string>> with null lists, empty lists, null structs and null fields */
static pl_type list_of_struct(void) {
  pl_field fs[2] = {pl_field_make("a", pl_type_make(PL_INT32), true),
                    pl_field_make("b", pl_type_make(PL_STRING), true)};
  return pl_type_list(pl_field_make("item", pl_type_struct(2, fs), true));
}

static void build_list_of_struct(pl_column *c) {
  pl_column *st = c->children[0], *a = st->children[0], *b = st->children[1];
  /* row 0: [{1,"x"}, {null,"y"}] */
  OK(pl_column_append_int(a, 1, &E));
  OK(pl_column_append_bytes(b, "x", 1, &E));
  OK(pl_column_end_struct(st, true, &E));
  OK(pl_column_append_null(a, &E));
  OK(pl_column_append_bytes(b, "y", 1, &E));
  OK(pl_column_end_struct(st, true, &E));
  OK(pl_column_end_list(c, &E));
  /* row 1: null */
  OK(pl_column_append_null(c, &E));
  /* row 2: [] */
  OK(pl_column_end_list(c, &E));
  /* row 3: [null, {3, null}] */
  OK(pl_column_append_null(st, &E));
  OK(pl_column_append_int(a, 3, &E));
  OK(pl_column_append_null(b, &E));
  OK(pl_column_end_struct(st, true, &E));
  OK(pl_column_end_list(c, &E));
}

static void check_list_of_struct(const pl_column *c, int64_t first) {
  const pl_column *st = c->children[0], *a = st->children[0], *b = st->children[1];
  int64_t base = off(c, first);
  assert_int_equal(off(c, first + 1) - base, 2);
  assert_int_equal(off(c, first + 2) - base, 2);
  assert_int_equal(off(c, first + 3) - base, 2);
  assert_int_equal(off(c, first + 4) - base, 4);
  assert_true(pl_column_is_valid(c, first));
  assert_false(pl_column_is_valid(c, first + 1));
  assert_true(pl_column_is_valid(c, first + 2));
  assert_true(pl_column_is_valid(c, first + 3));
  assert_true(pl_column_is_valid(st, base));
  assert_int_equal(i32(a, base), 1);
  assert_str(b, base, "x");
  assert_false(pl_column_is_valid(a, base + 1));
  assert_str(b, base + 1, "y");
  assert_false(pl_column_is_valid(st, base + 2));
  assert_false(pl_column_is_valid(a, base + 2));
  assert_false(pl_column_is_valid(b, base + 2));
  assert_true(pl_column_is_valid(st, base + 3));
  assert_int_equal(i32(a, base + 3), 3);
  assert_false(pl_column_is_valid(b, base + 3));
}

static void test_build_list_of_struct(void **state) {
  (void)state;
  pl_column *c = col(list_of_struct());
  build_list_of_struct(c);
  assert_int_equal(c->length, 4);
  assert_int_equal(c->null_count, 1);
  assert_int_equal(c->children[0]->length, 4);
  assert_int_equal(c->children[0]->null_count, 1);
  check_list_of_struct(c, 0);
  /* a struct row whose children are not all filled is refused */
  OK(pl_column_append_int(c->children[0]->children[0], 9, &E));
  assert_int_equal(pl_column_end_struct(c->children[0], true, &E), PL_EINVAL);
  assert_non_null(strstr(E.msg, "'b'"));
  pl_column_free(c);
}

static void test_build_list_of_list_and_map(void **state) {
  (void)state;
  pl_type inner = pl_type_list(pl_field_make("item", pl_type_make(PL_INT64), true));
  pl_column *c = col(pl_type_list(pl_field_make("item", inner, true)));
  pl_column *l = c->children[0], *v = l->children[0];
  /* [[1,2],[],null], [[3]], null */
  OK(pl_column_append_int(v, 1, &E));
  OK(pl_column_append_int(v, 2, &E));
  OK(pl_column_end_list(l, &E));
  OK(pl_column_end_list(l, &E));
  OK(pl_column_append_null(l, &E));
  OK(pl_column_end_list(c, &E));
  OK(pl_column_append_int(v, 3, &E));
  OK(pl_column_end_list(l, &E));
  OK(pl_column_end_list(c, &E));
  OK(pl_column_append_null(c, &E));
  assert_int_equal(c->length, 3);
  assert_int_equal(off(c, 1), 3);
  assert_int_equal(off(c, 2), 4);
  assert_int_equal(off(c, 3), 4);
  assert_int_equal(off(l, 1), 2);
  assert_int_equal(off(l, 2), 2);
  assert_int_equal(off(l, 3), 2);
  assert_int_equal(off(l, 4), 3);
  assert_false(pl_column_is_valid(l, 2));
  assert_false(pl_column_is_valid(c, 2));
  assert_int_equal(i64(v, 2), 3);
  pl_column_free(c);

  pl_column *m = col(pl_type_map(pl_field_make("key", pl_type_make(PL_STRING), false),
                                 pl_field_make("value", pl_type_make(PL_INT32), true)));
  assert_int_equal(m->n_children, 1);
  pl_column *kv = m->children[0];
  assert_int_equal(kv->type.id, PL_STRUCT);
  OK(pl_column_append_bytes(kv->children[0], "k1", 2, &E));
  OK(pl_column_append_int(kv->children[1], 10, &E));
  OK(pl_column_end_struct(kv, true, &E));
  OK(pl_column_append_bytes(kv->children[0], "k2", 2, &E));
  OK(pl_column_append_null(kv->children[1], &E));
  OK(pl_column_end_struct(kv, true, &E));
  OK(pl_column_end_list(m, &E));
  OK(pl_column_append_null(m, &E));
  assert_int_equal(m->length, 2);
  assert_int_equal(off(m, 1), 2);
  assert_int_equal(off(m, 2), 2);
  assert_str(kv->children[0], 1, "k2");
  assert_false(pl_column_is_valid(kv->children[1], 1));
  assert_int_equal(pl_column_end_struct(m, true, &E), PL_EINVAL);
  pl_column_free(m);
}

/* ------------------------------------------------------------------ append_slice */
static void test_append_slice(void **state) {
  (void)state;
  /* int32 with nulls: slices at unaligned positions, into a column with and without nulls */
  pl_column *src = col(pl_type_make(PL_INT32));
  for (int i = 0; i < 50; i++) {
    if (i % 5 == 2) OK(pl_column_append_null(src, &E));
    else OK(pl_column_append_int(src, i, &E));
  }
  pl_column *dst = col(pl_type_make(PL_INT32));
  OK(pl_column_append_int(dst, -7, &E));
  OK(pl_column_append_slice(dst, src, 3, 2, &E)); /* rows 3,4: no nulls */
  assert_int_equal(dst->validity.len, 0);
  OK(pl_column_append_slice(dst, src, 5, 33, &E)); /* rows 5..37 */
  assert_int_equal(dst->length, 36);
  assert_int_equal(dst->null_count, 7); /* 7,12,...,37 */
  assert_int_equal(i32(dst, 0), -7);
  assert_true(pl_column_is_valid(dst, 0));
  for (int i = 3; i < 38; i++) {
    int64_t r = i - 2;
    assert_int_equal(pl_column_is_valid(dst, r), i % 5 != 2);
    assert_int_equal(i32(dst, r), i % 5 == 2 ? 0 : i);
  }
  assert_int_equal(pl_column_append_slice(dst, src, 40, 11, &E), PL_EINVAL);
  pl_column *other = col(pl_type_make(PL_INT64));
  assert_int_equal(pl_column_append_slice(other, src, 0, 1, &E), PL_EINVAL);
  pl_column_free(other);
  pl_column_free(src);
  pl_column_free(dst);

  /* bool and string */
  pl_column *bs = col(pl_type_make(PL_BOOL)), *ss = col(pl_type_make(PL_STRING));
  char txt[32];
  for (int i = 0; i < 30; i++) {
    OK(pl_column_append_bool(bs, i % 3 == 1, &E));
    if (i % 4 == 0) OK(pl_column_append_null(ss, &E));
    else {
      snprintf(txt, sizeof txt, "s%d", i);
      OK(pl_column_append_bytes(ss, txt, strlen(txt), &E));
    }
  }
  pl_column *bd = col(pl_type_make(PL_BOOL)), *sd = col(pl_type_make(PL_STRING));
  OK(pl_column_append_slice(bd, bs, 5, 20, &E));
  OK(pl_column_append_slice(bd, bs, 1, 3, &E));
  OK(pl_column_append_slice(sd, ss, 9, 10, &E));
  OK(pl_column_append_slice(sd, ss, 0, 3, &E));
  assert_int_equal(bd->length, 23);
  for (int i = 0; i < 20; i++) assert_int_equal(pl_bit_get(bd->values.data, i), (i + 5) % 3 == 1);
  for (int i = 0; i < 3; i++) assert_int_equal(pl_bit_get(bd->values.data, 20 + i), (i + 1) % 3 == 1);
  assert_int_equal(sd->length, 13);
  assert_int_equal(off(sd, 0), 0);
  for (int k = 0; k < 13; k++) {
    int i = k < 10 ? 9 + k : k - 10;
    assert_int_equal(pl_column_is_valid(sd, k), i % 4 != 0);
    if (i % 4) {
      snprintf(txt, sizeof txt, "s%d", i);
      assert_str(sd, k, txt);
    } else {
      assert_int_equal(off(sd, k + 1), off(sd, k));
    }
  }
  assert_int_equal(sd->null_count, 2 + 1); /* rows 12 and 16, then row 0 */
  pl_column_free(bs);
  pl_column_free(ss);
  pl_column_free(bd);
  pl_column_free(sd);

  /* nested: list<struct<a,b>> slices keep items, struct nulls and offsets */
  pl_type t = list_of_struct();
  pl_column *ls = pl_column_new(&t, B, &E), *ld = pl_column_new(&t, B, &E);
  pl_type_release(&t);
  build_list_of_struct(ls);
  build_list_of_struct(ls);
  OK(pl_column_append_slice(ld, ls, 0, 1, &E));
  OK(pl_column_append_slice(ld, ls, 4, 4, &E));
  OK(pl_column_append_slice(ld, ls, 1, 3, &E));
  assert_int_equal(ld->length, 8);
  check_list_of_struct(ld, 1);
  assert_int_equal(off(ld, 1), 2);
  assert_int_equal(ld->children[0]->length, 2 + 4 + 2);
  assert_int_equal(ld->null_count, 2);
  pl_column_free(ls);
  pl_column_free(ld);
}

/* ------------------------------------------------------------------ append_rows */
/* The canonical checksum (order-sensitive) of a column. */
static void column_hex(const pl_column *c, char out[17]) {
  pl_checksum *ck = pl_checksum_new(&c->type);
  OK(pl_checksum_add(ck, c, &E));
  pl_checksum_hex(ck, out);
  pl_checksum_free(ck);
}

/* Gathers `rows` from src with append_rows (into a column that may already hold rows) and
 * compares with the same rows appended one by one with append_slice. */
static void check_gather(const pl_column *src, const int64_t *rows, int64_t n, bool prefill) {
  pl_column *g = pl_column_new(&src->type, B, &E), *r = pl_column_new(&src->type, B, &E);
  assert_non_null(g);
  assert_non_null(r);
  if (prefill) {
    OK(pl_column_append_slice(g, src, 0, 2, &E));
    OK(pl_column_append_slice(r, src, 0, 2, &E));
  }
  OK(pl_column_append_rows(g, src, rows, n, &E));
  for (int64_t i = 0; i < n; i++) OK(pl_column_append_slice(r, src, rows[i], 1, &E));
  assert_int_equal(g->length, r->length);
  assert_int_equal(g->null_count, r->null_count);
  assert_int_equal(g->validity.len > 0, r->validity.len > 0);
  char a[17], b[17];
  column_hex(g, a);
  column_hex(r, b);
  assert_string_equal(a, b);
  if (pl_type_has_offsets(&src->type))
    assert_memory_equal(g->offsets.data, r->offsets.data, (size_t)(g->length + 1) * 8);
  pl_column_free(g);
  pl_column_free(r);
}

static void test_append_rows(void **state) {
  (void)state;
  pl_column *i32c = col(pl_type_make(PL_INT32)), *i64c = col(pl_type_make(PL_INT64));
  pl_column *bc = col(pl_type_make(PL_BOOL)), *sc = col(pl_type_make(PL_STRING));
  pl_column *fc = col(pl_type_fixed_binary(3));
  char txt[32];
  for (int i = 0; i < 60; i++) {
    if (i % 7 == 3) OK(pl_column_append_null(i32c, &E));
    else OK(pl_column_append_int(i32c, i * 3 - 50, &E));
    OK(pl_column_append_int(i64c, (int64_t)i << 40, &E));
    if (i % 5 == 1) OK(pl_column_append_null(bc, &E));
    else OK(pl_column_append_bool(bc, i % 3 == 0, &E));
    if (i % 4 == 0) {
      OK(pl_column_append_null(sc, &E));
    } else {
      snprintf(txt, sizeof txt, "v%d%s", i, i % 6 == 1 ? "" : "-longer");
      OK(pl_column_append_bytes(sc, txt, i % 9 == 5 ? 0 : strlen(txt), &E));
    }
    uint8_t fb[3] = {(uint8_t)i, (uint8_t)(i * 7), (uint8_t)(255 - i)};
    OK(pl_column_append_bytes(fc, fb, 3, &E));
  }
  /* runs, gaps, a repeat, an out-of-order row, only valid rows, only null rows */
  const int64_t mixed[] = {1, 2, 3, 4, 9, 10, 12, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 5, 5, 59, 0};
  const int64_t valid_only[] = {1, 2, 5, 6, 9};
  const int64_t nulls_only[] = {3, 10, 17, 24};
  const pl_column *cols[] = {i32c, i64c, bc, sc, fc};
  for (int c = 0; c < 5; c++) {
    for (int pre = 0; pre < 2; pre++) {
      check_gather(cols[c], mixed, (int64_t)(sizeof mixed / sizeof *mixed), pre);
      check_gather(cols[c], valid_only, 5, pre);
      check_gather(cols[c], nulls_only, 4, pre);
      check_gather(cols[c], mixed, 0, pre);
    }
  }
  /* the first null creates the bitmap; earlier rows stay valid */
  pl_column *g = col(pl_type_make(PL_INT32));
  OK(pl_column_append_rows(g, i32c, valid_only, 5, &E));
  assert_int_equal(g->validity.len, 0);
  OK(pl_column_append_rows(g, i32c, nulls_only, 2, &E));
  assert_int_equal(g->length, 7);
  assert_int_equal(g->null_count, 2);
  for (int i = 0; i < 7; i++) assert_int_equal(pl_column_is_valid(g, i), i < 5);
  assert_int_equal(i32(g, 4), 9 * 3 - 50);
  /* errors: a row outside the column, another type */
  const int64_t bad[] = {0, 60};
  assert_int_equal(pl_column_append_rows(g, i32c, bad, 2, &E), PL_EINVAL);
  assert_non_null(strstr(E.msg, "60"));
  assert_int_equal(pl_column_append_rows(g, i64c, valid_only, 1, &E), PL_EINVAL);
  assert_int_equal(g->length, 7);
  pl_column_free(g);
  for (int c = 0; c < 5; c++) pl_column_free((pl_column *)cols[c]);

  /* nested: list<struct<a,b>> goes run by run */
  pl_type t = list_of_struct();
  pl_column *ls = pl_column_new(&t, B, &E);
  pl_type_release(&t);
  build_list_of_struct(ls);
  build_list_of_struct(ls);
  const int64_t nested[] = {0, 1, 2, 5, 6, 7, 3};
  check_gather(ls, nested, 7, false);
  check_gather(ls, nested, 7, true);
  pl_column_free(ls);
}

/* ------------------------------------------------------------------ batches and budgets */
static void test_batch(void **state) {
  (void)state;
  pl_schema s;
  pl_schema_init(&s);
  pl_schema_add(&s, pl_field_make("id", pl_type_make(PL_INT64), false));
  pl_schema_add(&s, pl_field_make("name", pl_type_make(PL_STRING), true));
  pl_batch *b = pl_batch_new(&s, B, &E);
  assert_non_null(b);
  OK(pl_column_append_int(b->columns[0], 1, &E));
  OK(pl_column_append_int(b->columns[0], 2, &E));
  OK(pl_column_append_bytes(b->columns[1], "a", 1, &E));
  assert_int_equal(pl_batch_finish(b, &E), PL_EINVAL);
  assert_non_null(strstr(E.msg, "name"));
  OK(pl_column_append_null(b->columns[1], &E));
  OK(pl_batch_finish(b, &E));
  assert_int_equal(b->length, 2);
  /* take_column: a column of another length is refused (and freed) */
  pl_field f = pl_field_make("x", pl_type_make(PL_FLOAT64), true);
  pl_column *x = pl_column_new(&f.type, B, &E);
  OK(pl_column_append_float(x, 1.0, &E));
  assert_int_equal(pl_batch_take_column(b, &f, x, &E), PL_EINVAL);
  x = pl_column_new(&f.type, B, &E);
  OK(pl_column_append_float(x, 1.0, &E));
  OK(pl_column_append_float(x, 2.0, &E));
  OK(pl_batch_take_column(b, &f, x, &E));
  assert_int_equal(b->schema.n_fields, 3);
  assert_int_equal(pl_schema_find(&b->schema, "x"), 2);
  assert_ptr_equal(b->columns[2], x);
  OK(pl_batch_finish(b, &E));
  assert_int_equal(pl_batch_bytes(b), pl_budget_used(B));
  pl_field_release(&f);
  pl_batch_free(b);
  pl_schema_release(&s);
}

static void test_budget_limit(void **state) {
  (void)state;
  pl_budget *tight = pl_budget_new(4096);
  pl_type t = pl_type_make(PL_STRING);
  pl_column *c = pl_column_new(&t, tight, &E);
  pl_type_release(&t);
  char big[1000];
  memset(big, 'z', sizeof big);
  pl_status st = PL_OK;
  int rows = 0;
  while ((st = pl_column_append_bytes(c, big, sizeof big, &E)) == PL_OK) rows++;
  assert_int_equal(st, PL_ELIMIT);
  assert_true(rows >= 2 && rows <= 4);
  assert_int_equal(c->length, rows);
  assert_true(pl_budget_used(tight) <= 4096);
  assert_int_equal(pl_column_bytes(c), pl_budget_used(tight));
  pl_column_free(c);
  assert_int_equal(pl_budget_used(tight), 0);
  pl_budget_free(tight);
}

static void test_reserve(void **state) {
  (void)state;
  pl_column *c = col(pl_type_make(PL_STRING));
  OK(pl_column_reserve(c, 100, 5000, &E));
  assert_true(c->offsets.cap >= 101 * 8);
  assert_true(c->values.cap >= 5000);
  uint8_t *before = c->values.data;
  for (int i = 0; i < 100; i++) OK(pl_column_append_bytes(c, "0123456789", 10, &E));
  assert_ptr_equal(c->values.data, before);
  pl_column_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_canonical_names, setup, teardown),
      cmocka_unit_test_setup_teardown(test_type_copy_equal, setup, teardown),
      cmocka_unit_test_setup_teardown(test_schema, setup, teardown),
      cmocka_unit_test_setup_teardown(test_type_parse, setup, teardown),
      cmocka_unit_test_setup_teardown(test_empty_column_offsets, setup, teardown),
      cmocka_unit_test_setup_teardown(test_build_ints_lazy_validity, setup, teardown),
      cmocka_unit_test_setup_teardown(test_build_all_widths, setup, teardown),
      cmocka_unit_test_setup_teardown(test_build_bool, setup, teardown),
      cmocka_unit_test_setup_teardown(test_build_bytes_kinds, setup, teardown),
      cmocka_unit_test_setup_teardown(test_build_raw, setup, teardown),
      cmocka_unit_test_setup_teardown(test_build_list_of_struct, setup, teardown),
      cmocka_unit_test_setup_teardown(test_build_list_of_list_and_map, setup, teardown),
      cmocka_unit_test_setup_teardown(test_append_slice, setup, teardown),
      cmocka_unit_test_setup_teardown(test_append_rows, setup, teardown),
      cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
      cmocka_unit_test_setup_teardown(test_budget_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reserve, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

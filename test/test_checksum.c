/* test_checksum.c — the canonical rendering and checksum of pqcheck, value by value.
 *
 * Expected strings and checksums were computed with node using pqcheck.mjs's own rendering
 * (fmtFloat, fmtDecimal, JSON.stringify of TextDecoder output, SHA-256 of "value\n"...); the
 * script is at the bottom of this file. Columns are built by hand here (type, buffers) so the
 * renderer is tested independently of the builders.
 */
#include "test_util.h"

#include "praline/columnar.h"

#include <math.h>
#include <stdlib.h>

/* ------------------------------------------------------------------ hand-built columns */
static pl_type ty(pl_type_id id) {
  pl_type t;
  memset(&t, 0, sizeof t);
  t.id = id;
  return t;
}
static pl_column *col_new(pl_type t) {
  pl_column *c = pl_calloc(1, sizeof *c);
  c->type = t;
  return c;
}
static void col_free(pl_column *c) {
  if (!c) return;
  pl_buf_release(&c->validity);
  pl_buf_release(&c->offsets);
  pl_buf_release(&c->values);
  for (int i = 0; i < c->n_children; i++) col_free(c->children[i]);
  pl_free(c->children);
  pl_free(c);
}
static void set_nulls(pl_column *c, const int *null_rows, int n_null) {
  if (!n_null) return;
  size_t nb = (size_t)(c->length + 7) / 8;
  uint8_t *bits;
  assert_int_equal(pl_buf_append_zeros(&c->validity, nb, &bits, NULL), PL_OK);
  for (int64_t i = 0; i < c->length; i++) pl_bit_set(bits, i, true);
  for (int i = 0; i < n_null; i++) pl_bit_set(bits, null_rows[i], false);
  c->null_count = n_null;
}
static pl_column *fixed_col(pl_type t, const void *vals, int64_t n, size_t width, const int *nulls,
                            int n_null) {
  pl_column *c = col_new(t);
  c->length = n;
  assert_int_equal(pl_buf_append(&c->values, vals, (size_t)n * width, NULL), PL_OK);
  set_nulls(c, nulls, n_null);
  return c;
}
/* String/binary column; a NULL entry is a null row. lens[i] < 0 means strlen. */
static pl_column *var_col(pl_type_id id, const char *const *vals, const long *lens, int64_t n) {
  pl_column *c = col_new(ty(id));
  int64_t off = 0;
  int *nulls = pl_malloc((size_t)(n + 1) * sizeof *nulls), nn = 0;
  assert_int_equal(pl_buf_append(&c->offsets, &off, 8, NULL), PL_OK);
  for (int64_t i = 0; i < n; i++) {
    if (vals[i]) {
      size_t len = lens && lens[i] >= 0 ? (size_t)lens[i] : strlen(vals[i]);
      assert_int_equal(pl_buf_append(&c->values, vals[i], len, NULL), PL_OK);
      off += (int64_t)len;
    } else {
      nulls[nn++] = (int)i;
    }
    assert_int_equal(pl_buf_append(&c->offsets, &off, 8, NULL), PL_OK);
  }
  c->length = n;
  set_nulls(c, nulls, nn);
  pl_free(nulls);
  return c;
}

/* Checksum of one column, fed in one batch. */
static void column_hex(const pl_column *c, char out[17]) {
  pl_checksum *ck = pl_checksum_new(&c->type);
  pl_error err = {0};
  assert_int_equal(pl_checksum_add(ck, c, &err), PL_OK);
  assert_int_equal(pl_checksum_rows(ck), c->length);
  pl_checksum_hex(ck, out);
  pl_checksum_free(ck);
}

/* Every row renders as expected[i], and the column checksum is `hex`. */
static void check_column(const pl_column *c, const char *const *expected, const char *hex) {
  char buf[256];
  for (int64_t i = 0; i < c->length; i++) {
    size_t n = pl_canonical_value(c, i, buf, sizeof buf);
    assert_int_equal(n, strlen(expected[i]));
    assert_string_equal(buf, expected[i]);
  }
  char got[17];
  column_hex(c, got);
  assert_string_equal(got, hex);
}

/* ------------------------------------------------------------------ scalars */
static void test_int64(void **state) {
  (void)state;
  int64_t v[] = {0, -1, INT64_MAX, INT64_MIN, 0, 42};
  int nulls[] = {4};
  pl_column *c = fixed_col(ty(PL_INT64), v, 6, 8, nulls, 1);
  const char *e[] = {"0", "-1", "9223372036854775807", "-9223372036854775808", "\\N", "42"};
  check_column(c, e, "d08e6783a9e2fbf0");
  pl_checksum *ck = pl_checksum_new(&c->type);
  assert_int_equal(pl_checksum_add(ck, c, NULL), PL_OK);
  assert_int_equal(pl_checksum_nulls(ck), 1);
  char h[17];
  pl_checksum_hex(ck, h);
  pl_checksum_free(ck);
  col_free(c);
}

static void test_small_ints(void **state) {
  (void)state;
  int8_t a[] = {-128, 127, 0};
  uint8_t b[] = {255, 0, 7};
  uint64_t u[] = {UINT64_MAX, 1};
  int16_t d[] = {-32768, 32767};
  uint32_t w[] = {4294967295u, 0};
  char buf[64];
  pl_column *c = fixed_col(ty(PL_INT8), a, 3, 1, NULL, 0);
  pl_canonical_value(c, 0, buf, sizeof buf);
  assert_string_equal(buf, "-128");
  col_free(c);
  c = fixed_col(ty(PL_UINT8), b, 3, 1, NULL, 0);
  pl_canonical_value(c, 0, buf, sizeof buf);
  assert_string_equal(buf, "255");
  col_free(c);
  c = fixed_col(ty(PL_UINT64), u, 2, 8, NULL, 0);
  pl_canonical_value(c, 0, buf, sizeof buf);
  assert_string_equal(buf, "18446744073709551615");
  col_free(c);
  c = fixed_col(ty(PL_INT16), d, 2, 2, NULL, 0);
  pl_canonical_value(c, 0, buf, sizeof buf);
  assert_string_equal(buf, "-32768");
  col_free(c);
  c = fixed_col(ty(PL_UINT32), w, 2, 4, NULL, 0);
  pl_canonical_value(c, 0, buf, sizeof buf);
  assert_string_equal(buf, "4294967295");
  col_free(c);
  uint8_t bits = 0x05; /* true, false, true */
  c = fixed_col(ty(PL_BOOL), &bits, 1, 1, NULL, 0); /* one byte of bits */
  c->length = 3;
  pl_canonical_value(c, 0, buf, sizeof buf);
  assert_string_equal(buf, "true");
  pl_canonical_value(c, 1, buf, sizeof buf);
  assert_string_equal(buf, "false");
  col_free(c);
}

static void test_float64(void **state) {
  (void)state;
  double v[] = {0.1, 1e21, 1e-7, 123456789012345680000.0, 5e-324, 1.7976931348623157e308, -0.0, 0,
                1.5e-7, 123.456, 0.000001, 1e20, 100, -2.5, NAN, INFINITY, -INFINITY,
                9007199254740992.0, 0.3, 1.0 / 3, 2.2250738585072014e-308, 9007199254740993.0};
  const char *e[] = {"0.1", "1e+21", "1e-7", "123456789012345680000", "5e-324",
                     "1.7976931348623157e+308", "-0", "0", "1.5e-7", "123.456", "0.000001",
                     "100000000000000000000", "100", "-2.5", "NaN", "inf", "-inf",
                     "9007199254740992", "0.3", "0.3333333333333333", "2.2250738585072014e-308",
                     "9007199254740992"};
  pl_column *c = fixed_col(ty(PL_FLOAT64), v, 22, 8, NULL, 0);
  check_column(c, e, "0d6a2f8ba7c1fc3b");
  col_free(c);
  char b[32];
  pl_format_js_double(-1.5e-300, b);
  assert_string_equal(b, "-1.5e-300");
  pl_format_js_double(1e21 - 65536 * 2, b); /* just below 1e21: still positional */
  assert_string_equal(b, "999999999999999900000");
}

static void test_float32(void **state) {
  (void)state;
  float v[] = {0.1f, 16777217.0f, 3.4028234663852886e38f, 1e-45f, -0.0f, 1.5f, 0.3f};
  const char *e[] = {"0.10000000149011612", "16777216", "3.4028234663852886e+38",
                     "1.401298464324817e-45", "-0", "1.5", "0.30000001192092896"};
  pl_column *c = fixed_col(ty(PL_FLOAT32), v, 7, 4, NULL, 0);
  check_column(c, e, "2c423f4dd4b19e7c");
  col_free(c);
}

static void test_float16(void **state) {
  (void)state;
  uint16_t v[] = {0x3C00, 0x3555, 0x7BFF, 0x0001, 0x8000, 0x7C00, 0x7E00, 0xC000};
  const char *e[] = {"1", "0.333251953125", "65504", "5.960464477539063e-8", "-0", "inf", "NaN", "-2"};
  pl_column *c = fixed_col(ty(PL_FLOAT16), v, 8, 2, NULL, 0);
  check_column(c, e, "330dda86d1dc42b3");
  col_free(c);
}

/* xorshift64 doubles of six kinds (random bits, short decimals, float32s, subnormals, near
 * powers of two, scaled integers); node formatted the same 30000 values. */
static void test_random_doubles(void **state) {
  (void)state;
  uint64_t s = 0x9E3779B97F4A7C15ull;
  enum { N = 30000 };
  double *v = pl_malloc(N * sizeof *v);
  for (int i = 0; i < N; i++) {
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    uint64_t r = s, bits;
    double x;
    float f;
    uint32_t b32;
    char t[48];
    switch (i % 6) {
    case 0: memcpy(&x, &r, 8); break;
    case 1: /* decimal text, so both sides round the same way (strtod / Number) */
      snprintf(t, sizeof t, "%llue-%llu", (unsigned long long)(r % 100000000u),
               (unsigned long long)(r % 12));
      x = strtod(t, NULL);
      break;
    case 2:
      b32 = (uint32_t)(r & 0xffffffffu);
      memcpy(&f, &b32, 4);
      x = f;
      break;
    case 3:
      bits = r & 0x800fffffffffffffull;
      memcpy(&x, &bits, 8);
      break;
    case 4:
      bits = (r & 0xfff0000000000000ull) | (r % 3);
      memcpy(&x, &bits, 8);
      break;
    default:
      snprintf(t, sizeof t, "%llue%d", (unsigned long long)(r % 2000000u), (int)(r % 60) - 30);
      x = strtod(t, NULL);
      break;
    }
    v[i] = x;
  }
  pl_column *c = fixed_col(ty(PL_FLOAT64), v, N, 8, NULL, 0);
  char b[64];
  pl_canonical_value(c, 0, b, sizeof b);
  assert_string_equal(b, "-4.9911105725155504e+135");
  pl_canonical_value(c, 1, b, sizeof b);
  assert_string_equal(b, "80.499574");
  pl_canonical_value(c, 3, b, sizeof b);
  assert_string_equal(b, "2.088748813112226e-308");
  char h[17];
  column_hex(c, h);
  assert_string_equal(h, "a87485cac9aff2ed");
  col_free(c);
  pl_free(v);
}

/* ------------------------------------------------------------------ text and bytes */
static void test_strings(void **state) {
  (void)state;
  const char *v[] = {"", "hello", "quote\"back\\slash", "\x01\x1f\t\n\r\b\f\x7f", "h\xc3\xa9llo",
                     "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80", "\xff", "a\xc3",
                     "\xe0\x80\x80z", "\xed\xa0\x80", "\xf4\x90\x80\x80", "a\xe2\x82", "\xe2\x82" "A",
                     "\xc0\xaf", "\xf0\x9f\x98", NULL};
  const char *e[] = {"\"\"", "\"hello\"", "\"quote\\\"back\\\\slash\"",
                     "\"\\u0001\\u001f\\t\\n\\r\\b\\f\x7f\"", "\"h\xc3\xa9llo\"",
                     "\"\xe6\x97\xa5\xe6\x9c\xac\"", "\"\xf0\x9f\x98\x80\"", "\"\xef\xbf\xbd\"",
                     "\"a\xef\xbf\xbd\"", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdz\"",
                     "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"",
                     "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"", "\"a\xef\xbf\xbd\"",
                     "\"\xef\xbf\xbd" "A\"", "\"\xef\xbf\xbd\xef\xbf\xbd\"", "\"\xef\xbf\xbd\"", "\\N"};
  pl_column *c = var_col(PL_STRING, v, NULL, 17);
  check_column(c, e, "7aa9e434ed9220d2");
  col_free(c);
}

static void test_binary(void **state) {
  (void)state;
  const char *v[] = {"", "\x00\xff\x10", NULL, "abc"};
  long lens[] = {0, 3, 0, 3};
  const char *e[] = {"x", "x00ff10", "\\N", "x616263"};
  pl_column *c = var_col(PL_BINARY, v, lens, 4);
  check_column(c, e, "ad74049591d6d6d8");
  col_free(c);
  pl_type t = ty(PL_FIXED_BINARY);
  t.width = 3;
  c = fixed_col(t, "\x00\xff\x10" "abc", 2, 3, NULL, 0);
  char b[32];
  pl_canonical_value(c, 1, b, sizeof b);
  assert_string_equal(b, "x616263");
  col_free(c);
}

static void test_temporal(void **state) {
  (void)state;
  int32_t d[] = {0, -1, 19000, 0};
  int nulls[] = {3};
  const char *de[] = {"d0", "d-1", "d19000", "\\N"};
  pl_column *c = fixed_col(ty(PL_DATE32), d, 4, 4, nulls, 1);
  check_column(c, de, "b65a6472b1b23986");
  col_free(c);
  /* one column per unit; together they must give node's checksum of the 5 renderings */
  const char *te[] = {"t1000000000", "t-1000000", "t9223372036854775807000000000",
                      "t-9223372036854775808000", "t7"};
  struct { pl_time_unit u; int64_t v; } rows[] = {
      {PL_SECOND, 1}, {PL_MILLI, -1}, {PL_SECOND, INT64_MAX}, {PL_MICRO, INT64_MIN}, {PL_NANO, 7}};
  pl_type tt = ty(PL_TIMESTAMP);
  pl_checksum *ck = pl_checksum_new(&tt);
  for (int i = 0; i < 5; i++) {
    tt.unit = rows[i].u;
    c = fixed_col(tt, &rows[i].v, 1, 8, NULL, 0);
    char b[64];
    pl_canonical_value(c, 0, b, sizeof b);
    assert_string_equal(b, te[i]);
    assert_int_equal(pl_checksum_add(ck, c, NULL), PL_OK);
    col_free(c);
  }
  char h[17];
  pl_checksum_hex(ck, h);
  pl_checksum_free(ck);
  assert_string_equal(h, "c02755188f158152");
  /* TIME renders as DuckDB prints it */
  pl_type tm = ty(PL_TIME);
  tm.unit = PL_MICRO;
  int64_t us[] = {45296789000LL, 3600000000LL};
  c = fixed_col(tm, us, 2, 8, NULL, 0);
  char b[64];
  pl_canonical_value(c, 0, b, sizeof b);
  assert_string_equal(b, "12:34:56.789");
  pl_canonical_value(c, 1, b, sizeof b);
  assert_string_equal(b, "01:00:00");
  col_free(c);
}

static void dec_bytes(__int128 v, uint8_t out[16]) {
  unsigned __int128 u = (unsigned __int128)v;
  for (int i = 0; i < 16; i++, u >>= 8) out[i] = (uint8_t)u;
}

static void test_decimal(void **state) {
  (void)state;
  __int128 max38 = 0;
  for (int i = 0; i < 38; i++) max38 = max38 * 10 + 9;
  __int128 vals[] = {-5, 12340, 0, (__int128)((unsigned __int128)1 << 127), max38};
  uint8_t raw[5][16];
  for (int i = 0; i < 5; i++) dec_bytes(vals[i], raw[i]);
  pl_type t = ty(PL_DECIMAL128);
  t.precision = 38;
  t.scale = 2;
  pl_column *c = fixed_col(t, raw, 5, 16, NULL, 0);
  const char *e[] = {"-0.05", "123.40", "0.00", "-1701411834604692317316873037158841057.28",
                     "999999999999999999999999999999999999.99"};
  check_column(c, e, "c56d71f58bc7a765");
  col_free(c);
  t.scale = 0;
  dec_bytes(-7, raw[0]);
  dec_bytes(123, raw[1]);
  c = fixed_col(t, raw, 2, 16, NULL, 0);
  const char *e0[] = {"-7", "123"};
  check_column(c, e0, "985bc3384bc38926");
  col_free(c);
}

/* ------------------------------------------------------------------ nested */
static void test_list(void **state) {
  (void)state;
  static pl_field item = {"item", {.id = PL_INT32}, true};
  pl_type lt = ty(PL_LIST);
  lt.n_children = 1;
  lt.children = &item;
  pl_column *c = col_new(lt);
  int32_t iv[] = {1, 0, 3, 4};
  int inull[] = {1};
  c->n_children = 1;
  c->children = pl_calloc(1, sizeof *c->children);
  c->children[0] = fixed_col(ty(PL_INT32), iv, 4, 4, inull, 1);
  int64_t off[] = {0, 3, 3, 3, 4};
  assert_int_equal(pl_buf_append(&c->offsets, off, sizeof off, NULL), PL_OK);
  c->length = 4;
  int lnull[] = {2};
  set_nulls(c, lnull, 1);
  const char *e[] = {"[1,\\N,3]", "[]", "\\N", "[4]"};
  check_column(c, e, "658c064e907cafb9");
  col_free(c);
}

static void test_struct(void **state) {
  (void)state;
  static pl_field fields[] = {{"a", {.id = PL_INT32}, true}, {"b \"q\"", {.id = PL_STRING}, true}};
  pl_type st = ty(PL_STRUCT);
  st.n_children = 2;
  st.children = fields;
  pl_column *c = col_new(st);
  c->n_children = 2;
  c->children = pl_calloc(2, sizeof *c->children);
  int32_t av[] = {1, 0, 0};
  int anull[] = {1, 2};
  c->children[0] = fixed_col(ty(PL_INT32), av, 3, 4, anull, 2);
  const char *bv[] = {"x", NULL, NULL};
  c->children[1] = var_col(PL_STRING, bv, NULL, 3);
  c->length = 3;
  int snull[] = {1};
  set_nulls(c, snull, 1);
  const char *e[] = {"{\"a\":1,\"b \\\"q\\\"\":\"x\"}", "\\N", "{\"a\":\\N,\"b \\\"q\\\"\":\\N}"};
  check_column(c, e, "62cbfaf994c6d7d4");
  col_free(c);
}

static void test_map(void **state) {
  (void)state;
  static pl_field kvf[] = {{"key", {.id = PL_STRING}, false}, {"value", {.id = PL_INT64}, true}};
  static pl_field entries = {"entries", {.id = PL_STRUCT, .n_children = 2, .children = kvf}, false};
  pl_type mt = ty(PL_MAP);
  mt.n_children = 1;
  mt.children = &entries;
  pl_column *c = col_new(mt);
  c->n_children = 1;
  c->children = pl_calloc(1, sizeof *c->children);
  pl_column *kv = col_new(entries.type);
  kv->n_children = 2;
  kv->children = pl_calloc(2, sizeof *kv->children);
  const char *keys[] = {"k1", "k2"};
  kv->children[0] = var_col(PL_STRING, keys, NULL, 2);
  int64_t vals[] = {1, 0};
  int vnull[] = {1};
  kv->children[1] = fixed_col(ty(PL_INT64), vals, 2, 8, vnull, 1);
  kv->length = 2;
  c->children[0] = kv;
  int64_t off[] = {0, 2, 2, 2};
  assert_int_equal(pl_buf_append(&c->offsets, off, sizeof off, NULL), PL_OK);
  c->length = 3;
  int mnull[] = {2};
  set_nulls(c, mnull, 1);
  const char *e[] = {"{\"k1\":1,\"k2\":\\N}", "{}", "\\N"};
  check_column(c, e, "5aab1bcd9943b75c");
  col_free(c);
}

/* ------------------------------------------------------------------ streaming */
/* A 3 MiB string streams through the hash (no whole copy), and equals node's checksum. */
static void test_big_value(void **state) {
  (void)state;
  const char *plain = "abcdefghijklmnop", *odd = "tab\there \"q\" \xc3\xa9!";
  size_t n = 3 * 1024 * 1024 / 16, cap = n * 17 + 1, len = 0;
  char *big = pl_malloc(cap);
  for (size_t i = 0; i < n; i++) {
    const char *p = i % 1000 == 0 ? odd : plain;
    size_t l = strlen(p);
    memcpy(big + len, p, l);
    len += l;
  }
  const char *v[] = {big, "small"};
  long lens[] = {(long)len, -1};
  pl_column *c = var_col(PL_STRING, v, lens, 2);
  char h[17];
  column_hex(c, h);
  assert_string_equal(h, "58c04be523636806");
  /* pl_canonical_value reports the full length like snprintf, and truncates safely */
  char small[8];
  size_t need = pl_canonical_value(c, 0, small, sizeof small);
  assert_true(need > len);
  assert_string_equal(small, "\"tab\\th");
  col_free(c);
  pl_free(big);
}

/* Feeding a column in several batches gives the checksum of feeding it whole. */
static void test_batches_equal_whole(void **state) {
  (void)state;
  enum { N = 10000 };
  const char **v = pl_malloc(N * sizeof *v);
  char *store = pl_malloc(N * 16);
  for (int i = 0; i < N; i++) {
    snprintf(store + i * 16, 16, "row %d", i * 7919);
    v[i] = i % 13 == 0 ? NULL : store + i * 16;
  }
  pl_column *whole = var_col(PL_STRING, v, NULL, N);
  char h1[17], h2[17];
  column_hex(whole, h1);
  pl_checksum *ck = pl_checksum_new(&whole->type);
  int cuts[] = {0, 1, 4000, 4001, 9999, N};
  for (int k = 0; k + 1 < 6; k++) {
    pl_column *part = var_col(PL_STRING, v + cuts[k], NULL, cuts[k + 1] - cuts[k]);
    assert_int_equal(pl_checksum_add(ck, part, NULL), PL_OK);
    col_free(part);
  }
  assert_int_equal(pl_checksum_rows(ck), N);
  assert_int_equal(pl_checksum_nulls(ck), (N + 12) / 13);
  pl_checksum_hex(ck, h2);
  pl_checksum_free(ck);
  assert_string_equal(h1, h2);
  /* and a different value changes it */
  v[5] = "changed";
  pl_column *other = var_col(PL_STRING, v, NULL, N);
  column_hex(other, h2);
  assert_string_not_equal(h1, h2);
  col_free(other);
  col_free(whole);
  pl_free(store);
  pl_free(v);
}

static void test_wrong_type_refused(void **state) {
  (void)state;
  int32_t v[] = {1};
  pl_column *c = fixed_col(ty(PL_INT32), v, 1, 4, NULL, 0);
  pl_type t64 = ty(PL_INT64);
  pl_checksum *ck = pl_checksum_new(&t64);
  pl_error err = {0};
  assert_int_equal(pl_checksum_add(ck, c, &err), PL_EINVAL);
  assert_non_null(strstr(err.msg, "checksum"));
  pl_checksum_free(ck);
  col_free(c);
}

static void test_file_checksum(void **state) {
  (void)state;
  const char *names[] = {"id", "name"}, *types[] = {"int64", "string"},
             *sums[] = {"0123456789abcdef", "fedcba9876543210"};
  char h[17];
  pl_checksum_file(2, names, types, sums, h);
  assert_string_equal(h, "21a7ce61dcad800a");
}

/* Every value empty: the values buffer was never allocated (data == NULL). */
static void test_all_empty_strings(void **state) {
  (void)state;
  pl_type t = pl_type_make(PL_STRING);
  pl_column *c = pl_column_new(&t, NULL, NULL);
  for (int i = 0; i < 3; i++) assert_int_equal(pl_column_append_bytes(c, "", 0, NULL), PL_OK);
  char buf[8];
  assert_int_equal(pl_canonical_value(c, 1, buf, sizeof buf), 2);
  assert_string_equal(buf, "\"\"");
  pl_checksum *ck = pl_checksum_new(&t);
  assert_int_equal(pl_checksum_add(ck, c, NULL), PL_OK);
  char hex[17];
  pl_checksum_hex(ck, hex);
  assert_string_equal(hex, "5e0896111b9d5c86"); /* sha256("\"\"\n" x 3) */
  pl_checksum_free(ck);
  pl_column_free(c);
  pl_type_release(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_int64),          cmocka_unit_test(test_small_ints),
      cmocka_unit_test(test_all_empty_strings),
      cmocka_unit_test(test_float64),        cmocka_unit_test(test_float32),
      cmocka_unit_test(test_float16),        cmocka_unit_test(test_random_doubles),
      cmocka_unit_test(test_strings),        cmocka_unit_test(test_binary),
      cmocka_unit_test(test_temporal),       cmocka_unit_test(test_decimal),
      cmocka_unit_test(test_list),           cmocka_unit_test(test_struct),
      cmocka_unit_test(test_map),            cmocka_unit_test(test_big_value),
      cmocka_unit_test(test_batches_equal_whole), cmocka_unit_test(test_wrong_type_refused),
      cmocka_unit_test(test_file_checksum),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

/* The node script that produced the expected values (node 20, run as an .mjs file):

import { createHash } from 'node:crypto';
const NULL = '\\N';
const fmtFloat = x => { x = Number(x); if (Number.isNaN(x)) return 'NaN'; if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf'; if (x === 0 && 1 / x < 0) return '-0'; return String(x); };
function fmtDecimal(u, s) { u = BigInt(u); const neg = u < 0n; let a = (neg ? -u : u).toString();
  if (s > 0) { a = a.padStart(s + 1, '0'); a = a.slice(0, -s) + '.' + a.slice(-s); } return (neg ? '-' : '') + a; }
const ck = vals => createHash('sha256').update(vals.map(v => v + '\n').join('')).digest('hex').slice(0, 16);
const str = b => JSON.stringify(new TextDecoder().decode(Buffer.from(b, 'latin1')));
const show = (name, r) => console.log(name, ck(r), JSON.stringify(r));
show('int64', ['0', '-1', '9223372036854775807', '-9223372036854775808', NULL, '42']);
const f64 = [0.1, 1e21, 1e-7, 123456789012345680000, 5e-324, 1.7976931348623157e308, -0, 0, 1.5e-7, 123.456,
  0.000001, 1e20, 100, -2.5, NaN, Infinity, -Infinity, 2 ** 53, 0.3, 1 / 3, 2.2250738585072014e-308, 9007199254740993];
show('float64', f64.map(fmtFloat));
const f32 = new Float32Array([0.1, 16777217, 3.4028234663852886e38, 1e-45, -0, 1.5, 0.3]);
show('float32', Array.from(f32, fmtFloat));
const strs = ['', 'hello', 'quote"back\\slash', '\x01\x1f\t\n\r\b\f\x7f', 'h\xc3\xa9llo', '\xe6\x97\xa5\xe6\x9c\xac',
  '\xf0\x9f\x98\x80', '\xff', 'a\xc3', '\xe0\x80\x80z', '\xed\xa0\x80', '\xf4\x90\x80\x80', 'a\xe2\x82', '\xe2\x82A', '\xc0\xaf', '\xf0\x9f\x98'];
show('string', strs.map(str).concat([NULL]));
show('binary', ['x', 'x00ff10', NULL, 'x' + Buffer.from('abc').toString('hex')]);
show('date', ['d0', 'd-1', 'd19000', NULL]);
show('ts', ['t1000000000', 't-1000000', 't' + (9223372036854775807n * 1000000000n), 't' + (-9223372036854775808n * 1000n), 't7']);
show('decimal2', [fmtDecimal(-5n, 2), fmtDecimal(12340n, 2), fmtDecimal(0n, 2),
  fmtDecimal(-170141183460469231731687303715884105728n, 2), fmtDecimal(99999999999999999999999999999999999999n, 2)]);
show('decimal0', [fmtDecimal(-7n, 0), fmtDecimal(123n, 0)]);
show('float16', [1, 0.333251953125, 65504, 5.960464477539063e-8, -0, Infinity, NaN, -2].map(fmtFloat));
show('list', ['[1,\\N,3]', '[]', NULL, '[4]']);
show('struct', ['{"a":1,"b \\"q\\"":"x"}', NULL, '{"a":\\N,"b \\"q\\"":\\N}']);
show('map', ['{"k1":1,"k2":\\N}', '{}', NULL]);
let big = ''; for (let i = 0; i < 3 * 1024 * 1024 / 16; i++) big += (i % 1000 === 0 ? 'tab\there "q" é!' : 'abcdefghijklmnop');
console.log('big', ck([JSON.stringify(big), JSON.stringify('small')]));
console.log('file', createHash('sha256').update('id\tint64\t0123456789abcdef\nname\tstring\tfedcba9876543210\n').digest('hex').slice(0, 16));
let s = 0x9E3779B97F4A7C15n; const M = (1n << 64n) - 1n;
const nx = () => { s ^= (s << 13n) & M; s ^= s >> 7n; s ^= (s << 17n) & M; return s; };
const dv = new DataView(new ArrayBuffer(8)); const out = [];
for (let i = 0; i < 30000; i++) {
  const r = nx(); let x;
  switch (i % 6) {
    case 0: dv.setBigUint64(0, r); x = dv.getFloat64(0); break;
    case 1: x = Number(`${r % 100000000n}e-${r % 12n}`); break;
    case 2: dv.setUint32(0, Number(r & 0xffffffffn)); x = dv.getFloat32(0); break;
    case 3: dv.setBigUint64(0, r & 0x800fffffffffffffn); x = dv.getFloat64(0); break;
    case 4: dv.setBigUint64(0, (r & 0xfff0000000000000n) | (r % 3n)); x = dv.getFloat64(0); break;
    case 5: x = Number(`${r % 2000000n}e${Number(r % 60n) - 30}`); break;
  }
  out.push(fmtFloat(x));
}
console.log('randdoubles', ck(out), out.slice(0, 8).join(' '));
*/

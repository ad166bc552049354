/* test_arrow.c — the Arrow C Data Interface: every type round-trips through export and import,
 * both directions are zero-copy, release callbacks credit the budget, arrays with an offset or
 * int32 offsets (u, z, +l) import correctly, and batches travel as struct arrays. */
#include "test_util.h"

#include "praline/columnar.h"

#define OK(expr) assert_int_equal((expr), PL_OK)
#define N 37 /* not a multiple of 8: bitmaps end mid-byte */

static pl_error E;

/* ------------------------------------------------------------------ data generation */
static uint32_t mix(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  return x ^ (x >> 16);
}

static void fill_row(pl_column *c, uint32_t seed, bool nullable);

/* One row of a list/map column: 0..3 items. */
static void fill_list_row(pl_column *c, uint32_t seed) {
  const pl_type *t = &c->type;
  bool item_nullable = t->children[0].nullable;
  int k = (int)(mix(seed) % 4);
  for (int j = 0; j < k; j++) fill_row(c->children[0], seed * 31u + (uint32_t)j + 1u, item_nullable);
  OK(pl_column_end_list(c, &E));
}

static void fill_row(pl_column *c, uint32_t seed, bool nullable) {
  uint32_t h = mix(seed);
  const pl_type *t = &c->type;
  if (nullable && h % 5 == 0) {
    OK(pl_column_append_null(c, &E));
    return;
  }
  uint8_t bytes[64];
  for (size_t i = 0; i < sizeof bytes; i++) bytes[i] = (uint8_t)mix(seed + (uint32_t)i * 977u);
  switch (t->id) {
  case PL_BOOL: OK(pl_column_append_bool(c, h & 2, &E)); break;
  case PL_FLOAT32:
  case PL_FLOAT64: OK(pl_column_append_float(c, (double)(int32_t)h / 64.0, &E)); break;
  case PL_FLOAT16:
  case PL_FIXED_BINARY:
  case PL_DECIMAL128: OK(pl_column_append_bytes(c, bytes, (size_t)pl_type_byte_width(t), &E)); break;
  case PL_STRING:
  case PL_BINARY: OK(pl_column_append_bytes(c, bytes, h % 11, &E)); break;
  case PL_LIST:
  case PL_MAP: fill_list_row(c, seed); break;
  case PL_STRUCT:
    for (int32_t i = 0; i < c->n_children; i++)
      fill_row(c->children[i], seed * 7u + (uint32_t)i, t->children[i].nullable);
    OK(pl_column_end_struct(c, true, &E));
    break;
  default: OK(pl_column_append_int(c, (int64_t)((uint64_t)h * 2654435761u - seed), &E)); break;
  }
}

/* ------------------------------------------------------------------ comparison */
static void assert_row_equal(const pl_column *a, int64_t i, const pl_column *b, int64_t j) {
  assert_int_equal(pl_column_is_valid(a, i), pl_column_is_valid(b, j));
  if (!pl_column_is_valid(a, i)) return;
  const pl_type *t = &a->type;
  if (t->id == PL_BOOL) {
    assert_int_equal(pl_bit_get(a->values.data, i), pl_bit_get(b->values.data, j));
  } else if (pl_type_is_fixed(t)) {
    size_t w = (size_t)pl_type_byte_width(t);
    assert_memory_equal(a->values.data + (size_t)i * w, b->values.data + (size_t)j * w, w);
  } else if (pl_type_has_offsets(t)) {
    const int64_t *oa = pl_column_offsets(a), *ob = pl_column_offsets(b);
    assert_int_equal(oa[i + 1] - oa[i], ob[j + 1] - ob[j]);
    if (t->id == PL_STRING || t->id == PL_BINARY) {
      if (oa[i + 1] > oa[i])
        assert_memory_equal(a->values.data + oa[i], b->values.data + ob[j], (size_t)(oa[i + 1] - oa[i]));
    } else {
      for (int64_t k = 0; k < oa[i + 1] - oa[i]; k++)
        assert_row_equal(a->children[0], oa[i] + k, b->children[0], ob[j] + k);
    }
  } else if (t->id == PL_STRUCT) {
    for (int32_t k = 0; k < a->n_children; k++) assert_row_equal(a->children[k], i, b->children[k], j);
  }
}

/* a[astart..] equals b[0..n), and b keeps the column invariants. */
static void assert_columns_equal(const pl_column *a, int64_t astart, const pl_column *b, int64_t n) {
  assert_true(pl_type_equal(&a->type, &b->type));
  assert_int_equal(b->length, n);
  int64_t nulls = 0;
  for (int64_t i = 0; i < n; i++) {
    assert_row_equal(a, astart + i, b, i);
    nulls += !pl_column_is_valid(b, i);
  }
  assert_int_equal(b->null_count, nulls);
  if (pl_type_has_offsets(&b->type)) assert_int_equal(pl_column_offsets(b)[0], 0);
}

/* ------------------------------------------------------------------ the type table */
typedef struct {
  const char *format;
  pl_type (*make)(void);
} type_case;

static pl_type t_bool(void) { return pl_type_make(PL_BOOL); }
static pl_type t_i8(void) { return pl_type_make(PL_INT8); }
static pl_type t_i16(void) { return pl_type_make(PL_INT16); }
static pl_type t_i32(void) { return pl_type_make(PL_INT32); }
static pl_type t_i64(void) { return pl_type_make(PL_INT64); }
static pl_type t_u8(void) { return pl_type_make(PL_UINT8); }
static pl_type t_u16(void) { return pl_type_make(PL_UINT16); }
static pl_type t_u32(void) { return pl_type_make(PL_UINT32); }
static pl_type t_u64(void) { return pl_type_make(PL_UINT64); }
static pl_type t_f16(void) { return pl_type_make(PL_FLOAT16); }
static pl_type t_f32(void) { return pl_type_make(PL_FLOAT32); }
static pl_type t_f64(void) { return pl_type_make(PL_FLOAT64); }
static pl_type t_str(void) { return pl_type_make(PL_STRING); }
static pl_type t_bin(void) { return pl_type_make(PL_BINARY); }
static pl_type t_fbin(void) { return pl_type_fixed_binary(5); }
static pl_type t_date(void) { return pl_type_make(PL_DATE32); }
static pl_type t_time_s(void) { return pl_type_time(PL_SECOND); }
static pl_type t_time_ms(void) { return pl_type_time(PL_MILLI); }
static pl_type t_time_us(void) { return pl_type_time(PL_MICRO); }
static pl_type t_time_ns(void) { return pl_type_time(PL_NANO); }
static pl_type t_ts_ms(void) { return pl_type_timestamp(PL_MILLI, NULL); }
static pl_type t_ts_us(void) { return pl_type_timestamp(PL_MICRO, NULL); }
static pl_type t_ts_ns(void) { return pl_type_timestamp(PL_NANO, NULL); }
static pl_type t_ts_ms_utc(void) { return pl_type_timestamp(PL_MILLI, "UTC"); }
static pl_type t_ts_us_utc(void) { return pl_type_timestamp(PL_MICRO, "UTC"); }
static pl_type t_ts_ns_tz(void) { return pl_type_timestamp(PL_NANO, "Europe/Paris"); }
static pl_type t_dec(void) { return pl_type_decimal(38, 4); }
static pl_type t_list_i32(void) { return pl_type_list(pl_field_make("item", pl_type_make(PL_INT32), true)); }
static pl_type t_list_struct(void) {
  pl_field fs[2] = {pl_field_make("a", pl_type_make(PL_INT32), true),
                    pl_field_make("b", pl_type_make(PL_STRING), false)};
  return pl_type_list(pl_field_make("item", pl_type_struct(2, fs), true));
}
static pl_type t_list_list(void) {
  pl_type inner = pl_type_list(pl_field_make("item", pl_type_make(PL_INT64), true));
  return pl_type_list(pl_field_make("item", inner, true));
}
static pl_type t_struct(void) {
  pl_field fs[3] = {pl_field_make("x", pl_type_make(PL_BOOL), true),
                    pl_field_make("y", pl_type_list(pl_field_make("item", pl_type_make(PL_STRING), true)), true),
                    pl_field_make("z", pl_type_decimal(9, 2), false)};
  return pl_type_struct(3, fs);
}
static pl_type t_map(void) {
  return pl_type_map(pl_field_make("key", pl_type_make(PL_STRING), false),
                     pl_field_make("value", pl_type_make(PL_INT32), true));
}

static const type_case CASES[] = {
    {"b", t_bool},           {"c", t_i8},
    {"s", t_i16},            {"i", t_i32},
    {"l", t_i64},            {"C", t_u8},
    {"S", t_u16},            {"I", t_u32},
    {"L", t_u64},            {"e", t_f16},
    {"f", t_f32},            {"g", t_f64},
    {"U", t_str},            {"Z", t_bin},
    {"w:5", t_fbin},         {"tdD", t_date},
    {"tts", t_time_s},       {"ttm", t_time_ms},
    {"ttu", t_time_us},      {"ttn", t_time_ns},
    {"tsm:", t_ts_ms},       {"tsu:", t_ts_us},
    {"tsn:", t_ts_ns},       {"tsm:UTC", t_ts_ms_utc},
    {"tsu:UTC", t_ts_us_utc}, {"tsn:Europe/Paris", t_ts_ns_tz},
    {"d:38,4", t_dec},       {"+L", t_list_i32},
    {"+L", t_list_struct},   {"+L", t_list_list},
    {"+s", t_struct},        {"+m", t_map},
};
#define NCASES (sizeof CASES / sizeof CASES[0])

static pl_column *make_filled(pl_type t, pl_budget *b, bool nullable, int64_t n) {
  pl_column *c = pl_column_new(&t, b, &E);
  assert_non_null(c);
  pl_type_release(&t);
  for (int64_t i = 0; i < n; i++) fill_row(c, (uint32_t)i * 2654435761u + 12345u, nullable);
  return c;
}

/* A copy in another budget, to compare against after the original is consumed. */
static pl_column *copy_of(const pl_column *c, pl_budget *b) {
  pl_column *r = pl_column_new(&c->type, b, &E);
  assert_non_null(r);
  OK(pl_column_append_slice(r, c, 0, c->length, &E));
  return r;
}

/* Checks that the exported array's buffers are the column's (zero-copy), recursively. */
static void save_ptrs(const pl_column *c, const void *out[][3], int *k) {
  out[*k][0] = c->null_count ? c->validity.data : NULL;
  out[*k][1] = c->offsets.data;
  out[*k][2] = c->values.data;
  (*k)++;
  for (int32_t i = 0; i < c->n_children; i++) save_ptrs(c->children[i], out, k);
}

static void check_export_ptrs(const pl_type *t, const struct ArrowArray *a, const void *ptrs[][3], int *k) {
  const void *const *p = ptrs[*k];
  (*k)++;
  assert_ptr_equal(a->buffers[0], p[0]);
  int nb = 1;
  if (pl_type_has_offsets(t)) {
    if (t->id != PL_MAP) assert_ptr_equal(a->buffers[nb], p[1]); /* maps narrow to int32 */
    nb++;
  }
  if (t->id != PL_LIST && t->id != PL_MAP && t->id != PL_STRUCT) {
    if (p[2]) assert_ptr_equal(a->buffers[nb], p[2]);
    else assert_non_null(a->buffers[nb]);
    nb++;
  }
  assert_int_equal(a->n_buffers, nb);
  assert_int_equal(a->n_children, t->n_children);
  for (int32_t i = 0; i < t->n_children; i++) check_export_ptrs(&t->children[i].type, a->children[i], ptrs, k);
}

/* Imported buffers are the array's (zero-copy import), recursively. */
static void check_import_ptrs(const pl_column *c, const struct ArrowArray *a) {
  const pl_type *t = &c->type;
  if (c->null_count) assert_ptr_equal(c->validity.data, a->buffers[0]);
  int nb = 1;
  if (pl_type_has_offsets(t)) {
    if (t->id != PL_MAP) assert_ptr_equal(c->offsets.data, a->buffers[nb]);
    nb++;
  }
  if (t->id != PL_LIST && t->id != PL_MAP && t->id != PL_STRUCT && c->values.len)
    assert_ptr_equal(c->values.data, a->buffers[nb]);
  for (int32_t i = 0; i < c->n_children; i++) check_import_ptrs(c->children[i], a->children[i]);
}

static int count_columns(const pl_column *c) {
  int n = 1;
  for (int32_t i = 0; i < c->n_children; i++) n += count_columns(c->children[i]);
  return n;
}

static void round_trip_case(const type_case *tc, bool nullable) {
  pl_budget *b = pl_budget_new(PL_UNLIMITED), *rb = pl_budget_new(PL_UNLIMITED);
  pl_column *c = make_filled(tc->make(), b, nullable, N);
  pl_column *ref = copy_of(c, rb);
  if (nullable) assert_true(c->null_count > 0);
  else assert_int_equal(c->null_count, 0);

  const void *ptrs[16][3];
  int k = 0;
  assert_true(count_columns(c) <= 16);
  save_ptrs(c, ptrs, &k);

  struct ArrowSchema s;
  struct ArrowArray a;
  OK(pl_column_export_arrow(c, "col", nullable, &s, &a, &E));
  assert_string_equal(s.format, tc->format);
  assert_string_equal(s.name, "col");
  assert_int_equal(s.flags & ARROW_FLAG_NULLABLE, nullable ? ARROW_FLAG_NULLABLE : 0);
  assert_int_equal(a.length, N);
  assert_int_equal(a.offset, 0);
  assert_int_equal(a.null_count, ref->null_count);
  k = 0;
  check_export_ptrs(&ref->type, &a, ptrs, &k);

  /* import borrows the same buffers */
  struct ArrowArray moved = a;
  pl_column *back = NULL;
  OK(pl_column_import_arrow(&s, &a, b, &back, &E));
  assert_null(a.release); /* moved */
  check_import_ptrs(back, &moved);
  assert_columns_equal(ref, 0, back, N);
  assert_non_null(back->keeper);
  pl_column_free(back);
  assert_int_equal(pl_budget_used(b), 0);

  /* an array with offset != 0 is imported by copying the logical rows */
  c = copy_of(ref, b);
  struct ArrowSchema s2;
  OK(pl_column_export_arrow(c, "col", nullable, &s2, &a, &E));
  a.offset = 3;
  a.length = N - 5;
  a.null_count = -1; /* unknown: the importer counts */
  OK(pl_column_import_arrow(&s2, &a, b, &back, &E));
  assert_columns_equal(ref, 3, back, N - 5);
  assert_null(back->keeper); /* nothing borrowed: the array is released at once */
  pl_column_free(back);
  assert_int_equal(pl_budget_used(b), 0);

  s.release(&s);
  s2.release(&s2);
  assert_null(s.release);
  pl_column_free(ref);
  assert_int_equal(pl_budget_used(rb), 0);
  pl_budget_free(b);
  pl_budget_free(rb);
}

static void test_round_trip_every_type(void **state) {
  (void)state;
  for (size_t i = 0; i < NCASES; i++) {
    round_trip_case(&CASES[i], false);
    round_trip_case(&CASES[i], true);
  }
}

/* Imported columns can be exported again (the keeper travels with the buffers) and sliced. */
static void test_reexport_imported(void **state) {
  (void)state;
  pl_budget *b = pl_budget_new(PL_UNLIMITED);
  pl_column *c = make_filled(t_list_struct(), b, true, N);
  pl_column *ref = copy_of(c, NULL);
  struct ArrowSchema s;
  struct ArrowArray a;
  OK(pl_column_export_arrow(c, "x", true, &s, &a, &E));
  const void *values = a.children[0]->children[1]->buffers[2];
  pl_column *imp;
  OK(pl_column_import_arrow(&s, &a, b, &imp, &E));
  s.release(&s);
  /* appending to an imported column is refused, slicing out of it works */
  uint8_t last = imp->validity.data[imp->validity.len - 1];
  assert_int_equal(pl_column_append_null(imp, &E), PL_EINVAL);
  assert_non_null(strstr(E.msg, "read-only"));
  assert_int_equal(imp->validity.data[imp->validity.len - 1], last); /* not written */
  assert_int_equal(imp->length, N);
  pl_column *part = pl_column_new(&imp->type, b, &E);
  OK(pl_column_append_slice(part, imp, 5, 10, &E));
  assert_columns_equal(ref, 5, part, 10);
  pl_column_free(part);
  /* re-export: the same bytes again */
  OK(pl_column_export_arrow(imp, "x", true, &s, &a, &E));
  assert_ptr_equal(a.children[0]->children[1]->buffers[2], values);
  OK(pl_column_import_arrow(&s, &a, b, &imp, &E));
  assert_columns_equal(ref, 0, imp, N);
  pl_column_free(imp);
  s.release(&s);
  assert_int_equal(pl_budget_used(b), 0);
  pl_column_free(ref);
  pl_budget_free(b);
}

/* A consumer may move a child out and release the parent first (spec: "Moving child arrays"). */
static void test_release_child_separately(void **state) {
  (void)state;
  pl_budget *b = pl_budget_new(PL_UNLIMITED);
  pl_column *c = make_filled(t_struct(), b, true, N);
  struct ArrowSchema s;
  struct ArrowArray a;
  OK(pl_column_export_arrow(c, "s", true, &s, &a, &E));
  struct ArrowArray child = *a.children[1];
  a.children[1]->release = NULL;
  size_t before = pl_budget_used(b);
  a.release(&a);
  assert_null(a.release);
  assert_true(pl_budget_used(b) < before);
  assert_true(pl_budget_used(b) > 0); /* the moved child still holds its buffers */
  child.release(&child);
  assert_int_equal(pl_budget_used(b), 0);
  s.release(&s);
  pl_budget_free(b);
}

/* ------------------------------------------------------------------ foreign producers */
static int released;
static void release_static(struct ArrowArray *a) {
  for (int64_t i = 0; i < a->n_children; i++)
    if (a->children[i]->release) a->children[i]->release(a->children[i]);
  released++;
  a->release = NULL;
}
static void release_static_schema(struct ArrowSchema *s) { s->release = NULL; }

static void test_import_int32_offsets(void **state) {
  (void)state;
  pl_budget *b = pl_budget_new(PL_UNLIMITED);
  /* "u": ["ab", null, "", "cde"] sliced with offset 1 and offsets not starting at 0 */
  static const int32_t offs[] = {3, 5, 5, 5, 8};
  static const char data[] = "xyzabcde";
  static const uint8_t valid[] = {0x0d}; /* 1011 */
  const void *bufs[3] = {valid, offs, data};
  for (int narrow = 0; narrow < 2; narrow++) {
    struct ArrowSchema s = {.format = narrow ? "u" : "z", .name = "t", .flags = ARROW_FLAG_NULLABLE,
                            .release = release_static_schema};
    struct ArrowArray a = {.length = 3, .null_count = 1, .offset = 1, .n_buffers = 3,
                           .buffers = bufs, .release = release_static};
    released = 0;
    pl_column *c;
    OK(pl_column_import_arrow(&s, &a, b, &c, &E));
    assert_int_equal(released, 1); /* copied (offset != 0): released at once */
    assert_int_equal(c->type.id, narrow ? PL_STRING : PL_BINARY);
    assert_int_equal(c->length, 3);
    assert_int_equal(c->null_count, 1);
    assert_false(pl_column_is_valid(c, 0));
    assert_true(pl_column_is_valid(c, 1));
    const int64_t *o = pl_column_offsets(c);
    assert_int_equal(o[0], 0);
    assert_int_equal(o[2] - o[1], 0);
    assert_int_equal(o[3] - o[2], 3);
    assert_memory_equal(c->values.data + o[2], "cde", 3);
    pl_column_free(c);
  }
  /* "+l" list<int32>: [[1,2],[3]] without offset: offsets widened, items zero-copy */
  static const int32_t loffs[] = {0, 2, 3};
  static const int32_t items[] = {1, 2, 3};
  const void *lb[2] = {NULL, loffs}, *ib[2] = {NULL, items};
  struct ArrowArray item = {.length = 3, .n_buffers = 2, .buffers = ib, .release = release_static};
  struct ArrowArray *children[1] = {&item};
  struct ArrowArray la = {.length = 2, .n_buffers = 2, .n_children = 1, .buffers = lb, .children = children,
                          .release = release_static};
  struct ArrowSchema is = {.format = "i", .name = "item", .flags = ARROW_FLAG_NULLABLE};
  struct ArrowSchema *schildren[1] = {&is};
  struct ArrowSchema ls = {.format = "+l", .name = "l", .n_children = 1, .children = schildren};
  released = 0;
  pl_column *l;
  OK(pl_column_import_arrow(&ls, &la, b, &l, &E));
  assert_int_equal(released, 0); /* items are borrowed */
  assert_ptr_equal(l->children[0]->values.data, items);
  assert_int_equal(pl_column_offsets(l)[1], 2);
  assert_int_equal(pl_column_offsets(l)[2], 3);
  assert_true(pl_budget_used(b) > 0); /* the widened offsets */
  pl_column_free(l);
  assert_int_equal(released, 2); /* parent and child */
  assert_int_equal(pl_budget_used(b), 0);

  /* malformed input is refused with a message, and the array is still released */
  struct ArrowArray bad = {.length = 2, .n_buffers = 1, .n_children = 1, .buffers = lb, .children = children,
                           .release = release_static};
  item.release = release_static; /* released with the list above */
  released = 0;
  assert_int_equal(pl_column_import_arrow(&ls, &bad, b, &l, &E), PL_ECORRUPT);
  assert_non_null(strstr(E.msg, "buffers"));
  assert_int_equal(released, 2);
  struct ArrowSchema view = {.format = "vu", .name = "v"};
  struct ArrowArray va = {.length = 0, .n_buffers = 3, .buffers = bufs, .release = release_static};
  assert_int_equal(pl_column_import_arrow(&view, &va, b, &l, &E), PL_EUNSUPPORTED);
  assert_non_null(strstr(E.msg, "vu"));
  assert_int_equal(pl_budget_used(b), 0);
  pl_budget_free(b);
}

static void test_formats(void **state) {
  (void)state;
  char buf[64];
  for (size_t i = 0; i < NCASES; i++) {
    pl_type t = CASES[i].make();
    OK(pl_type_to_arrow_format(&t, buf, sizeof buf, &E));
    assert_string_equal(buf, CASES[i].format);
    pl_type_release(&t);
  }
  pl_type t = pl_type_timestamp(PL_MICRO, "America/Argentina/ComodRivadavia");
  assert_int_equal(pl_type_to_arrow_format(&t, buf, 10, &E), PL_EINVAL);
  pl_type_release(&t);
  /* from_arrow keeps names, nullability and parameters */
  struct ArrowSchema d = {.format = "d:12,3", .name = "price", .flags = 0};
  pl_field f;
  OK(pl_type_from_arrow(&d, &f, &E));
  assert_string_equal(f.name, "price");
  assert_false(f.nullable);
  assert_int_equal(f.type.id, PL_DECIMAL128);
  assert_int_equal(f.type.precision, 12);
  assert_int_equal(f.type.scale, 3);
  pl_field_release(&f);
  d.format = "d:12,3,256";
  assert_int_equal(pl_type_from_arrow(&d, &f, &E), PL_EUNSUPPORTED);
  d.format = "d:12";
  assert_int_equal(pl_type_from_arrow(&d, &f, &E), PL_ECORRUPT);
  d.format = "w:x";
  assert_int_equal(pl_type_from_arrow(&d, &f, &E), PL_ECORRUPT);
  d.format = "tsu:";
  OK(pl_type_from_arrow(&d, &f, &E));
  assert_null(f.type.tz);
  assert_int_equal(f.type.unit, PL_MICRO);
  pl_field_release(&f);
  struct ArrowSchema dict = {.format = "i", .name = "d", .dictionary = &d};
  assert_int_equal(pl_type_from_arrow(&dict, &f, &E), PL_EUNSUPPORTED);
}

/* ------------------------------------------------------------------ batches */
static void test_batch_round_trip(void **state) {
  (void)state;
  pl_budget *b = pl_budget_new(PL_UNLIMITED);
  pl_schema sc;
  pl_schema_init(&sc);
  pl_schema_add(&sc, pl_field_make("id", t_i64(), false));
  pl_schema_add(&sc, pl_field_make("name", t_str(), true));
  pl_schema_add(&sc, pl_field_make("tags", t_map(), true));
  pl_batch *batch = pl_batch_new(&sc, b, &E);
  assert_non_null(batch);
  for (int32_t i = 0; i < sc.n_fields; i++)
    for (int64_t r = 0; r < N; r++) fill_row(batch->columns[i], (uint32_t)(r * 3 + i), sc.fields[i].nullable);
  pl_column *refs[3];
  for (int i = 0; i < 3; i++) refs[i] = copy_of(batch->columns[i], NULL);
  const void *name_values = batch->columns[1]->values.data;

  struct ArrowSchema s;
  struct ArrowArray a;
  OK(pl_batch_export_arrow(batch, &s, &a, &E));
  assert_string_equal(s.format, "+s");
  assert_int_equal(s.n_children, 3);
  assert_string_equal(s.children[1]->name, "name");
  assert_string_equal(s.children[2]->format, "+m");
  assert_int_equal(a.length, N);
  assert_ptr_equal(a.children[1]->buffers[2], name_values);

  pl_batch *back;
  OK(pl_batch_import_arrow(&s, &a, b, &back, &E));
  assert_int_equal(back->length, N);
  assert_int_equal(back->schema.n_fields, 3);
  for (int i = 0; i < 3; i++) {
    assert_string_equal(back->schema.fields[i].name, sc.fields[i].name);
    assert_int_equal(back->schema.fields[i].nullable, sc.fields[i].nullable);
    assert_columns_equal(refs[i], 0, back->columns[i], N);
  }
  assert_ptr_equal(back->columns[1]->values.data, name_values);
  /* columns borrowing the one array can be freed separately, in any order */
  pl_column_free(back->columns[1]);
  back->columns[1] = pl_column_new(&sc.fields[1].type, b, &E);
  pl_batch_free(back);
  assert_int_equal(pl_budget_used(b), 0);

  /* with an offset: each column copies its rows */
  s.release(&s);
  struct ArrowSchema s3;
  batch = pl_batch_new(&sc, b, &E);
  for (int i = 0; i < 3; i++) OK(pl_column_append_slice(batch->columns[i], refs[i], 0, N, &E));
  OK(pl_batch_export_arrow(batch, &s3, &a, &E));
  a.offset = 4;
  a.length = N - 4;
  OK(pl_batch_import_arrow(&s3, &a, b, &back, &E));
  assert_int_equal(back->length, N - 4);
  for (int i = 0; i < 3; i++) assert_columns_equal(refs[i], 4, back->columns[i], N - 4);
  pl_batch_free(back);
  s3.release(&s3);
  assert_int_equal(pl_budget_used(b), 0);

  /* mismatched lengths: export fails and still consumes the batch */
  batch = pl_batch_new(&sc, b, &E);
  OK(pl_column_append_int(batch->columns[0], 1, &E));
  assert_int_equal(pl_batch_export_arrow(batch, &s, &a, &E), PL_EINVAL);
  assert_int_equal(pl_budget_used(b), 0);

  for (int i = 0; i < 3; i++) pl_column_free(refs[i]);
  pl_schema_release(&sc);
  pl_budget_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_formats),
      cmocka_unit_test(test_round_trip_every_type),
      cmocka_unit_test(test_reexport_imported),
      cmocka_unit_test(test_release_child_separately),
      cmocka_unit_test(test_import_int32_offsets),
      cmocka_unit_test(test_batch_round_trip),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}

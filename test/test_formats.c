/* test_formats.c — CSV and JSON Lines readers and writers: RFC 4180 quoting, embedded newlines,
 * CRLF, UTF-8 and BOMs, inference, explicit schemas with bad rows (fail/skip with line numbers),
 * nested JSON, round trips, bounded memory on a large file, and failed writes leaving nothing. */
#include <dirent.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"
#include "praline/formats.h"

static char *g_dir;

static char *path_in(const char *name) {
  char *p = pl_malloc(strlen(g_dir) + strlen(name) + 2);
  sprintf(p, "%s/%s", g_dir, name);
  return p;
}

static char *write_file(const char *name, const void *data, size_t n) {
  char *p = path_in(name);
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  fclose(f);
  return p;
}
#define WRITE_STR(name, s) write_file(name, s, sizeof(s) - 1)

/* Reads a whole file into one batch (concatenated) with the given options. */
typedef struct {
  pl_formats_reader *r;
  pl_batch *b;
  pl_status st;
  pl_error err;
} readall;

static readall read_all(const char *path, pl_formats_options *o) {
  readall ra = {0};
  ra.st = pl_formats_reader_open(path, o, &ra.r, &ra.err);
  if (ra.st) return ra;
  ra.b = pl_batch_new(pl_formats_reader_schema(ra.r), o->budget, NULL);
  for (;;) {
    pl_batch *b;
    ra.st = pl_formats_reader_next(ra.r, &b, &ra.err);
    if (ra.st || !b) break;
    for (int c = 0; c < b->schema.n_fields; c++)
      assert_int_equal(pl_column_append_slice(ra.b->columns[c], b->columns[c], 0, b->length, NULL), PL_OK);
    pl_batch_free(b);
  }
  if (!ra.st) assert_int_equal(pl_batch_finish(ra.b, NULL), PL_OK);
  return ra;
}
static void readall_free(readall *ra) {
  pl_batch_free(ra->b);
  pl_formats_reader_free(ra->r);
}

/* The canonical text of a cell (pqcheck rendering: strings JSON-quoted, null = \N). */
static const char *cell(const pl_batch *b, const char *col, int64_t row) {
  static char buf[4][512];
  static int k;
  int32_t i = pl_schema_find(&b->schema, col);
  assert_true(i >= 0);
  assert_true(row < b->length);
  char *out = buf[k++ & 3];
  pl_canonical_value(b->columns[i], row, out, 512);
  return out;
}
static const char *type_of(const pl_batch *b, const char *col) {
  static char buf[128];
  int32_t i = pl_schema_find(&b->schema, col);
  assert_true(i >= 0);
  pl_type_canonical(&b->schema.fields[i].type, buf, sizeof buf);
  return buf;
}
static bool nullable_of(const pl_batch *b, const char *col) {
  return b->schema.fields[pl_schema_find(&b->schema, col)].nullable;
}

/* ------------------------------------------------------------------ CSV */
static void test_csv_quoting_newlines_crlf(void **state) {
  (void)state;
  char *p = WRITE_STR("q.csv", "id,text,n\r\n"
                               "1,plain,10\r\n"
                               "2,\"with, comma\",20\r\n"
                               "3,\"say \"\"hi\"\"\",30\r\n"
                               "4,\"two\nlines\",40\r\n"
                               "5,\"crlf\r\ninside\",50\r\n"
                               "6,\"\",60\r\n"
                               "7,,70"); /* no final newline */
  pl_formats_options o = pl_formats_options_default(PL_FORMAT_CSV);
  readall ra = read_all(p, &o);
  assert_int_equal(ra.st, PL_OK);
  assert_int_equal(ra.b->length, 7);
  assert_string_equal(type_of(ra.b, "id"), "int64");
  assert_string_equal(type_of(ra.b, "text"), "string");
  assert_string_equal(cell(ra.b, "text", 0), "\"plain\"");
  assert_string_equal(cell(ra.b, "text", 1), "\"with, comma\"");
  assert_string_equal(cell(ra.b, "text", 2), "\"say \\\"hi\\\"\"");
  assert_string_equal(cell(ra.b, "text", 3), "\"two\\nlines\"");
  assert_string_equal(cell(ra.b, "text", 4), "\"crlf\\r\\ninside\"");
  assert_string_equal(cell(ra.b, "text", 5), "\"\"");  /* quoted empty = empty string */
  assert_string_equal(cell(ra.b, "text", 6), "\\N");   /* unquoted empty = null */
  assert_string_equal(cell(ra.b, "n", 6), "70");
  assert_true(nullable_of(ra.b, "text"));
  assert_false(nullable_of(ra.b, "n"));
  readall_free(&ra);
  pl_free(p);
}

/* Chunk edges anywhere: a 1..7 byte chunk size must give the same rows. */
static void test_csv_tiny_chunks(void **state) {
  (void)state;
  char *p = WRITE_STR("c.csv", "\xEF\xBB\xBF" "a,b\r\n\"x\"\"\r\ny\",1\r\n\r\nz,2\rw,3\n");
  for (size_t chunk = 1; chunk <= 7; chunk++) {
    pl_formats_options o = pl_formats_options_default(PL_FORMAT_CSV);
    o.chunk_bytes = chunk;
    readall ra = read_all(p, &o);
    assert_int_equal(ra.st, PL_OK);
    assert_int_equal(ra.b->length, 3);
    assert_int_equal(ra.b->schema.n_fields, 2);
    assert_string_equal(ra.b->schema.fields[0].name, "a"); /* BOM skipped */
    assert_string_equal(cell(ra.b, "a", 0), "\"x\\\"\\r\\ny\"");
    assert_string_equal(cell(ra.b, "a", 1), "\"z\"");
    assert_string_equal(cell(ra.b, "a", 2), "\"w\"");
    assert_string_equal(cell(ra.b, "b", 2), "3");
    readall_free(&ra);
  }
  pl_free(p);
}

static void test_csv_utf8_and_invalid(void **state) {
  (void)state;
  char *p = WRITE_STR("u.csv", "\xEF\xBB\xBFname,v\n"
                               "caf\xC3\xA9,1\n"
                               "\xE6\x97\xA5\xE6\x9C\xAC,2\n"
                               "\xF0\x9F\x98\x80,3\n"
                               "bad\xC3(,4\n"
                               "\"also\xED\xA0\x80\",5\n");
  pl_schema s;
  pl_schema_init(&s);
  pl_schema_add(&s, pl_field_make("name", pl_type_make(PL_STRING), true));
  pl_schema_add(&s, pl_field_make("v", pl_type_make(PL_INT32), false));
  pl_formats_options o = pl_formats_options_default(PL_FORMAT_CSV);
  o.schema = &s;
  readall ra = read_all(p, &o);
  assert_int_equal(ra.st, PL_ECORRUPT);
  assert_non_null(strstr(ra.err.msg, "u.csv: line 5: column 'name':"));
  assert_non_null(strstr(ra.err.msg, "is not valid UTF-8"));
  readall_free(&ra);

  o.on_error = PL_ON_ERROR_SKIP;
  ra = read_all(p, &o);
  assert_int_equal(ra.st, PL_OK);
  assert_int_equal(ra.b->length, 3);
  assert_string_equal(cell(ra.b, "name", 0), "\"caf\xC3\xA9\"");
  assert_string_equal(cell(ra.b, "name", 1), "\"\xE6\x97\xA5\xE6\x9C\xAC\"");
  assert_string_equal(cell(ra.b, "name", 2), "\"\xF0\x9F\x98\x80\"");
  assert_int_equal(pl_formats_reader_bad_rows(ra.r), 2);
  assert_int_equal(pl_formats_reader_n_messages(ra.r), 2);
  assert_non_null(strstr(pl_formats_reader_message(ra.r, 0), "line 5"));
  assert_non_null(strstr(pl_formats_reader_message(ra.r, 1), "line 6"));
  readall_free(&ra);
  pl_schema_release(&s);
  pl_free(p);
}

static void test_csv_no_header_and_delimiter(void **state) {
  (void)state;
  char *p = WRITE_STR("nh.tsv", "1;a;true\n2;b;false\n");
  pl_formats_options o = pl_formats_options_default(PL_FORMAT_CSV);
  o.header = false;
  o.delimiter = ';';
  readall ra = read_all(p, &o);
  assert_int_equal(ra.st, PL_OK);
  assert_int_equal(ra.b->length, 2);
  assert_string_equal(type_of(ra.b, "c0"), "int64");
  assert_string_equal(type_of(ra.b, "c1"), "string");
  assert_string_equal(type_of(ra.b, "c2"), "bool");
  assert_string_equal(cell(ra.b, "c2", 1), "false");
  readall_free(&ra);
  pl_free(p);
}

static void test_csv_infer_every_type(void **state) {
  (void)state;
  char *p = WRITE_STR("t.csv", "b,i,f,w,s,d,ts,tz,mix,dt,nul,q\n"
                               "true,1,1.5,1,x,2024-02-29,2024-01-02T03:04:05,2024-01-02T03:04:05Z,1,2024-01-01,,\"7\"\n"
                               "FALSE,-20,2,2.5,y,1970-01-01,2024-01-02 03:04:05.123456,2024-01-02T04:04:05+01:00,a,2024-01-01T00:00:00,,\"8\"\n"
                               ",9223372036854775807,-1e3,,z,,1999-12-31T23:59:59.5,,2,,,\n");
  pl_formats_options o = pl_formats_options_default(PL_FORMAT_CSV);
  readall ra = read_all(p, &o);
  if (ra.st) fail_msg("%s", ra.err.msg);
  assert_int_equal(ra.b->length, 3);
  assert_string_equal(type_of(ra.b, "b"), "bool");
  assert_string_equal(type_of(ra.b, "i"), "int64");
  assert_string_equal(type_of(ra.b, "f"), "float64");
  assert_string_equal(type_of(ra.b, "w"), "float64"); /* int widened to float */
  assert_string_equal(type_of(ra.b, "s"), "string");
  assert_string_equal(type_of(ra.b, "d"), "date");
  assert_string_equal(type_of(ra.b, "ts"), "timestamp");
  assert_string_equal(type_of(ra.b, "tz"), "timestamptz");
  assert_string_equal(type_of(ra.b, "mix"), "string"); /* int + text = string */
  assert_string_equal(type_of(ra.b, "dt"), "timestamp"); /* date + timestamp = timestamp */
  assert_string_equal(type_of(ra.b, "nul"), "string");
  assert_string_equal(type_of(ra.b, "q"), "int64"); /* quotes do not change the type */
  assert_true(nullable_of(ra.b, "q"));
  assert_string_equal(cell(ra.b, "q", 1), "8");
  assert_true(nullable_of(ra.b, "b"));
  assert_false(nullable_of(ra.b, "i"));
  assert_false(nullable_of(ra.b, "s"));
  assert_true(nullable_of(ra.b, "nul"));
  assert_string_equal(cell(ra.b, "b", 1), "false");
  assert_string_equal(cell(ra.b, "b", 2), "\\N");
  assert_string_equal(cell(ra.b, "i", 2), "9223372036854775807");
  assert_string_equal(cell(ra.b, "f", 2), "-1000");
  assert_string_equal(cell(ra.b, "w", 0), "1");
  assert_string_equal(cell(ra.b, "d", 0), "d19782");
  assert_string_equal(cell(ra.b, "d", 1), "d0");
  assert_string_equal(cell(ra.b, "ts", 0), "t1704164645000000000");
  assert_string_equal(cell(ra.b, "ts", 1), "t1704164645123456000");
  assert_string_equal(cell(ra.b, "ts", 2), "t946684799500000000");
  assert_string_equal(cell(ra.b, "tz", 0), cell(ra.b, "tz", 1)); /* +01:00 adjusted to UTC */
  assert_string_equal(cell(ra.b, "mix", 1), "\"a\"");
  assert_string_equal(cell(ra.b, "dt", 0), "t1704067200000000000");
  readall_free(&ra);
  pl_free(p);
}

/* A small sample infers int64; a later float is then a bad row (the sample decides). */
static void test_csv_infer_sample_limit(void **state) {
  (void)state;
  char *p = WRITE_STR("s.csv", "v\n1\n2\n3.5\n");
  pl_formats_options o = pl_formats_options_default(PL_FORMAT_CSV);
  o.infer_rows = 2;
  readall ra = read_all(p, &o);
  assert_int_equal(ra.st, PL_ECORRUPT);
  assert_non_null(strstr(ra.err.msg, "s.csv: line 4: column 'v': '3.5' is not an int64"));
  readall_free(&ra);
  o.infer_rows = 3;
  ra = read_all(p, &o);
  assert_int_equal(ra.st, PL_OK);
  assert_string_equal(type_of(ra.b, "v"), "float64");
  readall_free(&ra);
  pl_free(p);
}

static void test_csv_explicit_schema_errors(void **state) {
  (void)state;
  /* line 3 holds a record spanning two lines, so 'abc' sits on physical line 5 */
  char *p = WRITE_STR("data.csv", "url,width,when\n"
                                  "a,1,2024-01-01\n"
                                  "\"b\nb\",2,2024-01-02\n"
                                  "c,abc,2024-01-03\n"
                                  "d,3000000000,2024-01-04\n"
                                  "e,5,2024-13-01\n"
                                  "f,6\n"
                                  "g,,2024-01-05\n"
                                  "h,8,2024-01-06\n");
  pl_schema s;
  pl_schema_init(&s);
  /* a different order than the file: columns match by header name */
  pl_schema_add(&s, pl_field_make("width", pl_type_make(PL_INT32), false));
  pl_schema_add(&s, pl_field_make("url", pl_type_make(PL_STRING), true));
  pl_schema_add(&s, pl_field_make("when", pl_type_make(PL_DATE32), true));
  pl_formats_options o = pl_formats_options_default(PL_FORMAT_CSV);
  o.schema = &s;
  readall ra = read_all(p, &o);
  assert_int_equal(ra.st, PL_ECORRUPT);
  assert_non_null(strstr(ra.err.msg, "data.csv: line 5: column 'width': 'abc' is not an int32"));
  readall_free(&ra);

  o.on_error = PL_ON_ERROR_SKIP;
  ra = read_all(p, &o);
  assert_int_equal(ra.st, PL_OK);
  assert_int_equal(ra.b->length, 3);
  assert_string_equal(cell(ra.b, "url", 1), "\"b\\nb\"");
  assert_string_equal(cell(ra.b, "url", 2), "\"h\"");
  assert_string_equal(cell(ra.b, "width", 2), "8");
  assert_int_equal(pl_formats_reader_bad_rows(ra.r), 5);
  assert_non_null(strstr(pl_formats_reader_message(ra.r, 0), "line 5: column 'width': 'abc' is not an int32"));
  assert_non_null(strstr(pl_formats_reader_message(ra.r, 1), "line 6: column 'width': '3000000000' is not an int32"));
  assert_non_null(strstr(pl_formats_reader_message(ra.r, 2), "line 7: column 'when': '2024-13-01' is not a date"));
  assert_non_null(strstr(pl_formats_reader_message(ra.r, 3), "line 8: expected 3 fields, found 2"));
  assert_non_null(strstr(pl_formats_reader_message(ra.r, 4), "line 9: column 'width': null in a non-nullable column"));
  readall_free(&ra);

  pl_schema_add(&s, pl_field_make("height", pl_type_make(PL_INT32), true));
  pl_formats_reader *r = NULL;
  pl_error err = {0};
  assert_int_equal(pl_formats_reader_open(p, &o, &r, &err), PL_ENOTFOUND);
  assert_non_null(strstr(err.msg, "column 'height'"));
  assert_null(r);
  pl_schema_release(&s);
  pl_free(p);
}

static void test_csv_null_string_and_unterminated(void **state) {
  (void)state;
  char *p = WRITE_STR("n.csv", "a,b\nNA,\"NA\"\n1,x\n");
  pl_formats_options o = pl_formats_options_default(PL_FORMAT_CSV);
  o.null_string = "NA";
  readall ra = read_all(p, &o);
  assert_int_equal(ra.st, PL_OK);
  assert_string_equal(type_of(ra.b, "a"), "int64");
  assert_string_equal(cell(ra.b, "a", 0), "\\N");
  assert_string_equal(cell(ra.b, "b", 0), "\"NA\""); /* quoted: the text, not null */
  readall_free(&ra);
  pl_free(p);

  p = WRITE_STR("un.csv", "a\nx\n\"never closed\n\n");
  o = pl_formats_options_default(PL_FORMAT_CSV);
  ra = read_all(p, &o);
  assert_int_equal(ra.st, PL_ECORRUPT);
  assert_non_null(strstr(ra.err.msg, "un.csv: line 3: quoted field is not closed"));
  readall_free(&ra);
  pl_free(p);
}

/* ------------------------------------------------------------------ JSON Lines */
static void test_jsonl_nested_and_missing(void **state) {
  (void)state;
  char *p = WRITE_STR("n.jsonl",
                      "{\"id\": 1, \"tags\": [\"a\", \"b\"], \"pos\": {\"x\": 1, \"y\": 2.5}, \"t\": \"2024-05-06\"}\n"
                      "\n"
                      "   \r\n"
                      "{\"id\": 2, \"tags\": [], \"pos\": {\"x\": 3}, \"extra\": true}\r\n"
                      "{\"id\": 3, \"pos\": null, \"tags\": [\"\xC3\xA9\", null], \"t\": \"2024-05-07\"}\n");
  pl_formats_options o = pl_formats_options_default(PL_FORMAT_JSONL);
  readall ra = read_all(p, &o);
  assert_int_equal(ra.st, PL_OK);
  assert_int_equal(ra.b->length, 3);
  assert_string_equal(type_of(ra.b, "id"), "int64");
  assert_false(nullable_of(ra.b, "id"));
  assert_string_equal(type_of(ra.b, "tags"), "list<string>");
  assert_string_equal(type_of(ra.b, "pos"), "struct<x:int64,y:float64>");
  assert_string_equal(type_of(ra.b, "t"), "date");
  assert_string_equal(type_of(ra.b, "extra"), "bool");
  assert_false(nullable_of(ra.b, "tags"));
  assert_true(nullable_of(ra.b, "t")); /* missing in row 2 */
  assert_true(nullable_of(ra.b, "extra"));
  assert_string_equal(cell(ra.b, "tags", 0), "[\"a\",\"b\"]");
  assert_string_equal(cell(ra.b, "tags", 1), "[]");
  assert_string_equal(cell(ra.b, "tags", 2), "[\"\xC3\xA9\",\\N]");
  assert_string_equal(cell(ra.b, "pos", 1), "{\"x\":3,\"y\":\\N}");
  assert_string_equal(cell(ra.b, "pos", 2), "\\N");
  assert_string_equal(cell(ra.b, "t", 1), "\\N");
  assert_string_equal(cell(ra.b, "extra", 0), "\\N");
  assert_string_equal(cell(ra.b, "extra", 1), "true");
  readall_free(&ra);
  pl_free(p);
}

static void test_jsonl_bad_rows(void **state) {
  (void)state;
  char *p = WRITE_STR("b.jsonl", "{\"a\": 1, \"s\": \"x\"}\n"
                                 "{\"a\": \"one\", \"s\": \"y\"}\n"
                                 "{\"a\": 2, \"s\": 5}\n"
                                 "[1, 2]\n"
                                 "{\"a\": 3, \"s\": \n"
                                 "{\"a\": 4}\n");
  pl_schema s;
  pl_schema_init(&s);
  pl_schema_add(&s, pl_field_make("a", pl_type_make(PL_INT16), false));
  pl_schema_add(&s, pl_field_make("s", pl_type_make(PL_STRING), true));
  pl_formats_options o = pl_formats_options_default(PL_FORMAT_JSONL);
  o.schema = &s;
  readall ra = read_all(p, &o);
  assert_int_equal(ra.st, PL_ECORRUPT);
  assert_non_null(strstr(ra.err.msg, "b.jsonl: line 2: column 'a': '\"one\"' is not an int16"));
  readall_free(&ra);
  o.on_error = PL_ON_ERROR_SKIP;
  ra = read_all(p, &o);
  assert_int_equal(ra.st, PL_OK);
  assert_int_equal(ra.b->length, 3);
  assert_string_equal(cell(ra.b, "s", 1), "\"5\""); /* non-strings kept as JSON text */
  assert_string_equal(cell(ra.b, "s", 2), "\\N");  /* missing key */
  assert_int_equal(pl_formats_reader_bad_rows(ra.r), 3);
  assert_non_null(strstr(pl_formats_reader_message(ra.r, 1), "line 4: expected a JSON object"));
  assert_non_null(strstr(pl_formats_reader_message(ra.r, 2), "line 5: invalid JSON"));
  readall_free(&ra);
  pl_schema_add(&s, pl_field_make("d", pl_type_decimal(10, 2), true));
  pl_formats_reader *r = NULL;
  pl_error err = {0};
  assert_int_equal(pl_formats_reader_open(p, &o, &r, &err), PL_EUNSUPPORTED);
  assert_non_null(strstr(err.msg, "column 'd'"));
  pl_schema_release(&s);
  pl_free(p);
}

/* ------------------------------------------------------------------ round trips */
static pl_batch *sample_batch(bool nested, int64_t rows) {
  pl_schema s;
  pl_schema_init(&s);
  pl_schema_add(&s, pl_field_make("i32", pl_type_make(PL_INT32), true));
  pl_schema_add(&s, pl_field_make("i64", pl_type_make(PL_INT64), false));
  pl_schema_add(&s, pl_field_make("f64", pl_type_make(PL_FLOAT64), true));
  pl_schema_add(&s, pl_field_make("str", pl_type_make(PL_STRING), true));
  pl_schema_add(&s, pl_field_make("ok", pl_type_make(PL_BOOL), true));
  pl_schema_add(&s, pl_field_make("day", pl_type_make(PL_DATE32), true));
  pl_schema_add(&s, pl_field_make("at", pl_type_timestamp(PL_MICRO, "UTC"), true));
  pl_schema_add(&s, pl_field_make("naive", pl_type_timestamp(PL_MILLI, NULL), true));
  if (nested) {
    pl_schema_add(&s, pl_field_make("l", pl_type_list(pl_field_make("item", pl_type_make(PL_INT64), true)), true));
    pl_field kids[2] = {pl_field_make("a", pl_type_make(PL_STRING), true),
                        pl_field_make("b", pl_type_make(PL_FLOAT64), true)};
    pl_schema_add(&s, pl_field_make("st", pl_type_struct(2, kids), true));
  }
  pl_batch *b = pl_batch_new(&s, NULL, NULL);
  static const char *strs[] = {"plain", "", "a,b", "q\"uote", "line\nbreak", "cr\r\nlf",
                               "\xC3\xA9t\xC3\xA9 \xF0\x9F\x98\x80", " spaced ", "tab\there", "\\back"};
  static const double fl[] = {0.1, -0.0, 1e300, 5e-324, 123456789.125, 1.0 / 3, -2.5e-7, 42};
  for (int64_t r = 0; r < rows; r++) {
    pl_column **c = b->columns;
    if (r % 7 == 3) pl_column_append_null(c[0], NULL);
    else pl_column_append_int(c[0], (r % 2 ? -1 : 1) * (INT32_MAX - r), NULL);
    pl_column_append_int(c[1], r * 1000003 - INT64_MAX / 2, NULL);
    if (r % 5 == 4) pl_column_append_null(c[2], NULL);
    else pl_column_append_float(c[2], fl[r % 8] * (double)(r + 1), NULL);
    if (r % 11 == 10) pl_column_append_null(c[3], NULL);
    else pl_column_append_bytes(c[3], strs[r % 10], strlen(strs[r % 10]), NULL);
    if (r % 3 == 2) pl_column_append_null(c[4], NULL);
    else pl_column_append_bool(c[4], r % 2, NULL);
    pl_column_append_int(c[5], (r * 37) % 40000 - 20000, NULL);
    pl_column_append_int(c[6], r * 999999937LL - 3000000000000000LL, NULL);
    if (r % 4 == 1) pl_column_append_null(c[7], NULL);
    else pl_column_append_int(c[7], r * 86400123LL, NULL);
    if (nested) {
      if (r % 6 == 5) pl_column_append_null(c[8], NULL);
      else {
        for (int64_t k = 0; k < r % 4; k++) {
          if (k == 2) pl_column_append_null(c[8]->children[0], NULL);
          else pl_column_append_int(c[8]->children[0], r * 10 + k, NULL);
        }
        pl_column_end_list(c[8], NULL);
      }
      if (r % 5 == 2) {
        pl_column_append_null(c[9]->children[0], NULL);
        pl_column_append_null(c[9]->children[1], NULL);
        pl_column_end_struct(c[9], false, NULL);
      } else {
        pl_column_append_bytes(c[9]->children[0], strs[(r + 3) % 10], strlen(strs[(r + 3) % 10]), NULL);
        if (r % 3 == 0) pl_column_append_null(c[9]->children[1], NULL);
        else pl_column_append_float(c[9]->children[1], fl[(r + 1) % 8], NULL);
        pl_column_end_struct(c[9], true, NULL);
      }
    }
  }
  assert_int_equal(pl_batch_finish(b, NULL), PL_OK);
  pl_schema_release(&s);
  return b;
}

static void assert_batches_equal(const pl_batch *a, const pl_batch *b) {
  assert_int_equal(a->length, b->length);
  assert_int_equal(a->schema.n_fields, b->schema.n_fields);
  for (int c = 0; c < a->schema.n_fields; c++) {
    char ha[17], hb[17];
    pl_checksum *x = pl_checksum_new(&a->schema.fields[c].type), *y = pl_checksum_new(&a->schema.fields[c].type);
    assert_int_equal(pl_checksum_add(x, a->columns[c], NULL), PL_OK);
    assert_int_equal(pl_checksum_add(y, b->columns[c], NULL), PL_OK);
    pl_checksum_hex(x, ha);
    pl_checksum_hex(y, hb);
    if (strcmp(ha, hb) != 0) {
      for (int64_t r = 0; r < a->length; r++) {
        char va[256], vb[256];
        pl_canonical_value(a->columns[c], r, va, sizeof va);
        pl_canonical_value(b->columns[c], r, vb, sizeof vb);
        if (strcmp(va, vb)) fail_msg("column %s row %lld: wrote %s, read %s", a->schema.fields[c].name, (long long)r, va, vb);
      }
    }
    assert_string_equal(ha, hb);
    pl_checksum_free(x);
    pl_checksum_free(y);
  }
}

static void round_trip(pl_format_kind kind, bool nested) {
  pl_batch *b = sample_batch(nested, 500);
  char *p = path_in(kind == PL_FORMAT_CSV ? "rt.csv" : "rt.jsonl");
  pl_formats_options o = pl_formats_options_default(kind);
  pl_formats_writer *w;
  pl_error err = {0};
  assert_int_equal(pl_formats_writer_open(p, &b->schema, &o, &w, &err), PL_OK);
  /* two writes: the writer streams batch after batch */
  pl_batch *half = pl_batch_new(&b->schema, NULL, NULL);
  for (int c = 0; c < b->schema.n_fields; c++) pl_column_append_slice(half->columns[c], b->columns[c], 0, 200, NULL);
  pl_batch_finish(half, NULL);
  pl_batch *rest = pl_batch_new(&b->schema, NULL, NULL);
  for (int c = 0; c < b->schema.n_fields; c++) pl_column_append_slice(rest->columns[c], b->columns[c], 200, 300, NULL);
  pl_batch_finish(rest, NULL);
  assert_int_equal(pl_formats_writer_write(w, half, &err), PL_OK);
  assert_int_equal(pl_formats_writer_write(w, rest, &err), PL_OK);
  assert_int_equal(access(p, F_OK), -1); /* not at the final name before close */
  assert_int_equal(pl_formats_writer_close(w, &err), PL_OK);
  assert_int_equal(pl_formats_writer_files(w), 1);
  pl_formats_writer_free(w);
  pl_batch_free(half);
  pl_batch_free(rest);

  o.schema = &b->schema;
  o.batch_rows = 77;
  readall ra = read_all(p, &o);
  if (ra.st) fail_msg("%s", ra.err.msg);
  assert_batches_equal(b, ra.b);
  readall_free(&ra);
  pl_batch_free(b);
  pl_free(p);
}
static void test_round_trip_csv(void **state) { (void)state; round_trip(PL_FORMAT_CSV, false); }
static void test_round_trip_jsonl(void **state) { (void)state; round_trip(PL_FORMAT_JSONL, true); }

static void test_writer_csv_text(void **state) {
  (void)state;
  pl_schema s;
  pl_schema_init(&s);
  pl_schema_add(&s, pl_field_make("s", pl_type_make(PL_STRING), true));
  pl_schema_add(&s, pl_field_make("f", pl_type_make(PL_FLOAT64), true));
  pl_schema_add(&s, pl_field_make("t", pl_type_timestamp(PL_MILLI, "UTC"), true));
  pl_batch *b = pl_batch_new(&s, NULL, NULL);
  pl_column_append_bytes(b->columns[0], "a,\"b\"", 5, NULL);
  pl_column_append_float(b->columns[1], 0.1, NULL);
  pl_column_append_int(b->columns[2], -1, NULL);
  pl_column_append_null(b->columns[0], NULL);
  pl_column_append_null(b->columns[1], NULL);
  pl_column_append_int(b->columns[2], 1704164645000, NULL);
  pl_column_append_bytes(b->columns[0], "\xEF\xBB\xBF" "bom", 6, NULL); /* quoted: not read as a BOM */
  pl_column_append_float(b->columns[1], -1e300, NULL);
  pl_column_append_null(b->columns[2], NULL);
  pl_batch_finish(b, NULL);
  char *p = path_in("w.csv");
  pl_formats_options o = pl_formats_options_default(PL_FORMAT_CSV);
  pl_formats_writer *w;
  assert_int_equal(pl_formats_writer_open(p, &s, &o, &w, NULL), PL_OK);
  assert_int_equal(pl_formats_writer_write(w, b, NULL), PL_OK);
  assert_int_equal(pl_formats_writer_close(w, NULL), PL_OK);
  pl_formats_writer_free(w);
  char *out;
  assert_int_equal(tu_run(&out, "cat '%s'", p), 0);
  assert_string_equal(out, "s,f,t\n\"a,\"\"b\"\"\",0.1,1969-12-31T23:59:59.999Z\n,,2024-01-02T03:04:05Z\n\"\xEF\xBB\xBF" "bom\",-1e+300,\n");
  free(out);
  /* nested columns are refused for CSV */
  pl_schema_add(&s, pl_field_make("l", pl_type_list(pl_field_make("item", pl_type_make(PL_INT64), true)), true));
  pl_error err = {0};
  assert_int_equal(pl_formats_writer_open(p, &s, &o, &w, &err), PL_EUNSUPPORTED);
  assert_non_null(strstr(err.msg, "column 'l'"));
  pl_batch_free(b);
  pl_schema_release(&s);
  pl_free(p);
}

static int count_dir(const char *dir, const char *prefix) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)))
    if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) n++;
  closedir(d);
  return n;
}

static void test_writer_max_file_bytes(void **state) {
  (void)state;
  pl_batch *b = sample_batch(false, 3000);
  char *dir = path_in("parts");
  pl_formats_options o = pl_formats_options_default(PL_FORMAT_CSV);
  o.max_file_bytes = 40000;
  pl_formats_writer *w;
  assert_int_equal(pl_formats_writer_open(dir, &b->schema, &o, &w, NULL), PL_OK);
  assert_int_equal(pl_formats_writer_write(w, b, NULL), PL_OK);
  assert_int_equal(pl_formats_writer_close(w, NULL), PL_OK);
  int files = pl_formats_writer_files(w);
  assert_true(files > 3);
  assert_int_equal(count_dir(dir, "part-"), files);
  assert_int_equal(count_dir(dir, "."), 2); /* . and .. only: no temporaries left */
  pl_formats_writer_free(w);
  int64_t rows = 0;
  for (int i = 0; i < files; i++) {
    char name[64];
    snprintf(name, sizeof name, "parts/part-%05d.csv", i);
    char *p = path_in(name);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_true(st.st_size <= 40000);
    pl_formats_options ro = pl_formats_options_default(PL_FORMAT_CSV);
    ro.schema = &b->schema;
    readall ra = read_all(p, &ro);
    assert_int_equal(ra.st, PL_OK);
    rows += ra.b->length;
    readall_free(&ra);
    pl_free(p);
  }
  assert_int_equal(rows, 3000);
  pl_batch_free(b);
  pl_free(dir);
}

/* A writer hitting RLIMIT_FSIZE (EFBIG) fails and leaves no file at all. */
static void test_failed_write_leaves_nothing(void **state) {
  (void)state;
  for (int parts = 0; parts < 2; parts++) {
    char *dir = path_in(parts ? "fail-parts" : "fail-one");
    mkdir(dir, 0755);
    char *p = pl_malloc(strlen(dir) + 16);
    sprintf(p, "%s/%s", dir, parts ? "out" : "out.jsonl");
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      signal(SIGXFSZ, SIG_IGN);
      struct rlimit rl = {200000, 200000};
      setrlimit(RLIMIT_FSIZE, &rl);
      pl_schema s;
      pl_schema_init(&s);
      pl_schema_add(&s, pl_field_make("text", pl_type_make(PL_STRING), true));
      pl_batch *b = pl_batch_new(&s, NULL, NULL), *huge = pl_batch_new(&s, NULL, NULL);
      char line[101];
      memset(line, 'x', 100);
      line[100] = 0;
      for (int i = 0; i < 2000; i++) pl_column_append_bytes(b->columns[0], line, 100, NULL);
      char *big = pl_calloc(300000, 1);
      memset(big, 'y', 300000);
      pl_column_append_bytes(huge->columns[0], big, 300000, NULL);
      pl_free(big);
      pl_batch_finish(b, NULL);
      pl_batch_finish(huge, NULL);
      pl_formats_options o = pl_formats_options_default(PL_FORMAT_JSONL);
      if (parts) o.max_file_bytes = 50000;
      pl_formats_writer *w;
      pl_error err = {0};
      int rc = 3;
      if (pl_formats_writer_open(p, &s, &o, &w, &err) == PL_OK) {
        pl_status st = pl_formats_writer_write(w, b, &err);
        if (!st && parts && pl_formats_writer_files(w) < 3) st = PL_EINTERNAL; /* parts were finished */
        if (!st) st = pl_formats_writer_write(w, huge, &err);
        if (!st) st = pl_formats_writer_close(w, &err);
        rc = st == PL_EIO && strstr(err.msg, "write failed") ? 0 : 4;
        if (rc) fprintf(stderr, "child: %d %s\n", st, err.msg);
        pl_formats_writer_free(w);
      }
      pl_batch_free(huge);
      pl_schema_release(&s);
      pl_batch_free(b);
      _exit(rc);
    }
    int ws;
    assert_int_equal(waitpid(pid, &ws, 0), pid);
    assert_true(WIFEXITED(ws));
    assert_int_equal(WEXITSTATUS(ws), 0);
    assert_int_equal(count_dir(dir, "."), 2); /* nothing: no parts, no temporaries, no part dir */
    pl_free(p);
    pl_free(dir);
  }
}

/* ------------------------------------------------------------------ bounded memory */
static void test_bounded_memory_large_file(void **state) {
  (void)state;
  char *p = path_in("big.csv");
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  fprintf(f, "id,name,score,day\n");
  int64_t rows = 0;
  long size = 0;
  while (size < 50L * 1000 * 1000) {
    int n = fprintf(f, "%lld,\"name %lld, with a comma\",%lld.25,2024-01-%02lld\n", (long long)rows,
                    (long long)rows * 7, (long long)rows % 1000, (long long)(rows % 28 + 1));
    size += n;
    rows++;
  }
  fclose(f);
  size_t limit = 8u << 20;
  pl_budget *bud = pl_budget_new(limit);
  pl_formats_options o = pl_formats_options_default(PL_FORMAT_CSV);
  o.budget = bud;
  pl_formats_reader *r;
  pl_error err = {0};
  assert_int_equal(pl_formats_reader_open(p, &o, &r, &err), PL_OK);
  int64_t got = 0, sum = 0;
  int batches = 0;
  for (;;) {
    pl_batch *b;
    assert_int_equal(pl_formats_reader_next(r, &b, &err), PL_OK);
    if (!b) break;
    const int64_t *ids = (const int64_t *)b->columns[0]->values.data;
    for (int64_t i = 0; i < b->length; i++) sum += ids[i];
    got += b->length;
    batches++;
    pl_batch_free(b);
  }
  assert_int_equal(got, rows);
  assert_int_equal(sum, rows * (rows - 1) / 2);
  assert_true(batches > 5);
  print_message("bounded memory: %lld rows, %ld bytes, %d batches, budget peak %zu of %zu\n",
                (long long)rows, size, batches, pl_budget_peak(bud), limit);
  assert_true(pl_budget_peak(bud) <= limit);
  assert_true(pl_budget_peak(bud) > (1u << 20)); /* the chunk buffer at least was charged */
  pl_formats_reader_free(r);
  assert_int_equal(pl_budget_used(bud), 0);
  pl_budget_free(bud);
  unlink(p);
  pl_free(p);
}

static void test_bounded_memory_jsonl(void **state) {
  (void)state;
  char *p = path_in("big.jsonl");
  FILE *f = fopen(p, "wb");
  assert_non_null(f);
  int64_t rows = 0;
  long size = 0;
  while (size < 20L * 1000 * 1000) {
    size += fprintf(f, "{\"id\": %lld, \"tags\": [\"t%lld\", \"u\"], \"p\": {\"x\": %lld.5}, \"s\": \"caf\u00e9 %lld\"}\n",
                    (long long)rows, (long long)rows % 13, (long long)rows % 100, (long long)rows);
    rows++;
  }
  fclose(f);
  size_t limit = 8u << 20;
  pl_budget *bud = pl_budget_new(limit);
  pl_formats_options o = pl_formats_options_default(PL_FORMAT_JSONL);
  o.budget = bud;
  pl_formats_reader *r;
  pl_error err = {0};
  assert_int_equal(pl_formats_reader_open(p, &o, &r, &err), PL_OK);
  char tn[128];
  pl_type_canonical(&pl_formats_reader_schema(r)->fields[2].type, tn, sizeof tn);
  assert_string_equal(tn, "struct<x:float64>");
  int64_t got = 0;
  for (;;) {
    pl_batch *b;
    assert_int_equal(pl_formats_reader_next(r, &b, &err), PL_OK);
    if (!b) break;
    got += b->length;
    pl_batch_free(b);
  }
  assert_int_equal(got, rows);
  print_message("bounded memory (jsonl): %lld rows, %ld bytes, budget peak %zu of %zu\n", (long long)rows, size,
                pl_budget_peak(bud), limit);
  assert_true(pl_budget_peak(bud) <= limit);
  pl_formats_reader_free(r);
  assert_int_equal(pl_budget_used(bud), 0);
  pl_budget_free(bud);
  unlink(p);
  pl_free(p);
}

/* A pipe streams with an explicit schema; inference needs to rewind, so it is refused. */
static void test_pipe_input(void **state) {
  (void)state;
  char *p = path_in("fifo.csv");
  assert_int_equal(mkfifo(p, 0600), 0);
  for (int infer = 0; infer < 2; infer++) {
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
      signal(SIGPIPE, SIG_IGN);
      FILE *f = fopen(p, "wb");
      if (!f) _exit(1);
      fprintf(f, "a,b\n");
      for (int i = 0; i < 5000; i++) fprintf(f, "%d,\"x\ny\"\n", i);
      fclose(f);
      _exit(0);
    }
    pl_schema s;
    pl_schema_init(&s);
    pl_schema_add(&s, pl_field_make("a", pl_type_make(PL_INT32), false));
    pl_formats_options o = pl_formats_options_default(PL_FORMAT_CSV);
    o.schema = infer ? NULL : &s;
    o.chunk_bytes = 4096;
    readall ra = read_all(p, &o);
    if (infer) {
      assert_int_equal(ra.st, PL_EUNSUPPORTED);
      assert_non_null(strstr(ra.err.msg, "cannot rewind"));
    } else {
      assert_int_equal(ra.st, PL_OK);
      assert_int_equal(ra.b->length, 5000);
      assert_string_equal(cell(ra.b, "a", 4999), "4999");
    }
    readall_free(&ra);
    pl_schema_release(&s);
    int ws;
    waitpid(pid, &ws, 0);
  }
  pl_free(p);
}

/* A record longer than the budget fails cleanly, naming the file and line. */
static void test_record_over_budget(void **state) {
  (void)state;
  for (int json = 0; json < 2; json++) {
    char *p = path_in(json ? "long.jsonl" : "long.csv");
    FILE *f = fopen(p, "wb");
    fprintf(f, json ? "{\"a\":\"x\"}\n{\"a\":\"y\"}\n{\"a\":\"" : "a\nx\ny\n\"");
    for (int i = 0; i < 300000; i++) fputs(json ? "abcd" : "abcd\n", f);
    fprintf(f, json ? "\"}\n" : "\"\n");
    fclose(f);
    pl_budget *bud = pl_budget_new(1u << 20);
    pl_formats_options o = pl_formats_options_default(json ? PL_FORMAT_JSONL : PL_FORMAT_CSV);
    o.budget = bud;
    o.chunk_bytes = 64u << 10;
    o.infer_rows = 2;
    readall ra = read_all(p, &o);
    if (ra.st != PL_ELIMIT) fail_msg("%d %s", ra.st, ra.err.msg);
    assert_non_null(strstr(ra.err.msg, json ? "long.jsonl: line 3:" : "long.csv: line 4:"));
    readall_free(&ra);
    assert_int_equal(pl_budget_used(bud), 0);
    pl_budget_free(bud);
    pl_free(p);
  }
}

/* Field bookkeeping is charged too: a short line of 200k empty fields cannot blow past it. */
static void test_many_fields_over_budget(void **state) {
  (void)state;
  char *p = path_in("commas.csv");
  FILE *f = fopen(p, "wb");
  fprintf(f, "a\n1\n");
  for (int i = 0; i < 200000; i++) fputc(',', f);
  fputc('\n', f);
  fclose(f);
  pl_budget *bud = pl_budget_new(1u << 20);
  pl_formats_options o = pl_formats_options_default(PL_FORMAT_CSV);
  o.budget = bud;
  o.chunk_bytes = 64u << 10;
  readall ra = read_all(p, &o);
  if (ra.st != PL_ELIMIT) fail_msg("%d %s", ra.st, ra.err.msg);
  assert_non_null(strstr(ra.err.msg, "commas.csv: line 3: record does not fit in the memory budget"));
  readall_free(&ra);
  assert_true(pl_budget_peak(bud) <= (1u << 20));
  assert_int_equal(pl_budget_used(bud), 0);
  pl_budget_free(bud);
  pl_free(p);
}

/* Wide objects: 20000 keys infer 20000 columns (the key lookup is hashed, not quadratic). */
static void test_jsonl_wide(void **state) {
  (void)state;
  char *p = path_in("wide.jsonl");
  FILE *f = fopen(p, "wb");
  for (int line = 0; line < 2; line++) {
    fputc('{', f);
    for (int k = line; k < 20000; k++) fprintf(f, "%s\"k%d\": %d", k > line ? ", " : "", k, k);
    fputs("}\n", f);
  }
  fclose(f);
  pl_formats_options o = pl_formats_options_default(PL_FORMAT_JSONL);
  readall ra = read_all(p, &o);
  assert_int_equal(ra.st, PL_OK);
  assert_int_equal(ra.b->schema.n_fields, 20000);
  assert_int_equal(ra.b->length, 2);
  assert_true(nullable_of(ra.b, "k0"));
  assert_false(nullable_of(ra.b, "k19999"));
  assert_string_equal(cell(ra.b, "k0", 1), "\\N");
  assert_string_equal(cell(ra.b, "k12345", 1), "12345");
  readall_free(&ra);
  pl_free(p);
}

static int setup(void **state) {
  (void)state;
  g_dir = tu_mkdtemp("formats");
  return 0;
}
static int teardown(void **state) {
  (void)state;
  tu_rmrf(g_dir);
  pl_free(g_dir);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csv_quoting_newlines_crlf),
      cmocka_unit_test(test_csv_tiny_chunks),
      cmocka_unit_test(test_csv_utf8_and_invalid),
      cmocka_unit_test(test_csv_no_header_and_delimiter),
      cmocka_unit_test(test_csv_infer_every_type),
      cmocka_unit_test(test_csv_infer_sample_limit),
      cmocka_unit_test(test_csv_explicit_schema_errors),
      cmocka_unit_test(test_csv_null_string_and_unterminated),
      cmocka_unit_test(test_jsonl_nested_and_missing),
      cmocka_unit_test(test_jsonl_bad_rows),
      cmocka_unit_test(test_jsonl_wide),
      cmocka_unit_test(test_round_trip_csv),
      cmocka_unit_test(test_round_trip_jsonl),
      cmocka_unit_test(test_writer_csv_text),
      cmocka_unit_test(test_writer_max_file_bytes),
      cmocka_unit_test(test_failed_write_leaves_nothing),
      cmocka_unit_test(test_bounded_memory_large_file),
      cmocka_unit_test(test_bounded_memory_jsonl),
      cmocka_unit_test(test_pipe_input),
      cmocka_unit_test(test_record_over_budget),
      cmocka_unit_test(test_many_fields_over_budget),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}

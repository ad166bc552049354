/* type_parse.c — pl_type_parse: type names as written in YAML specs and printed by pqcheck.
 *
 *   type := simple | "list" "<" type ">" | "map" "<" type "," type ">"
 *         | "struct" "<" [name ":" type ("," name ":" type)*] ">"
 *         | ("decimal" | "decimal128") "(" p "," s ")" | ("fixed_binary" | "fixed_size_binary") "(" n ")"
 *         | "timestamp" ["[" unit ["," tz] "]"] | "timestamptz" ["[" unit "]"] | "time" ["[" unit "]"]
 *   unit := s | ms | us | ns
 * Defaults: timestamp and time are microseconds; timestamptz is UTC. List items and map values
 * are nullable, map keys are not (as in Arrow and Parquet). Whitespace between tokens is free.
 */
#include "columnar/internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *text, *p;
  pl_error *err;
} parser;

static void skip_ws(parser *ps) {
  while (isspace((unsigned char)*ps->p)) ps->p++;
}

static pl_status fail(parser *ps, const char *expected) {
  return pl_error_set(ps->err, PL_EINVAL, "type \"%s\": expected %s at offset %d", ps->text, expected,
                      (int)(ps->p - ps->text));
}

static bool eat(parser *ps, char ch) {
  skip_ws(ps);
  if (*ps->p != ch) return false;
  ps->p++;
  return true;
}

static pl_status expect(parser *ps, char ch) {
  char what[4] = {'\'', ch, '\'', 0};
  return eat(ps, ch) ? PL_OK : fail(ps, what);
}

static pl_status number(parser *ps, int32_t *out) {
  skip_ws(ps);
  if (!isdigit((unsigned char)*ps->p)) return fail(ps, "a number");
  char *end;
  long v = strtol(ps->p, &end, 10);
  if (v > INT32_MAX) return fail(ps, "a smaller number");
  ps->p = end;
  *out = (int32_t)v;
  return PL_OK;
}

static pl_status unit(parser *ps, pl_time_unit *u) {
  static const char *const names[] = {"s", "ms", "us", "ns"};
  skip_ws(ps);
  size_t n = 0;
  while (isalpha((unsigned char)ps->p[n])) n++;
  for (int i = 0; i < 4; i++)
    if (n == strlen(names[i]) && !strncmp(ps->p, names[i], n)) {
      *u = (pl_time_unit)i;
      ps->p += n;
      return PL_OK;
    }
  return fail(ps, "a time unit (s, ms, us, ns)");
}

static const struct {
  const char *name;
  pl_type_id id;
} simple[] = {
    {"bool", PL_BOOL},       {"boolean", PL_BOOL},     {"int8", PL_INT8},       {"int16", PL_INT16},
    {"int32", PL_INT32},     {"int64", PL_INT64},      {"uint8", PL_UINT8},     {"uint16", PL_UINT16},
    {"uint32", PL_UINT32},   {"uint64", PL_UINT64},    {"float16", PL_FLOAT16}, {"float32", PL_FLOAT32},
    {"float", PL_FLOAT32},   {"float64", PL_FLOAT64},  {"double", PL_FLOAT64},  {"string", PL_STRING},
    {"utf8", PL_STRING},     {"binary", PL_BINARY},    {"date", PL_DATE32},     {"date32", PL_DATE32},
};

static pl_status parse_type(parser *ps, pl_type *out, int depth);

static pl_status parse_list_or_map(parser *ps, bool map, pl_type *out, int depth) {
  pl_type a, b;
  pl_status st = expect(ps, '<');
  if (st || (st = parse_type(ps, &a, depth + 1))) return st;
  if (!map) {
    if ((st = expect(ps, '>'))) {
      pl_type_release(&a);
      return st;
    }
    *out = pl_type_list(pl_field_make("item", a, true));
    return PL_OK;
  }
  if ((st = expect(ps, ','))) {
    pl_type_release(&a);
    return st;
  }
  if ((st = parse_type(ps, &b, depth + 1))) {
    pl_type_release(&a);
    return st;
  }
  if ((st = expect(ps, '>'))) {
    pl_type_release(&a);
    pl_type_release(&b);
    return st;
  }
  *out = pl_type_map(pl_field_make("key", a, false), pl_field_make("value", b, true));
  return PL_OK;
}

static pl_status parse_struct(parser *ps, pl_type *out, int depth) {
  pl_status st = expect(ps, '<');
  if (st) return st;
  *out = pl_type_struct(0, NULL);
  if (eat(ps, '>')) return PL_OK;
  do {
    skip_ws(ps);
    const char *start = ps->p;
    while (*ps->p && !strchr(":,<>", *ps->p)) ps->p++;
    const char *end = ps->p;
    while (end > start && isspace((unsigned char)end[-1])) end--;
    if (end == start) return pl_type_release(out), fail(ps, "a field name");
    if ((st = expect(ps, ':'))) return pl_type_release(out), st;
    pl_type t;
    if ((st = parse_type(ps, &t, depth + 1))) return pl_type_release(out), st;
    char *name = pl_strndup(start, (size_t)(end - start));
    out->children = pl_realloc(out->children, sizeof *out->children * (size_t)(out->n_children + 1));
    out->children[out->n_children++] = pl_field_make(name, t, true);
    pl_free(name);
  } while (eat(ps, ','));
  if ((st = expect(ps, '>'))) pl_type_release(out);
  return st;
}

static pl_status parse_type(parser *ps, pl_type *out, int depth) {
  if (depth > 64) return fail(ps, "less nesting");
  skip_ws(ps);
  const char *start = ps->p;
  while (isalnum((unsigned char)*ps->p) || *ps->p == '_') ps->p++;
  size_t n = (size_t)(ps->p - start);
  char word[32];
  if (n == 0 || n >= sizeof word) {
    ps->p = start;
    return fail(ps, "a type name");
  }
  memcpy(word, start, n);
  word[n] = 0;
  for (size_t i = 0; i < n; i++) word[i] = (char)tolower((unsigned char)word[i]);
  pl_status st;
  int32_t a, b;
  pl_time_unit u = PL_MICRO;

  if (!strcmp(word, "list")) return parse_list_or_map(ps, false, out, depth);
  if (!strcmp(word, "map")) return parse_list_or_map(ps, true, out, depth);
  if (!strcmp(word, "struct")) return parse_struct(ps, out, depth);
  if (!strcmp(word, "decimal") || !strcmp(word, "decimal128")) {
    if ((st = expect(ps, '(')) || (st = number(ps, &a)) || (st = expect(ps, ',')) || (st = number(ps, &b)) ||
        (st = expect(ps, ')')))
      return st;
    if (a < 1 || a > 38 || b > a)
      return pl_error_set(ps->err, PL_EINVAL, "type \"%s\": decimal(%d,%d) needs precision 1..38 and scale <= precision",
                          ps->text, (int)a, (int)b);
    *out = pl_type_decimal(a, b);
    return PL_OK;
  }
  if (!strcmp(word, "fixed_binary") || !strcmp(word, "fixed_size_binary")) {
    if ((st = expect(ps, '(')) || (st = number(ps, &a)) || (st = expect(ps, ')'))) return st;
    if (a < 1) return pl_error_set(ps->err, PL_EINVAL, "type \"%s\": fixed binary width must be >= 1", ps->text);
    *out = pl_type_fixed_binary(a);
    return PL_OK;
  }
  if (!strcmp(word, "time") || !strcmp(word, "timestamp") || !strcmp(word, "timestamptz")) {
    char *tz = NULL;
    if (eat(ps, '[')) {
      if ((st = unit(ps, &u))) return st;
      if (word[4] == 's' && eat(ps, ',')) {
        skip_ws(ps);
        const char *z = ps->p;
        while (*ps->p && *ps->p != ']') ps->p++;
        const char *ze = ps->p;
        while (ze > z && isspace((unsigned char)ze[-1])) ze--;
        if (ze == z) return fail(ps, "a time zone");
        if (!strcmp(word, "timestamptz")) return fail(ps, "']' (timestamptz is UTC)");
        tz = pl_strndup(z, (size_t)(ze - z));
      }
      if ((st = expect(ps, ']'))) {
        pl_free(tz);
        return st;
      }
    }
    if (!strcmp(word, "time")) *out = pl_type_time(u);
    else *out = pl_type_timestamp(u, tz ? tz : !strcmp(word, "timestamptz") ? "UTC" : NULL);
    pl_free(tz);
    return PL_OK;
  }
  for (size_t i = 0; i < sizeof simple / sizeof simple[0]; i++)
    if (!strcmp(word, simple[i].name)) {
      *out = pl_type_make(simple[i].id);
      return PL_OK;
    }
  ps->p = start;
  return fail(ps, "a known type name");
}

pl_status pl_type_parse(const char *text, pl_type *out, pl_error *err) {
  parser ps = {text, text, err};
  *out = pl_type_make(PL_BOOL);
  pl_type t;
  pl_status st = parse_type(&ps, &t, 0);
  if (st) return st;
  skip_ws(&ps);
  if (*ps.p) {
    pl_type_release(&t);
    return fail(&ps, "the end");
  }
  *out = t;
  return PL_OK;
}

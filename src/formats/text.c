/* formats/text.c — strict parsing of scalar text (bools, integers, floats, dates, ISO 8601
 * timestamps), UTF-8 validation, and the inference lattice shared by CSV and JSON Lines.
 * Every parser takes (pointer, length) and never reads past the length. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "formats/internal.h"

bool pl__utf8_valid(const uint8_t *p, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (p[i] < 0x80) {
      i++;
      continue;
    }
    bool ok;
    i += pl_utf8_next(p + i, n - i, &ok);
    if (!ok) return false;
  }
  return true;
}

static bool eq_nocase(const char *p, size_t n, const char *w) {
  return strlen(w) == n && strncasecmp(p, w, n) == 0;
}

bool pl__parse_bool(const char *p, size_t n, bool *out) {
  if (eq_nocase(p, n, "true")) return *out = true, true;
  if (eq_nocase(p, n, "false")) return *out = false, true;
  return false;
}

bool pl__parse_uint(const char *p, size_t n, uint64_t *out) {
  size_t i = 0;
  if (i < n && p[i] == '+') i++;
  if (i == n) return false;
  uint64_t v = 0;
  for (; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return false;
    if (__builtin_mul_overflow(v, 10u, &v) || __builtin_add_overflow(v, (uint64_t)(p[i] - '0'), &v))
      return false;
  }
  *out = v;
  return true;
}

bool pl__parse_int(const char *p, size_t n, int64_t *out) {
  bool neg = n > 0 && p[0] == '-';
  if (neg && n > 1 && p[1] == '+') return false;
  uint64_t u;
  if (!pl__parse_uint(p + neg, n - neg, &u)) return false;
  if (neg) {
    if (u > (uint64_t)INT64_MAX + 1) return false;
    *out = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
  } else {
    if (u > (uint64_t)INT64_MAX) return false;
    *out = (int64_t)u;
  }
  return true;
}

bool pl__parse_float(const char *p, size_t n, double *out) {
  size_t i = 0;
  bool neg = false;
  if (i < n && (p[i] == '+' || p[i] == '-')) neg = p[i++] == '-';
  const char *w = p + i;
  size_t wn = n - i;
  if (eq_nocase(w, wn, "inf") || eq_nocase(w, wn, "infinity")) return *out = neg ? -INFINITY : INFINITY, true;
  if (eq_nocase(w, wn, "nan")) return *out = NAN, true;
  /* [digits][.digits][(e|E)[sign]digits], at least one mantissa digit */
  size_t digits = 0, j = i;
  while (j < n && p[j] >= '0' && p[j] <= '9') j++, digits++;
  if (j < n && p[j] == '.') {
    j++;
    while (j < n && p[j] >= '0' && p[j] <= '9') j++, digits++;
  }
  if (!digits) return false;
  if (j < n && (p[j] == 'e' || p[j] == 'E')) {
    j++;
    if (j < n && (p[j] == '+' || p[j] == '-')) j++;
    size_t e = 0;
    while (j < n && p[j] >= '0' && p[j] <= '9') j++, e++;
    if (!e) return false;
  }
  if (j != n) return false;
  char stack[64];
  char *tmp = n < sizeof stack ? stack : pl_malloc(n + 1);
  memcpy(tmp, p, n);
  tmp[n] = 0;
  *out = strtod(tmp, NULL);
  if (tmp != stack) pl_free(tmp);
  return true;
}

static bool digits_at(const char *p, size_t n, size_t at, size_t k, unsigned *out) {
  if (at > n || k > n - at) return false;
  unsigned v = 0;
  for (size_t i = 0; i < k; i++) {
    if (p[at + i] < '0' || p[at + i] > '9') return false;
    v = v * 10 + (unsigned)(p[at + i] - '0');
  }
  *out = v;
  return true;
}

static bool leap(unsigned y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* YYYY-MM-DD at p[0..10); n must be >= 10. */
static bool ymd(const char *p, size_t n, int64_t *days) {
  unsigned y, m, d;
  if (!digits_at(p, n, 0, 4, &y) || p[4] != '-' || !digits_at(p, n, 5, 2, &m) || p[7] != '-' ||
      !digits_at(p, n, 8, 2, &d))
    return false;
  static const unsigned mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  if (d > mdays[m - 1] + (m == 2 && leap(y))) return false;
  *days = pl_days_from_civil(y, m, d);
  return true;
}

bool pl__parse_date(const char *p, size_t n, int32_t *days) {
  int64_t d;
  if (n != 10 || !ymd(p, n, &d)) return false;
  *days = (int32_t)d;
  return true;
}

bool pl__parse_timestamp(const char *p, size_t n, pl_time_unit unit, int64_t *out, bool *has_tz) {
  int64_t days;
  unsigned hh, mm, ss = 0;
  if (n == 10 && ymd(p, n, &days)) { /* a bare date is its midnight (date widens to timestamp) */
    static const int64_t per_day[] = {86400, 86400000, 86400000000, 86400000000000};
    if (has_tz) *has_tz = false;
    return !__builtin_mul_overflow(days, per_day[unit & 3], out);
  }
  if (n < 16 || !ymd(p, n, &days) || (p[10] != 'T' && p[10] != ' ')) return false;
  if (!digits_at(p, n, 11, 2, &hh) || p[13] != ':' || !digits_at(p, n, 14, 2, &mm)) return false;
  size_t i = 16;
  if (i < n && p[i] == ':') {
    if (!digits_at(p, n, 17, 2, &ss)) return false;
    i = 19;
  }
  if (hh > 23 || mm > 59 || ss > 60) return false; /* 60: a leap second, folded below */
  int64_t nanos = 0;
  if (i < n && p[i] == '.') {
    i++;
    size_t k = 0;
    int64_t scale = 100000000;
    while (i < n && p[i] >= '0' && p[i] <= '9') {
      if (k < 9) nanos += (p[i] - '0') * scale, scale /= 10;
      i++, k++;
    }
    if (!k) return false;
  }
  int64_t offset = 0;
  bool tz = false;
  if (i < n) {
    if (p[i] == 'Z' || p[i] == 'z') {
      tz = true;
      i++;
    } else if (p[i] == '+' || p[i] == '-') {
      unsigned oh, om;
      int sign = p[i] == '-' ? -1 : 1;
      if (!digits_at(p, n, i + 1, 2, &oh)) return false;
      if (i + 3 < n && p[i + 3] == ':') {
        if (!digits_at(p, n, i + 4, 2, &om)) return false;
        i += 6;
      } else if (digits_at(p, n, i + 3, 2, &om)) {
        i += 5;
      } else {
        om = 0;
        i += 3;
      }
      if (oh > 23 || om > 59) return false;
      offset = sign * (int64_t)(oh * 3600 + om * 60);
      tz = true;
    }
  }
  if (i != n) return false;
  int64_t secs = days * 86400 + hh * 3600 + mm * 60 + ss - offset;
  /* keep years 0000..9999 after the offset, so that every value read can be written back */
  if (secs < -62167219200LL || secs >= 253402300800LL) return false;
  static const int64_t per_sec[] = {1, 1000, 1000000, 1000000000};
  static const int64_t div[] = {1000000000, 1000000, 1000, 1};
  int64_t v;
  if (__builtin_mul_overflow(secs, per_sec[unit & 3], &v) ||
      __builtin_add_overflow(v, nanos / div[unit & 3], &v))
    return false;
  *out = v;
  if (has_tz) *has_tz = tz;
  return true;
}

pl__inf_kind pl__infer_text(const char *p, size_t n, bool *has_tz) {
  bool b;
  int64_t i;
  double f;
  int32_t d;
  if (pl__parse_bool(p, n, &b)) return PL__INF_BOOL;
  if (pl__parse_int(p, n, &i)) return PL__INF_INT;
  /* inf/nan words stay strings in inference: "nan" in a text column is more likely a word */
  if (n && ((p[0] >= '0' && p[0] <= '9') || p[0] == '.' || p[0] == '-' || p[0] == '+') &&
      pl__parse_float(p, n, &f) && isfinite(f))
    return PL__INF_FLOAT;
  if (pl__parse_date(p, n, &d)) return PL__INF_DATE;
  if (pl__parse_timestamp(p, n, PL_MICRO, &i, has_tz)) return PL__INF_TS;
  return PL__INF_STRING;
}

pl__inf_kind pl__infer_merge(pl__inf_kind a, pl__inf_kind b) {
  if (a == PL__INF_NONE) return b;
  if (b == PL__INF_NONE || a == b) return a;
  if ((a == PL__INF_INT && b == PL__INF_FLOAT) || (a == PL__INF_FLOAT && b == PL__INF_INT))
    return PL__INF_FLOAT;
  if ((a == PL__INF_DATE && b == PL__INF_TS) || (a == PL__INF_TS && b == PL__INF_DATE))
    return PL__INF_TS;
  return PL__INF_STRING;
}

pl_type pl__infer_type(pl__inf_kind k, bool tz) {
  switch (k) {
  case PL__INF_BOOL: return pl_type_make(PL_BOOL);
  case PL__INF_INT: return pl_type_make(PL_INT64);
  case PL__INF_FLOAT: return pl_type_make(PL_FLOAT64);
  case PL__INF_DATE: return pl_type_make(PL_DATE32);
  case PL__INF_TS: return pl_type_timestamp(PL_MICRO, tz ? "UTC" : NULL);
  default: return pl_type_make(PL_STRING);
  }
}

bool pl__text_type_ok(const pl_type *t) {
  switch (t->id) {
  case PL_BOOL: case PL_INT8: case PL_INT16: case PL_INT32: case PL_INT64: case PL_UINT8:
  case PL_UINT16: case PL_UINT32: case PL_UINT64: case PL_FLOAT32: case PL_FLOAT64:
  case PL_STRING: case PL_BINARY: case PL_DATE32: case PL_TIMESTAMP:
    return true;
  default: return false;
  }
}

const char *pl__type_article(const pl_type *t, char *buf, size_t cap) {
  char name[128];
  pl_type_canonical(t, name, sizeof name);
  if (t->id == PL_DATE32) snprintf(name, sizeof name, "date (YYYY-MM-DD)");
  if (t->id == PL_TIMESTAMP) snprintf(name, sizeof name, "ISO 8601 timestamp");
  bool vowel = strchr("aeiouAEIOU", name[0]) != NULL;
  snprintf(buf, cap, "%s %s", vowel ? "an" : "a", name);
  return buf;
}

bool pl__convert_text(const pl_type *t, const char *p, size_t n, pl__cell *v) {
  static const int64_t imin[] = {INT8_MIN, INT16_MIN, INT32_MIN, INT64_MIN};
  static const int64_t imax[] = {INT8_MAX, INT16_MAX, INT32_MAX, INT64_MAX};
  static const uint64_t umax[] = {UINT8_MAX, UINT16_MAX, UINT32_MAX, UINT64_MAX};
  v->null = false;
  switch (t->id) {
  case PL_BOOL: {
    bool b;
    if (!pl__parse_bool(p, n, &b)) {
      if (n == 1 && (p[0] == '0' || p[0] == '1')) b = p[0] == '1';
      else return false;
    }
    v->i = b;
    return true;
  }
  case PL_INT8: case PL_INT16: case PL_INT32: case PL_INT64: {
    int k = t->id - PL_INT8;
    return pl__parse_int(p, n, &v->i) && v->i >= imin[k] && v->i <= imax[k];
  }
  case PL_UINT8: case PL_UINT16: case PL_UINT32: case PL_UINT64: {
    uint64_t u;
    if (!pl__parse_uint(p, n, &u) || u > umax[t->id - PL_UINT8]) return false;
    memcpy(&v->i, &u, 8);
    return true;
  }
  case PL_FLOAT32: case PL_FLOAT64: return pl__parse_float(p, n, &v->f);
  case PL_STRING:
    if (!pl__utf8_valid((const uint8_t *)p, n)) return false;
    /* fallthrough */
  case PL_BINARY:
    v->s = p;
    v->n = n;
    return true;
  case PL_DATE32: {
    int32_t d;
    if (!pl__parse_date(p, n, &d)) return false;
    v->i = d;
    return true;
  }
  case PL_TIMESTAMP: return pl__parse_timestamp(p, n, t->unit, &v->i, NULL);
  default: return false;
  }
}

pl_status pl__append_cell(pl_column *c, const pl__cell *v, pl_error *err) {
  if (v->null) return pl_column_append_null(c, err);
  switch (c->type.id) {
  case PL_BOOL: return pl_column_append_bool(c, v->i != 0, err);
  case PL_FLOAT32: case PL_FLOAT64: return pl_column_append_float(c, v->f, err);
  case PL_STRING: case PL_BINARY: return pl_column_append_bytes(c, v->s, v->n, err);
  default: return pl_column_append_int(c, v->i, err);
  }
}

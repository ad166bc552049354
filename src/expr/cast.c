/* cast.c — the cast kernel: every conversion between the vector kinds, text parsing and
 * formatting, dates and timestamps. An explicit cast never fails at run time: a value the
 * target cannot hold (unparseable text, out of range, NaN to an integer) becomes null. The
 * one implicit cast that can fail, uint64 to int64 (uint64 mixed with a signed type), is an
 * overflow error like the arithmetic ones. */
#include "expr/internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const int64_t unit_per_sec[] = {1, 1000, 1000000, 1000000000};

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static bool is_space(uint8_t ch) { return ch == ' ' || (ch >= '\t' && ch <= '\r'); }

static void trim(const uint8_t **p, size_t *n) {
  while (*n && is_space(**p)) (*p)++, (*n)--;
  while (*n && is_space((*p)[*n - 1])) (*n)--;
}

/* ------------------------------------------------------------------ parsing text */
static bool parse_i64(const uint8_t *p, size_t n, int64_t *out) {
  trim(&p, &n);
  bool neg = false;
  if (n && (*p == '+' || *p == '-')) neg = *p == '-', p++, n--;
  if (!n) return false;
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return false;
    /* accumulate negatively so INT64_MIN parses */
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_sub_overflow(v, p[i] - '0', &v)) return false;
  }
  if (!neg && v == INT64_MIN) return false;
  *out = neg ? v : -v;
  return true;
}

static bool parse_u64(const uint8_t *p, size_t n, uint64_t *out) {
  trim(&p, &n);
  if (n && *p == '+') p++, n--;
  if (!n) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return false;
    if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t)(p[i] - '0'), &v)) return false;
  }
  *out = v;
  return true;
}

static bool parse_f64(const uint8_t *p, size_t n, double *out) {
  trim(&p, &n);
  char buf[128];
  if (!n || n >= sizeof buf) return false;
  memcpy(buf, p, n);
  buf[n] = 0;
  char *end;
  errno = 0;
  *out = strtod(buf, &end);
  if (errno == ERANGE && isinf(*out)) return false; /* '1e400' does not fit a float64 */
  return end == buf + n;
}

static bool parse_bool(const uint8_t *p, size_t n, uint8_t *out) {
  static const char *const yes[] = {"true", "t", "yes", "y", "1"}, *const no[] = {"false", "f", "no", "n", "0"};
  trim(&p, &n);
  for (int i = 0; i < 5; i++) {
    if (n == strlen(yes[i]) && !strncasecmp((const char *)p, yes[i], n)) return *out = 1, true;
    if (n == strlen(no[i]) && !strncasecmp((const char *)p, no[i], n)) return *out = 0, true;
  }
  return false;
}

static bool digits(const uint8_t *p, size_t n, int64_t *out) {
  int64_t v = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return false;
    v = v * 10 + (p[i] - '0');
  }
  *out = n ? v : -1;
  return n > 0;
}

static bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

/* YYYY-MM-DD at p (exactly 10 bytes) into days since the epoch. */
static bool parse_ymd(const uint8_t *p, size_t n, int64_t *days) {
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int64_t y, m, d;
  if (n != 10 || p[4] != '-' || p[7] != '-' || !digits(p, 4, &y) || !digits(p + 5, 2, &m) || !digits(p + 8, 2, &d))
    return false;
  if (m < 1 || m > 12 || d < 1 || d > mdays[m - 1] + (m == 2 && leap(y))) return false;
  *days = pl_days_from_civil(y, (unsigned)m, (unsigned)d);
  return true;
}

static bool parse_date(const uint8_t *p, size_t n, int64_t *out) {
  trim(&p, &n);
  return parse_ymd(p, n, out);
}

/* YYYY-MM-DD[( |T)HH:MM[:SS[.fraction]]][Z] into `unit`s since the epoch (UTC). */
static bool parse_timestamp(const uint8_t *p, size_t n, pl_time_unit unit, int64_t *out) {
  trim(&p, &n);
  int64_t days, h = 0, mi = 0, s = 0, frac = 0;
  if (n < 10 || !parse_ymd(p, 10, &days)) return false;
  size_t i = 10;
  if (n && p[n - 1] == 'Z') n--;
  if (i < n) {
    if ((p[i] != ' ' && p[i] != 'T') || n - i < 6 || p[i + 3] != ':') return false;
    if (!digits(p + i + 1, 2, &h) || !digits(p + i + 4, 2, &mi)) return false;
    i += 6;
    if (i < n) {
      if (p[i] != ':' || n - i < 3 || !digits(p + i + 1, 2, &s)) return false;
      i += 3;
    }
    if (i < n) {
      if (p[i] != '.' || n - i < 2 || n - i > 10) return false;
      size_t fd = n - i - 1;
      if (!digits(p + i + 1, fd, &frac)) return false;
      for (size_t k = fd; k < 9; k++) frac *= 10; /* nanoseconds */
      i = n;
    }
    if (h > 23 || mi > 59 || s > 60) return false;
  }
  int64_t secs = days * 86400 + h * 3600 + mi * 60 + s, v;
  if (__builtin_mul_overflow(secs, unit_per_sec[unit], &v)) return false;
  if (__builtin_add_overflow(v, frac / (1000000000 / unit_per_sec[unit]), &v)) return false;
  *out = v;
  return true;
}

/* ------------------------------------------------------------------ formatting text */
static size_t fmt_date(char *buf, size_t cap, int64_t days) {
  int64_t y;
  unsigned m, d;
  pl_civil_from_days(days, &y, &m, &d);
  return (size_t)snprintf(buf, cap, "%04lld-%02u-%02u", (long long)y, m, d);
}

static size_t fmt_timestamp(char *buf, size_t cap, int64_t v, pl_time_unit unit) {
  int64_t per = unit_per_sec[unit], secs = floor_div(v, per), sub = v - secs * per;
  int64_t days = floor_div(secs, 86400), rem = secs - days * 86400;
  size_t len = fmt_date(buf, cap, days);
  len += (size_t)snprintf(buf + len, cap - len, " %02d:%02d:%02d", (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
  static const int width[] = {0, 3, 6, 9};
  if (sub) len += (size_t)snprintf(buf + len, cap - len, ".%0*lld", width[unit], (long long)sub);
  return len;
}

/* Shortest text that reads back as the same float32. */
static void fmt_float32(double v, char buf[32]) {
  float f = (float)v;
  if (!isfinite(f)) {
    pl_format_js_double(f, buf);
    return;
  }
  for (int prec = 1; prec <= 9; prec++) {
    snprintf(buf, 32, "%.*g", prec, (double)f);
    if ((float)strtod(buf, NULL) == f) return;
  }
}

static pl__vec *to_string(pl__ctx *c, const pl__node *n, pl__vec *a, int64_t rows) {
  pl__strb sb;
  if (pl__strb_init(c, &sb, n->cast_type.id, rows)) return NULL;
  pl__vec *v = sb.v;
  const pl_type *from = &n->args[0]->type;
  char buf[64];
  int64_t m = pl__m(a);
  for (int64_t i = 0; i < rows; i++) {
    size_t len = 0;
    const void *p = buf;
    if (pl__valid(a, i)) switch (a->kind) {
      case V_BOOL: len = (size_t)snprintf(buf, sizeof buf, "%s", ((uint8_t *)a->data)[i & m] ? "true" : "false"); break;
      case V_I64: {
        int64_t x = ((int64_t *)a->data)[i & m];
        if (a->tid == PL_DATE32) len = fmt_date(buf, sizeof buf, x);
        else if (a->tid == PL_TIMESTAMP) len = fmt_timestamp(buf, sizeof buf, x, from->unit);
        else len = (size_t)snprintf(buf, sizeof buf, "%lld", (long long)x);
        break;
      }
      case V_U64: len = (size_t)snprintf(buf, sizeof buf, "%llu", (unsigned long long)((uint64_t *)a->data)[i & m]); break;
      case V_F64:
        if (a->tid == PL_FLOAT32) fmt_float32(((double *)a->data)[i & m], buf);
        else pl_format_js_double(((double *)a->data)[i & m], buf);
        len = strlen(buf);
        break;
      case V_STR: p = pl__sptr(a, i), len = pl__slen(a, i); break;
      case V_OPAQUE: break;
      }
    if (pl__strb_push(c, &sb, i, p, len)) {
      pl__strb_abort(c, &sb);
      return NULL;
    }
  }
  v = pl__strb_finish(c, &sb);
  v->cnst = a->cnst;
  if (a->valid) {
    if (!pl__valid_make(c, v)) {
      pl__vec_free(c, v);
      return NULL;
    }
    for (int64_t i = 0; i < rows; i++) v->valid[i] = a->valid[i & m];
  }
  return v;
}

/* ------------------------------------------------------------------ the kernel */
static bool temporal_convert(const pl_type *from, const pl_type *to, int64_t x, int64_t *out) {
  if (from->id == PL_DATE32 && to->id == PL_TIMESTAMP)
    return !__builtin_mul_overflow(x, 86400 * unit_per_sec[to->unit], out);
  if (from->id == PL_TIMESTAMP && to->id == PL_DATE32) {
    *out = floor_div(x, 86400 * unit_per_sec[from->unit]);
    return true;
  }
  if (from->id == PL_TIMESTAMP && to->id == PL_TIMESTAMP) {
    int64_t f = unit_per_sec[from->unit], t = unit_per_sec[to->unit];
    if (t >= f) return !__builtin_mul_overflow(x, t / f, out);
    *out = floor_div(x, f / t);
    return true;
  }
  *out = x;
  return true;
}

pl__vec *pl__k_cast(pl__ctx *c, const pl__node *n, pl__vec *a, const uint8_t *active) {
  const pl_type *to = &n->cast_type, *from = &n->args[0]->type;
  pl_type_id tt = to->id;
  pl__vkind tk = pl__kind_of(tt);
  int64_t rows = pl__rows(c, &a, 1), m = pl__m(a);
  if (tk == V_STR) return to_string(c, n, a, rows);
  pl__vec *v = pl__vec_array(c, tk, tt, rows);
  if (!v) return NULL;
  v->cnst = a->cnst;
  uint8_t *ok = pl__valid_make(c, v);
  if (!ok) goto fail;
  int64_t lo, hi;
  pl__int_range(tt, &lo, &hi);
  const bool temporal = from->id == PL_DATE32 || from->id == PL_TIMESTAMP || tt == PL_DATE32 || tt == PL_TIMESTAMP;
  if (a->kind == V_I64 && tk == V_I64 && !temporal) {
    /* integer to integer (length(caption)::int32): a range check, in one tight loop */
    const int64_t *d = a->data;
    int64_t *o = v->data;
    for (int64_t i = 0; i < rows; i++) {
      int64_t x = d[i & m];
      uint8_t good = pl__valid(a, i) && x >= lo && x <= hi;
      o[i] = good ? x : 0;
      ok[i] = good;
    }
    return v;
  }
  for (int64_t i = 0; i < rows; i++) {
    if (!pl__valid(a, i)) {
      ok[i] = 0;
      continue;
    }
    uint8_t good = 1;
    int64_t iv = 0;
    uint64_t uv = 0;
    double fv = 0;
    bool is_u = false, is_f = false, is_b = false;
    uint8_t bv = 0;
    switch (a->kind) {
    case V_BOOL: iv = ((uint8_t *)a->data)[i & m]; break;
    case V_I64: good = temporal_convert(from, to, ((int64_t *)a->data)[i & m], &iv); break;
    case V_U64: uv = ((uint64_t *)a->data)[i & m], is_u = true; break;
    case V_F64: fv = ((double *)a->data)[i & m], is_f = true; break;
    case V_STR: {
      const uint8_t *p = pl__sptr(a, i);
      size_t len = pl__slen(a, i);
      switch (tk) {
      case V_BOOL: good = parse_bool(p, len, &bv), is_b = true; break;
      case V_U64: good = parse_u64(p, len, &uv), is_u = true; break;
      case V_F64: good = parse_f64(p, len, &fv), is_f = true; break;
      default:
        if (tt == PL_DATE32) good = parse_date(p, len, &iv);
        else if (tt == PL_TIMESTAMP) good = parse_timestamp(p, len, to->unit, &iv);
        else good = parse_i64(p, len, &iv);
      }
      break;
    }
    case V_OPAQUE: good = 0; break;
    }
    if (!good) {
      ok[i] = 0;
      continue;
    }
    /* Now one of iv / uv / fv / bv holds the value; convert it to the target kind. */
    switch (tk) {
    case V_BOOL:
      if (is_b) ((uint8_t *)v->data)[i] = bv;
      else if (is_f) good = !isnan(fv), ((uint8_t *)v->data)[i] = fv != 0;
      else ((uint8_t *)v->data)[i] = is_u ? uv != 0 : iv != 0;
      break;
    case V_F64: {
      double d = is_f ? fv : is_u ? (double)uv : (double)iv;
      ((double *)v->data)[i] = tt == PL_FLOAT32 ? pl__f32(d) : d;
      break;
    }
    case V_U64:
      if (is_f) {
        double r = round(fv);
        good = r >= 0 && r < 18446744073709551616.0;
        uv = good ? (uint64_t)r : 0;
      } else if (!is_u) {
        good = iv >= 0;
        uv = (uint64_t)iv;
      }
      ((uint64_t *)v->data)[i] = uv;
      break;
    case V_I64:
      if (is_f) {
        double r = round(fv);
        good = r >= -9223372036854775808.0 && r < 9223372036854775808.0;
        iv = good ? (int64_t)r : 0;
      } else if (is_u) {
        if (uv > (uint64_t)INT64_MAX && n->is_implicit && (!active || active[i])) {
          pl__error_at(c->err, PL_EINVAL, c->e ? c->e->text : "", n->pos,
                       "uint64 value %llu at row %lld does not fit int64, the type it meets here (cast the other "
                       "side to uint64, or both to float64)",
                       (unsigned long long)uv, (long long)(c->row0 + i));
          goto fail;
        }
        good = uv <= (uint64_t)INT64_MAX;
        iv = (int64_t)uv;
      }
      if (good && (iv < lo || iv > hi)) good = 0;
      ((int64_t *)v->data)[i] = good ? iv : 0;
      break;
    default: good = 0;
    }
    ok[i] = good;
  }
  return v;
fail:
  pl__vec_free(c, v);
  return NULL;
}

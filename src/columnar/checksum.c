/* checksum.c — the canonical checksum of pqcheck (../shared/tools/pqcheck.d/pqcheck.mjs).
 *
 * Every value of a column is rendered as text, followed by "\n", and the concatenation is hashed
 * with SHA-256; the first 16 hex digits are the column checksum. The rendering must match the
 * reference byte for byte, because a checksum only means something if praline and the three
 * outside readers of pqcheck compute the same one:
 *   NULL \N | bool true/false | integers in decimal | floats as JavaScript's Number#toString of
 *   the (float32-widened) double, plus NaN, inf, -inf, -0 | strings as JSON.stringify of the
 *   UTF-8-decoded text | binary x<hex> | date d<days> | timestamp t<nanoseconds> | decimal
 *   exact with `scale` digits | list [a,b] | struct {"name":v,...} | map {k:v,...}.
 *
 * Rendering goes through a small sink that either feeds the hash in 64 KiB chunks or fills a
 * caller's buffer (pl_canonical_value), so a value of any size streams into the hash without
 * being copied whole into a temporary string.
 */
#include "praline/columnar.h"

#include <math.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ sink */
#define SINK_BUF 65536

typedef struct sink {
  struct sha256_ctx *sha; /* hash mode when set */
  uint8_t *buf;           /* hash mode: staging buffer of SINK_BUF bytes */
  size_t len;
  char *out; /* buffer mode: caller's buffer */
  size_t cap;
  size_t total; /* bytes produced so far (buffer mode: may exceed cap) */
} sink;

static void sink_flush(sink *s) {
  if (s->sha && s->len) {
    sha256_update(s->sha, s->len, s->buf);
    s->len = 0;
  }
}

static void sink_put(sink *s, const void *p, size_t n) {
  if (!n) return; /* p may be NULL for an empty value (an all-empty values buffer) */
  if (s->sha) {
    if (s->len + n > SINK_BUF) {
      sink_flush(s);
      if (n >= SINK_BUF) {
        sha256_update(s->sha, n, p);
        s->total += n;
        return;
      }
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
  } else if (s->total < s->cap) {
    size_t room = s->cap - s->total;
    memcpy(s->out + s->total, p, n < room ? n : room);
  }
  s->total += n;
}

static inline void sink_byte(sink *s, char c) {
  if (s->sha && s->len < SINK_BUF) {
    s->buf[s->len++] = (uint8_t)c;
    s->total++;
    return;
  }
  sink_put(s, &c, 1);
}

static void sink_str(sink *s, const char *str) { sink_put(s, str, strlen(str)); }

/* ------------------------------------------------------------------ numbers */
/* Decimal digits of v into the end of buf; returns the start. */
static char *u64_digits(uint64_t v, char *end) {
  do {
    *--end = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  return end;
}

static void put_u64(sink *s, uint64_t v) {
  char b[24];
  char *p = u64_digits(v, b + sizeof b);
  sink_put(s, p, (size_t)(b + sizeof b - p));
}

static void put_i64(sink *s, int64_t v) {
  if (v < 0) {
    sink_byte(s, '-');
    put_u64(s, (uint64_t)0 - (uint64_t)v);
  } else {
    put_u64(s, (uint64_t)v);
  }
}

/* Signed 128-bit integer in decimal. */
static void put_i128(sink *s, __int128 v) {
  char b[48];
  char *end = b + sizeof b, *p = end;
  unsigned __int128 u = v < 0 ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v;
  do {
    *--p = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u);
  if (v < 0) *--p = '-';
  sink_put(s, p, (size_t)(end - p));
}

/* Shortest round-trip digits, as ECMAScript Number::toString asks: the fewest significant
 * digits k such that the decimal reads back as v, and among k-digit candidates the closest.
 * glibc's %.*e rounds exactly, so for each k the candidates are the correctly rounded k-digit
 * decimal and its neighbour on the other side of v (which matters at powers of two, where the
 * rounding interval is asymmetric). Round-tripping is monotone in k, so k is found by binary
 * search between 1 and 17 (17 always round-trips). */
typedef struct {
  char d[20]; /* digits, no point */
  int k;      /* number of digits */
  int e;      /* decimal exponent of the first digit: v = d[0].d[1..] x 10^e */
} js_digits;

/* Parses "%.*e" output "d.ddde+XX" into digits and exponent. */
static void parse_e(const char *t, js_digits *o) {
  int k = 0;
  for (; *t && *t != 'e'; t++)
    if (*t >= '0' && *t <= '9') o->d[k++] = *t;
  o->k = k;
  o->e = atoi(t + 1);
}

static double digits_value(const js_digits *x) {
  char t[40];
  int n = 0;
  t[n++] = x->d[0];
  t[n++] = '.';
  memcpy(t + n, x->d + 1, (size_t)(x->k - 1));
  n += x->k - 1;
  snprintf(t + n, sizeof t - (size_t)n, "e%d", x->e);
  return strtod(t, NULL);
}

/* Adds (+1) or subtracts (-1) one unit in the last digit, keeping k digits. */
static void digits_step(js_digits *x, int dir) {
  int i = x->k - 1;
  if (dir > 0) {
    while (i >= 0 && x->d[i] == '9') x->d[i--] = '0';
    if (i < 0) { /* 9.99 -> 10.0 = 1.00 x 10^(e+1) */
      x->d[0] = '1';
      x->e++;
    } else {
      x->d[i]++;
    }
  } else {
    bool pow10 = x->d[0] == '1';
    for (int j = 1; j < x->k && pow10; j++) pow10 = x->d[j] == '0';
    if (pow10) { /* 1.00 x 10^e -> 9.99 x 10^(e-1) */
      memset(x->d, '9', (size_t)x->k);
      x->e--;
      return;
    }
    while (x->d[i] == '0') x->d[i--] = '9';
    x->d[i]--;
  }
}

/* Tries k significant digits; on success fills *o. */
static bool try_digits(double v, int k, js_digits *o) {
  char t[40];
  snprintf(t, sizeof t, "%.*e", k - 1, v);
  parse_e(t, o);
  double r = strtod(t, NULL);
  if (r == v) return true;
  js_digits n = *o;
  digits_step(&n, r < v ? +1 : -1);
  if (digits_value(&n) == v) {
    *o = n;
    return true;
  }
  return false;
}

static void shortest_digits(double v, js_digits *out) {
  int lo = 1, hi = 17;
  js_digits best;
  bool have = false;
  /* Most doubles in real data are either short (0.5, 123.25) or need 16-17 digits (computed
   * values); probing 15 first splits those cases in one step. */
  int mid = 15;
  while (lo < hi) {
    js_digits cand;
    if (try_digits(v, mid, &cand)) {
      hi = mid;
      best = cand;
      have = true;
    } else {
      lo = mid + 1;
    }
    mid = lo + (hi - lo) / 2;
  }
  if (!have || best.k != lo) try_digits(v, lo, &best);
  /* A decimal with trailing zeros is the same number with fewer digits; never happens at the
   * minimal k, but strip defensively so the output stays canonical. */
  while (best.k > 1 && best.d[best.k - 1] == '0') best.k--;
  *out = best;
}

void pl_format_js_double(double v, char buf[32]) {
  if (isnan(v)) {
    strcpy(buf, "NaN");
    return;
  }
  if (isinf(v)) {
    strcpy(buf, v > 0 ? "inf" : "-inf");
    return;
  }
  if (v == 0) {
    strcpy(buf, signbit(v) ? "-0" : "0");
    return;
  }
  char *p = buf;
  if (v < 0) {
    *p++ = '-';
    v = -v;
  }
  js_digits x;
  shortest_digits(v, &x);
  int k = x.k, n = x.e + 1; /* ECMA-262 Number::toString: v = 0.d1..dk x 10^n */
  if (k <= n && n <= 21) {
    memcpy(p, x.d, (size_t)k);
    p += k;
    for (int i = k; i < n; i++) *p++ = '0';
  } else if (0 < n && n <= 21) {
    memcpy(p, x.d, (size_t)n);
    p += n;
    *p++ = '.';
    memcpy(p, x.d + n, (size_t)(k - n));
    p += k - n;
  } else if (-6 < n && n <= 0) {
    *p++ = '0';
    *p++ = '.';
    for (int i = 0; i < -n; i++) *p++ = '0';
    memcpy(p, x.d, (size_t)k);
    p += k;
  } else {
    *p++ = x.d[0];
    if (k > 1) {
      *p++ = '.';
      memcpy(p, x.d + 1, (size_t)(k - 1));
      p += k - 1;
    }
    int e = n - 1;
    *p++ = 'e';
    *p++ = e < 0 ? '-' : '+';
    char eb[8];
    char *q = u64_digits((uint64_t)(e < 0 ? -e : e), eb + sizeof eb);
    memcpy(p, q, (size_t)(eb + sizeof eb - q));
    p += eb + sizeof eb - q;
  }
  *p = 0;
}

static void put_double(sink *s, double v) {
  char b[32];
  pl_format_js_double(v, b);
  sink_str(s, b);
}

/* IEEE 754 binary16 to double (exact). */
static double half_to_double(uint16_t h) {
  int sign = h >> 15, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  double v;
  if (exp == 0) v = ldexp((double)man, -24);
  else if (exp == 31) v = man ? NAN : INFINITY;
  else v = ldexp((double)(man | 0x400), exp - 25);
  return sign ? -v : v;
}

/* ------------------------------------------------------------------ text */
static const char hexd[] = "0123456789abcdef";

/* JSON.stringify of the string that TextDecoder (WHATWG UTF-8, replacement mode) makes of the
 * bytes: each maximal ill-formed subsequence becomes U+FFFD; ", \ and control characters are
 * escaped; everything else passes through as UTF-8. Plain runs go to the sink unbroken. */
static void put_json_string(sink *s, const uint8_t *p, size_t n) {
  static const uint8_t fffd[3] = {0xEF, 0xBF, 0xBD};
  sink_byte(s, '"');
  size_t i = 0, run = 0; /* p[run..i) is pending plain output */
  while (i < n) {
    uint8_t b = p[i];
    if (b >= 0x20 && b < 0x80 && b != '"' && b != '\\') {
      i++;
      continue;
    }
    if (b >= 0x80) {
      bool ok;
      size_t len = pl_utf8_next(p + i, n - i, &ok);
      if (!ok) {
        /* ill-formed: flush the run, one U+FFFD for the maximal subpart */
        sink_put(s, p + run, i - run);
        sink_put(s, fffd, 3);
        run = i + len;
      }
      i += len;
      continue;
    }
    sink_put(s, p + run, i - run);
    char e[6];
    switch (b) {
    case '"': sink_put(s, "\\\"", 2); break;
    case '\\': sink_put(s, "\\\\", 2); break;
    case '\b': sink_put(s, "\\b", 2); break;
    case '\f': sink_put(s, "\\f", 2); break;
    case '\n': sink_put(s, "\\n", 2); break;
    case '\r': sink_put(s, "\\r", 2); break;
    case '\t': sink_put(s, "\\t", 2); break;
    default:
      memcpy(e, "\\u00", 4);
      e[4] = hexd[b >> 4];
      e[5] = hexd[b & 15];
      sink_put(s, e, 6);
    }
    i++;
    run = i;
  }
  sink_put(s, p + run, n - run);
  sink_byte(s, '"');
}

static void put_hex(sink *s, const uint8_t *p, size_t n) {
  char b[512];
  sink_byte(s, 'x');
  while (n) {
    size_t m = n < sizeof b / 2 ? n : sizeof b / 2;
    for (size_t i = 0; i < m; i++) {
      b[2 * i] = hexd[p[i] >> 4];
      b[2 * i + 1] = hexd[p[i] & 15];
    }
    sink_put(s, b, 2 * m);
    p += m;
    n -= m;
  }
}

/* Exact decimal text: the unscaled integer with a point `scale` digits from the right. */
static void put_decimal(sink *s, const uint8_t *le16, int scale) {
  unsigned __int128 u = 0;
  for (int i = 15; i >= 0; i--) u = (u << 8) | le16[i];
  bool neg = (le16[15] & 0x80) != 0;
  if (neg) u = (unsigned __int128)0 - u;
  char b[80];
  char *end = b + sizeof b, *p = end;
  do {
    *--p = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u);
  if (scale > 0) {
    int nd = (int)(end - p);
    while (nd < scale + 1 && p > b + 2) { /* padStart(scale + 1, '0') */
      *--p = '0';
      nd++;
    }
    if (neg) sink_byte(s, '-');
    sink_put(s, p, (size_t)(nd - scale));
    sink_byte(s, '.');
    sink_put(s, p + nd - scale, (size_t)scale);
    return;
  }
  if (neg) sink_byte(s, '-');
  sink_put(s, p, (size_t)(end - p));
}

/* TIME as DuckDB prints it (HH:MM:SS[.ffffff], trailing zeros dropped); pqcheck calls this
 * type best-effort. Sub-microsecond digits are truncated as DuckDB's TIME is microseconds. */
static void put_time(sink *s, int64_t v, pl_time_unit unit) {
  int64_t us;
  switch (unit) {
  case PL_SECOND: us = v * 1000000; break;
  case PL_MILLI: us = v * 1000; break;
  case PL_MICRO: us = v; break;
  default: us = v / 1000; break;
  }
  const int64_t day = 86400000000LL;
  if (us < 0) us += day;
  char b[40];
  int64_t frac = us % 1000000, sec = us / 1000000;
  int n = snprintf(b, sizeof b, "%02lld:%02lld:%02lld", (long long)(sec / 3600),
                   (long long)(sec / 60 % 60), (long long)(sec % 60));
  if (frac) {
    char f[8];
    snprintf(f, sizeof f, "%06lld", (long long)frac);
    int fl = 6;
    while (fl > 0 && f[fl - 1] == '0') fl--;
    b[n++] = '.';
    memcpy(b + n, f, (size_t)fl);
    n += fl;
  }
  sink_put(s, b, (size_t)n);
}

/* ------------------------------------------------------------------ values */
static void render(sink *s, const pl_column *c, int64_t row);


static void render_nested(sink *s, const pl_column *c, int64_t row) {
  const int64_t *off = pl_column_offsets(c);
  switch (c->type.id) {
  case PL_LIST: {
    sink_byte(s, '[');
    for (int64_t j = off[row]; j < off[row + 1]; j++) {
      if (j > off[row]) sink_byte(s, ',');
      render(s, c->children[0], j);
    }
    sink_byte(s, ']');
    break;
  }
  case PL_MAP: {
    const pl_column *kv = c->children[0];
    sink_byte(s, '{');
    for (int64_t j = off[row]; j < off[row + 1]; j++) {
      if (j > off[row]) sink_byte(s, ',');
      render(s, kv->children[0], j);
      sink_byte(s, ':');
      render(s, kv->children[1], j);
    }
    sink_byte(s, '}');
    break;
  }
  default: { /* PL_STRUCT */
    sink_byte(s, '{');
    for (int32_t k = 0; k < c->n_children; k++) {
      if (k) sink_byte(s, ',');
      const char *name = c->type.children[k].name;
      put_json_string(s, (const uint8_t *)name, strlen(name));
      sink_byte(s, ':');
      render(s, c->children[k], row);
    }
    sink_byte(s, '}');
  }
  }
}

static void render(sink *s, const pl_column *c, int64_t row) {
  if (!pl_column_is_valid(c, row)) {
    sink_put(s, "\\N", 2);
    return;
  }
  const uint8_t *v = c->values.data;
  switch (c->type.id) {
  case PL_BOOL: sink_str(s, pl_bit_get(v, row) ? "true" : "false"); break;
  case PL_INT8: case PL_INT16: case PL_INT32: case PL_INT64:
  case PL_UINT8: case PL_UINT16: case PL_UINT32:
    put_i64(s, pl_column_int_at(c, row));
    break;
  case PL_UINT64: put_u64(s, ((const uint64_t *)v)[row]); break;
  case PL_FLOAT16: {
    uint16_t h;
    memcpy(&h, v + 2 * row, 2);
    put_double(s, half_to_double(h));
    break;
  }
  case PL_FLOAT32: put_double(s, (double)((const float *)v)[row]); break;
  case PL_FLOAT64: put_double(s, ((const double *)v)[row]); break;
  case PL_STRING: case PL_BINARY: {
    const int64_t *off = pl_column_offsets(c);
    const uint8_t *p = v + off[row];
    size_t n = (size_t)(off[row + 1] - off[row]);
    if (c->type.id == PL_STRING) put_json_string(s, p, n);
    else put_hex(s, p, n);
    break;
  }
  case PL_FIXED_BINARY:
    put_hex(s, v + (size_t)row * (size_t)c->type.width, (size_t)c->type.width);
    break;
  case PL_DATE32:
    sink_byte(s, 'd');
    put_i64(s, pl_column_int_at(c, row));
    break;
  case PL_TIME: put_time(s, pl_column_int_at(c, row), c->type.unit); break;
  case PL_TIMESTAMP: {
    static const int64_t to_ns[] = {1000000000, 1000000, 1000, 1};
    sink_byte(s, 't');
    put_i128(s, (__int128)((const int64_t *)v)[row] * to_ns[c->type.unit & 3]);
    break;
  }
  case PL_DECIMAL128: put_decimal(s, v + 16 * row, c->type.scale); break;
  case PL_LIST: case PL_MAP: case PL_STRUCT: render_nested(s, c, row); break;
  default: sink_str(s, "?"); break;
  }
}

size_t pl_canonical_value(const pl_column *c, int64_t row, char *buf, size_t cap) {
  sink s = {.out = buf, .cap = cap ? cap - 1 : 0};
  render(&s, c, row);
  if (cap) buf[s.total < cap - 1 ? s.total : cap - 1] = 0;
  return s.total;
}

/* ------------------------------------------------------------------ streaming checksum */
struct pl_checksum {
  pl_type_id id;
  struct sha256_ctx sha;
  sink s;
  int64_t rows, nulls;
  bool done;
};

pl_checksum *pl_checksum_new(const pl_type *type) {
  pl_checksum *ck = pl_calloc(1, sizeof *ck);
  ck->id = type->id;
  sha256_init(&ck->sha);
  ck->s.sha = &ck->sha;
  ck->s.buf = pl_malloc(SINK_BUF);
  return ck;
}

pl_status pl_checksum_add(pl_checksum *ck, const pl_column *c, pl_error *err) {
  if (ck->done) return pl_error_set(err, PL_EINVAL, "checksum: add after the digest was taken");
  if (c->type.id != ck->id)
    return pl_error_set(err, PL_EINVAL, "checksum: column of type %d fed to a checksum of type %d",
                        (int)c->type.id, (int)ck->id);
  sink *s = &ck->s;
  for (int64_t i = 0; i < c->length; i++) {
    if (!pl_column_is_valid(c, i)) ck->nulls++;
    render(s, c, i);
    sink_byte(s, '\n');
  }
  ck->rows += c->length;
  return PL_OK;
}

int64_t pl_checksum_rows(const pl_checksum *ck) { return ck->rows; }
int64_t pl_checksum_nulls(const pl_checksum *ck) { return ck->nulls; }

static void hex16(const uint8_t *d, char out[17]) {
  for (int i = 0; i < 8; i++) {
    out[2 * i] = hexd[d[i] >> 4];
    out[2 * i + 1] = hexd[d[i] & 15];
  }
  out[16] = 0;
}

void pl_checksum_hex(pl_checksum *ck, char out[17]) {
  uint8_t d[SHA256_DIGEST_SIZE];
  sink_flush(&ck->s);
  sha256_digest(&ck->sha, sizeof d, d);
  ck->done = true;
  hex16(d, out);
}

void pl_checksum_free(pl_checksum *ck) {
  if (!ck) return;
  pl_free(ck->s.buf);
  pl_free(ck);
}

void pl_checksum_file(int n, const char *const *names, const char *const *types,
                      const char *const *checksums, char out[17]) {
  struct sha256_ctx sha;
  sha256_init(&sha);
  for (int i = 0; i < n; i++) {
    sha256_update(&sha, strlen(names[i]), (const uint8_t *)names[i]);
    sha256_update(&sha, 1, (const uint8_t *)"\t");
    sha256_update(&sha, strlen(types[i]), (const uint8_t *)types[i]);
    sha256_update(&sha, 1, (const uint8_t *)"\t");
    sha256_update(&sha, strlen(checksums[i]), (const uint8_t *)checksums[i]);
    sha256_update(&sha, 1, (const uint8_t *)"\n");
  }
  uint8_t d[SHA256_DIGEST_SIZE];
  sha256_digest(&sha, sizeof d, d);
  hex16(d, out);
}

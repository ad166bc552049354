/* strings.c — string functions over whole vectors: length, lower, upper, trims, contains,
 * starts_with, ends_with, substr, concat and ||, replace, and matches (PCRE2). Text is UTF-8:
 * length and substr count characters (bytes that are not continuation bytes), lower/upper map
 * code points with the C.UTF-8 locale's simple case mapping. Bytes that are not valid UTF-8
 * are kept as they are. Binary values are counted in bytes. */
#include "expr/internal.h"

#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <wctype.h>

static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;
static void utf8_init(void) {
  utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
  if (!utf8_locale) utf8_locale = newlocale(LC_CTYPE_MASK, "C.utf8", (locale_t)0);
}

static bool is_cont(uint8_t ch) { return (ch & 0xC0) == 0x80; }

/* Decodes one UTF-8 character at p (n > 0 bytes left). Returns the code point and its size,
 * or -1 and size 1 for an invalid sequence. */
static int32_t utf8_decode(const uint8_t *p, size_t n, size_t *size) {
  uint8_t b = p[0];
  int32_t cp;
  size_t len;
  if (b < 0x80) return *size = 1, b;
  if ((b & 0xE0) == 0xC0) cp = b & 0x1F, len = 2;
  else if ((b & 0xF0) == 0xE0) cp = b & 0x0F, len = 3;
  else if ((b & 0xF8) == 0xF0) cp = b & 0x07, len = 4;
  else return *size = 1, -1;
  if (len > n) return *size = 1, -1;
  for (size_t i = 1; i < len; i++) {
    if (!is_cont(p[i])) return *size = 1, -1;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  static const int32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return *size = 1, -1;
  *size = len;
  return cp;
}

static size_t utf8_encode(uint8_t *out, uint32_t cp) {
  if (cp < 0x80) return out[0] = (uint8_t)cp, 1;
  if (cp < 0x800) return out[0] = (uint8_t)(0xC0 | (cp >> 6)), out[1] = (uint8_t)(0x80 | (cp & 0x3F)), 2;
  if (cp < 0x10000) {
    out[0] = (uint8_t)(0xE0 | (cp >> 12));
    out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (uint8_t)(0x80 | (cp & 0x3F));
    return 3;
  }
  out[0] = (uint8_t)(0xF0 | (cp >> 18));
  out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
  out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
  out[3] = (uint8_t)(0x80 | (cp & 0x3F));
  return 4;
}

/* Characters = bytes that are not continuation bytes (10xxxxxx), counted 8 bytes at a time:
 * a continuation byte has bit 7 set and bit 6 clear. */
static int64_t char_count(const uint8_t *p, size_t n) {
  size_t i = 0, cont = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    cont += (size_t)((((w & ~(w << 1) & 0x8080808080808080ULL) >> 7) * 0x0101010101010101ULL) >> 56);
  }
  for (; i < n; i++) cont += is_cont(p[i]);
  return (int64_t)(n - cont);
}

/* Byte offset of the character with 0-based index k (n if past the end). */
static size_t char_offset(const uint8_t *p, size_t n, int64_t k) {
  size_t i = 0;
  for (; i < n && k > 0; k--) {
    i++;
    while (i < n && is_cont(p[i])) i++;
  }
  return i;
}

static bool is_space(uint8_t ch) { return ch == ' ' || (ch >= '\t' && ch <= '\r'); }

/* Appends lower/upper-cased s to buf. */
static pl_status map_case(pl__ctx *c, pl_buf *buf, const uint8_t *p, size_t n, bool upper) {
  /* Mapped characters stay within 4 bytes, and a character of k bytes maps to at most
   * 3 + (k == 1 ? 0 : 1) bytes: reserve twice the input once. */
  if (pl_buf_reserve(buf, 2 * n + 4, c->err)) return PL_ENOMEM;
  uint8_t *o = buf->data + buf->len;
  size_t w = 0;
  for (size_t i = 0; i < n;) {
    uint8_t b = p[i];
    if (b < 0x80) {
      /* ASCII, branch-free: flip bit 5 of letters in the source case */
      uint8_t from = upper ? 'a' : 'A';
      o[w++] = (uint8_t)(b ^ ((uint8_t)(b - from) < 26u) << 5);
      i++;
      continue;
    }
    size_t len;
    int32_t cp = utf8_decode(p + i, n - i, &len);
    if (cp < 0 || !utf8_locale) {
      memcpy(o + w, p + i, len);
      w += len;
    } else {
      wint_t m = upper ? towupper_l((wint_t)cp, utf8_locale) : towlower_l((wint_t)cp, utf8_locale);
      w += utf8_encode(o + w, (uint32_t)m);
    }
    i += len;
  }
  buf->len += w;
  return PL_OK;
}

static pl_status replace_all(pl__ctx *c, pl_buf *buf, const uint8_t *s, size_t n, const uint8_t *from, size_t fn,
                             const uint8_t *to, size_t tn) {
  if (fn == 0) return pl_buf_append(buf, s, n, c->err);
  size_t i = 0;
  while (i < n) {
    const uint8_t *hit = memmem(s + i, n - i, from, fn);
    if (!hit) break;
    size_t at = (size_t)(hit - s);
    if (pl_buf_append(buf, s + i, at - i, c->err) || pl_buf_append(buf, to, tn, c->err)) return PL_ENOMEM;
    i = at + fn;
  }
  return pl_buf_append(buf, s + i, n - i, c->err);
}

static pl__vec *bool_or_int_fn(pl__ctx *c, const pl__node *n, pl__vec *const *a, int64_t rows) {
  pl__vec *v = pl__vec_array(c, n->op == F_LENGTH ? V_I64 : V_BOOL, n->type.id, rows);
  if (!v) return NULL;
  v->cnst = rows == 1;
  if (pl__valid_and(c, v, a, (int)n->nargs)) {
    pl__vec_free(c, v);
    return NULL;
  }
  if (n->op == F_LENGTH) {
    int64_t *O = v->data;
    bool bytes = a[0]->tid == PL_BINARY;
    for (int64_t i = 0; i < rows; i++) {
      size_t l = pl__slen(a[0], i);
      O[i] = bytes ? (int64_t)l : char_count(pl__sptr(a[0], i), l);
    }
    return v;
  }
  uint8_t *O = v->data;
  for (int64_t i = 0; i < rows; i++) {
    const uint8_t *s = pl__sptr(a[0], i), *t = pl__sptr(a[1], i);
    size_t sn = pl__slen(a[0], i), tn = pl__slen(a[1], i);
    switch (n->op) {
    case F_CONTAINS: O[i] = tn == 0 || (tn <= sn && memmem(s, sn, t, tn) != NULL); break;
    case F_STARTS_WITH: O[i] = tn <= sn && !memcmp(s, t, tn); break;
    default: O[i] = tn <= sn && !memcmp(s + sn - tn, t, tn); break;
    }
  }
  return v;
}

pl__vec *pl__k_string(pl__ctx *c, const pl__node *n, pl__vec *const *a) {
  pthread_once(&utf8_once, utf8_init);
  int k = (int)n->nargs;
  int64_t rows = pl__rows(c, a, k);
  bool concat_fn = n->kind == N_CALL && n->op == F_CONCAT;
  if (n->kind == N_CALL && (n->op == F_LENGTH || n->op == F_CONTAINS || n->op == F_STARTS_WITH || n->op == F_ENDS_WITH))
    return bool_or_int_fn(c, n, a, rows);
  pl__strb sb;
  if (pl__strb_init(c, &sb, n->type.id, rows)) return NULL;
  pl__vec *v = sb.v;
  v->cnst = rows == 1;
  if (!concat_fn && pl__valid_and(c, v, a, k)) goto fail;
  for (int64_t i = 0; i < rows; i++) {
    if (v->valid && !v->valid[i]) {
      if (pl__strb_push(c, &sb, i, NULL, 0)) goto fail;
      continue;
    }
    const uint8_t *s = pl__sptr(a[0], i);
    size_t sn = pl__slen(a[0], i);
    pl_status st = PL_OK;
    if (n->kind == N_CONCAT || concat_fn) {
      for (int j = 0; j < k && !st; j++)
        if (pl__valid(a[j], i)) st = pl_buf_append(&sb.buf, pl__sptr(a[j], i), pl__slen(a[j], i), c->err);
    } else {
      switch (n->op) {
      case F_LOWER: case F_UPPER: st = map_case(c, &sb.buf, s, sn, n->op == F_UPPER); break;
      case F_TRIM: case F_LTRIM: case F_RTRIM: {
        size_t b = 0, e = sn;
        if (n->op != F_RTRIM)
          while (b < e && is_space(s[b])) b++;
        if (n->op != F_LTRIM)
          while (e > b && is_space(s[e - 1])) e--;
        st = pl_buf_append(&sb.buf, s + b, e - b, c->err);
        break;
      }
      case F_REPLACE:
        st = replace_all(c, &sb.buf, s, sn, pl__sptr(a[1], i), pl__slen(a[1], i), pl__sptr(a[2], i), pl__slen(a[2], i));
        break;
      case F_SUBSTR: {
        /* A window of characters [start, start + len), 1-based; a negative start counts
         * from the end (-1 is the last character); the window is clipped to the string. */
        int64_t start = ((int64_t *)a[1]->data)[i & pl__m(a[1])];
        bool has_len = k > 2;
        int64_t len = has_len ? ((int64_t *)a[2]->data)[i & pl__m(a[2])] : 0;
        if (has_len && len < 0) len = 0;
        if (start < 0) start = char_count(s, sn) + start + 1;
        int64_t end = INT64_MAX;
        if (has_len && __builtin_add_overflow(start, len, &end)) end = INT64_MAX;
        if (start < 1) start = 1;
        if (end > start) {
          size_t bo = char_offset(s, sn, start - 1);
          size_t eo = end == INT64_MAX ? sn : bo + char_offset(s + bo, sn - bo, end - start);
          st = pl_buf_append(&sb.buf, s + bo, eo - bo, c->err);
        }
        break;
      }
      }
    }
    if (st) goto fail;
    sb.off[i + 1] = (int64_t)sb.buf.len;
  }
  return pl__strb_finish(c, &sb);
fail:
  pl__strb_abort(c, &sb);
  return NULL;
}

/* The pattern was compiled once (check.c); each call makes its own match data, so one
 * compiled expression serves many threads. */
pl__vec *pl__k_matches(pl__ctx *c, const pl__node *n, pl__vec *a) {
  int64_t rows = pl__rows(c, &a, 1);
  pl__vec *v = pl__vec_array(c, V_BOOL, PL_BOOL, rows);
  if (!v) return NULL;
  v->cnst = a->cnst;
  if (pl__valid_and(c, v, &a, 1)) goto fail;
  pcre2_match_data *md = pcre2_match_data_create_from_pattern(n->re, NULL);
  if (!md) {
    pl_error_set(c->err, PL_ENOMEM, "out of memory for regex match data");
    goto fail;
  }
  uint8_t *O = v->data;
  for (int64_t i = 0; i < rows; i++) {
    if (!pl__valid(a, i)) continue;
    int rc = pcre2_match(n->re, pl__sptr(a, i), pl__slen(a, i), 0, 0, md, NULL);
    if (rc >= 0) O[i] = 1;
    else if (rc != PCRE2_ERROR_NOMATCH) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(rc, msg, sizeof msg);
      pl__error_at(c->err, PL_EINVAL, c->e ? c->e->text : "", n->pos, "matches() failed at row %lld: %s",
                   (long long)(c->row0 + i), (const char *)msg);
      pcre2_match_data_free(md);
      goto fail;
    }
  }
  pcre2_match_data_free(md);
  return v;
fail:
  pl__vec_free(c, v);
  return NULL;
}

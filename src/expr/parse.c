/* parse.c — the lexer and recursive-descent parser of the expression language. It builds an
 * untyped tree; check.c types it. Precedence, loosest first:
 *   or | and | not | comparisons, is [not] null, [not] in, [not] between | '||' | + - |
 *   * / % | unary - + | postfix ::type | primary
 * The text is outside input (YAML, the command line): every read checks the end first, and
 * nesting is bounded so that a hostile text cannot exhaust the stack. */
#include "expr/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 256

typedef enum {
  T_EOF, T_INT, T_FLOAT, T_STR, T_IDENT, T_QIDENT, T_LP, T_RP, T_COMMA, T_PLUS, T_MINUS, T_STAR,
  T_SLASH, T_PCT, T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE, T_CONCAT, T_DCOLON
} tok_kind;

typedef struct {
  tok_kind kind;
  int32_t pos, len; /* span in the text */
  char *s;          /* T_STR, T_QIDENT: decoded (owned by the parser until taken) */
  size_t slen;
  uint64_t u;   /* T_INT */
  double f;     /* T_FLOAT */
} token;

typedef struct {
  const char *text;
  int32_t len, p;
  token t;
  int depth;
  int32_t *err_pos;
  pl_error *err;
} parser;

int32_t pl__char_column(const char *text, int32_t pos) {
  int32_t col = 1;
  for (int32_t i = 0; i < pos && text[i]; i++)
    if (((unsigned char)text[i] & 0xC0) != 0x80) col++;
  return col;
}

void pl__error_at(pl_error *err, pl_status code, const char *text, int32_t pos, const char *fmt, ...) {
  char what[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  size_t tl = strlen(text);
  const char *dots = tl > 120 ? "..." : "";
  if (pos >= 0)
    pl_error_set(err, code, "\"%.120s%s\", column %d: %s", text, dots, (int)pl__char_column(text, pos), what);
  else
    pl_error_set(err, code, "\"%.120s%s\": %s", text, dots, what);
}

static pl_status fail(parser *ps, int32_t pos, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static pl_status fail(parser *ps, int32_t pos, const char *fmt, ...) {
  char what[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (ps->err_pos) *ps->err_pos = pos;
  pl__error_at(ps->err, PL_EINVAL, ps->text, pos, "%s", what);
  return PL_EINVAL;
}

/* ------------------------------------------------------------------ nodes */
pl__node *pl__node_new(pl__node_kind kind, int32_t pos) {
  pl__node *n = pl_calloc(1, sizeof *n);
  n->kind = kind;
  n->pos = pos;
  n->col = -1;
  n->type.id = T_NULL;
  n->cast_type.id = T_NULL;
  return n;
}

void pl__node_add(pl__node *n, pl__node *child) {
  n->args = pl_realloc(n->args, sizeof *n->args * (size_t)(n->nargs + 1));
  n->args[n->nargs++] = child;
}

void pl__node_free(pl__node *n) {
  if (!n) return;
  for (int32_t i = 0; i < n->nargs; i++) pl__node_free(n->args[i]);
  pl_free(n->args);
  pl_free(n->lit_s);
  pl_free(n->name);
  if (n->type.id != T_NULL) pl_type_release(&n->type);
  if (n->cast_type.id != T_NULL) pl_type_release(&n->cast_type);
  if (n->re) pcre2_code_free(n->re);
  pl_free(n);
}

/* ------------------------------------------------------------------ lexer */
static void put_utf8(char *out, size_t *len, uint32_t cp) {
  if (cp < 0x80) out[(*len)++] = (char)cp;
  else if (cp < 0x800) {
    out[(*len)++] = (char)(0xC0 | (cp >> 6));
    out[(*len)++] = (char)(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out[(*len)++] = (char)(0xE0 | (cp >> 12));
    out[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[(*len)++] = (char)(0x80 | (cp & 0x3F));
  } else {
    out[(*len)++] = (char)(0xF0 | (cp >> 18));
    out[(*len)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[(*len)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[(*len)++] = (char)(0x80 | (cp & 0x3F));
  }
}

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* A quoted string or `identifier` starting at ps->p (the quote). Escapes: \\ \' \" \` \n \t
 * \r \0 \xHH \uHHHH; in '...' a doubled '' is a quote too (SQL). */
static pl_status lex_quoted(parser *ps, token *t) {
  const char *s = ps->text;
  char q = s[ps->p];
  int32_t start = ps->p, i = ps->p + 1;
  /* Decoded text is never longer than the source. */
  char *out = pl_malloc((size_t)(ps->len - start) + 1);
  size_t n = 0;
  for (;;) {
    if (i >= ps->len) {
      pl_free(out);
      return fail(ps, start, "unterminated %s (expected a closing %c)", q == '`' ? "quoted name" : "string", q);
    }
    char ch = s[i];
    if (ch == q) {
      if (q == '\'' && i + 1 < ps->len && s[i + 1] == '\'') {
        out[n++] = '\'';
        i += 2;
        continue;
      }
      i++;
      break;
    }
    if (ch != '\\') {
      out[n++] = ch;
      i++;
      continue;
    }
    if (i + 1 >= ps->len) { /* a backslash at the very end: unterminated */
      i++;
      continue;
    }
    char e = s[i + 1];
    int32_t epos = i;
    i += 2;
    switch (e) {
    case '\\': case '\'': case '"': case '`': out[n++] = e; break;
    case 'n': out[n++] = '\n'; break;
    case 't': out[n++] = '\t'; break;
    case 'r': out[n++] = '\r'; break;
    case '0': out[n++] = '\0'; break;
    case 'x': case 'u': {
      int digits = e == 'x' ? 2 : 4;
      uint32_t cp = 0;
      for (int k = 0; k < digits; k++) {
        int h = i + k < ps->len ? hexval(s[i + k]) : -1;
        if (h < 0) {
          pl_free(out);
          return fail(ps, epos, "bad escape \\%c: expected %d hex digits", e, digits);
        }
        cp = cp * 16 + (uint32_t)h;
      }
      i += digits;
      if (e == 'x') out[n++] = (char)cp;
      else if (cp >= 0xD800 && cp <= 0xDFFF) {
        pl_free(out);
        return fail(ps, epos, "bad escape \\u%04X: a surrogate is not a character", (unsigned)cp);
      } else put_utf8(out, &n, cp); /* \uHHHH is 6 source bytes, at most 3 out */
      break;
    }
    default:
      pl_free(out);
      return fail(ps, epos, "unknown escape '\\%c' (expected one of \\\\ \\' \\\" \\n \\t \\r \\0 \\xHH \\uHHHH)",
                  isprint((unsigned char)e) ? e : '?');
    }
  }
  out[n] = 0;
  t->kind = q == '`' ? T_QIDENT : T_STR;
  t->s = out;
  t->slen = n;
  t->len = i - start;
  ps->p = i;
  if (q == '`' && n == 0) return fail(ps, start, "empty quoted name");
  return PL_OK;
}

static pl_status lex_number(parser *ps, token *t) {
  const char *s = ps->text;
  int32_t i = ps->p, start = ps->p;
  bool is_float = false;
  while (i < ps->len && isdigit((unsigned char)s[i])) i++;
  if (i < ps->len && s[i] == '.' && !(i + 1 < ps->len && s[i + 1] == '.')) {
    is_float = true;
    i++;
    while (i < ps->len && isdigit((unsigned char)s[i])) i++;
  }
  if (i < ps->len && (s[i] == 'e' || s[i] == 'E')) {
    int32_t j = i + 1;
    if (j < ps->len && (s[j] == '+' || s[j] == '-')) j++;
    if (j < ps->len && isdigit((unsigned char)s[j])) {
      is_float = true;
      i = j;
      while (i < ps->len && isdigit((unsigned char)s[i])) i++;
    }
  }
  if (i < ps->len && (isalpha((unsigned char)s[i]) || s[i] == '_'))
    return fail(ps, start, "bad number: unexpected '%c' after digits", s[i]);
  t->pos = start;
  t->len = i - start;
  char buf[128];
  if (t->len >= (int32_t)sizeof buf) return fail(ps, start, "number literal too long");
  memcpy(buf, s + start, (size_t)t->len);
  buf[t->len] = 0;
  if (is_float) {
    t->kind = T_FLOAT;
    t->f = strtod(buf, NULL);
  } else {
    uint64_t v = 0;
    for (int32_t k = 0; k < t->len; k++)
      if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, (uint64_t)(buf[k] - '0'), &v))
        return fail(ps, start, "integer literal %s does not fit 64 bits (write it as a float: %s.0)", buf, buf);
    t->kind = T_INT;
    t->u = v;
  }
  ps->p = i;
  return PL_OK;
}

static pl_status next(parser *ps) {
  pl_free(ps->t.s);
  memset(&ps->t, 0, sizeof ps->t);
  const char *s = ps->text;
  while (ps->p < ps->len && isspace((unsigned char)s[ps->p])) ps->p++;
  token *t = &ps->t;
  t->pos = ps->p;
  if (ps->p >= ps->len) {
    t->kind = T_EOF;
    return PL_OK;
  }
  char ch = s[ps->p], nx = ps->p + 1 < ps->len ? s[ps->p + 1] : 0;
  if (isdigit((unsigned char)ch) || (ch == '.' && isdigit((unsigned char)nx))) return lex_number(ps, t);
  if (ch == '\'' || ch == '"' || ch == '`') return lex_quoted(ps, t);
  if (isalpha((unsigned char)ch) || ch == '_') {
    int32_t i = ps->p;
    while (i < ps->len && (isalnum((unsigned char)s[i]) || s[i] == '_')) i++;
    t->kind = T_IDENT;
    t->len = i - ps->p;
    ps->p = i;
    return PL_OK;
  }
  static const struct {
    const char *sym;
    tok_kind kind;
  } ops[] = {{"::", T_DCOLON}, {"||", T_CONCAT}, {"==", T_EQ}, {"!=", T_NE}, {"<>", T_NE}, {"<=", T_LE},
             {">=", T_GE},     {"(", T_LP},      {")", T_RP},   {",", T_COMMA}, {"+", T_PLUS}, {"-", T_MINUS},
             {"*", T_STAR},    {"/", T_SLASH},   {"%", T_PCT},  {"=", T_EQ},    {"<", T_LT},   {">", T_GT}};
  for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
    size_t l = strlen(ops[k].sym);
    if ((size_t)(ps->len - ps->p) >= l && !memcmp(s + ps->p, ops[k].sym, l)) {
      t->kind = ops[k].kind;
      t->len = (int32_t)l;
      ps->p += (int32_t)l;
      return PL_OK;
    }
  }
  if ((unsigned char)ch >= 0x80)
    return fail(ps, ps->p, "unexpected non-ASCII character (quote odd column names with backticks: `name`)");
  return fail(ps, ps->p, "unexpected character '%c'", isprint((unsigned char)ch) ? ch : '?');
}

static bool is_kw(const parser *ps, const char *kw) {
  return ps->t.kind == T_IDENT && (size_t)ps->t.len == strlen(kw) &&
         !strncasecmp(ps->text + ps->t.pos, kw, (size_t)ps->t.len);
}

static const char *tok_desc(const parser *ps, char *buf, size_t cap) {
  if (ps->t.kind == T_EOF) return "the end";
  snprintf(buf, cap, "'%.*s'", (int)(ps->t.len > 40 ? 40 : ps->t.len), ps->text + ps->t.pos);
  return buf;
}

static pl_status expected(parser *ps, const char *what) {
  char buf[64];
  return fail(ps, ps->t.pos, "expected %s, found %s", what, tok_desc(ps, buf, sizeof buf));
}

static pl_status expect(parser *ps, tok_kind k, const char *what) {
  if (ps->t.kind != k) return expected(ps, what);
  return next(ps);
}

/* ------------------------------------------------------------------ grammar */
static pl_status parse_or(parser *ps, pl__node **out);
static pl_status parse_concat(parser *ps, pl__node **out);

static const char *const keywords[] = {"and", "or", "not", "is", "null", "in", "between", "true", "false",
                                       "case", "when", "then", "else", "end", "cast", "as"};

static bool is_reserved(const parser *ps) {
  for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
    if (is_kw(ps, keywords[k])) return true;
  return false;
}

/* A type name after `as` or `::`: the text up to the balancing point, given to pl_type_parse.
 * After `as` it runs to the closing ')'; after `::` it is a word plus any bracketed tail. */
static pl_status parse_type_name(parser *ps, bool after_as, pl_type *out) {
  const char *s = ps->text;
  int32_t start = ps->t.pos, i = start, depth = 0;
  if (ps->t.kind != T_IDENT) return expected(ps, "a type name (int64, float64, string, ...)");
  while (i < ps->len) {
    char ch = s[i];
    if (ch == '(' || ch == '<' || ch == '[') depth++;
    else if (ch == ')' || ch == '>' || ch == ']') {
      if (depth == 0) break;
      depth--;
      i++;
      if (depth == 0 && !after_as) break;
      continue;
    } else if (depth == 0 && !after_as && !(isalnum((unsigned char)ch) || ch == '_')) break;
    i++;
  }
  int32_t end = i;
  while (end > start && isspace((unsigned char)s[end - 1])) end--;
  char *name = pl_strndup(s + start, (size_t)(end - start));
  pl_error terr;
  pl_status st = pl_type_parse(name, out, &terr);
  if (st) {
    fail(ps, start, "unknown type '%s' (expected a praline type name: bool, int8..int64, uint8..uint64, "
                    "float32, float64, string, binary, date32, timestamp[us])", name);
    pl_free(name);
    return PL_EINVAL;
  }
  pl_free(name);
  ps->p = i;
  return next(ps);
}

static pl_status parse_args(parser *ps, pl__node *call) {
  pl_status st = expect(ps, T_LP, "'('");
  if (st) return st;
  if (ps->t.kind == T_RP) return next(ps);
  for (;;) {
    pl__node *a = NULL;
    st = parse_or(ps, &a);
    if (a) pl__node_add(call, a); /* partial trees too, so that they are freed */
    if (st) return st;
    if (ps->t.kind == T_COMMA) {
      if ((st = next(ps))) return st;
      continue;
    }
    return expect(ps, T_RP, "',' or ')'");
  }
}

static pl_status parse_case(parser *ps, pl__node **out) {
  pl__node *n = pl__node_new(N_CASE, ps->t.pos);
  *out = n;
  pl_status st = next(ps);
  if (st) return st;
  if (!is_kw(ps, "when")) return expected(ps, "'when' (only the searched form: case when <cond> then ...)");
  while (is_kw(ps, "when")) {
    pl__node *cond = NULL, *val = NULL;
    if (!(st = next(ps))) st = parse_or(ps, &cond);
    if (cond) pl__node_add(n, cond);
    if (st) return st;
    if (!is_kw(ps, "then")) return expected(ps, "'then'");
    if (!(st = next(ps))) st = parse_or(ps, &val);
    if (val) pl__node_add(n, val);
    if (st) return st;
  }
  if (is_kw(ps, "else")) {
    pl__node *val = NULL;
    if (!(st = next(ps))) st = parse_or(ps, &val);
    if (val) pl__node_add(n, val);
    if (st) return st;
    n->has_else = true;
  }
  if (!is_kw(ps, "end")) return expected(ps, "'when', 'else' or 'end'");
  return next(ps);
}

static pl_status parse_primary(parser *ps, pl__node **out) {
  token *t = &ps->t;
  pl_status st;
  *out = NULL;
  if (++ps->depth > MAX_DEPTH) return fail(ps, t->pos, "expression nested too deeply (over %d levels)", MAX_DEPTH);
  switch (t->kind) {
  case T_INT: case T_FLOAT: {
    pl__node *n = pl__node_new(N_LIT, t->pos);
    if (t->kind == T_FLOAT) {
      n->lit = L_FLOAT;
      n->lit_f = t->f;
    } else {
      n->lit = L_INT;
      n->lit_u = t->u;
      n->lit_big = t->u > (uint64_t)INT64_MAX;
      n->lit_i = n->lit_big ? 0 : (int64_t)t->u;
    }
    *out = n;
    st = next(ps);
    break;
  }
  case T_STR: {
    pl__node *n = pl__node_new(N_LIT, t->pos);
    n->lit = L_STRING;
    n->lit_s = t->s;
    n->lit_len = t->slen;
    t->s = NULL;
    *out = n;
    st = next(ps);
    break;
  }
  case T_QIDENT: {
    pl__node *n = pl__node_new(N_COL, t->pos);
    n->name = t->s;
    t->s = NULL;
    *out = n;
    st = next(ps);
    break;
  }
  case T_LP:
    if ((st = next(ps)) || (st = parse_or(ps, out))) break;
    st = expect(ps, T_RP, "')'");
    break;
  case T_IDENT: {
    int32_t pos = t->pos;
    if (is_kw(ps, "null") || is_kw(ps, "true") || is_kw(ps, "false")) {
      pl__node *n = pl__node_new(N_LIT, pos);
      n->lit = is_kw(ps, "null") ? L_NULL : L_BOOL;
      n->lit_bool = is_kw(ps, "true");
      *out = n;
      st = next(ps);
      break;
    }
    if (is_kw(ps, "case")) {
      st = parse_case(ps, out);
      break;
    }
    if (is_kw(ps, "cast")) {
      pl__node *n = pl__node_new(N_CAST, pos), *a = NULL;
      *out = n;
      if (!(st = next(ps)) && !(st = expect(ps, T_LP, "'(' after cast"))) st = parse_or(ps, &a);
      if (a) pl__node_add(n, a);
      if (st) break;
      if (!is_kw(ps, "as")) {
        st = expected(ps, "'as' (cast(x as int64))");
        break;
      }
      if ((st = next(ps)) || (st = parse_type_name(ps, true, &n->cast_type))) break;
      st = expect(ps, T_RP, "')' after the type");
      break;
    }
    if (is_reserved(ps)) {
      char buf[64];
      st = fail(ps, pos, "expected a value, found the keyword %s (quote a column of that name: `%.*s`)",
                tok_desc(ps, buf, sizeof buf), (int)t->len, ps->text + pos);
      break;
    }
    char *name = pl_strndup(ps->text + pos, (size_t)t->len);
    if ((st = next(ps))) {
      pl_free(name);
      break;
    }
    if (ps->t.kind == T_LP) {
      pl__node *n = pl__node_new(N_CALL, pos);
      n->name = name;
      *out = n;
      st = parse_args(ps, n);
    } else {
      pl__node *n = pl__node_new(N_COL, pos);
      n->name = name;
      *out = n;
    }
    break;
  }
  default:
    st = expected(ps, "a value (a number, a 'string', a column, a function call or '(')");
  }
  ps->depth--;
  return st;
}

static pl_status parse_postfix(parser *ps, pl__node **out) {
  pl_status st = parse_primary(ps, out);
  while (!st && ps->t.kind == T_DCOLON) {
    pl__node *n = pl__node_new(N_CAST, ps->t.pos);
    pl__node_add(n, *out);
    *out = n;
    if ((st = next(ps))) break;
    st = parse_type_name(ps, false, &n->cast_type);
  }
  return st;
}

static pl_status parse_unary(parser *ps, pl__node **out) {
  *out = NULL;
  if (ps->t.kind != T_MINUS && ps->t.kind != T_PLUS) return parse_postfix(ps, out);
  bool minus = ps->t.kind == T_MINUS;
  int32_t pos = ps->t.pos;
  if (++ps->depth > MAX_DEPTH) return fail(ps, pos, "expression nested too deeply (over %d levels)", MAX_DEPTH);
  pl_status st = next(ps);
  if (!st) st = parse_unary(ps, out);
  ps->depth--;
  if (st || !minus) return st;
  pl__node *a = *out;
  /* Fold -literal so that -9223372036854775808 is an int64 and -1 stays an untyped integer. */
  if (a->kind == N_LIT && a->lit == L_INT) {
    if (a->lit_big) { /* only 2^63 negates into range */
      if (a->lit_u > (uint64_t)INT64_MAX + 1)
        return fail(ps, pos, "integer literal -%llu does not fit int64", (unsigned long long)a->lit_u);
      a->lit_i = INT64_MIN;
      a->lit_big = false;
    } else if (a->lit_i == INT64_MIN) { /* - -9223372036854775808 */
      a->lit_u = (uint64_t)INT64_MAX + 1;
      a->lit_big = true;
    } else {
      a->lit_i = -a->lit_i;
    }
    a->pos = pos;
    return PL_OK;
  }
  if (a->kind == N_LIT && a->lit == L_FLOAT) {
    a->lit_f = -a->lit_f;
    a->pos = pos;
    return PL_OK;
  }
  pl__node *n = pl__node_new(N_NEG, pos);
  pl__node_add(n, a);
  *out = n;
  return PL_OK;
}

/* Left-associative binary levels share one loop. */
static pl_status parse_binary(parser *ps, pl__node **out, int level);

static int level_op(const parser *ps, int level) {
  tok_kind k = ps->t.kind;
  switch (level) {
  case 0: return k == T_CONCAT ? 1 : 0;
  case 1: return k == T_PLUS ? '+' : k == T_MINUS ? '-' : 0;
  case 2: return k == T_STAR ? '*' : k == T_SLASH ? '/' : k == T_PCT ? '%' : 0;
  }
  return 0;
}

static pl_status parse_binary(parser *ps, pl__node **out, int level) {
  pl_status st = level == 2 ? parse_unary(ps, out) : parse_binary(ps, out, level + 1);
  int op;
  while (!st && (op = level_op(ps, level))) {
    pl__node *n = pl__node_new(level == 0 ? N_CONCAT : N_ARITH, ps->t.pos), *b;
    n->op = op;
    pl__node_add(n, *out);
    *out = n;
    if ((st = next(ps))) break;
    if (++ps->depth > MAX_DEPTH) return fail(ps, n->pos, "expression nested too deeply (over %d levels)", MAX_DEPTH);
    st = level == 2 ? parse_unary(ps, &b) : parse_binary(ps, &b, level + 1);
    ps->depth--;
    if (b) pl__node_add(n, b);
  }
  return st;
}

static pl_status parse_concat(parser *ps, pl__node **out) { return parse_binary(ps, out, 0); }

static int cmp_op(tok_kind k) {
  switch (k) {
  case T_EQ: return C_EQ;
  case T_NE: return C_NE;
  case T_LT: return C_LT;
  case T_LE: return C_LE;
  case T_GT: return C_GT;
  case T_GE: return C_GE;
  default: return -1;
  }
}

static pl_status parse_cmp(parser *ps, pl__node **out) {
  pl_status st = parse_concat(ps, out);
  if (st) return st;
  int32_t pos = ps->t.pos;
  int op = cmp_op(ps->t.kind);
  if (op >= 0) {
    pl__node *n = pl__node_new(N_CMP, pos), *b = NULL;
    n->op = op;
    pl__node_add(n, *out);
    *out = n;
    if ((st = next(ps)) || (st = parse_concat(ps, &b))) {
      if (b) pl__node_add(n, b);
      return st;
    }
    pl__node_add(n, b);
  } else if (is_kw(ps, "is")) {
    pl__node *n = pl__node_new(N_ISNULL, pos);
    pl__node_add(n, *out);
    *out = n;
    if ((st = next(ps))) return st;
    if (is_kw(ps, "not")) {
      n->negate = true;
      if ((st = next(ps))) return st;
    }
    if (!is_kw(ps, "null")) return expected(ps, n->negate ? "'null' after 'is not'" : "'null' or 'not null' after 'is'");
    if ((st = next(ps))) return st;
  } else if (is_kw(ps, "not") || is_kw(ps, "in") || is_kw(ps, "between")) {
    bool negate = is_kw(ps, "not");
    if (negate && (st = next(ps))) return st;
    if (is_kw(ps, "in")) {
      pl__node *n = pl__node_new(N_IN, pos);
      n->negate = negate;
      pl__node_add(n, *out);
      *out = n;
      if ((st = next(ps)) || (st = parse_args(ps, n))) return st;
      if (n->nargs < 2) return fail(ps, pos, "'in' needs at least one value: x in (a, b, ...)");
    } else if (is_kw(ps, "between")) {
      pl__node *n = pl__node_new(N_BETWEEN, pos), *lo = NULL, *hi = NULL;
      n->negate = negate;
      pl__node_add(n, *out);
      *out = n;
      if ((st = next(ps)) || (st = parse_concat(ps, &lo))) goto between_done;
      if (!is_kw(ps, "and")) {
        st = expected(ps, "'and' in 'between a and b'");
        goto between_done;
      }
      if ((st = next(ps))) goto between_done;
      st = parse_concat(ps, &hi);
    between_done:
      if (lo) pl__node_add(n, lo);
      if (hi) pl__node_add(n, hi);
      return st;
    } else {
      return expected(ps, "'in' or 'between' after 'not'");
    }
  } else {
    return PL_OK;
  }
  /* Comparisons do not chain: `a < b < c` is refused rather than read as (a < b) < c. */
  if (cmp_op(ps->t.kind) >= 0 || is_kw(ps, "is") || is_kw(ps, "in") || is_kw(ps, "between"))
    return fail(ps, ps->t.pos, "comparisons do not chain; use 'and' (a < b and b < c) or parentheses");
  return PL_OK;
}

static pl_status parse_not(parser *ps, pl__node **out) {
  *out = NULL;
  if (!is_kw(ps, "not")) return parse_cmp(ps, out);
  pl__node *n = pl__node_new(N_NOT, ps->t.pos), *a = NULL;
  *out = n;
  if (++ps->depth > MAX_DEPTH) return fail(ps, n->pos, "expression nested too deeply (over %d levels)", MAX_DEPTH);
  pl_status st = next(ps);
  if (!st) st = parse_not(ps, &a);
  ps->depth--;
  if (a) pl__node_add(n, a);
  return st;
}

static pl_status parse_logic(parser *ps, pl__node **out, bool is_or) {
  pl_status st = is_or ? parse_logic(ps, out, false) : parse_not(ps, out);
  while (!st && is_kw(ps, is_or ? "or" : "and")) {
    pl__node *n = pl__node_new(is_or ? N_OR : N_AND, ps->t.pos), *b = NULL;
    pl__node_add(n, *out);
    *out = n;
    if ((st = next(ps))) break;
    if (++ps->depth > MAX_DEPTH) return fail(ps, n->pos, "expression nested too deeply (over %d levels)", MAX_DEPTH);
    st = is_or ? parse_logic(ps, &b, false) : parse_not(ps, &b);
    ps->depth--;
    if (b) pl__node_add(n, b);
  }
  return st;
}

static pl_status parse_or(parser *ps, pl__node **out) { return parse_logic(ps, out, true); }

pl_status pl__parse(const char *text, pl__node **out, int32_t *err_pos, pl_error *err) {
  *out = NULL;
  size_t len = strlen(text);
  parser ps = {.text = text, .len = 0, .err_pos = err_pos, .err = err};
  if (len > (size_t)INT32_MAX / 2) {
    return pl_error_set(err, PL_EINVAL, "expression of %zu bytes is too long", len);
  }
  ps.len = (int32_t)len;
  pl_status st = next(&ps);
  if (!st && ps.t.kind == T_EOF) st = fail(&ps, 0, "empty expression");
  if (!st) st = parse_or(&ps, out);
  if (!st && ps.t.kind != T_EOF) st = expected(&ps, "an operator or the end");
  pl_free(ps.t.s);
  if (st) {
    pl__node_free(*out);
    *out = NULL;
  }
  return st;
}

/* yaml.c — YAML documents as a small tree that keeps libyaml's marks (line:column) for every
 * key and value, so that validation errors can point at the text. Strings expand ${VAR} and
 * ${VAR:-default} from the environment when asked (pipelines: `make demo` sets paths). */
#include "pipeline/internal.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

void pl__ynode_free(pl__ynode *n) {
  if (!n) return;
  for (int i = 0; i < n->n; i++) {
    if (n->keys) pl_free(n->keys[i]);
    pl__ynode_free(n->kids[i]);
  }
  pl_free(n->keys);
  pl_free(n->kline);
  pl_free(n->kcol);
  pl_free(n->kids);
  pl_free(n->str);
  pl_free(n);
}

int pl__ymap_index(const pl__ynode *map, const char *key) {
  if (!map || map->kind != PL_Y_MAP) return -1;
  for (int i = 0; i < map->n; i++)
    if (strcmp(map->keys[i], key) == 0) return i;
  return -1;
}

pl__ynode *pl__ymap_get(const pl__ynode *map, const char *key) {
  int i = pl__ymap_index(map, key);
  return i < 0 ? NULL : map->kids[i];
}

static void add_kid(pl__ynode *p, char *key, int kl, int kc, pl__ynode *kid) {
  p->kids = pl_realloc(p->kids, sizeof(pl__ynode *) * (size_t)(p->n + 1));
  if (p->kind == PL_Y_MAP) {
    p->keys = pl_realloc(p->keys, sizeof(char *) * (size_t)(p->n + 1));
    p->kline = pl_realloc(p->kline, sizeof(int) * (size_t)(p->n + 1));
    p->kcol = pl_realloc(p->kcol, sizeof(int) * (size_t)(p->n + 1));
    p->keys[p->n] = key;
    p->kline[p->n] = kl;
    p->kcol[p->n] = kc;
  }
  p->kids[p->n++] = kid;
}

/* ${VAR} and ${VAR:-default}; anything else is kept as written. */
static char *expand_env(const char *s) {
  size_t cap = strlen(s) + 1, len = 0;
  char *out = pl_malloc(cap);
  for (const char *c = s; *c;) {
    const char *add = c;
    size_t n = 1;
    char *tmp = NULL;
    if (c[0] == '$' && c[1] == '{') {
      const char *end = strchr(c + 2, '}');
      if (end) {
        size_t k = (size_t)(end - (c + 2));
        char *body = pl_malloc(k + 1);
        memcpy(body, c + 2, k);
        body[k] = 0;
        char *dflt = strstr(body, ":-");
        if (dflt) {
          *dflt = 0;
          dflt += 2;
        }
        const char *v = getenv(body);
        if (!v || (!*v && dflt)) v = dflt ? dflt : "";
        tmp = pl_strdup(v);
        pl_free(body);
        add = tmp;
        n = strlen(tmp);
        c = end + 1;
      } else c++;
    } else c++;
    if (len + n + 1 > cap) {
      cap = 2 * (len + n + 1);
      out = pl_realloc(out, cap);
    }
    memcpy(out + len, add, n);
    len += n;
    pl_free(tmp);
  }
  out[len] = 0;
  return out;
}

typedef struct frame {
  pl__ynode *node;
  char *key; /* pending map key */
  int kl, kc;
} frame;

pl_status pl__yaml_parse(const char *text, size_t len, const char *file, bool expand,
                         pl__ynode **out, pl_error *err) {
  *out = NULL;
  yaml_parser_t ps;
  if (!yaml_parser_initialize(&ps)) return pl_error_set(err, PL_ENOMEM, "%s: yaml parser", file);
  yaml_parser_set_input_string(&ps, (const unsigned char *)text, len);
  frame stack[64];
  int depth = 0;
  pl__ynode *root = NULL;
  pl_status st = PL_OK;
  bool done = false;
  while (!done && !st) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&ps, &ev)) {
      st = pl_error_set(err, PL_EINVAL, "%s:%zu:%zu: invalid YAML: %s%s%s", file,
                        ps.problem_mark.line + 1, ps.problem_mark.column + 1,
                        ps.problem ? ps.problem : "syntax error", ps.context ? " " : "",
                        ps.context ? ps.context : "");
      break;
    }
    int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
    pl__ynode *n = NULL;
    switch (ev.type) {
    case YAML_STREAM_END_EVENT:
    case YAML_DOCUMENT_END_EVENT: done = ev.type == YAML_STREAM_END_EVENT || root; break;
    case YAML_ALIAS_EVENT:
      st = pl_error_set(err, PL_EINVAL, "%s:%d:%d: YAML aliases are not supported", file, line, col);
      break;
    case YAML_SCALAR_EVENT:
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
      n = pl_calloc(1, sizeof *n);
      n->line = line;
      n->col = col;
      if (ev.type == YAML_SCALAR_EVENT) {
        n->kind = PL_Y_SCALAR;
        n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        n->str = expand ? expand_env((const char *)ev.data.scalar.value)
                        : pl_strdup((const char *)ev.data.scalar.value);
      } else n->kind = ev.type == YAML_MAPPING_START_EVENT ? PL_Y_MAP : PL_Y_SEQ;
      if (depth == 0) {
        if (root) {
          pl__ynode_free(n);
          st = pl_error_set(err, PL_EINVAL, "%s:%d:%d: more than one YAML document", file, line, col);
          break;
        }
        root = n;
      } else {
        frame *f = &stack[depth - 1];
        if (f->node->kind == PL_Y_MAP && !f->key) {
          if (n->kind != PL_Y_SCALAR) {
            pl__ynode_free(n);
            st = pl_error_set(err, PL_EINVAL, "%s:%d:%d: a mapping key must be a plain string", file, line, col);
            break;
          }
          if (pl__ymap_index(f->node, n->str) >= 0) {
            st = pl_error_set(err, PL_EINVAL, "%s:%d:%d: duplicate key '%s'", file, line, col, n->str);
            pl__ynode_free(n);
            break;
          }
          f->key = n->str;
          n->str = NULL;
          f->kl = line;
          f->kc = col;
          pl__ynode_free(n);
          n = NULL;
          break;
        }
        add_kid(f->node, f->key, f->kl, f->kc, n);
        f->key = NULL;
      }
      if (n && n->kind != PL_Y_SCALAR) {
        if (depth == 64) {
          st = pl_error_set(err, PL_EINVAL, "%s:%d:%d: YAML nested too deeply", file, line, col);
          break;
        }
        stack[depth++] = (frame){n, NULL, 0, 0};
      }
      break;
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
      if (depth > 0) depth--;
      break;
    default: break;
    }
    yaml_event_delete(&ev);
  }
  for (int i = 0; i < depth; i++) pl_free(stack[i].key);
  yaml_parser_delete(&ps);
  if (st) {
    pl__ynode_free(root);
    return st;
  }
  if (!root) return pl_error_set(err, PL_EINVAL, "%s:1:1: empty YAML document", file);
  *out = root;
  return PL_OK;
}

static pl__ynode *from_json(json_t *j) {
  pl__ynode *n = pl_calloc(1, sizeof *n);
  n->plain = true;
  if (json_is_object(j)) {
    n->kind = PL_Y_MAP;
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) add_kid(n, pl_strdup(k), 0, 0, from_json(v));
  } else if (json_is_array(j)) {
    n->kind = PL_Y_SEQ;
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v) add_kid(n, NULL, 0, 0, from_json(v));
  } else {
    n->kind = PL_Y_SCALAR;
    char buf[64];
    if (json_is_string(j)) {
      n->str = pl_strdup(json_string_value(j));
      n->plain = false;
    } else if (json_is_integer(j)) {
      snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(j));
      n->str = pl_strdup(buf);
    } else if (json_is_real(j)) {
      snprintf(buf, sizeof buf, "%.17g", json_real_value(j));
      n->str = pl_strdup(buf);
    } else if (json_is_boolean(j)) n->str = pl_strdup(json_is_true(j) ? "true" : "false");
    else n->str = pl_strdup("null");
  }
  return n;
}

pl_status pl__yaml_from_json(const char *text, pl__ynode **out, pl_error *err) {
  json_error_t je;
  json_t *j = json_loads(text ? text : "{}", JSON_DECODE_ANY, &je);
  if (!j) return pl_error_set(err, PL_EINVAL, "arguments: invalid JSON at %d:%d: %s", je.line, je.column, je.text);
  *out = from_json(j);
  json_decref(j);
  return PL_OK;
}

static json_t *to_json(const pl__ynode *n) {
  if (!n) return json_null();
  if (n->kind == PL_Y_MAP) {
    json_t *o = json_object();
    for (int i = 0; i < n->n; i++) json_object_set_new(o, n->keys[i], to_json(n->kids[i]));
    return o;
  }
  if (n->kind == PL_Y_SEQ) {
    json_t *a = json_array();
    for (int i = 0; i < n->n; i++) json_array_append_new(a, to_json(n->kids[i]));
    return a;
  }
  return json_string(n->str);
}

char *pl__ynode_json(const pl__ynode *n) {
  json_t *j = to_json(n);
  char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
  json_decref(j);
  char *r = pl_strdup(s ? s : "null");
  free(s);
  return r;
}

static int edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 63 || lb > 63) return 99;
  int d[64][64];
  for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++) {
      int c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < c)
        c = d[i - 2][j - 2] + 1;
      d[i][j] = c;
    }
  return d[la][lb];
}

const char *pl__nearest(const char *name, int n, const char *const *cands) {
  const char *best = NULL;
  int bd = 99;
  for (int i = 0; i < n; i++) {
    int dd = edit_distance(name, cands[i]);
    if (dd < bd) {
      bd = dd;
      best = cands[i];
    }
  }
  size_t l = strlen(name);
  int limit = l <= 3 ? 1 : l <= 6 ? 2 : 3;
  return bd <= limit ? best : NULL;
}

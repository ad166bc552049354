/* pipeline.c — a pipeline: operations parsed from YAML (or added through the C API), checked
 * against component specs and the dataset's schema before any data is read, then planned on
 * the engine. After a run, each component gets a manifest (lineage: where every field lives)
 * and a cache entry keyed by xxh3(format version, spec, arguments, input key). */
#include "pipeline/internal.h"
#include "praline/expr.h"
#include "praline/formats.h"
#include "praline/parquet.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <glob.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum { K_LOAD = 1, K_FILTER, K_DERIVE, K_SELECT, K_DROP, K_RENAME, K_DEDUP, K_SAMPLE, K_WRITE, K_PLUGIN, K_FN,
       K_LOAD_CSV, K_LOAD_JSONL, K_WRITE_CSV, K_WRITE_JSONL, K_REPART };
static bool is_load(int k) { return k == K_LOAD || k == K_LOAD_CSV || k == K_LOAD_JSONL; }
static bool is_write(int k) { return k == K_WRITE || k == K_WRITE_CSV || k == K_WRITE_JSONL; }
static const struct {
  const char *name;
  int kind;
} kinds[] = {{"load_from_parquet", K_LOAD}, {"filter", K_FILTER}, {"derive", K_DERIVE},
             {"select", K_SELECT}, {"drop", K_DROP}, {"rename", K_RENAME}, {"dedup", K_DEDUP},
             {"sample", K_SAMPLE}, {"write_to_parquet", K_WRITE}, {"load_from_csv", K_LOAD_CSV},
             {"load_from_jsonl", K_LOAD_JSONL}, {"write_to_csv", K_WRITE_CSV}, {"write_to_jsonl", K_WRITE_JSONL},
             {"repartition", K_REPART}};

typedef struct op {
  char *id, *component;
  int kind;
  pl__spec *spec;
  const pl__ynode *node, *args, *consumes_map, *produces_map;
  pl__ynode *own_args; /* C API */
  /* after validation */
  pl_schema schema;    /* the dataset after this op: id first */
  int *owner;          /* per field of schema: the op whose directory holds it (0 = index) */
  uint64_t key;
  char *run_id;        /* the run whose outputs this op's directory holds */
  bool cached;
  int64_t rows_in, rows_out;
  /* plan */
  int n_files;
  char **files;
  uint64_t partition_size;
  int64_t limit;
  bool mapped; /* load through a copy transform (column_name_mapping / n_rows_to_load) */
  pl_expr *expr;
  pl__derive_state derive;
  pl__sample_state sample;
  pl__plugin_state plugin;
  void *dl;
  int n_consumes;
  char **consumes; /* dataset names the engine passes */
  pl_schema produces;
  pl_pipeline_fn fn;
  void *fn_state;
  char *lib; /* a plugin's .so path */
} op;

struct pl_pipeline {
  char *name, *base, *file, *dir;
  pl__ynode *root;
  int n;
  op ops[PL_PIPELINE_MAX_OPS];
  bool validated;
};

/* ------------------------------------------------------------------ errors at marks */
static pl_status at(const pl_pipeline *p, const pl__ynode *n, pl_error *err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static pl_status at(const pl_pipeline *p, const pl__ynode *n, pl_error *err, const char *fmt, ...) {
  char msg[PL_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (n && n->line) return pl_error_set(err, PL_EINVAL, "%s:%d:%d: %s", p->file, n->line, n->col, msg);
  return pl_error_set(err, PL_EINVAL, "%s: %s", p->file, msg);
}

static pl_status at_key(const pl_pipeline *p, const pl__ynode *map, int i, pl_error *err, const char *msg) {
  if (map && map->kline && map->kline[i])
    return pl_error_set(err, PL_EINVAL, "%s:%d:%d: %s", p->file, map->kline[i], map->kcol[i], msg);
  return pl_error_set(err, PL_EINVAL, "%s: %s", p->file, msg);
}

static void suggest(char *buf, size_t cap, const char *name, int n, const char *const *cands) {
  const char *s = pl__nearest(name, n, cands);
  if (s) snprintf(buf, cap, "; did you mean '%s'?", s);
  else buf[0] = 0;
}


/* ------------------------------------------------------------------ lifetime */
static void op_release(op *o) {
  pl_free(o->id);
  pl_free(o->component);
  pl__spec_free(o->spec);
  pl__ynode_free(o->own_args);
  pl_schema_release(&o->schema);
  pl_free(o->owner);
  pl_free(o->run_id);
  for (int i = 0; i < o->n_files; i++) pl_free(o->files[i]);
  pl_free(o->files);
  pl_expr_free(o->expr);
  for (int i = 0; i < o->derive.n; i++) pl_expr_free(o->derive.e[i]);
  pl_free(o->derive.e);
  for (int i = 0; i < o->n_consumes; i++) pl_free(o->consumes[i]);
  pl_free(o->consumes);
  pl_schema_release(&o->produces);
  if (o->plugin.vt && o->plugin.vt->free && o->plugin.st) o->plugin.vt->free(o->plugin.st);
  if (o->dl) dlclose(o->dl);
  pl_free(o->lib);
}

static void reset_validation(pl_pipeline *p) {
  for (int i = 0; i < p->n; i++) {
    op *o = &p->ops[i];
    pl_schema_release(&o->schema);
    pl_schema_init(&o->schema);
    pl_free(o->owner);
    o->owner = NULL;
    for (int k = 0; k < o->n_files; k++) pl_free(o->files[k]);
    pl_free(o->files);
    o->files = NULL;
    o->n_files = 0;
    pl_expr_free(o->expr);
    o->expr = NULL;
    for (int k = 0; k < o->derive.n; k++) pl_expr_free(o->derive.e[k]);
    pl_free(o->derive.e);
    o->derive.e = NULL;
    o->derive.n = 0;
    for (int k = 0; k < o->n_consumes; k++) pl_free(o->consumes[k]);
    pl_free(o->consumes);
    o->consumes = NULL;
    o->n_consumes = 0;
    pl_schema_release(&o->produces);
    pl_schema_init(&o->produces);
  }
  p->validated = false;
}

void pl_pipeline_free(pl_pipeline *p) {
  if (!p) return;
  for (int i = 0; i < p->n; i++) op_release(&p->ops[i]);
  pl__ynode_free(p->root);
  pl_free(p->name);
  pl_free(p->base);
  pl_free(p->file);
  pl_free(p->dir);
  pl_free(p);
}

pl_pipeline *pl_pipeline_new(const char *name, const char *base_path, pl_error *err) {
  if (!name || !*name || !base_path || !*base_path)
    return pl_error_set(err, PL_EINVAL, "pipeline: a name and a base path are required"), NULL;
  pl_pipeline *p = pl_calloc(1, sizeof *p);
  p->name = pl_strdup(name);
  p->base = pl_strdup(base_path);
  size_t n = strlen(name) + 16;
  p->file = pl_malloc(n);
  snprintf(p->file, n, "pipeline '%s'", name);
  p->dir = pl_strdup(".");
  return p;
}

static const char *known_top[] = {"name", "base_path", "description", "operations"};
static const char *known_op[] = {"component", "name", "arguments", "consumes", "produces"};

/* Fails, at the offending key, on the first key of `map` that is not one of `known`,
 * suggesting the nearest known one. `where` follows "unknown key '...'" in the message. */
static pl_status check_keys(const pl_pipeline *p, const pl__ynode *map, int n_known,
                            const char *const *known, const char *where, pl_error *err) {
  for (int i = 0; i < map->n; i++) {
    bool ok = false;
    for (int k = 0; k < n_known; k++) ok |= strcmp(map->keys[i], known[k]) == 0;
    if (ok) continue;
    char s[96], m[256];
    suggest(s, sizeof s, map->keys[i], n_known, known);
    snprintf(m, sizeof m, "unknown key '%s'%s%s", map->keys[i], where, s);
    return at_key(p, map, i, err, m);
  }
  return PL_OK;
}

static pl_status add_op(pl_pipeline *p, const char *component, const pl__ynode *node, const pl__ynode *cnode,
                        const pl__ynode *args, pl_error *err) {
  if (p->n == PL_PIPELINE_MAX_OPS)
    return at(p, node, err, "more than %d operations", PL_PIPELINE_MAX_OPS);
  op *o = &p->ops[p->n++];
  memset(o, 0, sizeof *o);
  o->component = pl_strdup(component);
  o->node = node;
  o->args = args;
  pl_schema_init(&o->schema);
  pl_schema_init(&o->produces);
  (void)cnode;
  return PL_OK;
}

pl_pipeline *pl_pipeline_load(const char *path, pl_error *err) {
  FILE *f = fopen(path, "rb");
  if (!f) return pl_error_set(err, PL_EIO, "%s: %s", path, strerror(errno)), NULL;
  size_t cap = 4096, len = 0;
  char *text = pl_malloc(cap);
  size_t r;
  while ((r = fread(text + len, 1, cap - len - 1, f)) > 0) {
    len += r;
    if (cap - len < 2) text = pl_realloc(text, cap *= 2);
  }
  fclose(f);
  text[len] = 0;
  pl__ynode *root;
  pl_status st = pl__yaml_parse(text, len, path, true, &root, err);
  pl_free(text);
  if (st) return NULL;
  pl_pipeline *p = pl_calloc(1, sizeof *p);
  p->root = root;
  p->file = pl_strdup(path);
  const char *sl = strrchr(path, '/');
  if (sl) {
    p->dir = pl_malloc((size_t)(sl - path) + 1);
    memcpy(p->dir, path, (size_t)(sl - path));
    p->dir[sl - path] = 0;
  } else p->dir = pl_strdup(".");
  if (root->kind != PL_Y_MAP) {
    at(p, root, err, "a pipeline is a mapping with name, base_path and operations");
    goto fail;
  }
  if (check_keys(p, root, 4, known_top, "", err)) goto fail;
  const pl__ynode *name = pl__ymap_get(root, "name"), *base = pl__ymap_get(root, "base_path");
  const pl__ynode *ops = pl__ymap_get(root, "operations");
  if (!name || name->kind != PL_Y_SCALAR || !*name->str) {
    at(p, name ? name : root, err, "expected 'name' (a string)");
    goto fail;
  }
  if (!base || base->kind != PL_Y_SCALAR || !*base->str) {
    at(p, base ? base : root, err, "expected 'base_path' (a directory)");
    goto fail;
  }
  if (!ops || ops->kind != PL_Y_SEQ || ops->n == 0) {
    at(p, ops ? ops : root, err, "expected 'operations' (a list of components)");
    goto fail;
  }
  p->name = pl_strdup(name->str);
  p->base = pl_strdup(base->str);
  for (int i = 0; i < ops->n; i++) {
    const pl__ynode *o = ops->kids[i];
    if (o->kind != PL_Y_MAP) {
      at(p, o, err, "an operation is a mapping with 'component' and 'arguments'");
      goto fail;
    }
    if (check_keys(p, o, 5, known_op, " in an operation", err)) goto fail;
    const pl__ynode *c = pl__ymap_get(o, "component");
    if (!c || c->kind != PL_Y_SCALAR) {
      at(p, c ? c : o, err, "expected 'component' (a built-in name or a spec path)");
      goto fail;
    }
    const pl__ynode *a = pl__ymap_get(o, "arguments");
    if (a && a->kind != PL_Y_MAP) {
      at(p, a, err, "expected 'arguments' to be a mapping");
      goto fail;
    }
    if (add_op(p, c->str, o, c, a, err)) goto fail;
    op *x = &p->ops[p->n - 1];
    x->consumes_map = pl__ymap_get(o, "consumes");
    x->produces_map = pl__ymap_get(o, "produces");
    const pl__ynode *nm = pl__ymap_get(o, "name");
    if (nm && nm->kind == PL_Y_SCALAR) x->id = pl_strdup(nm->str);
  }
  return p;
fail:
  pl_pipeline_free(p);
  return NULL;
}

pl_status pl_pipeline_add(pl_pipeline *p, const char *component, const char *args_json, pl_error *err) {
  pl__ynode *a;
  pl_status st = pl__yaml_from_json(args_json, &a, err);
  if (st) return st;
  if (a->kind != PL_Y_MAP) {
    pl__ynode_free(a);
    return pl_error_set(err, PL_EINVAL, "%s: arguments of '%s' must be a JSON object", p->file, component);
  }
  if ((st = add_op(p, component, NULL, NULL, a, err))) {
    pl__ynode_free(a);
    return st;
  }
  p->ops[p->n - 1].own_args = a;
  p->validated = false;
  return PL_OK;
}

pl_status pl_pipeline_add_fn(pl_pipeline *p, const char *name, pl_pipeline_fn fn, void *state,
                             const char *spec_yaml, pl_error *err) {
  size_t n = strlen(spec_yaml) + strlen(name) + 16;
  char *text = pl_malloc(n);
  snprintf(text, n, "name: %s\n%s", name, spec_yaml);
  pl__spec *s;
  pl_status st = pl__spec_parse(text, name, &s, err);
  pl_free(text);
  if (st) return st;
  if ((st = add_op(p, name, NULL, NULL, NULL, err))) {
    pl__spec_free(s);
    return st;
  }
  op *o = &p->ops[p->n - 1];
  o->spec = s;
  o->kind = K_FN;
  o->fn = fn;
  o->fn_state = state;
  o->id = pl_strdup(name);
  p->validated = false;
  return PL_OK;
}

/* ------------------------------------------------------------------ arguments */
static const pl__ynode *arg(const op *o, const char *name) {
  const pl__ynode *v = pl__ymap_get(o->args, name);
  if (v) return v;
  for (int i = 0; o->spec && i < o->spec->n_args; i++)
    if (strcmp(o->spec->args[i].name, name) == 0) return o->spec->args[i].def;
  return NULL;
}
static const char *arg_str(const op *o, const char *name) {
  const pl__ynode *v = arg(o, name);
  return v && v->kind == PL_Y_SCALAR ? v->str : "";
}

static bool parse_bool(const char *s, bool *v) {
  if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "yes")) return *v = true, true;
  if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "no")) return *v = false, true;
  return false;
}

static pl_status check_arg_type(const pl_pipeline *p, const op *o, const pl__arg *a, const pl__ynode *v,
                                pl_error *err) {
  char *end;
  bool ok = true;
  switch (a->type) {
  case PL_ARG_STRING: ok = v->kind == PL_Y_SCALAR; break;
  case PL_ARG_INT:
    ok = v->kind == PL_Y_SCALAR && *v->str && (strtoll(v->str, &end, 10), *end == 0);
    break;
  case PL_ARG_FLOAT: ok = v->kind == PL_Y_SCALAR && *v->str && (strtod(v->str, &end), *end == 0); break;
  case PL_ARG_BOOL: {
    bool b;
    ok = v->kind == PL_Y_SCALAR && parse_bool(v->str, &b);
    break;
  }
  case PL_ARG_SIZE: {
    uint64_t s;
    ok = v->kind == PL_Y_SCALAR && pl_parse_size(v->str, &s, NULL) == PL_OK;
    break;
  }
  case PL_ARG_LIST: ok = v->kind == PL_Y_SEQ; break;
  case PL_ARG_DICT: ok = v->kind == PL_Y_MAP || (v->kind == PL_Y_SCALAR && !strcmp(v->str, "{}")); break;
  }
  if (ok) return PL_OK;
  const char *what = v->kind == PL_Y_MAP ? "a mapping" : v->kind == PL_Y_SEQ ? "a list" : NULL;
  char got[160];
  if (what) snprintf(got, sizeof got, "%s", what);
  else snprintf(got, sizeof got, "'%.100s'", v->str);
  const char *ex = a->type == PL_ARG_SIZE ? "a size (64MB, 2GB, 512KiB or bytes)"
                   : a->type == PL_ARG_STRING ? "a string"
                   : a->type == PL_ARG_INT ? "an integer"
                   : a->type == PL_ARG_FLOAT ? "a number"
                   : a->type == PL_ARG_BOOL ? "true or false"
                   : a->type == PL_ARG_LIST ? "a list" : "a mapping";
  return at(p, v, err, "component '%s': argument '%s' must be %s, got %s", o->id, a->name, ex, got);
}

static pl_status check_args(const pl_pipeline *p, const op *o, pl_error *err) {
  const pl__spec *s = o->spec;
  const char *names[64];
  int nn = 0;
  for (int i = 0; i < s->n_args && nn < 64; i++) names[nn++] = s->args[i].name;
  for (int i = 0; o->args && i < o->args->n; i++) {
    const pl__arg *a = NULL;
    for (int k = 0; k < s->n_args; k++)
      if (strcmp(s->args[k].name, o->args->keys[i]) == 0) a = &s->args[k];
    if (!a) {
      char sg[96], m[512];
      suggest(sg, sizeof sg, o->args->keys[i], nn, names);
      snprintf(m, sizeof m, "component '%s' has no argument '%s'%s", o->id, o->args->keys[i], sg);
      return at_key(p, o->args, i, err, m);
    }
    pl_status st = check_arg_type(p, o, a, o->args->kids[i], err);
    if (st) return st;
  }
  for (int k = 0; k < s->n_args; k++)
    if (!s->args[k].def && !pl__ymap_get(o->args, s->args[k].name))
      return at(p, o->args ? o->args : o->node, err, "component '%s': missing argument '%s' (%s: %s)", o->id,
                s->args[k].name, pl__arg_type_name(s->args[k].type), s->args[k].description);
  return PL_OK;
}

/* ------------------------------------------------------------------ components */
static pl_status resolve(pl_pipeline *p, op *o, pl_error *err) {
  if (o->kind == K_FN) return PL_OK;
  const pl__ynode *cn = o->node ? pl__ymap_get(o->node, "component") : NULL;
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (strcmp(kinds[i].name, o->component) == 0) {
      o->kind = kinds[i].kind;
      return pl__spec_parse(pl_components_spec(o->component), o->component, &o->spec, err);
    }
  size_t l = strlen(o->component);
  bool is_path = strchr(o->component, '/') || (l > 5 && !strcmp(o->component + l - 5, ".yaml")) ||
                 (l > 3 && !strcmp(o->component + l - 3, ".so"));
  if (!is_path) {
    const char *names[16];
    int nn = 0;
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) names[nn++] = kinds[i].name;
    char sg[96];
    suggest(sg, sizeof sg, o->component, nn, names);
    return at(p, cn, err, "unknown component '%s'%s (built-ins: praline components)", o->component, sg);
  }
  char path[4096];
  if (o->component[0] == '/' || !strcmp(p->dir, ".")) snprintf(path, sizeof path, "%s", o->component);
  else snprintf(path, sizeof path, "%s/%s", p->dir, o->component);
  char lib[4096] = "";
  if (l > 3 && !strcmp(o->component + l - 3, ".so")) snprintf(lib, sizeof lib, "%s", path);
  else {
    FILE *f = fopen(path, "rb");
    if (!f) return at(p, cn, err, "component spec '%s': %s", path, strerror(errno));
    char *text = pl_calloc(1, 1 << 20);
    size_t n = fread(text, 1, (1 << 20) - 1, f);
    fclose(f);
    text[n] = 0;
    pl_status st = pl__spec_parse(text, path, &o->spec, err);
    pl_free(text);
    if (st) return st;
    if (strcmp(o->spec->library, "builtin") == 0) {
      for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(kinds[i].name, o->spec->name) == 0) o->kind = kinds[i].kind;
      if (!o->kind) return at(p, cn, err, "spec '%s' says builtin, but '%s' is not a built-in", path, o->spec->name);
      return PL_OK;
    }
    const char *sl = strrchr(path, '/');
    if (o->spec->library[0] == '/' || !sl) snprintf(lib, sizeof lib, "%s", o->spec->library);
    else snprintf(lib, sizeof lib, "%.*s/%s", (int)(sl - path), path, o->spec->library);
  }
  pl_free(o->lib);
  o->lib = pl_strdup(lib);
  o->dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
  if (!o->dl) return at(p, cn, err, "plugin '%s': %s", lib, dlerror());
  pl_component_entry_v1 entry;
  *(void **)&entry = dlsym(o->dl, PL_COMPONENT_ENTRY_V1);
  if (!entry) return at(p, cn, err, "plugin '%s' exports no %s()", lib, PL_COMPONENT_ENTRY_V1);
  const pl_component_v1 *vt = entry();
  if (!vt || vt->abi_version != PL_COMPONENT_ABI_V1 || !vt->process)
    return at(p, cn, err, "plugin '%s': ABI version %u, praline needs %u", lib, vt ? vt->abi_version : 0,
              PL_COMPONENT_ABI_V1);
  o->plugin.vt = vt;
  if (!o->spec) {
    pl_status st = pl__spec_parse(vt->spec_yaml ? vt->spec_yaml : "", lib, &o->spec, err);
    if (st) return st;
  }
  o->kind = K_PLUGIN;
  return PL_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Every file under dir (recursively, hidden entries skipped) whose name ends in ext or ext2
 * (may be NULL), appended to (*v)[*n]. */
static void list_ext(const char *dir, const char *ext, const char *ext2, int *n, char ***v) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *de;
  while ((de = readdir(d))) {
    if (de->d_name[0] == '.') continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    struct stat sb;
    if (stat(path, &sb)) continue;
    size_t l = strlen(de->d_name), a = strlen(ext), b = ext2 ? strlen(ext2) : 0;
    if (S_ISDIR(sb.st_mode)) list_ext(path, ext, ext2, n, v);
    else if ((l > a && !strcmp(de->d_name + l - a, ext)) || (ext2 && l > b && !strcmp(de->d_name + l - b, ext2))) {
      *v = pl_realloc(*v, sizeof(char *) * (size_t)(*n + 1));
      (*v)[(*n)++] = pl_strdup(path);
    }
  }
  closedir(d);
}

/* The files a load's `path` names: a glob's matches, a directory's files ending in ext or
 * ext2 (recursively), or the file itself; sorted into o->files. Errors point at `path`. */
static pl_status resolve_files(pl_pipeline *p, op *o, const char *what, const char *ext, const char *ext2,
                               pl_error *err) {
  const char *path = arg_str(o, "path");
  const pl__ynode *pn = arg(o, "path");
  struct stat sb;
  if (strpbrk(path, "*?[")) {
    glob_t g;
    if (glob(path, 0, NULL, &g) == 0) {
      for (size_t i = 0; i < g.gl_pathc; i++) {
        o->files = pl_realloc(o->files, sizeof(char *) * (size_t)(o->n_files + 1));
        o->files[o->n_files++] = pl_strdup(g.gl_pathv[i]);
      }
      globfree(&g);
    }
  } else if (stat(path, &sb)) {
    return at(p, pn, err, "%s: path '%s': %s", o->component, path, strerror(errno));
  } else if (S_ISDIR(sb.st_mode)) {
    list_ext(path, ext, ext2, &o->n_files, &o->files);
  } else {
    o->files = pl_malloc(sizeof(char *));
    o->files[o->n_files++] = pl_strdup(path);
  }
  if (o->n_files == 0) return at(p, pn, err, "%s: no %s files at '%s'", o->component, what, path);
  qsort(o->files, (size_t)o->n_files, sizeof(char *), cmp_str);
  return PL_OK;
}

static pl_status validate_load(pl_pipeline *p, op *o, pl_schema *cur, pl_error *err) {
  const pl__ynode *pn = arg(o, "path");
  pl_status st0 = resolve_files(p, o, "Parquet", ".parquet", NULL, err);
  if (st0) return st0;
  pl_budget *b = pl_budget_new(PL_UNLIMITED);
  pl_status st = PL_OK;
  for (int i = 0; i < o->n_files && !st; i++) {
    pl_parquet_file *f = pl_parquet_open(o->files[i], NULL, b, err);
    if (!f) {
      st = err ? err->code : PL_EIO;
      break;
    }
    const pl_schema *fs = pl_parquet_schema(f);
    if (i == 0) {
      /* the index: the files' id column (integers widened to int64, or strings), else a
       * generated int64 */
      int32_t k = pl_schema_find(fs, "id");
      pl_type_id t = PL_INT64;
      if (k >= 0 && !pl_source_index_type(fs->fields[k].type.id, &t)) {
        char tn[128];
        pl_type_canonical(&fs->fields[k].type, tn, sizeof tn);
        st = at(p, pn, err, "load_from_parquet: %s: column 'id' is %s, but a column named id is the index and "
                "must be an integer or a string; rename it in the files", o->files[i], tn);
        pl_parquet_close(f);
        break;
      }
      pl_schema_add(cur, pl_field_make("id", pl_type_make(t), false));
      for (int32_t j = 0; j < fs->n_fields; j++) {
        if (j == k) continue;
        pl_field f2;
        pl_field_copy(&f2, &fs->fields[j]);
        pl_schema_add(cur, f2);
      }
    } else {
      /* every file must have the first file's columns with the same types */
      for (int32_t j = 1; j < cur->n_fields && !st; j++) {
        int32_t k = pl_schema_find(fs, cur->fields[j].name);
        if (k < 0 || !pl_type_equal(&fs->fields[k].type, &cur->fields[j].type))
          st = at(p, pn, err, "load_from_parquet: %s: column '%s' missing or of another type than in %s",
                  o->files[i], cur->fields[j].name, o->files[0]);
      }
    }
    pl_parquet_close(f);
  }
  pl_budget_free(b);
  if (st) return st;
  pl_parse_size(arg_str(o, "partition_size"), &o->partition_size, NULL);
  o->limit = strtoll(arg_str(o, "n_rows_to_load"), NULL, 10);
  const char *ic = arg_str(o, "index_column");
  if (*ic && strcmp(ic, "id") != 0)
    return at(p, arg(o, "index_column"), err,
              "load_from_parquet: index_column '%s': only 'id' is supported (name the column id "
              "in the files, or leave it out for a generated id)", ic);
  if (o->limit < 0) return at(p, arg(o, "n_rows_to_load"), err, "n_rows_to_load must be >= 0");
  const pl__ynode *m = arg(o, "column_name_mapping");
  bool has_map = m && m->kind == PL_Y_MAP && m->n > 0;
  if (has_map) {
    const char *names[512];
    int nn = 0;
    for (int32_t j = 0; j < cur->n_fields && nn < 512; j++) names[nn++] = cur->fields[j].name;
    for (int i = 0; i < m->n; i++) {
      int32_t k = pl_schema_find(cur, m->keys[i]);
      if (k == 0) return at_key(p, m, i, err, "column_name_mapping: 'id' is the index and keeps its name");
      if (k < 0) {
        char sg[96], msg[512];
        suggest(sg, sizeof sg, m->keys[i], nn, names);
        snprintf(msg, sizeof msg, "column_name_mapping: column '%s' not found in %s%s", m->keys[i], o->files[0], sg);
        return at_key(p, m, i, err, msg);
      }
      if (m->kids[i]->kind != PL_Y_SCALAR || !*m->kids[i]->str)
        return at(p, m->kids[i], err, "column_name_mapping: expected a field name");
    }
  }
  /* a row limit loads through a copy transform; a mapping alone renames at the source, so
   * the load still copies the files' column chunks */
  o->mapped = o->limit > 0;
  if (o->mapped) {
    /* the copy transform: consumes the file columns, produces them under their new names */
    pl_schema_add(&o->produces, pl_field_make("id", pl_type_make(PL_INT64), false));
    o->consumes = pl_calloc((size_t)cur->n_fields, sizeof(char *));
    for (int32_t j = 1; j < cur->n_fields; j++) {
      o->consumes[o->n_consumes++] = pl_strdup(cur->fields[j].name);
      pl_field f;
      pl_field_copy(&f, &cur->fields[j]);
      pl_schema_add(&o->produces, f);
    }
  }
  for (int32_t j = 1; has_map && j < cur->n_fields; j++) {
    const pl__ynode *to = pl__ymap_get(m, cur->fields[j].name);
    if (!to) continue;
    pl_free(cur->fields[j].name);
    cur->fields[j].name = pl_strdup(to->str);
    if (o->mapped) {
      pl_free(o->produces.fields[j].name);
      o->produces.fields[j].name = pl_strdup(to->str);
    }
  }
  for (int i = 0; has_map && i < m->n; i++) {
    const char *to = m->kids[i]->str;
    int uses = 0;
    for (int32_t j = 0; j < cur->n_fields; j++) uses += strcmp(cur->fields[j].name, to) == 0;
    if (uses > 1) {
      char msg[512];
      snprintf(msg, sizeof msg, "column_name_mapping: '%s' -> '%s' gives two fields named '%s'", m->keys[i], to, to);
      return at_key(p, m, i, err, msg);
    }
  }
  return PL_OK;
}

/* ------------------------------------------------------------------ CSV / JSONL */
static pl_status mkdirs(const char *path, pl_error *err);
#define mkdirs_ mkdirs
static pl_formats_options text_options(const op *o, pl_budget *b) {
  pl_formats_options fo = pl_formats_options_default(o->kind == K_LOAD_JSONL ? PL_FORMAT_JSONL : PL_FORMAT_CSV);
  if (o->kind == K_LOAD_CSV) {
    fo.delimiter = arg_str(o, "delimiter")[0];
    parse_bool(arg_str(o, "header"), &fo.header);
    if (*arg_str(o, "null_string")) fo.null_string = arg_str(o, "null_string");
  }
  fo.on_error = strcmp(arg_str(o, "on_error"), "skip") == 0 ? PL_ON_ERROR_SKIP : PL_ON_ERROR_FAIL;
  fo.infer_rows = strtoll(arg_str(o, "infer_rows"), NULL, 10);
  fo.budget = b;
  if (o->produces.n_fields) fo.schema = &o->produces;
  return fo;
}


static pl_status validate_text_load(pl_pipeline *p, op *o, pl_schema *cur, pl_error *err) {
  pl_status st0 = o->kind == K_LOAD_CSV ? resolve_files(p, o, "CSV", ".csv", NULL, err)
                                       : resolve_files(p, o, "JSON Lines", ".jsonl", ".ndjson", err);
  if (st0) return st0;
  const char *oe = arg_str(o, "on_error");
  if (strcmp(oe, "fail") && strcmp(oe, "skip"))
    return at(p, arg(o, "on_error"), err, "%s: on_error must be fail or skip, got '%s'", o->component, oe);
  if (o->kind == K_LOAD_CSV && strlen(arg_str(o, "delimiter")) != 1)
    return at(p, arg(o, "delimiter"), err, "%s: the delimiter must be one character", o->component);
  const pl__ynode *pm = o->produces_map;
  if (pm && pm->kind == PL_Y_MAP) {
    for (int k = 0; k < pm->n; k++) {
      pl_type t;
      pl_error e2 = {0};
      if (pm->kids[k]->kind != PL_Y_SCALAR || pl_type_parse(pm->kids[k]->str, &t, &e2))
        return at(p, pm->kids[k], err, "field '%s': %s", pm->keys[k], e2.msg[0] ? e2.msg : "expected a type");
      pl_schema_add(&o->produces, pl_field_make(pm->keys[k], t, true));
    }
  }
  /* the schema: given, or inferred from the first file's first rows */
  pl_budget *b = pl_budget_new(64u << 20);
  pl_formats_options fo = text_options(o, b);
  pl_formats_reader *r = NULL;
  pl_status st = pl_formats_reader_open(o->files[0], &fo, &r, err);
  if (!st) {
    const pl_schema *fs = pl_formats_reader_schema(r);
    int32_t k = pl_schema_find(fs, "id");
    bool own_id = k >= 0 && fs->fields[k].type.id == PL_INT64;
    pl_schema_add(cur, pl_field_make("id", pl_type_make(PL_INT64), false));
    for (int32_t j = 0; j < fs->n_fields; j++) {
      if (own_id && j == k) continue;
      pl_field f;
      pl_field_copy(&f, &fs->fields[j]);
      pl_schema_add(cur, f);
    }
    if (!o->produces.n_fields) pl_schema_copy(&o->produces, fs);
  } else pl_error_prefix(err, "%s", o->component);
  pl_formats_reader_free(r);
  pl_budget_free(b);
  return st;
}

/* Streams the text files into Parquet files of about partition_size (bounded memory), which
 * then feed the engine like any Parquet input. */
static pl_status stage_text(const pl_pipeline *p, op *o, const char *dir, uint64_t memory, int *n_out,
                            char ***out, pl_error *err) {
  uint64_t psize = 64u << 20;
  pl_parse_size(arg_str(o, "partition_size"), &psize, NULL);
  /* staging runs before the engine starts: it may use most of the limit (less a headroom) */
  size_t lim = memory ? (size_t)(memory / 4 * 3) : (size_t)512 << 20;
  if (psize > lim / 6) psize = lim / 6;
  pl_budget *b = pl_budget_new(lim);
  pl_status st = mkdirs_(dir, err);
  pl_parquet_write_options wo;
  pl_parquet_write_options_default(&wo);
  wo.row_group_bytes = psize;
  if (wo.page_bytes > psize / 16) wo.page_bytes = psize / 16 > 4096 ? psize / 16 : 4096;
  if (wo.dictionary_limit > wo.page_bytes) wo.dictionary_limit = wo.page_bytes;
  int64_t bad = 0;
  for (int i = 0; !st && i < o->n_files; i++) {
    pl_formats_options fo = text_options(o, b);
    fo.batch_bytes = psize / 4 > 1024 ? psize / 4 : 1024;
    fo.chunk_bytes = psize / 8 < ((size_t)1 << 20) ? (psize / 8 > 4096 ? psize / 8 : 4096) : (size_t)1 << 20;
    pl_formats_reader *r = NULL;
    if ((st = pl_formats_reader_open(o->files[i], &fo, &r, err))) break;
    pl_parquet_writer *w = NULL;
    uint64_t in_file = 0;
    while (!st) {
      pl_batch *bt = NULL;
      if ((st = pl_formats_reader_next(r, &bt, err)) || !bt) break;
      if (!w) {
        char path[4096];
        snprintf(path, sizeof path, "%s/part-%05d.parquet", dir, *n_out);
        *out = pl_realloc(*out, sizeof(char *) * (size_t)(*n_out + 1));
        (*out)[(*n_out)++] = pl_strdup(path);
        w = pl_parquet_writer_open(path, &bt->schema, &wo, b, err);
        if (!w) st = err ? err->code : PL_EIO;
        in_file = 0;
      }
      if (!st) st = pl_parquet_writer_write(w, bt, err);
      in_file += pl_batch_bytes(bt);
      pl_batch_free(bt);
      if (!st && in_file >= psize) {
        st = pl_parquet_writer_close(w, err);
        w = NULL;
      }
    }
    if (w) {
      if (!st) st = pl_parquet_writer_close(w, err);
      else pl_parquet_writer_abort(w);
    }
    bad += pl_formats_reader_bad_rows(r);
    for (int m = 0; m < pl_formats_reader_n_messages(r); m++)
      fprintf(stderr, "praline: %s: skipped: %s\n", o->id, pl_formats_reader_message(r, m));
    pl_formats_reader_free(r);
  }
  if (bad) fprintf(stderr, "praline: %s: %lld bad rows skipped (on_error: skip)\n", o->id, (long long)bad);
  pl_budget_free(b);
  (void)p;
  if (!st && *n_out == 0) st = pl_error_set(err, PL_EINVAL, "%s: the input has no rows", o->id);
  return st;
}

/* After the engine exported Parquet to dir, streams it out as CSV or JSON Lines. */
static pl_status convert_export(const op *o, const char *dir, uint64_t memory, pl_error *err) {
  int n = 0;
  char **files = NULL;
  list_ext(dir, ".parquet", NULL, &n, &files);
  qsort(files, (size_t)n, sizeof(char *), cmp_str);
  size_t lim = memory ? (size_t)(memory / 4) : (size_t)256 << 20;
  pl_budget *b = pl_budget_new(lim);
  pl_formats_options fo = pl_formats_options_default(o->kind == K_WRITE_CSV ? PL_FORMAT_CSV : PL_FORMAT_JSONL);
  if (o->kind == K_WRITE_CSV) fo.delimiter = arg_str(o, "delimiter")[0];
  pl_parse_size(arg_str(o, "max_file_bytes"), &fo.max_file_bytes, NULL);
  fo.budget = b;
  pl_formats_writer *w = NULL;
  pl_status st = PL_OK;
  for (int i = 0; !st && i < n; i++) {
    pl_parquet_file *f = pl_parquet_open(files[i], NULL, b, err);
    if (!f) {
      st = err ? err->code : PL_EIO;
      break;
    }
    if (!w) st = pl_formats_writer_open(arg_str(o, "path"), pl_parquet_schema(f), &fo, &w, err);
    pl_parquet_reader *r = st ? NULL : pl_parquet_reader_new(f, NULL, b, err);
    if (!st && !r) st = err ? err->code : PL_EIO;
    while (!st) {
      pl_batch *bt = NULL;
      if ((st = pl_parquet_reader_next(r, &bt, err)) || !bt) break;
      st = pl_formats_writer_write(w, bt, err);
      pl_batch_free(bt);
    }
    pl_parquet_reader_free(r);
    pl_parquet_close(f);
  }
  if (!st && w) st = pl_formats_writer_close(w, err);
  pl_formats_writer_free(w);
  for (int i = 0; i < n; i++) pl_free(files[i]);
  pl_free(files);
  pl_budget_free(b);
  if (st) pl_error_prefix(err, "%s", o->id);
  return st;
}

/* Position of an expression's error inside the YAML scalar holding it. */
static pl_status expr_error(const pl_pipeline *p, const op *o, const pl__ynode *v, const pl_expr_diag *d,
                            const pl_error *e2, pl_error *err) {
  if (!v->line) return pl_error_set(err, PL_EINVAL, "%s: component '%s': %s", p->file, o->id, e2->msg);
  int col = v->col;
  if (d->column > 0 && !strchr(v->str, '\n')) col += d->column - (v->plain ? 1 : 0);
  return pl_error_set(err, PL_EINVAL, "%s:%d:%d: component '%s': %s", p->file, v->line, col, o->id, e2->msg);
}

static pl_status compile(const pl_pipeline *p, const op *o, const pl__ynode *v, const pl_schema *cur,
                         pl_expr **out, pl_error *err) {
  pl_error e2 = {0};
  pl_expr_diag d = {-1, 0};
  if (pl_expr_compile_diag(v->str, cur, out, &d, &e2)) return expr_error(p, o, v, &d, &e2, err);
  return PL_OK;
}

static void add_consume(op *o, const char *name) {
  for (int i = 0; i < o->n_consumes; i++)
    if (!strcmp(o->consumes[i], name)) return;
  o->consumes = pl_realloc(o->consumes, sizeof(char *) * (size_t)(o->n_consumes + 1));
  o->consumes[o->n_consumes++] = pl_strdup(name);
}

static pl_status need_field(const pl_pipeline *p, const op *o, const pl__ynode *at_node, const pl_schema *cur,
                            const char *name, int32_t *k, pl_error *err) {
  *k = pl_schema_find(cur, name);
  if (*k > 0) return PL_OK;
  const char *names[512];
  int nn = 0;
  for (int32_t j = 1; j < cur->n_fields && nn < 512; j++) names[nn++] = cur->fields[j].name;
  char sg[96];
  suggest(sg, sizeof sg, name, nn, names);
  return at(p, at_node, err, "component '%s': field '%s' not found%s", o->id, name, sg);
}

static void set_field(pl_schema *cur, int **owner, const pl_field *f, int who) {
  int32_t k = pl_schema_find(cur, f->name);
  pl_field c;
  pl_field_copy(&c, f);
  if (k >= 0) {
    pl_field_release(&cur->fields[k]);
    cur->fields[k] = c;
  } else {
    pl_schema_add(cur, c);
    *owner = pl_realloc(*owner, sizeof(int) * (size_t)cur->n_fields);
    k = cur->n_fields - 1;
  }
  (*owner)[k] = who;
}

static void remove_field(pl_schema *cur, int *owner, int32_t k) {
  pl_field_release(&cur->fields[k]);
  for (int32_t j = k; j + 1 < cur->n_fields; j++) {
    cur->fields[j] = cur->fields[j + 1];
    owner[j] = owner[j + 1];
  }
  cur->n_fields--;
}

static pl_status field_list(const pl_pipeline *p, const op *o, const pl_schema *cur, const pl__ynode *l,
                            pl_error *err) {
  if (!l || l->kind != PL_Y_SEQ || l->n == 0)
    return at(p, l ? l : o->node, err, "component '%s': 'fields' must be a non-empty list of field names", o->id);
  for (int i = 0; i < l->n; i++) {
    int32_t k;
    if (l->kids[i]->kind != PL_Y_SCALAR) return at(p, l->kids[i], err, "expected a field name");
    pl_status st = need_field(p, o, l->kids[i], cur, l->kids[i]->str, &k, err);
    if (st) return st;
  }
  return PL_OK;
}

static pl_status validate_op(pl_pipeline *p, int i, pl_schema *cur, int **owner, pl_error *err) {
  op *o = &p->ops[i];
  pl_status st = PL_OK;
  const pl__ynode *cn = o->node ? pl__ymap_get(o->node, "component") : NULL;
  if (is_load(o->kind) && i != 0)
    return at(p, cn, err, "'%s' must be the first operation (a load creates the dataset)", o->component);
  if (!is_load(o->kind) && i == 0)
    return at(p, cn, err, "the first operation must load data (load_from_parquet/csv/jsonl), not '%s'", o->component);
  if (is_write(o->kind) && i != p->n - 1)
    return at(p, cn, err, "'%s' must be the last operation", o->component);
  switch (o->kind) {
  case K_LOAD_CSV:
  case K_LOAD_JSONL:
    if ((st = validate_text_load(p, o, cur, err))) return st;
    *owner = pl_calloc((size_t)cur->n_fields, sizeof(int));
    return PL_OK;
  case K_WRITE_CSV:
  case K_WRITE_JSONL:
    if (!*arg_str(o, "path")) return at(p, arg(o, "path"), err, "component '%s': 'path' is empty", o->id);
    if (o->kind == K_WRITE_CSV && strlen(arg_str(o, "delimiter")) != 1)
      return at(p, arg(o, "delimiter"), err, "component '%s': the delimiter must be one character", o->id);
    return PL_OK;
  case K_LOAD:
    if ((st = validate_load(p, o, cur, err))) return st;
    *owner = pl_calloc((size_t)cur->n_fields, sizeof(int));
    return PL_OK;
  case K_FILTER: {
    const pl__ynode *w = arg(o, "where");
    if ((st = compile(p, o, w, cur, &o->expr, err))) return st;
    if (pl_expr_type(o->expr)->id != PL_BOOL) {
      char t[64];
      pl_type_canonical(pl_expr_type(o->expr), t, sizeof t);
      return at(p, w, err, "component '%s': 'where' must be a predicate (bool), but \"%s\" is %s", o->id, w->str, t);
    }
    for (int32_t k = 0; k < pl_expr_n_columns(o->expr); k++)
      if (strcmp(pl_expr_column(o->expr, k), "id")) add_consume(o, pl_expr_column(o->expr, k));
    pl_schema_add(&o->produces, pl_field_make("id", pl_type_make(PL_INT64), false));
    (*owner)[0] = i;
    return PL_OK;
  }
  case K_DERIVE: {
    const pl__ynode *f = arg(o, "fields");
    if (!f || f->kind != PL_Y_MAP || f->n == 0)
      return at(p, f ? f : o->node, err, "component '%s': 'fields' must map new field names to expressions", o->id);
    o->derive.e = pl_calloc((size_t)f->n, sizeof(pl_expr *));
    for (int k = 0; k < f->n; k++) {
      if (f->kids[k]->kind != PL_Y_SCALAR) return at(p, f->kids[k], err, "expected an expression (a string)");
      if (!strcmp(f->keys[k], "id")) return at_key(p, f, k, err, "derive cannot replace the index 'id'");
      if ((st = compile(p, o, f->kids[k], cur, &o->derive.e[k], err))) return st;
      o->derive.n++;
      for (int32_t c = 0; c < pl_expr_n_columns(o->derive.e[k]); c++)
        if (strcmp(pl_expr_column(o->derive.e[k], c), "id")) add_consume(o, pl_expr_column(o->derive.e[k], c));
    }
    for (int k = 0; k < f->n; k++) {
      pl_type t;
      pl_type_copy(&t, pl_expr_type(o->derive.e[k]));
      pl_field fd = pl_field_make(f->keys[k], t, true);
      pl_schema_add(&o->produces, fd);
    }
    for (int k = 0; k < f->n; k++) set_field(cur, owner, &o->produces.fields[k], i);
    (*owner)[0] = i;
    return PL_OK;
  }
  case K_SELECT:
  case K_DROP: {
    const pl__ynode *l = arg(o, "fields");
    if ((st = field_list(p, o, cur, l, err))) return st;
    for (int32_t k = cur->n_fields - 1; k >= 1; k--) {
      bool listed = false;
      for (int j = 0; j < l->n; j++) listed |= !strcmp(l->kids[j]->str, cur->fields[k].name);
      if (listed != (o->kind == K_SELECT)) remove_field(cur, *owner, k);
    }
    if (o->kind == K_SELECT) { /* in the listed order */
      for (int j = 0; j < l->n; j++) {
        int32_t k = pl_schema_find(cur, l->kids[j]->str);
        pl_field t = cur->fields[k];
        int ow = (*owner)[k];
        for (int32_t m = k; m > j + 1; m--) {
          cur->fields[m] = cur->fields[m - 1];
          (*owner)[m] = (*owner)[m - 1];
        }
        cur->fields[j + 1] = t;
        (*owner)[j + 1] = ow;
      }
    }
    (*owner)[0] = i;
    return PL_OK;
  }
  case K_RENAME: {
    const pl__ynode *m = arg(o, "fields");
    if (!m || m->kind != PL_Y_MAP || m->n == 0)
      return at(p, m ? m : o->node, err, "component '%s': 'fields' must map old names to new names", o->id);
    for (int k = 0; k < m->n; k++) {
      int32_t j;
      if ((st = need_field(p, o, m->kline ? &(pl__ynode){.line = m->kline[k], .col = m->kcol[k]} : m, cur,
                           m->keys[k], &j, err)))
        return st;
      if (m->kids[k]->kind != PL_Y_SCALAR || !*m->kids[k]->str || !strcmp(m->kids[k]->str, "id"))
        return at(p, m->kids[k], err, "component '%s': expected a new field name", o->id);
      add_consume(o, m->keys[k]);
      pl_field f;
      pl_field_copy(&f, &cur->fields[j]);
      pl_free(f.name);
      f.name = pl_strdup(m->kids[k]->str);
      pl_schema_add(&o->produces, f);
    }
    for (int k = 0; k < m->n; k++) {
      int32_t j = pl_schema_find(cur, m->keys[k]);
      pl_free(cur->fields[j].name);
      cur->fields[j].name = pl_strdup(m->kids[k]->str);
      (*owner)[j] = i;
    }
    for (int32_t a = 1; a < cur->n_fields; a++)
      for (int32_t b = a + 1; b < cur->n_fields; b++)
        if (!strcmp(cur->fields[a].name, cur->fields[b].name))
          return at(p, m, err, "component '%s': two fields would be named '%s'", o->id, cur->fields[a].name);
    (*owner)[0] = i;
    return PL_OK;
  }
  case K_DEDUP: {
    for (int j = 0; j < i; j++)
      if (p->ops[j].kind == K_DEDUP) return at(p, cn, err, "only one dedup per pipeline (the engine has one global stage)");
    const pl__ynode *l = arg(o, "fields");
    if ((st = field_list(p, o, cur, l, err))) return st;
    for (int j = 0; j < l->n; j++) add_consume(o, l->kids[j]->str);
    (*owner)[0] = i;
    return PL_OK;
  }
  case K_REPART: {
    uint64_t sz = 0;
    pl_parse_size(arg_str(o, "partition_size"), &sz, NULL);
    if (sz < 4096) return at(p, arg(o, "partition_size"), err, "component '%s': partition_size must be >= 4KB", o->id);
    for (int32_t k = 0; k < cur->n_fields; k++) (*owner)[k] = i; /* every file moves */
    return PL_OK;
  }
  case K_SAMPLE: {
    o->sample.fraction = strtod(arg_str(o, "fraction"), NULL);
    o->sample.seed = (uint64_t)strtoll(arg_str(o, "seed"), NULL, 10);
    if (!(o->sample.fraction >= 0 && o->sample.fraction <= 1))
      return at(p, arg(o, "fraction"), err, "component '%s': fraction must be between 0 and 1", o->id);
    pl_schema_add(&o->produces, pl_field_make("id", pl_type_make(PL_INT64), false));
    (*owner)[0] = i;
    return PL_OK;
  }
  case K_WRITE: {
    pl_codec c;
    pl_error e2 = {0};
    if (pl_codec_parse(arg_str(o, "codec"), &c, &e2))
      return at(p, arg(o, "codec"), err, "component '%s': codec: %s", o->id, e2.msg);
    if (!*arg_str(o, "path")) return at(p, arg(o, "path"), err, "component '%s': 'path' is empty", o->id);
    long long lv = strtoll(arg_str(o, "codec_level"), NULL, 10);
    if (lv < INT_MIN || lv > INT_MAX || pl_codec_check_level(c, (int)lv, &e2))
      return at(p, arg(o, "codec_level"), err, "component '%s': %s", o->id,
                e2.msg[0] ? e2.msg : "codec_level out of range");
    return PL_OK;
  }
  case K_PLUGIN:
  case K_FN: {
    const pl_schema *sc = &o->spec->consumes;
    for (int32_t k = 0; k < sc->n_fields; k++) {
      const char *want = sc->fields[k].name, *have = want;
      const pl__ynode *mn = o->consumes_map ? pl__ymap_get(o->consumes_map, want) : NULL;
      if (mn && mn->kind == PL_Y_SCALAR) have = mn->str;
      int32_t j;
      if ((st = need_field(p, o, mn ? mn : cn, cur, have, &j, err))) return st;
      if (!pl_type_equal(&cur->fields[j].type, &sc->fields[k].type)) {
        char a[64], b[64];
        pl_type_canonical(&cur->fields[j].type, a, sizeof a);
        pl_type_canonical(&sc->fields[k].type, b, sizeof b);
        return at(p, mn ? mn : cn, err, "component '%s': field '%s' has type %s; the component expects %s", o->id,
                  have, a, b);
      }
      add_consume(o, have);
    }
    if (o->spec->additional) {
      const pl__ynode *pm = o->produces_map;
      if (!pm || pm->kind != PL_Y_MAP)
        return at(p, o->node, err, "component '%s' produces what its arguments say: give 'produces' {field: type}", o->id);
      pl_schema_release(&o->spec->produces);
      pl_schema_init(&o->spec->produces);
      for (int k = 0; k < pm->n; k++) {
        pl_type t;
        pl_error e2 = {0};
        if (pm->kids[k]->kind != PL_Y_SCALAR || pl_type_parse(pm->kids[k]->str, &t, &e2))
          return at(p, pm->kids[k], err, "field '%s': %s", pm->keys[k], e2.msg[0] ? e2.msg : "expected a type");
        pl_schema_add(&o->spec->produces, pl_field_make(pm->keys[k], t, true));
      }
    }
    pl_schema_copy(&o->produces, &o->spec->produces);
    for (int32_t k = 0; k < o->produces.n_fields; k++)
      if (strcmp(o->produces.fields[k].name, "id")) set_field(cur, owner, &o->produces.fields[k], i);
    (*owner)[0] = i;
    return PL_OK;
  }
  }
  return pl_error_set(err, PL_EINTERNAL, "unknown kind");
}

static uint64_t op_key(const pl_pipeline *p, const op *o, uint64_t prev) {
  pl_hasher *h = pl_hasher_new(0);
  pl_hasher_update(h, PL_FORMAT_VERSION, strlen(PL_FORMAT_VERSION));
  pl_hasher_update(h, &prev, sizeof prev);
  pl_hasher_update(h, o->id, strlen(o->id) + 1);
  pl_hasher_update(h, o->spec->text, strlen(o->spec->text) + 1);
  char *a = pl__ynode_json(o->args);
  pl_hasher_update(h, a, strlen(a) + 1);
  pl_free(a);
  const pl__ynode *extra[2] = {o->consumes_map, o->produces_map};
  for (int i = 0; i < 2; i++) {
    char *s = pl__ynode_json(extra[i]);
    pl_hasher_update(h, s, strlen(s) + 1);
    pl_free(s);
  }
  if (o->kind == K_FN) pl_hasher_update(h, &o->fn, sizeof o->fn);
  /* a plugin's code is part of its spec: its size and modification time */
  if (o->lib) {
    struct stat sb;
    memset(&sb, 0, sizeof sb);
    stat(o->lib, &sb);
    int64_t v[3] = {(int64_t)sb.st_size, (int64_t)sb.st_mtim.tv_sec, (int64_t)sb.st_mtim.tv_nsec};
    pl_hasher_update(h, v, sizeof v);
  }
  /* a load's input is its files: names, sizes and modification times */
  for (int i = 0; i < o->n_files; i++) {
    struct stat sb;
    memset(&sb, 0, sizeof sb);
    stat(o->files[i], &sb);
    int64_t v[3] = {(int64_t)sb.st_size, (int64_t)sb.st_mtim.tv_sec, (int64_t)sb.st_mtim.tv_nsec};
    pl_hasher_update(h, o->files[i], strlen(o->files[i]) + 1);
    pl_hasher_update(h, v, sizeof v);
  }
  uint64_t k = pl_hasher_digest(h);
  pl_hasher_free(h);
  (void)p;
  return k;
}

pl_status pl_pipeline_validate(pl_pipeline *p, pl_error *err) {
  reset_validation(p);
  if (p->n == 0) return pl_error_set(err, PL_EINVAL, "%s: no operations", p->file);
  pl_status st = PL_OK;
  for (int i = 0; i < p->n && !st; i++) {
    op *o = &p->ops[i];
    if (!o->spec || o->kind == K_PLUGIN) {
      if (!o->spec && (st = resolve(p, o, err))) return st;
    }
    if (!o->id) {
      /* unnamed: the component's name, numbered when it repeats */
      const char *base = o->spec->name;
      int seen = 0;
      for (int j = 0; j < i; j++)
        if (!strcmp(p->ops[j].spec->name, base)) seen++;
      char buf[96];
      if (seen) snprintf(buf, sizeof buf, "%s_%d", base, seen + 1);
      else snprintf(buf, sizeof buf, "%s", base);
      o->id = pl_strdup(buf);
    }
    if (strchr(o->id, '/') || o->id[0] == '.' || o->id[0] == '_' || !strcmp(o->id, "cache") || strlen(o->id) >= 60)
      return at(p, o->node ? pl__ymap_get(o->node, "name") : NULL, err, "bad component name '%s'", o->id);
    for (int j = 0; j < i; j++)
      if (!strcmp(p->ops[j].id, o->id)) {
        const pl__ynode *nm = o->node ? pl__ymap_get(o->node, "name") : NULL;
        return at(p, nm ? nm : (o->node ? pl__ymap_get(o->node, "component") : NULL), err,
                  "duplicate name '%s' (operation %d has it too); give each a unique 'name'", o->id, j + 1);
      }
    if ((st = check_args(p, o, err))) return st;
  }
  pl_schema cur;
  pl_schema_init(&cur);
  int *owner = NULL;
  uint64_t prev = 0;
  for (int i = 0; i < p->n && !st; i++) {
    op *o = &p->ops[i];
    if ((st = validate_op(p, i, &cur, &owner, err))) break;
    pl_schema_copy(&o->schema, &cur);
    o->owner = pl_malloc(sizeof(int) * (size_t)(cur.n_fields ? cur.n_fields : 1));
    memcpy(o->owner, owner, sizeof(int) * (size_t)cur.n_fields);
    o->key = prev = op_key(p, o, prev);
  }
  pl_schema_release(&cur);
  pl_free(owner);
  if (!st) p->validated = true;
  return st;
}

/* ------------------------------------------------------------------ manifests and cache */

static char *location(const pl_pipeline *p, int owner, const char *field) {
  const op *w = &p->ops[owner];
  return pl_sprintf("%s/%s/%s/%s", p->name, w->run_id, w->id, field);
}

static json_t *manifest(const pl_pipeline *p, int i) {
  const op *o = &p->ops[i];
  json_t *m = json_object(), *md = json_object(), *ix = json_object(), *fs = json_object();
  char key[17];
  snprintf(key, sizeof key, "%016llx", (unsigned long long)o->key);
  json_object_set_new(md, "pipeline_name", json_string(p->name));
  json_object_set_new(md, "base_path", json_string(p->base));
  json_object_set_new(md, "run_id", json_string(o->run_id));
  json_object_set_new(md, "component_id", json_string(o->id));
  json_object_set_new(md, "cache_key", json_string(key));
  json_object_set_new(m, "metadata", md);
  char *l = location(p, o->owner[0], "index");
  json_object_set_new(ix, "location", json_string(l));
  pl_free(l);
  json_object_set_new(m, "index", ix);
  for (int32_t k = 1; k < o->schema.n_fields; k++) {
    char t[256];
    pl_type_canonical(&o->schema.fields[k].type, t, sizeof t);
    json_t *f = json_object();
    json_object_set_new(f, "type", json_string(t));
    l = location(p, o->owner[k], o->schema.fields[k].name);
    json_object_set_new(f, "location", json_string(l));
    pl_free(l);
    json_object_set_new(fs, o->schema.fields[k].name, f);
  }
  json_object_set_new(m, "fields", fs);
  return m;
}

static pl_status write_json(const char *path, json_t *j, pl_error *err) {
  char *tmp = pl_sprintf("%s.tmp", path);
  int rc = json_dump_file(j, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  if (rc == 0) rc = rename(tmp, path);
  pl_status st = rc ? pl_error_set(err, PL_EIO, "%s: cannot write: %s", path, strerror(errno)) : PL_OK;
  pl_free(tmp);
  return st;
}

static pl_status mkdirs(const char *path, pl_error *err) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *s = buf + 1; *s; s++)
    if (*s == '/') {
      *s = 0;
      mkdir(buf, 0755);
      *s = '/';
    }
  if (mkdir(buf, 0755) && errno != EEXIST) return pl_error_set(err, PL_EIO, "%s: %s", path, strerror(errno));
  return PL_OK;
}

static bool is_dir(const char *p) {
  struct stat sb;
  return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* A cache entry is usable when it exists and the directories it points at still do. */
static bool cache_lookup(pl_pipeline *p, op *o) {
  char *path = pl_sprintf("%s/%s/cache/%016llx.json", p->base, p->name, (unsigned long long)o->key);
  json_t *j = json_load_file(path, 0, NULL);
  pl_free(path);
  if (!j) return false;
  const char *rid = json_string_value(json_object_get(json_object_get(j, "metadata"), "run_id"));
  const char *ix = json_string_value(json_object_get(json_object_get(j, "index"), "location"));
  bool ok = rid && ix;
  if (ok) {
    char *d = pl_sprintf("%s/%s", p->base, ix);
    ok = is_dir(d);
    pl_free(d);
  }
  struct stat sb;
  if (ok && is_write(o->kind)) ok = stat(arg_str(o, "path"), &sb) == 0;
  if (ok) {
    pl_free(o->run_id);
    o->run_id = pl_strdup(rid);
    json_t *rows = json_object_get(j, "rows");
    o->rows_in = json_integer_value(json_object_get(rows, "in"));
    o->rows_out = json_integer_value(json_object_get(rows, "out"));
  }
  json_decref(j);
  return ok;
}

/* ------------------------------------------------------------------ running */
pl_run_options pl_run_options_default(void) {
  pl_run_options o;
  memset(&o, 0, sizeof o);
  o.progress = 1;
  return o;
}

static char *new_run_id(const pl_pipeline *p) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  char ts[32];
  strftime(ts, sizeof ts, "%Y%m%d%H%M%S", &tm);
  for (int k = 1;; k++) {
    char *id = k == 1 ? pl_sprintf("%s-%s", p->name, ts) : pl_sprintf("%s-%s-%d", p->name, ts, k);
    char *d = pl_sprintf("%s/%s/%s", p->base, p->name, id);
    bool exists = is_dir(d);
    pl_free(d);
    if (!exists) return id;
    pl_free(id);
  }
}

static char *comp_dir(const pl_pipeline *p, const char *run_id, const op *o, const char *sub) {
  return pl_sprintf("%s/%s/%s/%s/%s", p->base, p->name, run_id, o->id, sub);
}

/* One engine run: operations [k, end). The source is the load (k = 0), a repartition of the
 * previous component's output (ops[k] is a repartition), or that output as it is. */
static pl_status plan(pl_pipeline *p, pl_engine *e, int k, int end, const char *run_id, uint64_t memory,
                      void **cstate, pl_error *err) {
  pl_status st = PL_OK;
  pl_source *src;
  bool repart = k > 0 && p->ops[k].kind == K_REPART;
  if (k == 0 && (p->ops[0].kind == K_LOAD_CSV || p->ops[0].kind == K_LOAD_JSONL)) {
    op *o = &p->ops[0];
    char *dir = comp_dir(p, run_id, o, "_staging");
    int n = 0;
    char **files = NULL;
    st = stage_text(p, o, dir, memory, &n, &files, err);
    pl_free(dir);
    uint64_t psize = 64u << 20;
    pl_parse_size(arg_str(o, "partition_size"), &psize, NULL);
    src = st ? NULL : pl_source_parquet_new(n, (const char *const *)files, 0, NULL, psize, err);
    for (int i = 0; i < n; i++) pl_free(files[i]);
    pl_free(files);
    if (st) return st;
    if (!src) return err ? err->code : PL_EIO;
    if ((st = pl_engine_set_source(e, o->id, src, true, err))) return st;
  } else if (k == 0) {
    op *o = &p->ops[0];
    src = pl_source_parquet_new(o->n_files, (const char *const *)o->files, 0, NULL, o->partition_size, err);
    if (!src) return err ? err->code : PL_EIO;
    if (!o->mapped) {
      const pl__ynode *m = arg(o, "column_name_mapping");
      for (int i = 0; m && m->kind == PL_Y_MAP && i < m->n && !st; i++)
        st = pl_source_rename(src, m->keys[i], m->kids[i]->str, err);
      if (st) {
        pl_source_free(src);
        return st;
      }
      if ((st = pl_engine_set_source(e, o->id, src, true, err))) return st;
    } else {
      char name[96];
      snprintf(name, sizeof name, "read-%s", o->id);
      if ((st = pl_engine_set_source(e, name, src, false, err))) return st;
      st = pl_engine_add_transform(e, o->id, pl__fn_copy, o->limit > 0 ? &o->limit : NULL, o->n_consumes,
                                   (const char *const *)o->consumes, &o->produces, err);
      if (st) return st;
    }
  } else {
    op *prev = &p->ops[k - 1];
    const char **locs = pl_calloc((size_t)prev->schema.n_fields, sizeof(char *));
    char **own = pl_calloc((size_t)prev->schema.n_fields, sizeof(char *));
    for (int32_t i = 1; i < prev->schema.n_fields; i++) {
      char *l = location(p, prev->owner[i], prev->schema.fields[i].name);
      own[i] = pl_sprintf("%s/%s", p->base, l);
      locs[i] = own[i];
      pl_free(l);
    }
    char *l = location(p, prev->owner[0], "index");
    char *ix = pl_sprintf("%s/%s", p->base, l);
    pl_free(l);
    uint64_t psize = 0;
    if (repart) pl_parse_size(arg_str(&p->ops[k], "partition_size"), &psize, NULL);
    src = repart ? pl__repart_source_new(ix, &prev->schema, locs, psize, cstate, err)
                 : pl__cached_source_new(ix, &prev->schema, locs, cstate, err);
    pl_free(ix);
    for (int32_t i = 1; i < prev->schema.n_fields; i++) pl_free(own[i]);
    pl_free(own);
    pl_free(locs);
    if (!src) return err ? err->code : PL_EIO;
    if (repart) st = pl_engine_set_source(e, p->ops[k].id, src, true, err);
    else st = pl_engine_set_source(e, "cache-input", src, false, err);
    if (st) return st;
  }
  for (int i = k == 0 || repart ? k + 1 : k; i < end && !st; i++) {
    op *o = &p->ops[i];
    const char *const *cons = (const char *const *)o->consumes;
    switch (o->kind) {
    case K_FILTER:
      st = pl_engine_add_transform(e, o->id, pl__fn_filter, &o->expr, o->n_consumes, cons, &o->produces, err);
      break;
    case K_DERIVE:
      st = pl_engine_add_transform(e, o->id, pl__fn_derive, &o->derive, o->n_consumes, cons, &o->produces, err);
      break;
    case K_SELECT:
    case K_DROP: st = pl_engine_add_transform(e, o->id, pl__fn_noop, NULL, 0, NULL, NULL, err); break;
    case K_RENAME:
      st = pl_engine_add_transform(e, o->id, pl__fn_copy, NULL, o->n_consumes, cons, &o->produces, err);
      break;
    case K_SAMPLE:
      st = pl_engine_add_transform(e, o->id, pl__fn_sample, &o->sample, 0, NULL, &o->produces, err);
      break;
    case K_DEDUP: st = pl_engine_add_dedup(e, o->id, o->n_consumes, cons, err); break;
    case K_PLUGIN:
      if (o->plugin.vt->init && !o->plugin.st) {
        char msg[512] = "";
        char *a = pl__ynode_json(o->args);
        int rc = o->plugin.vt->init(a, &o->plugin.st, msg, sizeof msg);
        pl_free(a);
        if (rc) return pl_error_set(err, PL_EINVAL, "component '%s': init: %s", o->id, msg);
      }
      o->plugin.names = &o->spec->consumes;
      st = pl_engine_add_transform(e, o->id, pl__fn_plugin, &o->plugin, o->n_consumes, cons, &o->produces, err);
      break;
    case K_FN: st = pl_engine_add_transform(e, o->id, o->fn, o->fn_state, o->n_consumes, cons, &o->produces, err); break;
    case K_WRITE_CSV:
    case K_WRITE_JSONL:
    case K_WRITE: {
      pl_export_options x;
      memset(&x, 0, sizeof x);
      pl_parquet_write_options_default(&x.write);
      char *xdir = NULL;
      if (o->kind == K_WRITE) {
        x.dir = arg_str(o, "path");
        pl_codec_parse(arg_str(o, "codec"), &x.write.codec, NULL);
        x.write.codec_level = (int)strtol(arg_str(o, "codec_level"), NULL, 10);
        pl_parse_size(arg_str(o, "max_file_bytes"), &x.max_file_bytes, NULL);
      } else {
        x.dir = xdir = comp_dir(p, run_id, o, "_export");
        x.write.codec = PL_CODEC_LZ4_RAW;
      }
      const op *prev = &p->ops[i - 1];
      const char **cols = pl_calloc((size_t)prev->schema.n_fields, sizeof(char *));
      for (int32_t c = 1; c < prev->schema.n_fields; c++) cols[c - 1] = prev->schema.fields[c].name;
      x.n_columns = prev->schema.n_fields - 1;
      x.columns = cols;
      if (x.n_columns == 0) x.n_columns = -1;
      st = pl_engine_set_export(e, o->id, &x, err);
      pl_free(cols);
      pl_free(xdir);
      break;
    }
    }
  }
  return st;
}

static const pl_component_report *engine_comp(const pl_engine_report *r, const char *name) {
  for (int i = 0; i < r->n_components; i++)
    if (!strcmp(r->components[i].name, name)) return &r->components[i];
  return NULL;
}

static void fill_report(const pl_pipeline *p, pl_pipeline_report *rep, const char *run_id, double t0) {
  snprintf(rep->run_id, sizeof rep->run_id, "%s", run_id);
  rep->seconds = pl_now() - t0;
  rep->peak_rss = pl_peak_rss();
  rep->n_ops = p->n;
  rep->n_cached = 0;
  for (int i = 0; i < p->n; i++) {
    const op *o = &p->ops[i];
    pl_op_report *r = &rep->ops[i];
    snprintf(r->name, sizeof r->name, "%s", o->id);
    r->rows_in = o->rows_in;
    r->rows_out = o->rows_out;
    r->cached = o->cached;
    r->seconds = o->cached ? 0 : rep->engine.seconds;
    snprintf(r->cache_key, sizeof r->cache_key, "%016llx", (unsigned long long)o->key);
    rep->n_cached += o->cached;
  }
}

pl_status pl_pipeline_run(pl_pipeline *p, const pl_run_options *ro, pl_pipeline_report *rep, pl_error *err) {
  double t0 = pl_now();
  pl_run_options dflt = pl_run_options_default();
  if (!ro) ro = &dflt;
  pl_pipeline_report local;
  if (!rep) rep = &local;
  memset(rep, 0, sizeof *rep);
  pl_status st = p->validated ? PL_OK : pl_pipeline_validate(p, err);
  if (st) return st;
  char *run_id = ro->resume ? pl_strdup(ro->resume) : new_run_id(p);
  if (ro->resume) {
    char *d = pl_sprintf("%s/%s/%s", p->base, p->name, run_id);
    bool ok = is_dir(d);
    pl_free(d);
    if (!ok) {
      pl_free(run_id);
      return pl_error_set(err, PL_ENOTFOUND, "--resume: no run '%s' under %s/%s", ro->resume, p->base, p->name);
    }
  }
  int k = 0;
  for (int i = 0; i < p->n; i++) {
    p->ops[i].cached = false;
    pl_free(p->ops[i].run_id);
    p->ops[i].run_id = pl_strdup(run_id);
  }
  if (!ro->no_cache)
    while (k < p->n && cache_lookup(p, &p->ops[k])) p->ops[k++].cached = true;
  if (k == p->n) {
    fill_report(p, rep, p->ops[p->n - 1].run_id, t0);
    pl_free(run_id);
    if (ro->report_path) {
      FILE *f = fopen(ro->report_path, "w");
      if (!f) return pl_error_set(err, PL_EIO, "%s: %s", ro->report_path, strerror(errno));
      pl_pipeline_report_json(rep, f);
      fclose(f);
    }
    return PL_OK;
  }
  pl_engine_options eo;
  pl_engine_options_default(&eo);
  eo.workers = ro->workers;
  eo.memory_limit = ro->memory_limit;
  eo.run_id = run_id;
  eo.resume = ro->resume != NULL;
  eo.progress = ro->progress;
  const char *delay = getenv("PRALINE_TEST_WRITER_DELAY_MS"); /* tests: a run slow enough to kill */
  if (delay) eo.test_writer_delay_ms = (unsigned)atoi(delay);
  /* a repartition ends an engine run: the next one reads its output */
  pl_engine_report *reps = pl_calloc(PL_PIPELINE_MAX_OPS, sizeof *reps);
  int n_reps = 0;
  for (int seg = k; !st && seg < p->n;) {
    int end = seg + 1;
    while (end < p->n && p->ops[end].kind != K_REPART) end++;
    void *cstate = NULL;
    pl_engine *e = pl_engine_new(p->base, p->name, &eo, err);
    if (!e) st = err ? err->code : PL_EINVAL;
    if (!st) st = plan(p, e, seg, end, run_id, ro->memory_limit, &cstate, err);
    if (!st) st = pl_engine_run(e, &reps[n_reps++], err);
    pl_engine_free(e);
    pl__cached_state_free(cstate);
    seg = end;
  }
  for (int i = k; !st && i < p->n; i++) { /* plugins: after their last batch */
    op *o = &p->ops[i];
    if (o->kind != K_PLUGIN || !o->plugin.vt->finish) continue;
    char msg[512] = "";
    if (o->plugin.vt->finish(o->plugin.st, msg, sizeof msg))
      st = pl_error_set(err, PL_EINVAL, "component '%s': finish: %s", o->id, msg);
  }
  if (n_reps) {
    rep->engine = reps[n_reps - 1];
    for (int r = 0; r + 1 < n_reps; r++) {
      rep->engine.seconds += reps[r].seconds;
      rep->engine.partitions += reps[r].partitions;
      rep->engine.partitions_skipped += reps[r].partitions_skipped;
      rep->engine.bytes_written += reps[r].bytes_written;
      rep->engine.spilled_bytes += reps[r].spilled_bytes;
      if (reps[r].peak_memory > rep->engine.peak_memory) rep->engine.peak_memory = reps[r].peak_memory;
    }
  }
  op *last = &p->ops[p->n - 1];
  if (!st && (last->kind == K_WRITE_CSV || last->kind == K_WRITE_JSONL)) {
    char *xdir = comp_dir(p, run_id, last, "_export");
    st = convert_export(last, xdir, ro->memory_limit, err);
    pl_free(xdir);
  }
  for (int i = k; !st && i < p->n; i++) {
    op *o = &p->ops[i];
    const pl_component_report *c = NULL;
    for (int r = 0; !c && r < n_reps; r++) c = engine_comp(&reps[r], o->id);
    o->rows_in = c ? c->rows_in : 0;
    o->rows_out = c ? c->rows_out : 0;
    json_t *m = manifest(p, i);
    char *dir = pl_sprintf("%s/%s/%s/%s", p->base, p->name, run_id, o->id);
    char *mp = pl_sprintf("%s/manifest.json", dir);
    st = mkdirs(dir, err);
    if (!st) st = write_json(mp, m, err);
    char *cdir = pl_sprintf("%s/%s/cache", p->base, p->name);
    char *cp = pl_sprintf("%s/%016llx.json", cdir, (unsigned long long)o->key);
    json_t *rows = json_object();
    json_object_set_new(rows, "in", json_integer(o->rows_in));
    json_object_set_new(rows, "out", json_integer(o->rows_out));
    json_object_set_new(m, "rows", rows);
    if (!st) st = mkdirs(cdir, err);
    if (!st) st = write_json(cp, m, err);
    json_decref(m);
    pl_free(dir);
    pl_free(mp);
    pl_free(cdir);
    pl_free(cp);
  }
  pl_free(reps);
  fill_report(p, rep, run_id, t0);
  pl_free(run_id);
  if (!st && ro->report_path) {
    FILE *f = fopen(ro->report_path, "w");
    if (!f) return pl_error_set(err, PL_EIO, "%s: %s", ro->report_path, strerror(errno));
    pl_pipeline_report_json(rep, f);
    fclose(f);
  }
  return st;
}

void pl_pipeline_report_json(const pl_pipeline_report *r, FILE *f) {
  json_t *j = json_object(), *cs = json_array();
  json_object_set_new(j, "run_id", json_string(r->run_id));
  json_object_set_new(j, "seconds", json_real(r->seconds));
  json_object_set_new(j, "peak_rss_bytes", json_integer((json_int_t)r->peak_rss));
  json_object_set_new(j, "cached_components", json_integer(r->n_cached));
  json_object_set_new(j, "partitions", json_integer(r->engine.partitions));
  json_object_set_new(j, "partitions_skipped", json_integer(r->engine.partitions_skipped));
  json_object_set_new(j, "bytes_written", json_integer((json_int_t)r->engine.bytes_written));
  json_object_set_new(j, "memory_limit", json_integer((json_int_t)r->engine.memory_limit));
  json_object_set_new(j, "peak_memory", json_integer((json_int_t)r->engine.peak_memory));
  json_object_set_new(j, "spilled_bytes", json_integer((json_int_t)r->engine.spilled_bytes));
  for (int i = 0; i < r->n_ops; i++) {
    json_t *c = json_object();
    json_object_set_new(c, "name", json_string(r->ops[i].name));
    json_object_set_new(c, "rows_in", json_integer(r->ops[i].rows_in));
    json_object_set_new(c, "rows_out", json_integer(r->ops[i].rows_out));
    json_object_set_new(c, "seconds", json_real(r->ops[i].seconds));
    json_object_set_new(c, "cached", json_boolean(r->ops[i].cached));
    json_object_set_new(c, "cache_key", json_string(r->ops[i].cache_key));
    json_array_append_new(cs, c);
  }
  json_object_set_new(j, "components", cs);
  json_dumpf(j, f, JSON_COMPACT | JSON_PRESERVE_ORDER);
  fputc('\n', f);
  json_decref(j);
}

/* spec.c — component specs: the YAML shape of fondant_component.yaml (name, description,
 * image, consumes, produces, args), parsed into a pl__spec with typed arguments. */
#include "pipeline/internal.h"

#include <string.h>

static const char *const arg_types[] = {NULL, "str", "int", "float", "bool", "size", "list", "dict"};

const char *pl__arg_type_name(int t) { return t > 0 && t < 8 ? arg_types[t] : "?"; }

void pl__spec_free(pl__spec *s) {
  if (!s) return;
  pl_free(s->name);
  pl_free(s->description);
  pl_free(s->library);
  pl_free(s->text);
  pl_schema_release(&s->consumes);
  pl_schema_release(&s->produces);
  for (int i = 0; i < s->n_args; i++) {
    pl_free(s->args[i].name);
    pl_free(s->args[i].description);
  }
  pl_free(s->args);
  pl__ynode_free(s->root);
  pl_free(s);
}

/* {field: {type: T}} or {field: T} or {additionalProperties: true} */
static pl_status parse_fields(const pl__ynode *n, const char *file, pl_schema *out, bool *additional,
                              pl_error *err) {
  if (!n) return PL_OK;
  if (n->kind != PL_Y_MAP)
    return pl_error_set(err, PL_EINVAL, "%s:%d:%d: expected a mapping of fields", file, n->line, n->col);
  for (int i = 0; i < n->n; i++) {
    const pl__ynode *v = n->kids[i];
    if (strcmp(n->keys[i], "additionalProperties") == 0) {
      if (additional) *additional = v->kind == PL_Y_SCALAR && strcmp(v->str, "true") == 0;
      continue;
    }
    const pl__ynode *t = v->kind == PL_Y_MAP ? pl__ymap_get(v, "type") : v;
    if (!t || t->kind != PL_Y_SCALAR)
      return pl_error_set(err, PL_EINVAL, "%s:%d:%d: field '%s': expected a type", file, v->line, v->col, n->keys[i]);
    pl_type ty;
    pl_error e2 = {0};
    if (pl_type_parse(t->str, &ty, &e2))
      return pl_error_set(err, PL_EINVAL, "%s:%d:%d: field '%s': %s", file, t->line, t->col, n->keys[i], e2.msg);
    pl_schema_add(out, pl_field_make(n->keys[i], ty, true));
  }
  return PL_OK;
}

pl_status pl__spec_parse(const char *text, const char *file, pl__spec **out, pl_error *err) {
  *out = NULL;
  pl__ynode *root;
  pl_status st = pl__yaml_parse(text, strlen(text), file, false, &root, err);
  if (st) return st;
  pl__spec *s = pl_calloc(1, sizeof *s);
  s->root = root;
  s->text = pl_strdup(text);
  pl_schema_init(&s->consumes);
  pl_schema_init(&s->produces);
  if (root->kind != PL_Y_MAP) {
    st = pl_error_set(err, PL_EINVAL, "%s:%d:%d: a component spec is a mapping", file, root->line, root->col);
    goto fail;
  }
  const pl__ynode *name = pl__ymap_get(root, "name");
  if (!name || name->kind != PL_Y_SCALAR) {
    st = pl_error_set(err, PL_EINVAL, "%s:%d:%d: the spec needs a 'name'", file, root->line, root->col);
    goto fail;
  }
  s->name = pl_strdup(name->str);
  const pl__ynode *d = pl__ymap_get(root, "description");
  s->description = pl_strdup(d && d->kind == PL_Y_SCALAR ? d->str : "");
  const pl__ynode *lib = pl__ymap_get(root, "library");
  if (!lib) lib = pl__ymap_get(root, "image");
  s->library = pl_strdup(lib && lib->kind == PL_Y_SCALAR ? lib->str : "builtin");
  if ((st = parse_fields(pl__ymap_get(root, "consumes"), file, &s->consumes, NULL, err))) goto fail;
  if ((st = parse_fields(pl__ymap_get(root, "produces"), file, &s->produces, &s->additional, err))) goto fail;
  const pl__ynode *args = pl__ymap_get(root, "args");
  if (args && args->kind != PL_Y_MAP) {
    st = pl_error_set(err, PL_EINVAL, "%s:%d:%d: 'args' must be a mapping", file, args->line, args->col);
    goto fail;
  }
  for (int i = 0; args && i < args->n; i++) {
    const pl__ynode *a = args->kids[i];
    const pl__ynode *t = pl__ymap_get(a, "type");
    int ty = 0;
    for (int k = 1; k < 8 && t && t->kind == PL_Y_SCALAR; k++)
      if (strcmp(t->str, arg_types[k]) == 0 || (k == PL_ARG_STRING && strcmp(t->str, "string") == 0)) ty = k;
    if (!ty) {
      int l = t ? t->line : a->line, c = t ? t->col : a->col;
      st = pl_error_set(err, PL_EINVAL, "%s:%d:%d: arg '%s': type must be str, int, float, bool, size, list or dict",
                        file, l, c, args->keys[i]);
      goto fail;
    }
    s->args = pl_realloc(s->args, sizeof(pl__arg) * (size_t)(s->n_args + 1));
    pl__arg *x = &s->args[s->n_args++];
    x->name = pl_strdup(args->keys[i]);
    const pl__ynode *ad = pl__ymap_get(a, "description");
    x->description = pl_strdup(ad && ad->kind == PL_Y_SCALAR ? ad->str : "");
    x->type = ty;
    x->def = pl__ymap_get(a, "default");
  }
  *out = s;
  return PL_OK;
fail:
  pl__spec_free(s);
  return st;
}

int pl_components_count(void) { return pl__builtin_count(); }
const char *pl_components_name(int i) {
  return i >= 0 && i < pl__builtin_count() ? pl__builtin_name(i) : NULL;
}
const char *pl_components_spec(const char *name) {
  for (int i = 0; i < pl__builtin_count(); i++)
    if (strcmp(pl__builtin_name(i), name) == 0) return pl__builtin_spec(i);
  return NULL;
}
const char *pl_components_description(const char *name) {
  static __thread char buf[256];
  const char *t = pl_components_spec(name);
  if (!t) return NULL;
  pl__spec *s;
  if (pl__spec_parse(t, name, &s, NULL)) return "";
  snprintf(buf, sizeof buf, "%s", s->description);
  pl__spec_free(s);
  char *nl = strstr(buf, ". ");
  if (nl) nl[1] = 0;
  nl = strchr(buf, '\n');
  if (nl) *nl = 0;
  return buf;
}

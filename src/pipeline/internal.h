/* pipeline/internal.h — what the pipeline files share: the YAML node tree (with marks),
 * component specs, and the built-in component kinds. */
#ifndef PL_PIPELINE_INTERNAL_H
#define PL_PIPELINE_INTERNAL_H

#include "praline/columnar.h"
#include "praline/component.h"
#include "praline/core.h"
#include "praline/engine.h"
#include "praline/pipeline.h"

/* ------------------------------------------------------------------ YAML tree */
enum { PL_Y_SCALAR = 1, PL_Y_MAP, PL_Y_SEQ };
typedef struct pl__ynode pl__ynode;
struct pl__ynode {
  int kind;
  char *str;       /* scalar value (env-expanded) */
  bool plain;      /* unquoted scalar */
  int line, col;   /* 1-based, of the value */
  int n;
  char **keys;     /* map keys */
  int *kline, *kcol; /* map key marks */
  pl__ynode **kids;
};
/* Parses text (a YAML document). file names the source in errors ("p.yaml:3:5: ..."). */
pl_status pl__yaml_parse(const char *text, size_t len, const char *file, bool expand_env,
                         pl__ynode **out, pl_error *err);
void pl__ynode_free(pl__ynode *n);
pl__ynode *pl__ymap_get(const pl__ynode *map, const char *key);
int pl__ymap_index(const pl__ynode *map, const char *key);
/* A YAML tree from a JSON text (for the C API); marks are 0. */
pl_status pl__yaml_from_json(const char *json, pl__ynode **out, pl_error *err);
/* Canonical JSON text of a node (pl_free it): maps keep their order. */
char *pl__ynode_json(const pl__ynode *n);
/* Nearest name among cands by edit distance (NULL if none is close). */
const char *pl__nearest(const char *name, int n, const char *const *cands);

/* ------------------------------------------------------------------ specs */
enum { PL_ARG_STRING = 1, PL_ARG_INT, PL_ARG_FLOAT, PL_ARG_BOOL, PL_ARG_SIZE, PL_ARG_LIST, PL_ARG_DICT };
typedef struct pl__arg {
  char *name, *description;
  int type;
  pl__ynode *def; /* NULL = required */
} pl__arg;
typedef struct pl__spec {
  char *name, *description, *library, *text;
  pl_schema consumes, produces;
  bool additional; /* produces: additionalProperties: true */
  int n_args;
  pl__arg *args;
  pl__ynode *root;
} pl__spec;
pl_status pl__spec_parse(const char *text, const char *file, pl__spec **out, pl_error *err);
void pl__spec_free(pl__spec *s);
const char *pl__arg_type_name(int t);

/* Built-in specs embedded in the library. */
int pl__builtin_count(void);
const char *pl__builtin_name(int i);
const char *pl__builtin_spec(int i);

/* ------------------------------------------------------------------ component functions */
typedef struct pl__filter_state {
  struct pl_expr *e;
} pl__filter_state;
pl_status pl__fn_filter(const pl_batch *in, pl_batch *out, void *state, pl_error *err);
typedef struct pl__derive_state {
  int n;
  struct pl_expr **e;
} pl__derive_state;
pl_status pl__fn_derive(const pl_batch *in, pl_batch *out, void *state, pl_error *err);
pl_status pl__fn_noop(const pl_batch *in, pl_batch *out, void *state, pl_error *err);
/* Copies consumed columns 1..n of in to out's columns 0..n-1 (rename, column mapping);
 * state: an int64 row limit (or NULL), for n_rows_to_load (then out has id first). */
pl_status pl__fn_copy(const pl_batch *in, pl_batch *out, void *state, pl_error *err);
typedef struct pl__sample_state {
  double fraction;
  uint64_t seed;
} pl__sample_state;
pl_status pl__fn_sample(const pl_batch *in, pl_batch *out, void *state, pl_error *err);
typedef struct pl__plugin_state {
  const pl_component_v1 *vt;
  void *st;
  const pl_schema *names; /* the spec's consumes: names the plugin sees (after id) */
} pl__plugin_state;
pl_status pl__fn_plugin(const pl_batch *in, pl_batch *out, void *state, pl_error *err);

/* A source over a component's column-wise output (index + field locations), for reruns that
 * start after cached components. locs[i] is the directory of schema field i (i >= 1). */
pl_source *pl__cached_source_new(const char *index_dir, const pl_schema *schema,
                                 const char *const *locs, void **state, pl_error *err);
void pl__cached_state_free(void *state);
/* The same output cut into new partitions of about target_bytes (equal row ranges). */
pl_source *pl__repart_source_new(const char *index_dir, const pl_schema *schema, const char *const *locs,
                                 uint64_t target_bytes, void **state, pl_error *err);

#endif

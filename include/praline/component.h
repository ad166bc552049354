/* praline/component.h — the component ABI: what a plugin `.so` exports, and what a built-in
 * C function looks like.
 *
 * A plugin exports one symbol, `praline_component_v1`, returning a pointer to a static
 * pl_component_v1. praline reads the spec (YAML, the shape of fondant_component.yaml) from
 * it, checks the pipeline against the spec, then per run:
 *   init(args_json)        once, from the thread that runs the pipeline; returns a state
 *   process(state, in, out) once per batch, from several worker threads at once: `in` is a
 *                          struct array ("+s") holding `id` then the consumed fields (named as
 *                          in the spec), `out` must be filled with a struct array of the
 *                          produced fields (one row per input row), or of `id` plus the
 *                          produced fields for a component that drops rows (a filter).
 *   finish(state)          once after the last batch (may be NULL)
 *   free(state)            always, also after a failure (may be NULL)
 * Batches cross the boundary through the Arrow C Data Interface (praline/arrow_abi.h): the
 * callee reads `in` (owned by praline, valid during the call) and moves a new array into
 * `out` (praline calls its release). Errors: return non-zero and write a NUL-terminated
 * message into errbuf (errcap bytes). Plugins link nothing from praline: this header and
 * arrow_abi.h are all they need.
 */
#ifndef PRALINE_COMPONENT_H
#define PRALINE_COMPONENT_H

#include <stddef.h>
#include <stdint.h>

#include "praline/arrow_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PL_COMPONENT_ABI_V1 1u

typedef struct pl_component_v1 {
  uint32_t abi_version; /* PL_COMPONENT_ABI_V1 */
  const char *spec_yaml; /* the component's spec, as in components/<name>.yaml */
  int (*init)(const char *args_json, void **state, char *errbuf, size_t errcap);
  int (*process)(void *state, const struct ArrowSchema *in_schema, const struct ArrowArray *in,
                 struct ArrowSchema *out_schema, struct ArrowArray *out, char *errbuf,
                 size_t errcap);
  int (*finish)(void *state, char *errbuf, size_t errcap);
  void (*free)(void *state);
} pl_component_v1;

/* The symbol a plugin exports. */
typedef const pl_component_v1 *(*pl_component_entry_v1)(void);
#define PL_COMPONENT_ENTRY_V1 "praline_component_v1"

#ifdef __cplusplus
}
#endif
#endif

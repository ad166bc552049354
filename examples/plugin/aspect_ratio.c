/* aspect_ratio.c — a praline plugin component, built out of tree against the installed headers:
 *   cc -shared -fPIC $(pkg-config --cflags praline) -o aspect_ratio.so aspect_ratio.c
 * It consumes width and height (int32) and produces aspect = width / height (float64, null when
 * either is null or height is 0). Batches arrive and leave through the Arrow C Data Interface,
 * so the plugin links nothing from praline. */
#include <praline/component.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char spec[] =
    "name: aspect_ratio\n"
    "description: width / height as float64 (a plugin example)\n"
    "library: aspect_ratio.so\n"
    "consumes:\n"
    "  width: {type: int32}\n"
    "  height: {type: int32}\n"
    "produces:\n"
    "  aspect: {type: float64}\n"
    "args:\n"
    "  scale:\n"
    "    description: multiply the ratio by this\n"
    "    type: float\n"
    "    default: 1.0\n";

typedef struct state {
  double scale;
} state;

static int init(const char *args_json, void **out, char *errbuf, size_t errcap) {
  state *s = calloc(1, sizeof *s);
  if (!s) return snprintf(errbuf, errcap, "out of memory"), 1;
  s->scale = 1.0;
  const char *p = strstr(args_json, "\"scale\":");
  if (p) s->scale = strtod(p + 8 + (p[8] == '"'), NULL); /* args arrive as JSON strings */
  *out = s;
  return 0;
}

static void free_state(void *s) { free(s); }

/* ------------------------------------------------------------------ output arrays */
static void release_schema(struct ArrowSchema *s) {
  for (int64_t i = 0; i < s->n_children; i++) {
    if (s->children[i]->release) s->children[i]->release(s->children[i]);
    free(s->children[i]); /* children are allocated here; the parent struct is the caller's */
  }
  free(s->children);
  free(s->private_data);
  s->release = NULL;
}
static void release_array(struct ArrowArray *a) {
  for (int64_t i = 0; i < a->n_children; i++) {
    if (a->children[i]->release) a->children[i]->release(a->children[i]);
    free(a->children[i]);
  }
  free(a->children);
  for (int64_t i = 0; i < a->n_buffers; i++) free((void *)a->buffers[i]);
  free(a->buffers);
  a->release = NULL;
}

static int find(const struct ArrowSchema *s, const char *name) {
  for (int64_t i = 0; i < s->n_children; i++)
    if (s->children[i]->name && strcmp(s->children[i]->name, name) == 0) return (int)i;
  return -1;
}

static int valid(const struct ArrowArray *a, int64_t i) {
  const uint8_t *v = a->buffers[0];
  int64_t k = i + a->offset;
  return !v || ((v[k >> 3] >> (k & 7)) & 1);
}

static int process(void *st, const struct ArrowSchema *in_schema, const struct ArrowArray *in,
                   struct ArrowSchema *out_schema, struct ArrowArray *out, char *errbuf, size_t errcap) {
  state *s = st;
  int w = find(in_schema, "width"), h = find(in_schema, "height");
  if (w < 0 || h < 0) return snprintf(errbuf, errcap, "no width/height in the input"), 1;
  const struct ArrowArray *wa = in->children[w], *ha = in->children[h];
  const int32_t *wv = (const int32_t *)wa->buffers[1] + wa->offset;
  const int32_t *hv = (const int32_t *)ha->buffers[1] + ha->offset;
  int64_t n = in->length;
  double *vals = malloc(sizeof(double) * (size_t)(n ? n : 1));
  uint8_t *bits = calloc(1, (size_t)(n / 8 + 1));
  int64_t nulls = 0;
  for (int64_t i = 0; i < n; i++) {
    vals[i] = 0;
    if (valid(wa, i) && valid(ha, i) && hv[i] != 0) {
      vals[i] = s->scale * (double)wv[i] / (double)hv[i];
      bits[i >> 3] |= (uint8_t)(1u << (i & 7));
    } else nulls++;
  }
  /* the child array: float64 */
  struct ArrowArray *ca = calloc(1, sizeof *ca);
  ca->length = n;
  ca->null_count = nulls;
  ca->n_buffers = 2;
  ca->buffers = calloc(2, sizeof(void *));
  ca->buffers[0] = bits;
  ca->buffers[1] = vals;
  ca->release = release_array;
  memset(out, 0, sizeof *out);
  out->length = n;
  out->n_buffers = 1;
  out->buffers = calloc(1, sizeof(void *));
  out->n_children = 1;
  out->children = calloc(1, sizeof(void *));
  out->children[0] = ca;
  out->release = release_array;
  struct ArrowSchema *cs = calloc(1, sizeof *cs);
  cs->format = "g";
  cs->name = "aspect";
  cs->flags = ARROW_FLAG_NULLABLE;
  cs->release = release_schema;
  memset(out_schema, 0, sizeof *out_schema);
  out_schema->format = "+s";
  out_schema->name = "";
  out_schema->n_children = 1;
  out_schema->children = calloc(1, sizeof(void *));
  out_schema->children[0] = cs;
  out_schema->release = release_schema;
  return 0;
}

static const pl_component_v1 vtable = {
    .abi_version = PL_COMPONENT_ABI_V1,
    .spec_yaml = spec,
    .init = init,
    .process = process,
    .finish = NULL,
    .free = free_state,
};

const pl_component_v1 *praline_component_v1(void) { return &vtable; }

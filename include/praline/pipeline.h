/* praline/pipeline.h — pipelines of components over a dataset: YAML loading, validation,
 * manifests (lineage), cache keys, and running on the engine.
 *
 * A pl_pipeline is built by one thread (pl_pipeline_load or pl_pipeline_new + add), then
 * validated and run. Nothing here is thread-safe; transforms given to pl_pipeline_add_fn are
 * called from worker threads (see engine.h). Errors found in YAML name the file, line and
 * column ("p.yaml:7:24: field 'widht' not found; did you mean 'width'?").
 */
#ifndef PRALINE_PIPELINE_H
#define PRALINE_PIPELINE_H

#include <stdio.h>

#include "praline/columnar.h"
#include "praline/core.h"
#include "praline/engine.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PL_FORMAT_VERSION "praline-format-1"

typedef struct pl_pipeline pl_pipeline;

/* Reads pipeline.yaml (strings expand ${VAR} and ${VAR:-default} from the environment). */
pl_pipeline *pl_pipeline_load(const char *path, pl_error *err);
pl_pipeline *pl_pipeline_new(const char *name, const char *base_path, pl_error *err);
void pl_pipeline_free(pl_pipeline *p);
/* component: a built-in name or a spec path; args_json: a JSON object (NULL = {}). */
pl_status pl_pipeline_add(pl_pipeline *p, const char *component, const char *args_json,
                          pl_error *err);
/* A C transform; spec_yaml gives at least consumes and produces (as in a component spec). */
typedef pl_status (*pl_pipeline_fn)(const pl_batch *in, pl_batch *out, void *state,
                                    pl_error *err);
pl_status pl_pipeline_add_fn(pl_pipeline *p, const char *name, pl_pipeline_fn fn, void *state,
                             const char *spec_yaml, pl_error *err);

/* Checks everything that can be checked before data is read. PL_EINVAL on a user error. */
pl_status pl_pipeline_validate(pl_pipeline *p, pl_error *err);

typedef struct pl_run_options {
  int workers;           /* 0 = cores */
  uint64_t memory_limit; /* 0 = 50% of RAM */
  const char *resume;    /* run id to resume, or NULL */
  bool no_cache;         /* ignore cached components */
  const char *report_path; /* JSON report, or NULL */
  int progress;          /* progress line on a TTY */
} pl_run_options;
pl_run_options pl_run_options_default(void);

#define PL_PIPELINE_MAX_OPS 32
typedef struct pl_op_report {
  char name[64];
  int64_t rows_in, rows_out;
  double seconds; /* fused components share one clock: the run's wall time; 0 if cached */
  bool cached;
  char cache_key[17];
} pl_op_report;

typedef struct pl_pipeline_report {
  char run_id[128];
  double seconds;
  uint64_t peak_rss;
  int n_ops, n_cached;
  pl_op_report ops[PL_PIPELINE_MAX_OPS];
  pl_engine_report engine; /* zero when every component was cached */
} pl_pipeline_report;

pl_status pl_pipeline_run(pl_pipeline *p, const pl_run_options *o, pl_pipeline_report *rep,
                          pl_error *err);
void pl_pipeline_report_json(const pl_pipeline_report *r, FILE *f);

/* Built-in components: their count, names and spec YAML text. */
int pl_components_count(void);
const char *pl_components_name(int i);
const char *pl_components_spec(const char *name); /* NULL if unknown */
const char *pl_components_description(const char *name);

#ifdef __cplusplus
}
#endif
#endif

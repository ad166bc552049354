/* run.c — the scheduler. Workers take partitions in number order, reserve each one's
 * estimated peak from the process-wide budget (waiting while it does not fit), read it, run
 * the fused chain of transforms over its batches, and push the finished partition to a
 * writer queue bounded in bytes. Writer threads write every component's produced fields
 * column-wise, rename the files, append the journals, free the partition and release its
 * reservation. A partition too big for the whole budget is run in pieces by its worker,
 * which then writes the pieces itself into files it keeps open.
 *
 * Why a per-task budget: every buffer of a partition is charged to a budget whose limit is
 * the reservation, so the sum of what all partitions hold never exceeds the process budget,
 * and an underestimate shows as PL_ELIMIT in that one task, which is then retried with a
 * larger reservation (or in pieces), never as memory the process does not have. */
#include "engine/internal.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { C_SOURCE = 1, C_TRANSFORM, C_DEDUP, C_EXPORT };
/* Writer memory for a copied source's partition: the input footer, a 256 KiB copy buffer and
 * 64 Ki ids (see src/parquet/copy.c). */
#define COPY_NEED ((size_t)2 << 20)

typedef struct comp {
  int kind;
  char *name, *dir;
  pl_transform_fn fn;
  void *state;
  int n_consumes;
  char **consumes;
  pl_schema produces; /* transform: as declared; source: the source's fields */
  bool filter;        /* changes the rows: writes its index */
  bool write;         /* writes column-wise files */
  bool copy;          /* source: writes them by copying the files' column chunks (session_close) */
  int n_keys;
  char **keys;
  pl_export_options exp;
  char *exp_dir;
  char **exp_cols; /* exp.n_columns names (copied) */
  pl__journal journal;
  _Atomic int64_t rows_in, rows_out;
  _Atomic uint64_t bytes;
} comp;

struct pl_engine {
  char *base, *pipeline, *run_id, *run_dir, *spill_dir;
  pl_engine_options o;
  pl_source *src;
  int n_comps;
  comp comps[PL_ENGINE_MAX_COMPONENTS];
  int dedup_at; /* index of the dedup component, -1 = none */
  bool ran;
  /* run state */
  pl_budget *global;
  size_t budget_limit, batch_bytes, writer_fixed;
  pl_parquet_write_options wo;
  pl_queue *queue;   /* finished tasks, to the writer threads */
  pl_pool *committer; /* one thread: commits finished partitions (commit_task); NULL = inline */
  pl_pool *helper;    /* one thread: the export's second lane at the tail (export_parallel) */
  atomic_bool helping; /* a writer has the helper */
  pl__dedup *dedup;
  int stage;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int64_t next_p, outstanding, done_parts, skipped;
  int64_t *retry_p;
  size_t *retry_r;
  int n_retry, cap_retry;
  bool failed;
  pl_error first_err;
  double ratio;  /* estimated peak / footer bytes, corrected by measured peaks */
  double ratio_big; /* the same, measured on partitions of at least half the largest one */
  bool measured_big;
  uint64_t max_part_bytes;
  bool measured;
  _Atomic uint64_t splits, retries, rows_done, bytes_done, writer_waits;
  bool progress_on, progress_stop;
  pthread_t progress_thread;
  double t0;
};

/* ------------------------------------------------------------------ options, building */
void pl_engine_options_default(pl_engine_options *o) {
  memset(o, 0, sizeof *o);
  o->progress = 1;
  /* the column-wise files take the writer's defaults: zstd at praline's level 1 */
  pl_parquet_write_options_default(&o->write);
}


static bool valid_name(const char *s) {
  if (!s || !*s || strlen(s) >= 64 || s[0] == '.' || s[0] == '_') return false;
  for (const char *c = s; *c; c++)
    if (*c == '/' || *c == '\\') return false;
  return true;
}

pl_engine *pl_engine_new(const char *base_path, const char *pipeline,
                         const pl_engine_options *o, pl_error *err) {
  if (!base_path || !valid_name(pipeline))
    return pl_error_set(err, PL_EINVAL, "engine: a base path and a pipeline name are required"),
           NULL;
  pl_engine *e = pl_calloc(1, sizeof *e);
  if (o) e->o = *o;
  else pl_engine_options_default(&e->o);
  e->base = pl_strdup(base_path);
  e->pipeline = pl_strdup(pipeline);
  if (e->o.run_id && *e->o.run_id) {
    e->run_id = pl_strdup(e->o.run_id);
  } else {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    e->run_id = pl_sprintf("%s-%04d%02d%02d%02d%02d%02d", pipeline, tm.tm_year + 1900,
                           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  }
  e->o.run_id = e->run_id;
  e->run_dir = pl_sprintf("%s/%s/%s", e->base, e->pipeline, e->run_id);
  e->spill_dir = e->o.spill_dir ? pl_strdup(e->o.spill_dir) : pl_sprintf("%s/_spill", e->run_dir);
  e->o.spill_dir = e->spill_dir;
  e->o.report_path = NULL;
  if (o && o->report_path) e->o.report_path = o->report_path;
  e->dedup_at = -1;
  pthread_mutex_init(&e->mu, NULL);
  pthread_cond_init(&e->cv, NULL);
  return e;
}

const char *pl_engine_run_dir(const pl_engine *e) { return e->run_dir; }

static void comp_release(comp *c) {
  pl_free(c->name);
  pl_free(c->dir);
  for (int i = 0; i < c->n_consumes; i++) pl_free(c->consumes[i]);
  pl_free(c->consumes);
  for (int i = 0; i < c->n_keys; i++) pl_free(c->keys[i]);
  pl_free(c->keys);
  pl_schema_release(&c->produces);
  pl_free(c->exp_dir);
  for (int i = 0; c->exp_cols && i < c->exp.n_columns; i++) pl_free(c->exp_cols[i]);
  pl_free(c->exp_cols);
  if (c->journal.path) pl__journal_close(&c->journal);
}

void pl_engine_free(pl_engine *e) {
  if (!e) return;
  for (int i = 0; i < e->n_comps; i++) comp_release(&e->comps[i]);
  pl_source_free(e->src);
  pl_free(e->base);
  pl_free(e->pipeline);
  pl_free(e->run_id);
  pl_free(e->run_dir);
  pl_free(e->spill_dir);
  pl_free(e->retry_p);
  pl_free(e->retry_r);
  pthread_mutex_destroy(&e->mu);
  pthread_cond_destroy(&e->cv);
  pl_free(e);
}

static comp *add_comp(pl_engine *e, const char *name, int kind, pl_error *err) {
  if (e->ran) return pl_error_set(err, PL_EINVAL, "engine: already ran"), NULL;
  if (!valid_name(name) || strcmp(name, "index") == 0)
    return pl_error_set(err, PL_EINVAL, "engine: bad component name '%s'", name ? name : ""), NULL;
  if (e->n_comps == PL_ENGINE_MAX_COMPONENTS)
    return pl_error_set(err, PL_ELIMIT, "engine: more than %d components", PL_ENGINE_MAX_COMPONENTS), NULL;
  for (int i = 0; i < e->n_comps; i++)
    if (strcmp(e->comps[i].name, name) == 0)
      return pl_error_set(err, PL_EINVAL, "engine: two components named '%s'", name), NULL;
  if (kind != C_SOURCE && (e->n_comps == 0 || e->comps[0].kind != C_SOURCE))
    return pl_error_set(err, PL_EINVAL, "engine: set the source before adding '%s'", name), NULL;
  if (e->n_comps && e->comps[e->n_comps - 1].kind == C_EXPORT)
    return pl_error_set(err, PL_EINVAL, "engine: the export must come last ('%s' after it)", name), NULL;
  comp *c = &e->comps[e->n_comps++];
  memset(c, 0, sizeof *c);
  c->kind = kind;
  c->name = pl_strdup(name);
  c->dir = pl_sprintf("%s/%s", e->run_dir, name);
  c->journal.fd = -1;
  pl_schema_init(&c->produces);
  return c;
}

pl_status pl_engine_set_source(pl_engine *e, const char *component, pl_source *src,
                               bool write_fields, pl_error *err) {
  if (e->src || e->n_comps) {
    pl_source_free(src);
    return pl_error_set(err, PL_EINVAL, "engine: the source is set once, first");
  }
  comp *c = add_comp(e, component, C_SOURCE, err);
  if (!c) {
    pl_source_free(src);
    return err ? err->code : PL_EINVAL;
  }
  e->src = src;
  c->write = write_fields;
  return PL_OK;
}

pl_status pl_engine_add_transform(pl_engine *e, const char *component, pl_transform_fn fn,
                                  void *state, int n_consumes, const char *const *consumes,
                                  const pl_schema *produces, pl_error *err) {
  if (!fn) return pl_error_set(err, PL_EINVAL, "engine: transform '%s' has no function", component);
  comp *c = add_comp(e, component, C_TRANSFORM, err);
  if (!c) return err ? err->code : PL_EINVAL;
  c->fn = fn;
  c->state = state;
  c->write = true;
  c->n_consumes = n_consumes;
  c->consumes = pl_calloc((size_t)(n_consumes ? n_consumes : 1), sizeof(char *));
  for (int i = 0; i < n_consumes; i++) c->consumes[i] = pl_strdup(consumes[i]);
  if (produces) pl_schema_copy(&c->produces, produces);
  int32_t k = pl_schema_find(&c->produces, "id");
  if (k >= 0) {
    if (c->produces.fields[k].type.id != PL_INT64)
      return pl_error_set(err, PL_EINVAL, "transform '%s': a produced id must be int64", component);
    c->filter = true;
  }
  return PL_OK;
}

pl_status pl_engine_add_dedup(pl_engine *e, const char *component, int n_keys,
                              const char *const *keys, pl_error *err) {
  if (e->dedup_at >= 0) return pl_error_set(err, PL_EUNSUPPORTED, "engine: only one dedup stage");
  if (n_keys < 1) return pl_error_set(err, PL_EINVAL, "dedup '%s': no key fields", component);
  comp *c = add_comp(e, component, C_DEDUP, err);
  if (!c) return err ? err->code : PL_EINVAL;
  c->filter = true;
  c->write = true;
  c->n_keys = n_keys;
  c->keys = pl_calloc((size_t)n_keys, sizeof(char *));
  for (int i = 0; i < n_keys; i++) c->keys[i] = pl_strdup(keys[i]);
  e->dedup_at = e->n_comps - 1;
  return PL_OK;
}

pl_status pl_engine_set_export(pl_engine *e, const char *component, const pl_export_options *o,
                               pl_error *err) {
  if (!o || !o->dir) return pl_error_set(err, PL_EINVAL, "export '%s': no directory", component);
  comp *c = add_comp(e, component, C_EXPORT, err);
  if (!c) return err ? err->code : PL_EINVAL;
  c->exp = *o;
  c->exp_dir = pl_strdup(o->dir);
  c->exp.dir = c->exp_dir;
  if (o->n_columns > 0) {
    c->exp_cols = pl_calloc((size_t)o->n_columns, sizeof(char *));
    for (int i = 0; i < o->n_columns; i++) c->exp_cols[i] = pl_strdup(o->columns[i]);
    c->exp.columns = (const char *const *)c->exp_cols;
  } else {
    c->exp.n_columns = 0;
    c->exp.columns = NULL;
  }
  return PL_OK;
}

/* ------------------------------------------------------------------ failure */
static void fail_run(pl_engine *e, const pl_error *err, pl_status st) {
  pthread_mutex_lock(&e->mu);
  if (!e->failed) {
    e->failed = true;
    if (err && err->code) e->first_err = *err;
    else pl_error_set(&e->first_err, st ? st : PL_EINTERNAL, "engine: task failed");
  }
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
  pl_budget_cancel(e->global);
}

/* ------------------------------------------------------------------ tasks */
/* A unit's rows: row i of field k is row rows[k][i] of view->columns[k] when rows and
 * rows[k] are set (a filter's kept rows, gathered by the writer), else row i. */
typedef struct unit {
  int comp;
  pl_batch *view;
  const int64_t **rows; /* owned array, or NULL: every column as it is */
} unit;

/* A task's row counts per component, and which components it writes and counts. */
typedef struct tally {
  int64_t rows_in[PL_ENGINE_MAX_COMPONENTS], rows_out[PL_ENGINE_MAX_COMPONENTS];
  bool emit[PL_ENGINE_MAX_COMPONENTS];  /* writes and journals */
  bool count[PL_ENGINE_MAX_COMPONENTS]; /* counts rows in the report */
} tally;

typedef struct task {
  pl_engine *e;
  int64_t p;
  int stage;
  pl_budget *budget;  /* the task's, limit = reservation */
  size_t reserved;    /* held in e->global */
  size_t writer_need; /* writer memory beyond the units (writer_need), once read */
  bool own_budget;
  pl_batch **batches; /* owned */
  int n_batches, cap_batches;
  pl_column **cols;   /* owned loose columns */
  int n_cols, cap_cols;
  unit *units;
  int n_units, cap_units;
  int units_from; /* units added by the current chain call start here */
  const int64_t **map; /* the chain's current view: per field, its row map or NULL (see unit) */
  int cap_map;
  bool maps;           /* filters may map columns (select_rows) */
  tally tl;
  const int64_t *kept; /* dedup: kept ids of this partition, sorted */
  int64_t n_kept;
} task;

static void task_clear(task *t) {
  for (int i = 0; i < t->n_units; i++) {
    pl__view_free(t->units[i].view);
    pl_free(t->units[i].rows);
  }
  t->n_units = 0;
  for (int i = 0; i < t->n_batches; i++) pl_batch_free(t->batches[i]);
  t->n_batches = 0;
  for (int i = 0; i < t->n_cols; i++) pl_column_free(t->cols[i]);
  t->n_cols = 0;
}

static void task_free(task *t) {
  if (!t) return;
  task_clear(t);
  pl_free(t->units);
  pl_free(t->map);
  pl_free(t->batches);
  pl_free(t->cols);
  if (t->own_budget) pl_budget_free(t->budget);
  pl_free(t);
}

static void own_batch(task *t, pl_batch *b) {
  if (t->n_batches == t->cap_batches) {
    t->cap_batches = t->cap_batches ? 2 * t->cap_batches : 8;
    t->batches = pl_realloc(t->batches, sizeof(pl_batch *) * (size_t)t->cap_batches);
  }
  t->batches[t->n_batches++] = b;
}

static void own_col(task *t, pl_column *c) {
  if (t->n_cols == t->cap_cols) {
    t->cap_cols = t->cap_cols ? 2 * t->cap_cols : 16;
    t->cols = pl_realloc(t->cols, sizeof(pl_column *) * (size_t)t->cap_cols);
  }
  t->cols[t->n_cols++] = c;
}

/* Frees an owned column early (a filter dropped the rows it held). */
static void release_col(task *t, pl_column *c) {
  for (int i = 0; i < t->n_cols; i++)
    if (t->cols[i] == c) t->cols[i] = NULL;
  for (int i = 0; i < t->n_batches; i++)
    for (int32_t k = 0; k < t->batches[i]->schema.n_fields; k++)
      if (t->batches[i]->columns[k] == c) t->batches[i]->columns[k] = NULL;
  pl_column_free(c);
}

static bool in_units(const task *t, int from, const pl_column *c) {
  for (int i = from; i < t->n_units; i++)
    for (int32_t k = 0; k < t->units[i].view->schema.n_fields; k++)
      if (t->units[i].view->columns[k] == c) return true;
  return false;
}

/* rows: the maps of view's fields (copied; NULL: none). */
static void add_unit(task *t, int c, pl_batch *view, const int64_t *const *rows) {
  if (t->n_units == t->cap_units) {
    t->cap_units = t->cap_units ? 2 * t->cap_units : 8;
    t->units = pl_realloc(t->units, sizeof(unit) * (size_t)t->cap_units);
  }
  t->units[t->n_units].comp = c;
  t->units[t->n_units].view = view;
  t->units[t->n_units].rows = NULL;
  for (int32_t k = 0; rows && k < view->schema.n_fields; k++) {
    if (!rows[k]) continue;
    if (!t->units[t->n_units].rows)
      t->units[t->n_units].rows = pl_calloc((size_t)view->schema.n_fields, sizeof(int64_t *));
    t->units[t->n_units].rows[k] = rows[k];
  }
  t->n_units++;
}

static pl_batch *view_copy(const pl_batch *v, int from) {
  pl_batch *n = pl__view_new();
  for (int32_t i = from; i < v->schema.n_fields; i++) pl__view_add(n, &v->schema.fields[i], v->columns[i]);
  n->length = v->length;
  return n;
}

/* Room in t->map for n fields; new entries NULL. */
static void map_fit(task *t, int32_t n) {
  if (n <= t->cap_map) return;
  int cap = t->cap_map ? t->cap_map : 16;
  while (cap < n) cap *= 2;
  t->map = pl_realloc(t->map, sizeof(int64_t *) * (size_t)cap);
  for (int i = t->cap_map; i < cap; i++) t->map[i] = NULL;
  t->cap_map = cap;
}

/* Replaces the column named f->name in the chain's view v, or appends it; c is read as it is. */
static void view_set(task *t, pl_batch *v, const pl_field *f, pl_column *c) {
  int32_t k = pl_schema_find(&v->schema, f->name);
  if (k >= 0) {
    v->columns[k] = c;
    pl_field_release(&v->schema.fields[k]);
    pl_field_copy(&v->schema.fields[k], f);
  } else {
    pl__view_add(v, f, c);
    k = v->schema.n_fields - 1;
  }
  map_fit(t, k + 1);
  t->map[k] = NULL;
}

static bool in_view(const pl_batch *v, const pl_column *c) {
  for (int32_t k = 0; k < v->schema.n_fields; k++)
    if (v->columns[k] == c) return true;
  return false;
}

/* Gathers field k of the chain's view cur through its row map into a column of its own (for
 * a transform that reads it, or a stage that needs plain columns). The mapped column goes
 * when nothing else holds it. */
static pl_status make_dense(task *t, pl_batch *cur, int32_t k, pl_error *err) {
  if (!t->map[k]) return PL_OK;
  pl_column *old = cur->columns[k], *nc = NULL;
  bool shared = in_units(t, t->units_from, old);
  for (int32_t j = 0; j < cur->schema.n_fields; j++) shared |= j != k && cur->columns[j] == old;
  if (!shared && pl__column_compact(old, t->map[k], cur->length)) { /* held by cur alone: in place */
    t->map[k] = NULL;
    return PL_OK;
  }
  pl_status st = pl__column_take(old, t->map[k], cur->length, t->budget, &nc, err);
  if (st) return st;
  own_col(t, nc);
  cur->columns[k] = nc;
  t->map[k] = NULL;
  if (!shared) release_col(t, old);
  return PL_OK;
}

/* Row indexes of cur whose id appears in ids (both in the same order). */
static pl_status match_ids(const pl_column *cur_id, const pl_column *ids, int64_t *rows,
                           const char *who, pl_error *err) {
  const int64_t *a = (const int64_t *)cur_id->values.data;
  const int64_t *b = (const int64_t *)ids->values.data;
  int64_t i = 0;
  for (int64_t k = 0; k < ids->length; k++) {
    while (i < cur_id->length && a[i] != b[k]) i++;
    if (i == cur_id->length)
      return pl_error_set(err, PL_EINVAL,
                          "%s: produced id %lld is not an input id (ids must keep input order)",
                          who, (long long)b[k]);
    rows[k] = i++;
  }
  return PL_OK;
}

/* rows through the old map m (NULL: rows themselves), in an int64 column owned by t; made once
 * per distinct m of a select_rows call (cache: n_cache pairs of old map and composition). */
static pl_status composed(task *t, const int64_t *m, const int64_t *rows, int64_t n, const int64_t **cache,
                          int *n_cache, const int64_t **out, pl_error *err) {
  for (int j = 0; j < *n_cache; j++)
    if (cache[2 * j] == m) {
      *out = cache[2 * j + 1];
      return PL_OK;
    }
  pl_type i64 = pl_type_make(PL_INT64);
  pl_column *mc = pl_column_new(&i64, t->budget, err);
  if (!mc) return err ? err->code : PL_ENOMEM;
  own_col(t, mc);
  pl_status st = pl_column_reserve(mc, n, 0, err);
  if (st) return st;
  int64_t *e = (int64_t *)(void *)mc->values.data; /* NULL when n == 0 */
  if (m) for (int64_t k = 0; k < n; k++) e[k] = m[rows[k]];
  else if (n) memcpy(e, rows, sizeof(int64_t) * (size_t)n);
  mc->values.len = sizeof(int64_t) * (size_t)n;
  mc->length = n;
  cache[2 * *n_cache] = m;
  cache[2 * (*n_cache)++ + 1] = e;
  *out = e;
  return PL_OK;
}

/* Keeps rows (indexes) of every field of the chain's view *cur. The id is gathered at once. A
 * column that keeps at least half of its rows is not copied: it gets a row map (its old map
 * composed with rows), and the writers gather it (the filter's copy of every kept value, and
 * the page faults of its new buffers, were ~5% of W2a's CPU). A column that keeps fewer rows
 * is gathered into a column of its own, so that the rows dropped do not stay in memory. So
 * is every column when the budget holds fewer than MAP_ROOM partitions like this one (t->maps
 * false): a mapped column holds its dropped rows until the write, and at a tight limit that
 * memory is what bounds how many partitions overlap (W2a at 512MB, 85 MB partitions: 8 %
 * slower mapped; at 1GB and 1.5GB, 7 % faster). The choice depends on the plan alone (a
 * resumed run makes the same one). The maps are int64 columns owned by t; old columns no view
 * or unit holds are freed at once. */
#define MAP_ROOM 8
static pl_status select_rows(task *t, pl_batch **cur, const int64_t *rows, int64_t n,
                             pl_error *err) {
  pl_batch *v = *cur, *nv = pl__view_new();
  const int32_t nf = v->schema.n_fields;
  const int64_t **nmap = pl_calloc((size_t)nf, sizeof(int64_t *));
  const int64_t **cache = pl_calloc(2 * (size_t)nf + 2, sizeof(int64_t *));
  int n_cache = 0;
  pl_status st = PL_OK;
  for (int32_t i = 0; !st && i < nf; i++) {
    pl_column *c = v->columns[i];
    const int64_t *m = t->map[i];
    const bool mapped = i > 0 && t->maps && n * 2 >= c->length;
    /* a column of its own is taken through rows directly when it had no map */
    const int64_t *eff = rows;
    if ((m || mapped) && (st = composed(t, m, rows, n, cache, &n_cache, &eff, err))) break;
    if (mapped) {
      nmap[i] = eff;
      pl__view_add(nv, &v->schema.fields[i], c);
      continue;
    }
    pl_column *nc = NULL;
    if ((st = pl__column_take(c, eff, n, t->budget, &nc, err))) break;
    own_col(t, nc);
    pl__view_add(nv, &v->schema.fields[i], nc);
  }
  pl_free(cache);
  if (st) {
    pl__view_free(nv);
    pl_free(nmap);
    return st;
  }
  nv->length = n;
  for (int32_t i = 0; i < nf; i++) {
    pl_column *old = v->columns[i];
    bool dup = false;
    for (int32_t k = 0; k < i; k++) dup |= v->columns[k] == old;
    if (!dup && !in_view(nv, old) && !in_units(t, t->units_from, old)) release_col(t, old);
  }
  for (int32_t i = 0; i < nf; i++) t->map[i] = nmap[i];
  pl_free(nmap);
  pl__view_free(v);
  *cur = nv;
  return PL_OK;
}

static pl_status run_transform(task *t, int ci, pl_batch **cur, pl_error *err) {
  comp *c = &t->e->comps[ci];
  pl_batch *in = pl__view_new();
  pl__view_add(in, &(*cur)->schema.fields[0], (*cur)->columns[0]);
  in->length = (*cur)->length;
  for (int i = 0; i < c->n_consumes; i++) {
    int32_t k = pl_schema_find(&(*cur)->schema, c->consumes[i]);
    if (k < 0) {
      pl__view_free(in);
      return pl_error_set(err, PL_EINVAL, "component '%s' consumes '%s', which no earlier component produces",
                          c->name, c->consumes[i]);
    }
    pl_status st = make_dense(t, *cur, k, err);
    if (st) {
      pl__view_free(in);
      return st;
    }
    pl__view_add(in, &(*cur)->schema.fields[k], (*cur)->columns[k]);
  }
  in->length = (*cur)->length;
  pl_batch *out = pl_batch_new(&c->produces, t->budget, err);
  if (!out) {
    pl__view_free(in);
    return err ? err->code : PL_ENOMEM;
  }
  own_batch(t, out);
  pl_status st = c->fn(in, out, c->state, err);
  pl__view_free(in);
  if (!st && out->schema.n_fields) st = pl_batch_finish(out, err);
  if (st) {
    if (err && st != PL_ELIMIT) pl_error_prefix(err, "component '%s', partition %lld", c->name, (long long)t->p);
    return st;
  }
  int64_t n_in = (*cur)->length;
  if (c->filter) {
    int32_t k = pl_schema_find(&out->schema, "id");
    pl_column *ids = out->columns[k];
    if ((*cur)->schema.fields[0].type.id != PL_INT64)
      return pl_error_set(err, PL_EUNSUPPORTED, "component '%s': filters need an int64 id", c->name);
    int64_t *rows = pl_malloc(sizeof(int64_t) * (size_t)(ids->length ? ids->length : 1));
    char who[96];
    snprintf(who, sizeof who, "component '%s', partition %lld", c->name, (long long)t->p);
    st = match_ids((*cur)->columns[0], ids, rows, who, err);
    if (!st) st = select_rows(t, cur, rows, ids->length, err);
    pl_free(rows);
    if (st) return st;
  } else if (out->schema.n_fields && out->length != n_in) {
    return pl_error_set(err, PL_EINVAL,
                        "component '%s', partition %lld: produced %lld rows for %lld input rows "
                        "(a transform that drops rows must produce 'id')",
                        c->name, (long long)t->p, (long long)out->length, (long long)n_in);
  }
  for (int32_t i = 0; i < out->schema.n_fields; i++) {
    if (strcmp(out->schema.fields[i].name, "id") == 0) continue;
    view_set(t, *cur, &out->schema.fields[i], out->columns[i]);
  }
  t->tl.rows_in[ci] += n_in;
  t->tl.rows_out[ci] += (*cur)->length;
  if (t->tl.emit[ci]) {
    pl_batch *u = pl__view_new();
    pl__view_add(u, &(*cur)->schema.fields[0], (*cur)->columns[0]);
    for (int32_t i = 0; i < out->schema.n_fields; i++) {
      if (strcmp(out->schema.fields[i].name, "id") == 0) continue;
      int32_t k = pl_schema_find(&(*cur)->schema, out->schema.fields[i].name);
      pl__view_add(u, &(*cur)->schema.fields[k], (*cur)->columns[k]);
    }
    u->length = (*cur)->length;
    add_unit(t, ci, u, NULL);
  }
  return PL_OK;
}

static pl_status run_dedup(task *t, int ci, pl_batch **cur, pl_error *err) {
  pl_engine *e = t->e;
  comp *c = &e->comps[ci];
  int key_cols[16];
  if (c->n_keys > 16) return pl_error_set(err, PL_EUNSUPPORTED, "dedup '%s': more than 16 keys", c->name);
  for (int i = 0; i < c->n_keys; i++) {
    key_cols[i] = pl_schema_find(&(*cur)->schema, c->keys[i]);
    if (key_cols[i] < 0)
      return pl_error_set(err, PL_EINVAL, "dedup '%s': no field '%s'", c->name, c->keys[i]);
  }
  if ((*cur)->schema.fields[0].type.id != PL_INT64)
    return pl_error_set(err, PL_EUNSUPPORTED, "dedup '%s': needs an int64 id", c->name);
  int64_t n_in = (*cur)->length;
  if (t->stage == 0) { /* spills the ids and keys only: the other columns stay as they are */
    pl_status st = PL_OK;
    for (int i = 0; !st && i < c->n_keys; i++) st = make_dense(t, *cur, key_cols[i], err);
    return st ? st : pl__dedup_spill(e->dedup, *cur, c->n_keys, key_cols, 0, t->p, 0, err);
  }
  /* stage 1: keep the rows whose id is in the kept list */
  const int64_t *ids = (const int64_t *)(*cur)->columns[0]->values.data;
  int64_t *rows = pl_malloc(sizeof(int64_t) * (size_t)(n_in ? n_in : 1));
  int64_t n = 0;
  /* ids mostly come in ascending order: try the next kept id before searching */
  int64_t at = 0;
  for (int64_t i = 0; i < n_in; i++) {
    if (at >= t->n_kept || t->kept[at] != ids[i]) {
      int64_t l = 0, h = t->n_kept; /* the first kept id >= ids[i] */
      while (l < h) {
        int64_t m = l + (h - l) / 2;
        if (t->kept[m] < ids[i]) l = m + 1;
        else h = m;
      }
      at = l;
      if (at >= t->n_kept || t->kept[at] != ids[i]) continue;
    }
    rows[n++] = i;
    at++;
  }
  pl_status st = select_rows(t, cur, rows, n, err);
  pl_free(rows);
  if (st) return st;
  t->tl.rows_in[ci] += n_in;
  t->tl.rows_out[ci] += n;
  if (t->tl.emit[ci]) { /* a dedup produces no field: its index only */
    pl_batch *u = pl__view_new();
    pl__view_add(u, &(*cur)->schema.fields[0], (*cur)->columns[0]);
    u->length = (*cur)->length;
    add_unit(t, ci, u, NULL);
  }
  return PL_OK;
}

/* The export's unit: every column, or id and the chosen columns (in their order). */
static pl_status add_export_unit(task *t, int ci, const pl_batch *cur, pl_error *err) {
  comp *c = &t->e->comps[ci];
  if (c->exp.n_columns <= 0) {
    add_unit(t, ci, view_copy(cur, 0), t->map);
    return PL_OK;
  }
  pl_batch *u = pl__view_new();
  const int64_t **rows = pl_calloc((size_t)c->exp.n_columns + 1, sizeof(int64_t *));
  pl__view_add(u, &cur->schema.fields[0], cur->columns[0]);
  rows[0] = t->map[0];
  for (int i = 0; i < c->exp.n_columns; i++) {
    int32_t k = pl_schema_find(&cur->schema, c->exp.columns[i]);
    if (k < 0) {
      pl__view_free(u);
      pl_free(rows);
      return pl_error_set(err, PL_EINVAL, "export '%s': no column '%s'", c->name, c->exp.columns[i]);
    }
    pl__view_add(u, &cur->schema.fields[k], cur->columns[k]);
    rows[i + 1] = t->map[k];
  }
  u->length = cur->length;
  add_unit(t, ci, u, rows);
  pl_free(rows);
  return PL_OK;
}

/* The source's unit: every field, or with a copied source (copy_source) only the id and the
 * fields that cannot be copied; none when all can. */
static void add_source_unit(task *t, int ci, const pl_batch *cur) {
  const pl_source *src = t->e->src;
  if (!t->e->comps[ci].copy) {
    add_unit(t, ci, view_copy(cur, 0), NULL); /* the source's view has no maps */
    return;
  }
  pl_batch *u = NULL;
  for (int32_t k = 1; k < cur->schema.n_fields; k++) {
    if (src->copy_field[k]) continue;
    if (!u) {
      u = pl__view_new();
      pl__view_add(u, &cur->schema.fields[0], cur->columns[0]);
    }
    pl__view_add(u, &cur->schema.fields[k], cur->columns[k]);
  }
  if (!u) return;
  u->length = cur->length;
  add_unit(t, ci, u, NULL);
}

/* The fused chain over one batch of the source (taken). */
static pl_status chain(void *ctx, pl_batch *b, pl_error *err) {
  task *t = ctx;
  pl_engine *e = t->e;
  own_batch(t, b);
  t->units_from = t->n_units; /* earlier units hold earlier batches only */
  pl_batch *cur = view_copy(b, 0);
  map_fit(t, cur->schema.n_fields);
  for (int32_t k = 0; k < cur->schema.n_fields; k++) t->map[k] = NULL;
  pl_status st = PL_OK;
  for (int ci = 0; !st && ci < e->n_comps; ci++) {
    comp *c = &e->comps[ci];
    switch (c->kind) {
    case C_SOURCE:
      t->tl.rows_in[ci] += cur->length;
      t->tl.rows_out[ci] += cur->length;
      if (t->tl.emit[ci] && c->write) add_source_unit(t, ci, cur);
      break;
    case C_TRANSFORM: st = run_transform(t, ci, &cur, err); break;
    case C_DEDUP:
      st = run_dedup(t, ci, &cur, err);
      if (t->stage == 0) ci = e->n_comps; /* the stage ends here */
      break;
    case C_EXPORT:
      t->tl.rows_in[ci] += cur->length;
      t->tl.rows_out[ci] += cur->length;
      if (t->tl.emit[ci]) st = add_export_unit(t, ci, cur, err);
      break;
    }
  }
  pl__view_free(cur);
  return st;
}

/* ------------------------------------------------------------------ write sessions */
typedef struct fwriter {
  int comp;
  char *field; /* NULL = index */
  char *final;
  pl_parquet_writer *w;
} fwriter;

typedef struct session {
  pl_engine *e;
  int64_t p;
  pl_budget *budget;
  fwriter *f;
  int n, cap;
  pl_parquet_writer *xw; /* export */
  int xk;
  char *xfinal;
  uint64_t bytes[PL_ENGINE_MAX_COMPONENTS];
  bool copied;    /* the copied source's files are written (not yet fsynced) */
  char **unsynced; /* their paths, fsynced in session_close before the journal */
  int n_unsynced;
} session;

static void session_init(session *s, pl_engine *e, int64_t p, pl_budget *b) {
  memset(s, 0, sizeof *s);
  s->e = e;
  s->p = p;
  s->budget = b;
}

static uint64_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void session_abort(session *s) {
  for (int i = 0; i < s->n; i++) {
    if (s->f[i].w) pl_parquet_writer_abort(s->f[i].w);
    pl_free(s->f[i].field);
    pl_free(s->f[i].final);
  }
  pl_free(s->f);
  if (s->xw) pl_parquet_writer_abort(s->xw);
  pl_free(s->xfinal);
  for (int i = 0; i < s->n_unsynced; i++) pl_free(s->unsynced[i]);
  pl_free(s->unsynced);
  memset(s, 0, sizeof *s);
}

static pl_status export_close(session *s, pl_error *err) {
  int ci = s->e->n_comps - 1;
  pl_status st = pl_parquet_writer_close(s->xw, err);
  s->xw = NULL;
  if (!st) s->bytes[ci] += file_size(s->xfinal);
  pl_free(s->xfinal);
  s->xfinal = NULL;
  return st;
}

static pl_status write_export_rows(session *s, int ci, const pl_batch *v, const int64_t *const *rows,
                                   pl_error *err) {
  comp *c = &s->e->comps[ci];
  if (!s->xw) {
    if (s->xk == 0) s->xfinal = pl_sprintf("%s/part-%05lld.parquet", c->exp_dir, (long long)s->p);
    else s->xfinal = pl_sprintf("%s/part-%05lld.%d.parquet", c->exp_dir, (long long)s->p, s->xk);
    s->xw = pl_parquet_writer_open(s->xfinal, &v->schema, &c->exp.write, s->budget, err);
    if (!s->xw) return err ? err->code : PL_EIO;
  }
  pl_status st = pl_parquet_writer_write_rows(s->xw, v, rows, err);
  if (st) return st;
  /* bytes count flushed row groups, so a file is cut at a row-group boundary */
  if (c->exp.max_file_bytes && pl_parquet_writer_bytes(s->xw) >= c->exp.max_file_bytes) {
    st = export_close(s, err);
    s->xk++;
  }
  return st;
}

/* With max_file_bytes, a big batch is written in slices of about a quarter of it, so that
 * the file can be cut inside the batch; the slices depend only on the data. */
static pl_status write_export(session *s, int ci, const pl_batch *v, const int64_t *const *rows, pl_error *err) {
  uint64_t max = s->e->comps[ci].exp.max_file_bytes;
  size_t bytes = 0; /* a mapped column counts the share of its rows the map keeps */
  for (int32_t k = 0; k < v->schema.n_fields; k++) {
    const pl_column *c = v->columns[k];
    size_t b = pl_column_bytes(c);
    bytes += rows && rows[k] && c->length ? (size_t)((double)b * (double)v->length / (double)c->length) : b;
  }
  if (!max || v->length < 2 || bytes <= max / 4) return write_export_rows(s, ci, v, rows, err);
  int64_t step = (int64_t)((double)v->length * (double)(max / 4) / (double)bytes);
  if (step < 1) step = 1;
  pl_status st = PL_OK;
  for (int64_t at = 0; !st && at < v->length; at += step) {
    int64_t n = step < v->length - at ? step : v->length - at;
    pl_batch *sl = pl_batch_new(&v->schema, s->budget, err);
    if (!sl) return err ? err->code : PL_ENOMEM;
    for (int32_t k = 0; !st && k < v->schema.n_fields; k++)
      st = rows && rows[k] ? pl_column_append_rows(sl->columns[k], v->columns[k], rows[k] + at, n, err)
                           : pl_column_append_slice(sl->columns[k], v->columns[k], at, n, err);
    if (!st) st = pl_batch_finish(sl, err);
    if (!st) st = write_export_rows(s, ci, sl, NULL, err);
    pl_batch_free(sl);
  }
  return st;
}

static fwriter *find_writer(session *s, int ci, const char *field, const pl_schema *schema,
                            pl_error *err) {
  for (int i = 0; i < s->n; i++)
    if (s->f[i].comp == ci && ((!field && !s->f[i].field) ||
                               (field && s->f[i].field && strcmp(field, s->f[i].field) == 0)))
      return &s->f[i];
  comp *c = &s->e->comps[ci];
  char *dir = pl_sprintf("%s/%s", c->dir, field ? field : "index");
  if (pl__mkdirs(dir, err)) {
    pl_free(dir);
    return NULL;
  }
  char *final = pl_sprintf("%s/part.%05lld.parquet", dir, (long long)s->p);
  pl_free(dir);
  pl_parquet_writer *w = pl_parquet_writer_open(final, schema, &s->e->wo, s->budget, err);
  if (!w) {
    pl_free(final);
    return NULL;
  }
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 8;
    s->f = pl_realloc(s->f, sizeof(fwriter) * (size_t)s->cap);
  }
  fwriter *fw = &s->f[s->n++];
  fw->comp = ci;
  fw->field = field ? pl_strdup(field) : NULL;
  fw->final = final;
  fw->w = w;
  return fw;
}

/* Writes one unit: the index (id) and one file per produced field (id, field). */
static pl_status write_unit(session *s, const unit *u, pl_error *err) {
  const pl_batch *v = u->view;
  if (s->e->comps[u->comp].kind == C_EXPORT) return write_export(s, u->comp, v, (const int64_t *const *)u->rows, err);
  pl_status st = PL_OK;
  for (int32_t i = s->e->comps[u->comp].copy ? 1 : 0; !st && i < v->schema.n_fields; i++) {
    pl_batch *two = pl__view_new();
    pl__view_add(two, &v->schema.fields[0], v->columns[0]);
    if (i > 0) pl__view_add(two, &v->schema.fields[i], v->columns[i]);
    two->length = v->length;
    fwriter *fw = find_writer(s, u->comp, i ? v->schema.fields[i].name : NULL, &two->schema, err);
    const int64_t *rows[2] = {u->rows ? u->rows[0] : NULL, u->rows && i > 0 ? u->rows[i] : NULL};
    if (!fw) st = err ? err->code : PL_EIO;
    else st = pl_parquet_writer_write_rows(fw->w, two, rows, err);
    pl__view_free(two);
  }
  return st;
}

/* A copied source's files for partition p: the index and one (id, field) file per field, made
 * from the input's column chunks as they are (see pl_parquet_copy_field). */
static pl_status copy_source(session *s, int ci, pl_error *err) {
  pl_engine *e = s->e;
  comp *c = &e->comps[ci];
  const pl_source *src = e->src;
  const pl__part *pt = &src->parts[s->p];
  pl_parquet_file *f = pl_parquet_open(src->files[pt->file], NULL, s->budget, err);
  if (!f) return err ? err->code : PL_EIO;
  pl_status st = PL_OK;
  int64_t first = src->add_id ? pt->first_row : -1;
  for (int32_t k = 0; !st && k < src->schema.n_fields; k++) {
    if (!src->copy_field[k]) continue;
    const char *name = src->schema.fields[k].name;
    bool index = strcmp(name, "id") == 0;
    char *dir = pl_sprintf("%s/%s", c->dir, index ? "index" : name);
    char *path = pl_sprintf("%s/part.%05lld.parquet", dir, (long long)s->p);
    st = pl__mkdirs(dir, err);
    if (!st)
      st = pl_parquet_copy_field_as(f, pt->rg_start, pt->rg_count, index ? NULL : pl__source_file_column(src, name),
                                    index ? NULL : name, first, path, false, s->budget, err);
    if (!st) {
      s->bytes[ci] += file_size(path);
      s->unsynced = pl_realloc(s->unsynced, sizeof(char *) * (size_t)(s->n_unsynced + 1));
      s->unsynced[s->n_unsynced++] = path;
      path = NULL;
    }
    pl_free(dir);
    pl_free(path);
  }
  pl_parquet_close(f);
  s->copied = true;
  return st;
}

/* The copies first: the disk writes them back while the writer encodes the other files, and
 * session_close fsyncs them. */
static pl_status session_copy(session *s, const task *t, pl_error *err) {
  pl_status st = PL_OK;
  for (int ci = 0; !st && !s->copied && ci < s->e->n_comps; ci++)
    if (s->e->comps[ci].copy && t->tl.emit[ci]) st = copy_source(s, ci, err);
  return st;
}

/* Finishes every file: all bytes written, the writers' memory freed (the task's budget may
 * go), nothing yet fsynced nor renamed. */
static pl_status session_finish(session *s, const task *t, pl_error *err) {
  pl_status st = session_copy(s, t, err);
  for (int i = 0; !st && i < s->n; i++) st = pl_parquet_writer_finish(s->f[i].w, err);
  if (!st && s->xw) st = pl_parquet_writer_finish(s->xw, err);
  return st;
}

/* Makes a finished session durable: fsyncs and renames every file, then journals the
 * partition for each component and counts its rows. Frees what the session holds. */
static pl_status session_commit(session *s, const tally *tl, pl_error *err) {
  pl_engine *e = s->e;
  pl_status st = PL_OK;
  for (int i = 0; i < s->n_unsynced; i++)
    if (!st) st = pl_parquet_sync(s->unsynced[i], err);
  for (int i = 0; i < s->n; i++) {
    fwriter *fw = &s->f[i];
    if (!st) {
      st = pl_parquet_writer_close(fw->w, err);
      if (!st) s->bytes[fw->comp] += file_size(fw->final);
    } else {
      pl_parquet_writer_abort(fw->w);
    }
    fw->w = NULL;
  }
  if (!st && s->xw) st = export_close(s, err);
  for (int ci = 0; !st && ci < e->n_comps; ci++) {
    comp *c = &e->comps[ci];
    if (!tl->count[ci]) continue;
    if (tl->emit[ci])
      st = pl__journal_append(&c->journal, s->p, tl->rows_in[ci], tl->rows_out[ci], s->bytes[ci], err);
    if (!st) {
      c->rows_in += tl->rows_in[ci];
      c->rows_out += tl->rows_out[ci];
      c->bytes += s->bytes[ci];
      e->bytes_done += s->bytes[ci];
    }
  }
  session_abort(s); /* frees what is left (nothing open) */
  return st;
}

/* Closes (renames) every file, then journals the partition for each component. */
static pl_status session_close(session *s, const task *t, pl_error *err) {
  pl_status st = session_finish(s, t, err);
  if (st) {
    session_abort(s);
    return st;
  }
  return session_commit(s, &t->tl, err);
}

/* ------------------------------------------------------------------ commits */
/* A finished partition on its way to durability. The fsyncs of its files and journal lines
 * wait for the device; one commit thread does them so that the writer threads go on
 * encoding (the files are complete, and their memory is back in the budget). Commits keep
 * the journal's promise: a partition is journaled only once its files are durable under
 * their final names. */
typedef struct commit {
  session s;
  tally tl;
} commit;

static void task_done(pl_engine *e);

/* Commits c and frees it; the partition is then done. */
static void commit_task(void *arg) {
  commit *c = arg;
  pl_engine *e = c->s.e;
  int64_t p = c->s.p;
  pl_error err;
  pl_error_clear(&err);
  pl_status st = session_commit(&c->s, &c->tl, &err);
  pl_free(c);
  if (st) fail_run(e, &err, st);
  else e->rows_done += (uint64_t)e->src->parts[p].rows;
  task_done(e);
}


/* ------------------------------------------------------------------ help at the tail */
/* When the workers have taken every partition and the writer queue is empty, a writer is
 * alone with the last partitions while a core may sit idle (W2a: the last export took
 * ~0.39 s on one thread). Then an export's row group is encoded on two lanes: the writer
 * thread and a helper thread. Before that, every core is busy anyway, and the writer runs
 * its leaves itself. Only one writer is helped at a time. */
static bool at_tail(pl_engine *e) {
  if (pl_queue_len(e->queue) != 0) return false;
  pthread_mutex_lock(&e->mu);
  bool all_taken = e->next_p >= e->src->n_parts && e->n_retry == 0;
  pthread_mutex_unlock(&e->mu);
  return all_taken;
}

typedef struct lane_jobs {
  void (*fn)(void *, int, int);
  void *arg;
  int n;
  atomic_int next;
} lane_jobs;

static void help_task(void *arg) {
  lane_jobs *j = arg;
  for (int i; (i = atomic_fetch_add(&j->next, 1)) < j->n;) j->fn(j->arg, i, 1);
}

static void export_parallel(void *ctx, int n, void (*fn)(void *, int, int), void *arg) {
  pl_engine *e = ctx;
  lane_jobs j = {fn, arg, n, 0};
  bool use = e->helper && at_tail(e) && !atomic_exchange(&e->helping, true);
  if (use) pl_pool_submit(e->helper, help_task, &j);
  for (int i; (i = atomic_fetch_add(&j.next, 1)) < n;) fn(arg, i, 0);
  if (use) {
    pl_pool_wait(e->helper); /* a helper that starts late finds nothing left */
    atomic_store(&e->helping, false);
  }
}

/* ------------------------------------------------------------------ admission */
/* Big partitions use the ratio measured on big ones: a small partition's fixed costs (the
 * writers' pages and dictionaries beyond writer_fixed, a row group's footer) inflate its
 * ratio, which would over-reserve the big ones and keep them from running side by side. */
static bool big_part(const pl_engine *e, uint64_t bytes) { return bytes >= e->max_part_bytes / 2; }

static size_t estimate(pl_engine *e, uint64_t bytes) {
  pthread_mutex_lock(&e->mu);
  double r = big_part(e, bytes) && e->measured_big ? e->ratio_big : e->ratio;
  pthread_mutex_unlock(&e->mu);
  double est = (double)bytes * r + (double)e->writer_fixed;
  if (est > (double)SIZE_MAX / 2) est = (double)SIZE_MAX / 2;
  return (size_t)est;
}

/* A measured peak corrects the ratio used for later estimates. */
static void observe(pl_engine *e, uint64_t bytes, size_t peak) {
  if (bytes < 1000000) return; /* too small to say anything */
  double r = (double)(peak > e->writer_fixed ? peak - e->writer_fixed : 0) / (double)bytes * 1.15;
  if (r < 0.25) r = 0.25;
  pthread_mutex_lock(&e->mu);
  if (!e->measured || r > e->ratio) e->ratio = r;
  e->measured = true;
  if (big_part(e, bytes) && (!e->measured_big || r > e->ratio_big)) e->ratio_big = r;
  e->measured_big |= big_part(e, bytes);
  pthread_mutex_unlock(&e->mu);
}

static void task_done(pl_engine *e) {
  pthread_mutex_lock(&e->mu);
  e->outstanding--;
  e->done_parts++;
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
}

static void push_retry(pl_engine *e, int64_t p, size_t r) {
  pthread_mutex_lock(&e->mu);
  if (e->n_retry == e->cap_retry) {
    e->cap_retry = e->cap_retry ? 2 * e->cap_retry : 8;
    e->retry_p = pl_realloc(e->retry_p, sizeof(int64_t) * (size_t)e->cap_retry);
    e->retry_r = pl_realloc(e->retry_r, sizeof(size_t) * (size_t)e->cap_retry);
  }
  e->retry_p[e->n_retry] = p;
  e->retry_r[e->n_retry] = r;
  e->n_retry++;
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
  e->retries++;
}

static task *task_new(pl_engine *e, int64_t p, pl_budget *b, bool own, size_t reserved) {
  task *t = pl_calloc(1, sizeof *t);
  t->e = e;
  t->p = p;
  t->maps = e->budget_limit / MAP_ROOM >= e->src->parts[p].bytes;
  t->stage = e->stage;
  t->budget = b;
  t->own_budget = own;
  t->reserved = reserved;
  for (int ci = 0; ci < e->n_comps; ci++) {
    comp *c = &e->comps[ci];
    bool in_stage = e->dedup_at < 0 || (e->stage == 0 ? ci < e->dedup_at : ci >= e->dedup_at);
    t->tl.emit[ci] = in_stage && !c->journal.done[p] && (c->kind != C_SOURCE || c->write);
    t->tl.count[ci] = in_stage && !c->journal.done[p];
  }
  return t;
}

/* Parquet leaves a component writes per partition: the index, and (id, field) per field; an
 * export writes one file with every column. */
static size_t comp_leaves(const comp *c, int32_t n_fields) {
  if (c->kind == C_EXPORT) return (size_t)n_fields;
  return 1 + 2 * (size_t)(n_fields > 0 ? n_fields - 1 : 0);
}

/* Files a component writes per partition (index + one per field; an export: one). */
static size_t comp_files(const comp *c, int32_t n_fields) {
  return c->kind == C_EXPORT ? 1 : (size_t)(n_fields > 0 ? n_fields : 1);
}

/* Memory of one open file's codec context, which the codec allocates outside the budget
 * (ZSTD_estimateCCtxSize(3) is 1.3 MB); reserving it keeps it inside the memory limit. */
static size_t codec_ctx(pl_codec c) {
  return c == PL_CODEC_ZSTD || c == PL_CODEC_BROTLI ? 1600u * 1024 : c == PL_CODEC_GZIP ? 320u * 1024 : 64u * 1024;
}

/* Memory of one open file beyond its pages: the codec context, and an export's direct I/O
 * staging block. */
static size_t file_need(const pl_engine *e, const comp *c) {
  if (c->kind != C_EXPORT) return codec_ctx(e->wo.codec);
  /* the second lane (export_parallel): its codec context and page scratch */
  size_t lane = codec_ctx(c->exp.write.codec) + 3 * c->exp.write.page_bytes;
  return codec_ctx(c->exp.write.codec) + (c->exp.write.direct_io ? PL_PARQUET_DIRECT_STAGE : 0) + lane;
}

/* Memory the writers will need for the task's units, beyond the units themselves: a pending
 * page and a dictionary per leaf, a codec context per file, about three copies of the
 * largest value (pending page, encoded, compressed), and the compressed chunks a row group
 * buffers (taken as half the data). */
static size_t writer_need(pl_engine *e, const task *t) {
  uint64_t maxv = 0;
  size_t leaves = 0, ctx = 0;
  bool seen[PL_ENGINE_MAX_COMPONENTS] = {false};
  for (int i = 0; i < t->n_units; i++) {
    const pl_batch *v = t->units[i].view;
    const comp *c = &e->comps[t->units[i].comp];
    if (!seen[t->units[i].comp]) {
      leaves += comp_leaves(c, v->schema.n_fields);
      ctx += comp_files(c, v->schema.n_fields) * file_need(e, c);
    }
    seen[t->units[i].comp] = true;
    for (int32_t k = 0; k < v->schema.n_fields; k++) {
      uint64_t m = pl__column_max_value(v->columns[k]);
      if (m > maxv) maxv = m;
    }
  }
  /* a copied source: a footer, a copy buffer and a page of ids */
  if (e->comps[0].copy && t->tl.emit[0]) ctx += COPY_NEED;
  /* the compressed chunks of a row group: half a component's data, but no more than a row
   * group per file */
  size_t chunks = 0;
  for (int ci = 0; ci < e->n_comps; ci++) {
    if (!seen[ci]) continue;
    const comp *c = &e->comps[ci];
    size_t data = 0, files = 0;
    for (int i = 0; i < t->n_units; i++)
      if (t->units[i].comp == ci) {
        data += pl_batch_bytes(t->units[i].view);
        files = comp_files(c, t->units[i].view->schema.n_fields);
      }
    size_t rg = c->kind == C_EXPORT ? c->exp.write.row_group_bytes : e->wo.row_group_bytes;
    chunks += data / 2 < files * rg ? data / 2 : files * rg;
  }
  return leaves * (e->wo.page_bytes + e->wo.dictionary_limit) + ctx + (size_t)(3 * maxv) + chunks;
}

static pl_status load_kept(pl_engine *e, task *t, int64_t **kept, pl_error *err) {
  *kept = NULL;
  if (t->stage != 1 || !e->dedup) return PL_OK;
  pl_status st = pl__dedup_kept(e->dedup, t->p, kept, &t->n_kept, err);
  t->kept = *kept;
  return st;
}

/* The dedup's spill files reached spill_limit: a PL_ELIMIT that more memory cannot cure. */
static bool spill_full(const pl_engine *e) { return e->dedup && pl__dedup_full(e->dedup); }

/* Runs partition p whole under reservation r; pushes it to the writers. Returns PL_ELIMIT
 * (without a message) when r turned out too small; *need then says how much is wanted. */
static pl_status try_whole(pl_engine *e, int64_t p, size_t r, size_t *need, pl_error *err) {
  pl_status st = e->stage == 0 ? pl__dedup_reserving(e->dedup, r, err) : PL_OK;
  if (st) return st;
  st = pl_budget_reserve_wait(e->global, r, err);
  if (st) return st == PL_ELIMIT ? PL_EINTERNAL : st;
  pl_budget *b = pl_budget_new(r);
  task *t = task_new(e, p, b, true, r);
  int64_t *kept = NULL;
  pl__part *pt = &e->src->parts[p];
  pl_error lerr;
  pl_error_clear(&lerr);
  st = load_kept(e, t, &kept, err);
  if (!st) st = pl__source_read(e->src, p, 0, pt->rows, b, e->batch_bytes, chain, t, &lerr);
  pl_free(kept);
  t->kept = NULL;
  if (!st) {
    size_t w = writer_need(e, t);
    t->writer_need = w;
    size_t used = pl_budget_used(b);
    if (used + w > r) {
      /* the estimate was short: keep the work when the rest of the budget has the room now,
       * else run the partition again with a bigger reservation */
      size_t extra = used + w - r;
      if (pl_budget_try_reserve(e->global, extra)) {
        r += extra;
        t->reserved = r;
        pl_budget_grow(b, extra);
      } else {
        *need = used + w;
        st = PL_ELIMIT;
      }
    }
    observe(e, pt->bytes, used + w);
  } else if (st == PL_ELIMIT && !spill_full(e)) {
    *need = r * 2;
  } else if (err) {
    *err = lerr;
  }
  if (st) {
    pl_log(PL_LOG_DEBUG, "partition %lld: whole with %zu bytes: %s (used %zu, peak %zu, need %zu)%s%s",
           (long long)p, r, pl_status_name(st), pl_budget_used(b), pl_budget_peak(b), *need,
           st == PL_ELIMIT ? ": " : "", st == PL_ELIMIT ? lerr.msg : "");
    task_free(t);
    pl_budget_release(e->global, r);
    return st;
  }
  if (e->stage == 0 && e->dedup_at >= 0 && t->n_units == 0) {
    /* only spilled: nothing to write or journal */
    task_free(t);
    pl_budget_release(e->global, r);
    task_done(e);
    return PL_OK;
  }
  if (!pl_queue_push(e->queue, t, pl_budget_used(b))) {
    task_free(t);
    pl_budget_release(e->global, r);
    return pl_error_set(err, PL_ECANCELED, "writer queue closed");
  }
  return PL_OK;
}

/* Runs partition p in pieces of rows, writing each piece at once into files kept open. */
static pl_status run_pieces(pl_engine *e, int64_t p, pl_error *err) {
  e->splits++;
  pl__part *pt = &e->src->parts[p];
  size_t r = e->budget_limit;
  pl_status st = e->stage == 0 ? pl__dedup_reserving(e->dedup, r, err) : PL_OK;
  if (!st) st = pl_budget_reserve_wait(e->global, r, err);
  if (st) return st;
  pl_budget *b = pl_budget_new(r);
  int64_t *kept = NULL;
  /* not estimate(): piece sizes must not depend on measured peaks (see run_partition) */
  double per_row = pt->rows ? ((double)pt->bytes * 2.0 + (double)e->writer_fixed) / (double)pt->rows : 1.0;
  int64_t piece = per_row > 0 ? (int64_t)((double)(r / 3) / per_row) : pt->rows;
  if (piece < 1) piece = 1;
  pl_error lerr;
  pl_error_clear(&lerr);
  for (;;) {
    session s;
    session_init(&s, e, p, b);
    task *t = task_new(e, p, b, false, 0);
    st = load_kept(e, t, &kept, err);
    int64_t row = 0;
    while (!st && row < pt->rows) {
      int64_t n = piece < pt->rows - row ? piece : pt->rows - row;
      pl_error_clear(&lerr);
      st = pl__source_read(e->src, p, row, n, b, e->batch_bytes, chain, t, &lerr);
      for (int i = 0; !st && i < t->n_units; i++) st = write_unit(&s, &t->units[i], &lerr);
      task_clear(t);
      row += n;
      if (st && st != PL_ELIMIT && err) *err = lerr;
    }
    if (!st) st = session_close(&s, t, err);
    else session_abort(&s);
    pl_free(kept);
    kept = NULL;
    task_free(t);
    if (st != PL_ELIMIT) break;
    if (piece == 1) {
      char a[32], l[32], m[32], h[32];
      uint64_t one = pt->rows ? pt->bytes / (uint64_t)pt->rows : 0;
      st = pl_error_set(err, PL_ELIMIT,
                        "partition %lld does not fit in memory: one row (about %s of data) needs "
                        "more than the %s budget (memory limit %s less %s headroom) [%s]",
                        (long long)p, pl_format_size(one, a, sizeof a),
                        pl_format_size(e->budget_limit, l, sizeof l),
                        pl_format_size(e->o.memory_limit, m, sizeof m),
                        pl_format_size(e->o.memory_limit - e->budget_limit, h, sizeof h), lerr.msg);
      break;
    }
    piece /= 2;
    e->retries++;
  }
  pl_budget_free(b);
  pl_budget_release(e->global, r);
  if (!st) task_done(e);
  return st;
}

/* Output bytes must not depend on timing (resume promises byte-identical files), so whether
 * a partition runs whole or in pieces, and the size of the pieces, depend only on the plan
 * and the budget: a partition goes to pieces only after failing whole with the whole budget,
 * which is deterministic. Measured peaks only choose smaller first reservations. */
static void run_partition(pl_engine *e, int64_t p, size_t hint) {
  pl_error err;
  pl_error_clear(&err);
  pl__part *pt = &e->src->parts[p];
  size_t r = hint ? hint : estimate(e, pt->bytes);
  if (r > e->budget_limit) r = e->budget_limit;
  pl_status st = PL_ELIMIT;
  while (hint != SIZE_MAX) {
    size_t need = 0;
    st = try_whole(e, p, r, &need, &err);
    if (st != PL_ELIMIT || spill_full(e)) break;
    e->retries++;
    if (r == e->budget_limit) break;
    r = need > r ? need + need / 8 : r * 2;
    if (r > e->budget_limit) r = e->budget_limit;
  }
  if (st == PL_ELIMIT && !spill_full(e)) st = run_pieces(e, p, &err);
  if (st) fail_run(e, &err, st);
  if (st) task_done(e);
}

static void *worker_main(void *arg) {
  pl_engine *e = arg;
  int64_t n = e->src->n_parts;
  pthread_mutex_lock(&e->mu);
  for (;;) {
    if (e->failed) break;
    int64_t p = -1;
    size_t hint = 0;
    if (e->n_retry) {
      e->n_retry--;
      p = e->retry_p[e->n_retry];
      hint = e->retry_r[e->n_retry];
    } else {
      while (e->next_p < n && p < 0) {
        int64_t q = e->next_p++;
        bool all_done = true;
        for (int ci = 0; ci < e->n_comps; ci++) {
          comp *c = &e->comps[ci];
          bool in_stage = e->dedup_at < 0 || (e->stage == 0 ? ci < e->dedup_at : ci >= e->dedup_at);
          if (in_stage && (c->kind != C_SOURCE || c->write) && !c->journal.done[q]) all_done = false;
        }
        /* stage 0 before a dedup must still spill journaled partitions */
        if (all_done && !(e->stage == 0 && e->dedup_at >= 0)) {
          e->skipped++;
          continue;
        }
        p = q;
        e->outstanding++;
      }
    }
    if (p < 0) {
      if (e->outstanding == 0 && e->n_retry == 0) break;
      pthread_cond_wait(&e->cv, &e->mu);
      continue;
    }
    pthread_mutex_unlock(&e->mu);
    run_partition(e, p, hint);
    pthread_mutex_lock(&e->mu);
  }
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
  return NULL;
}

/* After unit i is written: frees the columns that no later unit uses (the writers keep their
 * own copies of what they still need), and gives back to the global budget what the task
 * holds beyond its columns left and the writers' need. A worker waiting for memory can then
 * start while this partition is still being written (at a small limit, one partition's
 * reservation is most of the budget). */
#define SHRINK_STEP ((size_t)4 << 20)
static void release_written(pl_engine *e, task *t, int i) {
  pl_batch *v = t->units[i].view;
  for (int32_t k = 0; k < v->schema.n_fields; k++) {
    pl_column *c = v->columns[k]; /* NULL: a repeat of a column freed just before */
    if (!c || in_units(t, i + 1, c)) continue;
    for (int32_t j = k + 1; j < v->schema.n_fields; j++)
      if (v->columns[j] == c) v->columns[j] = NULL;
    v->columns[k] = NULL;
    release_col(t, c);
  }
  size_t keep = pl_budget_used(t->budget) + t->writer_need;
  if (keep + SHRINK_STEP <= t->reserved && pl_budget_shrink(t->budget, t->reserved - keep)) {
    pl_budget_release(e->global, t->reserved - keep);
    t->reserved = keep;
  }
}

static void *writer_main(void *arg) {
  pl_engine *e = arg;
  void *item;
  while (pl_queue_pop(e->queue, &item)) {
    task *t = item;
    pthread_mutex_lock(&e->mu);
    bool failed = e->failed;
    pthread_mutex_unlock(&e->mu);
    if (failed) {
      size_t r = t->reserved;
      task_free(t);
      pl_budget_release(e->global, r);
      task_done(e);
      continue;
    }
    if (e->o.test_writer_delay_ms) usleep(e->o.test_writer_delay_ms * 1000u);
    session s;
    session_init(&s, e, t->p, t->budget);
    pl_error err;
    pl_error_clear(&err);
    pl_status st = PL_OK;
    st = session_copy(&s, t, &err);
    for (int i = 0; !st && i < t->n_units; i++) {
      st = write_unit(&s, &t->units[i], &err);
      if (!st) release_written(e, t, i);
    }
    if (!st) st = session_finish(&s, t, &err);
    commit *c = NULL;
    if (st) {
      session_abort(&s);
    } else {
      c = pl_calloc(1, sizeof *c);
      c->s = s;
      c->tl = t->tl;
    }
    size_t peak = pl_budget_peak(t->budget), r = t->reserved;
    int64_t p = t->p;
    uint64_t in_bytes = e->src->parts[p].bytes;
    task_free(t);
    pl_budget_release(e->global, r);
    if (st == PL_ELIMIT) {
      /* the writers needed more than the reservation: run it again with more */
      size_t nr = r >= e->budget_limit ? SIZE_MAX /* pieces */
                  : r * 2 > e->budget_limit ? e->budget_limit : r * 2;
      push_retry(e, p, nr);
      continue;
    }
    if (st) {
      fail_run(e, &err, st);
      task_done(e);
      continue;
    }
    observe(e, in_bytes, peak);
    if (e->committer) pl_pool_submit(e->committer, commit_task, c);
    else commit_task(c);
  }
  return NULL;
}

/* ------------------------------------------------------------------ progress */
static void *progress_main(void *arg) {
  pl_engine *e = arg;
  char u[32], l[32], sp[32];
  for (;;) {
    pthread_mutex_lock(&e->mu);
    bool stop = e->progress_stop;
    int64_t done = e->done_parts + e->skipped, total = e->src->n_parts;
    int stage = e->stage;
    pthread_mutex_unlock(&e->mu);
    if (stop) break;
    double dt = pl_now() - e->t0;
    if (dt <= 0) dt = 1e-9;
    fprintf(stderr, "\r\x1b[Kpraline %s stage %d: partitions %lld/%lld  %.0f rows/s  %.1f MB/s  mem %s/%s  spilled %s",
            e->run_id, stage + 1, (long long)done, (long long)total, (double)e->rows_done / dt,
            (double)e->bytes_done / dt / 1e6, pl_format_size(pl_budget_used(e->global), u, sizeof u),
            pl_format_size(e->budget_limit, l, sizeof l),
            pl_format_size(e->dedup ? pl__dedup_spilled(e->dedup) : 0, sp, sizeof sp));
    fflush(stderr);
    usleep(250000);
  }
  fprintf(stderr, "\r\x1b[K");
  return NULL;
}

/* ------------------------------------------------------------------ the run */
static pl_status run_stage(pl_engine *e, int stage, pl_error *err) {
  e->stage = stage;
  e->next_p = 0;
  e->outstanding = 0;
  e->n_retry = 0;
  int nw = e->o.workers, nwr = e->o.writer_threads;
  e->queue = pl_queue_new(1u << 20, e->o.writer_queue_bytes);
  pthread_t *wt = pl_calloc((size_t)(nw + nwr), sizeof(pthread_t));
  /* the commit thread and the helper only make writing faster (tests run without them) */
  if (!e->o.test_serial_writes) {
    e->committer = pl_pool_new(1);
    e->helper = pl_pool_new(1);
  }
  /* fewer threads than asked for still run (slower); none of a kind stops the run */
  int got_wr = 0, got_w = 0, rc = 0;
  for (int i = 0; i < nwr; i++) {
    int r = pthread_create(&wt[nw + got_wr], NULL, writer_main, e);
    if (r == 0) got_wr++;
    else rc = r;
  }
  for (int i = 0; got_wr > 0 && i < nw; i++) {
    int r = pthread_create(&wt[got_w], NULL, worker_main, e);
    if (r == 0) got_w++;
    else rc = r;
  }
  if (got_w == 0 || got_wr == 0) {
    pl_error te;
    pl_error_set(&te, PL_EINTERNAL, "engine: cannot start %s threads: %s", got_wr ? "worker" : "writer",
                 strerror(rc));
    fail_run(e, &te, PL_EINTERNAL);
  } else if (got_w < nw || got_wr < nwr) {
    pl_log(PL_LOG_WARN, "engine: started %d of %d workers and %d of %d writer threads (%s)", got_w, nw, got_wr,
           nwr, strerror(rc));
  }
  for (int i = 0; i < got_w; i++) pthread_join(wt[i], NULL);
  pl_queue_close(e->queue);
  for (int i = 0; i < got_wr; i++) pthread_join(wt[nw + i], NULL);
  pl_pool_free(e->committer); /* nothing left: the workers waited for every commit */
  pl_pool_free(e->helper);
  e->committer = e->helper = NULL;
  e->writer_waits += pl_queue_push_waits(e->queue);
  pl_queue_free(e->queue);
  e->queue = NULL;
  pl_free(wt);
  if (e->failed) {
    if (err) *err = e->first_err;
    return e->first_err.code ? e->first_err.code : PL_EINTERNAL;
  }
  return PL_OK;
}

static void fill_report(pl_engine *e, pl_engine_report *rep) {
  if (!rep) return;
  memset(rep, 0, sizeof *rep);
  snprintf(rep->run_id, sizeof rep->run_id, "%s", e->run_id);
  rep->seconds = pl_now() - e->t0;
  rep->partitions = e->src ? e->src->n_parts : 0;
  rep->partitions_skipped = e->skipped;
  rep->n_components = e->n_comps;
  for (int i = 0; i < e->n_comps; i++) {
    comp *c = &e->comps[i];
    pl_component_report *cr = &rep->components[i];
    snprintf(cr->name, sizeof cr->name, "%s", c->name);
    cr->rows_in = c->rows_in;
    cr->rows_out = c->rows_out;
    cr->bytes_written = c->bytes;
    /* partitions done by an earlier run count too */
    for (int64_t p = 0; c->journal.done && p < c->journal.n_parts; p++) {
      if (!c->journal.done[p]) continue;
      cr->rows_in += c->journal.rows_in[p];
      cr->rows_out += c->journal.rows_out[p];
      cr->bytes_written += c->journal.bytes[p];
    }
    rep->bytes_written += cr->bytes_written;
  }
  rep->memory_limit = e->o.memory_limit;
  rep->budget_limit = e->budget_limit;
  rep->peak_memory = e->global ? pl_budget_peak(e->global) : 0;
  rep->peak_rss = pl_peak_rss();
  rep->spilled_bytes = e->dedup ? pl__dedup_spilled(e->dedup) : 0;
  rep->spills = e->dedup ? pl__dedup_resplits(e->dedup) + (rep->spilled_bytes > 0) : 0;
  rep->backpressure_waits = e->writer_waits;
  rep->admission_waits = e->global ? pl_budget_waits(e->global) : 0;
  rep->splits = e->splits;
  rep->retries = e->retries;
}

static void configure(pl_engine *e) {
  pl_engine_options *o = &e->o;
  if (o->workers <= 0) o->workers = pl_cpu_count();
  if (o->writer_threads <= 0) o->writer_threads = 2;
  if (!o->memory_limit) o->memory_limit = pl_system_memory() / 2;
  if (!o->memory_limit) o->memory_limit = 1000000000u;
  /* What is not charged to the budget: code, stacks, codec contexts, allocator slack. */
  uint64_t head = o->memory_limit / 8;
  if (head < 12000000u) head = 12000000u;
  if (head > 256000000u) head = 256000000u;
  if (head > o->memory_limit / 2) head = o->memory_limit / 2;
  e->budget_limit = (size_t)(o->memory_limit - head);
  /* not per worker: batch boundaries shape the files, which must not depend on workers */
  size_t bb = e->budget_limit / 32;
  if (bb < 256u * 1024) bb = 256u * 1024;
  if (bb > 64u << 20) bb = 64u << 20;
  e->batch_bytes = bb;
  e->wo = o->write;
  if (e->wo.page_bytes == 0 || e->wo.page_bytes > e->budget_limit / 256) e->wo.page_bytes = e->budget_limit / 256;
  if (e->wo.page_bytes < 64u * 1024) e->wo.page_bytes = 64u * 1024;
  if (e->wo.page_bytes > (1u << 20)) e->wo.page_bytes = 1u << 20;
  if (e->wo.row_group_bytes == 0 || e->wo.row_group_bytes > e->budget_limit / 16)
    e->wo.row_group_bytes = e->budget_limit / 16;
  if (e->wo.dictionary_limit > e->wo.page_bytes) e->wo.dictionary_limit = e->wo.page_bytes;
  for (int i = 0; i < e->n_comps; i++) {
    comp *c = &e->comps[i];
    if (c->kind != C_EXPORT) continue;
    if (c->exp.write.row_group_bytes == 0 || c->exp.write.row_group_bytes > e->budget_limit / 16)
      c->exp.write.row_group_bytes = e->budget_limit / 16;
    if (c->exp.write.page_bytes == 0 || c->exp.write.page_bytes > e->wo.page_bytes)
      c->exp.write.page_bytes = e->wo.page_bytes;
    if (c->exp.write.dictionary_limit > c->exp.write.page_bytes)
      c->exp.write.dictionary_limit = c->exp.write.page_bytes;
    c->exp.write.direct_io = !o->buffered_export;
    c->exp.write.parallel = export_parallel;
    c->exp.write.parallel_ctx = e;
  }
  /* fixed writer memory per partition, for first estimates: a page and a dictionary per leaf */
  size_t leaves = 0, ctx = 0;
  int32_t all = e->src->schema.n_fields;
  for (int i = 0; i < e->n_comps; i++) {
    comp *c = &e->comps[i];
    if (c->kind == C_TRANSFORM) all += c->produces.n_fields;
    if (c->kind == C_SOURCE && !c->write) continue;
    int32_t nf = c->kind == C_EXPORT ? all : 1 + c->produces.n_fields;
    if (c->copy) { /* only the fields that are not copied go through the writers */
      nf = 1;
      for (int32_t k = 1; k < e->src->schema.n_fields; k++) nf += !e->src->copy_field[k];
      if (nf == 1) continue;
    }
    leaves += comp_leaves(c, nf);
    ctx += comp_files(c, nf) * file_need(e, c);
  }
  if (e->comps[0].copy) ctx += COPY_NEED;
  e->writer_fixed = leaves * (e->wo.page_bytes + e->wo.dictionary_limit) + ctx;
  if (!o->writer_queue_bytes) o->writer_queue_bytes = e->budget_limit / 4;
  e->ratio = 2.0;
#ifdef M_MMAP_THRESHOLD
  /* Big buffers straight from mmap, returned to the OS at free, so that freed partitions do
   * not stay in RSS; a fixed threshold stops glibc from raising it dynamically. Smaller ones
   * come from one arena: freed memory kept by per-thread arenas cannot be reused by other
   * threads, and would add up beyond the budget. */
  size_t thr = e->budget_limit / 128;
  if (thr < 256u * 1024) thr = 256u * 1024;
  if (thr > 32u << 20) thr = 32u << 20;
  mallopt(M_MMAP_THRESHOLD, (int)thr);
  mallopt(M_TRIM_THRESHOLD, (int)thr * 2);
  mallopt(M_ARENA_MAX, 1);
#endif
}

pl_status pl_engine_run(pl_engine *e, pl_engine_report *rep, pl_error *err) {
  e->t0 = pl_now();
  if (e->ran) return pl_error_set(err, PL_EINVAL, "engine: already ran");
  e->ran = true;
  if (!e->src) return pl_error_set(err, PL_EINVAL, "engine: no source");
  pl_status st = pl__source_plan(e->src, err);
  if (st) return st;
  for (int64_t p = 0; p < e->src->n_parts; p++)
    if (e->src->parts[p].bytes > e->max_part_bytes) e->max_part_bytes = e->src->parts[p].bytes;
  /* the source component's produced fields are the source's (without the id) */
  comp *sc = &e->comps[0];
  for (int32_t i = 0; i < e->src->schema.n_fields; i++) {
    if (strcmp(e->src->schema.fields[i].name, "id") == 0) continue;
    pl_field f;
    pl_field_copy(&f, &e->src->schema.fields[i]);
    pl_schema_add(&sc->produces, f);
  }
  if (strcmp(e->src->schema.fields[0].name, "id") != 0)
    return pl_error_set(err, PL_EUNSUPPORTED, "engine: the source's 'id' must be its first field");
  /* Parquet input is already column chunks: copy them rather than decode and re-encode */
  sc->copy = sc->write && e->src->kind == PL__SRC_PARQUET && e->src->copy_field[0] && !e->o.no_copy;
  configure(e);
  if ((st = pl__mkdirs(e->run_dir, err))) return st;
  if (e->o.resume) pl__remove_temps(e->run_dir);
  for (int i = 0; i < e->n_comps; i++) {
    comp *c = &e->comps[i];
    if ((st = pl__journal_open(&c->journal, c->dir, e->src->n_parts, e->o.resume, err))) return st;
    if (c->kind == C_EXPORT) {
      if ((st = pl__mkdirs(c->exp_dir, err))) return st;
      if (e->o.resume) pl__remove_temps(c->exp_dir);
    }
  }
  e->global = pl_budget_new(e->budget_limit);
  e->progress_on = e->o.progress && isatty(2);
  if (e->progress_on) e->progress_on = pthread_create(&e->progress_thread, NULL, progress_main, e) == 0;
  if (e->dedup_at >= 0) {
    e->dedup = pl__dedup_new(e->spill_dir, e->o.spill_limit,
                             e->o.dedup_buckets > 0 ? e->o.dedup_buckets : 64, e->global, err);
    if (!e->dedup) st = err ? err->code : PL_EIO;
    double t0 = pl_now();
    if (!st) st = run_stage(e, 0, err);
    double t1 = pl_now();
    if (!st) st = pl__dedup_finish(e->dedup, e->global, e->budget_limit, e->o.workers, err);
    double t2 = pl_now();
    if (!st) {
      e->skipped = 0;
      e->done_parts = 0;
      st = run_stage(e, 1, err);
    }
    pl_log(PL_LOG_INFO, "dedup: keys %.2f s, finish %.2f s, output %.2f s", t1 - t0, t2 - t1,
           pl_now() - t2);
  } else {
    st = run_stage(e, 0, err);
  }
  if (e->progress_on) {
    pthread_mutex_lock(&e->mu);
    e->progress_stop = true;
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->progress_thread, NULL);
  }
  pl_engine_report r;
  fill_report(e, &r);
  if (rep) *rep = r;
  if (e->o.report_path) {
    FILE *f = fopen(e->o.report_path, "w");
    if (f) {
      pl_engine_report_json(&r, f);
      fputc('\n', f);
      fclose(f);
    } else if (!st) {
      st = pl_error_set(err, PL_EIO, "%s: %s", e->o.report_path, strerror(errno));
    }
  }
  pl__dedup_free(e->dedup);
  e->dedup = NULL;
  pl_budget_free(e->global);
  e->global = NULL;
  return st;
}

/* ------------------------------------------------------------------ reports */
static void json_str(FILE *f, const char *s) {
  fputc('"', f);
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
    else if (c < 0x20) fprintf(f, "\\u%04x", c);
    else fputc(c, f);
  }
  fputc('"', f);
}

void pl_engine_report_json(const pl_engine_report *r, FILE *f) {
  int64_t rows_in = r->n_components ? r->components[0].rows_in : 0;
  int64_t rows_out = r->n_components ? r->components[r->n_components - 1].rows_out : 0;
  fprintf(f, "{\"run_id\":");
  json_str(f, r->run_id);
  fprintf(f, ",\"seconds\":%.3f,\"rows_in\":%lld,\"rows_out\":%lld,\"partitions\":%lld,"
             "\"partitions_skipped\":%lld,\"bytes_written\":%llu,\"memory_limit\":%llu,"
             "\"budget_limit\":%llu,\"peak_memory\":%llu,\"peak_rss_bytes\":%llu,"
             "\"spilled_bytes\":%llu,\"spills\":%llu,\"backpressure_waits\":%llu,"
             "\"admission_waits\":%llu,\"splits\":%llu,\"retries\":%llu,\"components\":[",
          r->seconds, (long long)rows_in, (long long)rows_out, (long long)r->partitions,
          (long long)r->partitions_skipped, (unsigned long long)r->bytes_written,
          (unsigned long long)r->memory_limit, (unsigned long long)r->budget_limit,
          (unsigned long long)r->peak_memory, (unsigned long long)r->peak_rss,
          (unsigned long long)r->spilled_bytes, (unsigned long long)r->spills,
          (unsigned long long)r->backpressure_waits, (unsigned long long)r->admission_waits,
          (unsigned long long)r->splits, (unsigned long long)r->retries);
  for (int i = 0; i < r->n_components; i++) {
    const pl_component_report *c = &r->components[i];
    fprintf(f, "%s{\"name\":", i ? "," : "");
    json_str(f, c->name);
    fprintf(f, ",\"rows_in\":%lld,\"rows_out\":%lld,\"bytes_written\":%llu}", (long long)c->rows_in,
            (long long)c->rows_out, (unsigned long long)c->bytes_written);
  }
  fprintf(f, "]}");
}

void pl_engine_report_print(const pl_engine_report *r, FILE *f) {
  char a[32], b[32], c[32], d[32], e[32];
  fprintf(f, "run %s: %.2f s, %lld partitions (%lld already done)\n", r->run_id, r->seconds,
          (long long)r->partitions, (long long)r->partitions_skipped);
  for (int i = 0; i < r->n_components; i++)
    fprintf(f, "  %-24s rows in %12lld  out %12lld  written %s\n", r->components[i].name,
            (long long)r->components[i].rows_in, (long long)r->components[i].rows_out,
            pl_format_size(r->components[i].bytes_written, a, sizeof a));
  fprintf(f, "  written %s, peak memory %s of %s (limit %s), peak RSS %s\n",
          pl_format_size(r->bytes_written, a, sizeof a), pl_format_size(r->peak_memory, b, sizeof b),
          pl_format_size(r->budget_limit, c, sizeof c), pl_format_size(r->memory_limit, d, sizeof d),
          pl_format_size(r->peak_rss, e, sizeof e));
  fprintf(f, "  spilled %s (%llu spills), back-pressure waits %llu, admission waits %llu, "
             "split partitions %llu, retries %llu\n",
          pl_format_size(r->spilled_bytes, b, sizeof b), (unsigned long long)r->spills,
          (unsigned long long)r->backpressure_waits, (unsigned long long)r->admission_waits,
          (unsigned long long)r->splits, (unsigned long long)r->retries);
}

/* praline/engine.h — runs a pipeline partition by partition under one hard memory budget and
 * writes every partition the moment it is done.
 *
 * What the module owns: partition planning (generator and Parquet sources), fused
 * partition-wise transforms, the worker threads, admission against the process-wide
 * pl_budget, the bounded writer queue and its writer threads, the column-wise output layout
 * (<base>/<pipeline>/<run_id>/<component>/<field>/part.NNNNN.parquet), the export writer,
 * the per-component _journal used by resume, the global dedup stage and its spill files,
 * the progress line and the run report.
 *
 * Ownership: a pl_engine is built by one thread (pl_engine_new, pl_engine_set_*,
 * pl_engine_add_*), then run once with pl_engine_run and freed with pl_engine_free. A
 * pl_source given to pl_engine_set_source belongs to the engine from then on (also on
 * failure). Transform and generator states stay the caller's; they must outlive the run.
 * Batches passed to callbacks belong to the engine: a callback reads `in` and fills `out`,
 * and keeps no pointer to either after it returns.
 *
 * Threads: pl_engine_run calls generator and transform callbacks from several worker
 * threads at once (one partition per call), so callbacks must be thread-safe and must not
 * depend on call order. They must be deterministic (the same partition gives the same rows)
 * or resume cannot promise byte-identical output, and they may be called more than once for
 * the same rows (a task retried with more memory, a stage run again after a global stage),
 * so side effects beyond filling `out` are the caller's to make idempotent. Nothing else
 * here is thread-safe.
 *
 * Memory: every column buffer of a partition is charged to a per-task budget whose limit is
 * the reservation the task took from the process-wide budget before it started. A callback
 * allocates its output columns from out->budget (pl_column_new(type, out->budget, err));
 * an allocation beyond the reservation fails with PL_ELIMIT, and the callback must return
 * that status: the engine then retries the partition with a larger reservation, or in
 * smaller pieces, or stops with a message naming the partition.
 */
#ifndef PRALINE_ENGINE_H
#define PRALINE_ENGINE_H

#include <stdio.h>

#include "praline/columnar.h"
#include "praline/core.h"
#include "praline/parquet.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ sources */
typedef struct pl_source pl_source;

/* A generator fills partitions with synthetic or custom rows.
 * size: rows and estimated in-memory bytes (Arrow layout) of partition p. Called once per
 *       partition while planning, from the thread that runs pl_engine_run.
 * fill: appends rows [row_start, row_start + n_rows) of partition p to `out`, whose columns
 *       are empty columns of `schema`, charged to the task budget. The engine may ask for a
 *       partition in several pieces (when it does not fit in memory at once).
 * If the schema has no `id` field, the engine adds `id: int64` = the row's global number
 * (rows of earlier partitions + row in partition). */
typedef struct pl_generator {
  const pl_schema *schema; /* copied */
  int64_t n_partitions;
  pl_status (*size)(void *state, int64_t p, int64_t *rows, uint64_t *bytes, pl_error *err);
  pl_status (*fill)(void *state, int64_t p, int64_t row_start, int64_t n_rows, pl_batch *out,
                    pl_error *err);
  void *state;
} pl_generator;

pl_source *pl_source_generator_new(const pl_generator *g, pl_error *err);

/* Parquet files: each path is a file or a directory (its *.parquet files, sorted by name).
 * Partitions hold consecutive row groups of one file, about partition_size uncompressed
 * bytes (from the footers; 0 = 128 MB), numbered in file order then row-group order.
 * columns: top-level names to read (NULL = all). If the files have no int64 `id` column,
 * the engine adds one as for generators. */
pl_source *pl_source_parquet_new(int n_paths, const char *const *paths, int n_columns,
                                 const char *const *columns, uint64_t partition_size,
                                 pl_error *err);
/* The files' column `from` is the field `to` of the source (a load's column_name_mapping).
 * Reads name the column `to`, and a load's column-wise copies are written under `to`, with
 * the files' chunks copied as they are. Call before the engine runs; checked when it plans:
 * `from` must be a column of the files, not `id`, and `to` must not clash with a field. */
pl_status pl_source_rename(pl_source *s, const char *from, const char *to, pl_error *err);
/* The index a Parquet source makes of the files' own `id` column of type t: int64 from any
 * integer type but uint64 (narrower ones are widened at read), string from string; false
 * when such a column cannot be the index. */
bool pl_source_index_type(pl_type_id t, pl_type_id *index);
void pl_source_free(pl_source *s);
int64_t pl_source_partitions(const pl_source *s);

/* ------------------------------------------------------------------ transforms */
/* A partition-wise transform. `in` holds `id` then the consumed fields, in declared order.
 * `out` holds empty columns of the produced fields; the transform fills them with one value
 * per input row. A transform that keeps only some rows (a filter) declares `id` among its
 * produced fields and fills it with the kept ids in input order; its other produced columns
 * then have one value per kept row. */
typedef pl_status (*pl_transform_fn)(const pl_batch *in, pl_batch *out, void *state,
                                     pl_error *err);

/* ------------------------------------------------------------------ options and report */
typedef struct pl_export_options {
  const char *dir;            /* where part-NNNNN.parquet go (created) */
  uint64_t max_file_bytes;    /* 0 = one file per partition; else continue in part-NNNNN.K */
  pl_parquet_write_options write; /* codec etc. */
  int n_columns;              /* > 0: export id and only these columns, in this order */
  const char *const *columns; /* copied by pl_engine_set_export */
} pl_export_options;

typedef struct pl_engine_options {
  int workers;                 /* 0 = pl_cpu_count() */
  int writer_threads;          /* 0 = 2 */
  uint64_t memory_limit;       /* bytes; 0 = 50% of pl_system_memory() (cgroup-aware). Peak
                                * RSS stays under it: the budget shared by all tasks is the
                                * limit less a headroom (1/8, within 12..256 MB) for what is
                                * not charged (code, stacks, codec contexts, allocator slack) */
  uint64_t writer_queue_bytes; /* 0 = memory_limit / 4 */
  const char *run_id;          /* NULL = <pipeline>-<YYYYMMDDHHMMSS> (UTC) */
  bool resume;                 /* skip partitions recorded in every component's _journal */
  const char *spill_dir;       /* NULL = <run dir>/_spill */
  uint64_t spill_limit;        /* bytes on disk for spill files; 0 = unlimited */
  int dedup_buckets;           /* hash buckets of the first spill; 0 = 64 */
  int progress;                /* 1 = progress line when stderr is a TTY, 0 = never */
  const char *report_path;     /* write the report as JSON here (NULL = no) */
  pl_parquet_write_options write; /* for the column-wise files */
  bool no_copy;                /* a Parquet source's fields are decoded and written again
                                * instead of having their column chunks copied as they are */
  bool buffered_export;        /* the export writes through the page cache; by default it
                                * writes with O_DIRECT (pl_parquet_write_options.direct_io) */
  unsigned test_writer_delay_ms; /* test-only: each writer sleeps this long per partition */
  bool test_serial_writes;       /* test-only: no commit thread nor tail helper, as when they
                                  * cannot start (the writers commit and encode alone) */
} pl_engine_options;

void pl_engine_options_default(pl_engine_options *o);

#define PL_ENGINE_MAX_COMPONENTS 32
typedef struct pl_component_report {
  char name[64];
  int64_t rows_in, rows_out;
  uint64_t bytes_written;
} pl_component_report;

typedef struct pl_engine_report {
  char run_id[128];
  double seconds;
  int64_t partitions, partitions_skipped; /* skipped: already journaled (resume) */
  int n_components;
  pl_component_report components[PL_ENGINE_MAX_COMPONENTS];
  uint64_t bytes_written;
  uint64_t memory_limit, budget_limit, peak_memory; /* peak charged to the budget */
  uint64_t peak_rss;
  uint64_t spilled_bytes, spills;
  uint64_t backpressure_waits; /* workers that waited on a full writer queue */
  uint64_t admission_waits;    /* tasks that waited for memory before starting */
  uint64_t splits, retries;    /* partitions run in pieces; tasks rerun with more memory */
} pl_engine_report;

/* Writes the report as one JSON object (no newline inside) to f. */
void pl_engine_report_json(const pl_engine_report *r, FILE *f);
/* Human-readable summary to f. */
void pl_engine_report_print(const pl_engine_report *r, FILE *f);

/* ------------------------------------------------------------------ the engine */
typedef struct pl_engine pl_engine;

/* base_path/pipeline/run_id is the run directory. o may be NULL (defaults). */
pl_engine *pl_engine_new(const char *base_path, const char *pipeline,
                         const pl_engine_options *o, pl_error *err);
void pl_engine_free(pl_engine *e);
const char *pl_engine_run_dir(const pl_engine *e);

/* The load component. Its fields are written column-wise unless write_fields is false. From a
 * Parquet source whose files allow it (pl_parquet_copyable), the files are made by copying the
 * input's column chunks, with an `id` column added (see pl_parquet_copy_field). */
pl_status pl_engine_set_source(pl_engine *e, const char *component, pl_source *src /* taken */,
                               bool write_fields, pl_error *err);
/* A partition-wise transform, fused with its neighbours. consumes: field names (not `id`).
 * produces: the fields it fills (copied). */
pl_status pl_engine_add_transform(pl_engine *e, const char *component, pl_transform_fn fn,
                                  void *state, int n_consumes, const char *const *consumes,
                                  const pl_schema *produces, pl_error *err);
/* A global stage: exact dedup on keys, keeping the row with the smallest id. Writes only
 * its index. At most one per pipeline. */
pl_status pl_engine_add_dedup(pl_engine *e, const char *component, int n_keys,
                              const char *const *keys, pl_error *err);
/* Export every column (id first) as a normal dataset, at the end of the chain. */
pl_status pl_engine_set_export(pl_engine *e, const char *component, const pl_export_options *o,
                               pl_error *err);

/* Runs once. rep (may be NULL) is filled also on failure, as far as the run went. */
pl_status pl_engine_run(pl_engine *e, pl_engine_report *rep, pl_error *err);

#ifdef __cplusplus
}
#endif
#endif

/* internal.h — what the engine's files share: source plans, batch views, the per-partition
 * write session, the journal and the dedup spill. Not a public header. */
#ifndef PRALINE_ENGINE_INTERNAL_H
#define PRALINE_ENGINE_INTERNAL_H

#include <stdatomic.h>

#include "praline/engine.h"

/* ------------------------------------------------------------------ sources */
typedef struct pl__part {
  int64_t rows;      /* rows in the partition */
  int64_t first_row; /* global number of its first row (for a generated id) */
  uint64_t bytes;    /* estimated in-memory bytes */
  int file;          /* parquet: index into files */
  int rg_start, rg_count;
} pl__part;

typedef struct pl__rg {
  int64_t rows;
  uint64_t bytes; /* uncompressed bytes of the projected columns */
} pl__rg;

enum { PL__SRC_GENERATOR = 1, PL__SRC_PARQUET = 2 };

struct pl_source {
  int kind;
  pl_schema schema;  /* what a read yields: the source's fields, plus id when added */
  pl_schema inner;   /* what the generator or the files hold (before id is added) */
  bool add_id;       /* id: int64 is generated, first field of schema */
  int64_t n_parts;
  pl__part *parts;
  /* generator */
  pl_generator gen;
  /* parquet */
  int n_files;
  char **files;
  int *n_rgs;        /* per file */
  pl__rg **rgs;      /* per file, per row group */
  int n_columns;     /* projection; 0 = all */
  char **columns;
  uint64_t partition_size;
  int32_t widen_id;  /* index in inner of an id read as a narrower integer, or -1 */
  bool *copy_field;  /* per schema field: every file's chunks of it can be copied as they are
                      * (pl_parquet_copyable); the id's entry says whether the index can be */
  int n_renames;     /* pl_source_rename: file column ren_from[i] is the field ren_to[i] */
  char **ren_from, **ren_to;
};

/* The files' name of the source's schema field `name` (itself unless renamed). */
const char *pl__source_file_column(const pl_source *s, const char *name);

/* Called with each batch of a read, which it takes (frees) whatever it returns. */
typedef pl_status (*pl__batch_cb)(void *ctx, pl_batch *b, pl_error *err);

/* Plans the partitions (reads footers or asks the generator). */
pl_status pl__source_plan(pl_source *s, pl_error *err);
/* Reads rows [row_start, row_start + n_rows) of partition p in batches of about batch_bytes,
 * charged to b, with id first when it is generated. */
pl_status pl__source_read(pl_source *s, int64_t p, int64_t row_start, int64_t n_rows,
                          pl_budget *b, size_t batch_bytes, pl__batch_cb cb, void *ctx,
                          pl_error *err);

/* ------------------------------------------------------------------ batch views */
/* A view: a pl_batch struct whose columns are borrowed. Free with pl__view_free only. */
pl_batch *pl__view_new(void);
void pl__view_add(pl_batch *v, const pl_field *f, pl_column *c);
void pl__view_free(pl_batch *v);
/* Rows of c at the given indexes into a new column charged to b. */
pl_status pl__column_take(const pl_column *c, const int64_t *rows, int64_t n, pl_budget *b,
                          pl_column **out, pl_error *err);
/* Keeps rows (strictly increasing indexes) of c in place, in its own buffers: no new memory,
 * no page faults on fresh buffers. Returns false, changing nothing, for the layouts it does
 * not handle (nested types, foreign buffers, rows not increasing); take them then. */
bool pl__column_compact(pl_column *c, const int64_t *rows, int64_t n);
/* Largest value in bytes of a string/binary column (0 for others). */
uint64_t pl__column_max_value(const pl_column *c);

/* ------------------------------------------------------------------ files */
pl_status pl__mkdirs(const char *path, pl_error *err);
/* Removes leftover temporary files (".*.tmp-*") under dir, recursively. */
void pl__remove_temps(const char *dir);

/* ------------------------------------------------------------------ journal */
typedef struct pl__journal {
  int fd;
  char *path;
  int64_t n_parts;
  uint8_t *done;       /* one byte per partition */
  int64_t *rows_in, *rows_out;
  uint64_t *bytes;
} pl__journal;

/* Opens (creating) <dir>/_journal; when resume, loads the completed partitions. */
pl_status pl__journal_open(pl__journal *j, const char *dir, int64_t n_parts, bool resume,
                           pl_error *err);
/* Appends "done P rows_in rows_out bytes\n" and fsyncs. Thread-safe (O_APPEND, one write). */
pl_status pl__journal_append(pl__journal *j, int64_t p, int64_t rows_in, int64_t rows_out,
                             uint64_t bytes, pl_error *err);
void pl__journal_close(pl__journal *j);

/* ------------------------------------------------------------------ dedup */
typedef struct pl__dedup pl__dedup;
/* Records go to memory charged to global (NULL: always to disk) while it has room, else to
 * bucket files under spill_dir. */
pl__dedup *pl__dedup_new(const char *spill_dir, uint64_t spill_limit, int n_buckets,
                         pl_budget *global, pl_error *err);
/* A worker is about to reserve r bytes of the global budget in stage 0: the in-memory keys
 * never take room that reservation needs (they go to disk if they hold it). Thread-safe. */
pl_status pl__dedup_reserving(pl__dedup *d, size_t r, pl_error *err);
/* Appends (hash(keys), id, partition, keys) of every row of b to the buckets. Thread-safe. */
pl_status pl__dedup_spill(pl__dedup *d, const pl_batch *b, int n_keys, const int *key_cols,
                          int id_col, int64_t p, int64_t row0, pl_error *err);
/* Deduplicates every bucket on `workers` threads, each reserving its memory from global
 * (max_bytes: its limit); after this, kept() answers. */
pl_status pl__dedup_finish(pl__dedup *d, pl_budget *global, size_t max_bytes, int workers,
                           pl_error *err);
/* The kept rows (row numbers within partition p, ascending) into *rows (pl_malloc'd). */
pl_status pl__dedup_kept(pl__dedup *d, int64_t p, int64_t **rows, int64_t *n, pl_error *err);
uint64_t pl__dedup_spilled(const pl__dedup *d);
/* True once the spill files went over spill_limit (the run cannot go on). */
bool pl__dedup_full(const pl__dedup *d);
uint64_t pl__dedup_resplits(const pl__dedup *d);
void pl__dedup_free(pl__dedup *d);

#endif

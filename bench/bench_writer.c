/* bench_writer.c — praline's side of bench/writer: load a Parquet dataset into memory (untimed),
 * then time writing it with the praline writer on T threads (thread t writes batches t, t+T, ...
 * into its own file). Prints one JSON object: seconds, bytes, files, peak_rss_bytes.
 *   build/bench-writer --input DIR --out DIR [--codec zstd] [--threads 2] [--page-version 1] [--level 0] */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "praline/parquet.h"

typedef struct {
  pl_batch **batches;
  int n_batches, t, nthreads;
  const char *out;
  pl_parquet_write_options *o;
  uint64_t bytes;
  pl_status st;
  pl_error err;
} job;

static void *writer_thread(void *p) {
  job *j = p;
  char path[4096];
  snprintf(path, sizeof path, "%s/part-%05d.parquet", j->out, j->t);
  pl_parquet_writer *w = pl_parquet_writer_open(path, &j->batches[0]->schema, j->o, NULL, &j->err);
  if (!w) {
    j->st = j->err.code;
    return NULL;
  }
  for (int i = j->t; i < j->n_batches; i += j->nthreads)
    if ((j->st = pl_parquet_writer_write(w, j->batches[i], &j->err))) {
      pl_parquet_writer_abort(w);
      return NULL;
    }
  if ((j->st = pl_parquet_writer_close(w, &j->err))) return NULL;
  struct stat sb;
  if (!stat(path, &sb)) j->bytes = (uint64_t)sb.st_size;
  return NULL;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  const char *in = NULL, *out = NULL, *codec = "zstd";
  int threads = 2, page_version = 1, level = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--input")) in = argv[i + 1];
    else if (!strcmp(argv[i], "--out")) out = argv[i + 1];
    else if (!strcmp(argv[i], "--codec")) codec = argv[i + 1];
    else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--page-version")) page_version = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--level")) level = atoi(argv[i + 1]);
    else { fprintf(stderr, "bench-writer: unknown option %s\n", argv[i]); return 2; }
  }
  if (!in || !out || threads < 1) {
    fprintf(stderr, "usage: bench-writer --input DIR --out DIR [--codec zstd] [--threads N]\n");
    return 2;
  }
  pl_error err = {0};
  pl_parquet_write_options o;
  pl_parquet_write_options_default(&o);
  o.page_version = page_version;
  o.codec_level = level; /* 0: praline's default (zstd 1; DuckDB's default is 3: pass --level 3 to compare at equal level) */
  if (pl_codec_parse(codec, &o.codec, &err)) { fprintf(stderr, "bench-writer: %s\n", err.msg); return 2; }

  DIR *d = opendir(in);
  if (!d) { perror(in); return 1; }
  char *names[4096];
  int nn = 0;
  struct dirent *e;
  while ((e = readdir(d)) && nn < 4096) {
    size_t l = strlen(e->d_name);
    if (l > 8 && !strcmp(e->d_name + l - 8, ".parquet")) names[nn++] = pl_strdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)nn, sizeof *names, cmp_str);

  int cap = 1024, nb = 0;
  pl_batch **batches = malloc(sizeof *batches * (size_t)cap);
  for (int f = 0; f < nn; f++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", in, names[f]);
    pl_parquet_file *pf = pl_parquet_open(path, NULL, NULL, &err);
    if (!pf) { fprintf(stderr, "bench-writer: %s\n", err.msg); return 1; }
    pl_parquet_reader *r = pl_parquet_reader_new(pf, NULL, NULL, &err);
    if (!r) { fprintf(stderr, "bench-writer: %s\n", err.msg); return 1; }
    for (;;) {
      pl_batch *b = NULL;
      if (pl_parquet_reader_next(r, &b, &err)) { fprintf(stderr, "bench-writer: %s\n", err.msg); return 1; }
      if (!b) break;
      if (nb == cap) batches = realloc(batches, sizeof *batches * (size_t)(cap *= 2));
      batches[nb++] = b;
    }
    pl_parquet_reader_free(r);
    pl_parquet_close(pf);
    pl_free(names[f]);
  }
  if (!nb) { fprintf(stderr, "bench-writer: no rows in %s\n", in); return 1; }
  if (threads > nb) threads = nb;

  mkdir(out, 0755);
  job *jobs = calloc((size_t)threads, sizeof *jobs);
  pthread_t *th = calloc((size_t)threads, sizeof *th);
  double t0 = pl_now();
  for (int t = 0; t < threads; t++) {
    jobs[t] = (job){batches, nb, t, threads, out, &o, 0, PL_OK, {0}};
    pthread_create(&th[t], NULL, writer_thread, &jobs[t]);
  }
  uint64_t bytes = 0;
  int rc = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(th[t], NULL);
    if (jobs[t].st) { fprintf(stderr, "bench-writer: %s\n", jobs[t].err.msg); rc = 1; }
    bytes += jobs[t].bytes;
  }
  double sec = pl_now() - t0;
  int64_t rows = 0;
  for (int i = 0; i < nb; i++) rows += batches[i]->length, pl_batch_free(batches[i]);
  printf("{\"engine\": \"praline\", \"mode\": \"write\", \"seconds\": %.4f, \"bytes\": %llu, \"files\": %d, "
         "\"rows\": %lld, \"threads\": %d, \"peak_rss_bytes\": %llu}\n",
         sec, (unsigned long long)bytes, threads, (long long)rows, threads,
         (unsigned long long)pl_peak_rss());
  free(batches);
  free(jobs);
  free(th);
  return rc;
}

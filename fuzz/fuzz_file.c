/* fuzz_file.c — a whole file from bytes: written to a memfd, opened, every column read in
 * small batches under a 64 MiB budget; then every column that pl_parquet_copyable accepts is
 * copied (pl_parquet_copy_field) and the copy is opened and read back the same way. */
#include "praline/parquet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads every column of the file at path; false when it cannot be opened. */
static bool read_all(const char *path, bool crc, pl_budget *b, int64_t batch_rows, pl_parquet_file **keep) {
  pl_error err;
  pl_parquet_open_options oo = {.verify_crc = crc};
  pl_parquet_file *f = pl_parquet_open(path, &oo, b, &err);
  if (!f) {
    if (!strstr(err.msg, path)) __builtin_trap(); /* errors name the file */
    return false;
  }
  pl_parquet_scan_options so = {.batch_rows = batch_rows};
  pl_parquet_reader *r = pl_parquet_reader_new(f, &so, b, &err);
  while (r) {
    pl_batch *batch;
    if (pl_parquet_reader_next(r, &batch, &err) != PL_OK || !batch) break;
    for (int32_t c = 0; c < batch->schema.n_fields; c++)
      if (batch->columns[c]->length != batch->length) __builtin_trap();
    pl_batch_free(batch);
  }
  pl_parquet_reader_free(r);
  if (keep) *keep = f;
  else pl_parquet_close(f);
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int fd = -1;
  if (fd < 0) fd = memfd_create("fuzz.parquet", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, 0) != 0) return 0;
  if (size && pwrite(fd, data, size, 0) != (ssize_t)size) return 0;
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  pl_error err;
  pl_budget *b = pl_budget_new(64 << 20);
  pl_parquet_file *f = NULL;
  if (read_all(path, size & 1, b, 1 + (int64_t)(size % 100), &f)) {
    static char *dir;
    if (!dir) {
      char t[] = "/tmp/fuzz-copy-XXXXXX";
      dir = mkdtemp(t) ? strdup(t) : NULL;
    }
    const pl_schema *s = pl_parquet_schema(f);
    const pl_pq_file_metadata *md = pl_parquet_metadata(f);
    for (int32_t k = 0; dir && s && k < s->n_fields; k++) {
      if (!pl_parquet_copyable(f, s->fields[k].name)) continue;
      char out[256];
      snprintf(out, sizeof out, "%s/copy.parquet", dir);
      if (pl_parquet_copy_field(f, 0, md->n_row_groups, s->fields[k].name, 0, out, false, b, &err) == PL_OK) {
        read_all(out, true, b, 7, NULL);
        unlink(out);
      }
    }
    pl_parquet_close(f);
  }
  if (pl_budget_used(b) != 0) __builtin_trap();
  pl_budget_free(b);
  return 0;
}

/* fuzz_file.c — a whole file from bytes: written to a memfd, opened, every column read in
 * small batches under a 64 MiB budget. */
#include "praline/parquet.h"

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static int fd = -1;
  if (fd < 0) fd = memfd_create("fuzz.parquet", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, 0) != 0) return 0;
  if (size && pwrite(fd, data, size, 0) != (ssize_t)size) return 0;
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  pl_error err;
  pl_budget *b = pl_budget_new(64 << 20);
  pl_parquet_open_options oo = {.verify_crc = size & 1};
  pl_parquet_file *f = pl_parquet_open(path, &oo, b, &err);
  if (f) {
    pl_parquet_scan_options so = {.batch_rows = 1 + (int64_t)(size % 100)};
    pl_parquet_reader *r = pl_parquet_reader_new(f, &so, b, &err);
    while (r) {
      pl_batch *batch;
      if (pl_parquet_reader_next(r, &batch, &err) != PL_OK || !batch) break;
      for (int32_t c = 0; c < batch->schema.n_fields; c++)
        if (batch->columns[c]->length != batch->length) __builtin_trap();
      pl_batch_free(batch);
    }
    pl_parquet_reader_free(r);
    pl_parquet_close(f);
  } else if (!strstr(err.msg, path)) {
    __builtin_trap(); /* errors name the file */
  }
  if (pl_budget_used(b) != 0) __builtin_trap();
  pl_budget_free(b);
  return 0;
}

/* fuzz_pipeline.c — pipeline YAML (libyaml events -> praline's tree with marks -> specs,
 * arguments, expressions) on arbitrary bytes: loading and validating must give data or a clean
 * error, never a crash, leak or hang. The bytes go through a memfd, since the loader takes a
 * path (error messages name it). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "praline/pipeline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int fd = memfd_create("pipeline.yaml", 0);
  if (fd < 0) abort();
  if (size && write(fd, data, size) != (ssize_t)size) abort();
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  pl_error err = {0};
  pl_pipeline *p = pl_pipeline_load(path, &err);
  if (p) {
    (void)pl_pipeline_validate(p, &err);
    pl_pipeline_free(p);
  }
  close(fd);
  return 0;
}

/* test_util.h — shared helpers for the cmocka tests: temp dirs, running the CLI, pqcheck. */
#ifndef PRALINE_TEST_UTIL_H
#define PRALINE_TEST_UTIL_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "praline/core.h"

/* Path of the sanitized CLI (make test sets PRALINE_BIN), else build/praline. */
static inline const char *tu_praline_bin(void) {
  const char *b = getenv("PRALINE_BIN");
  return b && *b ? b : "build/praline";
}
/* ../shared, as make test sets PRALINE_SHARED. */
static inline const char *tu_shared_dir(void) {
  const char *s = getenv("PRALINE_SHARED");
  return s && *s ? s : "../shared";
}
/* A fresh directory under $TMPDIR; caller frees the string. */
static inline char *tu_mkdtemp(const char *tag) {
  const char *t = getenv("TMPDIR");
  char tmpl[512];
  snprintf(tmpl, sizeof tmpl, "%s/praline-%s-XXXXXX", t && *t ? t : "/tmp", tag);
  char *d = mkdtemp(tmpl);
  assert_non_null(d);
  return pl_strdup(d);
}
static inline void tu_rmrf(const char *dir) {
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", dir);
}
/* Runs a shell command, captures stdout (malloc'd, NUL-terminated) and returns the exit code. */
static inline int tu_run(char **out, const char *fmt, ...) {
  char cmd[8192];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  size_t n;
  while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
    len += n;
    if (cap - len < 2) buf = realloc(buf, cap *= 2);
  }
  buf[len] = 0;
  int st = pclose(p);
  if (out) *out = buf;
  else free(buf);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
/* A fresh temp dir (*dir) holding a generated laion dataset in <dir>/in (*in); both are freed
 * with tu_laion_fixture_free. */
static inline void tu_laion_fixture(const char *tag, int rows, int files, int seed, char **dir, char **in) {
  *dir = tu_mkdtemp(tag);
  *in = pl_sprintf("%s/in", *dir);
  int rc = tu_run(NULL, "%s generate laion --rows %d --files %d --seed %d --out '%s' >/dev/null 2>&1",
                  tu_praline_bin(), rows, files, seed, *in);
  assert_int_equal(rc, 0);
}
static inline void tu_laion_fixture_free(char *dir, char *in) {
  tu_rmrf(dir);
  pl_free(dir);
  pl_free(in);
}
#endif

/* log.c — leveled logging to stderr; the level comes from PRALINE_LOG. */
#include "praline/core.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_level = -1;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;

static int level_from_env(void) {
  const char *e = getenv("PRALINE_LOG");
  if (!e) return PL_LOG_WARN;
  static const char *const names[] = {"error", "warn", "info", "debug"};
  for (int i = 0; i < 4; i++)
    if (!strcmp(e, names[i])) return i;
  return PL_LOG_WARN;
}

void pl_log_set_level(pl_log_level lvl) { g_level = (int)lvl; }

void pl_log(pl_log_level lvl, const char *fmt, ...) {
  if (g_level < 0) g_level = level_from_env();
  if ((int)lvl > g_level) return;
  static const char *const tags[] = {"error", "warning", "info", "debug"};
  va_list ap;
  va_start(ap, fmt);
  pthread_mutex_lock(&g_mu);
  fprintf(stderr, "praline: %s: ", tags[lvl]);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  pthread_mutex_unlock(&g_mu);
  va_end(ap);
}

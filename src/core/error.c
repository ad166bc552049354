/* error.c — pl_error: one message, set where the failure is detected, prefixed on the way up. */
#include "praline/core.h"

#include <stdio.h>
#include <string.h>

pl_status pl_error_set(pl_error *err, pl_status code, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->code = code;
  }
  return code;
}

void pl_error_prefix(pl_error *err, const char *fmt, ...) {
  if (!err) return;
  char pre[PL_ERROR_MSG_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(pre, sizeof pre, fmt, ap);
  va_end(ap);
  char old[PL_ERROR_MSG_MAX];
  memcpy(old, err->msg, sizeof old);
  old[sizeof old - 1] = 0;
  /* truncation is acceptable: the message stays NUL-terminated */
  size_t n = strlen(pre);
  if (n > sizeof err->msg - 3) n = sizeof err->msg - 3;
  memcpy(err->msg, pre, n);
  memcpy(err->msg + n, ": ", 2);
  size_t room = sizeof err->msg - n - 3, m = strlen(old);
  if (m > room) m = room;
  memcpy(err->msg + n + 2, old, m);
  err->msg[n + 2 + m] = 0;
}

void pl_error_clear(pl_error *err) {
  if (!err) return;
  err->code = PL_OK;
  err->msg[0] = 0;
}

const char *pl_status_name(pl_status s) {
  static const char *const names[] = {"ok", "invalid argument", "out of memory", "limit exceeded",
                                      "I/O error", "corrupt input", "unsupported", "not found",
                                      "canceled", "internal error"};
  return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "unknown status";
}

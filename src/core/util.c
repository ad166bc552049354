/* util.c — sizes, clocks, resident memory, machine facts, version strings. */
#include "praline/core.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifndef PL_VERSION
#define PL_VERSION "0.0.0"
#endif
#ifndef PL_GIT_HASH
#define PL_GIT_HASH "unknown"
#endif

pl_status pl_parse_size(const char *s, uint64_t *out, pl_error *err) {
  static const struct {
    const char *suffix;
    double mult;
  } units[] = {{"", 1},         {"b", 1},         {"kb", 1e3},          {"mb", 1e6},
               {"gb", 1e9},     {"tb", 1e12},     {"kib", 1024.0},      {"mib", 1048576.0},
               {"gib", 1073741824.0}, {"tib", 1099511627776.0}};
  if (!s || !*s) return pl_error_set(err, PL_EINVAL, "empty size");
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (end == s || errno || !(v >= 0) || isinf(v))
    return pl_error_set(err, PL_EINVAL, "'%s' is not a size (expected e.g. 512MB, 2GB, 64KiB or bytes)", s);
  while (*end == ' ') end++;
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
    if (strcasecmp(end, units[i].suffix)) continue;
    double r = v * units[i].mult;
    if (r >= 18446744073709551615.0) return pl_error_set(err, PL_EINVAL, "size '%s' is too large", s);
    if (units[i].mult == 1 && v != floor(v))
      return pl_error_set(err, PL_EINVAL, "size '%s' has a fraction of a byte", s);
    *out = (uint64_t)llround(r);
    return PL_OK;
  }
  return pl_error_set(err, PL_EINVAL,
                      "'%s' has an unknown unit '%s' (expected B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)", s, end);
}

const char *pl_format_size(uint64_t n, char *buf, size_t cap) {
  static const char *const u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = (double)n;
  int i = 0;
  while (v >= 1024 && i < 5) {
    v /= 1024;
    i++;
  }
  if (i == 0) snprintf(buf, cap, "%llu B", (unsigned long long)n);
  else snprintf(buf, cap, "%.1f %s", v, u[i]);
  return buf;
}

double pl_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

uint64_t pl_peak_rss(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru)) return 0;
  return (uint64_t)ru.ru_maxrss * 1024u;
}

static uint64_t read_u64_file(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return 0;
  char line[64] = {0};
  uint64_t v = 0;
  if (fgets(line, sizeof line, f) && isdigit((unsigned char)line[0])) v = strtoull(line, NULL, 10);
  fclose(f);
  return v;
}

uint64_t pl_system_memory(void) {
  long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
  uint64_t phys = pages > 0 && psz > 0 ? (uint64_t)pages * (uint64_t)psz : 0;
  /* cgroup v2, then v1; "max" or absurd values mean no limit */
  uint64_t cg = read_u64_file("/sys/fs/cgroup/memory.max");
  if (!cg) cg = read_u64_file("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  if (cg && (phys == 0 || cg < phys)) return cg;
  return phys;
}

int pl_cpu_count(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

/* Dates: H. Hinnant's days_from_civil / civil_from_days, proleptic Gregorian. */
int64_t pl_days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

void pl_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
  *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

size_t pl_utf8_next(const uint8_t *p, size_t n, bool *valid) {
  uint8_t b = p[0], lo = 0x80, hi = 0xBF;
  int need;
  *valid = false;
  if (b < 0x80) {
    *valid = true;
    return 1;
  }
  if (b >= 0xC2 && b <= 0xDF) need = 1;
  else if (b >= 0xE0 && b <= 0xEF) {
    need = 2;
    if (b == 0xE0) lo = 0xA0; /* no overlong forms */
    if (b == 0xED) hi = 0x9F; /* no surrogates */
  } else if (b >= 0xF0 && b <= 0xF4) {
    need = 3;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
  } else {
    return 1;
  }
  size_t j = 1;
  for (int seen = 0; seen < need; seen++, j++) {
    if (j >= n || p[j] < lo || p[j] > hi) return j;
    lo = 0x80;
    hi = 0xBF;
  }
  *valid = true;
  return j;
}

const char *pl_version(void) { return PL_VERSION; }
const char *pl_version_full(void) { return "praline version " PL_VERSION " (build " PL_GIT_HASH ")"; }

/* common.c — option parsing, usage errors, resources and file listing for the subcommands. */
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int cli_usage_error(const char *cmd, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "praline: %s%s", cmd ? cmd : "", cmd ? ": " : "");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return CLI_USAGE;
}

int cli_fail(const char *cmd, const pl_error *err) {
  fprintf(stderr, "praline: %s: %s\n", cmd, err && err->msg[0] ? err->msg : "failed");
  return CLI_FAIL;
}

bool cli_is_help(const char *arg) { return !strcmp(arg, "--help") || !strcmp(arg, "-h"); }

bool cli_opt(cli_parser *p, const char *name, const char **value) {
  const char *a = p->argv[p->i];
  size_t n = strlen(name);
  if (p->error || strncmp(a, name, n)) return false;
  if (a[n] == '=') {
    *value = a + n + 1;
    return true;
  }
  if (a[n]) return false;
  if (p->i + 1 >= p->argc) {
    cli_usage_error(p->cmd, "%s: missing value", name);
    p->error = true;
    return false;
  }
  *value = p->argv[++p->i];
  return true;
}

bool cli_flag(cli_parser *p, const char *name) { return !p->error && !strcmp(p->argv[p->i], name); }

bool cli_parse_i64(const char *cmd, const char *opt, const char *text, int64_t min, int64_t max,
                   int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (!*text || *end || errno == ERANGE) {
    cli_usage_error(cmd, "%s: '%s' is not a number", opt, text);
    return false;
  }
  if (v < min || v > max) {
    cli_usage_error(cmd, "%s: %s is out of range (%lld..%lld)", opt, text, (long long)min,
                    (long long)max);
    return false;
  }
  *out = v;
  return true;
}

bool cli_parse_u64(const char *cmd, const char *opt, const char *text, uint64_t *out) {
  char *end;
  errno = 0;
  if (!*text || text[0] == '-') {
    cli_usage_error(cmd, "%s: '%s' is not a number", opt, text);
    return false;
  }
  unsigned long long v = strtoull(text, &end, 10);
  if (*end || errno == ERANGE) {
    cli_usage_error(cmd, "%s: '%s' is not a number", opt, text);
    return false;
  }
  *out = v;
  return true;
}

bool cli_parse_size(const char *cmd, const char *opt, const char *text, uint64_t *out) {
  pl_error err = {0};
  if (pl_parse_size(text, out, &err) != PL_OK) {
    cli_usage_error(cmd, "%s: %s", opt, err.msg);
    return false;
  }
  return true;
}

void cli_resources_default(cli_resources *r) {
  r->memory_limit = pl_system_memory() / 2;
  if (r->memory_limit == 0) r->memory_limit = (uint64_t)1 << 30;
  r->threads = pl_cpu_count();
}

bool cli_resources_option(cli_parser *p, cli_resources *r) {
  const char *v;
  if (cli_opt(p, "--memory-limit", &v)) {
    if (!cli_parse_size(p->cmd, "--memory-limit", v, &r->memory_limit)) return !(p->error = true);
    if (r->memory_limit < (1u << 20)) {
      cli_usage_error(p->cmd, "--memory-limit: '%s' is too small (at least 1MiB)", v);
      return !(p->error = true);
    }
    return true;
  }
  if (cli_opt(p, "--threads", &v)) {
    int64_t t;
    if (!cli_parse_i64(p->cmd, "--threads", v, 1, 1024, &t)) return !(p->error = true);
    r->threads = (int)t;
    return true;
  }
  return false;
}

/* ------------------------------------------------------------------ paths */
static void paths_push(cli_paths *p, const char *s) {
  if (p->n == p->cap) {
    p->cap = p->cap ? 2 * p->cap : 16;
    p->v = pl_realloc(p->v, (size_t)p->cap * sizeof *p->v);
  }
  p->v[p->n++] = pl_strdup(s);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && !strcmp(s + a - b, suf);
}

static pl_status list_dir(const char *dir, cli_paths *out, int depth, pl_error *err) {
  if (depth > 64) return pl_error_set(err, PL_EINVAL, "%s: directories nested too deep", dir);
  DIR *d = opendir(dir);
  if (!d) return pl_error_set(err, PL_EIO, "%s: %s", dir, strerror(errno));
  cli_paths names = {0};
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue; /* also skips writers' hidden temporary files */
    paths_push(&names, e->d_name);
  }
  closedir(d);
  qsort(names.v, (size_t)names.n, sizeof *names.v, cmp_str);
  pl_status st = PL_OK;
  for (int k = 0; k < names.n && !st; k++) {
    size_t len = strlen(dir) + strlen(names.v[k]) + 2;
    char *full = pl_malloc(len);
    snprintf(full, len, "%s/%s", dir, names.v[k]);
    struct stat sb;
    if (stat(full, &sb) == 0 && S_ISDIR(sb.st_mode)) st = list_dir(full, out, depth + 1, err);
    else if (ends_with(full, ".parquet")) paths_push(out, full);
    pl_free(full);
  }
  cli_paths_free(&names);
  return st;
}

pl_status cli_list_parquet(const char *path, cli_paths *out, pl_error *err) {
  struct stat sb;
  if (stat(path, &sb) != 0) return pl_error_set(err, PL_ENOTFOUND, "%s: %s", path, strerror(errno));
  if (S_ISDIR(sb.st_mode)) {
    int before = out->n;
    pl_status st = list_dir(path, out, 0, err);
    if (!st && out->n == before)
      return pl_error_set(err, PL_ENOTFOUND, "%s: no .parquet files in this directory", path);
    return st;
  }
  paths_push(out, path);
  return PL_OK;
}

void cli_paths_free(cli_paths *p) {
  for (int i = 0; i < p->n; i++) pl_free(p->v[i]);
  pl_free(p->v);
  *p = (cli_paths){0};
}

/* ------------------------------------------------------------------ dates */

void cli_date_text(int64_t days, char *buf, size_t cap) {
  int64_t y;
  unsigned m, d;
  pl_civil_from_days(days, &y, &m, &d);
  snprintf(buf, cap, "%04lld-%02u-%02u", (long long)y, m, d);
}

void cli_timestamp_text(int64_t v, pl_time_unit unit, bool utc, char *buf, size_t cap) {
  static const int64_t per[] = {1, 1000, 1000000, 1000000000};
  static const int digits[] = {0, 3, 6, 9};
  int64_t p = per[unit & 3], secs = v / p, frac = v % p;
  if (frac < 0) {
    frac += p;
    secs--;
  }
  int64_t days = secs / 86400, sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    days--;
  }
  char date[32], fr[16] = "";
  cli_date_text(days, date, sizeof date);
  if (digits[unit & 3]) snprintf(fr, sizeof fr, ".%0*lld", digits[unit & 3], (long long)frac);
  snprintf(buf, cap, "%sT%02d:%02d:%02d%s%s", date, (int)(sod / 3600), (int)(sod / 60 % 60),
           (int)(sod % 60), fr, utc ? "Z" : "");
}

/* ------------------------------------------------------------------ JSON */
void cli_json_string(FILE *f, const char *s, size_t n) {
  static const char hexd[] = "0123456789abcdef";
  const unsigned char *p = (const unsigned char *)s;
  fputc('"', f);
  for (size_t i = 0; i < n; i++) {
    unsigned char b = p[i];
    if (b == '"' || b == '\\') {
      fputc('\\', f);
      fputc(b, f);
    } else if (b == '\n') {
      fputs("\\n", f);
    } else if (b == '\t') {
      fputs("\\t", f);
    } else if (b == '\r') {
      fputs("\\r", f);
    } else if (b < 0x20) {
      fprintf(f, "\\u00%c%c", hexd[b >> 4], hexd[b & 15]);
    } else if (b < 0x80) {
      fputc(b, f);
    } else {
      /* pass well-formed UTF-8 through; anything else becomes U+FFFD */
      int need = b >= 0xF0 && b <= 0xF4 ? 3 : b >= 0xE0 && b <= 0xEF ? 2 : b >= 0xC2 && b <= 0xDF ? 1 : 0;
      bool ok = need > 0;
      for (int k = 1; ok && k <= need; k++) ok = i + (size_t)k < n && (p[i + k] & 0xC0) == 0x80;
      if (ok) {
        fwrite(p + i, 1, (size_t)need + 1, f);
        i += (size_t)need;
      } else {
        fputs("\xef\xbf\xbd", f);
      }
    }
  }
  fputc('"', f);
}

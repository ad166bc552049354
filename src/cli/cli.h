/* cli.h — what the subcommands of the `praline` program share: exit codes, option parsing,
 * file listing and small output helpers. Internal to src/cli. */
#ifndef PRALINE_CLI_H
#define PRALINE_CLI_H

#include "praline/columnar.h"
#include "praline/core.h"
#include "praline/parquet.h"

#include <stdio.h>

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

typedef struct cli_command {
  const char *name;
  const char *summary; /* one line for `praline --help` */
  int (*run)(int argc, char **argv); /* argv[0] is the command name */
} cli_command;

int cli_generate(int argc, char **argv);
int cli_inspect(int argc, char **argv);
int cli_cat(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_validate(int argc, char **argv);
int cli_components(int argc, char **argv);

/* Prints "praline: <cmd>: <message>" on stderr and returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints "praline: <cmd>: <err->msg>" on stderr and returns CLI_FAIL. */
int cli_fail(const char *cmd, const pl_error *err);

/* Option scanner over argv. Options are `--name VALUE` or `--name=VALUE`; flags `--name`.
 * cli_opt returns true when the current argument is the option, sets *value and steps past a
 * separate value. A missing value prints the usage message, sets p->error and returns false.
 * Typical loop:
 *   for (ps.i = first; ps.i < argc; ps.i++) {
 *     if (cli_opt(&ps, "--out", &v)) out = v;
 *     else if (cli_flag(&ps, "--json")) json = true;
 *     else if (ps.error) return CLI_USAGE;
 *     else ...positional or unknown...
 *   } */
typedef struct cli_parser {
  const char *cmd;
  int argc;
  char **argv;
  int i;
  bool error;
} cli_parser;
bool cli_opt(cli_parser *p, const char *name, const char **value);
bool cli_flag(cli_parser *p, const char *name);
bool cli_is_help(const char *arg);

/* Number parsers that print the one-line usage message themselves and return false. */
bool cli_parse_i64(const char *cmd, const char *opt, const char *text, int64_t min, int64_t max,
                   int64_t *out);
bool cli_parse_u64(const char *cmd, const char *opt, const char *text, uint64_t *out);
bool cli_parse_size(const char *cmd, const char *opt, const char *text, uint64_t *out);

/* --memory-limit and --threads, shared by every command that reads data. */
typedef struct cli_resources {
  uint64_t memory_limit; /* bytes; default half of pl_system_memory() */
  int threads;           /* default pl_cpu_count() */
} cli_resources;
void cli_resources_default(cli_resources *r);
/* Handles --memory-limit / --threads at the parser's argument: true when taken. A bad value
 * prints the message, sets p->error and returns false. */
bool cli_resources_option(cli_parser *p, cli_resources *r);
#define CLI_RESOURCES_HELP                                                                     \
  "  --memory-limit SIZE   hard cap on buffered data (512MB, 2GB, 64KiB...; default: 50% of "   \
  "RAM)\n"                                                                                     \
  "  --threads N           worker threads (default: the number of cores)\n"

/* Expands files and directories (recursively, *.parquet, sorted) into a list of paths. */
typedef struct cli_paths {
  int n, cap;
  char **v;
} cli_paths;
pl_status cli_list_parquet(const char *path, cli_paths *out, pl_error *err);
void cli_paths_free(cli_paths *p);

/* "2024-01-31" from days since the epoch; "2024-01-31T12:00:00.000000Z" from a timestamp. */
void cli_date_text(int64_t days, char *buf, size_t cap);
void cli_timestamp_text(int64_t v, pl_time_unit unit, bool utc, char *buf, size_t cap);

/* JSON string literal of n bytes (invalid UTF-8 becomes U+FFFD, as in the checksum). */
void cli_json_string(FILE *f, const char *s, size_t n);

#endif

/* main.c — the `praline` program: finds the subcommand and runs it.
 * Exit codes: 0 success, 1 a run failed, 2 usage error (bad command, option or value). */
#include "cli/cli.h"

#include <signal.h>
#include <string.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

static const cli_command commands[] = {
    {"generate", "write synthetic datasets (laion-like metadata, big-value seed data)", cli_generate},
    {"inspect", "show a Parquet file's footer, or its canonical checksums", cli_inspect},
    {"cat", "print rows of Parquet files as a table, CSV or JSON Lines", cli_cat},
    {"run", "run a pipeline (YAML) on the engine, reusing cached components", cli_run},
    {"validate", "check a pipeline (YAML) before any data is read", cli_validate},
    {"components", "list the built-in components, or show one's spec", cli_components},
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static void usage(FILE *f) {
  fprintf(f,
          "usage: praline COMMAND [OPTIONS]\n"
          "       praline COMMAND --help\n"
          "       praline --version\n"
          "\n"
          "praline runs dataset pipelines over Parquet, partition by partition, under a hard\n"
          "memory budget.\n"
          "\n"
          "commands:\n");
  for (int i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(f,
          "\n"
          "Sizes take 512MB, 2GB, 64KiB or plain bytes (KB/MB/GB powers of 1000, KiB/MiB/GiB of\n"
          "1024). Exit status: 0 success, 1 failed run, 2 usage error.\n");
}

/* Column buffers of a few MiB are allocated and freed once per batch. glibc's defaults serve
 * them with fresh mmaps (or trim the freed heap right away), so every batch page-faults its
 * buffers in again: ~1/3 of `praline cat --format null`'s time went to the kernel. Keeping up
 * to 32 MiB blocks on the heap and trimming only past 64 MiB of free top lets the next batch
 * reuse the pages. The budget still bounds what is live; the retained free memory is at most
 * what the previous batches used. */
static void tune_allocator(void) {
#ifdef __GLIBC__
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 64 << 20);
  mallopt(M_TOP_PAD, 4 << 20);
#endif
}

int main(int argc, char **argv) {
  tune_allocator();
  /* A file-size limit (ulimit -f) must fail the write with EFBIG, which names the file and
   * removes the temporary one, rather than kill the process and leave it behind. */
  signal(SIGXFSZ, SIG_IGN);
  if (argc < 2) {
    usage(stderr);
    return CLI_USAGE;
  }
  const char *a = argv[1];
  if (cli_is_help(a) || !strcmp(a, "help")) {
    if (argc > 2 && strcmp(a, "help") == 0) {
      for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(argv[2], commands[i].name)) {
          char *h[] = {argv[2], "--help", NULL};
          return commands[i].run(2, h);
        }
    }
    usage(stdout);
    return CLI_OK;
  }
  if (!strcmp(a, "--version") || !strcmp(a, "version")) {
    printf("%s\n", pl_version_full());
    return CLI_OK;
  }
  for (int i = 0; i < N_COMMANDS; i++)
    if (!strcmp(a, commands[i].name)) return commands[i].run(argc - 1, argv + 1);
  if (a[0] == '-') return cli_usage_error(NULL, "unknown option '%s' (try praline --help)", a);
  return cli_usage_error(NULL, "unknown command '%s' (try praline --help)", a);
}

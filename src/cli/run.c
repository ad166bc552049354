/* run.c — `praline run pipeline.yaml`: validates, then runs the pipeline on the engine,
 * reusing cached components, and prints the report. */
#include "cli/cli.h"
#include "praline/pipeline.h"

#include <string.h>

static void help(FILE *f) {
  fprintf(f, "usage: praline run PIPELINE.yaml [OPTIONS]\n"
             "  --workers N          worker threads (default: the number of cores)\n"
             "  --memory-limit SIZE  hard cap for the process (512MB, 2GB; default: 50%% of RAM)\n"
             "  --resume RUN_ID      continue a run that stopped, skipping journaled partitions\n"
             "  --no-cache           run every component, even when a cached result matches\n"
             "  --report FILE.json   write the run report as JSON\n"
             "  --quiet              print no report on stdout\n");
}

int cli_run(int argc, char **argv) {
  const char *path = NULL, *v;
  pl_run_options o = pl_run_options_default();
  bool quiet = false;
  cli_parser ps = {"run", argc, argv, 1, false};
  for (ps.i = 1; ps.i < argc; ps.i++) {
    if (cli_is_help(argv[ps.i])) {
      help(stdout);
      return CLI_OK;
    }
    int64_t n;
    if (cli_opt(&ps, "--workers", &v)) {
      if (!cli_parse_i64("run", "--workers", v, 1, 1024, &n)) return CLI_USAGE;
      o.workers = (int)n;
    } else if (cli_opt(&ps, "--memory-limit", &v)) {
      if (!cli_parse_size("run", "--memory-limit", v, &o.memory_limit)) return CLI_USAGE;
    } else if (cli_opt(&ps, "--resume", &v)) o.resume = v;
    else if (cli_opt(&ps, "--report", &v)) o.report_path = v;
    else if (cli_flag(&ps, "--no-cache")) o.no_cache = true;
    else if (cli_flag(&ps, "--quiet")) quiet = true;
    else if (ps.error) return CLI_USAGE;
    else if (argv[ps.i][0] == '-') return cli_usage_error("run", "unknown option '%s'", argv[ps.i]);
    else if (path) return cli_usage_error("run", "one pipeline file only");
    else path = argv[ps.i];
  }
  if (!path) {
    help(stderr);
    return CLI_USAGE;
  }
  pl_error err = {0};
  pl_pipeline *p = pl_pipeline_load(path, &err);
  if (!p || pl_pipeline_validate(p, &err)) {
    pl_pipeline_free(p);
    fprintf(stderr, "praline: run: %s\n", err.msg);
    return CLI_USAGE;
  }
  pl_pipeline_report *rep = pl_calloc(1, sizeof *rep);
  pl_status st = pl_pipeline_run(p, &o, rep, &err);
  pl_pipeline_free(p);
  if (st) {
    fprintf(stderr, "praline: run: %s\n", err.msg);
    if (rep->run_id[0]) fprintf(stderr, "praline: run: resume with --resume %s\n", rep->run_id);
    pl_free(rep);
    return CLI_FAIL;
  }
  if (!quiet) {
    printf("run %s: %.2fs, peak RSS %.1f MB%s\n", rep->run_id, rep->seconds, (double)rep->peak_rss / 1e6,
           rep->n_cached == rep->n_ops ? " (every component cached: nothing to do)" : "");
    printf("%-24s %12s %12s %s\n", "component", "rows in", "rows out", "");
    for (int i = 0; i < rep->n_ops; i++)
      printf("%-24s %12lld %12lld %s\n", rep->ops[i].name, (long long)rep->ops[i].rows_in,
             (long long)rep->ops[i].rows_out, rep->ops[i].cached ? "cached" : "");
    pl_pipeline_report_json(rep, stdout);
  }
  pl_free(rep);
  return CLI_OK;
}

/* validate.c — `praline validate pipeline.yaml`: checks a pipeline before any data is read
 * (components, arguments, fields and their types, expressions, names). Exit 2 on an error,
 * with file:line:column and what was expected. */
#include "cli/cli.h"
#include "praline/pipeline.h"

#include <string.h>

int cli_validate(int argc, char **argv) {
  if (argc != 2 || cli_is_help(argv[1])) {
    FILE *f = argc == 2 ? stdout : stderr;
    fprintf(f, "usage: praline validate PIPELINE.yaml\n"
               "Checks every operation of the pipeline before any data is read: known components,\n"
               "typed arguments, consumed fields that exist with compatible types, expressions,\n"
               "unique names. Errors give file:line:column. Exit 0 if valid, 2 if not.\n");
    return argc == 2 ? CLI_OK : CLI_USAGE;
  }
  pl_error err = {0};
  pl_pipeline *p = pl_pipeline_load(argv[1], &err);
  if (p && pl_pipeline_validate(p, &err) == PL_OK) {
    printf("%s: valid\n", argv[1]);
    pl_pipeline_free(p);
    return CLI_OK;
  }
  pl_pipeline_free(p);
  fprintf(stderr, "praline: validate: %s\n", err.msg);
  return CLI_USAGE;
}

/* components.c — `praline components` lists the built-in components; `praline components
 * show NAME` prints one spec (YAML). */
#include "cli/cli.h"
#include "praline/pipeline.h"

#include <string.h>

int cli_components(int argc, char **argv) {
  if (argc >= 2 && cli_is_help(argv[1])) {
    printf("usage: praline components            list the built-in components\n"
           "       praline components show NAME  print a component's spec (YAML)\n");
    return CLI_OK;
  }
  if (argc == 1) {
    for (int i = 0; i < pl_components_count(); i++) {
      const char *n = pl_components_name(i);
      printf("%-20s %s\n", n, pl_components_description(n));
    }
    return CLI_OK;
  }
  if (argc == 3 && !strcmp(argv[1], "show")) {
    const char *s = pl_components_spec(argv[2]);
    if (!s) return cli_usage_error("components", "unknown component '%s' (see praline components)", argv[2]);
    fputs(s, stdout);
    return CLI_OK;
  }
  return cli_usage_error("components", "expected no argument or 'show NAME'");
}

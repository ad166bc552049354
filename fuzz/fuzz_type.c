/* fuzz_type.c — pl_type_parse (type names from YAML specs) on arbitrary text: a parsed type must
 * print back to a canonical name that parses to an equal type. */
#include <stdlib.h>
#include <string.h>

#include "praline/columnar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text) abort();
  memcpy(text, data, size);
  text[size] = 0;
  pl_type t;
  if (pl_type_parse(text, &t, NULL) == PL_OK) {
    size_t n = pl_type_canonical(&t, NULL, 0);
    char *name = malloc(n + 1);
    if (!name) abort();
    pl_type_canonical(&t, name, n + 1);
    pl_type back;
    /* canonical names drop details (fixed binary prints as binary, tz as timestamptz), so only
     * require that the canonical text parses and is stable */
    if (pl_type_parse(name, &back, NULL) != PL_OK) abort();
    size_t m = pl_type_canonical(&back, NULL, 0);
    char *again = malloc(m + 1);
    if (!again) abort();
    pl_type_canonical(&back, again, m + 1);
    if (strcmp(name, again)) abort();
    free(again);
    pl_type_release(&back);
    free(name);
    pl_type_release(&t);
  }
  free(text);
  return 0;
}

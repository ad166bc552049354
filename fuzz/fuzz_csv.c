/* fuzz_csv.c — the CSV reader (quoting, chunk edges, inference, bad rows) and a write/re-read
 * round trip on whatever it accepts. The first byte picks delimiter, header, chunk size and
 * on_error; see fuzz_common.h. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_one(PL_FORMAT_CSV, data, size); }

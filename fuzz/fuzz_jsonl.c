/* fuzz_jsonl.c — the JSON Lines reader (line splitting, jansson values, nested inference,
 * bad rows) and a write/re-read round trip on whatever it accepts; see fuzz_common.h. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_one(PL_FORMAT_JSONL, data, size); }

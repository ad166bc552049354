/* bench-w2: laion -> filter -> caption_len -> dedup on url -> export (zstd). See w2_common.h. */
#include "w2_common.h"
int main(int argc, char **argv) { return w2_main(argc, argv, "w2", true); }

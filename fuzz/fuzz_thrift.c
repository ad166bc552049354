/* fuzz_thrift.c — the Thrift compact decoder: bytes as a FileMetaData (then the schema
 * mapping over whatever decoded) and as a PageHeader. */
#include "parquet/reader_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pl_error err;
  pl_pq_file_metadata md;
  if (pl__thrift_read_file_metadata(data, size, &md, &err) == PL_OK) {
    pl__schema s;
    if (pl__schema_build(&md, &s, &err) == PL_OK) pl__schema_release(&s);
    pl_pq_file_metadata_release(&md);
  }
  pl_pq_page_header h;
  size_t used;
  bool more;
  if (pl__thrift_read_page_header(data, size, &h, &used, &more, &err) == PL_OK) {
    if (used > size) __builtin_trap();
    pl_pq_page_header_release(&h);
  }
  return 0;
}

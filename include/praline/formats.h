/* praline/formats.h — CSV and JSON Lines: streaming readers that produce pl_batch, and
 * streaming writers that consume them.
 *
 * What this module owns:
 *  - pl_formats_reader: reads a file in fixed-size chunks (chunk_bytes, default 1 MiB) with a
 *    carry-over for a record cut by a chunk edge, and hands out batches of about batch_rows
 *    rows / batch_bytes bytes. Every buffer (chunk, carry-over, scratch, columns) is charged to
 *    the options' budget, so memory is bounded by the budget whatever the file size. A record
 *    that cannot fit in the budget fails with PL_ELIMIT naming the file and line.
 *    JSON values are parsed with jansson; its transient allocations for one line are reserved
 *    on the budget as an estimate (32 bytes per input byte) while they live.
 *  - pl_formats_writer: writes batches to a temporary file renamed on close; optionally cut
 *    into part-00000.csv, part-00001.csv ... in a directory at max_file_bytes.
 *
 * Who frees what: pl_formats_reader_next hands the caller a batch that the caller frees with
 * pl_batch_free (it is charged to the reader's budget until then). The reader copies the schema
 * in the options; pl_formats_reader_schema's result lives as long as the reader.
 * pl_formats_writer_free on a writer that was not closed successfully removes every file the
 * writer created (temporary files and finished parts): a failed write leaves nothing.
 *
 * Threads: a reader or writer is used by one thread at a time; distinct readers/writers are
 * independent. pl_formats_options_default is thread-safe.
 *
 * CSV rules (RFC 4180 plus common practice): delimiter (default ','), '"' quotes, doubled quotes
 * inside quotes, quoted fields may hold delimiters and newlines; records end at LF, CRLF or a
 * lone CR; blank lines are skipped; a UTF-8 BOM at the start is skipped. An empty unquoted
 * field is null (any type); an empty quoted field "" is the empty string for string columns
 * and null otherwise; an unquoted field equal to null_string (if set) is null. Characters after
 * a closing quote are kept as part of the field (as Python's csv does).
 */
#ifndef PRALINE_FORMATS_H
#define PRALINE_FORMATS_H

#include "praline/columnar.h"
#include "praline/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum pl_format_kind { PL_FORMAT_CSV = 0, PL_FORMAT_JSONL } pl_format_kind;
typedef enum pl_on_error { PL_ON_ERROR_FAIL = 0, PL_ON_ERROR_SKIP } pl_on_error;

/* How many bad-row messages a reader keeps (the first ones). */
#define PL_FORMATS_MAX_MESSAGES 8

typedef struct pl_formats_options {
  pl_format_kind format;
  /* reading */
  char delimiter;          /* CSV: default ',' */
  bool header;             /* CSV: first record names the columns; default true */
  const char *null_string; /* CSV: an unquoted field equal to this is null; NULL = none */
  const pl_schema *schema; /* NULL = infer from the first infer_rows records (copied) */
  int64_t infer_rows;      /* default 1000 */
  int64_t batch_rows;      /* default 65536 */
  size_t batch_bytes;      /* default 16 MiB (column bytes) */
  size_t chunk_bytes;      /* read size, default 1 MiB */
  pl_on_error on_error;    /* default fail */
  pl_budget *budget;       /* NULL = uncounted */
  /* writing */
  uint64_t max_file_bytes; /* 0 = one file at path; else path is a directory of parts */
} pl_formats_options;

pl_formats_options pl_formats_options_default(pl_format_kind format);

/* ------------------------------------------------------------------ readers */
typedef struct pl_formats_reader pl_formats_reader;

/* Opens path and settles the schema (given, or inferred from a sample: inference reads the
 * sample first and then rewinds, so it needs a regular file). For CSV with header=false the
 * inferred columns are named c0, c1, ...; with an explicit schema and a header, columns are
 * matched by name (a schema field missing from the header is an error). For JSONL, keys map to
 * columns by name; missing keys are null; unknown keys are ignored. */
pl_status pl_formats_reader_open(const char *path, const pl_formats_options *o,
                                 pl_formats_reader **out, pl_error *err);
const pl_schema *pl_formats_reader_schema(const pl_formats_reader *r);
/* The next batch (caller frees), or *out = NULL at the end of the file. With on_error=fail a
 * bad row fails with PL_ECORRUPT and a message like
 *   "data.csv: line 17: column 'width': 'abc' is not an int32"
 * (line = 1-based physical line where the record starts). */
pl_status pl_formats_reader_next(pl_formats_reader *r, pl_batch **out, pl_error *err);
/* Rows dropped so far (on_error=skip), and the first PL_FORMATS_MAX_MESSAGES messages. */
int64_t pl_formats_reader_bad_rows(const pl_formats_reader *r);
int pl_formats_reader_n_messages(const pl_formats_reader *r);
const char *pl_formats_reader_message(const pl_formats_reader *r, int i);
int64_t pl_formats_reader_rows(const pl_formats_reader *r); /* rows delivered so far */
void pl_formats_reader_free(pl_formats_reader *r);

/* ------------------------------------------------------------------ writers */
/* CSV: a header, quoting only when needed (an empty string is written as ""), nulls as empty
 * fields, floats as the shortest round-trip text, dates YYYY-MM-DD, timestamps ISO 8601
 * (with a 'Z' when the type has a time zone). Nested types are not supported in CSV.
 * JSONL: one object per row; nulls as null; lists/maps as arrays/objects, structs as objects;
 * binary as a hex string; decimals as numbers. */
typedef struct pl_formats_writer pl_formats_writer;

pl_status pl_formats_writer_open(const char *path, const pl_schema *schema,
                                 const pl_formats_options *o, pl_formats_writer **out,
                                 pl_error *err);
pl_status pl_formats_writer_write(pl_formats_writer *w, const pl_batch *batch, pl_error *err);
/* Flushes, fsyncs and renames the current file. After a failure the writer must be freed. */
pl_status pl_formats_writer_close(pl_formats_writer *w, pl_error *err);
/* Number of files finished so far (parts when max_file_bytes > 0). */
int pl_formats_writer_files(const pl_formats_writer *w);
uint64_t pl_formats_writer_bytes(const pl_formats_writer *w);
void pl_formats_writer_free(pl_formats_writer *w);

#ifdef __cplusplus
}
#endif
#endif

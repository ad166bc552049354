/* formats/internal.h — shared between the formats module's files: text parsing of scalar values
 * (strict, bounds-checked, no NUL terminator needed), UTF-8 validation, and type inference. */
#ifndef PRALINE_FORMATS_INTERNAL_H
#define PRALINE_FORMATS_INTERNAL_H

#include "praline/formats.h"

/* True if p[0..n) is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool pl__utf8_valid(const uint8_t *p, size_t n);
bool pl__parse_bool(const char *p, size_t n, bool *out);
bool pl__parse_int(const char *p, size_t n, int64_t *out);
bool pl__parse_uint(const char *p, size_t n, uint64_t *out);
/* Decimal/exponent floats, inf/infinity/nan (any case, optional sign). */
bool pl__parse_float(const char *p, size_t n, double *out);
bool pl__parse_date(const char *p, size_t n, int32_t *days);
/* YYYY-MM-DD[T ]HH:MM[:SS[.f{1,9}]][Z|+HH:MM|-HH:MM|+HHMM]; result in `unit` since the epoch,
 * adjusted to UTC when an offset is given (*has_tz). */
bool pl__parse_timestamp(const char *p, size_t n, pl_time_unit unit, int64_t *out, bool *has_tz);

/* Inference lattice (ordered; widening follows the rules in infer_merge). */
typedef enum {
  PL__INF_NONE = 0, /* only nulls so far */
  PL__INF_BOOL,
  PL__INF_INT,
  PL__INF_FLOAT,
  PL__INF_DATE,
  PL__INF_TS,
  PL__INF_STRING,
  PL__INF_LIST,
  PL__INF_STRUCT
} pl__inf_kind;

/* The best kind for one non-null text value (bool, int, float, date, ts or string). */
pl__inf_kind pl__infer_text(const char *p, size_t n, bool *has_tz);
/* Widens a with b: int+float=float, date+ts=ts, none+x=x, other mixes = string. */
pl__inf_kind pl__infer_merge(pl__inf_kind a, pl__inf_kind b);
/* A primitive type for a kind (NONE -> string; TS -> timestamp[us] with UTC if tz). */
pl_type pl__infer_type(pl__inf_kind k, bool tz);

/* Typed check + conversion of one text cell to a primitive column type. Returns false and
 * writes what was expected ("an int32") when the text does not fit the type. */
typedef struct {
  bool null;
  int64_t i;
  double f;
  const char *s; /* string/binary bytes (borrowed) */
  size_t n;
} pl__cell;
bool pl__convert_text(const pl_type *t, const char *p, size_t n, pl__cell *out);
pl_status pl__append_cell(pl_column *c, const pl__cell *v, pl_error *err);
/* "an int32", "a string", ... for error messages. */
const char *pl__type_article(const pl_type *t, char *buf, size_t cap);
/* Column types that the CSV reader can produce from text. */
bool pl__text_type_ok(const pl_type *t);

/* JSON Lines (jsonl.c), driven by the reader in reader.c. */
typedef struct pl__reader_core pl__reader_core;

#endif

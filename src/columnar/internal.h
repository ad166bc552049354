/* columnar/internal.h — helpers shared by the columnar module's files (not public). */
#ifndef PRALINE_COLUMNAR_INTERNAL_H
#define PRALINE_COLUMNAR_INTERNAL_H

#include "praline/columnar.h"

/* Same physical layout (ids, widths, children shapes); names, nullability, tz, decimal
 * precision and scale may differ. What append_slice needs. */
bool pl__type_layout_equal(const pl_type *a, const pl_type *b);

/* Sets bits [start, start+n) of bits to v. */
void pl__bits_set_range(uint8_t *bits, int64_t start, int64_t n, bool v);
/* Copies n bits from src at sbit to dst at dbit. */
void pl__bits_copy(uint8_t *dst, int64_t dbit, const uint8_t *src, int64_t sbit, int64_t n);
/* Number of set bits in [start, start+n). */
int64_t pl__bits_count(const uint8_t *bits, int64_t start, int64_t n);

#endif

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
/* Set bits of x without the popcnt instruction (the build targets baseline x86-64, where
 * __builtin_popcountll is a call into libgcc). */
static inline int pl__popcount64(uint64_t x) {
  x -= (x >> 1) & 0x5555555555555555ULL;
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL;
  return (int)((x * 0x0101010101010101ULL) >> 56);
}

#endif

/* copy.h — a copy of one short value (a string of a page or a column) without a call. */
#ifndef PL_CORE_COPY_H
#define PL_CORE_COPY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Copies len bytes from q to d. When len <= 128 and whole 32-byte chunks covering it stay
 * inside both buffers (d_room bytes writable from d, q_room readable from q), the chunks are
 * copied inline: the bytes after len are written too, so the caller writes values in
 * ascending order (the next value overwrites them) and never reads past its own length.
 * Strings of ~100 bytes cost a libc call each otherwise (decoding and writing PLAIN pages). */
static inline void pl__copy_value(uint8_t *d, const uint8_t *q, size_t len, size_t d_room, size_t q_room) {
  const size_t r = (len + 31) & ~(size_t)31;
  if (len <= 128 && r <= d_room && r <= q_room) {
    for (size_t i = 0; i < r; i += 32) memcpy(d + i, q + i, 32);
  } else if (len) {
    memcpy(d, q, len);
  }
}

#endif

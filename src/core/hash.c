/* hash.c — xxh3-64 through libxxhash. */
#include "praline/core.h"

#include <xxhash.h>

uint64_t pl_hash64(const void *p, size_t n, uint64_t seed) { return XXH3_64bits_withSeed(p, n, seed); }

struct pl_hasher {
  XXH3_state_t *st;
};

pl_hasher *pl_hasher_new(uint64_t seed) {
  pl_hasher *h = pl_malloc(sizeof *h);
  h->st = XXH3_createState();
  if (!h->st) {
    pl_free(h);
    return NULL;
  }
  XXH3_64bits_reset_withSeed(h->st, seed);
  return h;
}
void pl_hasher_update(pl_hasher *h, const void *p, size_t n) { XXH3_64bits_update(h->st, p, n); }
uint64_t pl_hasher_digest(const pl_hasher *h) { return XXH3_64bits_digest(h->st); }
void pl_hasher_free(pl_hasher *h) {
  if (!h) return;
  XXH3_freeState(h->st);
  pl_free(h);
}

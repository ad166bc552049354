/* test_mutation.c — deterministic mutations of small corpus files through the whole reader.
 *
 * Each mutant (a truncation, a bit flip anywhere, byte or varint changes aimed at the footer,
 * the footer length, and the page headers at the column chunk offsets) is written to a
 * memfd and read in full under a memory budget. Every mutant must give data or a clean error
 * that names the file; ASan/UBSan watch for everything else. The seed is fixed, so a failure
 * reproduces; PL_MUTATIONS overrides the count.
 */
#include "test_util.h"

#include <sys/mman.h>
#include <unistd.h>

#include "praline/parquet.h"

static const char *const FILES[] = {
    "alltypes_plain.parquet",        "alltypes_plain.snappy.parquet",
    "alltypes_dictionary.parquet",   "binary.parquet",
    "byte_array_decimal.parquet",    "datapage_v2.snappy.parquet",
    "dict-page-offset-zero.parquet", "fixed_length_decimal.parquet",
    "int32_decimal.parquet",         "list_columns.parquet",
    "nested_lists.snappy.parquet",   "nested_maps.snappy.parquet",
    "nonnullable.impala.parquet",    "nullable.impala.parquet",
    "nulls.snappy.parquet",          "old_list_structure.parquet",
    "repeated_no_annotation.parquet", "rle_boolean_encoding.parquet",
    "single_nan.parquet",            "hadoop_lz4_compressed.parquet",
    "lz4_raw_compressed.parquet",    "concatenated_gzip_members.parquet",
    "delta_length_byte_array.parquet", "int96_from_spark.parquet",
    "page_v2_empty_compressed.parquet", "incorrect_map_schema.parquet",
    "null_list.parquet",             "float16_nonzeros_and_nans.parquet",
    "plain-dict-uncompressed-checksum.parquet", "byte_stream_split.zstd.parquet",
    "delta_encoding_optional_column.parquet", "repeated_primitive_no_list.parquet",
};
#define NFILES (sizeof FILES / sizeof FILES[0])

typedef struct src {
  uint8_t *bytes;
  size_t len;
  int64_t offsets[256]; /* page header positions: column chunk starts */
  int n_offsets;
} src;

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) {
  uint64_t x = rng_state;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  return rng_state = x;
}

static void load(const char *name, src *s) {
  char path[1024];
  snprintf(path, sizeof path, "%s/testdata/parquet-testing/data/%s", tu_shared_dir(), name);
  FILE *fp = fopen(path, "rb");
  if (!fp) fail_msg("cannot open %s", path);
  fseek(fp, 0, SEEK_END);
  s->len = (size_t)ftell(fp);
  fseek(fp, 0, SEEK_SET);
  s->bytes = malloc(s->len);
  assert_int_equal(fread(s->bytes, 1, s->len, fp), s->len);
  fclose(fp);
  pl_error err = {0};
  pl_parquet_file *f = pl_parquet_open(path, NULL, NULL, &err);
  if (!f) fail_msg("%s", err.msg);
  const pl_pq_file_metadata *md = pl_parquet_metadata(f);
  s->n_offsets = 0;
  for (int32_t g = 0; g < md->n_row_groups; g++)
    for (int32_t c = 0; c < md->row_groups[g].n_columns && s->n_offsets < 254; c++) {
      const pl_pq_column_meta *m = &md->row_groups[g].columns[c].meta;
      s->offsets[s->n_offsets++] = m->data_page_offset;
      if (m->has_dictionary_page_offset && m->dictionary_page_offset > 0)
        s->offsets[s->n_offsets++] = m->dictionary_page_offset;
    }
  pl_parquet_close(f);
}

/* Makes one mutant of s in buf; returns its length. */
static size_t mutate(const src *s, uint8_t *buf, int kind) {
  memcpy(buf, s->bytes, s->len);
  size_t len = s->len;
  uint32_t flen = (uint32_t)s->bytes[len - 8] | (uint32_t)s->bytes[len - 7] << 8 |
                  (uint32_t)s->bytes[len - 6] << 16 | (uint32_t)s->bytes[len - 5] << 24;
  size_t fstart = flen + 8 <= len ? len - 8 - flen : 0;
  size_t pos;
  static const uint8_t special[] = {0x00, 0xff, 0x7f, 0x80, 0x01, 0x15, 0x19, 0x1c, 0x0c, 0x3f};
  switch (kind) {
  case 0: /* truncation */
    return (size_t)(rnd() % len);
  case 1: /* bit flip anywhere */
    pos = rnd() % len;
    buf[pos] ^= (uint8_t)(1u << (rnd() % 8));
    return len;
  case 2: /* bit flip in the footer */
    pos = fstart + rnd() % (len - fstart);
    buf[pos] ^= (uint8_t)(1u << (rnd() % 8));
    return len;
  case 3: /* a special byte in the footer (type nibbles, varint continuation, stop) */
    pos = fstart + rnd() % (len - fstart);
    buf[pos] = special[rnd() % sizeof special];
    return len;
  case 4: { /* nudge a value in the footer: counts, lengths, offsets */
    pos = fstart + rnd() % (len - fstart);
    int d = (int)(rnd() % 7) - 3;
    buf[pos] = (uint8_t)(buf[pos] + (d ? d : 64));
    return len;
  }
  case 5: { /* the footer length */
    uint32_t nl = flen;
    switch (rnd() % 4) {
    case 0: nl = flen + 1 + (uint32_t)(rnd() % 16); break;
    case 1: nl = flen ? flen - 1 - (uint32_t)(rnd() % (flen < 16 ? flen : 16)) : 0; break;
    case 2: nl = (uint32_t)rnd(); break;
    default: nl = 0; break;
    }
    buf[len - 8] = (uint8_t)nl;
    buf[len - 7] = (uint8_t)(nl >> 8);
    buf[len - 6] = (uint8_t)(nl >> 16);
    buf[len - 5] = (uint8_t)(nl >> 24);
    return len;
  }
  default: { /* a page header: sizes, counts, encodings and types near a chunk start */
    if (!s->n_offsets) return len;
    int64_t off = s->offsets[rnd() % (uint64_t)s->n_offsets] + (int64_t)(rnd() % 24);
    if (off < 0 || (size_t)off >= len) return len;
    pos = (size_t)off;
    switch (rnd() % 3) {
    case 0: buf[pos] ^= (uint8_t)(1u << (rnd() % 8)); break;
    case 1: buf[pos] = special[rnd() % sizeof special]; break;
    default: buf[pos] = (uint8_t)(buf[pos] + (rnd() % 2 ? 1 : -1)); break;
    }
    return len;
  }
  }
}

static void test_mutations(void **state) {
  (void)state;
  const char *env = getenv("PL_MUTATIONS");
  long total = env ? atol(env) : 50000;
  src srcs[NFILES];
  size_t maxlen = 0;
  for (size_t i = 0; i < NFILES; i++) {
    load(FILES[i], &srcs[i]);
    if (srcs[i].len > maxlen) maxlen = srcs[i].len;
  }
  uint8_t *buf = malloc(maxlen);
  int fd = memfd_create("mutant.parquet", MFD_CLOEXEC);
  assert_true(fd >= 0);
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  long ok = 0, failed = 0, per_kind[7] = {0};
  for (long m = 0; m < total; m++) {
    const src *s = &srcs[(size_t)m % NFILES];
    int kind = (int)(rnd() % 7);
    per_kind[kind]++;
    size_t len = mutate(s, buf, kind);
    assert_int_equal(ftruncate(fd, 0), 0);
    if (len) assert_int_equal(pwrite(fd, buf, len, 0), (ssize_t)len);
    pl_error err = {0};
    pl_budget *b = pl_budget_new(64 << 20);
    pl_parquet_file *f = pl_parquet_open(path, NULL, b, &err);
    pl_status st = f ? PL_OK : err.code;
    if (f) {
      pl_parquet_scan_options so = {.batch_rows = (int64_t)(m % 3 == 0 ? 3 : 0)};
      pl_parquet_reader *r = pl_parquet_reader_new(f, &so, b, &err);
      if (!r) st = err.code;
      for (int guard = 0; r && guard < 1000000; guard++) {
        pl_batch *batch;
        if ((st = pl_parquet_reader_next(r, &batch, &err))) break;
        if (!batch) break;
        for (int32_t c = 0; c < batch->schema.n_fields; c++)
          assert_int_equal(batch->columns[c]->length, batch->length);
        pl_batch_free(batch);
      }
      pl_parquet_reader_free(r);
      pl_parquet_close(f);
    }
    if (st) {
      failed++;
      if (!strstr(err.msg, path)) fail_msg("mutant %ld (%s, kind %d): error does not name the file: %s", m, FILES[(size_t)m % NFILES], kind, err.msg);
      if (st == PL_EINTERNAL) fail_msg("mutant %ld (%s, kind %d): internal error: %s", m, FILES[(size_t)m % NFILES], kind, err.msg);
    } else {
      ok++;
    }
    assert_int_equal(pl_budget_used(b), 0);
    pl_budget_free(b);
  }
  print_message("%ld mutants: %ld read, %ld refused cleanly (kinds: %ld %ld %ld %ld %ld %ld %ld)\n", total, ok,
                failed, per_kind[0], per_kind[1], per_kind[2], per_kind[3], per_kind[4], per_kind[5], per_kind[6]);
  assert_true(failed > total / 10); /* the mutations do reach the parsers */
  close(fd);
  free(buf);
  for (size_t i = 0; i < NFILES; i++) free(srcs[i].bytes);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_mutations)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}

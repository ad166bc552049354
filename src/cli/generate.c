/* generate.c — `praline generate`: deterministic synthetic datasets written with the Parquet
 * writer.
 *
 *   laion  an image-text table shaped like LAION metadata (id, url, caption, width, height,
 *          similarity, nsfw, language), split into contiguous id ranges, one file each.
 *   seed   a few rows of very big distinct strings per partition (the memory stress case).
 *
 * Every value is a pure function of (seed, row): each row draws from its own generator seeded
 * with pl_hash64(row, seed). So any row can be computed alone, files can be written in any
 * order by any number of threads, and the bytes are the same for a given seed. Files are
 * written in batches (64K rows by default) and at most as many at once as the memory cap
 * allows, so peak memory does not grow with --rows.
 */
#include "cli/cli.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ randomness */
typedef struct rng {
  uint64_t s;
} rng;

/* splitmix64: one add and a mix per draw; plenty for synthetic data. */
static inline uint64_t rng_next(rng *r) {
  uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static inline double rng_unit(rng *r) { return (double)(rng_next(r) >> 11) * 0x1.0p-53; }
static inline uint32_t rng_below(rng *r, uint32_t n) {
  return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Per-row, per-purpose generator: independent streams for each column. */
static inline rng row_rng(uint64_t seed, int64_t row, uint64_t salt) {
  rng r = {pl_hash64(&row, sizeof row, seed ^ salt)};
  return r;
}

enum { SALT_URL = 0x75726c, SALT_DUP = 0x647570, SALT_CAP = 0x636170, SALT_MISC = 0x6d6973 };

/* ------------------------------------------------------------------ vocabulary */
#define VOCAB 8192
#define ZIPF_TABLE 65536
static const char *const common_words[] = {
    "the", "a", "of", "and", "with", "in", "for", "on", "to", "photo", "image", "stock", "white",
    "black", "vintage", "background", "design", "vector", "illustration", "isolated", "new", "art",
    "red", "blue", "women", "man", "woman", "set", "style", "home", "wall", "dress", "print",
    "green", "wedding", "old", "house", "car", "from", "by", "at", "logo", "beautiful", "girl",
    "modern", "dog", "cat", "flower", "summer", "icon", "pattern", "card", "kitchen", "room",
    "garden", "christmas", "table", "water", "light", "tree", "city", "gold", "pink", "shirt",
    "map", "view", "party", "cartoon", "portrait", "3d", "sale", "book", "wood", "family",
    "baby", "food", "is", "street", "ring", "watercolor", "silhouette", "texture", "sunset",
    "beach", "collection", "abstract", "hand", "love", "cake", "shoes", "free", "video", "poster",
};

typedef struct vocab {
  char words[VOCAB][16];
  uint8_t lens[VOCAB];
  uint16_t zipf[ZIPF_TABLE]; /* uniform 16 bits -> word rank, Zipf(s = 1.05) */
} vocab;

static vocab *vocab_new(void) {
  static const char *const syl[] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "be", "da",
                                    "fe", "go", "hi", "ju", "pe", "ra", "si", "to", "un", "ver",
                                    "ing", "er", "on", "al", "an", "es", "or", "ly", "ic", "ent"};
  vocab *v = pl_calloc(1, sizeof *v);
  int nc = (int)(sizeof common_words / sizeof common_words[0]);
  for (int i = 0; i < VOCAB; i++) {
    char *w = v->words[i];
    if (i < nc) {
      strcpy(w, common_words[i]);
    } else {
      rng r = {pl_hash64(&i, sizeof i, 0x766f636162ull)};
      int n = 2 + (int)rng_below(&r, 3), len = 0;
      for (int k = 0; k < n; k++) {
        const char *s = syl[rng_below(&r, 30)];
        size_t sl = strlen(s);
        memcpy(w + len, s, sl);
        len += (int)sl;
      }
      w[len] = 0;
    }
    v->lens[i] = (uint8_t)strlen(w);
  }
  double *cdf = pl_malloc(VOCAB * sizeof *cdf), sum = 0;
  for (int i = 0; i < VOCAB; i++) cdf[i] = (sum += 1.0 / pow(i + 1.0, 1.05));
  int k = 0;
  for (int u = 0; u < ZIPF_TABLE; u++) {
    double target = (u + 0.5) / ZIPF_TABLE * sum;
    while (k < VOCAB - 1 && cdf[k] < target) k++;
    v->zipf[u] = (uint16_t)k;
  }
  pl_free(cdf);
  return v;
}

/* ------------------------------------------------------------------ laion rows */
static const char *const domains[] = {
    "i.pinimg.com", "cdn.shopify.com", "images.example-shop.com", "img.picclick.net",
    "media.gettyimages.test", "static.photos-cdn.org", "upload.wikimedia.test", "i.ebayimg.test",
    "assets.catalog-store.net", "images.blog-host.io", "thumbs.dreamstime.test", "cdn.media.net"};
static const char *const url_exts[] = {".jpg", ".jpeg", ".png", ".webp", ".jpg", ".jpg"};
static const int common_widths[] = {256, 300, 320, 400, 450, 500, 600, 640, 700, 736,
                                    800, 1000, 1024, 1200, 1280, 1500, 1600, 1920, 2048};
static const struct {
  const char *code;
  int per_mille;
} languages[] = {{"en", 560}, {"de", 60}, {"fr", 60}, {"es", 60}, {"it", 30}, {"pt", 30},
                 {"ru", 40},  {"nl", 20}, {"ja", 30}, {"zh", 30}, {"pl", 20}, {"ko", 15},
                 {"sv", 10},  {"tr", 10}, {"cs", 10}, {"vi", 15}};

/* A duplicated row copies the url of an earlier row; that row may itself be a duplicate, so
 * follow the chain to the row that owns the url (expected length 1.02). */
static int64_t url_root(uint64_t seed, int64_t row) {
  while (row > 0) {
    rng r = row_rng(seed, row, SALT_DUP);
    uint64_t h = rng_next(&r);
    if (h % 10000 >= 200) break; /* 2% of rows are duplicates */
    row = (int64_t)(rng_next(&r) % (uint64_t)row);
  }
  return row;
}

/* 60..120 characters: https://domain/seg/seg.../<unique token><ext>. The token encodes the
 * root row bijectively, so urls of distinct roots never collide by chance. */
static size_t make_url(uint64_t seed, int64_t root, char *out) {
  rng r = row_rng(seed, root, SALT_URL);
  size_t target = 60 + rng_below(&r, 61);
  const char *dom = domains[rng_below(&r, sizeof domains / sizeof domains[0])];
  const char *ext = url_exts[rng_below(&r, sizeof url_exts / sizeof url_exts[0])];
  char token[24];
  uint64_t t = ((uint64_t)root * 0x9E3779B97F4A7C15ull) ^ (seed & 0xffff); /* odd multiplier */
  for (int i = 0; i < 16; i++) token[i] = "0123456789abcdef"[(t >> (60 - 4 * i)) & 15];
  size_t len = 0;
  memcpy(out, "https://", 8);
  len = 8;
  size_t dl = strlen(dom), el = strlen(ext);
  memcpy(out + len, dom, dl);
  len += dl;
  static const char seg_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t tail = 1 + 16 + el; /* "/" token ext */
  size_t rem = target - len - tail; /* >= 8: the longest domain and extension still fit */
  while (rem >= 4) {
    size_t seg = 3 + rng_below(&r, 10);
    if (seg > rem - 1) seg = rem - 1;
    out[len++] = '/';
    for (size_t k = 0; k < seg; k++) out[len++] = seg_chars[rng_below(&r, 38)];
    rem -= 1 + seg;
  }
  out[len++] = '/';
  for (; rem > 0; rem--) out[len++] = seg_chars[rng_below(&r, 26)]; /* file name prefix */
  memcpy(out + len, token, 16);
  len += 16;
  memcpy(out + len, ext, el);
  return len + el;
}

/* 5..60 words, most captions short (the product of two uniforms skews toward 5). */
static size_t make_caption(const vocab *v, rng *r, char *out) {
  int n = 5 + (int)(rng_unit(r) * rng_unit(r) * 56.0);
  size_t len = 0;
  for (int i = 0; i < n; i++) {
    uint64_t x = rng_next(r);
    int w = v->zipf[x & 0xffff];
    if (i) out[len++] = ' ';
    memcpy(out + len, v->words[w], v->lens[w]);
    if (i == 0 && (x >> 16) % 3 == 0 && out[len] >= 'a' && out[len] <= 'z') out[len] -= 32;
    len += v->lens[w];
  }
  return len;
}

typedef struct laion_cols {
  pl_column *id, *url, *caption, *width, *height, *similarity, *nsfw, *language;
} laion_cols;

static pl_status laion_row(const vocab *v, uint64_t seed, int64_t row, laion_cols *c, char *scratch,
                           pl_error *err) {
  pl_status st = pl_column_append_int(c->id, row, err);
  size_t n = make_url(seed, url_root(seed, row), scratch);
  if (!st) st = pl_column_append_bytes(c->url, scratch, n, err);
  rng r = row_rng(seed, row, SALT_CAP);
  if (rng_below(&r, 1000) < 10) { /* 1% null captions */
    if (!st) st = pl_column_append_null(c->caption, err);
  } else {
    n = make_caption(v, &r, scratch);
    if (!st) st = pl_column_append_bytes(c->caption, scratch, n, err);
  }
  rng m = row_rng(seed, row, SALT_MISC);
  int w = rng_below(&m, 10) < 7 ? common_widths[rng_below(&m, sizeof common_widths / sizeof common_widths[0])]
                                : 64 + (int)rng_below(&m, 2937);
  int h;
  if (rng_below(&m, 100) < 20) {
    h = 32 + (int)rng_below(&m, 224); /* 20% below 256 */
  } else {
    static const double aspect[] = {0.5, 0.5625, 0.6667, 0.75, 1.0, 1.0, 1.3333, 1.5};
    h = (int)(w * aspect[rng_below(&m, 8)]);
    if (h < 256) h = 256 + (int)rng_below(&m, 512);
  }
  if (!st) st = pl_column_append_int(c->width, w, err);
  if (!st) st = pl_column_append_int(c->height, h, err);
  /* CLIP similarity: most around 0.3, a thin upper tail */
  double u = rng_unit(&m);
  if (!st) st = pl_column_append_float(c->similarity, 0.26 + 0.12 * u + 0.1 * u * u * u * u, err);
  uint32_t q = rng_below(&m, 1000);
  const char *nsfw = q < 920 ? "UNLIKELY" : q < 975 ? "UNSURE" : "NSFW";
  if (!st) st = pl_column_append_bytes(c->nsfw, nsfw, strlen(nsfw), err);
  int pm = (int)rng_below(&m, 1000), li = 0, acc = 0;
  for (int k = 0; k < (int)(sizeof languages / sizeof languages[0]); k++) {
    acc += languages[k].per_mille;
    li = k;
    if (pm < acc) break;
  }
  if (!st) st = pl_column_append_bytes(c->language, languages[li].code, 2, err);
  return st;
}

static void laion_schema(pl_schema *s) {
  pl_schema_init(s);
  pl_schema_add(s, pl_field_make("id", pl_type_make(PL_INT64), false));
  pl_schema_add(s, pl_field_make("url", pl_type_make(PL_STRING), false));
  pl_schema_add(s, pl_field_make("caption", pl_type_make(PL_STRING), true));
  pl_schema_add(s, pl_field_make("width", pl_type_make(PL_INT32), false));
  pl_schema_add(s, pl_field_make("height", pl_type_make(PL_INT32), false));
  pl_schema_add(s, pl_field_make("similarity", pl_type_make(PL_FLOAT64), false));
  pl_schema_add(s, pl_field_make("nsfw", pl_type_make(PL_STRING), false));
  pl_schema_add(s, pl_field_make("language", pl_type_make(PL_STRING), false));
}

/* ------------------------------------------------------------------ parallel file writing */
typedef struct gen_job gen_job;
typedef pl_status (*fill_fn)(gen_job *j, pl_batch *b, int64_t first, int64_t n, pl_error *err);

typedef struct gen_plan {
  const char *dataset; /* "laion" or "seed" */
  const char *out;
  uint64_t seed;
  int files;
  int64_t rows;          /* total (laion) */
  int64_t batch_rows;    /* rows per batch */
  size_t task_bytes;     /* memory one file in flight may need (estimate) */
  pl_schema schema;
  pl_parquet_write_options wo;
  fill_fn fill;
  vocab *vocab;
  size_t value_bytes; /* seed */
  int64_t rows_per_file; /* seed */
  pl_budget *budget;     /* charged by batches and writers; limits files in flight */
  atomic_bool failed;
  pthread_mutex_t mu;
  pl_error first_err;
  atomic_llong rows_done;
  atomic_ullong bytes_written;
} gen_plan;

struct gen_job {
  gen_plan *plan;
  int index;
  int64_t first, count; /* rows [first, first + count) */
  char *scratch;
};

static pl_status fill_laion(gen_job *j, pl_batch *b, int64_t first, int64_t n, pl_error *err) {
  laion_cols c = {b->columns[0], b->columns[1], b->columns[2], b->columns[3],
                  b->columns[4], b->columns[5], b->columns[6], b->columns[7]};
  pl_status st = pl_column_reserve(c.url, n, (size_t)n * 90, err);
  if (!st) st = pl_column_reserve(c.caption, n, (size_t)n * 140, err);
  for (int64_t k = 0; k < n && !st; k++)
    st = laion_row(j->plan->vocab, j->plan->seed, first + k, &c, j->scratch, err);
  return st;
}

/* A distinct big string: "row <id> " then letters from the row's own generator. */
static pl_status fill_seed(gen_job *j, pl_batch *b, int64_t first, int64_t n, pl_error *err) {
  gen_plan *p = j->plan;
  pl_status st = PL_OK;
  for (int64_t k = 0; k < n && !st; k++) {
    int64_t row = first + k;
    st = pl_column_append_int(b->columns[0], row, err);
    if (st) break;
    pl_column *v = b->columns[1];
    int64_t start = v->values.len ? pl_column_offsets(v)[v->length] : 0;
    /* grow the values buffer once, then fill it in place */
    st = pl_column_append_bytes(v, "", 0, err);
    if (st) break;
    uint8_t *dst;
    st = pl_buf_append_zeros(&v->values, p->value_bytes, &dst, err);
    if (st) break;
    int hl = snprintf((char *)dst, p->value_bytes, "row %lld ", (long long)row);
    size_t pos = hl < 0 ? 0 : (size_t)hl < p->value_bytes ? (size_t)hl : p->value_bytes;
    rng r = row_rng(p->seed, row, SALT_MISC);
    while (pos < p->value_bytes) {
      uint64_t x = rng_next(&r);
      for (int q = 0; q < 8 && pos < p->value_bytes; q++, x >>= 8) dst[pos++] = (uint8_t)('a' + (x & 0xff) % 26);
    }
    int64_t *off = (int64_t *)v->offsets.data;
    off[v->length] = start + (int64_t)p->value_bytes;
  }
  return st;
}

/* Empties a batch of flat columns but keeps its buffers, so the next batch is filled without
 * new allocations (fresh multi-MiB buffers cost a page fault per 4 KiB). */
static void batch_reset(pl_batch *b) {
  for (int i = 0; i < b->schema.n_fields; i++) {
    pl_column *c = b->columns[i];
    c->length = 0;
    c->null_count = 0;
    c->validity.len = 0;
    c->values.len = 0;
    c->offsets.len = pl_type_has_offsets(&c->type) ? sizeof(int64_t) : 0; /* keeps offsets[0] = 0 */
  }
  b->length = 0;
}

static void record_error(gen_plan *p, const char *path, pl_error *err) {
  pthread_mutex_lock(&p->mu);
  if (!atomic_load(&p->failed)) {
    p->first_err = *err;
    if (!strstr(err->msg, path)) pl_error_prefix(&p->first_err, "%s", path); /* once */
    atomic_store(&p->failed, true);
  }
  pthread_mutex_unlock(&p->mu);
}

static void gen_task(void *arg) {
  gen_job *j = arg;
  gen_plan *p = j->plan;
  pl_error err = {0};
  char path[4096];
  snprintf(path, sizeof path, "%s/part-%05d.parquet", p->out, j->index);
  if (atomic_load(&p->failed)) return;
  /* admission: a file in flight holds about task_bytes; wait until that fits */
  if (pl_budget_reserve_wait(p->budget, p->task_bytes, &err) != PL_OK) {
    record_error(p, path, &err);
    return;
  }
  pl_parquet_writer *w = pl_parquet_writer_open(path, &p->schema, &p->wo, NULL, &err);
  pl_status st = w ? PL_OK : err.code ? err.code : PL_EIO;
  pl_batch *b = NULL;
  if (!st) {
    b = pl_batch_new(&p->schema, NULL, &err);
    st = b ? PL_OK : PL_ENOMEM;
  }
  for (int64_t done = 0; !st && done < j->count && !atomic_load(&p->failed);) {
    int64_t n = j->count - done < p->batch_rows ? j->count - done : p->batch_rows;
    batch_reset(b);
    st = p->fill(j, b, j->first + done, n, &err);
    if (!st) st = pl_batch_finish(b, &err);
    if (!st) st = pl_parquet_writer_write(w, b, &err);
    done += n;
    if (!st) atomic_fetch_add(&p->rows_done, n);
  }
  pl_batch_free(b);
  if (w && !st && atomic_load(&p->failed)) {
    pl_parquet_writer_abort(w);
    w = NULL;
  }
  if (w && !st) {
    st = pl_parquet_writer_close(w, &err);
    struct stat sb;
    if (!st && stat(path, &sb) == 0) atomic_fetch_add(&p->bytes_written, (uint64_t)sb.st_size);
  } else if (w) {
    pl_parquet_writer_abort(w);
  }
  if (st) record_error(p, path, &err);
  pl_budget_release(p->budget, p->task_bytes);
}

static pl_status ensure_dir(const char *dir, pl_error *err) {
  char tmp[4096];
  size_t n = strlen(dir);
  if (n == 0 || n >= sizeof tmp) return pl_error_set(err, PL_EINVAL, "bad output directory '%s'", dir);
  memcpy(tmp, dir, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (tmp[i] != '/' && tmp[i] != 0) continue;
    char c = tmp[i];
    tmp[i] = 0;
    if (mkdir(tmp, 0777) != 0 && errno != EEXIST)
      return pl_error_set(err, PL_EIO, "%s: cannot create directory: %s", tmp, strerror(errno));
    tmp[i] = c;
  }
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return pl_error_set(err, PL_EIO, "%s: not a directory", dir);
  return PL_OK;
}

/* Removes part-NNNNN.parquet files numbered >= files, left by an earlier bigger run, so the
 * directory always holds exactly the dataset just generated. */
static void remove_stale_parts(const char *dir, int files) {
  char path[4096];
  for (int i = files;; i++) {
    snprintf(path, sizeof path, "%s/part-%05d.parquet", dir, i);
    if (unlink(path) != 0) break;
  }
}

static int run_plan(gen_plan *p, int threads, uint64_t memory_limit) {
  pl_error err = {0};
  if (ensure_dir(p->out, &err)) return cli_fail("generate", &err);
  /* files in flight are bounded by the memory cap (admission through the budget) and by the
   * threads; a file never needs more than the cap on its own */
  if (p->task_bytes > memory_limit) p->task_bytes = (size_t)memory_limit;
  p->budget = pl_budget_new((size_t)memory_limit);
  pthread_mutex_init(&p->mu, NULL);
  int nthreads = threads < p->files ? threads : p->files;
  if (nthreads < 1) nthreads = 1;
  pl_pool *pool = pl_pool_new(nthreads);
  gen_job *jobs = pl_calloc((size_t)p->files, sizeof *jobs);
  double t0 = pl_now();
  for (int i = 0; i < p->files; i++) {
    jobs[i].plan = p;
    jobs[i].index = i;
    if (p->rows_per_file) {
      jobs[i].first = (int64_t)i * p->rows_per_file;
      jobs[i].count = p->rows_per_file;
    } else {
      /* 128-bit: rows * i can pass 2^63 for huge --rows */
      jobs[i].first = (int64_t)((__int128)p->rows * i / p->files);
      jobs[i].count = (int64_t)((__int128)p->rows * (i + 1) / p->files) - jobs[i].first;
    }
    jobs[i].scratch = pl_malloc(8192);
    pl_pool_submit(pool, gen_task, &jobs[i]);
  }
  pl_pool_wait(pool);
  pl_pool_free(pool);
  double secs = pl_now() - t0;
  int rc = CLI_OK;
  if (atomic_load(&p->failed)) {
    rc = cli_fail("generate", &p->first_err);
  } else {
    remove_stale_parts(p->out, p->files);
    char sz[32], rss[32];
    long long rows = atomic_load(&p->rows_done);
    printf("generated %s: %lld rows in %d file%s, %s, in %s/ in %.2fs (%.0f rows/s, %d threads, "
           "peak RSS %s)\n",
           p->dataset, rows, p->files, p->files == 1 ? "" : "s",
           pl_format_size(atomic_load(&p->bytes_written), sz, sizeof sz), p->out, secs,
           secs > 0 ? (double)rows / secs : 0.0, nthreads, pl_format_size(pl_peak_rss(), rss, sizeof rss));
  }
  for (int i = 0; i < p->files; i++) pl_free(jobs[i].scratch);
  pl_free(jobs);
  pthread_mutex_destroy(&p->mu);
  pl_budget_free(p->budget);
  return rc;
}

/* ------------------------------------------------------------------ command line */
static const char *const generate_help =
    "usage: praline generate laion --rows N --files F --out DIR [options]\n"
    "       praline generate seed --out DIR [options]\n"
    "\n"
    "Writes a deterministic synthetic dataset as DIR/part-00000.parquet, part-00001.parquet...\n"
    "The same --seed gives the same bytes, whatever the number of threads.\n"
    "\n"
    "laion: an image-text table like LAION metadata: id int64 (0..N-1, contiguous and sorted\n"
    "  per file), url string (60-120 chars, ~2%% exact duplicates of an earlier row's url),\n"
    "  caption string (5-60 words, Zipf vocabulary, ~1%% null), width int32, height int32\n"
    "  (~20%% below 256), similarity float64, nsfw string (UNLIKELY/UNSURE/NSFW), language string.\n"
    "  --rows N               rows in total (required)\n"
    "  --files F              number of files (required)\n"
    "  --row-group-rows R     cut row groups at R rows (default: by size, 128 MiB)\n"
    "  --batch-rows B         rows generated per batch (default 65536)\n"
    "\n"
    "seed: per partition, rows of one distinct big string each (id int64, value string).\n"
    "  --partitions P         files (default 4)\n"
    "  --rows-per-partition R rows per file (default 10)\n"
    "  --value-bytes SIZE     bytes per value (default 128MiB)\n"
    "\n"
    "common:\n"
    "  --out DIR              output directory, created if needed (required)\n"
    "  --seed S               random seed (default 42)\n"
    "  --codec NAME           zstd (default), snappy, gzip, lz4_raw, brotli, uncompressed\n"
    "  --codec-level N        compression level (default: 1 for zstd, else the codec's own)\n"
    "  --memory-limit SIZE    cap on data in flight (default 1GiB); bounds files written at once\n"
    "  --threads N            files written in parallel (default: the number of cores)\n";

int cli_generate(int argc, char **argv) {
  const char *cmd = "generate";
  if (argc < 2 || cli_is_help(argv[1])) {
    fputs(generate_help, argc < 2 ? stderr : stdout);
    return argc < 2 ? CLI_USAGE : CLI_OK;
  }
  const char *dataset = argv[1];
  bool laion = !strcmp(dataset, "laion"), seedset = !strcmp(dataset, "seed");
  if (!laion && !seedset)
    return cli_usage_error(cmd, "unknown dataset '%s' (expected laion or seed)", dataset);
  int64_t codec_level = INT64_MIN, rows = -1, files = -1, rg_rows = 0, batch_rows = 65536, partitions = 4, rpp = 10;
  uint64_t seed = 42, value_bytes = 128u << 20, memory_limit = 1u << 30;
  const char *out = NULL, *codec_name = "zstd";
  int threads = pl_cpu_count();
  cli_parser ps = {cmd, argc, argv, 0, false};
  const char *v;
  int64_t t;
  for (ps.i = 2; ps.i < argc; ps.i++) {
    const char *a = argv[ps.i];
    if (cli_is_help(a)) {
      fputs(generate_help, stdout);
      return CLI_OK;
    }
    bool ok = true; /* false: a bad value, message already printed */
    if (cli_opt(&ps, "--out", &v)) out = v;
    else if (cli_opt(&ps, "--seed", &v)) ok = cli_parse_u64(cmd, "--seed", v, &seed);
    else if (cli_opt(&ps, "--codec", &v)) codec_name = v;
    else if (cli_opt(&ps, "--codec-level", &v)) ok = cli_parse_i64(cmd, "--codec-level", v, -131072, 22, &codec_level);
    else if (cli_opt(&ps, "--rows", &v))
      ok = laion ? cli_parse_i64(cmd, "--rows", v, 0, INT64_MAX / 2, &rows)
                 : !cli_usage_error(cmd, "--rows: only for laion (seed takes --rows-per-partition)");
    else if (cli_opt(&ps, "--files", &v))
      ok = laion ? cli_parse_i64(cmd, "--files", v, 1, 99999, &files)
                 : !cli_usage_error(cmd, "--files: only for laion (seed takes --partitions)");
    else if (cli_opt(&ps, "--row-group-rows", &v))
      ok = cli_parse_i64(cmd, "--row-group-rows", v, 1, INT64_MAX, &rg_rows);
    else if (cli_opt(&ps, "--batch-rows", &v))
      ok = cli_parse_i64(cmd, "--batch-rows", v, 1, 1 << 24, &batch_rows);
    else if (cli_opt(&ps, "--partitions", &v))
      ok = seedset ? cli_parse_i64(cmd, "--partitions", v, 1, 99999, &partitions)
                   : !cli_usage_error(cmd, "--partitions: only for seed (laion takes --files)");
    else if (cli_opt(&ps, "--rows-per-partition", &v))
      ok = seedset ? cli_parse_i64(cmd, "--rows-per-partition", v, 0, INT64_MAX / 100000, &rpp)
                   : !cli_usage_error(cmd, "--rows-per-partition: only for seed");
    else if (cli_opt(&ps, "--value-bytes", &v)) {
      ok = seedset ? cli_parse_size(cmd, "--value-bytes", v, &value_bytes)
                   : !cli_usage_error(cmd, "--value-bytes: only for seed");
      if (ok && (value_bytes < 16 || value_bytes > ((uint64_t)1 << 31)))
        ok = !cli_usage_error(cmd, "--value-bytes: %s is out of range (16 bytes..2GiB)", v);
    } else if (cli_opt(&ps, "--memory-limit", &v)) {
      ok = cli_parse_size(cmd, "--memory-limit", v, &memory_limit);
      if (ok && memory_limit < (64u << 20))
        ok = !cli_usage_error(cmd, "--memory-limit: '%s' is too small (at least 64MiB)", v);
    } else if (cli_opt(&ps, "--threads", &v)) {
      ok = cli_parse_i64(cmd, "--threads", v, 1, 1024, &t);
      if (ok) threads = (int)t;
    } else if (ps.error) return CLI_USAGE;
    else if (a[0] == '-') return cli_usage_error(cmd, "unknown option '%s' (try praline generate --help)", a);
    else return cli_usage_error(cmd, "unexpected argument '%s'", a);
    if (!ok) return CLI_USAGE;
  }
  if (!out) return cli_usage_error(cmd, "--out DIR is required");
  if (laion && rows < 0) return cli_usage_error(cmd, "--rows N is required");
  if (laion && files < 0) return cli_usage_error(cmd, "--files F is required");
  pl_codec codec;
  pl_error err = {0};
  if (pl_codec_parse(codec_name, &codec, &err) != PL_OK) return cli_usage_error(cmd, "--codec: %s", err.msg);

  gen_plan p;
  memset(&p, 0, sizeof p);
  p.dataset = dataset;
  p.out = out;
  p.seed = seed;
  pl_parquet_write_options_default(&p.wo);
  p.wo.codec = codec;
  /* zstd level 1 by default: about 25% less CPU than the default level 3 for 5% more bytes
   * on this data, and generation is a means to an end */
  p.wo.codec_level = codec_level != INT64_MIN ? (int)codec_level : codec == PL_CODEC_ZSTD ? 1 : 0;
  p.wo.row_group_rows = rg_rows;
  if (laion) {
    p.files = (int)files;
    p.rows = rows;
    p.batch_rows = batch_rows;
    laion_schema(&p.schema);
    p.fill = fill_laion;
    p.vocab = vocab_new();
    /* columns whose values are (nearly) all distinct skip the dictionary attempt */
    static const pl_parquet_column_options plain_cols[] = {
        {"id", PL_ENC_DELTA_BINARY_PACKED}, {"url", PL_ENC_PLAIN}, {"similarity", PL_ENC_PLAIN},
        {"caption", PL_ENC_PLAIN}};
    p.wo.n_columns = (int)(sizeof plain_cols / sizeof plain_cols[0]);
    p.wo.columns = plain_cols;
    /* a file in flight: one batch (~250 B/row, twice for growth) plus the writer's row group
     * buffer and its compressed copy */
    p.task_bytes = (size_t)batch_rows * 600 + 2 * p.wo.row_group_bytes;
  } else {
    p.files = (int)partitions;
    p.rows_per_file = rpp;
    p.value_bytes = (size_t)value_bytes;
    /* one value per batch once values are big, so a batch is never much over 64 MiB */
    int64_t per = (int64_t)((64u << 20) / value_bytes);
    p.batch_rows = per < 1 ? 1 : per;
    pl_schema_init(&p.schema);
    pl_schema_add(&p.schema, pl_field_make("id", pl_type_make(PL_INT64), false));
    pl_schema_add(&p.schema, pl_field_make("value", pl_type_make(PL_STRING), false));
    p.fill = fill_seed;
    size_t batch = (size_t)p.batch_rows * (size_t)value_bytes;
    p.task_bytes = 4 * batch + p.wo.page_bytes * 4;
  }
  int rc = run_plan(&p, threads, memory_limit);
  pl_schema_release(&p.schema);
  pl_free(p.vocab);
  return rc;
}

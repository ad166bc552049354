/* vec.c — evaluation vectors: allocation from the budget, loading a batch column (borrowing
 * its buffers when the layout allows), literals as one-row constants, turning a vector back
 * into a pl_column, and the cast kernel. */
#include "expr/internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

pl__vkind pl__kind_of(pl_type_id id) {
  switch (id) {
  case PL_BOOL: return V_BOOL;
  case PL_INT8: case PL_INT16: case PL_INT32: case PL_INT64: case PL_UINT8: case PL_UINT16: case PL_UINT32:
  case PL_DATE32: case PL_TIME: case PL_TIMESTAMP: return V_I64;
  case PL_UINT64: return V_U64;
  case PL_FLOAT16: case PL_FLOAT32: case PL_FLOAT64: case PL_DECIMAL128: return V_F64;
  case PL_STRING: case PL_BINARY: case PL_FIXED_BINARY: return V_STR;
  default: return V_OPAQUE;
  }
}

void pl__int_range(pl_type_id id, int64_t *lo, int64_t *hi) {
  switch (id) {
  case PL_INT8: *lo = INT8_MIN, *hi = INT8_MAX; return;
  case PL_INT16: *lo = INT16_MIN, *hi = INT16_MAX; return;
  case PL_INT32: case PL_DATE32: *lo = INT32_MIN, *hi = INT32_MAX; return;
  case PL_UINT8: *lo = 0, *hi = UINT8_MAX; return;
  case PL_UINT16: *lo = 0, *hi = UINT16_MAX; return;
  case PL_UINT32: *lo = 0, *hi = UINT32_MAX; return;
  case PL_UINT64: *lo = 0, *hi = INT64_MAX; return;
  default: *lo = INT64_MIN, *hi = INT64_MAX; return;
  }
}

/* ------------------------------------------------------------------ vectors */
pl__vec *pl__vec_new(pl__vkind kind, pl_type_id tid) {
  pl__vec *v = pl_calloc(1, sizeof *v);
  v->kind = kind;
  v->tid = tid;
  return v;
}

static void *vec_alloc(pl__ctx *c, pl__vec *v, size_t n, bool zero) {
  if (n == 0) n = 8;
  if (v->n_own == (int)(sizeof v->own / sizeof v->own[0])) {
    pl_error_set(c->err, PL_EINTERNAL, "expression vector holds too many buffers");
    return NULL;
  }
  void *p = zero ? pl_budget_calloc(c->b, n, c->err) : pl_budget_alloc(c->b, n, c->err);
  if (!p) return NULL;
  v->own[v->n_own].p = p;
  v->own[v->n_own].n = n;
  v->n_own++;
  return p;
}

void *pl__vec_alloc(pl__ctx *c, pl__vec *v, size_t n) { return vec_alloc(c, v, n, true); }
void *pl__vec_alloc_nz(pl__ctx *c, pl__vec *v, size_t n) { return vec_alloc(c, v, n, false); }

void pl__vec_free(pl__ctx *c, pl__vec *v) {
  if (!v) return;
  for (int i = 0; i < v->n_own; i++) pl_budget_free_mem(c->b, v->own[i].p, v->own[i].n);
  pl_free(v);
}

static pl__vec *vec_array(pl__ctx *c, pl__vkind kind, pl_type_id tid, int64_t n, bool zero) {
  pl__vec *v = pl__vec_new(kind, tid);
  v->n = n;
  if (kind == V_STR || kind == V_OPAQUE) return v;
  size_t w = kind == V_BOOL ? 1 : 8;
  v->data = vec_alloc(c, v, (size_t)n * w, zero);
  if (!v->data) {
    pl__vec_free(c, v);
    return NULL;
  }
  return v;
}

pl__vec *pl__vec_array(pl__ctx *c, pl__vkind kind, pl_type_id tid, int64_t n) { return vec_array(c, kind, tid, n, true); }
pl__vec *pl__vec_array_nz(pl__ctx *c, pl__vkind kind, pl_type_id tid, int64_t n) {
  return vec_array(c, kind, tid, n, false);
}

int64_t pl__rows(pl__ctx *c, pl__vec *const *v, int k) {
  for (int i = 0; i < k; i++)
    if (!v[i]->cnst) return c->n;
  return 1;
}

static void make_const(pl__vec *v) {
  v->cnst = true;
  v->n = 1;
}

uint8_t *pl__valid_make(pl__ctx *c, pl__vec *out) {
  if (out->valid) return out->valid;
  out->valid = pl__vec_alloc_nz(c, out, (size_t)out->n);
  if (out->valid) memset(out->valid, 1, (size_t)out->n);
  return out->valid;
}

pl_status pl__valid_and(pl__ctx *c, pl__vec *out, pl__vec *const *v, int k) {
  bool any = false;
  for (int i = 0; i < k; i++) any |= v[i]->valid != NULL;
  if (!any) return PL_OK;
  uint8_t *o = pl__vec_alloc_nz(c, out, (size_t)out->n);
  if (!o) return c->err ? c->err->code : PL_ENOMEM;
  memset(o, 1, (size_t)out->n);
  for (int i = 0; i < k; i++) {
    if (!v[i]->valid) continue;
    const uint8_t *a = v[i]->valid;
    int64_t m = pl__m(v[i]);
    for (int64_t r = 0; r < out->n; r++) o[r] &= a[r & m];
  }
  out->valid = o;
  return PL_OK;
}

/* ------------------------------------------------------------------ string builder */
static const uint8_t empty_bytes[8];

pl_status pl__strb_init(pl__ctx *c, pl__strb *sb, pl_type_id tid, int64_t n) {
  sb->v = pl__vec_new(V_STR, tid);
  sb->v->n = n;
  pl_buf_init(&sb->buf, c->b);
  sb->off = pl__vec_alloc(c, sb->v, (size_t)(n + 1) * sizeof(int64_t));
  if (!sb->off) {
    pl__vec_free(c, sb->v);
    sb->v = NULL;
    return PL_ENOMEM;
  }
  sb->off[0] = 0;
  return PL_OK;
}

pl_status pl__strb_push(pl__ctx *c, pl__strb *sb, int64_t row, const void *p, size_t len) {
  if (len && pl_buf_append(&sb->buf, p, len, c->err)) return PL_ENOMEM;
  sb->off[row + 1] = (int64_t)sb->buf.len;
  return PL_OK;
}

pl__vec *pl__strb_finish(pl__ctx *c, pl__strb *sb) {
  pl__vec *v = sb->v;
  v->off = sb->off;
  if (sb->buf.data) {
    v->own[v->n_own].p = sb->buf.data;
    v->own[v->n_own].n = sb->buf.cap;
    v->n_own++;
    v->bytes = sb->buf.data;
    sb->buf = PL_BUF_INIT(c->b);
  } else {
    v->bytes = empty_bytes;
  }
  sb->v = NULL;
  return v;
}

void pl__strb_abort(pl__ctx *c, pl__strb *sb) {
  pl_buf_release(&sb->buf);
  pl__vec_free(c, sb->v);
  sb->v = NULL;
}

/* ------------------------------------------------------------------ literals */
pl__vec *pl__vec_literal(const pl__node *n) {
  pl_type_id t = n->type.id == T_NULL ? PL_BOOL : n->type.id;
  pl__vec *v = pl__vec_new(pl__kind_of(t), t);
  make_const(v);
  v->c_valid = n->lit != L_NULL;
  if (n->lit == L_NULL) v->valid = &v->c_valid;
  switch (v->kind) {
  case V_BOOL: v->c_val.b = n->lit_bool; break;
  case V_I64: v->c_val.i = n->lit_i; break;
  case V_U64: v->c_val.u = n->lit_big ? n->lit_u : (uint64_t)n->lit_i; break;
  case V_F64:
    v->c_val.f = n->lit == L_FLOAT ? n->lit_f : n->lit_big ? (double)n->lit_u : (double)n->lit_i;
    if (t == PL_FLOAT32) v->c_val.f = pl__f32(v->c_val.f);
    break;
  case V_STR:
    v->c_off[0] = 0;
    v->c_off[1] = n->lit == L_STRING ? (int64_t)n->lit_len : 0;
    v->bytes = n->lit == L_STRING ? (const uint8_t *)n->lit_s : empty_bytes;
    v->off = v->c_off;
    break;
  case V_OPAQUE: break;
  }
  if (v->kind != V_STR) v->data = &v->c_val;
  return v;
}

/* ------------------------------------------------------------------ loading columns */
static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1F, man = h & 0x3FF, bits;
  if (exp == 0) {
    if (man == 0) bits = sign;
    else { /* subnormal: renormalise */
      int e = -1;
      do {
        e++;
        man <<= 1;
      } while (!(man & 0x400));
      bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3FF) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7F800000u | (man << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

static double decimal_to_double(const uint8_t *p, int32_t scale) {
  __int128 v;
  memcpy(&v, p, 16);
  return (double)v / pow(10.0, scale);
}

static pl_status short_buffer(pl__ctx *c, const pl_column *col, const char *what) {
  return pl_error_set(c->err, PL_ECORRUPT, "column of %lld rows has a short %s buffer", (long long)col->length, what);
}

pl_status pl__vec_load(pl__ctx *c, const pl_column *col, pl__vec **out) {
  *out = NULL;
  int64_t n = c->n, r0 = c->row0;
  if (r0 < 0 || n < 0 || r0 + n > col->length)
    return pl_error_set(c->err, PL_EINTERNAL, "expression rows [%lld, %lld) outside a column of %lld rows",
                        (long long)r0, (long long)(r0 + n), (long long)col->length);
  pl_type_id id = col->type.id;
  pl__vkind kind = pl__kind_of(id);
  pl_type_id tid = id == PL_FLOAT16 || id == PL_DECIMAL128 ? PL_FLOAT64 : id == PL_FIXED_BINARY ? PL_BINARY : id;
  pl__vec *v = pl__vec_new(kind, tid);
  v->n = n;
  if (col->validity.len && col->null_count != 0) {
    if (col->validity.len < (size_t)(r0 + n + 7) / 8) {
      pl__vec_free(c, v);
      return short_buffer(c, col, "validity");
    }
    if (!(v->valid = pl__vec_alloc_nz(c, v, (size_t)n))) goto oom;
    const uint8_t *bits = col->validity.data;
    for (int64_t i = 0; i < n; i++) v->valid[i] = (bits[(r0 + i) >> 3] >> ((r0 + i) & 7)) & 1;
  }
  if (kind == V_OPAQUE) {
    *out = v;
    return PL_OK;
  }
  const uint8_t *src = col->values.data;
  size_t w = (size_t)pl_type_byte_width(&col->type);
  if (kind == V_STR) {
    if (id == PL_FIXED_BINARY) {
      if (col->values.len < (size_t)(r0 + n) * w) goto short_values;
      int64_t *o = pl__vec_alloc(c, v, (size_t)(n + 1) * 8);
      if (!o) goto oom;
      for (int64_t i = 0; i <= n; i++) o[i] = (r0 + i) * (int64_t)w;
      v->off = o;
    } else {
      if (col->offsets.len < (size_t)(r0 + n + 1) * 8) {
        pl__vec_free(c, v);
        return short_buffer(c, col, "offsets");
      }
      /* the chunk's offsets, still absolute in the column's bytes */
      const int64_t *o = (const int64_t *)(void *)col->offsets.data + r0;
      if ((uintptr_t)o & 7) {
        int64_t *copy = pl__vec_alloc(c, v, (size_t)(n + 1) * 8);
        if (!copy) goto oom;
        memcpy(copy, o, (size_t)(n + 1) * 8);
        o = copy;
      }
      if (o[0] < 0 || o[n] < o[0] || (uint64_t)o[n] > col->values.len) goto short_values;
      v->off = o;
    }
    v->bytes = src ? src : empty_bytes;
    *out = v;
    return PL_OK;
  }
  size_t need = id == PL_BOOL ? (size_t)(r0 + n + 7) / 8 : (size_t)(r0 + n) * w;
  if (col->values.len < need) goto short_values;
  if (id != PL_BOOL) src += (size_t)r0 * w; /* bools index bits from r0 below */
  if ((id == PL_INT64 || id == PL_UINT64 || id == PL_FLOAT64 || (w == 8 && kind == V_I64)) && !((uintptr_t)src & 7)) {
    v->data = (void *)(uintptr_t)src; /* borrowed: 8-byte values need no conversion */
    *out = v;
    return PL_OK;
  }
  if (!(v->data = pl__vec_alloc_nz(c, v, (size_t)n * (kind == V_BOOL ? 1 : 8)))) goto oom;
  switch (id) {
#define WIDEN(ID, T, DST)                                                                                    \
  case ID: {                                                                                                 \
    for (int64_t i = 0; i < n; i++) {                                                                        \
      T x;                                                                                                   \
      memcpy(&x, src + (size_t)i * sizeof(T), sizeof(T));                                                    \
      ((DST *)v->data)[i] = x;                                                                               \
    }                                                                                                        \
    break;                                                                                                   \
  }
    WIDEN(PL_INT8, int8_t, int64_t)
    WIDEN(PL_INT16, int16_t, int64_t)
    WIDEN(PL_INT32, int32_t, int64_t)
    WIDEN(PL_UINT8, uint8_t, int64_t)
    WIDEN(PL_UINT16, uint16_t, int64_t)
    WIDEN(PL_UINT32, uint32_t, int64_t)
    WIDEN(PL_DATE32, int32_t, int64_t)
    WIDEN(PL_INT64, int64_t, int64_t)
    WIDEN(PL_UINT64, uint64_t, uint64_t)
    WIDEN(PL_FLOAT32, float, double)
    WIDEN(PL_FLOAT64, double, double)
#undef WIDEN
  case PL_TIME: case PL_TIMESTAMP:
    for (int64_t i = 0; i < n; i++) {
      if (w == 4) {
        int32_t x;
        memcpy(&x, src + (size_t)i * 4, 4);
        ((int64_t *)v->data)[i] = x;
      } else {
        memcpy((int64_t *)v->data + i, src + (size_t)i * 8, 8);
      }
    }
    break;
  case PL_BOOL:
    for (int64_t i = 0; i < n; i++) ((uint8_t *)v->data)[i] = (src[(r0 + i) >> 3] >> ((r0 + i) & 7)) & 1;
    break;
  case PL_FLOAT16:
    for (int64_t i = 0; i < n; i++) {
      uint16_t h;
      memcpy(&h, src + (size_t)i * 2, 2);
      ((double *)v->data)[i] = half_to_float(h);
    }
    break;
  case PL_DECIMAL128:
    for (int64_t i = 0; i < n; i++) ((double *)v->data)[i] = decimal_to_double(src + (size_t)i * 16, col->type.scale);
    break;
  default:
    pl__vec_free(c, v);
    return pl_error_set(c->err, PL_EINTERNAL, "cannot load a column of type id %d", (int)id);
  }
  *out = v;
  return PL_OK;
short_values:
  pl__vec_free(c, v);
  return short_buffer(c, col, "values");
oom:
  pl__vec_free(c, v);
  return c->err ? c->err->code : PL_ENOMEM;
}

/* ------------------------------------------------------------------ back to a column */
pl_status pl__vec_to_column(pl__ctx *c, const pl__vec *v, const pl_type *t, pl_column **out) {
  int64_t n = c->n, m = pl__m(v);
  pl_column *col = pl_column_new(t, c->b, c->err);
  if (!col) return c->err ? c->err->code : PL_EINVAL;
  pl_status st = PL_OK;
  int64_t nulls = 0;
  if (v->valid) {
    for (int64_t i = 0; i < n; i++) nulls += !v->valid[i & m];
    if (nulls) {
      uint8_t *bits;
      if ((st = pl_buf_append_zeros(&col->validity, (size_t)(n + 7) / 8, &bits, c->err))) goto fail;
      for (int64_t i = 0; i < n; i++)
        if (v->valid[i & m]) bits[i >> 3] |= (uint8_t)(1u << (i & 7));
    }
  }
#define OK_ROW(i) (!v->valid || v->valid[(i) & m])
  if (t->id == PL_STRING || t->id == PL_BINARY) {
    size_t total = 0;
    for (int64_t i = 0; i < n; i++)
      if (OK_ROW(i)) total += pl__slen(v, i);
    int64_t *o;
    if ((st = pl_buf_append_zeros(&col->offsets, (size_t)n * 8, (uint8_t **)&o, c->err))) goto fail;
    uint8_t *dst = NULL;
    if (total && (st = pl_buf_append_zeros(&col->values, total, &dst, c->err))) goto fail;
    int64_t pos = 0;
    for (int64_t i = 0; i < n; i++) {
      if (OK_ROW(i)) {
        size_t l = pl__slen(v, i);
        if (l) memcpy(dst + pos, pl__sptr(v, i), l);
        pos += (int64_t)l;
      }
      o[i] = pos;
    }
  } else if (t->id == PL_BOOL) {
    uint8_t *bits;
    if ((st = pl_buf_append_zeros(&col->values, (size_t)(n + 7) / 8, &bits, c->err))) goto fail;
    const uint8_t *d = v->data;
    for (int64_t i = 0; i < n; i++)
      if (OK_ROW(i) && d[i & m]) bits[i >> 3] |= (uint8_t)(1u << (i & 7));
  } else {
    size_t w = (size_t)pl_type_byte_width(t);
    uint8_t *dst;
    if ((st = pl_buf_append_zeros(&col->values, (size_t)n * w, &dst, c->err))) goto fail;
    if (v->kind == V_F64) {
      const double *d = v->data;
      for (int64_t i = 0; i < n; i++) {
        if (!OK_ROW(i)) continue;
        if (w == 4) {
          float f = (float)pl__f32(d[i & m]);
          memcpy(dst + i * 4, &f, 4);
        } else {
          memcpy(dst + i * 8, &d[i & m], 8);
        }
      }
    } else if (v->kind == V_I64 || v->kind == V_U64) {
      /* the low bytes are the narrow value; a null row keeps its zeros (they are not read).
       * One loop per width, so that each is a plain narrowing loop. */
      const uint64_t *d = v->data;
#define NARROW(T)                                                                           \
  for (int64_t i = 0; i < n; i++) ((T *)(void *)dst)[i] = OK_ROW(i) ? (T)d[i & m] : 0;
      switch (w) {
      case 1: NARROW(uint8_t) break;
      case 2: NARROW(uint16_t) break;
      case 4: NARROW(uint32_t) break;
      case 8: NARROW(uint64_t) break;
      default:
        for (int64_t i = 0; i < n; i++)
          if (OK_ROW(i)) memcpy(dst + (size_t)i * w, &d[i & m], w);
      }
#undef NARROW
    } else {
      st = pl_error_set(c->err, PL_EINTERNAL, "cannot store an expression vector of kind %d", (int)v->kind);
      goto fail;
    }
  }
#undef OK_ROW
  col->length = n;
  col->null_count = nulls;
  *out = col;
  return PL_OK;
fail:
  pl_column_free(col);
  return st;
}


/* schema_read.c — maps a Parquet schema (flattened SchemaElements) onto an Arrow-level
 * pl_schema, plus the level bookkeeping (pl__node) that record assembly needs.
 *
 * Follows LogicalTypes.md, including its backward-compatibility rules for lists written
 * before the 3-level LIST structure was settled, and legacy converted types. A repeated
 * field outside a LIST/MAP annotation becomes a required list of required items.
 */
#include "parquet/reader_internal.h"

#include <stdio.h>
#include <string.h>

#define MAX_SCHEMA_DEPTH 64

typedef struct ctx {
  const pl_pq_file_metadata *md;
  int32_t idx; /* next schema element */
  pl__schema *s;
  int32_t leaf_cap;
  int32_t field; /* current top-level field */
  pl_error *err;
} ctx;

static const char *ename(const pl_pq_schema_element *e) { return e->name ? e->name : ""; }

static pl_status bad(ctx *c, const char *path, const char *fmt, const char *detail) {
  char m[512];
  snprintf(m, sizeof m, fmt, detail);
  return pl_error_set(c->err, PL_ECORRUPT, "column '%s': %s", path, m);
}

/* Decides the output type of a primitive element; sets leaf->type/conv/widths. */
static pl_status leaf_type(ctx *c, const pl_pq_schema_element *e, const char *path, pl__leaf *lf) {
  const pl_pq_logical *lt = &e->logical;
  int ct = e->converted_type;
  lf->phys = e->type;
  lf->type_length = e->type_length;
  lf->conv = PL__CONV_NONE;
  pl_type t = pl_type_make(PL_INT32);
  bool is_dec = lt->kind == PL_LT_DECIMAL || (lt->kind == PL_LT_NONE && ct == PL_CT_DECIMAL);
  int32_t prec = lt->kind == PL_LT_DECIMAL ? lt->precision : e->precision;
  int32_t scale = lt->kind == PL_LT_DECIMAL ? lt->scale : (e->has_scale ? e->scale : 0);
  if (is_dec && (prec < 1 || prec > 38 || scale < 0 || scale > prec)) is_dec = false;
  switch (e->type) {
  case PL_PQ_BOOLEAN:
    t = pl_type_make(PL_BOOL);
    lf->conv = PL__CONV_BOOL;
    break;
  case PL_PQ_INT32: {
    lf->phys_width = 4;
    int bw = 32;
    bool sgn = true;
    if (lt->kind == PL_LT_INTEGER) {
      bw = lt->bit_width;
      sgn = lt->is_signed;
    } else if (lt->kind == PL_LT_NONE && ct >= PL_CT_UINT_8 && ct <= PL_CT_INT_32 &&
               ct != PL_CT_UINT_64) {
      static const int bws[] = {8, 16, 32, 64, 8, 16, 32};
      bw = bws[ct - PL_CT_UINT_8];
      sgn = ct >= PL_CT_INT_8;
    }
    if (is_dec) {
      t = pl_type_decimal(prec, scale);
      lf->conv = PL__CONV_I32_DEC;
    } else if (lt->kind == PL_LT_DATE || (lt->kind == PL_LT_NONE && ct == PL_CT_DATE)) {
      t = pl_type_make(PL_DATE32);
    } else if ((lt->kind == PL_LT_TIME && lt->unit == PL_TU_MILLIS) ||
               (lt->kind == PL_LT_NONE && ct == PL_CT_TIME_MILLIS)) {
      t = pl_type_time(PL_MILLI);
    } else if (bw == 8) {
      t = pl_type_make(sgn ? PL_INT8 : PL_UINT8);
      lf->conv = PL__CONV_I32_I8;
    } else if (bw == 16) {
      t = pl_type_make(sgn ? PL_INT16 : PL_UINT16);
      lf->conv = PL__CONV_I32_I16;
    } else {
      t = pl_type_make(sgn || bw != 32 ? PL_INT32 : PL_UINT32);
    }
    break;
  }
  case PL_PQ_INT64: {
    lf->phys_width = 8;
    bool sgn = true;
    if (lt->kind == PL_LT_INTEGER) sgn = lt->is_signed || lt->bit_width != 64;
    else if (lt->kind == PL_LT_NONE && ct == PL_CT_UINT_64) sgn = false;
    if (is_dec) {
      t = pl_type_decimal(prec, scale);
      lf->conv = PL__CONV_I64_DEC;
    } else if (lt->kind == PL_LT_TIMESTAMP && lt->unit >= PL_TU_MILLIS && lt->unit <= PL_TU_NANOS) {
      t = pl_type_timestamp((pl_time_unit)lt->unit, lt->utc ? "UTC" : NULL);
    } else if (lt->kind == PL_LT_NONE && (ct == PL_CT_TIMESTAMP_MILLIS || ct == PL_CT_TIMESTAMP_MICROS)) {
      /* legacy converted types are UTC-adjusted (LogicalTypes.md) */
      t = pl_type_timestamp(ct == PL_CT_TIMESTAMP_MILLIS ? PL_MILLI : PL_MICRO, "UTC");
    } else if (lt->kind == PL_LT_TIME && (lt->unit == PL_TU_MICROS || lt->unit == PL_TU_NANOS)) {
      t = pl_type_time(lt->unit == PL_TU_MICROS ? PL_MICRO : PL_NANO);
    } else if (lt->kind == PL_LT_NONE && ct == PL_CT_TIME_MICROS) {
      t = pl_type_time(PL_MICRO);
    } else {
      t = pl_type_make(sgn ? PL_INT64 : PL_UINT64);
    }
    break;
  }
  case PL_PQ_INT96:
    lf->phys_width = 12;
    t = pl_type_timestamp(PL_NANO, NULL);
    lf->conv = PL__CONV_INT96_TS;
    break;
  case PL_PQ_FLOAT:
    lf->phys_width = 4;
    t = pl_type_make(PL_FLOAT32);
    break;
  case PL_PQ_DOUBLE:
    lf->phys_width = 8;
    t = pl_type_make(PL_FLOAT64);
    break;
  case PL_PQ_BYTE_ARRAY:
    if (is_dec) {
      t = pl_type_decimal(prec, scale);
      lf->conv = PL__CONV_BA_DEC;
    } else {
      bool str = lt->kind == PL_LT_STRING || lt->kind == PL_LT_ENUM || lt->kind == PL_LT_JSON ||
                 (lt->kind == PL_LT_NONE &&
                  (ct == PL_CT_UTF8 || ct == PL_CT_ENUM || ct == PL_CT_JSON));
      t = pl_type_make(str ? PL_STRING : PL_BINARY);
      lf->conv = PL__CONV_BYTES;
    }
    break;
  case PL_PQ_FIXED_LEN_BYTE_ARRAY:
    if (e->type_length <= 0 || e->type_length > (1 << 24)) {
      char d[32];
      snprintf(d, sizeof d, "%d", (int)e->type_length);
      return bad(c, path, "invalid FIXED_LEN_BYTE_ARRAY type_length %s", d);
    }
    lf->phys_width = e->type_length;
    if (is_dec && e->type_length <= 32) {
      t = pl_type_decimal(prec, scale);
      lf->conv = PL__CONV_FLBA_DEC;
    } else if (lt->kind == PL_LT_FLOAT16 && e->type_length == 2) {
      t = pl_type_make(PL_FLOAT16);
    } else {
      t = pl_type_fixed_binary(e->type_length);
    }
    break;
  default: {
    char d[32];
    snprintf(d, sizeof d, "%d", e->type);
    return bad(c, path, "unknown physical type %s", d);
  }
  }
  lf->type = t;
  lf->out_width = lf->conv == PL__CONV_BYTES || lf->conv == PL__CONV_BOOL ? 0 : pl_type_byte_width(&t);
  return PL_OK;
}

static bool is_list(const pl_pq_schema_element *e) {
  return e->logical.kind == PL_LT_LIST || (e->logical.kind == PL_LT_NONE && e->converted_type == PL_CT_LIST);
}
static bool is_map(const pl_pq_schema_element *e) {
  return e->logical.kind == PL_LT_MAP ||
         (e->logical.kind == PL_LT_NONE &&
          (e->converted_type == PL_CT_MAP || e->converted_type == PL_CT_MAP_KEY_VALUE));
}

static void node_release(pl__node *n) {
  for (int32_t i = 0; i < n->n_children; i++) node_release(&n->children[i]);
  pl_free(n->children);
  n->children = NULL;
  n->n_children = 0;
}

/* Converts the element at c->idx (and its subtree). `rep_as` overrides the element's
 * repetition (-1 = use it): list items built from a repeated element are required.
 * d, r: def/rep levels of the parent; sd, sr: the slot levels this node inherits. */
static pl_status convert(ctx *c, int depth, int rep_as, int16_t d, int16_t r, int16_t sd,
                         int16_t sr, const char *parent_path, pl_field *fo, pl__node *no);

/* Children of a group into a struct node + field list. */
static pl_status convert_struct(ctx *c, int depth, const pl_pq_schema_element *e, int16_t d,
                                int16_t r, int16_t sd, int16_t sr, const char *path,
                                pl_type *type, pl__node *no) {
  int32_t n = e->num_children;
  if (n <= 0) return bad(c, path, "group with no children%s", "");
  if (n > c->md->n_schema - c->idx) return bad(c, path, "group claims more children than the schema has%s", "");
  pl_field *fields = pl_calloc((size_t)n, sizeof *fields);
  no->kind = PL__NODE_STRUCT;
  no->children = pl_calloc((size_t)n, sizeof *no->children);
  pl_status st = PL_OK;
  int32_t i;
  for (i = 0; i < n; i++) {
    no->n_children = i + 1;
    st = convert(c, depth + 1, -1, d, r, sd, sr, path, &fields[i], &no->children[i]);
    if (st) break;
  }
  if (st) {
    for (int32_t k = 0; k < i; k++) pl_field_release(&fields[k]);
    pl_free(fields);
    return st;
  }
  no->leaf = no->children[0].leaf;
  *type = pl_type_struct(n, fields);
  pl_free(fields);
  return PL_OK;
}

static pl_status convert(ctx *c, int depth, int rep_as, int16_t d, int16_t r, int16_t sd,
                         int16_t sr, const char *parent_path, pl_field *fo, pl__node *no) {
  if (depth > MAX_SCHEMA_DEPTH)
    return pl_error_set(c->err, PL_ECORRUPT, "schema nesting deeper than %d", MAX_SCHEMA_DEPTH);
  if (c->idx >= c->md->n_schema)
    return pl_error_set(c->err, PL_ECORRUPT, "schema ends early (a group claims more children)");
  int32_t my = c->idx++;
  const pl_pq_schema_element *e = &c->md->schema[my];
  char path[1024];
  if (parent_path && *parent_path) snprintf(path, sizeof path, "%s.%s", parent_path, ename(e));
  else snprintf(path, sizeof path, "%s", ename(e));
  int rep = rep_as >= 0 ? rep_as : e->repetition;
  if (rep < 0) rep = PL_REP_OPTIONAL; /* absent on a non-root element: be lenient */
  if (rep > PL_REP_REPEATED) {
    char dd[32];
    snprintf(dd, sizeof dd, "%d", rep);
    return bad(c, path, "unknown repetition type %s", dd);
  }
  memset(no, 0, sizeof *no);
  pl_status st;

  if (rep == PL_REP_REPEATED) {
    /* A repeated field outside LIST/MAP: a required list of required items. */
    if (d >= INT16_MAX - 2 || r >= INT16_MAX - 2) return bad(c, path, "too many levels%s", "");
    c->idx = my; /* reconvert the same element as the item */
    no->kind = PL__NODE_LIST;
    no->def_present = d;
    no->slot_def = sd;
    no->slot_rep = sr;
    no->n_children = 1;
    no->children = pl_calloc(1, sizeof *no->children);
    pl_field item;
    int16_t id = (int16_t)(d + 1), ir = (int16_t)(r + 1);
    st = convert(c, depth + 1, PL_REP_REQUIRED, id, ir, id, ir, parent_path, &item, &no->children[0]);
    if (st) return st;
    no->leaf = no->children[0].leaf;
    /* the item keeps the element's name; the list takes it too */
    *fo = pl_field_make(ename(e), pl_type_list(item), false);
    /* the inner convert counted d+1 as its own def; fix: item is required at level d+1 */
    return PL_OK;
  }

  int16_t dp = (int16_t)(d + (rep == PL_REP_OPTIONAL ? 1 : 0));
  bool nullable = rep == PL_REP_OPTIONAL;
  no->def_present = dp;
  no->slot_def = sd;
  no->slot_rep = sr;

  if (e->type != -1 && e->num_children <= 0) { /* primitive (type -1 = absent) */
    if (c->s->n_leaves == c->leaf_cap) {
      c->leaf_cap = c->leaf_cap ? c->leaf_cap * 2 : 16;
      c->s->leaves = pl_realloc(c->s->leaves, (size_t)c->leaf_cap * sizeof *c->s->leaves);
    }
    pl__leaf *lf = &c->s->leaves[c->s->n_leaves];
    memset(lf, 0, sizeof *lf);
    if ((st = leaf_type(c, e, path, lf))) return st;
    lf->path = pl_strdup(path);
    lf->schema_index = my;
    lf->max_def = dp;
    lf->max_rep = r;
    lf->field = c->field;
    no->kind = PL__NODE_LEAF;
    no->leaf = c->s->n_leaves++;
    pl_type t;
    pl_type_copy(&t, &lf->type);
    *fo = pl_field_make(ename(e), t, nullable);
    return PL_OK;
  }
  if (e->num_children <= 0) return bad(c, path, "group with no children%s", "");

  if (is_list(e) || is_map(e)) {
    bool map = is_map(e);
    if (e->num_children != 1) return bad(c, path, "LIST/MAP group must have exactly one child%s", "");
    if (c->idx >= c->md->n_schema) return bad(c, path, "schema ends inside a LIST/MAP%s", "");
    const pl_pq_schema_element *re = &c->md->schema[c->idx];
    if (re->repetition != PL_REP_REPEATED) {
      if (map) return bad(c, path, "MAP child '%s' is not repeated", ename(re));
      /* A LIST whose child is not repeated: read it as a plain struct (as arrow does not;
       * but refusing would lose data that is unambiguous). */
      pl_type t;
      if ((st = convert_struct(c, depth, e, dp, r, sd, sr, path, &t, no))) return st;
      *fo = pl_field_make(ename(e), t, nullable);
      return PL_OK;
    }
    if (dp >= INT16_MAX - 2 || r >= INT16_MAX - 2) return bad(c, path, "too many levels%s", "");
    int16_t id = (int16_t)(dp + 1), ir = (int16_t)(r + 1);
    no->kind = PL__NODE_LIST;
    no->n_children = 1;
    no->children = pl_calloc(1, sizeof *no->children);
    char rpath[1100];
    snprintf(rpath, sizeof rpath, "%s.%s", path, ename(re));
    if (map && re->num_children == 1 && re->type == -1) {
      /* a MAP without values: read as a list of its keys, as arrow-rs does */
      map = false;
      c->idx++;
      pl_field item;
      st = convert(c, depth + 2, -1, id, ir, id, ir, rpath, &item, &no->children[0]);
      if (st) return st;
      no->leaf = no->children[0].leaf;
      *fo = pl_field_make(ename(e), pl_type_list(item), nullable);
      return PL_OK;
    }
    if (map) {
      if (re->num_children != 2 || re->type != -1)
        return bad(c, path, "MAP key_value group must have exactly two children (key, value)%s", "");
      int32_t rix = c->idx++;
      (void)rix;
      pl__node *kvn = &no->children[0];
      memset(kvn, 0, sizeof *kvn);
      kvn->kind = PL__NODE_STRUCT;
      kvn->def_present = id;
      kvn->slot_def = id;
      kvn->slot_rep = ir;
      kvn->children = pl_calloc(2, sizeof *kvn->children);
      pl_field kf, vf;
      kvn->n_children = 1;
      if ((st = convert(c, depth + 2, -1, id, ir, id, ir, rpath, &kf, &kvn->children[0]))) return st;
      kvn->n_children = 2;
      if ((st = convert(c, depth + 2, -1, id, ir, id, ir, rpath, &vf, &kvn->children[1]))) {
        pl_field_release(&kf);
        return st;
      }
      kvn->leaf = kvn->children[0].leaf;
      no->leaf = kvn->leaf;
      kf.nullable = false; /* Arrow map keys are never null */
      *fo = pl_field_make(ename(e), pl_type_map(kf, vf), nullable);
      return PL_OK;
    }
    /* LIST: the backward-compatibility rules of LogicalTypes.md decide what the item is. */
    bool two_level = false;
    if (re->type >= 0 && re->num_children <= 0) two_level = true; /* repeated primitive */
    else if (re->num_children > 1) two_level = true;               /* repeated group of many */
    else if (re->num_children == 1) {
      char tuple[1100];
      snprintf(tuple, sizeof tuple, "%s_tuple", ename(e));
      if (!strcmp(ename(re), "array") || !strcmp(ename(re), tuple)) two_level = true;
    }
    pl_field item;
    if (two_level) {
      st = convert(c, depth + 1, PL_REP_REQUIRED, id, ir, id, ir, path, &item, &no->children[0]);
      if (st) return st;
      /* the repeated element was converted as required at def dp; shift it to id */
      item.nullable = false;
    } else {
      c->idx++; /* the repeated group itself; its single child is the item */
      st = convert(c, depth + 2, -1, id, ir, id, ir, rpath, &item, &no->children[0]);
      if (st) return st;
    }
    no->leaf = no->children[0].leaf;
    *fo = pl_field_make(ename(e), pl_type_list(item), nullable);
    return PL_OK;
  }

  pl_type t;
  if ((st = convert_struct(c, depth, e, dp, r, sd, sr, path, &t, no))) return st;
  *fo = pl_field_make(ename(e), t, nullable);
  return PL_OK;
}

void pl__schema_release(pl__schema *s) {
  if (!s) return;
  pl_schema_release(&s->arrow);
  for (int32_t i = 0; i < s->n_fields; i++) node_release(&s->fields[i]);
  pl_free(s->fields);
  for (int32_t i = 0; i < s->n_leaves; i++) {
    pl_free(s->leaves[i].path);
    pl_type_release(&s->leaves[i].type);
  }
  pl_free(s->leaves);
  pl_free(s->field_first_leaf);
  memset(s, 0, sizeof *s);
}

pl_status pl__schema_build(const pl_pq_file_metadata *md, pl__schema *out, pl_error *err) {
  memset(out, 0, sizeof *out);
  pl_schema_init(&out->arrow);
  if (md->n_schema < 1) return pl_error_set(err, PL_ECORRUPT, "footer: empty schema");
  const pl_pq_schema_element *root = &md->schema[0];
  int32_t n = root->num_children;
  if (n < 0 || n > md->n_schema - 1)
    return pl_error_set(err, PL_ECORRUPT, "footer: schema root claims %d children, %d elements follow",
                        (int)n, (int)(md->n_schema - 1));
  ctx c = {md, 1, out, 0, 0, err};
  out->fields = pl_calloc((size_t)n + 1, sizeof *out->fields);
  out->field_first_leaf = pl_calloc((size_t)n + 1, sizeof *out->field_first_leaf);
  pl_status st = PL_OK;
  for (int32_t i = 0; i < n; i++) {
    c.field = i;
    out->field_first_leaf[i] = out->n_leaves;
    pl_field f;
    out->n_fields = i + 1;
    st = convert(&c, 1, -1, 0, 0, 0, 0, "", &f, &out->fields[i]);
    if (st) break;
    pl_schema_add(&out->arrow, f);
  }
  if (!st && c.idx != md->n_schema)
    st = pl_error_set(err, PL_ECORRUPT, "footer: schema has %d elements but the tree uses %d",
                      (int)md->n_schema, (int)c.idx);
  if (st) {
    pl__schema_release(out);
    return st;
  }
  out->field_first_leaf[n] = out->n_leaves;
  return PL_OK;
}

/* specs.c — the built-in components' spec YAML files (components/<name>.yaml), embedded in the
 * library with the assembler's .incbin, so the specs stay plain YAML files in the repository
 * and `praline components` needs no install path. Paths are relative to the repository root,
 * where make runs the compiler. */
#include "pipeline/internal.h"

#define PL_EMBED(sym, file)                                                                        \
  __asm__(".section .rodata\n.global " #sym "\n.type " #sym ", @object\n.balign 8\n" #sym        \
          ":\n.incbin \"" file "\"\n.byte 0\n.previous\n");                                       \
  extern const char sym[];

PL_EMBED(pl__spec_load_from_parquet, "components/load_from_parquet.yaml")
PL_EMBED(pl__spec_filter, "components/filter.yaml")
PL_EMBED(pl__spec_derive, "components/derive.yaml")
PL_EMBED(pl__spec_select, "components/select.yaml")
PL_EMBED(pl__spec_drop, "components/drop.yaml")
PL_EMBED(pl__spec_rename, "components/rename.yaml")
PL_EMBED(pl__spec_dedup, "components/dedup.yaml")
PL_EMBED(pl__spec_sample, "components/sample.yaml")
PL_EMBED(pl__spec_repartition, "components/repartition.yaml")
PL_EMBED(pl__spec_write_to_parquet, "components/write_to_parquet.yaml")
PL_EMBED(pl__spec_load_from_csv, "components/load_from_csv.yaml")
PL_EMBED(pl__spec_load_from_jsonl, "components/load_from_jsonl.yaml")
PL_EMBED(pl__spec_write_to_csv, "components/write_to_csv.yaml")
PL_EMBED(pl__spec_write_to_jsonl, "components/write_to_jsonl.yaml")

static const struct {
  const char *name;
  const char *spec;
} builtins[] = {
    {"load_from_parquet", pl__spec_load_from_parquet},
    {"load_from_csv", pl__spec_load_from_csv},
    {"load_from_jsonl", pl__spec_load_from_jsonl},
    {"filter", pl__spec_filter},
    {"derive", pl__spec_derive},
    {"select", pl__spec_select},
    {"drop", pl__spec_drop},
    {"rename", pl__spec_rename},
    {"dedup", pl__spec_dedup},
    {"sample", pl__spec_sample},
    {"repartition", pl__spec_repartition},
    {"write_to_parquet", pl__spec_write_to_parquet},
    {"write_to_csv", pl__spec_write_to_csv},
    {"write_to_jsonl", pl__spec_write_to_jsonl},
};

int pl__builtin_count(void) { return (int)(sizeof builtins / sizeof builtins[0]); }
const char *pl__builtin_name(int i) { return builtins[i].name; }
const char *pl__builtin_spec(int i) { return builtins[i].spec; }

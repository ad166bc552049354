/* praline/praline.h — the whole public C API in one include: core, columnar, parquet, expr,
 * engine, pipelines and the component ABI. */
#ifndef PRALINE_H
#define PRALINE_H
#include "praline/core.h"
#include "praline/columnar.h"
#include "praline/parquet.h"
#include "praline/expr.h"
#include "praline/engine.h"
#include "praline/component.h"
#include "praline/pipeline.h"
#endif

#!/usr/bin/env bash
# make bench: every heavy benchmark, each comparing praline with DuckDB in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash bench/writer.sh
bash bench/reader.sh
bash bench/w2.sh

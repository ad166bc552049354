// duckdb_peer.mjs — the DuckDB side of praline's benchmarks (DuckDB from @duckdb/node-api, pinned
// in package-lock.json). Prints one JSON object with the timed part in seconds.
//   node duckdb_peer.mjs write --input DIR --out FILE [--codec zstd] [--threads 2]
//       loads every DIR/*.parquet into an in-memory table (untimed), then times
//       COPY t TO FILE (FORMAT parquet, COMPRESSION codec).
//   node duckdb_peer.mjs read --input DIR [--threads 2] [--columns all|width]
//       times a query that forces every selected column to be decoded.
import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';

const argv = process.argv.slice(2);
const mode = argv[0];
const opt = (k, d) => { const i = argv.indexOf('--' + k); return i >= 0 ? argv[i + 1] : d; };
const threads = opt('threads', '2');
const input = opt('input');
if (!input || !['write', 'read'].includes(mode)) {
  console.error('usage: duckdb_peer.mjs write|read --input DIR [--out FILE] [--codec zstd] [--threads N] [--columns all|COL]');
  process.exit(2);
}
const q = s => "'" + s.replace(/'/g, "''") + "'";
const inst = await DuckDBInstance.create(':memory:', { threads, memory_limit: opt('memory-limit', '8GB') });
const con = await inst.connect();
const src = `read_parquet(${q(input + '/*.parquet')})`;

if (mode === 'write') {
  const out = opt('out');
  const codec = opt('codec', 'zstd');
  await con.run(`CREATE TABLE t AS SELECT * FROM ${src}`);
  const t0 = process.hrtime.bigint();
  await con.run(`COPY t TO ${q(out)} (FORMAT parquet, COMPRESSION ${codec})`);
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({ engine: 'duckdb', mode, seconds: sec, bytes: fs.statSync(out).size, threads: Number(threads) }));
} else {
  const cols = opt('columns', 'all');
  // aggregates that force a full decode of each column's values
  const all = 'count(id), sum(id), sum(length(url)), count(caption), sum(length(caption)), sum(width), ' +
              'sum(height), sum(similarity), sum(length(nsfw)), sum(length(language))';
  const sel = cols === 'all' ? all : `count(${cols}), sum(${cols})`;
  const t0 = process.hrtime.bigint();
  const r = await con.runAndReadAll(`SELECT ${sel} FROM ${src}`);
  const sec = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(JSON.stringify({ engine: 'duckdb', mode, columns: cols, seconds: sec, threads: Number(threads), rows: String(r.getRows()[0][0]) }));
}

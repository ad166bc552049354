// duckdb_w2.mjs — DuckDB doing W2a (filter, caption_len, export) or W2 (W2a + exact dedup on url,
// keeping the smallest id), as praline's bench-w2a / bench-w2 do. Prints one JSON object.
//   node duckdb_w2.mjs --input DIR --out FILE [--dedup] [--threads 2] [--memory-limit 2GB] [--level N]
// --level N sets COPY's COMPRESSION_LEVEL (zstd); without it DuckDB uses its default (3).
import { DuckDBInstance } from '@duckdb/node-api';
import fs from 'node:fs';

const argv = process.argv.slice(2);
const opt = (k, d) => { const i = argv.indexOf('--' + k); return i >= 0 ? argv[i + 1] : d; };
const input = opt('input'), out = opt('out');
if (!input || !out) {
  console.error('usage: duckdb_w2.mjs --input DIR --out FILE [--dedup] [--threads 2] [--memory-limit 2GB] [--level N]');
  process.exit(2);
}
const dedup = argv.includes('--dedup');
const threads = opt('threads', '2'), mem = opt('memory-limit', '2GB');
const level = opt('level', null);
if (level !== null && !/^-?[0-9]+$/.test(level)) {
  console.error('duckdb_w2.mjs: --level needs an integer');
  process.exit(2);
}
const levelOpt = level === null ? '' : `, COMPRESSION_LEVEL ${level}`;
const q = s => "'" + s.replace(/'/g, "''") + "'";
const inst = await DuckDBInstance.create(':memory:', { threads, memory_limit: mem });
const con = await inst.connect();
const src = `read_parquet(${q(input + '/*.parquet')})`;
let sel = `SELECT *, length(caption)::INTEGER AS caption_len FROM ${src}
           WHERE width >= 256 AND height >= 256 AND caption IS NOT NULL`;
// Dedup as a hash aggregate (min id per url) joined back: DuckDB's window form
// (QUALIFY row_number() OVER (PARTITION BY url ORDER BY id) = 1) ran out of memory at 2GB.
if (dedup) sel = `WITH f AS (${sel})
                  SELECT f.* FROM f JOIN (SELECT min(id) AS id FROM f GROUP BY url) m USING (id)`;
const t0 = process.hrtime.bigint();
let error = null;
try {
  await con.run(`COPY (${sel}) TO ${q(out)} (FORMAT parquet, COMPRESSION zstd${levelOpt})`);
} catch (e) {
  error = String(e.message || e).split('\n')[0];
}
const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
let rows_out = null;
if (!error) {
  const r = await con.runAndReadAll(`SELECT count(*) FROM read_parquet(${q(out)})`);
  rows_out = Number(r.getRows()[0][0]);
}
console.log(JSON.stringify({ engine: 'duckdb', workload: dedup ? 'w2' : 'w2a', seconds, rows_out,
                             bytes: error ? null : fs.statSync(out).size, threads: Number(threads),
                             level: level === null ? 'default' : Number(level),
                             memory_limit: mem, error }));

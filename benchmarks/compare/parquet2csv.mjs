// parquet2csv converts a Parquet file or folder to CSV with DuckDB, an
// independent Parquet reader (npm's @duckdb/node-api), so the comparison
// scripts read the log without ytdnn's reader.
//
//   npm install --prefix /tmp/duckdb @duckdb/node-api
//   cp benchmarks/compare/parquet2csv.mjs /tmp/duckdb/   # ES modules resolve packages beside the script
//   node /tmp/duckdb/parquet2csv.mjs IN.parquet OUT.csv
import { DuckDBInstance } from '@duckdb/node-api';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node parquet2csv.mjs IN(.parquet|folder) OUT.csv');
  process.exit(2);
}
const glob = input.endsWith('.parquet') ? input : `${input}/**/*.parquet`;
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const quote = (s) => `'${s.replaceAll("'", "''")}'`;
await con.run(`COPY (SELECT * FROM read_parquet(${quote(glob)})) TO ${quote(output)} (HEADER, DELIMITER ',')`);
console.error(`wrote ${output}`);

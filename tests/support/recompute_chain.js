// Recomputes the hash chain of a `talent-audit export --format jsonl` file with nothing but
// Node.js: the canonical form the README documents, rebuilt independently of the Python code.
//
//   node recompute_chain.js EXPORT.jsonl
//
// Prints one JSON line {"rows", "services", "heads", "ok", "problem"} and exits 0 when every
// row's hash is SHA-256 of its canonical form and, within each store, every prev_hash is the
// hash of the position before (the first position's is 64 zeros); 1 otherwise.
"use strict";
const crypto = require("crypto");
const fs = require("fs");

const HASHED = [
  "global_position", "event_id", "stream_type", "stream_id", "stream_version", "event_type",
  "schema_version", "payload", "metadata", "recorded_at", "prev_hash",
];

// JSON with the keys of every object sorted, no whitespace (JSON.stringify escapes strings the
// same way: short escapes for \b \f \n \r \t, \u00xx for other control characters, the rest
// as UTF-8).
function canonical(value) {
  if (Array.isArray(value)) return "[" + value.map(canonical).join(",") + "]";
  if (value !== null && typeof value === "object") {
    return "{" + Object.keys(value).sort()
      .map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",") + "}";
  }
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new Error(`not an exact integer: ${value}`);
  }
  return JSON.stringify(value);
}

function main(path) {
  const lines = fs.readFileSync(path, "utf8").split("\n").filter((l) => l.trim() !== "");
  const heads = {}; // service -> [position, hash] of the last row seen
  let problem = null;
  for (const line of lines) {
    const row = JSON.parse(line);
    const hashed = {};
    for (const k of HASHED) hashed[k] = row[k];
    const digest = crypto.createHash("sha256").update(canonical(hashed), "utf8").digest("hex");
    const where = `${row.service} position ${row.global_position}`;
    if (digest !== row.hash) {
      problem = `${where}: recomputed ${digest}, exported ${row.hash}`;
      break;
    }
    const before = heads[row.service];
    const expectedPrev = before === undefined
      ? (row.global_position === 1 ? "0".repeat(64) : null)
      : (before[0] === row.global_position - 1 ? before[1] : null);
    if (expectedPrev !== null && row.prev_hash !== expectedPrev) {
      problem = `${where}: prev_hash ${row.prev_hash} is not the hash before, ${expectedPrev}`;
      break;
    }
    heads[row.service] = [row.global_position, row.hash];
  }
  const result = {
    rows: lines.length, services: Object.keys(heads), heads, ok: problem === null, problem,
  };
  process.stdout.write(JSON.stringify(result) + "\n");
  return problem === null ? 0 : 1;
}

process.exitCode = main(process.argv[2]);

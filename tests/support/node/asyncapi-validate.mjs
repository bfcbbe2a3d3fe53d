// Validate an AsyncAPI document with the AsyncAPI parser; prints {"errors": [...], "warnings": [...]}
// as JSON and exits 0 (the caller judges). Usage: node asyncapi-validate.mjs <file>
import { readFileSync } from "node:fs";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const text = readFileSync(process.argv[2], "utf8");
const parser = new Parser();
const { document, diagnostics } = await parser.parse(text);
const shape = (d) => ({ code: d.code, message: d.message, path: d.path.join("/") });
const out = {
  parsed: document !== undefined,
  version: document ? document.version() : null,
  channels: document ? document.channels().length : 0,
  messages: document ? document.allMessages().length : 0,
  errors: diagnostics.filter((d) => d.severity === DiagnosticSeverity.Error).map(shape),
  warnings: diagnostics.filter((d) => d.severity === DiagnosticSeverity.Warning).map(shape),
};
process.stdout.write(JSON.stringify(out));

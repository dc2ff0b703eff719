// Validates an AsyncAPI document with the official parser; exits non-zero on any error (and on
// warnings, so the generated document stays clean). Usage: node validate.mjs ../asyncapi.yaml
import { readFile } from "node:fs/promises";
import { Parser, DiagnosticSeverity } from "@asyncapi/parser";

const path = process.argv[2];
if (!path) {
  console.error("usage: node validate.mjs <asyncapi.yaml>");
  process.exit(2);
}

const source = await readFile(path, "utf8");
const parser = new Parser();
const { document, diagnostics } = await parser.parse(source, { source: path });

const names = { 0: "error", 1: "warning", 2: "info", 3: "hint" };
const problems = diagnostics.filter(
  (d) => d.severity === DiagnosticSeverity.Error || d.severity === DiagnosticSeverity.Warning,
);
for (const d of problems) {
  const where = d.path && d.path.length ? d.path.join(".") : "(document)";
  console.error(`${names[d.severity]} ${d.code}: ${d.message} at ${where}`);
}
if (!document || problems.length) {
  console.error(`${path}: ${problems.length} problem(s); the document is not valid AsyncAPI`);
  process.exit(1);
}
const channels = document.channels().length;
const operations = document.operations().length;
const messages = document.components().messages().length;
console.log(
  `${path}: valid AsyncAPI ${document.version()} (${channels} channels, ${operations} operations, ${messages} messages)`,
);

// Writes gen/json-schema/*.json from the event definitions (run by `npm run generate`).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { jsonSchemas } from '../src/json-schemas.js';

const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'gen', 'json-schema');
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
for (const [name, schema] of Object.entries(jsonSchemas())) {
  fs.writeFileSync(path.join(out, name), `${JSON.stringify(schema, null, 2)}\n`);
}
console.log(
  `wrote ${Object.keys(jsonSchemas()).length} JSON Schema files to ${path.relative(process.cwd(), out)}`,
);

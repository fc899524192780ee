import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { jsonSchemas } from './json-schemas.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'gen', 'json-schema');

describe('jsonSchemas', () => {
  it('matches the committed gen/json-schema files (run `npm run generate` after changing an event)', () => {
    const schemas = jsonSchemas();
    expect(fs.readdirSync(dir).sort()).toEqual(Object.keys(schemas).sort());
    for (const [name, schema] of Object.entries(schemas)) {
      expect(JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')), name).toEqual(schema);
    }
  });

  it('gives each event schema its dataschema id and a draft 2020-12 $schema', () => {
    const s = jsonSchemas()['order.placed.v1.json'] as Record<string, unknown>;
    expect(s.$id).toBe('urn:sluice:schema:order.placed:v1');
    expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(s.required).toEqual(expect.arrayContaining(['orderId', 'items', 'total']));
  });
});

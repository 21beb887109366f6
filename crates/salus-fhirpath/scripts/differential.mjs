// fhirpath.js side of the differential check (see examples/dump_search.rs). Run from a copy of
// shared/conformance with its npm dependencies installed:
//   node differential.mjs DATA_DIR [invariants] > js.jsonl
// Expressions are the same ones Salus runs (read from the embedded definitions' export,
// DATA_DIR/fhir-r4/search-parameters.json and profiles-*.json).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const fhirpath = require('fhirpath');
const r4 = require('fhirpath/fhir-context/r4');
const data = process.argv[2];
const invariants = process.argv[3] === 'invariants';
let params;
if (invariants) {
  params = [];
  for (const f of ['profiles-resources.json', 'profiles-types.json']) {
    const b = JSON.parse(fs.readFileSync(path.join(data, 'fhir-r4', f), 'utf8'));
    for (const e of b.entry ?? []) {
      const sd = e.resource;
      if (sd.resourceType !== 'StructureDefinition' || sd.derivation === 'constraint') continue;
      const root = sd.snapshot?.element?.[0];
      for (const c of root?.constraint ?? []) {
        if (c.expression) params.push({ id: `${sd.id}:${c.key}`, base: [sd.id], expression: c.expression });
      }
    }
  }
} else {
  const sps = JSON.parse(fs.readFileSync(path.join(data, 'fhir-r4/search-parameters.json'), 'utf8'));
  params = (sps.entry ?? []).map((e) => e.resource).filter((r) => r.expression);
}
const dir = path.join(data, 'fhir-r4/examples-package');
const compiled = params.map((p) => { try { return [p, fhirpath.compile(p.expression, r4)]; } catch { return [p, null]; } });
for (const f of fs.readdirSync(dir).sort()) {
  let res;
  try { res = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8').replace(/^\uFEFF/, '')); } catch { continue; }
  if (!res.resourceType) continue;
  for (const [p, fn] of compiled) {
    if (!p.base.some((b) => b === res.resourceType || b === 'Resource' || b === 'DomainResource')) continue;
    let line;
    try {
      if (!fn) throw new Error('compile');
      const out = fn(res, { resource: res, rootResource: res });
      line = { file: f, param: p.id, items: out.map((x) => (typeof x === 'object' && x !== null ? x : String(x))) };
    } catch (e) { line = { file: f, param: p.id, error: String(e.message ?? e) }; }
    console.log(JSON.stringify(line));
  }
}

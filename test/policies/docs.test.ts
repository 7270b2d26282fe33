// docs/policies.md embeds the options/presets reference generated from the knob tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { listPolicies, renderPolicyHelp, renderPolicyReference } from '../../src/policies/index.ts';

test('docs/policies.md lists every option and preset as the knob tables say (regenerate with TIDEPOOL_WRITE_DOCS=1)', () => {
  const docPath = new URL('../../docs/policies.md', import.meta.url);
  const begin = '<!-- policies:begin (generated from src/policies) -->';
  const end = '<!-- policies:end -->';
  const doc = readFileSync(docPath, 'utf8');
  const i = doc.indexOf(begin);
  const j = doc.indexOf(end);
  assert.ok(i >= 0 && j > i, 'the doc has the generated block markers');
  const expected = `${begin}\n${renderPolicyReference(['adaptive'])}\n${end}`;
  if (process.env.TIDEPOOL_WRITE_DOCS) writeFileSync(docPath, doc.slice(0, i) + expected + doc.slice(j + end.length));
  else assert.equal(doc.slice(i, j + end.length), expected, 'docs/policies.md is out of step: run TIDEPOOL_WRITE_DOCS=1 node --test test/policies/docs.test.ts');
});

test('the --help text lists every policy with its presets, the default marked', () => {
  const help = renderPolicyHelp();
  const lines = help.split('\n');
  assert.equal(lines.length, listPolicies().length);
  assert.match(lines[0], /^  threshold +Up\/down thresholds .* Presets: conservative\*, aggressive, cost-optimized, production\.$/);
  assert.match(help, /^  fixed:N +Always N workers/m);
});

test("the README's policy table lists every policy's presets, the default marked", () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const p of listPolicies()) {
    const row = readme.split('\n').find((l) => l.startsWith(`| \`${p.name}\` |`));
    assert.ok(row, `the README's policy table has a row for ${p.name}`);
    const cell = row!.split('|').at(-2)!.trim();
    const expected = p.presets.map((name) => (name === p.defaultPreset ? `${name} (default)` : name)).join(', ');
    assert.equal(cell, expected, `presets of ${p.name} in the README`);
  }
});

// The policy reference as Markdown, generated from the knob tables (each option's unit,
// default and range are written once, beside its policy). docs/policies.md embeds it and
// a test keeps the two in step. Pure: returns a string.

import type { Knob } from './types.ts';
import { getPolicy, listPolicies, type PolicyInfo } from './registry.ts';

function range(k: Knob): string {
  const what = k.kind === 'int' ? 'integer' : 'number';
  return `${what} ${k.min} to ${k.max}`;
}

function value(v: number, k: Knob | undefined): string {
  if (k?.unit === 'ms' && v >= 1000 && v % 1000 === 0) return `${v} (${v / 1000} s)`;
  return String(v);
}

function knobTable(info: PolicyInfo): string[] {
  const rows = Object.entries(info.knobs);
  if (rows.length === 0) return ['No options: the worker count is part of the name.'];
  return [
    '| option | unit | default | allowed | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map(([name, k]) => `| \`${name}\` | ${k.unit} | ${value(k.default, k)} | ${range(k)} | ${k.doc.replaceAll('|', '\\|')} |`),
  ];
}

function presetTable(info: PolicyInfo): string[] {
  const def = getPolicy(info.name);
  if (!def || info.presets.length === 0) return [];
  const out = ['', '| preset | sets |', '| --- | --- |'];
  for (const name of info.presets) {
    const values = Object.entries(def.presets[name] as Record<string, number>);
    const sets = values.length === 0 ? '(the defaults above)' : values.map(([k, v]) => `\`${k}\` ${value(v, info.knobs[k])}`).join(', ');
    out.push(`| \`${name}\`${name === info.defaultPreset ? ' (default)' : ''} | ${sets} |`);
  }
  return out;
}

/** Markdown for every registered policy but those in `skip`, in registry order. */
export function renderPolicyReference(skip: readonly string[] = []): string {
  const out: string[] = [];
  for (const info of listPolicies()) {
    if (skip.includes(info.name)) continue;
    out.push(`### \`${info.name}\``, '', `${info.summary} Source: ${info.source}.`, '', ...knobTable(info), ...presetTable(info), '');
  }
  return out.join('\n').trimEnd();
}

/** Plain text for `--help`: one line per policy with its presets (the default marked *). */
export function renderPolicyHelp(): string {
  const list = listPolicies();
  const width = Math.max(...list.map((p) => p.name.length));
  return list
    .map((p) => {
      const presets = p.presets.map((n) => (n === p.defaultPreset ? `${n}*` : n)).join(', ');
      return `  ${p.name.padEnd(width)}  ${p.summary}${presets ? ` Presets: ${presets}.` : ''}`;
    })
    .join('\n');
}

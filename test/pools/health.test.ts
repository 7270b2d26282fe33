// Seed 003's health table, row by row.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assessHealth, worstHealth } from '../../src/pools/index.ts';

const rows = [
  { name: 'a fresh pool', successRate: 1, stalledWorkers: 0, health: 'healthy', reasons: [], why: 'nothing ended yet counts as 100%' },
  { name: 'exactly 80% success', successRate: 0.8, stalledWorkers: 0, health: 'healthy', reasons: [], why: '>= 80% is healthy' },
  { name: 'just under 80%', successRate: 0.79, stalledWorkers: 0, health: 'degraded', reasons: ['success rate 79.0% < 80.0%'], why: '50-80% is degraded' },
  { name: 'exactly 50%', successRate: 0.5, stalledWorkers: 0, health: 'degraded', reasons: ['success rate 50.0% < 80.0%'], why: '50% is still degraded' },
  { name: 'under 50%', successRate: 0.49, stalledWorkers: 0, health: 'unhealthy', reasons: ['success rate 49.0% < 50.0%'], why: '< 50% is unhealthy' },
  { name: 'one stalled worker', successRate: 1, stalledWorkers: 1, health: 'degraded', reasons: ['1 stalled worker'], why: '1-2 stalled is degraded' },
  { name: 'two stalled workers', successRate: 0.95, stalledWorkers: 2, health: 'degraded', reasons: ['2 stalled workers'], why: '1-2 stalled is degraded' },
  { name: 'three stalled workers', successRate: 1, stalledWorkers: 3, health: 'unhealthy', reasons: ['3 stalled workers > 2'], why: '> 2 stalled is unhealthy' },
  { name: 'the worse column wins', successRate: 0.3, stalledWorkers: 1, health: 'unhealthy', reasons: ['success rate 30.0% < 50.0%', '1 stalled worker'], why: 'rate says unhealthy, stalls degraded' },
  { name: 'one failure of the first two attempts', successRate: 0.5, endedAttempts: 2, stalledWorkers: 0, health: 'healthy', reasons: [], why: 'fewer than 10 ended attempts say nothing about the rate' },
  { name: 'a low rate over ten attempts', successRate: 0.3, endedAttempts: 10, stalledWorkers: 0, health: 'unhealthy', reasons: ['success rate 30.0% < 50.0%'], why: '10 ended attempts are enough to judge' },
] as const;

for (const row of rows) {
  test(`health: ${row.name} is ${row.health} (${row.why})`, () => {
    const report = assessHealth({ successRate: row.successRate, stalledWorkers: row.stalledWorkers, ...('endedAttempts' in row ? { endedAttempts: row.endedAttempts } : {}) });
    assert.equal(report.health, row.health);
    assert.deepEqual(report.reasons, row.reasons);
  });
}

test('the worst health of several pools is reported', () => {
  assert.equal(worstHealth([]), 'healthy');
  assert.equal(worstHealth(['healthy', 'degraded', 'healthy']), 'degraded');
  assert.equal(worstHealth(['degraded', 'unhealthy']), 'unhealthy');
});

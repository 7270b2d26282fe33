// The core room's door: types, errors, clock and ids. Imports nothing of ours.
export * from './types.ts';
export * from './errors.ts';
export * from './clock.ts';
export * from './ids.ts';
export * from './config.ts';
export * from './scaling-choice.ts';
export * from './limits.ts';
export * from './redact.ts';
export * from './schedule.ts';
export * from './task-json.ts';

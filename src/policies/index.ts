// The policies room's door. Pure decision logic only: no I/O, no timers, no Date.
export type * from './types.ts';

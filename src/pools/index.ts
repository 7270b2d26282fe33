// The pools room's door.
export type * from './types.ts';

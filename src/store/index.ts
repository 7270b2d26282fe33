// The store room's door.
export type * from './types.ts';

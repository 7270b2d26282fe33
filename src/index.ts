// Tidepool's public library API.
export * from './core/index.ts';
export type * from './policies/index.ts';
export type * from './store/index.ts';
export type * from './pools/index.ts';
export { createTidepool, completeConfig, type Tidepool, type TidepoolOptions, type TidepoolConfigInput } from './tidepool.ts';

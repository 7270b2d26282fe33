// Tidepool's public library API: the factory, the rooms' doors, and their types.
export * from './core/index.ts';
export * from './policies/index.ts';
export * from './store/index.ts';
export * from './pools/index.ts';
export * from './autoscaler/index.ts';
export * from './schedules/index.ts';
export {
  parseTrace,
  formatTrace,
  generate,
  SCENARIOS,
  simulate,
  SimulationStuckError,
  figuresOf,
  formatEvents,
  policyForSim,
  runPolicy,
  compareAll,
  smallestFixedPool,
  formatCompareTable,
} from './sim/index.ts';
export type { Workload, ScenarioName, GenerateOptions, SimOptions, SimRun, SimFigures, CompareRow, RunSettings } from './sim/index.ts';
export { createTidepool, completeConfig, type Tidepool, type TidepoolOptions, type TidepoolConfigInput } from './tidepool.ts';

// The simulator room's door: trace reading, generators, the discrete-event engine,
// figures and events, comparison with a fixed-pool search, and plot options.
// No I/O here: the CLI reads and writes files.
export { parseTrace, formatTrace } from './trace.ts';
export type { Workload } from './trace.ts';
export { generate, SCENARIOS } from './generators.ts';
export type { ScenarioName, GenerateOptions } from './generators.ts';
export { createRng } from './random.ts';
export type { Rng } from './random.ts';
export { simulate, SimulationStuckError } from './engine.ts';
export type { SimPolicy, SimOptions, SimRun, PoolLog, Timeline } from './engine.ts';
export { figuresOf, formatEvents, nearestRank } from './result.ts';
export type { SimFigures } from './result.ts';
export { policyForSim } from './wiring.ts';
export { clairvoyant, CLAIRVOYANT } from './clairvoyant.ts';
export type { ClairvoyantOptions } from './clairvoyant.ts';
export type { PolicyChoice } from './wiring.ts';
export { runPolicy, compareAll, smallestFixedPool, onlinePolicyNames, formatCompareTable } from './compare.ts';
export type { CompareRow, RunSettings } from './compare.ts';
export { plotOption, paretoScale, PLOT_WIDTH_PX, PLOT_HEIGHT_PX } from './plot.ts';
export { placeLabels } from './plot-labels.ts';
export type { PlacedLabel, Dot as LabelDot, Box as LabelBox } from './plot-labels.ts';
export { tasksToWorkload } from './export.ts';
export type { ExportFilter } from './export.ts';

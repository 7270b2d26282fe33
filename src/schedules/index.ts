// Recurring tasks (docs/schedules.md): schedules as coordination state in the store, the
// pure choice of which ticks to submit (catch-up rule), and the lease-holding scheduler.
export { planTicks, nextTickMs, MAX_TICKS_PER_PASS, type TickPlan, type TickPlanInput } from './ticks.ts';
export {
  SCHEDULE_PREFIX,
  TICK_PREFIX,
  SCHEDULER_LEASE,
  createSchedule,
  deleteSchedule,
  getSchedule,
  listSchedules,
  parseScheduleInput,
  syncConfigSchedules,
  type ConfigSyncReport,
  type ScheduleSource,
  type ScheduleView,
} from './catalog.ts';
export { Scheduler, SCHEDULER_DEFAULTS, type SchedulerOptions, type SchedulerSettings, type TickSubmitted } from './scheduler.ts';

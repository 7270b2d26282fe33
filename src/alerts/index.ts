// Alerts: rules over the pools' stats, signed webhooks, the loop `tidepool start` runs (docs/alerts.md).
export { ALERT_RULES, ALERT_DEFAULTS, AlertRules, type AlertRule, type AlertSettings, type AlertTransition, type PoolAlertInput } from './rules.ts';
export { AlertMonitor, alertPayload, type AlertMonitorOptions } from './monitor.ts';

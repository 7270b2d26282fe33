// Completion callbacks: when a task submitted with callbackUrl ends, its task JSON is
// POSTed there, signed as alerts are, retried with backoff, kept in the store until
// delivered (docs/callbacks.md).
export { CallbackGuard, MAX_CALLBACK_URL_CHARS, allowListProblems, type CallbackGuardOptions, type Resolve } from './guard.ts';
export { CallbackRecords, DONE_PREFIX, PENDING_PREFIX, type CallbackRecord, type CallbackRecordsOptions, type DoneRecord } from './records.ts';
export { CALLBACKS_LEASE, CallbackDelivery, type CallbackDeliveryOptions, type CallbackSettings } from './delivery.ts';

// Signed webhooks: the signature, one signed POST, the retry rules, and the in-memory
// sender alerts use (completion callbacks keep their retries in the store instead).
export { SIGNATURE_HEADER, SIGNATURE_TOLERANCE_MS, signBody, verifySignature } from './signature.ts';
export { RefusedAddressError, backoffMs, postSigned, redactWebhookUrl, type AttemptOutcome, type PostOptions, type WebhookTarget } from './post.ts';
export { WebhookSender, type DeliveryOutcome, type WebhookSenderOptions } from './sender.ts';

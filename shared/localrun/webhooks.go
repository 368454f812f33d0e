package localrun

// WebhookConcurrency is how many pollers feed the webhook deliverer locally, each with up to
// 10 deliveries at once: a receiver that hangs holds one batch for the attempt's timeout,
// not the others.
const WebhookConcurrency = 4

// Package webhook delivers a task's events to its callbackUrl as Standard Webhooks
// (https://www.standardwebhooks.com): each POST carries webhook-id (the event's id, the same
// for every retry of it), webhook-timestamp and webhook-signature, the HMAC-SHA256 of
// "id.timestamp.body" under the deployment's whsec_ secret.
//
// Where a callbackUrl may point is shared/callbackurl's; the Deliverer dials through its
// Control.
package webhook

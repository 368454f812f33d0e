#!/usr/bin/env bash
# `make run-aws`: the local runner on DynamoDB and SQS emulators. Starts moto, creates the
# table and queues the template declares (infra/bootstrap), and serves 127.0.0.1:3000 with the
# worker fed from SQS the way Lambda's event source mapping would.
set -euo pipefail
cd "$(dirname "$0")/.."
infra/emulators.sh start
trap 'infra/emulators.sh stop' EXIT
# shellcheck disable=SC1091
source .tools/emulators.env
eval "$(go run ./infra/bootstrap -table tasklane-local -queue tasklane-local -bus tasklane-local)"
echo "TABLE_NAME=$TABLE_NAME QUEUE_URL=$QUEUE_URL" >&2
# The lifecycle events: the table's stream → the publish handler → the bus → the queue.
echo "EVENT_BUS_NAME=$EVENT_BUS_NAME EVENTS_QUEUE_URL=$EVENTS_QUEUE_URL (read it: $(infra/awscli.sh) sqs receive-message --queue-url \$EVENTS_QUEUE_URL)" >&2
# The intake queue: send it a create body plus "tenant" to make a task (README: "Tasks from
# messages"); refused messages land on its dead-letter queue.
echo "INTAKE_QUEUE_URL=$INTAKE_QUEUE_URL (dead letters: $INTAKE_DEAD_LETTER_QUEUE_URL)" >&2
echo "WEBHOOK_QUEUE_URL=$WEBHOOK_QUEUE_URL" >&2
go run ./infra/local "$@"

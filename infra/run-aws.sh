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
eval "$(go run ./infra/bootstrap -table tasklane-local -queue tasklane-local)"
echo "TABLE_NAME=$TABLE_NAME QUEUE_URL=$QUEUE_URL" >&2
go run ./infra/local "$@"

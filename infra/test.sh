#!/usr/bin/env bash
# `make test`: starts the AWS emulators (installing them on first use), checks gofmt, runs go vet and
# every Go test with the race detector against them, then the deployment checks, and stops the
# emulators whatever happens. A failure anywhere fails the run; nothing is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-}"

infra/emulators.sh start
trap 'infra/emulators.sh stop' EXIT
# shellcheck disable=SC1091
source .tools/emulators.env

# The LocalStack init hook test runs the hook with the AWS CLI (in go test ./..., so the
# deployment checks below need not run it again: TASKLANE_HOOK_TESTED).
AWS_CLI=$(infra/awscli.sh)
export AWS_CLI

# The Lambda harness (infra/lambdatest) runs the real bootstraps under the Runtime Interface
# Emulator; install it before the tests (it fails, never skips, under CI without it).
TASKLANE_RIE=$(infra/rie.sh)
export TASKLANE_RIE

echo "== gofmt"
unformatted=$(find . -name '*.go' -not -path './.tools/*' -not -path './.git/*' -not -path './.aws-sam/*' -print0 | xargs -0 gofmt -l)
if [ -n "$unformatted" ]; then
	echo "not gofmt-ed (run gofmt -w on them):" >&2
	echo "$unformatted" >&2
	exit 1
fi
echo "== go vet"
go vet ./...
echo "== go test (embedded backends and emulators)"
go test -race -count=1 ./...

if [ -x infra/check-deploy.sh ]; then
	echo "== deployment checks"
	TASKLANE_HOOK_TESTED=1 infra/check-deploy.sh
fi

#!/usr/bin/env bash
# Deployment checks, run by `make test` (infra/test.sh) after the Go tests; runnable alone.
#   1. sam validate --lint   template.yaml is valid SAM and passes cfn-lint
#   2. sam build             every function builds through its Makefile target (no Docker)
#   3. size budget           every bootstrap sam built is at most 10 MiB (infra/sizes.sh)
#   4. LocalStack init hook  localstack/init/ready.d/10-tasklane.sh, run against the test
#                            emulator, creates what template.yaml declares (Go test
#                            TestLocalStackInitHook, with the AWS CLI installed here;
#                            under make test, whose go test ran it already, not again)
# The SAM CLI (pinned in infra/requirements-sam.txt) and, when there is no `aws` on PATH, the
# AWS CLI are installed into .tools/ on first use. No AWS account is used: the region and
# credentials below only satisfy the tools. Every check runs; any failure fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
tools=.tools
sam_venv=$tools/sam-venv
mkdir -p "$tools"
export SAM_CLI_TELEMETRY=0
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-$AWS_REGION}"
export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}" AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"

if [ ! -x "$sam_venv/bin/sam" ] || ! cmp -s infra/requirements-sam.txt "$sam_venv/requirements.txt"; then
	echo "check-deploy: installing the SAM CLI into $sam_venv" >&2
	rm -rf "$sam_venv"
	python3 -m venv "$sam_venv"
	"$sam_venv/bin/pip" install --quiet --disable-pip-version-check -r infra/requirements-sam.txt
	cp infra/requirements-sam.txt "$sam_venv/requirements.txt"
fi
sam="$sam_venv/bin/sam"
"$sam" --version

aws_cli=$(infra/awscli.sh)

failed=()
# step NAME CMD...: runs one check; a failure is reported at the end and the others still run.
step() {
	local name="$1"
	shift
	echo "== $name"
	if ! "$@"; then
		echo "check-deploy: FAILED: $name" >&2
		failed+=("$name")
	fi
}

step "sam validate --lint" "$sam" validate --lint --template-file template.yaml
step "sam build" "$sam" build --template-file template.yaml --build-dir .aws-sam/build --build-in-source --parallel
step "size budget (10 MiB per bootstrap)" infra/sizes.sh .aws-sam/build

if [ -z "${AWS_ENDPOINT_URL_DYNAMODB:-}" ] || [ -z "${AWS_ENDPOINT_URL_SQS:-}" ]; then
	# Run alone: start the emulators for the hook (infra/test.sh has them running already).
	infra/emulators.sh start
	trap 'infra/emulators.sh stop' EXIT
	# shellcheck disable=SC1091
	source .tools/emulators.env
fi
if [ "${TASKLANE_HOOK_TESTED:-}" = 1 ]; then
	# infra/test.sh sets this: its go test ./... ran TestLocalStackInitHook with the AWS CLI.
	echo "== LocalStack init hook against the emulator: run by make test's go test (TestLocalStackInitHook)"
else
	step "LocalStack init hook against the emulator" env AWS_CLI="$aws_cli" \
		go test -count=1 -v -run '^TestLocalStackInitHook$' ./infra/template/
fi

if [ ${#failed[@]} -gt 0 ]; then
	printf 'check-deploy: %d check(s) failed:\n' "${#failed[@]}" >&2
	printf '  - %s\n' "${failed[@]}" >&2
	exit 1
fi
echo "check-deploy: ok"

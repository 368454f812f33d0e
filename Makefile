# Tasklane. `make run` serves the API locally; `make test` runs every test against the
# embedded backends and the AWS emulators (started and stopped by infra/test.sh).
SHELL := /bin/bash
GO ?= go

.PHONY: run run-aws test test-go bench emulators-start emulators-stop

## run: the API on http://127.0.0.1:3000 with the worker, on an embedded store (tasklane.db)
run:
	$(GO) run ./infra/local

## run-aws: the same on DynamoDB and SQS emulators (moto), with the worker fed from SQS
run-aws:
	infra/run-aws.sh

## test: everything CI runs: emulators, gofmt, go vet, go test -race, SAM checks, size budget
test:
	infra/test.sh

## test-go: only the Go tests, against emulators already described by .tools/emulators.env
test-go:
	source .tools/emulators.env && $(GO) test -race -count=1 ./...

## bench: the benchmarks (what a task costs, make run under steady load, handler overhead, marker sealing)
bench:
	infra/emulators.sh start
	source .tools/emulators.env && $(GO) test -run '^$$' -bench . -benchmem ./... ; rc=$$?; infra/emulators.sh stop; exit $$rc

# ---------------------------------------------------------------- AWS SAM
# `sam build` (BuildMethod: makefile, CodeUri: .) runs `make build-<LogicalId>` with
# ARTIFACTS_DIR set; each target builds one command under functions/ into
# $(ARTIFACTS_DIR)/bootstrap for provided.al2023 on arm64. infra/template's drift test checks
# that these targets and template.yaml's functions are the directories under functions/.
SAM ?= $(if $(wildcard .tools/sam-venv/bin/sam),.tools/sam-venv/bin/sam,sam)
export SAM_CLI_TELEMETRY ?= 0
# LAMBDA_GOENV and LAMBDA_GOFLAGS are how a bootstrap is built, for any GOARCH: the deployed
# one adds GOARCH=arm64, the Lambda harness (infra/lambdatest) reads them with
# `make -s print-lambda-flags` and builds for the host's GOARCH.
LAMBDA_GOENV = CGO_ENABLED=0 GOOS=linux
# -gcflags: no inlining in the AWS SDK's packages (their generated (de)serializers grow with
# every inlined call); the functions wait on the network, not on that code, and it keeps every
# bootstrap under the 10 MiB budget (infra/sizes.sh: 0.12 MiB less).
LAMBDA_GOFLAGS = -trimpath -tags lambda.norpc -ldflags "-s -w" -gcflags=github.com/aws/aws-sdk-go-v2/...=-l
LAMBDA_BUILD = $(if $(ARTIFACTS_DIR),,$(error ARTIFACTS_DIR is not set: `sam build` sets it; `make sizes` builds into bin/))$(LAMBDA_GOENV) GOARCH=arm64 $(GO) build $(LAMBDA_GOFLAGS) -o "$(ARTIFACTS_DIR)/bootstrap"

.PHONY: build deploy sizes print-lambda-flags build-CreateFunction build-GetFunction build-ListFunction \
	build-RetryFunction build-CancelFunction build-WorkerFunction build-DeadLetterFunction \
	build-CallbackFunction

build-CreateFunction:
	$(LAMBDA_BUILD) ./functions/create

build-GetFunction:
	$(LAMBDA_BUILD) ./functions/get

build-ListFunction:
	$(LAMBDA_BUILD) ./functions/list

build-RetryFunction:
	$(LAMBDA_BUILD) ./functions/retry

build-CancelFunction:
	$(LAMBDA_BUILD) ./functions/cancel

build-WorkerFunction:
	$(LAMBDA_BUILD) ./functions/worker

build-DeadLetterFunction:
	$(LAMBDA_BUILD) ./functions/deadletter

# webhooks and the intake queue (issue #10)
.PHONY: build-WebhookFunction build-IntakeFunction

build-WebhookFunction:
	$(LAMBDA_BUILD) ./functions/webhook

build-IntakeFunction:
	$(LAMBDA_BUILD) ./functions/intake

# The lifecycle events' publisher (shared/publisher).
.PHONY: build-PublishFunction
build-PublishFunction:
	$(LAMBDA_BUILD) ./functions/publish

build-CallbackFunction:
	$(LAMBDA_BUILD) ./functions/callback

## print-lambda-flags: LAMBDA_GOENV's words, a line "--", then LAMBDA_GOFLAGS' words, one a
## line, split as the shell splits them (for infra/lambdatest)
print-lambda-flags:
	@printf '%s\n' $(LAMBDA_GOENV) -- $(LAMBDA_GOFLAGS)

## build: every function with `sam build` into .aws-sam/build (no Docker needed)
build:
	$(SAM) build --build-in-source --parallel

## deploy: build and deploy; the first run asks for the stack's settings (sam deploy --guided)
## and saves them in samconfig.toml, later runs reuse them
deploy: build
	if grep -q '^\[default\.deploy\.parameters\]' samconfig.toml 2>/dev/null; then \
		$(SAM) deploy; \
	else \
		$(SAM) deploy --guided; \
	fi

## sizes: build each function for linux/arm64 into bin/<name>/bootstrap and print its size;
## fails when one is over the 10 MiB budget
sizes:
	infra/sizes.sh

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

## test: everything CI runs: emulators, go vet, go test -race, SAM checks, size budget
test:
	infra/test.sh

## test-go: only the Go tests, against emulators already described by .tools/emulators.env
test-go:
	source .tools/emulators.env && $(GO) test -race -count=1 ./...

## bench: the benchmarks (store cost per operation, marker sealing, handler overhead)
bench:
	infra/emulators.sh start
	source .tools/emulators.env && $(GO) test -run '^$$' -bench . -benchmem ./... ; rc=$$?; infra/emulators.sh stop; exit $$rc

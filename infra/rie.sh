#!/usr/bin/env bash
# Installs the AWS Lambda Runtime Interface Emulator (RIE) into .tools/bin/aws-lambda-rie,
# the emulator infra/lambdatest runs the real bootstraps under (the same one AWS's base
# images and `sam local` use), and prints its path. A pinned version, built from source with
# `go install`, so that a fresh clone needs nothing but Go; a second run does nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
version=v0.0.0-20261030222936-bef5c4ba774d
bin="$PWD/.tools/bin/aws-lambda-rie"
stamp="$bin.version"
if [ ! -x "$bin" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$version" ]; then
	echo "rie: installing aws-lambda-rie@$version into .tools/bin" >&2
	mkdir -p .tools/bin
	GOBIN="$PWD/.tools/bin" CGO_ENABLED=0 go install "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$version"
	echo "$version" >"$stamp"
fi
echo "$bin"

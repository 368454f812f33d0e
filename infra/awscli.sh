#!/usr/bin/env bash
# Prints the path of an AWS CLI, installing one (pinned) into .tools/awscli-venv when none is
# on PATH. The LocalStack init hook test runs the hook with it against the emulators.
set -euo pipefail
cd "$(dirname "$0")/.."
pin="awscli==1.45.11"
venv=.tools/awscli-venv
if cli=$(command -v aws) && "$cli" --version >/dev/null 2>&1; then
	echo "$cli"
	exit 0
fi
if [ ! -x "$venv/bin/aws" ] || [ "$(cat "$venv/pin" 2>/dev/null)" != "$pin" ]; then
	echo "awscli: installing $pin into $venv" >&2
	rm -rf "$venv"
	python3 -m venv "$venv"
	"$venv/bin/pip" install --quiet --disable-pip-version-check "$pin"
	echo "$pin" >"$venv/pin"
fi
echo "$PWD/$venv/bin/aws"

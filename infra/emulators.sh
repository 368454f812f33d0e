#!/usr/bin/env bash
# Starts (or stops) the AWS emulators the tests and `make run-aws` use, as plain processes on
# a free loopback port: moto's server, which speaks DynamoDB and SQS. It installs them into
# .tools/ on first use, waits until they answer, and writes .tools/emulators.env with the
# SDK's standard endpoint variables. Usage: infra/emulators.sh start|stop|env
set -euo pipefail
cd "$(dirname "$0")/.."
tools=.tools
venv=$tools/moto-venv
envfile=$tools/emulators.env
pidfile=$tools/emulators.pid
mkdir -p "$tools"

install() {
	if [ ! -x "$venv/bin/moto_server" ] || ! cmp -s infra/requirements-emulators.txt "$venv/requirements.txt"; then
		echo "emulators: installing moto into $venv" >&2
		python3 -m venv "$venv"
		"$venv/bin/pip" install --quiet --disable-pip-version-check -r infra/requirements-emulators.txt
		cp infra/requirements-emulators.txt "$venv/requirements.txt"
	fi
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {
	install
	stop_quiet
	port=$(free_port)
	"$venv/bin/python" infra/moto_server.py -H 127.0.0.1 -p "$port" >"$tools/moto.log" 2>&1 &
	echo $! >"$pidfile"
	for _ in $(seq 1 100); do
		if curl -fsS -o /dev/null "http://127.0.0.1:$port/moto-api/" 2>/dev/null; then
			cat >"$envfile" <<EOT
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$port
export AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$port
export AWS_ENDPOINT_URL_EVENTBRIDGE=http://127.0.0.1:$port
export AWS_ENDPOINT_URL_DYNAMODB_STREAMS=http://127.0.0.1:$port
export AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
export TASKLANE_PYTHON=$PWD/$venv/bin/python
EOT
			echo "emulators: moto on 127.0.0.1:$port (DynamoDB, SQS); env in $envfile" >&2
			return 0
		fi
		if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then break; fi
		sleep 0.2
	done
	echo "emulators: moto did not start; its log:" >&2
	cat "$tools/moto.log" >&2
	exit 1
}

stop_quiet() {
	if [ -f "$pidfile" ]; then
		kill "$(cat "$pidfile")" 2>/dev/null || true
		rm -f "$pidfile" "$envfile"
	fi
}

case "${1:-}" in
start) start ;;
stop) stop_quiet ;;
install) install ;;
*) echo "usage: $0 start|stop|install" >&2; exit 2 ;;
esac

#!/usr/bin/env bash
# The size budget of the Lambda bootstraps: every function's binary must stay at or under
# 10 MiB (cold starts, and a deployment package's upload).
#
#   infra/sizes.sh            builds each function with the Makefile's very build-<LogicalId>
#                             recipe into bin/<name>/bootstrap, prints the sizes, checks them
#   infra/sizes.sh DIR        checks already built artifacts DIR/<LogicalId>/bootstrap
#                             (e.g. .aws-sam/build after `sam build`) without building
#
# The functions are the directories under functions/; each one's logical id is read from its
# build-<LogicalId> target in the Makefile. Exits 1 when one is over budget or missing.
set -euo pipefail
cd "$(dirname "$0")/.."
budget=$((10 * 1024 * 1024))
built_dir="${1:-}"

fail=0
printf '%-12s %-20s %12s %9s\n' function logical-id bytes MiB
for dir in functions/*/; do
	name=$(basename "$dir")
	# the target whose recipe builds ./functions/<name>
	id=$(awk -v want="./functions/$name" '
		/^build-[A-Za-z0-9]+:/ { target = substr($1, 7, length($1) - 7); next }
		/^\t/ && target != "" && $NF == want { print target; exit }
		/^[^\t]/ { target = "" }' Makefile)
	if [ -z "$id" ]; then
		echo "sizes: functions/$name has no build-<LogicalId> target in the Makefile" >&2
		fail=1
		continue
	fi
	if [ -z "$built_dir" ]; then
		out="bin/$name"
		make -s "build-$id" ARTIFACTS_DIR="$PWD/$out"
	else
		out="$built_dir/$id"
	fi
	bin="$out/bootstrap"
	if [ ! -f "$bin" ]; then
		echo "sizes: $bin is missing" >&2
		fail=1
		continue
	fi
	size=$(stat -c %s "$bin")
	mark=""
	if [ "$size" -gt "$budget" ]; then
		mark="  OVER the 10 MiB budget"
		fail=1
	fi
	awk -v n="$name" -v id="$id" -v size="$size" -v mark="$mark" \
		'BEGIN { printf "%-12s %-20s %12d %9.2f%s\n", n, id, size, size / 1048576, mark }'
done
if [ "$fail" -ne 0 ]; then
	echo "sizes: FAIL (budget: every bootstrap <= 10 MiB = $budget bytes)" >&2
	exit 1
fi
echo "sizes: ok, every bootstrap <= 10 MiB"

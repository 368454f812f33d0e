#!/usr/bin/env bash
# LocalStack init hook (mounted at /etc/localstack/init/ready.d): creates the DynamoDB table
# and the SQS queues that template.yaml declares, under fixed local names, so that
# `sam local invoke` / `sam local start-api --env-vars localstack/env.json` find them.
#
# The definitions below must equal template.yaml's TasksTable, WorkQueue and DeadLetterQueue;
# infra/template's TestLocalStackInitHook runs this very script against the test emulator and
# compares what it created with the template. It is idempotent: running it again (LocalStack
# with persistence, or by hand) leaves existing resources as they are.
#
# Settings (environment): TASKLANE_TABLE (default tasklane-local), TASKLANE_QUEUE (default
# tasklane-local; its dead-letter queue is TASKLANE_QUEUE-dlq), TASKLANE_UPDATED_AT_INDEX and
# TASKLANE_ADMIN_UPDATED_AT_INDEX (default false; true adds the opt-in index byUpdated, or
# allUpdated, as the template's parameters UpdatedAtIndex and AdminUpdatedAtIndex do, to a new
# table or to an existing one; an index is never removed). The CLI is awslocal inside
# LocalStack, else $AWS_CLI (default aws) with --endpoint-url from AWS_ENDPOINT_URL_DYNAMODB /
# AWS_ENDPOINT_URL_SQS or AWS_ENDPOINT_URL when set (the test emulator, LocalStack from the host).
set -euo pipefail

table="${TASKLANE_TABLE:-tasklane-local}"
queue="${TASKLANE_QUEUE:-tasklane-local}"
# flag NAME: the variable NAME, true or false (unset: false); anything else stops the hook.
flag() {
	local v="${!1:-false}"
	case "$v" in
	true | false) echo "$v" ;;
	*)
		echo "tasklane: $1 is \"$v\"; it must be true or false" >&2
		return 2
		;;
	esac
}
updated_at_index=$(flag TASKLANE_UPDATED_AT_INDEX)
admin_updated_at_index=$(flag TASKLANE_ADMIN_UPDATED_AT_INDEX)
dlq="$queue-dlq"
export AWS_PAGER=""
export AWS_REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}"
export AWS_DEFAULT_REGION="$AWS_REGION"

# cli SERVICE ARGS...: the AWS CLI for one service. Outside LocalStack the endpoint is
# AWS_ENDPOINT_URL_<SERVICE>, else AWS_ENDPOINT_URL, passed as --endpoint-url (AWS CLI v1
# ignores the service variables for SQS, so the script does not rely on the CLI reading them).
cli() {
	local service="$1"
	shift
	if [ -z "${AWS_CLI:-}" ] && command -v awslocal >/dev/null 2>&1; then
		awslocal "$service" "$@"
		return
	fi
	local var="AWS_ENDPOINT_URL_${service^^}"
	local endpoint="${!var:-${AWS_ENDPOINT_URL:-}}"
	if [ -n "$endpoint" ]; then
		"${AWS_CLI:-aws}" --endpoint-url "$endpoint" "$service" "$@"
	else
		"${AWS_CLI:-aws}" "$service" "$@"
	fi
}

# ---- the table: template.yaml's TasksTable (dynamostore.TableInput)
keys_only='"Projection": {"ProjectionType": "KEYS_ONLY"}'
attributes='{"AttributeName": "pk", "AttributeType": "S"},
    {"AttributeName": "sk", "AttributeType": "S"},
    {"AttributeName": "o", "AttributeType": "S"},
    {"AttributeName": "ot", "AttributeType": "S"},
    {"AttributeName": "c", "AttributeType": "S"}'
# The opt-in indexes asked for, by name, and u, their range key.
declare -A opt_in=()
if [ "$updated_at_index" = true ]; then
	opt_in[byUpdated]='{"IndexName": "byUpdated", "KeySchema": [{"AttributeName": "o", "KeyType": "HASH"}, {"AttributeName": "u", "KeyType": "RANGE"}], '"$keys_only"'}'
fi
if [ "$admin_updated_at_index" = true ]; then
	opt_in[allUpdated]='{"IndexName": "allUpdated", "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "u", "KeyType": "RANGE"}], '"$keys_only"'}'
fi
opt_in_indexes=""
if [ ${#opt_in[@]} -gt 0 ]; then
	attributes="$attributes"',
    {"AttributeName": "u", "AttributeType": "S"}'
	for name in "${!opt_in[@]}"; do
		opt_in_indexes+=",
    ${opt_in[$name]}"
	done
fi
if cli dynamodb describe-table --table-name "$table" >/dev/null 2>&1; then
	echo "tasklane: table $table exists" >&2
	indexes=$(cli dynamodb describe-table --table-name "$table" --query 'Table.GlobalSecondaryIndexes[].IndexName' --output text)
	for name in "${!opt_in[@]}"; do
		grep -qw "$name" <<<"$indexes" && continue
		# As a stack update with the parameter on: DynamoDB backfills the index from the
		# items, which all carry u (shared/dynamostore/doc.go, "Indexes"). One index an
		# UpdateTable, as DynamoDB allows, and the next once the table is ACTIVE again.
		cli dynamodb update-table --table-name "$table" --cli-input-json "{
  \"AttributeDefinitions\": [$attributes],
  \"GlobalSecondaryIndexUpdates\": [{\"Create\": ${opt_in[$name]}}]
}" >/dev/null
		cli dynamodb wait table-exists --table-name "$table"
		echo "tasklane: added the index $name to table $table" >&2
	done
else
	cli dynamodb create-table --cli-input-json "$(cat <<JSON
{
  "TableName": "$table",
  "BillingMode": "PAY_PER_REQUEST",
  "AttributeDefinitions": [
    $attributes
  ],
  "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
  "GlobalSecondaryIndexes": [
    {"IndexName": "byOwner", "KeySchema": [{"AttributeName": "o", "KeyType": "HASH"}, {"AttributeName": "c", "KeyType": "RANGE"}], $keys_only},
    {"IndexName": "byType", "KeySchema": [{"AttributeName": "ot", "KeyType": "HASH"}, {"AttributeName": "c", "KeyType": "RANGE"}], $keys_only}$opt_in_indexes
  ],
  "StreamSpecification": {"StreamEnabled": true, "StreamViewType": "NEW_AND_OLD_IMAGES"},
  "SSESpecification": {"Enabled": true}
}
JSON
)" >/dev/null
	cli dynamodb wait table-exists --table-name "$table"
	echo "tasklane: created table $table" >&2
fi
ttl=$(cli dynamodb describe-time-to-live --table-name "$table" --query 'TimeToLiveDescription.[TimeToLiveStatus,AttributeName]' --output text)
case "$ttl" in
ENABLED*expiresAt | ENABLING*expiresAt) ;;
*) cli dynamodb update-time-to-live --table-name "$table" \
	--time-to-live-specification Enabled=true,AttributeName=expiresAt >/dev/null ;;
esac
cli dynamodb update-continuous-backups --table-name "$table" \
	--point-in-time-recovery-specification PointInTimeRecoveryEnabled=true >/dev/null

# ---- the queues: template.yaml's DeadLetterQueue and WorkQueue
dlq_url=$(cli sqs create-queue --queue-name "$dlq" --query QueueUrl --output text \
	--attributes '{"VisibilityTimeout": "180", "MessageRetentionPeriod": "1209600", "SqsManagedSseEnabled": "true"}')
dlq_arn=$(cli sqs get-queue-attributes --queue-url "$dlq_url" --attribute-names QueueArn \
	--query Attributes.QueueArn --output text)
redrive="{\\\"deadLetterTargetArn\\\": \\\"$dlq_arn\\\", \\\"maxReceiveCount\\\": 5}"
queue_url=$(cli sqs create-queue --queue-name "$queue" --query QueueUrl --output text \
	--attributes "{\"VisibilityTimeout\": \"720\", \"MessageRetentionPeriod\": \"864000\", \"SqsManagedSseEnabled\": \"true\", \"RedrivePolicy\": \"$redrive\"}")

# ---- the webhook and intake queues: template.yaml's WebhookQueue, IntakeQueue and their
# dead-letter queues (redrive after 5 receives, 6 x their functions' 30 s Timeout)
# body_queue NAME: creates NAME-dlq and NAME, and prints NAME's URL and its DLQ's.
body_queue() {
	local dl_url dl_arn rd url
	dl_url=$(cli sqs create-queue --queue-name "$1-dlq" --query QueueUrl --output text \
		--attributes '{"MessageRetentionPeriod": "1209600", "SqsManagedSseEnabled": "true"}')
	dl_arn=$(cli sqs get-queue-attributes --queue-url "$dl_url" --attribute-names QueueArn \
		--query Attributes.QueueArn --output text)
	rd="{\\\"deadLetterTargetArn\\\": \\\"$dl_arn\\\", \\\"maxReceiveCount\\\": 5}"
	url=$(cli sqs create-queue --queue-name "$1" --query QueueUrl --output text \
		--attributes "{\"VisibilityTimeout\": \"180\", \"SqsManagedSseEnabled\": \"true\", \"RedrivePolicy\": \"$rd\"}")
	echo "$url $dl_url"
}
read -r webhook_url webhook_dlq_url <<<"$(body_queue "$queue-webhooks")"
read -r intake_url intake_dlq_url <<<"$(body_queue "$queue-intake")"

echo "tasklane: ready: table $table, queue $queue_url, dead-letter queue $dlq_url, webhooks $webhook_url, intake $intake_url" >&2
# For scripts: the variables the functions read (see localstack/env.json).
echo "TABLE_NAME=$table"
echo "QUEUE_URL=$queue_url"
echo "DEAD_LETTER_QUEUE_URL=$dlq_url"
echo "WEBHOOK_QUEUE_URL=$webhook_url"
echo "WEBHOOK_DEAD_LETTER_QUEUE_URL=$webhook_dlq_url"
echo "INTAKE_QUEUE_URL=$intake_url"
echo "INTAKE_DEAD_LETTER_QUEUE_URL=$intake_dlq_url"

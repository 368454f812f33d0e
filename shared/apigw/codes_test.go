package apigw_test

import (
	"slices"
	"testing"

	"github.com/tasklane/tasklane/shared/apigw"
)

// contractCodes is the contract's list of error codes (tasks-api-v1.md, "Error codes").
var contractCodes = []string{
	"VALIDATION_FAILED", "UNKNOWN_TASK_TYPE", "INVALID_PARAMETER", "INVALID_MARKER",
	"UNAUTHENTICATED", "FORBIDDEN", "TASK_NOT_FOUND", "TASK_NOT_FINISHED", "TASK_NOT_RETRYABLE",
	"TASK_NOT_CANCELLABLE", "IDEMPOTENCY_KEY_REUSED", "PAYLOAD_TOO_LARGE",
	"UNSUPPORTED_MEDIA_TYPE", "METHOD_NOT_ALLOWED", "CALLBACK_NOT_FOUND", "CALLBACK_ENDED", "INTERNAL",
}

// TestProblemTableHasEveryContractCode: the problem table can answer every errorCode the
// contract names, and the codes it adds are the ones docs/api.md documents.
func TestProblemTableHasEveryContractCode(t *testing.T) {
	t.Parallel()
	codes := apigw.ErrorCodes()
	for _, c := range contractCodes {
		if !slices.Contains(codes, c) {
			t.Errorf("the problem table has no row for %s", c)
		}
	}
	for _, c := range codes {
		if !slices.Contains(contractCodes, c) && c != "CONFLICT" && c != "NOT_FOUND" {
			t.Errorf("%s is neither in the contract nor documented in docs/api.md", c)
		}
	}
}

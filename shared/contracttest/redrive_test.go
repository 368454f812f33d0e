package contracttest_test

import "testing"

// TestRetriedAttemptsDoNotReachTheDeadLetterQueue: backoffs are new delayed messages, so a
// task with more retried attempts than the queue's maxReceiveCount (5) still succeeds
// instead of being failed by the dead-letter handler.
func TestRetriedAttemptsDoNotReachTheDeadLetterQueue(t *testing.T) {
	t.Parallel()
	eachBackend(t, func(t *testing.T, e *env) {
		id := e.create(steps(
			step("One", "transientFailures", 2),
			step("Two", "transientFailures", 2),
			step("Three", "transientFailures", 2),
		))
		done := e.waitStatus(id, "success")
		for _, s := range done["subTasks"].([]any) {
			if st := s.(map[string]any); st["attempts"] != float64(3) || st["status"] != "success" {
				t.Errorf("subtask %v", st)
			}
		}
		for _, er := range done["errors"].([]any) {
			if code := er.(map[string]any)["errorCode"]; code == "DELIVERY_FAILED" {
				t.Errorf("the task's message reached the dead-letter queue: %v", er)
			}
		}
	})
}

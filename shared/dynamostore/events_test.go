package dynamostore

import (
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktest"
)

// image is item as a stream record carries it.
func image(t *testing.T, item map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	t.Helper()
	out := map[string]events.DynamoDBAttributeValue{}
	for k, v := range item {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			out[k] = events.NewStringAttribute(v.Value)
		case *types.AttributeValueMemberN:
			out[k] = events.NewNumberAttribute(v.Value)
		default:
			t.Fatalf("attribute %s: %T", k, v)
		}
	}
	return out
}

func TestEventMarks(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, marks := range []bool{true, false} {
		var opts []Option
		if marks {
			opts = append(opts, WithEventMarks())
		}
		s := b.store(opts...)
		tk := tasktest.Create(t, s, tasktest.New(t, "acme", tasktest.TypeBeta, tasktest.Base))
		mark := func(step string, want string) {
			t.Helper()
			got := stringAttr(b.rawItem(t, taskPK(tk.ID)), attrEvents)
			if !marks {
				want = ""
			}
			if got != want {
				t.Errorf("marks=%v, after %s: %s = %q, want %q", marks, step, attrEvents, got, want)
			}
		}
		mark("create", "tasklane.task.created")
		tk = tasktest.Apply(t, s, tasktest.Transition(t, tk, func(x task.Task) (task.Change, error) { return x.Claim(tasktest.At(time.Second)) }))
		mark("claim", "tasklane.task.processing")
		tk = tasktest.Apply(t, s, tasktest.Transition(t, tk, func(x task.Task) (task.Change, error) {
			c, _, err := x.StartAttempt(tasktest.At(2 * time.Second))
			return c, err
		}))
		mark("start attempt", "") // the whole item is put: the claim's mark is gone
		tk = tasktest.Apply(t, s, tasktest.Transition(t, tk, func(x task.Task) (task.Change, error) { return x.Cancel(tasktest.At(3 * time.Second)) }))
		mark("cancel", "tasklane.task.cancelRequested")

		got, ok, err := ImageTask(image(t, b.rawItem(t, taskPK(tk.ID))))
		if err != nil || !ok {
			t.Fatalf("ImageTask = %v, %v", ok, err)
		}
		if diff := cmp.Diff(tk, got); diff != "" {
			t.Errorf("ImageTask (-stored +decoded):\n%s", diff)
		}
	}
}

func TestImageTaskRefuses(t *testing.T) {
	t.Parallel()
	if _, ok, err := ImageTask(map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("I#acme#k")}); ok || err != nil {
		t.Errorf("idempotency record: ok=%v err=%v, want not a task and no error", ok, err)
	}
	if _, _, err := ImageTask(map[string]events.DynamoDBAttributeValue{"pk": events.NewStringAttribute("T#x"), "b": events.NewBooleanAttribute(true)}); err == nil {
		t.Errorf("an attribute type the store never writes was accepted")
	}
}

package dynamostore

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/tasklane/tasklane/shared/costmodel"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktypes"
)

// at is a time with every nanosecond digit in use, as a real clock gives them.
func at(d time.Duration) time.Time {
	return time.Date(2026, 12, 1, 10, 51, 44, 123456789, time.UTC).Add(d)
}

func ptr(t time.Time) *time.Time { return &t }

// fullTask has every field of a task set, in status st.
func fullTask(st task.Status) task.Task {
	return task.Task{
		ID: "01JF0000000000000000000000", Type: "demo", Name: "Provision <web-01> & more", Owner: "tenant#a", User: "alice", ServiceNamespace: "org.example.backup",
		Status: st, CancelRequested: true,
		Input: json.RawMessage(`{"steps":[1]}`), Result: json.RawMessage(`{"steps":3}`),
		ResultURL: "https://example.com/r?a=1&b=2", Message: "half way", Progress: 50,
		CallbackURL: "https://hooks.example.com/tasklane?x=1&y=<2>",
		SubTasks: []task.SubTask{
			{Name: "Validate", Description: "Demo step 1 of 2", Status: task.Success, Attempts: 2, StartedAt: ptr(at(1)), FinishedAt: ptr(at(2)), Output: json.RawMessage(`{"size":1}`)},
			{Name: "Allocate", Status: task.Pending, WaitUntil: ptr(at(7)), Callback: &task.Callback{Attempt: 2, Heartbeat: time.Minute, TimeoutAt: at(8), Progress: 40, Ended: "abc"}},
		},
		Errors: []task.Error{
			{ErrorCode: "DEMO_TRANSIENT", ErrorType: task.ErrorTypeWarning, Message: "transient", SubTask: "Validate", Causes: []string{"a", "b"}, At: at(3)},
			{ErrorCode: "X", ErrorType: task.ErrorTypeError, Message: "m", Causes: []string{}, At: at(4)},
			{ErrorCode: "Y", ErrorType: task.ErrorTypeError, Message: "n", At: at(5)},
		},
		Resources:  []task.Resource{{ResourceID: "host-1", Type: "host"}, {ResourceID: "h2", Type: "disk"}},
		RetryCount: 2, MaxAttempts: 3, Retention: 90 * time.Minute,
		CreatedAt: at(0), UpdatedAt: at(6 * time.Hour), StartedAt: ptr(at(time.Second)), FinishedAt: ptr(at(time.Hour)),
		ExpiresAt: ptr(at(50 * time.Hour)), Version: 12, WriteID: "w-0123456789",
	}
}

// TestStoredTaskRoundTrip: a task stored and read back, whole or as a list index entry, is
// exactly the task, in every status, with every optional field set and with none.
func TestStoredTaskRoundTrip(t *testing.T) {
	t.Parallel()
	statuses := []task.Status{task.Pending, task.Processing, task.Success, task.Failure, task.Cancelled}
	var cases []task.Task
	for _, st := range statuses {
		cases = append(cases, fullTask(st), task.Task{ID: "01JF0000000000000000000001", Status: st},
			task.Task{ID: "01JF0000000000000000000002", Status: st, Owner: "o", Type: "demo", SubTasks: []task.SubTask{}, CreatedAt: at(0), UpdatedAt: at(0)})
	}
	for i, tk := range cases {
		t.Run(fmt.Sprintf("%d-%s", i, tk.Status), func(t *testing.T) {
			t.Parallel()
			item, err := taskItem(tk)
			if err != nil {
				t.Fatal(err)
			}
			got, err := itemTask(item)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tk, got); d != "" {
				t.Errorf("item round trip (-want +got):\n%s", d)
			}
			if a, b := asJSON(t, got), asJSON(t, tk); a != b { // nil and empty lists alike
				t.Errorf("as JSON %s\nwant    %s", a, b)
			}
		})
	}
}

// TestStoredTaskCompact: the doc holds no copy of pk, st and ty, and no RFC 3339 time.
func TestStoredTaskCompact(t *testing.T) {
	t.Parallel()
	tk := fullTask(task.Processing)
	item, err := taskItem(tk)
	if err != nil {
		t.Fatal(err)
	}
	doc := stringAttr(item, attrDoc)
	for _, s := range []string{tk.ID, `"processing"`, `"demo"`, "2026-12-01", "createdAt"} {
		if strings.Contains(doc, s) {
			t.Errorf("doc holds %s: %s", s, doc)
		}
	}
}

// TestStoredTaskUnrepresentableTime: a time UnixNano cannot hold is refused, not changed.
func TestStoredTaskUnrepresentableTime(t *testing.T) {
	t.Parallel()
	tk := fullTask(task.Pending)
	tk.CreatedAt = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := taskItem(tk); err == nil {
		t.Error("taskItem stored a createdAt of year 3000")
	}
}

// TestDemoTaskItemUnder1KB: the reference task of shared/costmodel (a demo task of 3 steps)
// stays at most 1 KB by DynamoDB's item-size rules from its create to its success, through
// the worker's folded writes, so that each of its writes costs 1 WRU on the table.
func TestDemoTaskItemUnder1KB(t *testing.T) {
	t.Parallel()
	reg, err := tasktypes.Registry()
	if err != nil {
		t.Fatal(err)
	}
	steps := `{"name":"Validate","durationMs":100},{"name":"Allocate","durationMs":100},{"name":"Configure","durationMs":100}`
	spec := task.Spec{Type: "demo", Name: "Provision web-01", Input: json.RawMessage(`{"steps":[` + steps + `]}`)}
	// A tenant id as long as a typical JWT subject (a UUID).
	tk, err := reg.New(task.NewID(at(0)), "5f0c8a52-8e1b-4d7a-9c3e-2b6f1a9d4e70", spec, at(0))
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, tk task.Task) {
		t.Helper()
		item, err := taskItem(tk)
		if err != nil {
			t.Fatal(err)
		}
		if n := sizeOf(item); n > 1024 {
			t.Errorf("%s: item of %d bytes, want ≤ 1024", what, n)
		} else {
			t.Logf("%s: %d bytes", what, n)
		}
	}
	check("create", tk)
	now := 0 * time.Millisecond
	next := func() time.Time { now += 100*time.Millisecond + 7*time.Nanosecond; return at(now) }
	c, i, err := tk.ClaimAndStart(next())
	if err != nil {
		t.Fatal(err)
	}
	check("claim + start 1", c.Task)
	for range len(tk.SubTasks) - 1 {
		if c, i, err = c.Task.FinishAndStart(i, next()); err != nil {
			t.Fatal(err)
		}
		check(fmt.Sprintf("finish + start %d", i+1), c.Task)
	}
	if c, err = c.Task.FinishAndSucceed(i, json.RawMessage(`{"steps":3}`), "", next()); err != nil {
		t.Fatal(err)
	}
	check("finish + success", c.Task)
}

// sizeOf is item's size by DynamoDB's rules, as shared/costmodel bills it.
func sizeOf(item map[string]types.AttributeValue) int {
	it := costmodel.Item{}
	for k, v := range item {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			it[k] = costmodel.Str(v.Value)
		case *types.AttributeValueMemberN:
			it[k] = costmodel.Num(v.Value)
		default:
			panic(fmt.Sprintf("attribute %s of type %T", k, v))
		}
	}
	return it.Size()
}

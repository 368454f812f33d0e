package lambdatest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/tasklane/tasklane/infra/template"
	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/localrun/eventsource"
	"github.com/tasklane/tasklane/shared/queue"
	"github.com/tasklane/tasklane/shared/sqsqueue"
	"github.com/tasklane/tasklane/shared/task"
)

// answer is what a sample API event must get: a status and, for problems, an errorCode.
type answer struct {
	event     string // apigw/NAME or localstack/NAME
	status    int
	errorCode string
}

// TestBootstrapsStart starts every function of template.yaml under RIE with exactly its
// template environment and invokes it with sample events. Before each function opened only
// what it uses, get, list, cancel and deadletter exited at start-up (no QUEUE_URL).
func TestBootstrapsStart(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	unknown := task.NewID(time.Now())
	samples := map[string][]answer{
		"CreateFunction": {
			{"apigw/create.json", http.StatusAccepted, ""},
			{"localstack/create.json", http.StatusAccepted, ""},
			{"apigw/create-bad-body.json", http.StatusBadRequest, "VALIDATION_FAILED"},
			{"apigw/create-catalog-bad-input.json", http.StatusBadRequest, "VALIDATION_FAILED"},
			{"apigw/create-unknown-type.json", http.StatusBadRequest, "UNKNOWN_TASK_TYPE"},
			{"apigw/create-text.json", http.StatusUnsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE"},
			{"apigw/create-no-claims.json", http.StatusUnauthorized, "UNAUTHENTICATED"},
			{"apigw/create-service-task.json", http.StatusAccepted, ""},
		},
		"CallbackFunction": {
			{"apigw/callback.json", http.StatusNotFound, "CALLBACK_NOT_FOUND"},
		},
		"GetFunction": {
			{"apigw/get.json", http.StatusNotFound, "TASK_NOT_FOUND"},
			{"localstack/get.json", http.StatusNotFound, "TASK_NOT_FOUND"},
			{"apigw/result.json", http.StatusNotFound, "TASK_NOT_FOUND"},
			{"apigw/get-forged-token.json", http.StatusUnauthorized, "UNAUTHENTICATED"},
			{"apigw/unknown-path.json", http.StatusNotFound, "*"},
			{"apigw/put-task.json", http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED"},
		},
		"ListFunction": {
			{"apigw/list.json", http.StatusOK, ""},
			{"localstack/list.json", http.StatusOK, ""},
			{"apigw/list-bad-limit.json", http.StatusBadRequest, "INVALID_PARAMETER"},
			{"apigw/task-types.json", http.StatusOK, ""},
			{"apigw/schema-task.json", http.StatusOK, ""},
		},
		"RetryFunction": {
			{"apigw/retry.json", http.StatusNotFound, "TASK_NOT_FOUND"},
			{"apigw/retry-patch.json", http.StatusNotFound, "TASK_NOT_FOUND"},
		},
		"CancelFunction": {
			{"apigw/cancel.json", http.StatusNotFound, "TASK_NOT_FOUND"},
			{"apigw/cancel-post.json", http.StatusNotFound, "TASK_NOT_FOUND"},
		},
	}
	for _, id := range template.FunctionIDs(s.tpl) {
		t.Run(id, func(t *testing.T) {
			t.Parallel()
			switch id {
			case "WorkerFunction", "DeadLetterFunction":
				// The samples name a task that does not exist: acknowledged, no failure.
				var ev events.SQSEvent
				readEvent(t, map[string]string{"WorkerFunction": "localstack/worker.json", "DeadLetterFunction": "localstack/deadletter.json"}[id], "", &ev)
				var resp events.SQSEventResponse
				s.function(t, id).invoke(t, ev, &resp)
				if len(resp.BatchItemFailures) != 0 {
					t.Errorf("batch item failures %+v for a message of an unknown task", resp.BatchItemFailures)
				}
			case "PublishFunction":
				testPublishBootstrap(t, s) // events_test.go
			case "WebhookFunction":
				testWebhookBootstrap(t, s) // webhooks_test.go
			case "IntakeFunction":
				testIntakeBootstrap(t, s) // webhooks_test.go
			default:
				cases, ok := samples[id]
				if !ok {
					t.Fatalf("no sample events for %s: add them to samples", id)
				}
				for _, c := range cases {
					ev := apiEvent(t, c.event, unknown)
					if got := apiFunction(t, ev); got != id {
						t.Fatalf("%s is routed to %s, not %s", c.event, got, id)
					}
					resp := s.call(t, ev)
					checkAnswer(t, c, resp)
				}
			}
		})
	}
}

func checkAnswer(t *testing.T, c answer, resp events.APIGatewayV2HTTPResponse) {
	t.Helper()
	if resp.StatusCode != c.status {
		t.Errorf("%s: status %d, want %d; body %s", c.event, resp.StatusCode, c.status, resp.Body)
		return
	}
	if c.errorCode == "" {
		return
	}
	if ct := resp.Headers["Content-Type"]; ct != "application/problem+json" {
		t.Errorf("%s: Content-Type %q, want application/problem+json", c.event, ct)
	}
	var p struct {
		ErrorCode string `json:"errorCode"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &p); err != nil || p.ErrorCode == "" || c.errorCode != "*" && p.ErrorCode != c.errorCode {
		t.Errorf("%s: errorCode %q (%v), want %s; body %s", c.event, p.ErrorCode, err, c.errorCode, resp.Body)
	}
}

// TestFlows drives tasks through the bootstraps alone, each flow on its own stack (its own
// table and queues, so that one flow's messages never reach another's worker).
func TestFlows(t *testing.T) {
	t.Parallel()
	t.Run("create, work, get 303", func(t *testing.T) {
		t.Parallel()
		s := newStack(t)
		id := s.create(t)
		for round := 0; ; round++ {
			if round == 10 {
				t.Fatal("the task did not succeed in 10 worker invocations")
			}
			ds := s.receive(t, 2*time.Second)
			if len(ds) == 0 {
				break // no message left: the get below tells
			}
			var resp events.SQSEventResponse
			s.function(t, "WorkerFunction").invoke(t, eventsource.Event(ds, s.queueARN, s.region), &resp)
			if len(resp.BatchItemFailures) != 0 {
				t.Fatalf("worker: batch item failures %+v", resp.BatchItemFailures)
			}
			s.delete(t, ds) // as the event source mapping deletes a batch that succeeded
			if s.status(t, id) == task.Success {
				break
			}
		}
		ev := apiEvent(t, "apigw/get.json", id)
		ev.RawQueryString, ev.QueryStringParameters = "", nil
		resp := s.call(t, ev)
		if resp.StatusCode != http.StatusSeeOther || !strings.HasSuffix(resp.Headers["Location"], "/v1/tasks/"+id+"/result") {
			t.Fatalf("get: %d, Location %q, want 303 to the result; body %s", resp.StatusCode, resp.Headers["Location"], resp.Body)
		}
		if r := s.call(t, apiEvent(t, "apigw/result.json", id)); r.StatusCode != http.StatusOK {
			t.Errorf("result: %d %s", r.StatusCode, r.Body)
		}
	})
	t.Run("list pages with the template's marker secret", func(t *testing.T) {
		t.Parallel()
		s := newStack(t)
		s.create(t)
		s.create(t)
		ev := apiEvent(t, "apigw/list.json", "")
		ev.RawQueryString, ev.QueryStringParameters = "limit=1", map[string]string{"limit": "1"}
		resp := s.call(t, ev)
		var page struct {
			Items []any  `json:"tasks"`
			Next  string `json:"next"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &page); err != nil || resp.StatusCode != http.StatusOK || len(page.Items) != 1 || page.Next == "" {
			t.Fatalf("list limit=1: %d %s (%v); want one item and next", resp.StatusCode, resp.Body, err)
		}
		_, query, _ := strings.Cut(page.Next, "?")
		ev.RawQueryString = query
		ev.QueryStringParameters = map[string]string{}
		for _, kv := range strings.Split(query, "&") {
			k, v, _ := strings.Cut(kv, "=")
			ev.QueryStringParameters[k] = unescape(t, v)
		}
		if resp := s.call(t, ev); resp.StatusCode != http.StatusOK || !strings.Contains(resp.Body, `"tasks":[{`) {
			t.Fatalf("list next page: %d %s", resp.StatusCode, resp.Body)
		}
	})
	t.Run("list by updatedAt from the opt-in indexes", func(t *testing.T) {
		// With UpdatedAtIndex=true the list bootstrap reads byUpdated for a tenant's list, with
		// AdminUpdatedAtIndex=true allUpdated for an admin's (UPDATED_AT_INDEX and
		// ADMIN_UPDATED_AT_INDEX at its start-up). A task whose u is removed, so absent from
		// both, tells: an index lists the other two, a read of every candidate (the default)
		// all three.
		t.Parallel()
		for _, c := range []struct {
			param, on, auth string
			want            int
		}{
			{"UpdatedAtIndex", "true", "", 2},
			{"UpdatedAtIndex", "false", "", 3},
			{"AdminUpdatedAtIndex", "true", "Bearer {{token:tenant-ops:admin}}", 2},
			{"AdminUpdatedAtIndex", "false", "Bearer {{token:tenant-ops:admin}}", 3},
		} {
			s := newStackWith(t, map[string]string{c.param: c.on})
			s.create(t)
			s.create(t)
			hidden := s.create(t)
			stored, err := dynamostore.New(s.ddb, s.table).Get(t.Context(), hidden, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			item, err := dynamostore.TaskItem(stored)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.ddb.UpdateItem(t.Context(), &dynamodb.UpdateItemInput{
				TableName: aws.String(s.table), Key: map[string]types.AttributeValue{"pk": item["pk"], "sk": item["sk"]},
				UpdateExpression: aws.String("REMOVE u"),
			}); err != nil {
				t.Fatal(err)
			}
			ev := apiEvent(t, "apigw/list.json", "")
			ev.RawQueryString, ev.QueryStringParameters = "sort_key=updatedAt", map[string]string{"sort_key": "updatedAt"}
			if c.auth != "" {
				ev.Headers["authorization"] = c.auth
			}
			resp := s.call(t, ev)
			var page struct {
				Tasks []struct {
					ID string `json:"id"`
				} `json:"tasks"`
			}
			if err := json.Unmarshal([]byte(resp.Body), &page); err != nil || resp.StatusCode != http.StatusOK || len(page.Tasks) != c.want {
				t.Errorf("%s=%s: list by updatedAt %d %s (%v); want %d tasks", c.param, c.on, resp.StatusCode, resp.Body, err, c.want)
			}
		}
	})
	t.Run("service task driven through the callback bootstrap", func(t *testing.T) {
		t.Parallel()
		s := newStack(t)
		resp := s.call(t, apiEvent(t, "apigw/create-service-task.json", ""))
		var created struct {
			ID       string `json:"id"`
			SubTasks []struct {
				Callback *struct {
					URL string `json:"url"`
				} `json:"callback"`
			} `json:"subTasks"`
		}
		if err := json.Unmarshal([]byte(resp.Body), &created); err != nil || resp.StatusCode != http.StatusAccepted || created.SubTasks[0].Callback == nil {
			t.Fatalf("create: %d %s (%v)", resp.StatusCode, resp.Body, err)
		}
		report := func(url, body string) events.APIGatewayV2HTTPResponse {
			t.Helper()
			ev := apiEvent(t, "apigw/callback.json", strings.TrimPrefix(url, "/v1/callbacks/"))
			ev.Body = body
			return s.call(t, ev)
		}
		// The create's token opens in the callback function: the template gives both the
		// same MARKER_SECRET.
		r := report(created.SubTasks[0].Callback.URL, `{"action":"succeed","output":{"snapshot":"snap-1"}}`)
		var ans struct {
			Status       string `json:"status"`
			NextCallback *struct {
				URL string `json:"url"`
			} `json:"nextCallback"`
		}
		if err := json.Unmarshal([]byte(r.Body), &ans); err != nil || r.StatusCode != http.StatusOK || ans.Status != "success" || ans.NextCallback == nil {
			t.Fatalf("succeed: %d %s (%v)", r.StatusCode, r.Body, err)
		}
		if r := report(created.SubTasks[0].Callback.URL, `{"action":"fail","error":{"errorCode":"LATE","message":"too late"}}`); r.StatusCode != http.StatusConflict {
			t.Errorf("another outcome: %d %s, want 409", r.StatusCode, r.Body)
		}
		if r := report(ans.NextCallback.URL, `{"action":"succeed"}`); r.StatusCode != http.StatusOK {
			t.Fatalf("second succeed: %d %s", r.StatusCode, r.Body)
		}
		// The callback function announced the task: the worker bootstrap ends it.
		for round := 0; s.status(t, created.ID) != task.Success; round++ {
			if round == 10 {
				t.Fatalf("the service task did not succeed in 10 worker invocations: %s", s.status(t, created.ID))
			}
			ds := s.receive(t, 2*time.Second)
			if len(ds) == 0 {
				continue
			}
			var resp events.SQSEventResponse
			s.function(t, "WorkerFunction").invoke(t, eventsource.Event(ds, s.queueARN, s.region), &resp)
			s.delete(t, ds)
		}
	})
	t.Run("dead letter fails the task with DELIVERY_FAILED", func(t *testing.T) {
		t.Parallel()
		s := newStack(t)
		id := s.create(t)
		ds := s.receive(t, 5*time.Second)
		if len(ds) != 1 {
			t.Fatalf("work queue: %d messages, want the created task's", len(ds))
		}
		s.delete(t, ds)
		ds[0].ReceiveCount = sqsqueue.MaxReceiveCount // as it arrives after its last failed receive
		var resp events.SQSEventResponse
		s.function(t, "DeadLetterFunction").invoke(t, eventsource.Event(ds, s.dlqARN, s.region), &resp)
		if len(resp.BatchItemFailures) != 0 {
			t.Fatalf("deadletter: batch item failures %+v", resp.BatchItemFailures)
		}
		body := s.get(t, id)
		if body["status"] != string(task.Failure) || !strings.Contains(mustJSON(t, body), "DELIVERY_FAILED") {
			t.Fatalf("after the dead letter the task is %s", mustJSON(t, body))
		}
	})
	t.Run("worker keeps a message ahead of its task, then runs it", func(t *testing.T) {
		t.Parallel()
		s := newStack(t)
		worker := s.function(t, "WorkerFunction") // started first: the wait below is the worker's
		// The announcement of a task whose write has not landed yet (see "No task without a
		// message" in shared/worker): the worker finds no task and sends it again, delayed.
		id := task.NewID(time.Now())
		m := queue.Message{TaskID: id, AnnouncedAt: time.Now().UTC()}
		if err := sqsqueue.New(s.sqs, s.queueURL).Send(context.Background(), m, 0); err != nil {
			t.Fatal(err)
		}
		ds := s.receive(t, 5*time.Second)
		if len(ds) != 1 {
			t.Fatalf("work queue: %d messages, want the announcement", len(ds))
		}
		var resp events.SQSEventResponse
		worker.invoke(t, eventsource.Event(ds, s.queueARN, s.region), &resp)
		if len(resp.BatchItemFailures) != 0 {
			t.Fatalf("worker: batch item failures %+v, want the message acknowledged", resp.BatchItemFailures)
		}
		s.delete(t, ds)
		again := s.receive(t, 5*time.Second)
		if len(again) != 1 {
			t.Fatalf("work queue after the worker: %d messages, want the announcement again", len(again))
		}
		if got, err := queue.Decode(again[0].Body); err != nil || got.TaskID != id || !got.AnnouncedAt.Equal(m.AnnouncedAt) {
			t.Fatalf("the worker sent %q (%v), want %+v again", again[0].Body, err, m)
		}
	})
}

// create creates a new task through the create bootstrap and returns its id (the sample's
// Idempotency-Key removed: each call is another task).
func (s *stack) create(t *testing.T) string {
	t.Helper()
	ev := apiEvent(t, "apigw/create.json", "")
	delete(ev.Headers, "idempotency-key")
	resp := s.call(t, ev)
	var body struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || resp.StatusCode != http.StatusAccepted || body.ID == "" {
		t.Fatalf("create: %d %s (%v)", resp.StatusCode, resp.Body, err)
	}
	return body.ID
}

// get reads a task through the get bootstrap (redirect=false: 200 whatever its status).
func (s *stack) get(t *testing.T, id string) map[string]any {
	t.Helper()
	resp := s.call(t, apiEvent(t, "apigw/get.json", id))
	var body map[string]any
	if err := json.Unmarshal([]byte(resp.Body), &body); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("get %s: %d %s (%v)", id, resp.StatusCode, resp.Body, err)
	}
	return body
}

func (s *stack) status(t *testing.T, id string) task.Status {
	t.Helper()
	st, _ := s.get(t, id)["status"].(string)
	return task.Status(st)
}

// receive takes what the work queue holds, as the event source mapping would.
func (s *stack) receive(t testing.TB, wait time.Duration) []queue.Delivery {
	t.Helper()
	ds, err := sqsqueue.New(s.sqs, s.queueURL).Receive(context.Background(), sqsqueue.MaxBatch, sqsqueue.WorkVisibility, wait)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func (s *stack) delete(t testing.TB, ds []queue.Delivery) {
	t.Helper()
	q := sqsqueue.New(s.sqs, s.queueURL)
	for _, d := range ds {
		if err := q.Delete(context.Background(), d.ReceiptHandle); err != nil {
			t.Fatal(err)
		}
	}
}

func mustJSON(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func unescape(t testing.TB, v string) string {
	t.Helper()
	u, err := url.QueryUnescape(v)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/tasklane/tasklane/shared/app"
	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/awsbackend"
	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/event"
	"github.com/tasklane/tasklane/shared/localrun/eventsource"
	"github.com/tasklane/tasklane/shared/settings"
	"github.com/tasklane/tasklane/shared/sqsqueue"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/webhook"
)

// testSecret is the deployment secret of these tests, in WEBHOOK_SECRET's form.
const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// bundle is a Tasklane on the emulators with a webhook queue and its dead-letter queue
// (setup), and a receiver recording what it is sent.
type bundle struct {
	app      *app.App
	deliver  *webhook.Deliverer
	deadURL  string
	sqs      *sqs.Client
	received *receiver
}

func setup(t *testing.T) *bundle {
	t.Helper()
	cfg := awstest.Config(t, "DYNAMODB", "SQS")
	ctx := context.Background()
	table := awstest.Name("webhook")
	if err := dynamostore.CreateTable(ctx, dynamodb.NewFromConfig(cfg), table); err != nil {
		t.Fatal(err)
	}
	client := sqs.NewFromConfig(cfg)
	qURL, dlqURL, err := sqsqueue.CreateQueues(ctx, client, awstest.Name("webhook"), 5, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	s := settings.Settings{TableName: table, Local: true,
		Webhooks: settings.Webhooks{Secret: testSecret, QueueURL: qURL, DeadLetterURL: dlqURL, Timeout: 2 * time.Second}}
	b, err := awsbackend.Open(cfg, s, settings.Uses{})
	if err != nil {
		t.Fatal(err)
	}
	a := apptest.Build(t, s, b, apptest.Logger(t))
	d := a.Deliverer()
	// Whole seconds, as SQS delays are; the test waits them out.
	d.Schedule = []time.Duration{time.Second, time.Second, time.Second}
	return &bundle{app: a, deliver: d, deadURL: dlqURL, sqs: client, received: &receiver{}}
}

// publish publishes the created event of a new task whose callbackUrl is url, through the
// webhook sink, and returns it.
func (b *bundle) publish(t *testing.T, url string) event.Event {
	t.Helper()
	now := time.Now().UTC()
	tk := task.Task{ID: task.NewID(now), Type: "demo", Owner: "tenant-a", Status: task.Pending, CallbackURL: url,
		SubTasks: []task.SubTask{{Name: "Validate", Status: task.Pending}}, MaxAttempts: 3, Retention: task.DefaultRetention,
		CreatedAt: now, UpdatedAt: now, Version: 1}
	evs := event.Of(nil, tk)
	if err := b.app.WebhookSink().Publish(context.Background(), evs); err != nil {
		t.Fatal(err)
	}
	return evs[0]
}

// deliverUntil runs the delivery worker on the webhook queue as the event source mapping
// does until done holds, or fails the test after 30 s.
func (b *bundle) deliverUntil(t *testing.T, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("after 30 s: not %s", what)
		}
		_, err := eventsource.Drain(context.Background(), b.app.Webhooks, b.deliver.Handle,
			eventsource.Options{Wait: 200 * time.Millisecond, Visibility: 10 * time.Second, Log: apptest.QuietLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// deadLetters are the messages on the webhook dead-letter queue.
func (b *bundle) deadLetters(t *testing.T) []webhook.Message {
	t.Helper()
	out, err := b.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(b.deadURL), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	var ms []webhook.Message
	for _, m := range out.Messages {
		d, err := webhook.DecodeMessage(aws.ToString(m.Body))
		if err != nil {
			t.Fatal(err)
		}
		ms = append(ms, d)
	}
	return ms
}

// receiver is a webhook endpoint answering each request with the next of its statuses (the
// last one from then on), recording the requests.
type receiver struct {
	mu       sync.Mutex
	statuses []int
	reqs     []received
}

type received struct {
	header http.Header
	body   []byte
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	status := r.statuses[min(len(r.reqs), len(r.statuses)-1)]
	r.reqs = append(r.reqs, received{header: req.Header.Clone(), body: body})
	w.WriteHeader(status)
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.reqs...)
}

func (b *bundle) serve(t *testing.T, statuses ...int) string {
	b.received.statuses = statuses
	srv := httptest.NewServer(b.received)
	t.Cleanup(srv.Close)
	return srv.URL + "/hooks/tasklane"
}

// TestRetriedThrough500s: a receiver failing with 500 twice gets the event a third time and
// takes it; every attempt carries the event's id and a valid signature of its timestamp.
func TestRetriedThrough500s(t *testing.T) {
	t.Parallel()
	b := setup(t)
	url := b.serve(t, 500, 503, 200)
	ev := b.publish(t, url)
	b.deliverUntil(t, "delivered on the third attempt", func() bool { return len(b.received.requests()) >= 3 })
	b.deliverUntil(t, "the queue drained", func() bool { return true })
	reqs := b.received.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	want, _ := json.Marshal(ev)
	for i, r := range reqs {
		if id := r.header.Get("webhook-id"); id != ev.ID {
			t.Errorf("attempt %d: webhook-id %q, want the event id %q", i+1, id, ev.ID)
		}
		if string(r.body) != string(want) {
			t.Errorf("attempt %d: body\n%s\nwant the event\n%s", i+1, r.body, want)
		}
		if err := verifyFromSpec(testSecret, r.header, r.body, time.Now()); err != "" {
			t.Errorf("attempt %d: %s", i+1, err)
		}
		verifyWithReference(t, testSecret, r.header, r.body)
	}
	if dl := b.deadLetters(t); len(dl) != 0 {
		t.Errorf("dead letters %+v", dl)
	}
}

// TestClosedPortGivesUp: a receiver that never listens (a closed port) is tried once and
// then on each wait of the schedule, and the delivery ends on the dead-letter queue saying
// why.
func TestClosedPortGivesUp(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String() + "/hooks"
	ln.Close()
	ev := b.publish(t, url)
	var dl []webhook.Message
	b.deliverUntil(t, "given up", func() bool { dl = append(dl, b.deadLetters(t)...); return len(dl) > 0 })
	if len(dl) != 1 || dl[0].ID != ev.ID || dl[0].Attempts != 1+len(b.deliver.Schedule) || !strings.Contains(dl[0].LastError, "refused") {
		t.Errorf("dead letters %+v, want the event after %d attempts, refused", dl, 1+len(b.deliver.Schedule))
	}
}

// TestGoneStops: a 410 ends the delivery at once, and the URL gets no later delivery, also
// from another sandbox (a fresh deliverer, which reads the table).
func TestGoneStops(t *testing.T) {
	t.Parallel()
	b := setup(t)
	url := b.serve(t, http.StatusGone, 200)
	b.publish(t, url)
	b.deliverUntil(t, "attempted", func() bool { return len(b.received.requests()) == 1 })
	b.deliverUntil(t, "the queue drained", func() bool { return true })
	b.deliver = b.app.Deliverer() // no memory of the 410
	b.publish(t, url)
	b.deliverUntil(t, "the queue drained", func() bool { return true })
	if n := len(b.received.requests()); n != 1 {
		t.Errorf("%d requests; after the 410 there should be none", n)
	}
	if dl := b.deadLetters(t); len(dl) != 0 {
		t.Errorf("dead letters %+v", dl)
	}
	if gone, err := b.app.Gone.Gone(context.Background(), url); err != nil || !gone {
		t.Errorf("Gone(%s) = %t, %v", url, gone, err)
	}
}

// TestSignatureRefusesTampering: the verifications of these tests can fail: a changed body,
// id or secret is refused by both.
func TestSignatureRefusesTampering(t *testing.T) {
	t.Parallel()
	sec, err := webhook.ParseSecret(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	body := []byte(`{"id":"1"}`)
	h := http.Header{}
	for k, v := range sec.SignedHeaders("msg_1", now, body) {
		h.Set(k, v)
	}
	if err := verifyFromSpec(testSecret, h, body, now); err != "" {
		t.Fatalf("good signature refused: %s", err)
	}
	verifyWithReference(t, testSecret, h, body)
	if verifyFromSpec(testSecret, h, []byte(`{"id":"2"}`), now) == "" {
		t.Error("a changed body passed")
	}
	if verifyFromSpec("whsec_"+base64.StdEncoding.EncodeToString(make([]byte, 24)), h, body, now) == "" {
		t.Error("another secret passed")
	}
	if referencePython(t) != "" && runReference(t, testSecret, h, []byte(`{"id":"2"}`)) == nil {
		t.Error("the reference library accepted a changed body")
	}
}

// verifyFromSpec verifies a delivery as the Standard Webhooks specification describes it,
// written here from its text rather than through the package: the secret is the base64
// after "whsec_"; the signed content is "{webhook-id}.{webhook-timestamp}.{body}"; the
// signature is HMAC-SHA256 under the key, base64, as "v1,<sig>" among space-delimited
// signatures; the timestamp must be within five minutes of now. It returns what is wrong.
func verifyFromSpec(secret string, h http.Header, body []byte, now time.Time) string {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return "secret: " + err.Error()
	}
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return "missing webhook-id, webhook-timestamp or webhook-signature"
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "webhook-timestamp is not integer seconds"
	}
	if d := now.Sub(time.Unix(sec, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return "webhook-timestamp outside the tolerance"
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "." + string(body)))
	want := mac.Sum(nil)
	for _, s := range strings.Split(sigs, " ") {
		version, sig, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return ""
		}
	}
	return "no v1 signature matches"
}

// referencePython is the Python with the standardwebhooks reference library (the emulators'
// virtualenv, which infra/emulators.sh installs it into and names in TASKLANE_PYTHON).
func referencePython(t *testing.T) string {
	py := os.Getenv("TASKLANE_PYTHON")
	if py == "" && os.Getenv("CI") == "true" {
		t.Fatal("TASKLANE_PYTHON is not set: infra/emulators.sh installs the standardwebhooks library and sets it")
	}
	return py
}

// verifyWithReference verifies a delivery with the standardwebhooks library (PyPI), the
// specification's reference implementation; without its Python (outside CI) it is skipped
// with a log line, the spec's own verification having run.
func verifyWithReference(t *testing.T, secret string, h http.Header, body []byte) {
	t.Helper()
	if referencePython(t) == "" {
		t.Log("TASKLANE_PYTHON unset: the reference library's check is skipped (run under `make test`)")
		return
	}
	if err := runReference(t, secret, h, body); err != nil {
		t.Errorf("standardwebhooks refused the delivery: %v", err)
	}
}

const referenceScript = `
import json, sys
from standardwebhooks import Webhook
d = json.load(sys.stdin)
Webhook(d["secret"]).verify(d["body"], d["headers"])
`

func runReference(t *testing.T, secret string, h http.Header, body []byte) error {
	t.Helper()
	in, _ := json.Marshal(map[string]any{"secret": secret, "body": string(body), "headers": map[string]string{
		"webhook-id": h.Get("webhook-id"), "webhook-timestamp": h.Get("webhook-timestamp"), "webhook-signature": h.Get("webhook-signature")}})
	cmd := exec.Command(referencePython(t), "-c", referenceScript)
	cmd.Stdin = strings.NewReader(string(in))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return &refError{string(out)}
	}
	return nil
}

type refError struct{ out string }

func (e *refError) Error() string { return strings.TrimSpace(e.out) }

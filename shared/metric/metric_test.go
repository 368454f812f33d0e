package metric_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tasklane/tasklane/shared/metric"
)

// bundle is what a test of the package works with: a Recorder writing to a buffer at a
// fixed time, and the EMF schema to check what it wrote.
type bundle struct {
	out    *bytes.Buffer
	rec    *metric.Recorder
	schema *jsonschema.Schema
}

var at = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func setup(t *testing.T) *bundle {
	t.Helper()
	f, err := os.Open("testdata/emf.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("emf.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("emf.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	out := &bytes.Buffer{}
	return &bundle{out: out, rec: metric.New(out, func() time.Time { return at }), schema: s}
}

// docs returns the lines written so far, each checked against the EMF specification.
func (b *bundle) docs(t *testing.T) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(b.out.Bytes()))
	for sc.Scan() {
		if err := b.conform(sc.Bytes()); err != nil {
			t.Errorf("%v\n%s", err, sc.Bytes())
		}
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// conform checks one line against the EMF specification: the schema, and what a schema
// cannot say (each dimension a string member of the root, each metric a number or an
// array of at most 100 numbers at the root).
func (b *bundle) conform(line []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
	if err != nil {
		return err
	}
	if err := b.schema.Validate(inst); err != nil {
		return err
	}
	var doc map[string]any
	if err := json.Unmarshal(line, &doc); err != nil {
		return err
	}
	for _, d := range doc["_aws"].(map[string]any)["CloudWatchMetrics"].([]any) {
		dir := d.(map[string]any)
		for _, set := range dir["Dimensions"].([]any) {
			for _, name := range set.([]any) {
				if _, ok := doc[name.(string)].(string); !ok {
					return fmt.Errorf("dimension %v is not a string member of the document", name)
				}
			}
		}
		for _, m := range dir["Metrics"].([]any) {
			name := m.(map[string]any)["Name"].(string)
			switch v := doc[name].(type) {
			case float64:
			case []any:
				if len(v) > 100 {
					return fmt.Errorf("metric %s has %d values, more than 100", name, len(v))
				}
				for _, e := range v {
					if _, ok := e.(float64); !ok {
						return fmt.Errorf("metric %s has a value %v that is no number", name, e)
					}
				}
			default:
				return fmt.Errorf("metric %s is not a number member of the document: %v", name, doc[name])
			}
		}
	}
	return nil
}

// TestRecordIsEMF: a document names its namespace, dimension set and metrics with units,
// and carries their values at the root.
func TestRecordIsEMF(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.rec.Record(map[string]string{"Type": "demo", "Status": "success"}, metric.Value{Name: metric.TasksFinished, Unit: metric.Count, Value: 1})
	b.rec.QueueAge(90 * time.Second)
	got := b.docs(t)
	want := []map[string]any{
		{"Type": "demo", "Status": "success", "TasksFinished": 1.0, "_aws": map[string]any{
			"Timestamp": float64(at.UnixMilli()),
			"CloudWatchMetrics": []any{map[string]any{"Namespace": "Tasklane",
				"Dimensions": []any{[]any{"Status", "Type"}}, "Metrics": []any{map[string]any{"Name": "TasksFinished", "Unit": "Count"}}}},
		}},
		{"OldestMessageAge": 90.0, "_aws": map[string]any{
			"Timestamp": float64(at.UnixMilli()),
			"CloudWatchMetrics": []any{map[string]any{"Namespace": "Tasklane",
				"Dimensions": []any{[]any{}}, "Metrics": []any{map[string]any{"Name": "OldestMessageAge", "Unit": "Seconds"}}}},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("documents (-want +got):\n%s", diff)
	}
	if n := strings.Count(b.out.String(), "\n"); n != 2 {
		t.Errorf("%d lines, want one a document", n)
	}
}

// TestConformCanFail: documents that break the specification are refused.
func TestConformCanFail(t *testing.T) {
	t.Parallel()
	b := setup(t)
	good := `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"Tasklane","Dimensions":[["Type"]],"Metrics":[{"Name":"M","Unit":"Count"}]}]},"Type":"demo","M":1}`
	if err := b.conform([]byte(good)); err != nil {
		t.Fatalf("a good document: %v", err)
	}
	for name, bad := range map[string][2]string{
		"no _aws":             {`"_aws"`, `"aws"`},
		"a unit EMF lacks":    {`"Unit":"Count"`, `"Unit":"Things"`},
		"timestamp as string": {`"Timestamp":1`, `"Timestamp":"1"`},
		"dimension missing":   {`"Type":"demo",`, ``},
		"dimension a number":  {`"Type":"demo"`, `"Type":7`},
		"metric missing":      {`,"M":1`, ``},
		"metric a string":     {`"M":1`, `"M":"1"`},
		"no namespace":        {`"Namespace":"Tasklane",`, ``},
		"dimensions flat":     {`"Dimensions":[["Type"]]`, `"Dimensions":["Type"]`},
	} {
		doc := strings.Replace(good, bad[0], bad[1], 1)
		if doc == good {
			t.Fatalf("%s: no change", name)
		}
		if b.conform([]byte(doc)) == nil {
			t.Errorf("%s: accepted %s", name, doc)
		}
	}
}

// TestNilRecorder: a nil Recorder records nothing and does not panic.
func TestNilRecorder(t *testing.T) {
	t.Parallel()
	var r *metric.Recorder
	r.WebhookFailure("timeout")
	r.EventFailure("throttled")
	r.MessagesFailed(2)
}

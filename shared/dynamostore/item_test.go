package dynamostore

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tasklane/tasklane/shared/tasktest"
)

// TestDocNotHTMLEscaped: '<', '>' and '&' are stored as themselves, not as six-byte \u
// escapes that would grow an item toward DynamoDB's 400 KB limit; a doc written escaped (by
// earlier releases) still decodes to the same task.
func TestDocNotHTMLEscaped(t *testing.T) {
	t.Parallel()
	tk := tasktest.New(t, "o", tasktest.TypeAlpha, tasktest.At(0))
	tk.Name = "<a href='x'>&amp;</a>"
	item, err := taskItem(tk)
	if err != nil {
		t.Fatal(err)
	}
	doc := stringAttr(item, attrDoc)
	if strings.Contains(doc, `\u003c`) || strings.Contains(doc, `\u0026`) || !strings.Contains(doc, tk.Name) {
		t.Errorf("doc is HTML-escaped: %s", doc)
	}
	if strings.HasSuffix(doc, "\n") {
		t.Error("doc ends in a newline")
	}
	got, err := itemTask(item)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := asJSON(t, got), asJSON(t, tk); a != b {
		t.Errorf("decoded %s\nwant    %s", a, b)
	}

	doc2 := tk
	doc2.Input, doc2.Result = nil, nil
	escaped, err := json.Marshal(doc2) // HTML-escaped, as earlier releases wrote it
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(escaped), `\u003c`) {
		t.Fatalf("json.Marshal did not escape: %s", escaped)
	}
	item[attrDoc] = str(string(escaped))
	if got, err = itemTask(item); err != nil {
		t.Fatal(err)
	}
	if a, b := asJSON(t, got), asJSON(t, tk); a != b {
		t.Errorf("decoded escaped doc %s\nwant %s", a, b)
	}
}

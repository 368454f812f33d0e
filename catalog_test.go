package tasklane_test

import (
	"bytes"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tasklane/tasklane"
	"github.com/tasklane/tasklane/shared/catalog"
	"github.com/tasklane/tasklane/shared/tasktypes"
)

// TestCatalogIsValid is CI's check of tasktypes.json: it matches its schema, checked here by
// a second, independent validator (santhosh-tekuri/jsonschema, whose errors name the exact
// place in the file; the functions use google/jsonschema-go, see shared/catalog), and it
// passes every further rule and registers beside the Go types, as each function's start-up
// will require.
func TestCatalogIsValid(t *testing.T) {
	t.Parallel()
	c := jsonschema.NewCompiler()
	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(catalog.Schema))
	if err != nil {
		t.Fatal(err)
	}
	const url = "https://tasklane.invalid/schemas/catalog.schema.json"
	if err := c.AddResource(url, schemaDoc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("catalog.schema.json: %v", err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(tasklane.Catalog))
	if err != nil {
		t.Fatalf("tasktypes.json: %v", err)
	}
	if err := s.Validate(doc); err != nil {
		t.Fatalf("tasktypes.json: %v", err)
	}
	if _, err := catalog.Parse(tasklane.Catalog, catalog.Runtime{}); err != nil {
		t.Fatalf("tasktypes.json: %v", err)
	}
	if _, err := tasktypes.Registry(); err != nil {
		t.Fatalf("registry: %v", err)
	}
}

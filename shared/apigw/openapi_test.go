package apigw_test

import (
	"bytes"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi/datamodel"

	"github.com/tasklane/tasklane/shared/apigw"
)

// update rewrites testdata/golden/openapi.json from the document the code builds, in the
// manner of pkgsite's openapi_test.go: `go test ./shared/apigw -run OpenAPI -update`.
var update = flag.Bool("update", false, "rewrite testdata/golden/openapi.json")

const golden = "testdata/golden/openapi.json"

// TestOpenAPIGolden: the served document is the reviewed one. A change to the route table,
// the parameter table, a served schema or the operations shows here as a diff to accept
// with -update.
func TestOpenAPIGolden(t *testing.T) {
	t.Parallel()
	doc, err := apigw.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(golden, doc, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(doc)); diff != "" {
		t.Errorf("the OpenAPI document differs from %s (-golden +built); if the change is meant, run with -update:\n%s", golden, diff)
	}
}

// TestOpenAPIValid: the document is OpenAPI 3.1 as libopenapi reads it (the model builds,
// every reference resolves) and it passes libopenapi-validator's check against the
// OpenAPI 3.1 meta-schema.
func TestOpenAPIValid(t *testing.T) {
	t.Parallel()
	raw, err := apigw.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range openAPIProblems(raw) {
		t.Error(err)
	}
}

// TestOpenAPIValidatorCanFail: documents broken in ways the validation must see are refused.
func TestOpenAPIValidatorCanFail(t *testing.T) {
	t.Parallel()
	raw, err := apigw.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	for name, edit := range map[string][2]string{
		"dangling reference": {`"#/components/schemas/Task"`, `"#/components/schemas/Nope"`},
		"bad version":        {`"openapi": "3.1.0"`, `"openapi": 3`},
		"bad status key":     {`"202": {`, `"two-oh-two": {`},
		"parameter location": {`"in": "header"`, `"in": "body"`},
	} {
		if !bytes.Contains(raw, []byte(edit[0])) {
			t.Fatalf("%s: the document lacks %s", name, edit[0])
		}
		broken := bytes.Replace(raw, []byte(edit[0]), []byte(edit[1]), 1)
		if len(openAPIProblems(broken)) == 0 {
			t.Errorf("%s: accepted", name)
		}
	}
}

func openAPIProblems(raw []byte) []error {
	// The broken documents of TestOpenAPIValidatorCanFail would log; the errors say it all.
	cfg := datamodel.NewDocumentConfiguration()
	cfg.Logger = slog.New(slog.DiscardHandler)
	doc, err := libopenapi.NewDocumentWithConfiguration(raw, cfg)
	if err != nil {
		return []error{err}
	}
	if doc.GetSpecInfo().SpecType != "openapi" || doc.GetVersion() != "3.1.0" {
		return []error{fmt.Errorf("spec %s %s, want openapi 3.1.0", doc.GetSpecInfo().SpecType, doc.GetVersion())}
	}
	var out []error
	if _, err := doc.BuildV3Model(); err != nil {
		out = append(out, err)
	}
	v, errs := validator.NewValidator(doc)
	out = append(out, errs...)
	if v != nil {
		if ok, verrs := v.ValidateDocument(); !ok {
			for _, e := range verrs {
				out = append(out, e)
			}
			if len(verrs) == 0 {
				out = append(out, fmt.Errorf("invalid"))
			}
		}
	}
	return out
}

package tasklane_test

import (
	"testing"

	"github.com/tasklane/tasklane"
	"github.com/tasklane/tasklane/shared/catalog"
	"github.com/tasklane/tasklane/shared/tasktypes"
)

// TestCatalogIsValid is CI's check of tasktypes.json: the catalog a deployer edited parses
// against its schema and every further rule, and registers beside the Go types, as every
// function's start-up will require.
func TestCatalogIsValid(t *testing.T) {
	t.Parallel()
	if _, err := catalog.Parse(tasklane.Catalog, catalog.Runtime{}); err != nil {
		t.Fatalf("tasktypes.json: %v", err)
	}
	if _, err := tasktypes.Registry(); err != nil {
		t.Fatalf("registry: %v", err)
	}
}

package apptest_test

import (
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/settings"
)

func TestOpenEmbedded(t *testing.T) {
	deps := apptest.OpenEmbedded(t, func(c *settings.Settings) { c.BackoffBase = time.Millisecond })
	if deps.Settings.BackoffBase != time.Millisecond || string(deps.Settings.MarkerSecret) != apptest.MarkerSecret {
		t.Errorf("settings %+v", deps.Settings)
	}
	deps.Log.Debug("logged to t.Log")
}

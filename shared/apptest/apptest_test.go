package apptest_test

import (
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/apptest"
	"github.com/tasklane/tasklane/shared/settings"
)

func TestClockAdvances(t *testing.T) {
	var c apptest.Clock // the zero value is real time
	if d := time.Until(c.Now()); d < -time.Second || d > time.Second {
		t.Fatalf("zero Clock is %v off real time", d)
	}
	if loc := c.Now().Location(); loc != time.UTC {
		t.Errorf("Now is in %v, want UTC", loc)
	}
	c.Advance(time.Hour)
	c.Advance(30 * time.Minute)
	if d := time.Until(c.Now()); d < 90*time.Minute-time.Second || d > 90*time.Minute+time.Second {
		t.Fatalf("after advancing 90m the clock is %v ahead", d)
	}
}

func TestOpenEmbedded(t *testing.T) {
	deps := apptest.OpenEmbedded(t, func(c *settings.Settings) { c.BackoffBase = time.Millisecond })
	if deps.Settings.BackoffBase != time.Millisecond || string(deps.Settings.MarkerSecret) != apptest.MarkerSecret {
		t.Errorf("settings %+v", deps.Settings)
	}
	deps.Log.Debug("logged to t.Log")
}

package configtest_test

import (
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/config"
	"github.com/tasklane/tasklane/shared/configtest"
)

func TestClockAdvances(t *testing.T) {
	var c configtest.Clock // the zero value is real time
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
	deps := configtest.OpenEmbedded(t, func(c *config.Config) { c.BackoffBase = time.Millisecond })
	if deps.Config.BackoffBase != time.Millisecond || string(deps.Config.MarkerSecret) != configtest.MarkerSecret {
		t.Errorf("config %+v", deps.Config)
	}
	deps.Log.Debug("logged to t.Log")
}

package tasktest_test

import (
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/tasktest"
)

func TestRealClockAdvances(t *testing.T) {
	c := tasktest.RealClock()
	if d := time.Until(c.Now()); d < -time.Second || d > time.Second {
		t.Fatalf("RealClock is %v off real time", d)
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

func TestClockStandsAtBase(t *testing.T) {
	var c tasktest.Clock
	if got := c.Now(); !got.Equal(tasktest.Base) {
		t.Fatalf("zero Clock at %v, want Base %v", got, tasktest.Base)
	}
	c.Advance(time.Minute)
	if got := c.Now(); !got.Equal(tasktest.Base.Add(time.Minute)) {
		t.Fatalf("after a minute the clock is at %v", got)
	}
}

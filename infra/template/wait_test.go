package template

import (
	"time"

	"github.com/tasklane/tasklane/shared/apigw"
)

// checkWait: the get function's Timeout is apigw.GetTimeout (the local runner gives get the
// same), longer than the longest Prefer: wait and within API Gateway's 30 s.
func checkWait(p *project) problems {
	var ps problems
	got := time.Duration(p.timeout("GetFunction")) * time.Second
	if got != apigw.GetTimeout {
		ps.add("GetFunction Timeout is %v, apigw.GetTimeout %v", got, apigw.GetTimeout)
	}
	if got <= apigw.MaxWait || got > 30*time.Second {
		ps.add("GetFunction Timeout %v must exceed apigw.MaxWait %v and stay within API Gateway's 30 s", got, apigw.MaxWait)
	}
	return ps
}

package callbackurl_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tasklane/tasklane/shared/callbackurl"
)

// TestCheckURL: what a create accepts as a callbackUrl, deployed and locally.
func TestCheckURL(t *testing.T) {
	t.Parallel()
	cases := []struct {
		url             string
		deployed, local bool // accepted?
	}{
		{"https://hooks.example.com/tasklane", true, true},
		{"https://hooks.example.com:8443/a?b=c", true, true},
		{"https://93.184.215.14/hook", true, true},
		{"https://[2606:4700::1111]/hook", true, true},
		{"http://hooks.example.com/tasklane", false, false},
		{"http://127.0.0.1:9000/hook", false, true},
		{"http://localhost:9000/hook", false, true},
		{"http://[::1]:9000/hook", false, true},
		{"http://10.0.0.5/hook", false, false},
		{"https://127.0.0.1/hook", false, true},
		{"https://localhost/hook", false, true},
		{"https://api.localhost/hook", false, true},
		{"https://10.1.2.3/hook", false, true},
		{"https://172.16.0.1/hook", false, true},
		{"https://192.168.1.1/hook", false, true},
		{"https://169.254.169.254/latest/meta-data/", false, true},
		{"https://0.0.0.0/hook", false, true},
		{"https://[::]/hook", false, true},
		{"https://[fe80::1]/hook", false, true},
		{"https://[fd00:ec2::254]/hook", false, true},
		{"https://[::ffff:10.0.0.1]/hook", false, true},
		{"https://100.64.0.1/hook", false, true},
		{"https://user:pw@hooks.example.com/", false, false},
		{"ftp://hooks.example.com/", false, false},
		{"hooks.example.com/hook", false, false},
		{"/relative", false, false},
		{"https://hooks.example.com/a b", false, false},
		{`https://hooks.example.com/"x"`, false, false},
		{`https://hooks.example.com/\x`, false, false},
		{"https://hooks.example.com/é", false, false},
		{"https://hooks.example.com/%C3%A9", true, true},
		{"https://", false, false},
		{"https://hooks.example.com/" + string(make([]byte, callbackurl.MaxURLLength)), false, false},
	}
	for _, c := range cases {
		if got := callbackurl.CheckURL(c.url, false) == nil; got != c.deployed {
			t.Errorf("deployed CheckURL(%q) accepted %t, want %t", c.url, got, c.deployed)
		}
		if got := callbackurl.CheckURL(c.url, true) == nil; got != c.local {
			t.Errorf("local CheckURL(%q) accepted %t, want %t", c.url, got, c.local)
		}
	}
}

// TestControlRefusesResolvedPrivateAddress: a name that resolves to loopback (here
// "localhost", as a rebound name would) is refused at the dial, deployed; locally it is
// dialled.
func TestControlRefusesResolvedPrivateAddress(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	get := func(local bool) error {
		d := &net.Dialer{Timeout: time.Second, Control: callbackurl.Control(local)}
		c := &http.Client{Transport: &http.Transport{DialContext: d.DialContext}}
		req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://localhost:"+port+"/", nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		return err
	}
	if err := get(false); !errors.Is(err, callbackurl.ErrForbiddenAddress) {
		t.Errorf("deployed dial of localhost: %v, want ErrForbiddenAddress", err)
	}
	if err := get(true); err != nil {
		t.Errorf("local dial of localhost: %v", err)
	}
}

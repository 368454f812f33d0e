package executor

import "testing"

// TestCheckAddress: only public unicast addresses are dialled; loopback only when allowed.
func TestCheckAddress(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		addr          string
		allowLoopback bool
		ok            bool
	}{
		{"93.184.216.34:443", false, true},
		{"[2606:2800:220:1:248:1893:25c8:1946]:443", false, true},
		{"127.0.0.1:80", false, false},
		{"127.0.0.1:80", true, true},
		{"[::1]:80", true, true},
		{"10.0.0.1:80", true, false},
		{"172.16.5.4:80", false, false},
		{"192.168.1.1:80", false, false},
		{"169.254.169.254:80", true, false},
		{"100.64.0.1:80", false, false},
		{"0.0.0.0:80", false, false},
		{"[fd00::1]:80", false, false},
		{"[fe80::1]:80", false, false},
		{"[::ffff:10.0.0.1]:80", false, false},
		{"224.0.0.1:80", false, false},
	} {
		if err := checkAddress(c.addr, c.allowLoopback); (err == nil) != c.ok {
			t.Errorf("checkAddress(%s, loopback %v) = %v, want ok=%v", c.addr, c.allowLoopback, err, c.ok)
		}
	}
}

package template

import (
	"strings"

	"github.com/tasklane/tasklane/shared/metric"
)

// checkDashboard: the template's dashboard shows every metric shared/metric records, in its
// namespace.
func checkDashboard(p *project) problems {
	var ps problems
	raw := mapAt(p.resource("TasklaneDashboard"), "Properties")["DashboardBody"]
	body, _ := raw.(string)
	if sub, ok := raw.(map[string]any); ok { // !Sub
		body, _ = sub["Fn::Sub"].(string)
	}
	if body == "" {
		ps.add("TasklaneDashboard has no DashboardBody")
		return ps
	}
	if !strings.Contains(body, "{"+metric.Namespace+",") {
		ps.add("the dashboard does not search the %s namespace", metric.Namespace)
	}
	for _, n := range metric.Names {
		if !strings.Contains(body, `MetricName=\"`+n+`\"`) && !strings.Contains(body, `"`+metric.Namespace+`", "`+n+`"`) {
			ps.add("the dashboard does not show %s", n)
		}
	}
	return ps
}

package template

import (
	"encoding/json"
	"reflect"

	"github.com/tasklane/tasklane/shared/function"
	"github.com/tasklane/tasklane/shared/webhook"
)

// The webhooks' and the intake's part of the drift test: the rule that feeds the webhook
// queue is webhook.RulePattern with webhook's input transformer, and the intake may put its
// rejections on the bus.
func init() {
	needs[function.Intake] = append(needs[function.Intake], [2]string{"events:PutEvents", "TasklaneEventBus"})
	checks = append(checks, check{"webhooks", checkWebhooks})
}

func checkWebhooks(p *project) problems {
	var ps problems
	rule := mapAt(p.resource("WebhookRule"), "Properties")
	var want, got any
	_ = json.Unmarshal([]byte(webhook.RulePattern), &want)
	got = at(rule, "EventPattern")
	if !reflect.DeepEqual(jsonRound(got), want) {
		ps.add("WebhookRule: EventPattern is %v, webhook.RulePattern is %s", got, webhook.RulePattern)
	}
	targets := listAt(rule, "Targets")
	if len(targets) != 1 || !isGetAtt(at(targets[0], "Arn"), "WebhookQueue", "Arn") {
		ps.add("WebhookRule: wants one target, !GetAtt WebhookQueue.Arn")
		return ps
	}
	if got := strAt(targets[0], "InputTransformer", "InputTemplate"); got != webhook.InputTemplate {
		ps.add("WebhookRule: InputTemplate is %q, webhook.InputTemplate is %q", got, webhook.InputTemplate)
	}
	paths := map[string]string{}
	if m, ok := at(targets[0], "InputTransformer", "InputPathsMap").(map[string]any); ok {
		for k, v := range m {
			s, _ := v.(string)
			paths[k] = s
		}
	}
	if !reflect.DeepEqual(paths, webhook.InputPathsMap) {
		ps.add("WebhookRule: InputPathsMap is %v, webhook.InputPathsMap is %v", paths, webhook.InputPathsMap)
	}
	return ps
}

// jsonRound is v as encoding/json would decode it (YAML's maps and numbers made JSON's).
func jsonRound(v any) any {
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var out any
	_ = json.Unmarshal(b, &out)
	return out
}

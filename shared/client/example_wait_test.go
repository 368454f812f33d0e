package client_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/tasklane/tasklane/shared/client"
)

// Create a task and wait for it: the client of TASKLANE_URL and TASKLANE_TOKEN (locally,
// `make run` and no token), a demo task of three steps, and Wait until its run ends.
func Example() {
	ctx := context.Background()
	c, err := client.FromEnv(client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	created, err := c.Create(ctx, client.CreateRequest{
		Type:  "demo",
		Name:  "Provision web-01",
		Input: json.RawMessage(`{"steps":[{"name":"Validate"},{"name":"Allocate","durationMs":100},{"name":"Configure"}]}`),
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("created:", created.Status)

	done, err := c.Wait(ctx, created.ID, client.WaitOptions{
		Progress: func(t *client.Task) { log.Printf("%s: %d of %d", t.Status, t.Done(), len(t.SubTasks)) },
	})
	if err != nil {
		log.Fatal(err)
	}
	result, err := c.Result(ctx, done.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d of %d steps, result %s\n", done.Status, done.Done(), len(done.SubTasks), result)
	// Output:
	// created: pending
	// success: 3 of 3 steps, result {"steps":3}
}

// A failed task is retried: it starts again from its failed step.
func ExampleClient_Retry() {
	ctx := context.Background()
	c, err := client.FromEnv(client.Options{Token: "dev:example-retry"})
	if err != nil {
		log.Fatal(err)
	}
	created, err := c.Create(ctx, client.CreateRequest{
		Type:  "demo",
		Input: json.RawMessage(`{"steps":[{"name":"Validate"},{"name":"Allocate","failUntilRetry":1}]}`),
	})
	if err != nil {
		log.Fatal(err)
	}
	failed, err := c.Wait(ctx, created.ID, client.WaitOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(failed.Status, failed.Message != "", failed.IsRetryable)

	if _, err := c.Retry(ctx, created.ID); err != nil {
		log.Fatal(err)
	}
	done, err := c.Wait(ctx, created.ID, client.WaitOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(done.Status, "after", done.RetryCount, "retry; Validate ran", done.SubTasks[0].Attempts, "time")
	// Output:
	// failure true true
	// success after 1 retry; Validate ran 1 time
}

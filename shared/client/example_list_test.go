package client_test

import (
	"context"
	"fmt"
	"log"

	"github.com/tasklane/tasklane/shared/client"
)

// List walks every task across pages (here two a page), newest first.
func ExampleClient_List() {
	ctx := context.Background()
	c, err := client.FromEnv(client.Options{Token: "dev:example-list"})
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"web-01", "web-02", "web-03"} {
		if _, err := c.Create(ctx, client.CreateRequest{Type: "demo", Name: name}); err != nil {
			log.Fatal(err)
		}
	}
	for t, err := range c.List(ctx, client.ListOptions{Type: "demo", Limit: 2}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(t.Name)
	}
	// Output:
	// web-03
	// web-02
	// web-01
}

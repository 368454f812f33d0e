package client_test

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/tasklane/tasklane/shared/client"
)

// The API's problems are *client.Error values with the errorCode of the contract.
func ExampleError() {
	c, err := client.FromEnv(client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	_, err = c.Get(context.Background(), "01JDK6Q8W7C2N3X9RT0V5M4B1A")
	var e *client.Error
	if errors.As(err, &e) {
		fmt.Println(e.Status, e.ErrorCode)
	}
	fmt.Println(client.IsCode(err, client.CodeTaskNotFound))
	// Output:
	// 404 TASK_NOT_FOUND
	// true
}

package apigw

import _ "embed"

// The JSON Schemas served at /v1/schemas/task and /v1/schemas/tasks. They live as files so
// that they read as schemas, and are embedded so that each function carries them.
var (
	//go:embed schema/task.json
	taskSchema []byte
	//go:embed schema/tasks.json
	tasksSchema []byte
)

// The schemas of a problem and of a create's body, not served on their own: the OpenAPI
// document (openapi.go) carries them.
var (
	//go:embed schema/problem.json
	problemSchema []byte
	//go:embed schema/create.json
	createSchema []byte
)

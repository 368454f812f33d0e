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

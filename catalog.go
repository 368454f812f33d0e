// Package tasklane holds what a deployer edits at the repository's root and every function
// embeds at build time: the task type catalog, tasktypes.json (read by shared/catalog,
// registered by shared/tasktypes). It is a Go package only because go:embed reaches files in
// or below the embedding package's directory; embedding from here keeps one file, where a
// copy or generate step into shared/ would be a second one to keep in step with the first.
package tasklane

import _ "embed"

// Catalog is tasktypes.json as it was when the binary was built.
//
//go:embed tasktypes.json
var Catalog []byte

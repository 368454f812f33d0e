// Package lambdatest runs the real Lambda bootstraps as Lambda runs them: each function under
// functions/ is built with the Makefile's Lambda flags (LAMBDA_GOENV, LAMBDA_GOFLAGS) for the
// host's GOARCH, started under the AWS Lambda Runtime Interface Emulator (infra/rie.sh
// installs it into .tools/bin) with exactly the environment template.yaml gives it, and
// invoked over the emulator's invocation API with sample events. Its tests are the only
// ones that build with -tags lambda.norpc and start a bootstrap, so a function that cannot
// start with its deployed configuration fails here rather than in AWS. deps_test.go lists
// what each bootstrap links with the same flags: no embedded backend and not the SDK's
// config module (see shared/embedded and shared/awsbackend).
//
// The package has no code of its own; see harness_test.go (the harness), lambda_test.go
// (the tests) and deps_test.go.
package lambdatest

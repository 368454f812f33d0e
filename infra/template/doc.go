// Package template holds the tests that keep the deployment files equal to the code:
// template.yaml (AWS SAM), the Makefile's build-<LogicalId> targets and localstack/ are
// compared with the route table (apigw.Routes), the table definition
// (dynamostore.TableInput), the environment variables (settings.Vars), the functions under
// functions/ and the rules the worker relies on (queue redrive and visibility, timeouts).
// Its only code is the template reading in cfn.go, shared with the Lambda harness
// (infra/lambdatest); the checks are in template_test.go.
package template

// Package lambdainvoke invokes Lambda functions for the catalog's lambda steps
// (executor.Invoker): Lambda's Invoke API (POST /2015-03-31/functions/{name}/invocations),
// signed with the SDK's SigV4 signer and sent with net/http.
//
// It is not the SDK's Lambda client because that client alone would put the worker over its
// 10 MiB bootstrap budget (it costs 830 KiB; the signer, the credentials and the HTTP stack
// are in every function already). Invoke is the one call the worker makes, with one
// request and response shape, so this is that call and nothing else; the SDK's retries are
// not wanted either (the worker retries a step with its own backoff, within its budget).
package lambdainvoke

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go"

	"github.com/tasklane/tasklane/shared/executor"
)

// MaxResponse bounds what is read of an answer: Lambda's synchronous payload limit (6 MB).
const MaxResponse = 6 << 20

// Client invokes functions with cfg's region and credentials.
type Client struct {
	Config aws.Config
	// Endpoint overrides https://lambda.<region>.amazonaws.com (a local stand-in, a test).
	Endpoint string
	// HTTP sends the requests; nil: http.DefaultClient.
	HTTP *http.Client
	// Now stamps the signatures; nil: time.Now.
	Now func() time.Time
}

var _ executor.Invoker = (*Client)(nil)

// FromConfig is the client on cfg, at AWS_ENDPOINT_URL_LAMBDA when that is set (the SDK's
// standard service endpoint variable).
func FromConfig(cfg aws.Config) executor.Invoker {
	return &Client{Config: cfg, Endpoint: os.Getenv("AWS_ENDPOINT_URL_LAMBDA")}
}

// Error is Lambda refusing an Invoke: the HTTP status and Lambda's error type (e.g.
// TooManyRequestsException). It is a smithy.APIError, as the SDK's errors are.
type Error struct {
	Status  int
	Code    string
	Message string
}

var _ smithy.APIError = (*Error)(nil)

func (e *Error) Error() string {
	return fmt.Sprintf("lambda invoke: %d %s: %s", e.Status, e.Code, e.Message)
}

// HTTPStatusCode is the answer's status.
func (e *Error) HTTPStatusCode() int { return e.Status }

// ErrorCode is Lambda's error type.
func (e *Error) ErrorCode() string { return e.Code }

// ErrorMessage is Lambda's message.
func (e *Error) ErrorMessage() string { return e.Message }

// ErrorFault says whose fault: the service's for a 5xx.
func (e *Error) ErrorFault() smithy.ErrorFault {
	if e.Status >= 500 {
		return smithy.FaultServer
	}
	return smithy.FaultClient
}

// Invoke invokes function (a name or an ARN) synchronously with payload.
func (c *Client) Invoke(ctx context.Context, function string, payload []byte) ([]byte, string, error) {
	region := c.Config.Region
	if p := strings.Split(function, ":"); len(p) >= 7 && p[0] == "arn" {
		region = p[3] // the function's own region
	}
	base := c.Endpoint
	if base == "" {
		base = "https://lambda." + region + ".amazonaws.com"
	}
	// The name escaped as the SDK escapes it (an ARN's colons too), which is what the
	// signature covers.
	u := strings.TrimSuffix(base, "/") + "/2015-03-31/functions/" + strings.ReplaceAll(url.PathEscape(function), ":", "%3A") + "/invocations"
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(payload))
	if err != nil {
		return nil, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Amz-Invocation-Type", "RequestResponse")
	if c.Config.Credentials == nil {
		return nil, "", fmt.Errorf("lambda invoke: no credentials")
	}
	creds, err := c.Config.Credentials.Retrieve(ctx)
	if err != nil {
		return nil, "", fmt.Errorf("lambda invoke: credentials: %w", err)
	}
	sum := sha256.Sum256(payload)
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "lambda", region, now()); err != nil {
		return nil, "", fmt.Errorf("lambda invoke: sign: %w", err)
	}
	client := c.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponse+1))
	if err != nil {
		return nil, "", err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, "", apiError(resp, body)
	}
	return body, resp.Header.Get("X-Amz-Function-Error"), nil
}

// apiError reads Lambda's error answer: its type from X-Amzn-ErrorType (or the body's
// __type or Type), its message from the body.
func apiError(resp *http.Response, body []byte) error {
	var b struct {
		Type    string `json:"__type"`
		Kind    string `json:"Type"`
		Message string `json:"message"`
		Msg     string `json:"Message"`
	}
	_ = json.Unmarshal(body, &b)
	code, _, _ := strings.Cut(resp.Header.Get("X-Amzn-ErrorType"), ":")
	if code == "" {
		code = b.Type
	}
	if i := strings.LastIndex(code, "#"); i >= 0 {
		code = code[i+1:]
	}
	if code == "" {
		code = http.StatusText(resp.StatusCode)
	}
	msg := b.Message
	if msg == "" {
		msg = b.Msg
	}
	return &Error{Status: resp.StatusCode, Code: code, Message: msg}
}

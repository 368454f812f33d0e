package webhook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Message is one delivery on the webhook queue: one event for one URL. The sink sends it with
// Attempts 0; each failed attempt re-sends it with Attempts one higher and NotBefore the next
// attempt's time, so that the whole schedule rides in the message and nothing is stored.
type Message struct {
	URL string `json:"url"`
	// ID is the event's id, the webhook-id of every attempt.
	ID string `json:"id"`
	// Event is the body POSTed, byte for byte the same on every attempt.
	Event json.RawMessage `json:"event"`
	// Attempts is how many attempts were made before this message.
	Attempts int `json:"attempts,omitempty"`
	// First is when the first attempt was made (zero before it): the retries are scheduled
	// from it (see Schedule).
	First time.Time `json:"first,omitzero"`
	// NotBefore is when the next attempt is due. A message that arrives earlier (a wait
	// longer than SQS's 15-minute delay) is sent on again, unattempted.
	NotBefore time.Time `json:"notBefore,omitzero"`
	// LastError is why the last attempt failed, for the logs and the dead-letter queue.
	LastError string `json:"lastError,omitempty"`
}

// Encode is the message body on the queue.
func (m Message) Encode() string {
	b, _ := json.Marshal(m)
	return string(b)
}

// DecodeMessage reads a message body; one that is not a delivery is an error (and dropped).
func DecodeMessage(body string) (Message, error) {
	var m Message
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		return Message{}, fmt.Errorf("webhook message: %w", err)
	}
	if m.URL == "" || m.ID == "" || len(m.Event) == 0 {
		return Message{}, errors.New("webhook message: needs url, id and event")
	}
	// The same bytes on every attempt, whoever wrote the message (Sink, or EventBridge's
	// input transformer, which spaces its JSON its own way).
	var compact bytes.Buffer
	if err := json.Compact(&compact, m.Event); err != nil {
		return Message{}, fmt.Errorf("webhook message: event: %w", err)
	}
	m.Event = compact.Bytes()
	return m, nil
}

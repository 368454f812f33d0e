package dynamostore

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tasklane/tasklane/shared/task"
)

// storedTask is the doc attribute of a task item: the task in a compact JSON of its own, so
// that an ordinary task's item stays under 1 KB for its whole life (see "The stored
// document" in the package comment). It holds neither what the item and every list index
// entry carry as attributes (id in pk, status in st, type in ty) nor Input and Result (in,
// res). createdAt is in Unix nanoseconds and every other time in nanoseconds after it, exact;
// a nil time is the zero time.
type storedTask struct {
	Owner           string           `json:"o"`
	Version         int64            `json:"v,omitempty"`
	Name            string           `json:"n,omitempty"`
	CancelRequested bool             `json:"x,omitempty"`
	ResultURL       string           `json:"ru,omitempty"`
	Message         string           `json:"m,omitempty"`
	Progress        int              `json:"p,omitempty"`
	SubTasks        []storedSubTask  `json:"s"`
	Errors          []storedError    `json:"e,omitempty"`
	Resources       []storedResource `json:"r,omitempty"`
	CallbackURL     string           `json:"cb,omitempty"`
	RetryCount      int              `json:"rc,omitempty"`
	MaxAttempts     int              `json:"ma,omitempty"`
	Retention       time.Duration    `json:"rt,omitempty"`
	CreatedAt       *int64           `json:"c,omitempty"`
	UpdatedAt       *int64           `json:"u,omitempty"`
	StartedAt       *int64           `json:"sa,omitempty"`
	FinishedAt      *int64           `json:"fa,omitempty"`
	ExpiresAt       *int64           `json:"ea,omitempty"`
	WriteID         string           `json:"w,omitempty"`
	// User and ServiceNamespace: who created the task, and a service task's service.
	User             string `json:"us,omitempty"`
	ServiceNamespace string `json:"sn,omitempty"`
}

type storedSubTask struct {
	Name        string          `json:"n"`
	Description string          `json:"d,omitempty"`
	Status      task.Status     `json:"st"`
	Attempts    int             `json:"a,omitempty"`
	StartedAt   *int64          `json:"sa,omitempty"`
	FinishedAt  *int64          `json:"fa,omitempty"`
	WaitUntil   *int64          `json:"wu,omitempty"`
	Callback    *storedCallback `json:"cb,omitempty"`
}

// storedCallback is a callback step's attempt (task.Callback).
type storedCallback struct {
	Attempt   int           `json:"a"`
	Heartbeat time.Duration `json:"h"`
	TimeoutAt *int64        `json:"t,omitempty"`
	Progress  int           `json:"p,omitempty"`
	Ended     string        `json:"e,omitempty"`
}

// storedError keeps Causes without omitempty: a task's empty list of causes is shown as []
// and a nil one as null, and the round trip keeps the difference.
type storedError struct {
	ErrorCode string   `json:"c"`
	ErrorType string   `json:"t"`
	Message   string   `json:"m"`
	SubTask   string   `json:"s,omitempty"`
	Causes    []string `json:"ca"`
	At        *int64   `json:"at,omitempty"`
}

type storedResource struct {
	ResourceID string `json:"i"`
	Type       string `json:"t"`
}

// legacyDocPrefix begins every doc of the earlier form, the whole task.Task JSON: encoding/json
// writes struct fields in order and ID is Task's first field. A storedTask has no "id" key,
// so the prefix tells the two forms apart without a marker.
const legacyDocPrefix = `{"id":`

// nanos is t as Unix nanoseconds, nil for the zero time; a time UnixNano cannot hold exactly
// (outside the years 1678-2262) is an error rather than a silently different time.
func nanos(t time.Time) (*int64, error) {
	if t.IsZero() {
		return nil, nil
	}
	n := t.UnixNano()
	if !time.Unix(0, n).Equal(t) {
		return nil, fmt.Errorf("time %v cannot be stored to the nanosecond", t)
	}
	return &n, nil
}

// since is t as nanoseconds after base (the task's createdAt), nil for the zero time: a
// subtask's start is 9 or 10 digits after its task's creation, where its Unix time has 19.
// With a zero base it is Unix nanoseconds, as nanos.
func since(base, t time.Time) (*int64, error) {
	if base.IsZero() || t.IsZero() {
		return nanos(t)
	}
	d := t.Sub(base)
	if !base.Add(d).Equal(t) {
		return nil, fmt.Errorf("time %v cannot be stored to the nanosecond after %v", t, base)
	}
	n := int64(d)
	return &n, nil
}

func sincePtr(base time.Time, t *time.Time) (*int64, error) {
	if t == nil {
		return nil, nil
	}
	if t.IsZero() {
		return nil, fmt.Errorf("a set time is zero")
	}
	return since(base, *t)
}

// fromNanos is the time of nanos or since (base the same createdAt).
func fromNanos(base time.Time, n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	if base.IsZero() {
		return time.Unix(0, *n).UTC()
	}
	return base.Add(time.Duration(*n)).UTC()
}

func fromNanosPtr(base time.Time, n *int64) *time.Time {
	if n == nil {
		return nil
	}
	t := fromNanos(base, n)
	return &t
}

// newStoredTask is the stored form of t.
func newStoredTask(t task.Task) (storedTask, error) {
	var errs []error
	created, err := nanos(t.CreatedAt)
	if err != nil {
		return storedTask{}, err
	}
	base := t.CreatedAt
	if created == nil {
		base = time.Time{}
	}
	at := func(v time.Time) *int64 {
		n, err := since(base, v)
		errs = append(errs, err)
		return n
	}
	atPtr := func(v *time.Time) *int64 {
		n, err := sincePtr(base, v)
		errs = append(errs, err)
		return n
	}
	s := storedTask{
		Owner:           t.Owner,
		Version:         t.Version,
		Name:            t.Name,
		CancelRequested: t.CancelRequested,
		ResultURL:       t.ResultURL,
		CallbackURL:     t.CallbackURL,
		Message:         t.Message,
		Progress:        t.Progress,
		RetryCount:      t.RetryCount,
		MaxAttempts:     t.MaxAttempts,
		Retention:       t.Retention,
		CreatedAt:       created,
		UpdatedAt:       at(t.UpdatedAt),
		StartedAt:       atPtr(t.StartedAt),
		FinishedAt:      atPtr(t.FinishedAt),
		ExpiresAt:       atPtr(t.ExpiresAt),
		WriteID:         t.WriteID,

		User: t.User, ServiceNamespace: t.ServiceNamespace,
	}
	if t.SubTasks != nil {
		s.SubTasks = make([]storedSubTask, len(t.SubTasks))
		for i, st := range t.SubTasks {
			s.SubTasks[i] = storedSubTask{
				Name: st.Name, Description: st.Description, Status: st.Status, Attempts: st.Attempts,
				StartedAt: atPtr(st.StartedAt), FinishedAt: atPtr(st.FinishedAt), WaitUntil: atPtr(st.WaitUntil),
			}
			if cb := st.Callback; cb != nil {
				s.SubTasks[i].Callback = &storedCallback{Attempt: cb.Attempt, Heartbeat: cb.Heartbeat, TimeoutAt: at(cb.TimeoutAt), Progress: cb.Progress, Ended: cb.Ended}
			}
		}
	}
	for _, e := range t.Errors {
		s.Errors = append(s.Errors, storedError{
			ErrorCode: e.ErrorCode, ErrorType: e.ErrorType, Message: e.Message, SubTask: e.SubTask,
			Causes: e.Causes, At: at(e.At),
		})
	}
	for _, r := range t.Resources {
		s.Resources = append(s.Resources, storedResource(r))
	}
	for _, err := range errs {
		if err != nil {
			return storedTask{}, err
		}
	}
	return s, nil
}

// task is the task s stores, with what the item holds outside doc: its id, status and type.
func (s storedTask) task(id string, status task.Status, typ string) task.Task {
	base := fromNanos(time.Time{}, s.CreatedAt)
	t := task.Task{
		ID:              id,
		Type:            typ,
		Name:            s.Name,
		Owner:           s.Owner,
		Status:          status,
		CancelRequested: s.CancelRequested,
		ResultURL:       s.ResultURL,
		CallbackURL:     s.CallbackURL,
		Message:         s.Message,
		Progress:        s.Progress,
		RetryCount:      s.RetryCount,
		MaxAttempts:     s.MaxAttempts,
		Retention:       s.Retention,
		CreatedAt:       base,
		UpdatedAt:       fromNanos(base, s.UpdatedAt),
		StartedAt:       fromNanosPtr(base, s.StartedAt),
		FinishedAt:      fromNanosPtr(base, s.FinishedAt),
		ExpiresAt:       fromNanosPtr(base, s.ExpiresAt),
		Version:         s.Version,
		WriteID:         s.WriteID,

		User: s.User, ServiceNamespace: s.ServiceNamespace,
	}
	if s.SubTasks != nil {
		t.SubTasks = make([]task.SubTask, len(s.SubTasks))
		for i, st := range s.SubTasks {
			t.SubTasks[i] = task.SubTask{
				Name: st.Name, Description: st.Description, Status: st.Status, Attempts: st.Attempts,
				StartedAt: fromNanosPtr(base, st.StartedAt), FinishedAt: fromNanosPtr(base, st.FinishedAt), WaitUntil: fromNanosPtr(base, st.WaitUntil),
			}
			if cb := st.Callback; cb != nil {
				t.SubTasks[i].Callback = &task.Callback{Attempt: cb.Attempt, Heartbeat: cb.Heartbeat, TimeoutAt: fromNanos(base, cb.TimeoutAt), Progress: cb.Progress, Ended: cb.Ended}
			}
		}
	}
	for _, e := range s.Errors {
		t.Errors = append(t.Errors, task.Error{
			ErrorCode: e.ErrorCode, ErrorType: e.ErrorType, Message: e.Message, SubTask: e.SubTask,
			Causes: e.Causes, At: fromNanos(base, e.At),
		})
	}
	for _, r := range s.Resources {
		t.Resources = append(t.Resources, task.Resource(r))
	}
	return t
}

// decodeDoc decodes the doc of item, in either form: a storedTask, completed from id (the
// item's sk; the pk "T#<id>" of an item of the earlier table, which infra/migrate reads), st
// and ty, or a legacy whole task.Task.
func decodeDoc(item map[string]types.AttributeValue, id, doc string) (task.Task, error) {
	if strings.HasPrefix(doc, legacyDocPrefix) {
		var t task.Task
		err := json.Unmarshal([]byte(doc), &t)
		return t, err
	}
	var s storedTask
	if err := json.Unmarshal([]byte(doc), &s); err != nil {
		return task.Task{}, err
	}
	if id == "" {
		return task.Task{}, fmt.Errorf("no task id")
	}
	st, ok := item[attrStatus].(*types.AttributeValueMemberS)
	if !ok {
		return task.Task{}, fmt.Errorf("no %s", attrStatus)
	}
	return s.task(id, task.Status(st.Value), stringAttr(item, attrType)), nil
}

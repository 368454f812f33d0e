package dynamostore

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tasklane/tasklane/shared/strictjson"
	"github.com/tasklane/tasklane/shared/task"
)

// sortLayout formats the time part of c and u: fixed width, so that string order is time
// order (for years 0000-9999).
const sortLayout = "2006-01-02T15:04:05.000Z"

// sortValue is a c or u value: the time to the millisecond, then the id, which breaks ties
// and makes the value unique.
func sortValue(t time.Time, id string) string {
	return t.UTC().Format(sortLayout) + "#" + id
}

// validSortValue reports whether s has the form sortValue makes, so that a garbled cursor is
// refused instead of silently seeking somewhere.
func validSortValue(s string) bool {
	if len(s) < len(sortLayout)+2 || s[len(sortLayout)] != '#' {
		return false
	}
	_, err := time.Parse(sortLayout, s[:len(sortLayout)])
	return err == nil
}

// shardPK is the pk of a task: "S#<nn>", nn = fnv32a(id) % Shards, two digits. fnv32a is
// cheap and stable across processes and releases, unlike Go's map hash, so a task stays in
// its shard for its life, and GetItem needs nothing but the id.
func shardPK(id string) string { return shardPartition(int(idHash(id) % Shards)) }

// shardPartition is the pk of one shard.
func shardPartition(shard int) string { return fmt.Sprintf("S#%02d", shard) }

// idemSK is the sort key of every idempotency record: its pk alone names it.
const idemSK = "I"

// escapeOwner percent-escapes '%' and '#' in an owner, so that the boundary between the owner
// and what follows it in a key (an idempotency key, a type) is unambiguous: tenant "a" with
// key "b#c" and tenant "a#b" with key "c" never share a record. For owners without '%' and
// '#' it is the owner itself.
func escapeOwner(owner string) string {
	return strings.NewReplacer("%", "%25", "#", "%23").Replace(owner)
}

// idemPK is the idempotency record's key: "I#<escaped owner>#<key>".
func idemPK(owner, key string) string { return "I#" + escapeOwner(owner) + "#" + key }

// ownerType is the byType partition of owner's tasks of type typ.
func ownerType(owner, typ string) string { return escapeOwner(owner) + "#" + typ }

// idHash is fnv32a of a task id.
func idHash(id string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return h.Sum32()
}

// idMillis is the time part of a ULID (task.NewID): its first 10 characters, 48 bits of
// Unix milliseconds; false when id is not a ULID.
func idMillis(id string) (int64, bool) {
	if !task.ValidID(id) {
		return 0, false
	}
	var ms int64
	for i := 0; i < 10; i++ {
		ms = ms<<5 | int64(strings.IndexByte(crockford, id[i]))
	}
	return ms, true
}

// crockford is the ULID alphabet (as task.NewID writes it).
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// checkCreatedOrder refuses a task whose id does not begin with its createdAt's millisecond:
// the shards' sort key is the id, and an admin's list in created order is their merge by sk,
// which is the order (createdAt ms, id) of every other list only while this holds
// (task.NewID(now) with the now given to task.Registry.New, as the API does).
func checkCreatedOrder(t task.Task) error {
	ms, ok := idMillis(t.ID)
	if !ok {
		return fmt.Errorf("dynamostore: task id %q is not a ULID", t.ID)
	}
	if ms != t.CreatedAt.UnixMilli() {
		return fmt.Errorf("dynamostore: task id %s holds the time %s, not its createdAt %s",
			t.ID, time.UnixMilli(ms).UTC().Format(sortLayout), t.CreatedAt.UTC().Format(sortLayout))
	}
	return nil
}

// ttlSeconds is an expiry as TTL epoch seconds, rounded up: TTL may delete an item late but
// never before it expired, and the filter expiresAt > floor(now) never drops a live item.
func ttlSeconds(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

func str(v string) *types.AttributeValueMemberS { return &types.AttributeValueMemberS{Value: v} }

func num(v int64) *types.AttributeValueMemberN {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// TaskItem is the whole item of a task as the store writes it, every derived attribute
// computed from t, so that a put can never leave an index key out of step with the document.
// It is exported for tools that write items in bulk (infra/migrate, and tests that seed
// thousands of tasks with BatchWriteItem): they write exactly what Create would.
func TaskItem(t task.Task) (map[string]types.AttributeValue, error) {
	if err := checkCreatedOrder(t); err != nil {
		return nil, err
	}
	return taskItem(t)
}

// taskItem is TaskItem without the check of the id's time.
func taskItem(t task.Task) (map[string]types.AttributeValue, error) {
	doc, err := newStoredTask(t)
	if err != nil {
		return nil, fmt.Errorf("dynamostore: encode task %s: %w", t.ID, err)
	}
	b, err := strictjson.Marshal(doc) // no HTML escaping: see strictjson.Marshal
	if err != nil {
		return nil, fmt.Errorf("dynamostore: encode task %s: %w", t.ID, err)
	}
	item := map[string]types.AttributeValue{
		attrPK:        str(shardPK(t.ID)),
		attrSK:        str(t.ID),
		attrDoc:       str(string(b)),
		attrStatus:    str(string(t.Status)),
		attrVersion:   num(t.Version),
		attrType:      str(t.Type),
		attrOwner:     str(t.Owner),
		attrOwnerType: str(ownerType(t.Owner, t.Type)),
		attrCreated:   str(sortValue(t.CreatedAt, t.ID)),
		// Written whether or not the table has IndexByUpdated, so that adding the index is
		// an UpdateTable that DynamoDB backfills from the items.
		attrUpdated: str(sortValue(t.UpdatedAt, t.ID)),
	}
	if len(t.Input) > 0 {
		item[attrInput] = str(string(t.Input))
	}
	if len(t.Result) > 0 {
		item[attrResult] = str(string(t.Result))
	}
	if out, err := encodeOutputs(t.SubTasks); err != nil {
		return nil, fmt.Errorf("dynamostore: encode task %s: %w", t.ID, err)
	} else if out != "" {
		item[attrOutputs] = str(out)
	}
	if t.Status.Terminal() && t.ExpiresAt != nil {
		item[attrExpiresAt] = num(ttlSeconds(*t.ExpiresAt))
	}
	return item, nil
}

// itemTask decodes a task item (without in and res when a read left them out).
func itemTask(item map[string]types.AttributeValue) (task.Task, error) {
	return decodeItem(item, stringAttr(item, attrSK))
}

// decodeItem decodes a task item whose id is id.
func decodeItem(item map[string]types.AttributeValue, id string) (task.Task, error) {
	doc, ok := item[attrDoc].(*types.AttributeValueMemberS)
	if !ok {
		return task.Task{}, fmt.Errorf("dynamostore: item %v has no doc", item[attrPK])
	}
	t, err := decodeDoc(item, id, doc.Value)
	if err != nil {
		return t, fmt.Errorf("dynamostore: decode item %v: %w", item[attrPK], err)
	}
	if in, ok := item[attrInput].(*types.AttributeValueMemberS); ok {
		t.Input = json.RawMessage(in.Value)
	}
	if res, ok := item[attrResult].(*types.AttributeValueMemberS); ok {
		t.Result = json.RawMessage(res.Value)
	}
	if out, ok := item[attrOutputs].(*types.AttributeValueMemberS); ok {
		if err := decodeOutputs(out.Value, t.SubTasks); err != nil {
			return t, fmt.Errorf("dynamostore: decode item %v: %w", item[attrPK], err)
		}
	}
	return t, nil
}

// encodeOutputs is the out attribute: the subtasks' outputs as one JSON array, a subtask
// without output as null, "" when none has one. Outputs are kept out of doc, as input and
// result are, so that list index entries stay small (see "The stored document").
func encodeOutputs(subs []task.SubTask) (string, error) {
	var outs []json.RawMessage
	for i, s := range subs {
		if s.Output == nil {
			continue
		}
		if outs == nil {
			outs = make([]json.RawMessage, len(subs))
		}
		outs[i] = s.Output
	}
	if outs == nil {
		return "", nil
	}
	b, err := strictjson.Marshal(outs)
	return string(b), err
}

// decodeOutputs puts the out attribute's outputs back into subs.
func decodeOutputs(v string, subs []task.SubTask) error {
	var outs []json.RawMessage
	if err := json.Unmarshal([]byte(v), &outs); err != nil {
		return err
	}
	for i := range subs {
		if i < len(outs) && len(outs[i]) > 0 && string(outs[i]) != "null" {
			subs[i].Output = outs[i]
		}
	}
	return nil
}

// idemItem is an idempotency record's item.
func idemItem(r task.Idempotency) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{
		attrPK:          str(idemPK(r.Owner, r.Key)),
		attrSK:          str(idemSK),
		attrTaskID:      str(r.TaskID),
		attrBodyHash:    str(r.BodyHash),
		attrIdemOwner:   str(r.Owner),
		attrIdemKey:     str(r.Key),
		attrExpiresAt:   num(ttlSeconds(r.ExpiresAt)),
		attrExpiresAtNs: num(r.ExpiresAt.UnixNano()),
	}
}

// itemIdem decodes an idempotency record.
func itemIdem(item map[string]types.AttributeValue) (task.Idempotency, error) {
	r := task.Idempotency{
		Owner:    stringAttr(item, attrIdemOwner),
		Key:      stringAttr(item, attrIdemKey),
		BodyHash: stringAttr(item, attrBodyHash),
		TaskID:   stringAttr(item, attrTaskID),
	}
	ns, ok := item[attrExpiresAtNs].(*types.AttributeValueMemberN)
	if !ok {
		return r, fmt.Errorf("dynamostore: idempotency record %v has no %s", item[attrPK], attrExpiresAtNs)
	}
	n, err := strconv.ParseInt(ns.Value, 10, 64)
	if err != nil {
		return r, fmt.Errorf("dynamostore: idempotency record %v: %w", item[attrPK], err)
	}
	r.ExpiresAt = time.Unix(0, n).UTC()
	return r, nil
}

// stringAttr returns a string attribute of item, or "".
func stringAttr(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

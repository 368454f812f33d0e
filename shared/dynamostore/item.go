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

func taskPK(id string) string { return "T#" + id }

// idemPK is the idempotency record's key. The owner is escaped so that the boundary between
// owner and key is unambiguous (see the package comment); for owners without '%' and '#' it
// is "I#<owner>#<key>" exactly.
func idemPK(owner, key string) string {
	owner = strings.NewReplacer("%", "%25", "#", "%23").Replace(owner)
	return "I#" + owner + "#" + key
}

// activeShard is the act value of an active task: its status, so that Stale reads the tasks
// of one status only (see the package comment), and a shard number that spreads them over
// activeShards byActive partitions. fnv32a is cheap and stable across processes and
// releases, unlike Go's map hash, so a task stays in its shard as long as its status lasts.
func activeShard(status task.Status, id string) string {
	return activePartition(status, int(idHash(id)%activeShards))
}

// idHash is fnv32a of a task id.
func idHash(id string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return h.Sum32()
}

// allShard is the ga value of a task: the allCreated/allUpdated partition it is in, for
// as long as it exists (the id never changes).
func allShard(id string) string {
	return allPartition(int(idHash(id) % allShards))
}

// allPartition is the ga value of one shard: "all#<shard>".
func allPartition(shard int) string {
	return "all#" + strconv.Itoa(shard)
}

// activePartition is the act value of one shard of one status: "<status>#<shard>".
func activePartition(status task.Status, shard int) string {
	return string(status) + "#" + strconv.Itoa(shard)
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

// taskItem is the whole item of a task, every derived attribute computed from t, so that a
// put can never leave an index key out of step with the document.
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
		attrPK:          str(taskPK(t.ID)),
		attrDoc:         str(string(b)),
		attrStatus:      str(string(t.Status)),
		attrVersion:     num(t.Version),
		attrType:        str(t.Type),
		attrOwner:       str(t.Owner),
		attrOwnerStatus: str(t.Owner + "#" + string(t.Status)),
		attrCreated:     str(sortValue(t.CreatedAt, t.ID)),
		attrUpdated:     str(sortValue(t.UpdatedAt, t.ID)),
		attrAll:         str(allShard(t.ID)),
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
	if t.Status.Active() {
		item[attrActive] = str(activeShard(t.Status, t.ID))
	}
	return item, nil
}

// itemTask decodes a task item, or the projection of one in a list index (which has no in
// and res: listed tasks omit input and result).
func itemTask(item map[string]types.AttributeValue) (task.Task, error) {
	doc, ok := item[attrDoc].(*types.AttributeValueMemberS)
	if !ok {
		return task.Task{}, fmt.Errorf("dynamostore: item %v has no doc", item[attrPK])
	}
	t, err := decodeDoc(item, doc.Value)
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

package dynamostore

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// MigrateItem is the item of this design for an item of the table before it (pk "T#<id>" or
// "I#<owner>#<key>", no sort key; see "Moving a deployed table to this design" in the package
// comment), and false for an item that has expired at now and is left behind. A task is
// decoded (either form of its document) and encoded again by TaskItem, so it is exactly what
// Create and Apply write; an idempotency record keeps its attributes and gains sk.
func MigrateItem(old map[string]types.AttributeValue, now time.Time) (map[string]types.AttributeValue, bool, error) {
	pk := stringAttr(old, attrPK)
	switch {
	case strings.HasPrefix(pk, "T#"):
		t, err := decodeItem(old, strings.TrimPrefix(pk, "T#"))
		if err != nil {
			return nil, false, err
		}
		if t.Expired(now) {
			return nil, false, nil
		}
		item, err := TaskItem(t)
		return item, err == nil, err
	case strings.HasPrefix(pk, "I#"):
		ns, ok := old[attrExpiresAtNs].(*types.AttributeValueMemberN)
		if !ok {
			return nil, false, fmt.Errorf("dynamostore: migrate: idempotency record %s has no %s", pk, attrExpiresAtNs)
		}
		n, err := strconv.ParseInt(ns.Value, 10, 64)
		if err != nil {
			return nil, false, fmt.Errorf("dynamostore: migrate: idempotency record %s: %w", pk, err)
		}
		if !now.Before(time.Unix(0, n)) {
			return nil, false, nil
		}
		item := maps.Clone(old)
		item[attrSK] = str(idemSK)
		return item, true, nil
	}
	return nil, false, fmt.Errorf("dynamostore: migrate: item %q is neither a task nor an idempotency record", pk)
}

package costmodel

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tasklane/tasklane/shared/dynamostore"
)

func TestItemSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		item string // JSON protocol
		want int
	}{
		{"string", `{"ab":{"S":"xyz"}}`, 2 + 3},
		{"utf-8 string", `{"a":{"S":"é"}}`, 1 + 2},
		{"number of 5 digits", `{"n":{"N":"12345"}}`, 1 + 3 + 1},
		{"number with zeros trimmed", `{"n":{"N":"1000"}}`, 1 + 1 + 1},
		{"negative decimal", `{"n":{"N":"-1.50"}}`, 1 + 1 + 1},
		{"zero", `{"n":{"N":"0"}}`, 1 + 1},
		{"binary counts raw bytes", `{"b":{"B":"AAECAw=="}}`, 1 + 4},
		{"bool", `{"b":{"BOOL":true}}`, 1 + 1},
		{"null", `{"z":{"NULL":true}}`, 1 + 1},
		{"list", `{"l":{"L":[{"S":"ab"},{"N":"1"}]}}`, 1 + 3 + (1 + 2) + (1 + 2)},
		{"empty map", `{"m":{"M":{}}}`, 1 + 3},
		{"map", `{"m":{"M":{"k":{"S":"v"}}}}`, 1 + 3 + (1 + 1 + 1)},
		{"string set", `{"s":{"SS":["a","bc"]}}`, 1 + 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var it Item
			if err := json.Unmarshal([]byte(tc.item), &it); err != nil {
				t.Fatal(err)
			}
			if got := it.Size(); got != tc.want {
				t.Errorf("Size(%s) = %d, want %d", tc.item, got, tc.want)
			}
		})
	}
}

// testSchema is a table with key pk and three indexes: byOwner (o, c) projecting doc, byAct
// (act, u), sparse and keys only, and all (o, u) projecting everything.
var testSchema = Schema{
	Table: "t",
	Key:   []string{"pk"},
	Indexes: []Index{
		{Name: "byOwner", Keys: []string{"o", "c"}, NonKey: []string{"doc"}},
		{Name: "byAct", Keys: []string{"act", "u"}},
		{Name: "all", Keys: []string{"o", "u"}, All: true},
	},
}

func item(kv ...string) Item {
	it := Item{}
	for i := 0; i+1 < len(kv); i += 2 {
		it[kv[i]] = Str(kv[i+1])
	}
	return it
}

func with(it Item, kv ...string) Item {
	out := Item{}
	for k, v := range it {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
			continue
		}
		out[kv[i]] = Str(kv[i+1])
	}
	return out
}

func TestWrite(t *testing.T) {
	t.Parallel()
	base := item("pk", "T#1", "o", "tenant", "c", "c1", "u", "u1", "doc", "{}", "note", "x")
	for _, tc := range []struct {
		name     string
		old, new Item
		want     map[string]float64 // "table" and the indexes written
	}{
		{"insert puts every index the item is in", nil, base,
			map[string]float64{"table": 1, "byOwner": 1, "all": 1}},
		{"no key and no projected attribute changed: the indexes cost nothing", base, with(base, "note", "y"),
			map[string]float64{"table": 1, "all": 1}}, // "all" projects note
		{"a projected attribute changed: a put", base, with(base, "doc", `{"a":1}`),
			map[string]float64{"table": 1, "byOwner": 1, "all": 1}},
		{"the index key changed: a delete and a put", base, with(base, "u", "u2"),
			map[string]float64{"table": 1, "all": 2}},
		{"a sparse entry appears: a put", base, with(base, "act", "pending#1"),
			map[string]float64{"table": 1, "byAct": 1, "all": 1}},
		{"a sparse entry disappears: a delete", with(base, "act", "pending#1"), base,
			map[string]float64{"table": 1, "byAct": 1, "all": 1}},
		{"a sparse entry moves: a delete and a put", with(base, "act", "pending#1"), with(base, "act", "processing#1"),
			map[string]float64{"table": 1, "byAct": 2, "all": 1}}, // "all" keeps its key, projects act
		{"a delete removes every entry", base, nil,
			map[string]float64{"table": 1, "byOwner": 1, "all": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := testSchema.Write(tc.old, tc.new)
			got := map[string]float64{"table": c.Table}
			for n, u := range c.Indexes {
				got[n] = u
			}
			if !sameUnits(got, tc.want) {
				t.Errorf("Write = %v, want %v", got, tc.want)
			}
		})
	}
}

func sameUnits(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// sized is base with a "pad" attribute that makes the item exactly n bytes.
func sized(base Item, n int) Item {
	pad := n - base.Size() - len("pad")
	return with(base, "pad", strings.Repeat("x", pad))
}

func TestWriteRounding(t *testing.T) {
	t.Parallel()
	s := Schema{Table: "t", Key: []string{"pk"}}
	base := item("pk", "T#1")
	for _, tc := range []struct {
		size int
		want float64
	}{{1, 1}, {1023, 1}, {1024, 1}, {1025, 2}, {2048, 2}, {2049, 3}} {
		it := base
		if tc.size > base.Size() {
			it = sized(base, tc.size)
		}
		if got := it.Size(); tc.size > base.Size() && got != tc.size {
			t.Fatalf("sized item is %d bytes, want %d", got, tc.size)
		}
		if got := s.Write(nil, it).Table; got != tc.want {
			t.Errorf("insert of %d bytes = %v WRU, want %v", tc.size, got, tc.want)
		}
	}
	// The larger of old and new counts: shrinking a 2 KB item to 10 bytes is 2 WRU.
	if got := s.Write(sized(base, 2048), base).Table; got != 2 {
		t.Errorf("shrinking 2048 → %d bytes = %v WRU, want 2", base.Size(), got)
	}
	// An index entry carries 100 bytes of overhead: 924 projected bytes are exactly 1 KB.
	ix := Schema{Table: "t", Key: []string{"pk"}, Indexes: []Index{{Name: "all", Keys: []string{"pk"}, All: true}}}
	if got := ix.Write(nil, sized(base, 924)).Indexes["all"]; got != 1 {
		t.Errorf("entry of 924+100 bytes = %v WRU, want 1", got)
	}
	if got := ix.Write(nil, sized(base, 925)).Indexes["all"]; got != 2 {
		t.Errorf("entry of 925+100 bytes = %v WRU, want 2", got)
	}
}

func TestTransactAndFailedWrites(t *testing.T) {
	t.Parallel()
	base := item("pk", "T#1", "o", "tenant", "c", "c1", "u", "u1", "doc", "{}")
	if got, want := testSchema.TransactWrite(nil, base).Total(), 2*testSchema.Write(nil, base).Total(); got != want {
		t.Errorf("transactional insert = %v WRU, want twice the plain one, %v", got, want)
	}
	c := testSchema.FailedWrite(sized(base, 1500))
	if c.Table != 2 || len(c.Indexes) != 0 {
		t.Errorf("failed write on a 1500-byte item = %+v, want 2 WRU on the table only", c)
	}
	if c := testSchema.FailedWrite(nil); c.Table != 1 {
		t.Errorf("failed write on no item = %v WRU, want the minimum 1", c.Table)
	}
}

func TestReadUnits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		bytes      int
		consistent bool
		want       float64
	}{
		{0, true, 1}, {0, false, 0.5}, // nothing found still costs the minimum
		{4096, true, 1}, {4097, true, 2}, {4096, false, 0.5}, {4097, false, 1}, {12000, false, 1.5},
	} {
		if got := ReadUnits(tc.bytes, tc.consistent); got != tc.want {
			t.Errorf("ReadUnits(%d, consistent %v) = %v, want %v", tc.bytes, tc.consistent, got, tc.want)
		}
	}
}

// TestSchemaOfTableInput reads the store's own table definition: every index, with its keys
// and projection, so that the billing follows the code.
func TestSchemaOfTableInput(t *testing.T) {
	t.Parallel()
	in := dynamostore.TableInput("tasks")
	s := SchemaOf(in)
	if s.Table != "tasks" || len(s.Key) != 2 || s.Key[0] != "pk" || s.Key[1] != "sk" {
		t.Fatalf("SchemaOf = table %q key %v, want tasks [pk sk]", s.Table, s.Key)
	}
	if len(s.Indexes) != len(in.GlobalSecondaryIndexes) {
		t.Fatalf("SchemaOf has %d indexes, want %d", len(s.Indexes), len(in.GlobalSecondaryIndexes))
	}
	for i, g := range in.GlobalSecondaryIndexes {
		ix := s.Indexes[i]
		if ix.Name != aws.ToString(g.IndexName) || len(ix.Keys) != len(g.KeySchema) ||
			ix.All != (g.Projection.ProjectionType == types.ProjectionTypeAll) ||
			len(ix.NonKey) != len(g.Projection.NonKeyAttributes) {
			t.Errorf("index %d = %+v, want %s", i, ix, aws.ToString(g.IndexName))
		}
	}
}

func TestInvocationGBSeconds(t *testing.T) {
	t.Parallel()
	// 256 MB for 300.2 ms is billed as 301 ms: 0.25 GB × 0.301 s.
	i := Invocation{Function: "WorkerFunction", MemoryMB: 256, Duration: 300200 * 1000}
	if got, want := i.GBSeconds(), 0.25*0.301; got < want-1e-12 || got > want+1e-12 {
		t.Errorf("GBSeconds = %v, want %v", got, want)
	}
}

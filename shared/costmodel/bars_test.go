package costmodel_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/tasklane/tasklane/shared/awstest"
	"github.com/tasklane/tasklane/shared/costmodel"
	"github.com/tasklane/tasklane/shared/dynamostore"
	"github.com/tasklane/tasklane/shared/task"
	"github.com/tasklane/tasklane/shared/tasktypes"
)

// Issue #9's bars on lists, as read request units billed by the cost model (deterministic:
// the tasks' ids, times and so shards and item sizes are fixed, so the counts are too):
//   - collecting 25 tasks of a type that is 1 % of a tenant's tasks costs at most 3× a
//     default page, whatever the tenant's size;
//   - an admin's page of every tenant costs at most 2× a tenant's page.
//
// The tasks are the reference demo task (3 steps), seeded with BatchWriteItem of the store's
// own items (dynamostore.TaskItem), which is what Create would write, without the thousands
// of conditional puts.

// barPage is the page size of the bars: the API's default.
const barPage = 25

// TestTypePageCost: at 2,500 and at 5,000 tasks of one tenant, 1 % of them of type "rare",
// the page of 25 rare tasks costs the same, and at most 3× a default page of the tenant.
// The byType index makes the filtered page read the rare tasks only, so the tenant's size
// (10,000 in the issue) does not enter: the two sizes show it.
func TestTypePageCost(t *testing.T) {
	t.Parallel()
	b := setupBars(t, optIns{})
	var rare []float64
	for i, n := range []int{2500, 5000} {
		owner := fmt.Sprintf("tenant-%d", n)
		b.seed(t, owner, n, 100, int64(i)*1e9)
		def := b.pageRRU(t, task.ListQuery{Owner: owner, Desc: true, Limit: barPage})
		typ := b.pageRRU(t, task.ListQuery{Owner: owner, Type: rareType, Desc: true, Limit: barPage})
		t.Logf("%d tasks: a default page %.1f RRU, a page of 25 %q tasks %.1f RRU", n, def, rareType, typ)
		if typ > 3*def {
			t.Errorf("%d tasks: the %q page costs %.1f RRU, more than 3× a default page (%.1f)", n, rareType, typ, def)
		}
		rare = append(rare, typ)
	}
	if rare[0] != rare[1] {
		t.Errorf("the %q page costs %.1f RRU at 2,500 tasks and %.1f at 5,000: it grows with the tenant", rareType, rare[0], rare[1])
	}
}

// TestAdminPageCost: over 8 tenants of 150 tasks each, every one of the first 8 admin pages
// (every tenant, newest first, and oldest first) costs at most 2× a tenant's default page.
func TestAdminPageCost(t *testing.T) {
	t.Parallel()
	b := setupBars(t, optIns{})
	for i := range 8 {
		b.seed(t, fmt.Sprintf("tenant-%d", i), 150, 0, int64(i)*7)
	}
	tenant := b.pageRRU(t, task.ListQuery{Owner: "tenant-0", Desc: true, Limit: barPage})
	for _, desc := range []bool{true, false} {
		q := task.ListQuery{Desc: desc, Limit: barPage, Now: b.now}
		worst := 0.0
		for page := 1; page <= 8; page++ {
			b.rec.Reset()
			p, err := b.store.List(t.Context(), q)
			if err != nil {
				t.Fatal(err)
			}
			rru := b.rru()
			worst = max(worst, rru)
			if len(p.Tasks) != barPage || p.Next == nil {
				t.Fatalf("admin page %d: %d tasks, next %q", page, len(p.Tasks), p.Next)
			}
			if rru > 2*tenant {
				t.Errorf("desc=%v: admin page %d costs %.1f RRU, more than 2× a tenant's page (%.1f)", desc, page, rru, tenant)
			}
			q.After = p.Next
		}
		t.Logf("desc=%v: a tenant's page %.1f RRU, the dearest of 8 admin pages %.1f RRU", desc, tenant, worst)
	}
}

// TestUpdatedAtPageCost: with the byUpdated index (the deployment's opt-in), a tenant's page
// of 25 in updatedAt order costs the same at 500 and at 1,000 tasks, no more than its page
// in createdAt order; without the index (the default), it reads every candidate and costs
// more the larger the tenant: "Indexes" in shared/dynamostore's package comment.
func TestUpdatedAtPageCost(t *testing.T) {
	t.Parallel()
	indexed, plain := setupBars(t, optIns{UpdatedAt: true}), setupBars(t, optIns{})
	var withIndex, without []float64
	for i, n := range []int{500, 1000} {
		owner := fmt.Sprintf("tenant-%d", n)
		q := task.ListQuery{Owner: owner, SortKey: task.SortUpdated, Desc: true, Limit: barPage}
		indexed.seed(t, owner, n, 0, int64(i)*1e9)
		def := indexed.pageRRU(t, task.ListQuery{Owner: owner, Desc: true, Limit: barPage})
		upd := indexed.pageRRU(t, q)
		t.Logf("%d tasks, with byUpdated: a default page %.1f RRU, an updatedAt page %.1f RRU", n, def, upd)
		if upd > def {
			t.Errorf("%d tasks: the updatedAt page costs %.1f RRU with the index, more than a default page (%.1f)", n, upd, def)
		}
		withIndex = append(withIndex, upd)
		plain.seed(t, owner, n, 0, int64(i)*1e9)
		full := plain.pageRRU(t, q)
		t.Logf("%d tasks, without: an updatedAt page %.1f RRU", n, full)
		without = append(without, full)
	}
	if withIndex[0] != withIndex[1] {
		t.Errorf("with the index the updatedAt page costs %.1f RRU at 500 tasks and %.1f at 1,000: it grows with the tenant", withIndex[0], withIndex[1])
	}
	if without[1] <= without[0] {
		t.Errorf("without the index the updatedAt page costs %.1f RRU at 500 tasks and %.1f at 1,000: the package comment says it grows", without[0], without[1])
	}
}

// TestAdminUpdatedAtPageCost: with the allUpdated index (the deployment's opt-in), an admin's
// page of 25 in updatedAt order costs no more over 8 tenants of 150 tasks than over 8 of 75,
// and at most 2× a tenant's default page (the bar of an admin page), where without the index (the default) it reads every
// shard whole and costs more the more tasks the table holds.
func TestAdminUpdatedAtPageCost(t *testing.T) {
	t.Parallel()
	indexed, plain := setupBars(t, optIns{AdminUpdatedAt: true}), setupBars(t, optIns{})
	var withIndex, without []float64
	for round, n := range []int{75, 75} { // 75 more a tenant each round: 600 tasks, then 1,200
		for i := range 8 {
			owner := fmt.Sprintf("tenant-%d", i)
			offset := int64(round*8+i) * 1e9
			indexed.seed(t, owner, n, 0, offset)
			plain.seed(t, owner, n, 0, offset)
		}
		tenant := indexed.pageRRU(t, task.ListQuery{Owner: "tenant-0", Desc: true, Limit: barPage})
		q := task.ListQuery{SortKey: task.SortUpdated, Desc: true, Limit: barPage}
		upd := indexed.pageRRU(t, q)
		full := plain.pageRRU(t, q)
		t.Logf("%d tasks: a tenant's default page %.1f RRU; an admin's updatedAt page %.1f RRU with allUpdated, %.1f without", (round+1)*8*n, tenant, upd, full)
		if upd > 2*tenant {
			t.Errorf("%d tasks: the admin's updatedAt page costs %.1f RRU with the index, more than 2× a tenant's page (%.1f)", (round+1)*8*n, upd, tenant)
		}
		withIndex, without = append(withIndex, upd), append(without, full)
	}
	if withIndex[1] > withIndex[0] { // the shards' Queries round their keys' bytes apart: not equal to the unit
		t.Errorf("with the index the admin's updatedAt page costs %.1f RRU at 600 tasks and %.1f at 1,200: it grows with the table", withIndex[0], withIndex[1])
	}
	if without[1] <= without[0] {
		t.Errorf("without the index the admin's updatedAt page costs %.1f RRU at 600 tasks and %.1f at 1,200: the package comment says it grows", without[0], without[1])
	}
}

// rareType is the type of 1 % of TestTypePageCost's tasks.
const rareType = "rare"

// bars is a store on a fresh table whose calls the recorder bills, and a client that seeds it
// unrecorded.
type bars struct {
	rec   *costmodel.Recorder
	store *dynamostore.Store
	seedc *dynamodb.Client
	table string
	types *task.Registry
	now   time.Time
}

func setupBars(t *testing.T, o optIns) *bars {
	t.Helper()
	cfg := awstest.Config(t, "DYNAMODB")
	name := awstest.Name("bars")
	admin := dynamodb.NewFromConfig(cfg)
	opts := dynamostore.OptIns(o).TableOptions()
	if err := dynamostore.CreateTable(context.Background(), admin, name, opts...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = admin.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	rec := costmodel.NewRecorder(cfg, nil, dynamostore.TableInput(name, opts...))
	db := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.HTTPClient = &http.Client{Transport: rec} })
	reg, err := tasktypes.Registry()
	if err != nil {
		t.Fatal(err)
	}
	return &bars{rec: rec, store: dynamostore.New(db, name, dynamostore.OptIns(o).Options()...), seedc: admin, table: name, types: reg,
		now: barBase.Add(24 * time.Hour)}
}

// barBase is the creation time of the first seeded task.
var barBase = time.Date(2026, 11, 22, 8, 30, 0, 0, time.UTC)

// seed writes n pending demo tasks of owner, one a second from barBase + offset ms, every
// rareEvery-th of type rareType (none when 0), with fixed ids.
func (b *bars) seed(t *testing.T, owner string, n, rareEvery int, offset int64) {
	t.Helper()
	spec := task.Spec{Type: "demo", Name: "Provision web-01", Input: json.RawMessage(
		`{"steps":[{"name":"Validate","durationMs":100},{"name":"Allocate","durationMs":100},{"name":"Configure","durationMs":100}]}`)}
	var batch []types.WriteRequest
	flush := func() {
		for len(batch) > 0 {
			out, err := b.seedc.BatchWriteItem(t.Context(), &dynamodb.BatchWriteItemInput{
				RequestItems: map[string][]types.WriteRequest{b.table: batch},
			})
			if err != nil {
				t.Fatalf("seed: %v", err)
			}
			batch = out.UnprocessedItems[b.table]
		}
	}
	for i := range n {
		created := barBase.Add(time.Duration(i)*time.Second + time.Duration(offset)*time.Millisecond)
		tk, err := b.types.New(fixedID(created, owner, i), owner, spec, created)
		if err != nil {
			t.Fatal(err)
		}
		if rareEvery > 0 && i%rareEvery == rareEvery-1 {
			tk.Type = rareType
		}
		item, err := dynamostore.TaskItem(tk)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		if len(batch) == 25 {
			flush()
		}
	}
	flush()
}

// fixedID is a ULID of created's millisecond whose other 80 bits are a hash of owner and i:
// fixed across runs, so the shards and the counts are too.
func fixedID(created time.Time, owner string, i int) string {
	const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	var out [26]byte
	ms := uint64(created.UnixMilli())
	for j := 9; j >= 0; j-- {
		out[j] = crockford[ms&31]
		ms >>= 5
	}
	h := uint64(14695981039346656037)
	for _, c := range []byte(fmt.Sprintf("%s#%d", owner, i)) {
		h = (h ^ uint64(c)) * 1099511628211
	}
	for j := 25; j >= 10; j-- {
		out[j] = crockford[h&31]
		h = h>>5 | h<<59
	}
	return string(out[:])
}

// pageRRU is the read units of the first page of q (its Now set to the bars' now), failing
// unless the page is full.
func (b *bars) pageRRU(t *testing.T, q task.ListQuery) float64 {
	t.Helper()
	q.Now = b.now
	b.rec.Reset()
	p, err := b.store.List(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tasks) != q.Limit {
		t.Fatalf("List owner=%q type=%q: %d tasks, want a full page of %d", q.Owner, q.Type, len(p.Tasks), q.Limit)
	}
	return b.rru()
}

// rru is the read units of the calls recorded since the last Reset, failing on any the model
// cannot bill.
func (b *bars) rru() float64 {
	u := costmodel.Usage{Calls: b.rec.Calls()}
	if un := u.Unbilled(); len(un) > 0 {
		panic(fmt.Sprintf("calls the model cannot bill: %v", un))
	}
	return u.RRU()
}

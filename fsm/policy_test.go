package fsm

import (
	"testing"
	"time"

	"github.com/nai-project/nai/structs"
)

func TestApplyPolicy(t *testing.T) {
	f, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	user := structs.AccountDeleteRequest{Kind: structs.AccountUser, Name: "alice"}
	steps := []struct {
		name  string
		t     MessageType
		req   any
		check func(t *testing.T, resp any)
	}{
		{"queue upsert", QueueUpsert, &structs.QueueUpsertRequest{Queue: &structs.Queue{Name: "long", MaxTimeLimit: structs.Duration(72 * time.Hour)}}, wantNil},
		{"invalid queue", QueueUpsert, &structs.QueueUpsertRequest{Queue: &structs.Queue{Name: "bad name"}}, wantCode(structs.CodeInvalid)},
		{"share upsert", ShareUpsert, &structs.ShareUpsertRequest{Share: &structs.Share{Kind: structs.AccountUser, Name: "alice", Shares: 2}}, wantNil},
		{"quota upsert", QuotaUpsert, &structs.QuotaUpsertRequest{Quota: &structs.AccountQuota{Kind: structs.AccountUser, Name: "alice", Quota: structs.Quota{MaxGPUs: 4}}}, wantNil},
		{"share delete", ShareDelete, &user, wantNil},
		{"quota delete", QuotaDelete, &user, wantNil},
		{"quota delete again", QuotaDelete, &user, wantCode(structs.CodeNotFound)},
		{"queue delete unknown", QueueDelete, &structs.QueueDeleteRequest{Name: "nope"}, wantCode(structs.CodeNotFound)},
	}
	for i, s := range steps {
		t.Run(s.name, func(t *testing.T) { s.check(t, f.Apply(entry(t, uint64(i+1), s.t, s.req))) })
	}
	sn := f.State().Snapshot()
	qs, _ := sn.Queues(nil)
	shares, _ := sn.Shares(nil)
	if len(qs) != 1 || qs[0].Name != "long" || len(shares) != 0 {
		t.Errorf("final state: queues %+v, shares %+v", qs, shares)
	}
	for _, mt := range []MessageType{QueueUpsert, QueueDelete, ShareUpsert, ShareDelete, QuotaUpsert, QuotaDelete} {
		if mt < 20 || mt > 29 {
			t.Errorf("%s is numbered %d, outside the policy range 20-29", mt, mt)
		}
	}
}

package fsm

import (
	"encoding/json"
	"fmt"
)

// MessageType is the first byte of a raft log entry. Values are part of the
// log format: never renumber or reuse one.
type MessageType uint8

const (
	JobRegister  MessageType = 0
	JobCancel    MessageType = 1
	NodeRegister MessageType = 2
	NodeStatus   MessageType = 3
	PlanApply    MessageType = 4
	AllocUpdate  MessageType = 5

	// Scheduling policy (queues, shares, quotas): 20-29.
	QueueUpsert MessageType = 20
	QueueDelete MessageType = 21
	ShareUpsert MessageType = 22
	ShareDelete MessageType = 23
	QuotaUpsert MessageType = 24
	QuotaDelete MessageType = 25

	// Datasets and models: 10-19.
	DatasetPush    MessageType = 10
	ModelPush      MessageType = 11
	ArtifactDelete MessageType = 12
	BlobRegister   MessageType = 13
	BlobDrop       MessageType = 14
	BlobSweep      MessageType = 15

	// Node drain and eligibility: 40-49.
	NodeDrain         MessageType = 40
	NodeEligibility   MessageType = 41
	NodeDrainProgress MessageType = 42
)

// IgnoreUnknownFlag marks an entry that a server which does not know its
// type may skip instead of stopping.
const IgnoreUnknownFlag MessageType = 128

// encodingVersion is the second byte of an entry: the version of the
// request encoding that follows.
const encodingVersion = 1

var messageNames = map[MessageType]string{
	JobRegister:    "JobRegister",
	JobCancel:      "JobCancel",
	NodeRegister:   "NodeRegister",
	NodeStatus:     "NodeStatus",
	PlanApply:      "PlanApply",
	AllocUpdate:    "AllocUpdate",
	QueueUpsert:    "QueueUpsert",
	QueueDelete:    "QueueDelete",
	ShareUpsert:    "ShareUpsert",
	ShareDelete:    "ShareDelete",
	QuotaUpsert:    "QuotaUpsert",
	QuotaDelete:    "QuotaDelete",
	DatasetPush:    "DatasetPush",
	ModelPush:      "ModelPush",
	ArtifactDelete: "ArtifactDelete",
	BlobRegister:   "BlobRegister",
	BlobDrop:       "BlobDrop",
	BlobSweep:      "BlobSweep",

	// Node drain and eligibility.
	NodeDrain:         "NodeDrain",
	NodeEligibility:   "NodeEligibility",
	NodeDrainProgress: "NodeDrainProgress",
}

func (t MessageType) String() string {
	if n, ok := messageNames[t]; ok {
		return n
	}
	if t&IgnoreUnknownFlag != 0 {
		return fmt.Sprintf("MessageType(%d|ignore-unknown)", uint8(t&^IgnoreUnknownFlag))
	}
	return fmt.Sprintf("MessageType(%d)", uint8(t))
}

// Encode makes a raft log entry: the type byte, the version byte, then the
// request as JSON.
func Encode(t MessageType, req any) ([]byte, error) {
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", t, err)
	}
	buf := make([]byte, 0, 2+len(body))
	buf = append(buf, byte(t), encodingVersion)
	return append(buf, body...), nil
}

// decode reads the JSON request of an entry into a fresh T.
func decode[T any](t MessageType, body []byte) (*T, error) {
	v := new(T)
	if err := json.Unmarshal(body, v); err != nil {
		return nil, fmt.Errorf("decode %s: %w", t, err)
	}
	return v, nil
}

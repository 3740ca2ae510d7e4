package fsm

import "fmt"

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
	AllocUpdates MessageType = 6
	JobHold      MessageType = 7
	JobUpdate    MessageType = 8

	// Datasets and models: 10-19.
	DatasetPush    MessageType = 10
	ModelPush      MessageType = 11
	ArtifactDelete MessageType = 12
	BlobRegister   MessageType = 13
	BlobDrop       MessageType = 14
	BlobSweep      MessageType = 15
	PluginPush     MessageType = 16

	// Scheduling policy (queues, shares, quotas): 20-29.
	QueueUpsert MessageType = 20
	QueueDelete MessageType = 21
	ShareUpsert MessageType = 22
	ShareDelete MessageType = 23
	QuotaUpsert MessageType = 24
	QuotaDelete MessageType = 25

	// Node drain and eligibility: 40-49.
	NodeDrain         MessageType = 40
	NodeEligibility   MessageType = 41
	NodeDrainProgress MessageType = 42

	// Identity and access: 50-59.
	ACLBootstrap MessageType = 50
	ServerSecret MessageType = 51
	UserUpsert   MessageType = 52
	UserDelete   MessageType = 53
	GroupUpsert  MessageType = 54
	GroupDelete  MessageType = 55
	GroupMember  MessageType = 56
	TokenCreate  MessageType = 57
	TokenRevoke  MessageType = 58

	// Accounting and audit: 60-69.
	AuditAppend MessageType = 60
	JobGC       MessageType = 61

	// Services: 70-79.
	ServiceScale    MessageType = 70
	ServiceRollout  MessageType = 71
	ServiceRollback MessageType = 72
)

// IgnoreUnknownFlag marks an entry that a server which does not know its
// type (or its encoding version) may skip instead of stopping. It is a bit
// of the type byte, never part of a command's number.
const IgnoreUnknownFlag MessageType = 128

// Base is the command number without the IgnoreUnknownFlag bit.
func (t MessageType) Base() MessageType { return t &^ IgnoreUnknownFlag }

func (t MessageType) String() string {
	base := t.Base()
	name := fmt.Sprintf("MessageType(%d)", uint8(base))
	if c, ok := commands[base]; ok {
		name = c.name
	}
	if t&IgnoreUnknownFlag != 0 {
		name += "|ignore-unknown"
	}
	return name
}

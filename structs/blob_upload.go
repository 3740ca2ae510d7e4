package structs

import "time"

// BlobUpload is one blob a user uploaded to one server, as that server
// remembers it (in memory, until the blob retention has passed): who
// uploaded a digest may name it in a push or a job's code; anyone else
// must be able to read something that already names it. Servers ask each
// other for a user's (GET /v1/operator/uploads/{user}).
type BlobUpload struct {
	Digest string    `json:"digest"`
	Size   int64     `json:"size"`
	Time   time.Time `json:"time"`
}

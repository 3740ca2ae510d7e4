package structs

import (
	"errors"
	"fmt"
)

// ErrorCode is the typed code sent in an API error body, so callers across
// HTTP can act on a condition without matching error text.
type ErrorCode string

const (
	CodeNotFound ErrorCode = "not_found"
	CodeInvalid  ErrorCode = "invalid"
	CodeConflict ErrorCode = "conflict"
	// CodeNotLeader: the server that took a write is not the raft
	// leader, or none is elected yet, and nothing was written: the same
	// request may be sent again (the API client does, for a while).
	CodeNotLeader   ErrorCode = "not_leader"
	CodeUnavailable ErrorCode = "unavailable"
	// CodeCatchingUp: the server that answered has not yet applied the
	// raft log it holds or the leader committed (it just started, or was
	// away), so it answers nothing from its state (HTTP 503); another
	// server may answer, or the same one a moment later.
	CodeCatchingUp ErrorCode = "catching_up"
	CodeInternal   ErrorCode = "internal"
	// CodeUnauthorized: no credential, or one that is unknown, expired
	// or revoked (HTTP 401).
	CodeUnauthorized ErrorCode = "unauthorized"
	// CodeForbidden: a known caller without the right asked for (HTTP
	// 403); the message names the missing right.
	CodeForbidden ErrorCode = "forbidden"
	// CodeQuotaExceeded: a group or user is at a limit (HTTP 403 too).
	CodeQuotaExceeded ErrorCode = "quota_exceeded"
)

// Sentinels for conditions callers act on. Errors made by NewError match
// them with errors.Is by code.
var (
	ErrNotFound     = &Error{Code: CodeNotFound, Message: "not found"}
	ErrInvalid      = &Error{Code: CodeInvalid, Message: "invalid request"}
	ErrConflict     = &Error{Code: CodeConflict, Message: "conflict"}
	ErrNotLeader    = &Error{Code: CodeNotLeader, Message: "not the leader"}
	ErrUnavailable  = &Error{Code: CodeUnavailable, Message: "unavailable"}
	ErrUnauthorized = &Error{Code: CodeUnauthorized, Message: "unauthorized"}
	ErrForbidden    = &Error{Code: CodeForbidden, Message: "forbidden"}
	ErrQuota        = &Error{Code: CodeQuotaExceeded, Message: "quota exceeded"}
)

// Error is an error with a code; it is the body of every API error:
// {"error": {"code": "not_found", "message": "job 42 not found"}}.
type Error struct {
	Code    ErrorCode `json:"code"`
	Message string    `json:"message"`
}

func (e *Error) Error() string { return e.Message }

// Is matches errors of the same code, so errors.Is(err, ErrNotFound) works
// for any not-found error, including one rebuilt from an HTTP answer.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Code == e.Code
	}
	return false
}

// NewError makes a coded error with a formatted message.
func NewError(code ErrorCode, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of err, or CodeInternal when it has none.
func CodeOf(err error) ErrorCode {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

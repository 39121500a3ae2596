package sessionstore

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrConflict is returned by [Store.Save] when the stored version is not
	// the one the record was read at: another request saved the session in
	// between. The Manager handles it by reloading and reapplying the
	// request's changes. When they no longer apply (they no longer fit, an
	// [Update] function refuses the value it is given now, the session
	// ended meanwhile) or still conflict after 8 replays, the error passed
	// to [Config].ErrorHandler wraps it, and the default answers 409
	// Conflict.
	ErrConflict = errors.New("sessionstore: version conflict")

	// ErrTooLarge is returned to a handler by [Session.Put] and [Update]
	// when the change would make the session's data larger than
	// [Config].MaxSize. The change is not applied. At commit, where the
	// request's changes no longer fit once replayed on a session that a
	// concurrent request made larger, it comes with [ErrConflict].
	ErrTooLarge = errors.New("sessionstore: session data too large")

	// ErrInvalidValue is returned to a handler by [Session.Put], [Update]
	// and [Session.SetUserID] for a key, value or user ID that a store could
	// not give back unchanged: a string holding U+0000 or invalid UTF-8,
	// nesting deeper than 1000 levels, a number beyond PostgreSQL's numeric
	// range. The change is not applied.
	ErrInvalidValue = errors.New("sessionstore: value cannot be stored")

	// ErrNotReady is wrapped by the errors of a [PostgresStore] whose
	// initialisation has not succeeded yet, and by [Manager.Ready].
	ErrNotReady = errors.New("sessionstore: store not ready")

	// ErrUnavailable is wrapped by [Session.Err], and returned by every
	// change, in a handler wrapped by [Manager.Tolerant] whose session the
	// store could not load: the handler answers without it.
	ErrUnavailable = errors.New("sessionstore: session unavailable (the store cannot be reached); it reads as empty and cannot be changed")

	// ErrCommitted is returned by changes made to a session after its
	// response was started (headers written or flushed): the session was
	// already saved, and a later change would be lost.
	ErrCommitted = errors.New("sessionstore: session already committed; change it before writing the response")

	// ErrNoSession is returned by the methods of a nil *Session: the
	// request did not pass through [Manager.Middleware].
	ErrNoSession = errors.New("sessionstore: no session in context (missing Manager.Middleware?)")
)

// errNotSaved is returned by writes of a response whose session could not
// be saved: the error handler has answered instead.
var errNotSaved = errors.New("sessionstore: session not saved; response replaced by the error handler")

// wrapf is fmt.Errorf for an error that wraps errors of this package, which
// already say "sessionstore: ": the result says it once, at its start, and
// unwraps as fmt.Errorf's would, so errors.Is finds every sentinel in it.
func wrapf(format string, args ...any) error {
	err := fmt.Errorf(format, args...)
	return &wrapped{msg: "sessionstore: " + strings.ReplaceAll(err.Error(), "sessionstore: ", ""), err: err}
}

type wrapped struct {
	msg string
	err error
}

func (w *wrapped) Error() string { return w.msg }
func (w *wrapped) Unwrap() error { return w.err }

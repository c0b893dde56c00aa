package layers

import (
	"errors"
	"fmt"
)

// Sentinel errors callers branch on; the web package maps them to HTTP
// status in one place.
var (
	ErrUnknownLayer = errors.New("unknown layer")
	ErrNotFound     = errors.New("not found")
	ErrInvalid      = errors.New("invalid input")
	ErrUnavailable  = errors.New("store unavailable")
	ErrConflict     = errors.New("conflict")
)

// ValidationError says which feature and field of which layer is wrong and
// why. It unwraps to ErrInvalid.
type ValidationError struct {
	Layer  string
	ID     int64  // 0 when the feature has no id yet
	Field  string // "" for the geometry or the feature as a whole
	Reason string
}

func (e *ValidationError) Error() string {
	where := e.Layer
	if e.ID != 0 {
		where += fmt.Sprintf(" feature %d", e.ID)
	}
	if e.Field != "" {
		where += fmt.Sprintf(" field %q", e.Field)
	}
	return where + ": " + e.Reason
}

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

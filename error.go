// Package healthgraph holds the domain of HealthGraph: its types, its error
// vocabulary and the store interfaces the resolvers need. It imports nothing
// of ours; every other package points inward to it.
package healthgraph

import (
	"errors"
	"fmt"
)

// Error codes shared by every layer. Each edge translates them once: the
// store maps driver errors onto them and the GraphQL presenter maps them onto
// extensions.code.
const (
	ENOTFOUND        = "NOT_FOUND"
	ECONFLICT        = "CONFLICT"
	EINVALID         = "BAD_USER_INPUT"
	EUNAUTHENTICATED = "UNAUTHENTICATED"
	EFORBIDDEN       = "FORBIDDEN"
	ERATELIMITED     = "RATE_LIMITED"
	EUNAVAILABLE     = "UNAVAILABLE"
	EINTERNAL        = "INTERNAL"
)

// Error is a domain error whose message is safe to show to the caller.
// Field names the input field at fault, when there is one.
type Error struct {
	Code    string
	Field   string
	Message string
	// Rules are the NPHIES rule ids a refused claim breaks, for the client
	// to act on (extensions.rules).
	Rules []string
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("healthgraph error: code=%s field=%s message=%s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("healthgraph error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns a domain error with the given code.
func Errorf(code string, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a BAD_USER_INPUT error that names the offending field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the domain error wrapped in err, or EINTERNAL
// for any other non-nil error.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err. Errors that are not
// domain errors never reveal their text.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorField returns the input field a domain error names, if any.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

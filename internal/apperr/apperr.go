// Package apperr defines the one error type the product uses to tell callers
// what went wrong. Packages return *Error for conditions a caller can act on;
// anything else is an internal error whose details are logged, never shown.
package apperr

import (
	"errors"
	"fmt"
)

// Code classifies an error. The HTTP layer maps each code to one status.
type Code string

const (
	Invalid      Code = "invalid"      // the input is wrong; Field names which part
	Unauthorized Code = "unauthorized" // no valid credentials
	Forbidden    Code = "forbidden"    // credentials valid, action not allowed
	NotFound     Code = "not_found"    // no such resource in the caller's tenant
	Conflict     Code = "conflict"     // the resource exists or changed meanwhile
	Locked       Code = "locked"       // the tenant is read-only
	TooLarge     Code = "too_large"    // the request body exceeds the limit
	// UnsupportedMediaType: the body is not in a format the endpoint takes.
	UnsupportedMediaType Code = "unsupported_media_type"
	// TooManyRequests: the caller must wait (see RetryAfter) before trying again.
	TooManyRequests Code = "too_many_requests"
	Mismatch        Code = "mismatch" // an Idempotency-Key reused for a different request
	// OutOfRange: well-formed, but outside what exists (a moment outside a
	// restaurant's recovery chain); Field names which part.
	OutOfRange  Code = "out_of_range"
	Unavailable Code = "unavailable" // the database is unreachable or refuses work; retry later
	Internal    Code = "internal"    // a bug; details are logged only
)

// Error is an error a caller may see.
type Error struct {
	Code    Code
	Message string
	Field   string // the offending input field, when there is one
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Errorf builds an Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// InvalidField reports bad input in the named field.
func InvalidField(field, format string, args ...any) *Error {
	return &Error{Code: Invalid, Message: fmt.Sprintf(format, args...), Field: field}
}

// CodeOf returns the code of err, or Internal when err is not an *Error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries the given code.
func Is(err error, code Code) bool {
	return err != nil && CodeOf(err) == code
}

package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// MaxBodyBytes bounds every request body.
const MaxBodyBytes = 1 << 20

// statusOf is the one mapping from error codes to HTTP statuses.
var statusOf = map[apperr.Code]int{
	apperr.Invalid:              http.StatusBadRequest,
	apperr.Unauthorized:         http.StatusUnauthorized,
	apperr.Forbidden:            http.StatusForbidden,
	apperr.NotFound:             http.StatusNotFound,
	apperr.Conflict:             http.StatusConflict,
	apperr.Locked:               http.StatusLocked,
	apperr.TooLarge:             http.StatusRequestEntityTooLarge,
	apperr.UnsupportedMediaType: http.StatusUnsupportedMediaType,
	apperr.TooManyRequests:      http.StatusTooManyRequests,
	apperr.Mismatch:             http.StatusUnprocessableEntity,
	apperr.OutOfRange:           http.StatusUnprocessableEntity,
	apperr.Unavailable:          http.StatusServiceUnavailable,
	apperr.Internal:             http.StatusInternalServerError,
}

// RetryAfterSeconds is the Retry-After of an answer 503: long enough for a
// restarting database or a released lock, short enough that clients come
// back soon after the background check sees it return.
const RetryAfterSeconds = 2

// unavailable is the error a request gets when the database was not there
// or refused work: the driver's detail goes to the log (at most once a
// second, see availability.Reporter), never to the client.
var unavailable = &apperr.Error{Code: apperr.Unavailable, Message: "the database is unavailable; retry later"}

// isUnavailable tells whether err means the database was not there or
// refused work, whether the store reported it or a handler said so.
func isUnavailable(err error) bool {
	return apperr.Is(err, apperr.Unavailable) || (apperr.CodeOf(err) == apperr.Internal && store.Unavailable(err))
}

type errorBody struct {
	Error errorDetail `json:"error"`
	// JobID names the job a conflict is about (a restore already running),
	// so a client can follow it instead of starting another.
	JobID string `json:"job_id,omitempty"`
}

type errorDetail struct {
	Code    apperr.Code `json:"code"`
	Message string      `json:"message"`
	Field   string      `json:"field,omitempty"`
}

// writeError answers with the error's status and JSON body. Internal errors
// are logged with their detail and shown only as "internal error". An
// unavailable database is 503 with Retry-After, not logged here: the
// route's Reporter logs outages at most once a second.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *apperr.Error
	switch {
	case isUnavailable(err):
		if !errors.As(err, &e) || e.Code != apperr.Unavailable {
			e = unavailable
		}
	case !errors.As(err, &e):
		log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &apperr.Error{Code: apperr.Internal, Message: "internal error"}
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	setRetryAfter(w, err, status)
	body := errorBody{Error: errorDetail{Code: e.Code, Message: e.Message, Field: e.Field}}
	var running *store.RestoreRunning
	if errors.As(err, &running) {
		body.JobID = running.JobID
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeJSON reads one JSON object into dst, refusing a body not sent as
// JSON (415), text that is not text, unknown fields, wrong types, trailing
// data and bodies over MaxBodyBytes, each with an error that names the
// problem.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	return decodeJSONBody(r, body, dst)
}

// readBody reads a request body of at most MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return nil, jsonError(err)
	}
	return body, nil
}

// decodeJSONBody is decodeJSON over a body already read.
func decodeJSONBody(r *http.Request, body []byte, dst any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return apperr.Errorf(apperr.Invalid, "request body is required")
	}
	if err := checkJSONContentType(r); err != nil {
		return err
	}
	if err := checkJSONText(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		return apperr.Errorf(apperr.Invalid, "request body must hold a single JSON object")
	}
	return checkPresence(body, dst, nil)
}

func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return apperr.Errorf(apperr.TooLarge, "request body exceeds %d bytes", tooBig.Limit)
	case errors.Is(err, io.EOF):
		return apperr.Errorf(apperr.Invalid, "request body is required")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.Errorf(apperr.Invalid, "malformed JSON: unexpected end of body")
	case errors.As(err, &syntax):
		return apperr.Errorf(apperr.Invalid, "malformed JSON at byte %d: %s", syntax.Offset, syntax.Error())
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			return apperr.Errorf(apperr.Invalid, "request body must be a JSON object")
		}
		return apperr.InvalidField(field, "must be of type %s, not %s", typ.Type.String(), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return apperr.InvalidField(name, "unknown field")
	default:
		return apperr.Errorf(apperr.Invalid, "malformed JSON: %s", err.Error())
	}
}

// page reads page and per_page query parameters.
type page struct {
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
}

func (p page) offset() int { return (p.Page - 1) * p.PerPage }

const maxPerPage = 100

func readPage(r *http.Request) (page, error) {
	p := page{Page: 1, PerPage: 25}
	for _, f := range []struct {
		name string
		dst  *int
		max  int
	}{{"page", &p.Page, 1 << 30}, {"per_page", &p.PerPage, maxPerPage}} {
		v := r.URL.Query().Get(f.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > f.max {
			return p, apperr.InvalidField(f.name, "must be an integer from 1 to %d", f.max)
		}
		*f.dst = n
	}
	return p, nil
}

// requireString checks a required, bounded text field.
func requireString(field, v string, max int) error {
	if strings.TrimSpace(v) == "" {
		return apperr.InvalidField(field, "is required")
	}
	if len(v) > max {
		return apperr.InvalidField(field, "must be at most %d characters", max)
	}
	return nil
}

// setRetryAfter tells a client refused for now when to come back: after an
// outage's usual length, or when its sign-in throttle opens.
func setRetryAfter(w http.ResponseWriter, err error, status int) {
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(RetryAfterSeconds))
	}
	var throttled *auth.Throttled
	if errors.As(err, &throttled) {
		w.Header().Set("Retry-After", strconv.Itoa(throttled.RetrySeconds()))
	}
}

package httpapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/jsonenc"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// flagRoutes are the feature flags: the admin API on the Rails paths, an
// evaluation endpoint, and the OpenFeature Remote Evaluation Protocol.
func flagRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/admin/feature_flags", Handler: (*Server).listFlags, Roles: admins, Scope: TenantOptional},
		{Method: "POST", Pattern: "/admin/feature_flags", Handler: (*Server).createFlag, Roles: superAdmins, Scope: TenantOptional},
		{Method: "GET", Pattern: "/admin/feature_flags/stale", Handler: (*Server).staleFlags, Roles: admins, Scope: TenantScoped},
		{Method: "GET", Pattern: "/admin/feature_flags/{id}", Handler: (*Server).getFlag, Roles: admins, Scope: TenantOptional},
		{Method: "PATCH", Pattern: "/admin/feature_flags/{id}", Handler: (*Server).updateFlag, Roles: superAdmins, Scope: TenantOptional},
		{Method: "DELETE", Pattern: "/admin/feature_flags/{id}", Handler: (*Server).deleteFlag, Roles: superAdmins, Scope: TenantOptional},
		{Method: "POST", Pattern: "/admin/feature_flags/enable_for_tenant", Handler: (*Server).enableForTenant, Roles: superAdmins, Scope: TenantScoped},
		{Method: "POST", Pattern: "/admin/feature_flags/disable_for_tenant", Handler: (*Server).disableForTenant, Roles: superAdmins, Scope: TenantScoped},
		{Method: "POST", Pattern: "/admin/feature_flags/enable_globally", Handler: (*Server).enableGlobally, Roles: superAdmins, Scope: NoTenant},
		{Method: "POST", Pattern: "/admin/feature_flags/disable_globally", Handler: (*Server).disableGlobally, Roles: superAdmins, Scope: NoTenant},

		{Method: "GET", Pattern: "/api/v1/feature_flags/evaluate", Handler: (*Server).evaluateFlags, Roles: anyRole, Scope: TenantScoped, SDKKey: true},

		// Evaluations change nothing; POST is the protocol's choice, so they
		// also answer on a read-only tenant.
		{Method: "POST", Pattern: "/ofrep/v1/evaluate/flags/{key}", Handler: (*Server).ofrepSingle, Roles: anyRole, Scope: TenantScoped, Always: true, SDKKey: true, OFREP: true},
		{Method: "POST", Pattern: "/ofrep/v1/evaluate/flags", Handler: (*Server).ofrepBulk, Roles: anyRole, Scope: TenantScoped, Always: true, SDKKey: true, OFREP: true},

		// SDK keys: a restaurant's credentials for flag evaluation only.
		{Method: "GET", Pattern: "/admin/sdk_keys", Handler: (*Server).listSDKKeys, Roles: admins, Scope: TenantScoped},
		{Method: "POST", Pattern: "/admin/sdk_keys", Handler: (*Server).createSDKKey, Roles: admins, Scope: TenantScoped},
		{Method: "DELETE", Pattern: "/admin/sdk_keys/{id}", Handler: (*Server).revokeSDKKey, Roles: admins, Scope: TenantScoped, Always: true},
	}
}

func (s *Server) listSDKKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := s.DB.SDKKeys(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"sdk_keys": keys})
	return nil
}

type sdkKeyRequest struct {
	Name string `json:"name"`
}

func (s *Server) createSDKKey(w http.ResponseWriter, r *http.Request) error {
	var req sdkKeyRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	k, key, err := s.Auth.CreateSDKKey(r.Context(), req.Name)
	if err != nil {
		return err
	}
	// The key is shown this once; only its hash is kept.
	writeJSON(w, http.StatusCreated, map[string]any{"sdk_key": k, "key": key})
	return nil
}

func (s *Server) revokeSDKKey(w http.ResponseWriter, r *http.Request) error {
	k, err := s.DB.RevokeSDKKey(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"sdk_key": k})
	return nil
}

// writeOFREPError answers an error on an OFREP route in the protocol's
// shape: {"errorCode", "errorDetails"}, with the flag's key on single-flag
// evaluation. The status stays what it would be elsewhere (400, 401, 403,
// 404, 429 …); the code is the protocol's nearest.
func writeOFREPError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *apperr.Error
	if !errors.As(err, &e) {
		log.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &apperr.Error{Code: apperr.Internal, Message: "internal error"}
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	setRetryAfter(w, err, status)
	details := e.Message
	if e.Field != "" {
		details = e.Field + ": " + e.Message // OFREP's error has no field of its own
	}
	body := ofrepError{Key: r.PathValue("key"), ErrorCode: "GENERAL", ErrorDetails: details}
	switch {
	case status == http.StatusNotFound:
		body.ErrorCode = "FLAG_NOT_FOUND"
	case e.Code == apperr.TooLarge:
		body.ErrorCode = "PARSE_ERROR"
	}
	writeJSON(w, status, body)
}

func (s *Server) listFlags(w http.ResponseWriter, r *http.Request) error {
	l, err := s.Flags.List(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, l)
	return nil
}

// flagChangeRequest is the body of PATCH (and, with key and global, POST).
type flagChangeRequest struct {
	Description   *string              `json:"description"`
	Enabled       *bool                `json:"enabled"`
	Percentage    json.RawMessage      `json:"percentage" openapi:"integer"`
	Configuration json.RawMessage      `json:"configuration"`
	Variants      *[]store.FlagVariant `json:"variants"`
}

// flagCreateRequest repeats the fields of flagChangeRequest rather than
// embedding it, so a type error names the field as the client sent it.
type flagCreateRequest struct {
	Key           string               `json:"key"`
	Global        bool                 `json:"global"`
	Description   *string              `json:"description"`
	Enabled       *bool                `json:"enabled"`
	Percentage    json.RawMessage      `json:"percentage" openapi:"integer"`
	Configuration json.RawMessage      `json:"configuration"`
	Variants      *[]store.FlagVariant `json:"variants"`
}

// change turns the request into a flags.Change: an absent percentage keeps,
// null clears, a number sets; a null configuration resets to {}.
func (req flagChangeRequest) change() (flags.Change, error) {
	c := flags.Change{Description: req.Description, Enabled: req.Enabled, Variants: req.Variants}
	if req.Percentage != nil {
		if string(req.Percentage) == "null" {
			c.ClearPercentage = true
		} else {
			p, err := parsePercentage(req.Percentage)
			if err != nil {
				return c, err
			}
			c.Percentage = &p
		}
	}
	if req.Configuration != nil {
		c.Configuration = req.Configuration
		if string(req.Configuration) == "null" {
			c.Configuration = json.RawMessage(`{}`)
		}
	}
	return c, nil
}

func parsePercentage(raw json.RawMessage) (int, error) {
	var p int
	if err := json.Unmarshal(raw, &p); err != nil || p < 0 || p > 100 {
		return 0, apperr.InvalidField("percentage", "must be an integer from 0 to 100, or null")
	}
	return p, nil
}

func (s *Server) createFlag(w http.ResponseWriter, r *http.Request) error {
	var req flagCreateRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if _, ok := tenancy.Tenant(r.Context()); !ok && !req.Global {
		return apperr.InvalidField("global", `choose a restaurant with the %s header, or set "global": true for a platform default`, TenantHeader)
	}
	c, err := flagChangeRequest{Description: req.Description, Enabled: req.Enabled, Percentage: req.Percentage,
		Configuration: req.Configuration, Variants: req.Variants}.change()
	if err != nil {
		return err
	}
	f, err := s.Flags.Create(r.Context(), req.Key, req.Global, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"feature_flag": f})
	return nil
}

func (s *Server) getFlag(w http.ResponseWriter, r *http.Request) error {
	f, err := s.Flags.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"feature_flag": f})
	return nil
}

func (s *Server) updateFlag(w http.ResponseWriter, r *http.Request) error {
	var req flagChangeRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	c, err := req.change()
	if err != nil {
		return err
	}
	f, err := s.Flags.Update(r.Context(), r.PathValue("id"), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"feature_flag": f})
	return nil
}

func (s *Server) deleteFlag(w http.ResponseWriter, r *http.Request) error {
	if _, err := s.Flags.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// toggleRequest is the body of enable_/disable_ for_tenant and globally.
type toggleRequest struct {
	Key        string          `json:"key"`
	Percentage json.RawMessage `json:"percentage" openapi:"integer"`
}

func (s *Server) toggle(w http.ResponseWriter, r *http.Request, global, on bool) error {
	var req toggleRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	var f store.FeatureFlag
	var err error
	if on {
		var p *int
		if req.Percentage != nil && string(req.Percentage) != "null" {
			n, err := parsePercentage(req.Percentage)
			if err != nil {
				return err
			}
			p = &n
		}
		f, err = s.Flags.Enable(r.Context(), req.Key, global, p)
	} else {
		if req.Percentage != nil {
			return apperr.InvalidField("percentage", "disabling clears the percentage; do not send one")
		}
		f, err = s.Flags.Disable(r.Context(), req.Key, global)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"feature_flag": f})
	return nil
}

func (s *Server) enableForTenant(w http.ResponseWriter, r *http.Request) error {
	return s.toggle(w, r, false, true)
}

func (s *Server) disableForTenant(w http.ResponseWriter, r *http.Request) error {
	return s.toggle(w, r, false, false)
}

func (s *Server) enableGlobally(w http.ResponseWriter, r *http.Request) error {
	return s.toggle(w, r, true, true)
}

func (s *Server) disableGlobally(w http.ResponseWriter, r *http.Request) error {
	return s.toggle(w, r, true, false)
}

func (s *Server) staleFlags(w http.ResponseWriter, r *http.Request) error {
	days := 30
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3650 {
			return apperr.InvalidField("days", "must be an integer from 1 to 3650")
		}
		days = n
	}
	stale, err := s.Flags.Stale(r.Context(), days)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"days": days, "stale_flags": stale})
	return nil
}

// evaluation is one flag's answer on the evaluation endpoint.
type evaluation struct {
	Enabled bool         `json:"enabled"`
	Variant string       `json:"variant,omitempty"`
	Reason  flags.Reason `json:"reason"`
	Exists  bool         `json:"exists"`
}

const maxEvaluateKeys = 100

// evaluateFlags answers GET /api/v1/feature_flags/evaluate?keys=a,b&entity_id=…
// for the current tenant; without keys, every flag the tenant has.
func (s *Server) evaluateFlags(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	entity := q.Get("entity_id")
	if len(entity) > 256 {
		return apperr.InvalidField("entity_id", "must be at most 256 characters")
	}
	out := map[string]evaluation{}
	if raw := q.Get("keys"); raw != "" {
		keys := strings.Split(raw, ",")
		if len(keys) > maxEvaluateKeys {
			return apperr.InvalidField("keys", "at most %d keys", maxEvaluateKeys)
		}
		for _, k := range keys {
			k = strings.TrimSpace(k)
			if err := flags.ValidateKey(k); err != nil {
				return apperr.InvalidField("keys", "%q is not a flag key", k)
			}
			res := s.Flags.Evaluate(r.Context(), k, entity)
			out[k] = evaluation{Enabled: res.Value, Variant: res.Variant, Reason: res.Reason, Exists: res.Found}
		}
	} else {
		for _, res := range s.Flags.EvaluateAll(r.Context(), entity) {
			out[res.Key] = evaluation{Enabled: res.Value, Variant: res.Variant, Reason: res.Reason, Exists: true}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entity_id": entity, "flags": out})
	return nil
}

// OFREP (https://openfeature.dev/specification/appendix-c): the JSON shapes
// and error codes of the protocol, not the product's error body.

type ofrepSuccess struct {
	Key      string        `json:"key"`
	Value    any           `json:"value"`
	Reason   flags.Reason  `json:"reason"`
	Variant  string        `json:"variant"`
	Metadata ofrepMetadata `json:"metadata"`
}

// ofrepMetadata is a struct, not a map: it is encoded on every evaluation.
type ofrepMetadata struct {
	Global bool `json:"global"`
}

type ofrepError struct {
	Key          string `json:"key,omitempty"`
	ErrorCode    string `json:"errorCode"`
	ErrorDetails string `json:"errorDetails"`
	status       int    // 400 unless set
}

func (e *ofrepError) httpStatus() int {
	if e.status != 0 {
		return e.status
	}
	return http.StatusBadRequest
}

// appendJSON appends the success as encoding/json writes it
// (FuzzOFREPJSON): it is encoded on every evaluation.
func (o *ofrepSuccess) appendJSON(b []byte) []byte {
	b = append(b, `{"key":`...)
	b = jsonenc.AppendString(b, o.Key)
	b = append(b, `,"value":`...)
	switch v := o.Value.(type) {
	case bool:
		b = strconv.AppendBool(b, v)
	case string:
		b = jsonenc.AppendString(b, v)
	default:
		enc, err := json.Marshal(v)
		if err != nil {
			enc = []byte("null")
		}
		b = append(b, enc...)
	}
	b = append(b, `,"reason":`...)
	b = jsonenc.AppendString(b, string(o.Reason))
	b = append(b, `,"variant":`...)
	b = jsonenc.AppendString(b, o.Variant)
	b = append(b, `,"metadata":{"global":`...)
	b = strconv.AppendBool(b, o.Metadata.Global)
	return append(b, "}}"...)
}

// appendJSON appends the error as encoding/json writes it (FuzzOFREPJSON).
func (e *ofrepError) appendJSON(b []byte) []byte {
	b = append(b, '{')
	if e.Key != "" {
		b = append(b, `"key":`...)
		b = jsonenc.AppendString(b, e.Key)
		b = append(b, ',')
	}
	b = append(b, `"errorCode":`...)
	b = jsonenc.AppendString(b, e.ErrorCode)
	b = append(b, `,"errorDetails":`...)
	b = jsonenc.AppendString(b, e.ErrorDetails)
	return append(b, '}')
}

// writeJSONBody answers with a body already encoded, with writeJSON's
// headers.
func writeJSONBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["X-Content-Type-Options"] = noSniff
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Header values shared by every answer: net/http only reads them, Set
// replaces them and Add, appending to a full slice, copies one.
var (
	jsonContentType = []string{"application/json"}
	noSniff         = []string{"nosniff"}
	noStore         = []string{"no-store"}
)

// ofrepContext reads {"context": {...}} and returns its targetingKey. An
// empty body is an empty context.
func ofrepContext(w http.ResponseWriter, r *http.Request) (string, *ofrepError) {
	body, err := readOFREPBody(w, r)
	if err != nil {
		return "", &ofrepError{ErrorCode: "PARSE_ERROR", ErrorDetails: "request body unreadable or over 1 MiB"}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return "", nil
	}
	if err := checkJSONContentType(r); err != nil {
		return "", &ofrepError{ErrorCode: "PARSE_ERROR", ErrorDetails: err.Error(), status: http.StatusUnsupportedMediaType}
	}
	if key, ok := plainTargetingKey(body); ok {
		return key, nil
	}
	return decodeOFREPContext(body)
}

// readOFREPBody reads the body into a buffer of its declared length, so a
// small body costs one allocation.
func readOFREPBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	rd := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	if n := r.ContentLength; n > 0 && n <= MaxBodyBytes {
		buf := make([]byte, n, n+1)
		if _, err := io.ReadFull(rd, buf); err != nil {
			return nil, err
		}
		// Nothing may follow the declared length (net/http already stops
		// there; this keeps the reader's own errors).
		var one [1]byte
		if m, err := rd.Read(one[:]); m > 0 || (err != nil && err != io.EOF) {
			if err == nil {
				err = errors.New("body longer than its Content-Length")
			}
			return nil, err
		}
		return buf, nil
	}
	return io.ReadAll(rd)
}

// plainTargetingKey reads the body every OpenFeature provider sends,
// {"context":{"targetingKey":"…"}} with a key of printable ASCII and no
// escapes (whitespace allowed between tokens), without a decoder. It
// answers false for anything else, which then goes through
// decodeOFREPContext; where it answers true, the decoder gives the same key
// (FuzzPlainTargetingKey).
func plainTargetingKey(body []byte) (string, bool) {
	i := 0
	space := func() {
		for i < len(body) && (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r') {
			i++
		}
	}
	token := func(t string) bool {
		space()
		if len(body)-i < len(t) || string(body[i:i+len(t)]) != t {
			return false
		}
		i += len(t)
		return true
	}
	if !token("{") || !token(`"context"`) || !token(":") || !token("{") || !token(`"targetingKey"`) || !token(":") || !token(`"`) {
		return "", false
	}
	start := i
	for i < len(body) && body[i] != '"' {
		if c := body[i]; c < 0x20 || c > 0x7e || c == '\\' {
			return "", false
		}
		i++
	}
	if i == len(body) || i-start > 256 {
		return "", false
	}
	key := string(body[start:i])
	i++
	if !token("}") || !token("}") {
		return "", false
	}
	space()
	if i != len(body) {
		return "", false
	}
	return key, true
}

// decodeOFREPContext reads any other context through the JSON text checks
// and the decoder.
func decodeOFREPContext(body []byte) (string, *ofrepError) {
	if err := checkJSONText(body); err != nil {
		var e *apperr.Error
		if errors.As(err, &e) && e.Field != "" {
			return "", &ofrepError{ErrorCode: "INVALID_CONTEXT", ErrorDetails: e.Field + ": " + e.Message}
		}
		return "", &ofrepError{ErrorCode: "PARSE_ERROR", ErrorDetails: err.Error()}
	}
	// One pass into typed fields: the context's other attributes are not
	// read (targeting is by targetingKey), so they are not decoded either.
	var req struct {
		Context *struct {
			TargetingKey *string `json:"targetingKey"`
		} `json:"context"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			switch typ.Field {
			case "context":
				return "", &ofrepError{ErrorCode: "INVALID_CONTEXT", ErrorDetails: "context must be a JSON object"}
			case "context.targetingKey":
				return "", &ofrepError{ErrorCode: "INVALID_CONTEXT", ErrorDetails: "context.targetingKey must be a string"}
			}
		}
		return "", &ofrepError{ErrorCode: "PARSE_ERROR", ErrorDetails: "request body is not a JSON object: " + err.Error()}
	}
	if req.Context == nil || req.Context.TargetingKey == nil {
		return "", nil
	}
	key := *req.Context.TargetingKey
	if len(key) > 256 {
		return "", &ofrepError{ErrorCode: "INVALID_CONTEXT", ErrorDetails: "context.targetingKey must be at most 256 characters"}
	}
	return key, nil
}

// ofrepResult turns an evaluation into the protocol's success or error.
// An on/off flag has a boolean value; an A/B flag a string value, the
// variant (or "off").
func ofrepResult(res flags.Result) (*ofrepSuccess, *ofrepError) {
	if !res.Found {
		return nil, &ofrepError{Key: res.Key, ErrorCode: "FLAG_NOT_FOUND", ErrorDetails: "flag " + res.Key + " does not exist for this restaurant"}
	}
	if res.NeedsEntity {
		return nil, &ofrepError{Key: res.Key, ErrorCode: "TARGETING_KEY_MISSING",
			ErrorDetails: "flag " + res.Key + " rolls out by entity; set context.targetingKey"}
	}
	out := &ofrepSuccess{Key: res.Key, Value: res.Value, Reason: res.Reason, Variant: "off",
		Metadata: ofrepMetadata{Global: res.Global}}
	if res.Value {
		out.Variant = "on"
	}
	if res.HasVariants {
		out.Value = "off"
		if res.Variant != "" {
			out.Value, out.Variant = res.Variant, res.Variant
		}
	}
	return out, nil
}

func (s *Server) ofrepSingle(w http.ResponseWriter, r *http.Request) error {
	key := r.PathValue("key")
	entity, perr := ofrepContext(w, r)
	if perr != nil {
		perr.Key = key
		writeJSON(w, perr.httpStatus(), perr)
		return nil
	}
	var res flags.Result
	if flags.ValidateKey(key) == nil {
		res = s.Flags.Evaluate(r.Context(), key, entity)
	} else {
		res = flags.Result{Key: key}
	}
	ok, ferr := ofrepResult(res)
	body := make([]byte, 0, 256)
	switch {
	case ferr != nil && ferr.ErrorCode == "FLAG_NOT_FOUND":
		writeJSONBody(w, http.StatusNotFound, append(ferr.appendJSON(body), '\n'))
	case ferr != nil:
		writeJSONBody(w, http.StatusBadRequest, append(ferr.appendJSON(body), '\n'))
	default:
		writeJSONBody(w, http.StatusOK, append(ok.appendJSON(body), '\n'))
	}
	return nil
}

// ofrepBulk evaluates every flag of the tenant. The ETag is a digest of the
// answer, so a client polling with If-None-Match gets 304 until a flag (or
// its own context) changes.
func (s *Server) ofrepBulk(w http.ResponseWriter, r *http.Request) error {
	entity, perr := ofrepContext(w, r)
	if perr != nil {
		writeJSON(w, perr.httpStatus(), perr)
		return nil
	}
	body := appendOFREPBulk(make([]byte, 0, 1024), s.Flags.EvaluateAll(r.Context(), entity))
	sum := sha256.Sum256(body)
	var tag [2 + 32]byte
	tag[0], tag[len(tag)-1] = '"', '"'
	hex.Encode(tag[1:len(tag)-1], sum[:16])
	etag := string(tag[:])
	w.Header()["Etag"] = []string{etag}
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(body, '\n'))
	return nil
}

// appendOFREPBulk appends the bulk answer, {"flags":[…]}, as json.Marshal
// writes it (FuzzOFREPJSON).
func appendOFREPBulk(b []byte, results []flags.Result) []byte {
	b = append(b, `{"flags":[`...)
	for i, res := range results {
		if i > 0 {
			b = append(b, ',')
		}
		if ok, ferr := ofrepResult(res); ferr != nil {
			b = ferr.appendJSON(b)
		} else {
			b = ok.appendJSON(b)
		}
	}
	return append(b, "]}"...)
}

// etagMatches reads an If-None-Match list (weak tags compare equal, as
// RFC 9110 wants for this header).
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == etag || t == "*" {
			return true
		}
	}
	return false
}

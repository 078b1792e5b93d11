package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// IdempotencyHeader makes a write safe to retry: the writes that create
// orders, payments, refunds and reservations keep their answer under the
// header's key, and a retry with the same key and request is given that
// answer without doing the write again.
const IdempotencyHeader = "Idempotency-Key"

// maxIdempotencyKey bounds a key's length (a UUID is 36 bytes).
const maxIdempotencyKey = 255

// ReplayedHeader marks an answer given from a kept reply.
const ReplayedHeader = "Idempotent-Replayed"

// keptWriteTimeout bounds a write made under a key once its client has
// gone: it runs to its end, so that the client's retry finds its answer.
const keptWriteTimeout = 30 * time.Second

// jsonReply renders v as writeJSON writes it.
func jsonReply(status int, v any) store.Reply {
	var b bytes.Buffer
	_ = json.NewEncoder(&b).Encode(v)
	return store.Reply{Status: status, Body: b.Bytes()}
}

func writeReply(w http.ResponseWriter, r store.Reply) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(r.Status)
	_, _ = w.Write(r.Body)
}

// idempotent runs write and answers with reply(result). Under an
// Idempotency-Key the answer is kept with the write (in its transaction)
// for the caller in the tenant; a request whose key already has an answer
// gets it back and writes nothing, or a 422 when the key was used for a
// different request. A duplicate sent while the first is still being
// written waits for it in the database and then gets its answer. Errors
// are not kept: a write that failed changed nothing, and its retry runs
// again.
func (s *Server) idempotent(w http.ResponseWriter, r *http.Request, reply func(result any) store.Reply,
	write func(r *http.Request) (any, error)) error {
	values, ok := r.Header[IdempotencyHeader]
	if !ok {
		v, err := write(r)
		if err != nil {
			return err
		}
		writeReply(w, reply(v))
		return nil
	}
	key, err := idempotencyKey(values)
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		return jsonError(err)
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	p, _ := tenancy.PrincipalFrom(r.Context())
	sum := sha256.New()
	sum.Write([]byte(r.Method + " " + r.URL.Path + "\n"))
	sum.Write(raw)
	k := &store.Idempotent{Key: key, Caller: p.UserID, Fingerprint: hex.EncodeToString(sum.Sum(nil)),
		Reply: func(v any) (store.Reply, error) { return reply(v), nil }}
	if p.APIKeyName != "" {
		k.Caller = "api_key:" + p.APIKeyName
	}
	if kept, found, err := s.DB.Replay(r.Context(), k); err != nil {
		return err
	} else if found {
		w.Header().Set(ReplayedHeader, "true")
		writeReply(w, kept)
		return nil
	}
	// The write goes on if the client goes away: its retry then finds the
	// answer instead of racing a half-done first attempt.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), keptWriteTimeout)
	defer cancel()
	ctx = store.WithIdempotency(ctx, k)
	v, err := write(r.WithContext(ctx))
	if err != nil {
		// A duplicate that committed first makes this write fail (on the
		// key, or on what the first changed): answer as the first did.
		if kept, found, rerr := s.DB.Replay(ctx, k); rerr == nil && found {
			w.Header().Set(ReplayedHeader, "true")
			writeReply(w, kept)
			return nil
		} else if apperr.Is(rerr, apperr.Mismatch) {
			return rerr
		}
		return err
	}
	writeReply(w, reply(v))
	return nil
}

// idempotencyKey checks the header's one value: 1 to 255 printable ASCII
// characters.
func idempotencyKey(values []string) (string, error) {
	if len(values) != 1 {
		return "", apperr.InvalidField(IdempotencyHeader, "must be given once")
	}
	key := values[0]
	if key == "" || len(key) > maxIdempotencyKey {
		return "", apperr.InvalidField(IdempotencyHeader, "must be 1 to %d characters", maxIdempotencyKey)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x20 || key[i] > 0x7e {
			return "", apperr.InvalidField(IdempotencyHeader, "must be printable ASCII")
		}
	}
	return key, nil
}

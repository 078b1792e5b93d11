// Package changelog ships a restaurant's change log to the backup
// destinations as a chain of segments, and reads it back: the changes of one
// restaurant over a span of time, whole transactions only, each segment
// carrying the SHA-256 of the one before it, so that a missing, altered or
// reordered segment is found from storage alone, when the database that
// recorded them is gone.
//
// A segment is gzip'd JSON lines: a header line, then one store.Change per
// line in seq order. Its checksum is the SHA-256 of those gzip'd bytes (of
// the plaintext when the destination encrypts), recorded in the next
// segment's header and in the change_segments bookkeeping row.
package changelog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/store"
)

// FormatVersion is the segment format this code writes and reads.
const FormatVersion = 1

// Kind marks a segment's header line, so a segment is told from any other
// gzip'd JSON.
const Kind = "ordersuite-change-segment"

// Header is a segment's first line.
type Header struct {
	Kind         string       `json:"kind"`
	Format       int          `json:"format"`
	Engine       store.Engine `json:"engine"`
	RestaurantID string       `json:"restaurant_id"`
	// Number counts a restaurant's segments from 1, without gaps.
	Number int64 `json:"number"`
	// From and To bound the transaction moments (TxAt) the segment covers:
	// (From, To]. The next segment's From is this one's To. Every
	// transaction of the restaurant with its moment in the span is in the
	// segment, whole.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// FirstSeq and LastSeq are the smallest and largest seq held (0 when
	// the segment holds no change).
	FirstSeq int64 `json:"first_seq"`
	LastSeq  int64 `json:"last_seq"`
	// MinTx and MaxTx bound the transaction ids held (PostgreSQL's xid8,
	// SQLite's transaction counter), as decimal text: a base archive whose
	// snapshot's xmin is above MaxTx holds every change of the segment.
	MinTx   string `json:"min_tx,omitempty"`
	MaxTx   string `json:"max_tx,omitempty"`
	Changes int    `json:"changes"`
	// PrevMaxTx and PrevLastSeq are the largest transaction id and seq of
	// every earlier segment: once the oldest segments are deleted (with the
	// backups they served), they tell which base archives the chain still
	// serves — those holding every change up to them.
	PrevMaxTx   string `json:"prev_max_tx,omitempty"`
	PrevLastSeq int64  `json:"prev_last_seq,omitempty"`
	// Prev is the SHA-256 (hex) of segment Number-1, empty for segment 1.
	Prev string `json:"prev_sha256"`
}

// Segment is a decoded segment.
type Segment struct {
	Header  Header
	Changes []store.Change
}

// Limits bound what reading a segment may cost: a segment comes from
// storage that may have been tampered with.
type Limits struct {
	// MaxBytes bounds the decompressed size.
	MaxBytes int64
	// MaxLine bounds one line (one change).
	MaxLine int
	// MaxChanges bounds the changes of one segment.
	MaxChanges int
}

// DefaultLimits are generous for what the shipper writes (at most
// MaxSegmentChanges changes of rows that fit the archive's limits).
var DefaultLimits = Limits{MaxBytes: 1 << 30, MaxLine: 16 << 20, MaxChanges: 4 * MaxSegmentChanges}

// MaxSegmentChanges bounds the changes the shipper puts in one segment; a
// transaction larger than that is still shipped whole, alone.
const MaxSegmentChanges = 50000

// Sum is the checksum of a segment's bytes, in hex.
func Sum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// Encode writes a segment: the header, then the changes, gzip'd. The
// header's Changes, FirstSeq and LastSeq are taken from the changes.
func Encode(h Header, changes []store.Change) ([]byte, error) {
	h.Kind, h.Format, h.Changes = Kind, FormatVersion, len(changes)
	h.FirstSeq, h.LastSeq = 0, 0
	if len(changes) > 0 {
		h.FirstSeq, h.LastSeq = changes[0].Seq, changes[len(changes)-1].Seq
	}
	if err := h.check(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(h); err != nil {
		return nil, err
	}
	for i := range changes {
		c := changes[i]
		c.TxAt = c.TxAt.UTC()
		if err := enc.Encode(c); err != nil {
			return nil, fmt.Errorf("changelog: encode change %d: %w", c.Seq, err)
		}
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

var restaurantIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidRestaurantID says whether id can name a restaurant's segments in
// storage (it becomes part of an object name).
func ValidRestaurantID(id string) bool { return restaurantIDPattern.MatchString(id) }

// check holds a header to what the format promises.
func (h Header) check() error {
	switch {
	case h.Kind != Kind:
		return errors.New("not a change segment (header kind)")
	case h.Format != FormatVersion:
		return fmt.Errorf("segment format %d is not supported (this version reads %d)", h.Format, FormatVersion)
	case h.Engine != store.SQLite && h.Engine != store.Postgres:
		return fmt.Errorf("unknown engine %q", h.Engine)
	case !ValidRestaurantID(h.RestaurantID):
		return errors.New("invalid restaurant_id")
	case h.Number < 1:
		return fmt.Errorf("invalid segment number %d", h.Number)
	case h.To.IsZero() || h.To.Before(h.From):
		return fmt.Errorf("covers (%s, %s]: the end is before the start", h.From.Format(time.RFC3339Nano), h.To.Format(time.RFC3339Nano))
	case h.Changes < 0, h.FirstSeq > h.LastSeq, h.Changes > 0 && h.FirstSeq < 1:
		return errors.New("inconsistent change counts")
	case h.Number == 1 && h.Prev != "":
		return errors.New("segment 1 names a previous segment")
	case h.Number > 1 && !validSum(h.Prev):
		return errors.New("prev_sha256 is not a SHA-256")
	}
	for _, tx := range []string{h.MinTx, h.MaxTx, h.PrevMaxTx} {
		if tx == "" {
			continue
		}
		if _, err := strconv.ParseUint(tx, 10, 64); err != nil {
			return errors.New("min_tx/max_tx are not transaction ids")
		}
	}
	return nil
}

func validSum(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// ReadHeader decodes only a segment's header line.
func ReadHeader(b []byte, lim Limits) (Header, error) {
	var h Header
	err := read(b, lim, func(hh Header) error { h = hh; return errStop }, nil)
	if errors.Is(err, errStop) {
		err = nil
	}
	return h, err
}

var errStop = errors.New("stop")

// Decode reads a whole segment and checks it against its header: the
// changes are the restaurant's, in seq order within the header's bounds,
// with their moments in the span the header covers.
func Decode(b []byte, lim Limits) (*Segment, error) {
	var s Segment
	err := read(b, lim, func(h Header) error { s.Header = h; return nil }, func(c store.Change) error {
		s.Changes = append(s.Changes, c)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &s, nil
}

// read streams a segment: header first, then each change checked.
func read(b []byte, lim Limits, head func(Header) error, each func(store.Change) error) error {
	if lim.MaxBytes == 0 {
		lim = DefaultLimits
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("not gzip: %w", err)
	}
	lr := &io.LimitedReader{R: zr, N: lim.MaxBytes + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 64<<10), lim.MaxLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return fmt.Errorf("header: %w", err)
		}
		return errors.New("empty segment")
	}
	var h Header
	if err := strictUnmarshal(sc.Bytes(), &h); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if err := h.check(); err != nil {
		return fmt.Errorf("header: %w", err)
	}
	if err := head(h); err != nil {
		return err
	}
	if h.Changes > lim.MaxChanges {
		return fmt.Errorf("header: %d changes exceed the limit of %d", h.Changes, lim.MaxChanges)
	}
	n := 0
	var last int64
	for sc.Scan() {
		if lr.N <= 0 {
			return fmt.Errorf("decompressed size exceeds %d bytes", lim.MaxBytes)
		}
		if n == h.Changes {
			return fmt.Errorf("more changes than the header's %d", h.Changes)
		}
		var c store.Change
		if err := strictUnmarshal(sc.Bytes(), &c); err != nil {
			return fmt.Errorf("change %d: %w", n+1, err)
		}
		if err := checkChange(h, c, last); err != nil {
			return fmt.Errorf("change %d (seq %d): %w", n+1, c.Seq, err)
		}
		last = c.Seq
		n++
		if each != nil {
			if err := each(c); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("change %d: %w", n+1, err)
	}
	if lr.N <= 0 {
		return fmt.Errorf("decompressed size exceeds %d bytes", lim.MaxBytes)
	}
	if n != h.Changes {
		return fmt.Errorf("%d changes, the header says %d", n, h.Changes)
	}
	if n > 0 && last != h.LastSeq {
		return fmt.Errorf("last seq %d, the header says %d", last, h.LastSeq)
	}
	return nil
}

func checkChange(h Header, c store.Change, last int64) error {
	switch {
	case c.RestaurantID != h.RestaurantID:
		return errors.New("belongs to another restaurant")
	case c.Seq <= last:
		return errors.New("out of seq order")
	case last == 0 && c.Seq != h.FirstSeq:
		return fmt.Errorf("first seq, the header says %d", h.FirstSeq)
	case c.Seq > h.LastSeq:
		return fmt.Errorf("beyond the header's last seq %d", h.LastSeq)
	case !c.TxAt.After(h.From) || c.TxAt.After(h.To):
		return fmt.Errorf("moment %s outside the segment's span", c.TxAt.Format(time.RFC3339Nano))
	case c.Tx == "":
		return errors.New("no transaction")
	case c.Table == "" || !store.IsCopyTable(c.Table):
		return fmt.Errorf("unknown table %q", c.Table)
	case c.Op != store.OpInsert && c.Op != store.OpUpdate && c.Op != store.OpDelete && c.Op != store.OpImport:
		return fmt.Errorf("unknown op %q", c.Op)
	case c.Row == nil:
		return errors.New("no row image")
	}
	return nil
}

// strictUnmarshal decodes one JSON value with numbers kept as json.Number
// (the archive form of a row) and nothing after it.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

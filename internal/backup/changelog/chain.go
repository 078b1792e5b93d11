package changelog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// Objects is where segments are kept: the backup destinations (a
// directory, S3, several), encrypting at rest when they are configured to.
// Bytes given and returned are the segment's plaintext.
type Objects interface {
	// PutSegment stores a segment, replacing one of the same number.
	PutSegment(ctx context.Context, restaurantID string, number int64, data []byte) error
	// GetSegment returns a segment's bytes, ErrMissing when it is not stored.
	GetSegment(ctx context.Context, restaurantID string, number int64) ([]byte, error)
	// ListSegments returns the numbers stored for a restaurant, ascending.
	ListSegments(ctx context.Context, restaurantID string) ([]int64, error)
	// DeleteSegment removes a segment wherever it is stored.
	DeleteSegment(ctx context.Context, restaurantID string, number int64) error
	// ChainRestaurants lists the restaurants that have segments stored.
	ChainRestaurants(ctx context.Context) ([]string, error)
	// PutShipMark and GetShipMark keep the ShipMark (ErrMissing before
	// the first).
	PutShipMark(ctx context.Context, data []byte) error
	GetShipMark(ctx context.Context) ([]byte, error)
}

// ShipMark is how far every restaurant's log was shipped: after a run that
// shipped every restaurant's complete changes up to Cut, the shipper stores
// it beside the segments. A restaurant without changes since its last
// segment is covered up to the mark, not only to its last segment.
type ShipMark struct {
	Engine    store.Engine `json:"engine"`
	Cut       time.Time    `json:"cut"`
	ShippedAt time.Time    `json:"shipped_at"`
}

// NewerMark says whether mark a is later than mark b (several
// destinations may hold different ones).
func NewerMark(a, b []byte) bool {
	ma, errA := parseMark(a)
	mb, errB := parseMark(b)
	return errA == nil && (errB != nil || ma.Cut.After(mb.Cut))
}

func parseMark(b []byte) (ShipMark, error) {
	var m ShipMark
	err := json.Unmarshal(b, &m)
	return m, err
}

// Mark reads the stored ship mark, the zero mark when there is none.
func Mark(ctx context.Context, objs Objects) (ShipMark, error) {
	b, err := objs.GetShipMark(ctx)
	if errors.Is(err, ErrMissing) {
		return ShipMark{}, nil
	}
	if err != nil {
		return ShipMark{}, err
	}
	m, err := parseMark(b)
	if err != nil {
		return ShipMark{}, fmt.Errorf("changelog: the ship mark: %w", err)
	}
	return m, nil
}

// ErrMissing is a segment that is not stored.
var ErrMissing = errors.New("changelog: segment not stored")

// SegmentName is the object name of a segment: names sort by restaurant,
// then number.
func SegmentName(restaurantID string, number int64) string {
	return fmt.Sprintf("changes/%s/%010d.jsonl.gz", restaurantID, number)
}

// ParseSegmentFile reads a segment's number from its file name within the
// restaurant's folder ("0000000007.jsonl.gz", optionally ".age").
func ParseSegmentFile(name string) (int64, bool) {
	name = strings.TrimSuffix(name, ".age")
	base, ok := strings.CutSuffix(name, ".jsonl.gz")
	if !ok || len(base) != 10 {
		return 0, false
	}
	n, err := strconv.ParseInt(base, 10, 64)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

// ChainError names the first segment that breaks a restaurant's chain.
type ChainError struct {
	RestaurantID string
	Number       int64
	Problem      string
}

func (e *ChainError) Error() string {
	return fmt.Sprintf("segment %d of restaurant %s %s", e.Number, e.RestaurantID, e.Problem)
}

// Is lets apperr see a broken chain as invalid input to a restore (422),
// not an internal failure.
func (e *ChainError) Is(target error) bool { return target == errBrokenChain }

var errBrokenChain = errors.New("broken chain")

// IsBroken says whether err is a broken chain (a *ChainError).
func IsBroken(err error) bool { return errors.Is(err, errBrokenChain) }

// Link is one verified segment of a chain.
type Link struct {
	Header Header `json:"header"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// data is kept when the reader needs the changes (Read).
	data []byte
}

// Chain is a restaurant's stored segments, verified.
type Chain struct {
	RestaurantID string `json:"restaurant_id"`
	Links        []Link `json:"segments"`
	// Broken is the first problem found after the last good link, nil
	// when every stored segment checked out. Links stops before it.
	Broken *ChainError `json:"broken,omitempty"`
}

// From is the earliest moment the chain covers (exclusive), To the latest
// (inclusive); both zero for an empty chain.
func (c *Chain) From() time.Time {
	if len(c.Links) == 0 {
		return time.Time{}
	}
	return c.Links[0].Header.From
}

func (c *Chain) To() time.Time {
	if len(c.Links) == 0 {
		return time.Time{}
	}
	return c.Links[len(c.Links)-1].Header.To
}

// Verifier reads chains from storage.
type Verifier struct {
	Objects Objects
	Limits  Limits
	// Recorded, when set, gives the checksums the shipper recorded
	// (number → SHA-256) for a restaurant: it catches an altered or
	// deleted newest segment, which no later segment vouches for. Without
	// the database (it was lost) the newest segment is taken as stored.
	Recorded func(ctx context.Context, restaurantID string) (map[int64]string, error)
}

func (v *Verifier) limits() Limits {
	if v.Limits.MaxBytes == 0 {
		return DefaultLimits
	}
	return v.Limits
}

// Verify reads every stored segment of a restaurant and checks the chain:
// numbering without gaps, each segment's checksum against the one recorded
// in the next, each header against its changes, and the spans following
// one another. It stops at the first problem (Chain.Broken) and returns
// the good links before it. An error is a storage that could not be read.
func (v *Verifier) Verify(ctx context.Context, restaurantID string) (*Chain, error) {
	return v.verify(ctx, restaurantID, time.Time{}, false)
}

// verify checks the chain; with until set, it stops after the segment
// that covers until and the one after it (whose header vouches for it),
// and keeps the segments' bytes for reading.
func (v *Verifier) verify(ctx context.Context, restaurantID string, until time.Time, keep bool) (*Chain, error) {
	if !ValidRestaurantID(restaurantID) {
		return nil, apperr.InvalidField("restaurant_id", "is not a restaurant id")
	}
	numbers, err := v.Objects.ListSegments(ctx, restaurantID)
	if err != nil {
		return nil, fmt.Errorf("changelog: list segments of %s: %w", restaurantID, err)
	}
	slices.Sort(numbers)
	recorded := map[int64]string{}
	if v.Recorded != nil {
		if recorded, err = v.Recorded(ctx, restaurantID); err != nil {
			return nil, err
		}
	}
	ch := &Chain{RestaurantID: restaurantID}
	fail := func(n int64, format string, args ...any) (*Chain, error) {
		ch.Broken = &ChainError{RestaurantID: restaurantID, Number: n, Problem: fmt.Sprintf(format, args...)}
		return ch, nil
	}
	// Segments recorded beyond the newest stored one were deleted.
	var newestRecorded int64
	for n := range recorded {
		newestRecorded = max(newestRecorded, n)
	}
	if len(numbers) == 0 {
		if newestRecorded > 0 {
			return fail(newestRecorded, "is missing")
		}
		return ch, nil
	}
	lim := v.limits()
	for i, n := range numbers {
		if i > 0 && n != numbers[i-1]+1 {
			return fail(numbers[i-1]+1, "is missing")
		}
		data, err := v.Objects.GetSegment(ctx, restaurantID, n)
		if errors.Is(err, ErrMissing) {
			return fail(n, "is missing")
		}
		if err != nil {
			return nil, fmt.Errorf("changelog: read segment %d of %s: %w", n, restaurantID, err)
		}
		sum := Sum(data)
		var h Header
		if keep {
			_, err = Decode(data, lim) // every change checked against the header
		}
		if err == nil {
			h, err = ReadHeader(data, lim)
		}
		if err != nil {
			return fail(n, "cannot be read: %v", err)
		}
		switch {
		case h.RestaurantID != restaurantID:
			return fail(n, "belongs to restaurant %s", h.RestaurantID)
		case h.Number != n:
			return fail(n, "is stored under the wrong number (its header says %d)", h.Number)
		case recorded[n] != "" && recorded[n] != sum:
			return fail(n, "checksum does not match the one recorded when it was shipped")
		}
		if i > 0 {
			prev := &ch.Links[i-1]
			switch {
			case h.Prev != prev.SHA256:
				ch.Links = ch.Links[:i-1]
				return fail(n-1, "checksum does not match the one recorded in segment %d", n)
			case !h.From.Equal(prev.Header.To):
				return fail(n, "covers from %s but segment %d ends at %s", h.From.Format(time.RFC3339Nano), n-1, prev.Header.To.Format(time.RFC3339Nano))
			case h.FirstSeq != 0 && prev.Header.LastSeq != 0 && h.FirstSeq <= prev.Header.LastSeq && h.Engine == store.SQLite:
				return fail(n, "repeats changes of segment %d", n-1)
			}
		} else if n == 1 && !h.From.IsZero() {
			return fail(n, "is the first segment but does not cover from the start")
		}
		l := Link{Header: h, SHA256: sum, Size: int64(len(data))}
		if keep {
			l.data = data
		}
		ch.Links = append(ch.Links, l)
		if !until.IsZero() && i > 0 && !ch.Links[i-1].Header.To.Before(until) {
			// This segment vouched for the one covering until.
			ch.Links = ch.Links[:i]
			return ch, nil
		}
	}
	if newestRecorded > numbers[len(numbers)-1] {
		return fail(numbers[len(numbers)-1]+1, "is missing")
	}
	return ch, nil
}

// Covering returns the changes of a restaurant's chain after a base
// archive's position and up to until: those a base archive at pos does not
// hold, of transactions with their moment at or before until, in seq order
// — what store.DB.ChangesSince gives from the live log, read from storage.
// It refuses (a *ChainError, or an invalid `at`) an until beyond what the
// verified chain covers, or a chain broken before it.
func (v *Verifier) Covering(ctx context.Context, restaurantID string, pos store.LogPosition, until time.Time, fn func(store.Change) error) error {
	ch, err := v.verify(ctx, restaurantID, until, true)
	if err != nil {
		return err
	}
	covered := ch.To()
	if until.After(covered) && ch.Broken == nil && len(ch.Links) > 0 {
		// Every segment stored is whole: the restaurant is covered up to
		// the last run that shipped everything.
		mark, err := Mark(ctx, v.Objects)
		if err != nil {
			return err
		}
		if mark.Engine == ch.Links[0].Header.Engine && mark.Cut.After(covered) {
			covered = mark.Cut
		}
	}
	if len(ch.Links) == 0 || until.After(covered) {
		if ch.Broken != nil {
			return ch.Broken
		}
		if len(ch.Links) == 0 {
			return apperr.InvalidField("at", "no change segments of restaurant %s are stored", restaurantID)
		}
		return apperr.InvalidField("at", "is after the latest moment the shipped change log of restaurant %s covers (%s)", restaurantID, covered.Format(time.RFC3339Nano))
	}
	held, err := heldBy(pos)
	if err != nil {
		return err
	}
	if ch.Links[0].Header.Number != 1 && (pos == store.LogPosition{} || !coversBase(ch.Links[0].Header, pos)) {
		return apperr.InvalidField("at", "the shipped change log of restaurant %s starts at segment %d, after the base archive's position", restaurantID, ch.Links[0].Header.Number)
	}
	for _, l := range ch.Links {
		if pos.Engine != "" && l.Header.Engine != pos.Engine {
			return &ChainError{RestaurantID: restaurantID, Number: l.Header.Number, Problem: fmt.Sprintf("was shipped from %s, the base archive from %s", l.Header.Engine, pos.Engine)}
		}
		if skipSegment(l.Header, pos) {
			continue
		}
		seg, err := Decode(l.data, v.limits())
		if err != nil {
			return &ChainError{RestaurantID: restaurantID, Number: l.Header.Number, Problem: "cannot be read: " + err.Error()}
		}
		for _, c := range seg.Changes {
			if c.TxAt.After(until) || held(c) {
				continue
			}
			if c.Op == store.OpImport {
				return &store.LogResetError{RestaurantID: restaurantID, At: c.TxAt}
			}
			if err := fn(c); err != nil {
				return err
			}
		}
	}
	return nil
}

// skipSegment says whether a base at pos holds every change of a segment.
func skipSegment(h Header, pos store.LogPosition) bool {
	if h.Changes == 0 {
		return true
	}
	if pos == (store.LogPosition{}) {
		return false
	}
	switch pos.Engine {
	case store.SQLite:
		return h.LastSeq <= pos.Seq
	case store.Postgres:
		snap, err := ParseSnapshot(pos.Snapshot)
		if err != nil || h.MaxTx == "" {
			return false
		}
		maxTx, err := strconv.ParseUint(h.MaxTx, 10, 64)
		return err == nil && maxTx < snap.Xmin
	}
	return false
}

// coversBase says whether a chain that no longer starts at segment 1 (its
// oldest segments were deleted with the backups they served) still holds
// every change a base at pos lacks: its first segment begins before
// anything the base does not hold.
func coversBase(first Header, pos store.LogPosition) bool {
	switch pos.Engine {
	case store.SQLite:
		return first.PrevLastSeq <= pos.Seq
	case store.Postgres:
		snap, err := ParseSnapshot(pos.Snapshot)
		if err != nil || first.PrevMaxTx == "" {
			return false
		}
		prevMax, err := strconv.ParseUint(first.PrevMaxTx, 10, 64)
		return err == nil && prevMax < snap.Xmin
	}
	return false
}

// heldBy returns whether a change is held by a base archive at pos.
func heldBy(pos store.LogPosition) (func(store.Change) bool, error) {
	if pos == (store.LogPosition{}) {
		return func(store.Change) bool { return false }, nil // from the start of the log
	}
	switch pos.Engine {
	case store.SQLite:
		return func(c store.Change) bool { return c.Seq <= pos.Seq }, nil
	case store.Postgres:
		snap, err := ParseSnapshot(pos.Snapshot)
		if err != nil {
			return nil, apperr.Errorf(apperr.Invalid, "the base archive's log position: %v", err)
		}
		return func(c store.Change) bool {
			tx, err := strconv.ParseUint(c.Tx, 10, 64)
			return err == nil && snap.Visible(tx)
		}, nil
	}
	return nil, apperr.Errorf(apperr.Invalid, "the base archive has no log position")
}

package changelog_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/backup/changelog"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

const rid = "0193a5c2-0000-7000-8000-000000000001"

var t0 = time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC)

// change is one synthetic change of rid at second sec of t0.
func change(seq int64, tx int, sec int) store.Change {
	return store.Change{Seq: seq, RestaurantID: rid, Tx: fmt.Sprint(tx), TxAt: t0.Add(time.Duration(sec) * time.Second),
		Table: "menu_items", Op: store.OpUpdate,
		Row: map[string]any{"id": fmt.Sprintf("item-%d", seq), "price": json.Number("12.5"), "name": "Ramen"},
		Old: map[string]any{"price": json.Number("11")}}
}

func TestSegmentRoundTrip(t *testing.T) {
	cs := []store.Change{change(3, 100, 1), change(4, 100, 1), change(7, 101, 2)}
	data, err := changelog.Encode(changelog.Header{Engine: store.Postgres, RestaurantID: rid, Number: 1, To: t0.Add(5 * time.Second), MinTx: "100", MaxTx: "101"}, cs)
	if err != nil {
		t.Fatal(err)
	}
	seg, err := changelog.Decode(data, changelog.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	h := seg.Header
	if h.Number != 1 || h.Changes != 3 || h.FirstSeq != 3 || h.LastSeq != 7 || h.Prev != "" || h.Format != changelog.FormatVersion {
		t.Errorf("header %+v", h)
	}
	if len(seg.Changes) != 3 || seg.Changes[2].Seq != 7 || seg.Changes[0].Row["price"] != json.Number("12.5") || !seg.Changes[1].TxAt.Equal(t0.Add(time.Second)) {
		t.Errorf("changes %+v", seg.Changes)
	}
	// The same segment encodes to the same bytes: shipping it again after a
	// crash writes what a reader would check against.
	again, _ := changelog.Encode(h, cs)
	if changelog.Sum(again) != changelog.Sum(data) {
		t.Error("encoding is not deterministic")
	}
}

func TestSegmentRefusesWhatItsHeaderDoesNotSay(t *testing.T) {
	h := changelog.Header{Engine: store.SQLite, RestaurantID: rid, Number: 2, From: t0, To: t0.Add(10 * time.Second), Prev: strings.Repeat("ab", 32)}
	for name, tc := range map[string]struct {
		h    changelog.Header
		cs   []store.Change
		want string
	}{
		"moment after the span":    {h, []store.Change{change(1, 1, 11)}, "outside the segment's span"},
		"moment at the span start": {h, []store.Change{change(1, 1, 0)}, "outside the segment's span"},
		"out of order":             {h, []store.Change{change(5, 1, 1), change(4, 1, 1)}, "out of seq order"},
		"another restaurant":       {h, []store.Change{func() store.Change { c := change(1, 1, 1); c.RestaurantID = "other"; return c }()}, "another restaurant"},
		"unknown table":            {h, []store.Change{func() store.Change { c := change(1, 1, 1); c.Table = "super_admins"; return c }()}, "unknown table"},
	} {
		t.Run(name, func(t *testing.T) {
			data := rawSegment(t, tc.h, tc.cs)
			_, err := changelog.Decode(data, changelog.DefaultLimits)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want %q", err, tc.want)
			}
		})
	}
	if _, err := changelog.Encode(changelog.Header{Engine: store.SQLite, RestaurantID: rid, Number: 2, To: t0}, nil); err == nil {
		t.Error("segment 2 without the previous checksum was encoded")
	}
}

// rawSegment writes a segment without Encode's checks on the changes.
func rawSegment(t testing.TB, h changelog.Header, cs []store.Change) []byte {
	h.Kind, h.Format, h.Changes = changelog.Kind, changelog.FormatVersion, len(cs)
	if len(cs) > 0 {
		h.FirstSeq, h.LastSeq = cs[0].Seq, cs[0].Seq
		for _, c := range cs {
			h.LastSeq = max(h.LastSeq, c.Seq)
		}
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	enc := json.NewEncoder(zw)
	if err := enc.Encode(h); err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if err := enc.Encode(c); err != nil {
			t.Fatal(err)
		}
	}
	zw.Close()
	return buf.Bytes()
}

func TestSnapshotVisibility(t *testing.T) {
	s, err := changelog.ParseSnapshot("100:110:104,102")
	if err != nil {
		t.Fatal(err)
	}
	for xid, want := range map[uint64]bool{5: true, 99: true, 100: true, 101: true, 102: false, 103: true, 104: false, 109: true, 110: false, 500: false} {
		if got := s.Visible(xid); got != want {
			t.Errorf("xid %d visible = %v, want %v", xid, got, want)
		}
	}
	if s, err := changelog.ParseSnapshot("7:7:"); err != nil || !s.Visible(6) || s.Visible(7) {
		t.Errorf("7:7: → %+v, %v", s, err)
	}
	for _, bad := range []string{"", "1:2", "a:2:", "5:4:", "1:5:7", "1:5:x", "1:2:3:4"} {
		if _, err := changelog.ParseSnapshot(bad); err == nil {
			t.Errorf("ParseSnapshot(%q) accepted", bad)
		}
	}
}

// chainDir ships n segments of three changes each into a storage directory,
// each covering 10 seconds, and returns the objects and the directory.
func chainDir(t *testing.T, n int) (changelog.Objects, string) {
	t.Helper()
	dir := t.TempDir()
	objs := (&backup.Service{Storage: backup.Dir{Path: dir}}).ChangeObjects()
	ctx := context.Background()
	prev := ""
	seq := int64(0)
	for i := 1; i <= n; i++ {
		var cs []store.Change
		for j := range 3 {
			seq++
			cs = append(cs, change(seq, i*10+j, (i-1)*10+j+1))
		}
		h := changelog.Header{Engine: store.SQLite, RestaurantID: rid, Number: int64(i), From: t0.Add(time.Duration(i-1) * 10 * time.Second),
			To: t0.Add(time.Duration(i) * 10 * time.Second), Prev: prev, PrevLastSeq: seq - 3}
		if i == 1 {
			h.From = time.Time{}
		}
		data, err := changelog.Encode(h, cs)
		if err != nil {
			t.Fatal(err)
		}
		if err := objs.PutSegment(ctx, rid, int64(i), data); err != nil {
			t.Fatal(err)
		}
		prev = changelog.Sum(data)
	}
	return objs, dir
}

func segmentFile(dir string, n int) string {
	return filepath.Join(dir, filepath.FromSlash(changelog.SegmentName(rid, int64(n))))
}

// restoreTo reads the changes for a restore to t0+sec from a base holding
// nothing (SQLite position 0).
func restoreTo(v *changelog.Verifier, sec int) ([]int64, error) {
	var seqs []int64
	err := v.Covering(context.Background(), rid, store.LogPosition{Engine: store.SQLite}, t0.Add(time.Duration(sec)*time.Second), func(c store.Change) error {
		seqs = append(seqs, c.Seq)
		return nil
	})
	return seqs, err
}

func TestChainVerifies(t *testing.T) {
	objs, _ := chainDir(t, 5)
	v := &changelog.Verifier{Objects: objs}
	ch, err := v.Verify(context.Background(), rid)
	if err != nil || ch.Broken != nil || len(ch.Links) != 5 {
		t.Fatalf("chain %+v, %v", ch, err)
	}
	if !ch.To().Equal(t0.Add(50 * time.Second)) {
		t.Errorf("chain ends at %s", ch.To())
	}
	seqs, err := restoreTo(v, 12)
	if err != nil || len(seqs) != 5 || seqs[4] != 5 {
		t.Errorf("restore to +12s read %v, %v", seqs, err)
	}
	// From a base that holds the first four changes.
	var after []int64
	err = v.Covering(context.Background(), rid, store.LogPosition{Engine: store.SQLite, Seq: 4}, t0.Add(22*time.Second), func(c store.Change) error {
		after = append(after, c.Seq)
		return nil
	})
	if err != nil || fmt.Sprint(after) != "[5 6 7 8]" {
		t.Errorf("after seq 4 up to +22s: %v, %v", after, err)
	}
	if _, err := restoreTo(v, 51); err == nil || !strings.Contains(err.Error(), "after the latest moment") {
		t.Errorf("restore beyond the chain: %v", err)
	}
}

func TestChainNamesTheMissingSegment(t *testing.T) {
	objs, dir := chainDir(t, 6)
	if err := os.Remove(segmentFile(dir, 3)); err != nil {
		t.Fatal(err)
	}
	v := &changelog.Verifier{Objects: objs}
	ch, err := v.Verify(context.Background(), rid)
	if err != nil {
		t.Fatal(err)
	}
	want := "segment 3 of restaurant " + rid + " is missing"
	if ch.Broken == nil || ch.Broken.Error() != want {
		t.Errorf("broken = %v, want %q", ch.Broken, want)
	}
	if _, err := restoreTo(v, 35); err == nil || err.Error() != want || !changelog.IsBroken(err) {
		t.Errorf("restore after the gap: %v", err)
	}
	// Before it, the chain up to segment 2 still serves.
	if seqs, err := restoreTo(v, 18); err != nil || len(seqs) != 6 {
		t.Errorf("restore before the gap: %v, %v", seqs, err)
	}
}

func TestChainNamesTheAlteredSegment(t *testing.T) {
	for _, where := range []string{"header", "body"} {
		t.Run(where, func(t *testing.T) {
			objs, dir := chainDir(t, 6)
			f := segmentFile(dir, 4)
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			i := 20
			if where == "body" {
				i = len(b) - 12
			}
			b[i] ^= 0x01
			if err := os.WriteFile(f, b, 0o600); err != nil {
				t.Fatal(err)
			}
			v := &changelog.Verifier{Objects: objs}
			ch, err := v.Verify(context.Background(), rid)
			if err != nil {
				t.Fatal(err)
			}
			if ch.Broken == nil || ch.Broken.Number != 4 {
				t.Fatalf("broken = %v, want segment 4 named", ch.Broken)
			}
			if _, err := restoreTo(v, 45); err == nil || !strings.HasPrefix(err.Error(), "segment 4 of restaurant") {
				t.Errorf("restore after the altered segment: %v", err)
			}
			if seqs, err := restoreTo(v, 29); err != nil || len(seqs) != 9 {
				t.Errorf("restore before the altered segment: %v, %v", seqs, err)
			}
		})
	}
}

func TestChainCatchesARewrittenSegment(t *testing.T) {
	// A segment rewritten whole (valid on its own, a change removed) is
	// caught by the checksum the next one recorded.
	objs, _ := chainDir(t, 4)
	ctx := context.Background()
	old, err := objs.GetSegment(ctx, rid, 2)
	if err != nil {
		t.Fatal(err)
	}
	seg, err := changelog.Decode(old, changelog.DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	forged, err := changelog.Encode(seg.Header, seg.Changes[:2])
	if err != nil {
		t.Fatal(err)
	}
	if err := objs.PutSegment(ctx, rid, 2, forged); err != nil {
		t.Fatal(err)
	}
	ch, err := (&changelog.Verifier{Objects: objs}).Verify(ctx, rid)
	want := "segment 2 of restaurant " + rid + " checksum does not match the one recorded in segment 3"
	if err != nil || ch.Broken == nil || ch.Broken.Error() != want {
		t.Errorf("broken = %v (%v), want %q", ch.Broken, err, want)
	}
	if len(ch.Links) != 1 {
		t.Errorf("%d good links, want 1", len(ch.Links))
	}
	// The newest segment is vouched for by the database's record only.
	recorded := map[int64]string{4: strings.Repeat("0", 64)}
	v := &changelog.Verifier{Objects: objs, Recorded: func(context.Context, string) (map[int64]string, error) { return recorded, nil }}
	if err := objs.PutSegment(ctx, rid, 2, old); err != nil {
		t.Fatal(err)
	}
	ch, _ = v.Verify(ctx, rid)
	if ch.Broken == nil || ch.Broken.Number != 4 {
		t.Errorf("a newest segment unlike its record: broken = %v", ch.Broken)
	}
	recorded = map[int64]string{5: strings.Repeat("0", 64)}
	ch, _ = v.Verify(ctx, rid)
	if ch.Broken == nil || ch.Broken.Error() != "segment 5 of restaurant "+rid+" is missing" {
		t.Errorf("a recorded segment deleted at the end: broken = %v", ch.Broken)
	}
}

func TestEncryptedSegments(t *testing.T) {
	key, _ := backup.NewKey()
	c, err := backup.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	objs := (&backup.Service{Storage: backup.Dir{Path: dir}, Cipher: c}).ChangeObjects()
	data, err := changelog.Encode(changelog.Header{Engine: store.SQLite, RestaurantID: rid, Number: 1, To: t0}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := objs.PutSegment(ctx, rid, 1, data); err != nil {
		t.Fatal(err)
	}
	stored, err := os.ReadFile(segmentFile(dir, 1) + ".age")
	if err != nil || bytes.Contains(stored, []byte(rid)) {
		t.Fatalf("stored segment not encrypted (%v)", err)
	}
	got, err := objs.GetSegment(ctx, rid, 1)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("read back %v", err)
	}
	if ns, err := objs.ListSegments(ctx, rid); err != nil || fmt.Sprint(ns) != "[1]" {
		t.Errorf("list %v %v", ns, err)
	}
	if ids, err := objs.ChainRestaurants(ctx); err != nil || fmt.Sprint(ids) != "["+rid+"]" {
		t.Errorf("restaurants %v %v", ids, err)
	}
	plain := (&backup.Service{Storage: backup.Dir{Path: dir}}).ChangeObjects()
	if _, err := plain.GetSegment(ctx, rid, 1); err == nil {
		t.Error("an encrypted segment was read without the key")
	}
}

func FuzzDecode(f *testing.F) {
	good, _ := changelog.Encode(changelog.Header{Engine: store.Postgres, RestaurantID: rid, Number: 2, From: t0, To: t0.Add(time.Minute), Prev: strings.Repeat("a", 64)},
		[]store.Change{change(1, 5, 3), change(2, 6, 4)})
	f.Add(good)
	f.Add(rawSegment(f, changelog.Header{Engine: store.SQLite, RestaurantID: rid, Number: 1, To: t0}, []store.Change{change(1, 1, -1)}))
	f.Add([]byte{0x1f, 0x8b})
	f.Add([]byte("not a segment"))
	lim := changelog.Limits{MaxBytes: 1 << 20, MaxLine: 64 << 10, MaxChanges: 1000}
	f.Fuzz(func(t *testing.T, b []byte) {
		seg, err := changelog.Decode(b, lim)
		if err != nil {
			return
		}
		// What decodes holds to its header, and encodes back to a segment
		// that decodes the same.
		h := seg.Header
		if len(seg.Changes) != h.Changes {
			t.Fatalf("%d changes, header says %d", len(seg.Changes), h.Changes)
		}
		for _, c := range seg.Changes {
			if c.RestaurantID != h.RestaurantID || c.TxAt.After(h.To) || !c.TxAt.After(h.From) {
				t.Fatalf("change %+v outside header %+v", c, h)
			}
		}
		again, err := changelog.Encode(h, seg.Changes)
		if err != nil {
			t.Fatalf("a decoded segment does not encode: %v", err)
		}
		seg2, err := changelog.Decode(again, lim)
		if err != nil || len(seg2.Changes) != len(seg.Changes) {
			t.Fatalf("re-encoded segment: %v", err)
		}
	})
}

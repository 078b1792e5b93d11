package archive

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/maphash"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Column kinds: how a value travels in an archive and what the database
// accepts in it.
const (
	KindText  = "text"
	KindUUID  = "uuid" // canonical lower-case text
	KindJSON  = "json" // text holding a JSON document
	KindInt   = "int"
	KindFloat = "float"
	KindBool  = "bool"
	KindTime  = "time" // RFC 3339
	KindDate  = "date" // 2006-01-02
	KindBytes = "bytes"
)

// Column is one column of a table as the database enforces it.
type Column struct {
	Name       string
	Kind       string
	IntBits    int // for KindInt: 16, 32 or 64
	MaxChars   int // varchar(n); 0 for no limit
	NotNull    bool
	HasDefault bool
	// Default is the default's value when it is a constant (nil when it is
	// not, or is NULL).
	Default any
}

// Table is what the database enforces on one table's rows.
type Table struct {
	Columns []Column
	Checks  []Check
	Uniques [][]string // primary key, unique constraints and indexes
	Indexes [][]string // every index's columns ("" for an expression)
}

// Limits the databases enforce, kept a little under the real ones so that
// a value near them is refused by validation rather than by the import.
const (
	// MaxIndexKeyBytes: PostgreSQL refuses a B-tree entry over 2704 bytes.
	MaxIndexKeyBytes = 2000
	// MaxValueBytes bounds one text value (PostgreSQL's limit is 1 GB, and
	// a row is held in memory while it is checked).
	MaxValueBytes = 64 << 20
	// MaxJSONDepth: PostgreSQL's jsonb parser runs out of stack at around
	// ten thousand levels with the default max_stack_depth.
	MaxJSONDepth = 1000
)

// perKind caps the problems listed for one table, column and kind of
// problem; the rest are counted.
const perKind = 5

// rowChecker checks one table file's rows against the table's catalog.
type rowChecker struct {
	table, file, tenantCol string
	t                      Table
	cols                   map[string]*Column
	ps                     *problems
	first                  []string // columns of row 1, sorted
	firstSet               map[string]bool
	reported               map[string]int
	uniques                [][]string
	seen                   []map[uint64]uint32
	seed                   maphash.Seed
	defaults               map[string]any // missing columns → their default
	typed                  map[string]any
	bad                    map[string]bool
}

func newRowChecker(table, file, tenantCol string, t Table, ps *problems, seed maphash.Seed) *rowChecker {
	rc := &rowChecker{table: table, file: file, tenantCol: tenantCol, t: t, cols: map[string]*Column{}, ps: ps,
		reported: map[string]int{}, seed: seed}
	for i := range t.Columns {
		rc.cols[t.Columns[i].Name] = &t.Columns[i]
	}
	for _, u := range t.Uniques {
		var set []string
		for _, c := range u {
			if c != tenantCol {
				set = append(set, c)
			}
		}
		if len(set) == 0 {
			continue // one restaurant per archive is checked on its own
		}
		rc.uniques = append(rc.uniques, set)
		rc.seen = append(rc.seen, map[uint64]uint32{})
	}
	return rc
}

// report lists a problem unless perKind of its kind are listed already.
func (rc *rowChecker) report(kind string, row int, col, format string, args ...any) {
	key := col + "\x00" + kind
	rc.reported[key]++
	if rc.reported[key] > perKind {
		return
	}
	msg := fmt.Sprintf(format, args...)
	where := fmt.Sprintf("row %d", row)
	if col != "" {
		where += ", column " + col
	}
	if len(rc.ps.list) >= maxProblems {
		rc.ps.dropped++
		return
	}
	rc.ps.list = append(rc.ps.list, Problem{File: rc.file, Table: rc.table, Row: row, Column: col, Message: where + ": " + msg})
}

func (rc *rowChecker) finish() {
	keys := make([]string, 0, len(rc.reported))
	for k, n := range rc.reported {
		if n > perKind {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		col, _, _ := strings.Cut(k, "\x00")
		what := "the same problem"
		if col != "" {
			what += " in column " + col
		}
		rc.ps.add(rc.file, "%d rows in all have %s", rc.reported[k], what)
	}
}

// check checks one row; n counts from 1.
func (rc *rowChecker) check(n int, row map[string]any) {
	if rc.first == nil {
		rc.firstRow(n, row)
	} else if len(row) != len(rc.first) || !rc.sameColumns(row) {
		var missing, extra []string
		for _, c := range rc.first {
			if _, ok := row[c]; !ok {
				missing = append(missing, c)
			}
		}
		for c := range row {
			if !rc.firstSet[c] {
				extra = append(extra, c)
			}
		}
		sort.Strings(extra)
		msg := "does not have the same columns as row 1"
		if len(missing) > 0 {
			msg += "; lacks " + strings.Join(missing, ", ")
		}
		if len(extra) > 0 {
			msg += "; adds " + strings.Join(extra, ", ")
		}
		rc.report("columns", n, "", "%s", msg)
		return
	}
	// The maps are reused from row to row: a table may hold millions.
	if rc.typed == nil {
		rc.typed, rc.bad = make(map[string]any, len(rc.t.Columns)), map[string]bool{}
	}
	typed, bad := rc.typed, rc.bad
	clear(typed)
	clear(bad)
	for name, v := range row {
		c := rc.cols[name]
		if c == nil {
			continue // reported once, from row 1
		}
		if name == rc.tenantCol {
			typed[name] = v // checked against the manifest; the import sets it
			continue
		}
		tv, problem := convert(c, v)
		if problem != "" {
			rc.report("type", n, name, "%s", problem)
			bad[name] = true
			continue
		}
		if tv == nil && c.NotNull {
			rc.report("null", n, name, "is null, but the column is NOT NULL")
			bad[name] = true
		}
		typed[name] = tv
	}
	for name, v := range rc.defaults {
		typed[name] = v
	}
	for _, ck := range rc.t.Checks {
		if slices.ContainsFunc(ck.Columns, func(c string) bool { return bad[c] }) {
			continue
		}
		if !ck.Holds(typed) {
			col := ""
			if len(ck.Columns) == 1 {
				col = ck.Columns[0]
			}
			rc.report("check:"+ck.Text, n, col, "%s", rc.checkMessage(ck, col, typed))
		}
	}
	for i, set := range rc.uniques {
		h, ok := rc.uniqueKey(set, typed, bad)
		if !ok {
			continue
		}
		if prev, dup := rc.seen[i][h]; dup {
			if len(set) == 1 {
				rc.report("unique:"+set[0], n, set[0], "%s repeats row %d, but must be unique", show(typed[set[0]]), prev)
			} else {
				rc.report("unique:"+strings.Join(set, ","), n, strings.Join(set, ", "), "%s repeat row %d, but must be unique together", describe(set, typed), prev)
			}
			continue
		}
		rc.seen[i][h] = uint32(min(n, math.MaxUint32))
	}
	for _, ix := range rc.t.Indexes {
		size, hasText := 0, false
		for _, c := range ix {
			switch v := typed[c].(type) {
			case string:
				size += len(v)
				hasText = hasText || rc.cols[c].Kind != KindUUID
			default:
				size += 16
			}
		}
		if hasText && size > MaxIndexKeyBytes {
			rc.report("index:"+strings.Join(ix, ","), n, strings.Join(ix, ", "), "%d bytes are too long for the database's index on (%s), at most %d",
				size, strings.Join(ix, ", "), MaxIndexKeyBytes)
		}
	}
}

func (rc *rowChecker) checkMessage(ck Check, col string, typed map[string]any) string {
	if col != "" {
		if allowed := ck.Allowed(col); allowed != nil {
			return fmt.Sprintf("%s is not allowed (allowed: %s)", show(typed[col]), strings.Join(allowed, ", "))
		}
		return fmt.Sprintf("%s breaks the database's rule CHECK %s", show(typed[col]), ck.Text)
	}
	var vals []string
	for _, c := range ck.Columns {
		vals = append(vals, c+" = "+show(typed[c]))
	}
	return fmt.Sprintf("%s break the database's rule CHECK %s", strings.Join(vals, ", "), ck.Text)
}

func show(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		if len(x) > 60 {
			x = x[:57] + "…"
		}
		return strconv.Quote(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	}
	return fmt.Sprint(v)
}

func describe(set []string, typed map[string]any) string {
	parts := make([]string, len(set))
	for i, c := range set {
		parts[i] = c + " " + show(typed[c])
	}
	return strings.Join(parts, ", ")
}

// uniqueKey hashes the values of set as the database compares them;
// ok is false when one is NULL (NULLs are never equal) or was refused.
func (rc *rowChecker) uniqueKey(set []string, typed map[string]any, bad map[string]bool) (uint64, bool) {
	var h maphash.Hash
	h.SetSeed(rc.seed)
	for _, c := range set {
		v, present := typed[c]
		if !present || v == nil || bad[c] {
			return 0, false
		}
		var buf [32]byte
		switch x := v.(type) {
		case string:
			h.WriteString(x)
		case int64:
			h.Write(strconv.AppendInt(buf[:0], x, 10))
		case time.Time:
			h.Write(strconv.AppendInt(buf[:0], x.Truncate(time.Microsecond).UnixMicro(), 10))
		case float64:
			h.Write(strconv.AppendFloat(buf[:0], x, 'g', -1, 64))
		default:
			h.WriteString(fmt.Sprint(x))
		}
		h.WriteByte(0)
	}
	return h.Sum64(), true
}

func (rc *rowChecker) sameColumns(row map[string]any) bool {
	for c := range row {
		if !rc.firstSet[c] {
			return false
		}
	}
	return true
}

// firstRow fixes the columns every row must have (the import writes the
// columns of row 1) and checks them against the table.
func (rc *rowChecker) firstRow(n int, row map[string]any) {
	rc.firstSet = map[string]bool{}
	for c := range row {
		rc.first = append(rc.first, c)
		rc.firstSet[c] = true
	}
	sort.Strings(rc.first)
	for _, c := range rc.first {
		if rc.cols[c] == nil {
			rc.report("unknown", n, c, "no such column in this installation's %s table", rc.table)
		}
	}
	rc.defaults = map[string]any{}
	for _, c := range rc.t.Columns {
		if rc.firstSet[c.Name] || c.Name == rc.tenantCol {
			continue
		}
		if c.NotNull && !c.HasDefault {
			rc.report("missing", n, c.Name, "the column is missing, and the database has no default for it")
		}
		rc.defaults[c.Name] = c.Default // an older archive: the import leaves the default
	}
}

// convert checks a decoded JSON value (numbers as json.Number) as the
// import will convert it, and returns it typed for constraints.
func convert(c *Column, v any) (any, string) {
	if v == nil {
		return nil, ""
	}
	str := func() (string, string) {
		s, ok := v.(string)
		if !ok {
			return "", fmt.Sprintf("want a string, got %s", jsonType(v))
		}
		if len(s) > MaxValueBytes {
			return "", fmt.Sprintf("%d bytes is longer than the %d allowed", len(s), MaxValueBytes)
		}
		if strings.IndexByte(s, 0) >= 0 {
			return "", "contains a NUL character, which the database cannot store"
		}
		return s, ""
	}
	switch c.Kind {
	case KindInt:
		num, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Sprintf("want an integer, got %s", jsonType(v))
		}
		i, err := strconv.ParseInt(string(num), 10, 64)
		if err != nil {
			return nil, fmt.Sprintf("%s is not an integer the database can store", num)
		}
		bits := c.IntBits
		if bits == 0 {
			bits = 64
		}
		if lim := int64(1) << (bits - 1); bits < 64 && (i >= lim || i < -lim) {
			return nil, fmt.Sprintf("%d is out of range for a %d-bit integer column", i, bits)
		}
		return i, ""
	case KindFloat:
		num, ok := v.(json.Number)
		if !ok {
			return nil, fmt.Sprintf("want a number, got %s", jsonType(v))
		}
		f, err := strconv.ParseFloat(string(num), 64)
		if err != nil {
			return nil, fmt.Sprintf("%s is not a number the database can store", num)
		}
		return f, ""
	case KindBool:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Sprintf("want true or false, got %s", jsonType(v))
		}
		return b, ""
	case KindTime:
		s, p := str()
		if p != "" {
			return nil, p
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, fmt.Sprintf("%s is not an RFC 3339 timestamp", show(s))
		}
		if t.UTC().Year() < 1 {
			return nil, fmt.Sprintf("%s is before year 1", show(s))
		}
		return t, ""
	case KindDate:
		s, p := str()
		if p != "" {
			return nil, p
		}
		t, err := time.Parse("2006-01-02", s)
		if err != nil || t.Year() < 1 {
			return nil, fmt.Sprintf("%s is not a date (YYYY-MM-DD)", show(s))
		}
		return t, ""
	case KindBytes:
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Sprintf("want base64 text, got %s", jsonType(v))
		}
		if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			return nil, "is not base64"
		}
		return s, ""
	case KindUUID:
		s, p := str()
		if p != "" {
			return nil, p
		}
		if u, err := uuid.Parse(s); err != nil || u.String() != s {
			return nil, fmt.Sprintf("%s is not an id (a lower-case UUID)", show(s))
		}
		return s, ""
	case KindJSON:
		s, p := str()
		if p != "" {
			return nil, p
		}
		if p := checkJSONText(s); p != "" {
			return nil, p
		}
		return s, ""
	}
	s, p := str()
	if p != "" {
		return nil, p
	}
	if c.MaxChars > 0 && utf8.RuneCountInString(s) > c.MaxChars {
		return nil, fmt.Sprintf("is longer than the %d characters allowed", c.MaxChars)
	}
	return s, ""
}

func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "true/false"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// checkJSONText reports what PostgreSQL's jsonb would refuse in a JSON
// document: invalid JSON, \u0000, unpaired surrogates, numbers beyond
// float64, deep nesting.
func checkJSONText(s string) string {
	if !json.Valid([]byte(s)) {
		return "is not a valid JSON document"
	}
	depth, inStr := 0, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if inStr {
			switch c {
			case '"':
				inStr = false
			case '\\':
				if s[i+1] != 'u' {
					i++
					continue
				}
				r, _ := strconv.ParseUint(s[i+2:i+6], 16, 32)
				i += 5
				switch {
				case r == 0:
					return `holds \u0000, which the database cannot store in a JSON document`
				case r >= 0xDC00 && r <= 0xDFFF:
					return "holds an unpaired UTF-16 surrogate escape"
				case r >= 0xD800 && r <= 0xDBFF:
					if i+6 >= len(s) || s[i+1] != '\\' || s[i+2] != 'u' {
						return "holds an unpaired UTF-16 surrogate escape"
					}
					lo, _ := strconv.ParseUint(s[i+3:i+7], 16, 32)
					if lo < 0xDC00 || lo > 0xDFFF {
						return "holds an unpaired UTF-16 surrogate escape"
					}
					i += 6
				}
			}
			continue
		}
		switch c {
		case '"':
			inStr = true
		case '[', '{':
			depth++
			if depth > MaxJSONDepth {
				return fmt.Sprintf("is nested deeper than %d levels", MaxJSONDepth)
			}
		case ']', '}':
			depth--
		case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
			j := i
			for j < len(s) && strings.IndexByte("+-0123456789.eE", s[j]) >= 0 {
				j++
			}
			if _, err := strconv.ParseFloat(s[i:j], 64); err != nil {
				return fmt.Sprintf("holds the number %.40s, too large to store", s[i:j])
			}
			i = j - 1
		}
	}
	return ""
}

// utf8Check follows a byte stream and remembers where it first stops
// being UTF-8.
type utf8Check struct {
	carry  []byte
	offset int64
	bad    int64 // offset of the first invalid byte, -1 while valid
}

func (u *utf8Check) Write(p []byte) (int, error) {
	if u.bad >= 0 {
		return len(p), nil
	}
	buf := append(u.carry, p...)
	base := u.offset - int64(len(u.carry))
	i := 0
	for i < len(buf) {
		if buf[i] < utf8.RuneSelf {
			i++
			continue
		}
		if !utf8.FullRune(buf[i:]) {
			break // the rest may come in the next write
		}
		r, size := utf8.DecodeRune(buf[i:])
		if r == utf8.RuneError && size == 1 {
			u.bad = base + int64(i)
			return len(p), nil
		}
		i += size
	}
	u.carry = append(u.carry[:0:0], buf[i:]...)
	u.offset += int64(len(p))
	return len(p), nil
}

// close reports a truncated sequence at the end as invalid.
func (u *utf8Check) close() {
	if u.bad < 0 && len(u.carry) > 0 {
		u.bad = u.offset - int64(len(u.carry))
	}
}

package store

import "time"

// CopyProgress tells how far a tenant copy (an export or an import) is.
type CopyProgress struct {
	Table      string
	TableRows  int64 // rows of Table done
	TableTotal int64 // rows Table holds
	Done       int64 // rows done over every table
	Total      int64 // rows over every table
}

// Percent maps the rows done onto [from, to].
func (p CopyProgress) Percent(from, to int) int {
	if p.Total <= 0 {
		return from
	}
	return from + int(int64(to-from)*min(p.Done, p.Total)/p.Total)
}

// progressEvery is how often a copy reports within a table: often enough
// that a million-row table shows steady movement, rarely enough that the
// reports cost nothing beside the rows.
const progressEvery = 250 * time.Millisecond

// CopyMeter counts a copy's rows and reports at each table's start and
// every progressEvery within a table. A nil meter or one without a report
// function counts nothing.
type CopyMeter struct {
	report func(CopyProgress)
	totals map[string]int64
	p      CopyProgress
	last   time.Time
}

// NewCopyMeter meters a copy of the given rows per table.
func NewCopyMeter(totals map[string]int64, report func(CopyProgress)) *CopyMeter {
	m := &CopyMeter{report: report, totals: totals}
	for _, n := range totals {
		m.p.Total += n
	}
	return m
}

// Table starts a table.
func (m *CopyMeter) Table(table string) {
	if m == nil || m.report == nil {
		return
	}
	m.p.Table, m.p.TableRows, m.p.TableTotal = table, 0, m.totals[table]
	m.last = time.Now()
	m.report(m.p)
}

// Row counts one row.
func (m *CopyMeter) Row() {
	if m == nil || m.report == nil {
		return
	}
	m.p.TableRows++
	m.p.Done++
	if m.p.TableRows%512 == 0 && time.Since(m.last) >= progressEvery {
		m.last = time.Now()
		m.report(m.p)
	}
}

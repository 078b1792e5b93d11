package changelog

import (
	"github.com/shimizu-tech/ordersuite/internal/store"
)

// CrashingShipper stores its first segment and then fails before recording
// it, like an instance killed between the two.
func CrashingShipper(db *store.DB, objs Objects, crash error) *Shipper {
	s := &Shipper{DB: db, Objects: objs}
	s.beforeRecord = func(store.ShippedSegment) error { return crash }
	return s
}

package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/reservations"
)

// Reservations are the tenant's bookings; they are written only by
// CreateReservation and SetReservationStatus.
var Reservations = &Entity[reservations.Reservation]{
	table: "reservations", what: "reservation", resource: "reservation",
	columns: []string{"id", "number", "customer_id", "table_id", "name", "phone", "party_size", "starts_at", "ends_at",
		"status", "notes", "created_at", "updated_at"},
	scan: func(sc scanner) (reservations.Reservation, error) {
		var v reservations.Reservation
		var cust sql.NullString
		err := sc.Scan(&v.ID, &v.Number, &cust, &v.TableID, &v.Name, &v.Phone, &v.PartySize, &v.StartsAt, &v.EndsAt,
			&v.Status, &v.Notes, &v.CreatedAt, &v.UpdatedAt)
		v.CustomerID = cust.String
		utc(&v.StartsAt, &v.EndsAt, &v.CreatedAt, &v.UpdatedAt)
		return v, err
	},
	values: func(v *reservations.Reservation) []any {
		return []any{v.ID, v.Number, nullable(v.CustomerID), v.TableID, v.Name, v.Phone, v.PartySize, v.StartsAt, v.EndsAt,
			v.Status, v.Notes, v.CreatedAt, v.UpdatedAt}
	},
	id: func(v *reservations.Reservation) string { return v.ID },
	touch: func(v *reservations.Reservation, now time.Time, creating bool) {
		stamp(&v.ID, &v.CreatedAt, &v.UpdatedAt, now, creating)
	},
	order:  "starts_at, id",
	filter: reflect.TypeFor[ReservationFilter](),
	owner:  "customer_id",
}

// CreateReservation books a table for req. In one transaction it applies
// the day's special event (closed, or a cap on guests), checks the table's
// capacity and that no reservation holding the table overlaps, and numbers
// the reservation. On PostgreSQL the candidate tables and the day's event
// are locked, so two bookings of one table serialize; SQLite's immediate
// transactions serialize all writers.
// Errors: NotFound (Field: table_id, customer_id) outside the tenant;
// Invalid (Field: table_id, party_size) for a table out of service or too
// small; Conflict when the day is closed or full, or no table is free, or
// (Field: Idempotency-Key) when a duplicate holds the request's key. Under
// an Idempotency-Key (WithIdempotency) the answer is kept in the
// transaction.
func (db *DB) CreateReservation(ctx context.Context, req reservations.Request) (reservations.Reservation, error) {
	var res reservations.Reservation
	rid, err := tenant(ctx)
	if err != nil {
		return res, err
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		keyID, err := db.claimKey(ctx, tx, rid)
		if err != nil {
			return err
		}
		if req.CustomerID != "" {
			if err := checkRef(ctx, tx, rid, ref{field: "customer_id", table: "customers", what: "customer", id: req.CustomerID}); err != nil {
				return err
			}
		}
		day := reservations.Day(req.StartsAt)
		if err := db.checkSpecialEvent(ctx, tx, rid, day, req.PartySize); err != nil {
			return err
		}
		tableID, err := db.freeTable(ctx, tx, rid, req)
		if err != nil {
			return err
		}
		now := db.Now()
		res = reservations.Reservation{CustomerID: req.CustomerID, TableID: tableID, Name: req.Name, Phone: req.Phone,
			PartySize: req.PartySize, StartsAt: req.StartsAt, EndsAt: req.EndsAt, Status: reservations.Booked, Notes: req.Notes}
		if res.Number, err = db.nextNumber(ctx, tx, rid, "R", now); err != nil {
			return err
		}
		Reservations.touch(&res, now, true)
		if err := Reservations.insert(ctx, db, tx, rid, &res); err != nil {
			return err
		}
		if err := db.audit(ctx, tx, "create", "reservation", res.ID, nil, res); err != nil {
			return err
		}
		return db.keepReply(ctx, tx, rid, keyID, res)
	})
	return res, err
}

func (db *DB) checkSpecialEvent(ctx context.Context, tx *sql.Tx, rid, day string, party int) error {
	var name string
	var closed bool
	var maxGuests sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT name, closed, max_guests FROM special_events
		WHERE restaurant_id = $1 AND event_date = $2`+db.lock(), rid, day).Scan(&name, &closed, &maxGuests)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: read special event: %w", err)
	}
	if closed {
		return apperr.Errorf(apperr.Conflict, "the restaurant is closed on %s (%s)", day, name)
	}
	if !maxGuests.Valid {
		return nil
	}
	start, _ := time.Parse(time.DateOnly, day)
	var booked int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(party_size), 0) FROM reservations
		WHERE restaurant_id = $1 AND starts_at >= $2 AND starts_at < $3 AND status IN ('booked', 'seated')`,
		rid, start, start.AddDate(0, 0, 1)).Scan(&booked); err != nil {
		return fmt.Errorf("store: count guests: %w", err)
	}
	if booked+int64(party) > maxGuests.Int64 {
		return apperr.Errorf(apperr.Conflict, "%s on %s takes at most %d guests; %d are booked", name, day, maxGuests.Int64, booked)
	}
	return nil
}

// freeTable returns the requested table if it fits and is free, or else the
// smallest free table that fits.
func (db *DB) freeTable(ctx context.Context, tx *sql.Tx, rid string, req reservations.Request) (string, error) {
	type candidate struct {
		id       string
		capacity int
		active   bool
	}
	var cands []candidate
	if req.TableID != "" {
		t, err := Tables.get(ctx, tx, rid, req.TableID, db.lock())
		if err != nil {
			return "", &apperr.Error{Code: apperr.NotFound, Message: "table not found", Field: "table_id"}
		}
		if !t.Active {
			return "", apperr.InvalidField("table_id", "this table is not in service")
		}
		if t.Capacity < req.PartySize {
			return "", apperr.InvalidField("party_size", "table %s seats %d, not %d", t.Label, t.Capacity, req.PartySize)
		}
		cands = append(cands, candidate{t.ID, t.Capacity, true})
	} else {
		// Locked in id order so concurrent bookings cannot deadlock.
		rows, err := tx.QueryContext(ctx, `SELECT id, capacity FROM tables
			WHERE restaurant_id = $1 AND active AND capacity >= $2 ORDER BY id`+db.lock(), rid, req.PartySize)
		if err != nil {
			return "", fmt.Errorf("store: find tables: %w", err)
		}
		for rows.Next() {
			c := candidate{active: true}
			if err := rows.Scan(&c.id, &c.capacity); err != nil {
				rows.Close()
				return "", fmt.Errorf("store: find tables: %w", err)
			}
			cands = append(cands, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return "", err
		}
		// Smallest table first.
		slices.SortStableFunc(cands, func(a, b candidate) int { return a.capacity - b.capacity })
	}
	for _, c := range cands {
		var busy bool
		if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM reservations
			WHERE restaurant_id = $1 AND table_id = $2 AND status IN ('booked', 'seated') AND starts_at < $3 AND ends_at > $4)`,
			rid, c.id, req.EndsAt, req.StartsAt).Scan(&busy); err != nil {
			return "", fmt.Errorf("store: check table: %w", err)
		}
		if !busy {
			return c.id, nil
		}
	}
	if req.TableID != "" {
		return "", apperr.Errorf(apperr.Conflict, "the table is already booked at that time")
	}
	return "", apperr.Errorf(apperr.Conflict, "no table for %d is free at that time", req.PartySize)
}

// SetReservationStatus moves a reservation along its lifecycle.
// Errors: NotFound when the tenant has no such reservation; Conflict when
// it cannot move to the status.
func (db *DB) SetReservationStatus(ctx context.Context, id string, to reservations.Status) (reservations.Reservation, error) {
	return Update(ctx, db, Reservations, id, func(r *reservations.Reservation) error {
		if !reservations.CanMove(r.Status, to) {
			return apperr.Errorf(apperr.Conflict, "a reservation cannot go from %s to %s", r.Status, to)
		}
		r.Status = to
		return nil
	})
}

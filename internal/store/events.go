package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// TenantEvent is one row of the per-tenant event log.
type TenantEvent struct {
	RestaurantID string          `json:"restaurant_id"`
	ID           string          `json:"id"`
	Type         string          `json:"event_type"`
	Data         json.RawMessage `json:"event_data"`
	CreatedAt    time.Time       `json:"created_at"`
}

// InsertEvents writes a batch of events in one transaction.
func (db *DB) InsertEvents(ctx context.Context, events []TenantEvent) error {
	if len(events) == 0 {
		return nil
	}
	tx, err := db.sql.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: insert events: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO tenant_events (restaurant_id, id, event_type, event_data, created_at) VALUES ($1, $2, $3, $4, $5)`)
	if err != nil {
		return fmt.Errorf("store: insert events: %w", err)
	}
	defer stmt.Close()
	for _, e := range events {
		if e.ID == "" {
			e.ID = NewID()
		}
		if e.CreatedAt.IsZero() {
			e.CreatedAt = db.Now()
		}
		if _, err := stmt.ExecContext(ctx, e.RestaurantID, e.ID, e.Type, string(e.Data), e.CreatedAt.UTC()); err != nil {
			return fmt.Errorf("store: insert event: %w", err)
		}
	}
	return tx.Commit()
}

// EventsOfType lists the tenant's events of one type, newest first.
func (db *DB) EventsOfType(ctx context.Context, eventType string, limit int) ([]TenantEvent, error) {
	rid, err := tenant(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.sql.QueryContext(ctx, `SELECT restaurant_id, id, event_type, event_data, created_at FROM tenant_events
		WHERE restaurant_id = $1 AND event_type = $2 ORDER BY created_at DESC, id DESC LIMIT $3`, rid, eventType, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list events: %w", err)
	}
	defer rows.Close()
	var out []TenantEvent
	for rows.Next() {
		var e TenantEvent
		var data string
		if err := rows.Scan(&e.RestaurantID, &e.ID, &e.Type, &data, &e.CreatedAt); err != nil {
			return nil, fmt.Errorf("store: list events: %w", err)
		}
		e.Data, e.CreatedAt = json.RawMessage(data), e.CreatedAt.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}

package store

import (
	"time"

	"github.com/shimizu-tech/ordersuite/internal/loyalty"
)

// LoyaltyPrograms are the tenant's loyalty programs.
var LoyaltyPrograms = &Entity[loyalty.Program]{
	table: "loyalty_programs", what: "loyalty program", resource: "loyalty_program",
	columns: []string{"id", "name", "points_per_unit", "active", "created_at", "updated_at"},
	scan: func(sc scanner) (loyalty.Program, error) {
		var v loyalty.Program
		err := sc.Scan(&v.ID, &v.Name, &v.PointsPerUnit, &v.Active, &v.CreatedAt, &v.UpdatedAt)
		utc(&v.CreatedAt, &v.UpdatedAt)
		return v, err
	},
	values: func(v *loyalty.Program) []any {
		return []any{v.ID, v.Name, v.PointsPerUnit, v.Active, v.CreatedAt, v.UpdatedAt}
	},
	id: func(v *loyalty.Program) string { return v.ID },
	touch: func(v *loyalty.Program, now time.Time, creating bool) {
		stamp(&v.ID, &v.CreatedAt, &v.UpdatedAt, now, creating)
	},
	order:   "name, id",
	filters: map[string]string{"active": "active = ?"},
}

// LoyaltyRewards are what the tenant's points buy.
var LoyaltyRewards = &Entity[loyalty.Reward]{
	table: "loyalty_rewards", what: "loyalty reward", resource: "loyalty_reward",
	columns: []string{"id", "program_id", "name", "description", "points_cost", "active", "created_at", "updated_at"},
	scan: func(sc scanner) (loyalty.Reward, error) {
		var v loyalty.Reward
		err := sc.Scan(&v.ID, &v.ProgramID, &v.Name, &v.Description, &v.PointsCost, &v.Active, &v.CreatedAt, &v.UpdatedAt)
		utc(&v.CreatedAt, &v.UpdatedAt)
		return v, err
	},
	values: func(v *loyalty.Reward) []any {
		return []any{v.ID, v.ProgramID, v.Name, v.Description, v.PointsCost, v.Active, v.CreatedAt, v.UpdatedAt}
	},
	id: func(v *loyalty.Reward) string { return v.ID },
	touch: func(v *loyalty.Reward, now time.Time, creating bool) {
		stamp(&v.ID, &v.CreatedAt, &v.UpdatedAt, now, creating)
	},
	refs: func(v *loyalty.Reward) []ref {
		return []ref{{field: "program_id", table: "loyalty_programs", what: "loyalty program", id: v.ProgramID}}
	},
	order:   "points_cost, id",
	filters: map[string]string{"program_id": "program_id = ?", "active": "active = ?"},
}

package store

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"

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
	order:  "name, id",
	filter: reflect.TypeFor[LoyaltyProgramFilter](),
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
	order:  "points_cost, id",
	filter: reflect.TypeFor[LoyaltyRewardFilter](),
}

// earnPoints credits a customer in every active program of the tenant.
func (db *DB) earnPoints(ctx context.Context, tx *sql.Tx, rid, customerID string, totalCents int64, now time.Time) error {
	active := true
	programs, _, err := LoyaltyPrograms.list(ctx, tx, rid, ListQuery{Filter: LoyaltyProgramFilter{Active: &active}, Limit: 100})
	if err != nil {
		return err
	}
	for _, p := range programs {
		pts := p.Earned(totalCents)
		if pts == 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO customer_loyalty (restaurant_id, id, customer_id, program_id,
				points_balance, lifetime_points, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5, $6, $6)
			ON CONFLICT (restaurant_id, customer_id, program_id) DO UPDATE SET
				points_balance = customer_loyalty.points_balance + $5,
				lifetime_points = customer_loyalty.lifetime_points + $5, updated_at = $6`,
			rid, NewID(), customerID, p.ID, pts, now); err != nil {
			return fmt.Errorf("store: earn loyalty points: %w", err)
		}
	}
	return nil
}

// LoyaltyAccounts are the tenant's customer balances (CustomerLoyalty).
var LoyaltyAccounts = &Entity[loyalty.Account]{
	table: "customer_loyalty", what: "loyalty account", resource: "customer_loyalty",
	columns: []string{"id", "customer_id", "program_id", "points_balance", "lifetime_points", "created_at", "updated_at"},
	scan: func(sc scanner) (loyalty.Account, error) {
		var v loyalty.Account
		err := sc.Scan(&v.ID, &v.CustomerID, &v.ProgramID, &v.PointsBalance, &v.LifetimePoints, &v.CreatedAt, &v.UpdatedAt)
		utc(&v.CreatedAt, &v.UpdatedAt)
		return v, err
	},
	values: func(v *loyalty.Account) []any {
		return []any{v.ID, v.CustomerID, v.ProgramID, v.PointsBalance, v.LifetimePoints, v.CreatedAt, v.UpdatedAt}
	},
	id: func(v *loyalty.Account) string { return v.ID },
	touch: func(v *loyalty.Account, now time.Time, creating bool) {
		stamp(&v.ID, &v.CreatedAt, &v.UpdatedAt, now, creating)
	},
	order:  "updated_at DESC, id",
	filter: reflect.TypeFor[LoyaltyAccountFilter](),
	owner:  "customer_id",
}

// Redeem spends a reward's points from a customer's balance. The balance is
// decremented only where it covers the cost, so it never goes negative,
// however many redemptions race.
// Errors: NotFound when the reward or the customer's account is not the
// tenant's; Conflict when the reward is inactive or the balance too low.
func (db *DB) Redeem(ctx context.Context, rewardID, customerID string) (loyalty.Account, loyalty.Reward, error) {
	var acct loyalty.Account
	var reward loyalty.Reward
	rid, err := tenant(ctx)
	if err != nil {
		return acct, reward, err
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		if reward, err = LoyaltyRewards.get(ctx, tx, rid, rewardID, ""); err != nil {
			return err
		}
		if !reward.Active {
			return apperr.Errorf(apperr.Conflict, "this reward is not active")
		}
		if err := checkRef(ctx, tx, rid, ref{field: "customer_id", table: "customers", what: "customer", id: customerID}); err != nil {
			return err
		}
		now := db.Now()
		res, err := tx.ExecContext(ctx, `UPDATE customer_loyalty SET points_balance = points_balance - $1, updated_at = $2
			WHERE restaurant_id = $3 AND customer_id = $4 AND program_id = $5 AND points_balance >= $1`,
			reward.PointsCost, now, rid, customerID, reward.ProgramID)
		if err != nil {
			return fmt.Errorf("store: redeem: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return apperr.Errorf(apperr.Conflict, "the customer has fewer than %d points", reward.PointsCost)
		}
		acct, err = LoyaltyAccounts.scan(tx.QueryRowContext(ctx, `SELECT `+LoyaltyAccounts.cols()+` FROM customer_loyalty
			WHERE restaurant_id = $1 AND customer_id = $2 AND program_id = $3`, rid, customerID, reward.ProgramID))
		if err != nil {
			return fmt.Errorf("store: redeem: %w", err)
		}
		return db.audit(ctx, tx, "redeem", "loyalty_reward", reward.ID, nil, acct)
	})
	return acct, reward, err
}

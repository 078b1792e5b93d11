// Package loyalty owns the restaurant's loyalty program: points earned on
// completed orders, rewards bought with points, balances never negative.
package loyalty

import (
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/menu"
)

// ProgramFields are the writable fields of a program.
type ProgramFields struct {
	Name string `json:"name"`
	// PointsPerUnit is earned per whole currency unit (100 cents) spent.
	PointsPerUnit int  `json:"points_per_unit"`
	Active        bool `json:"active"`
}

// Program is a restaurant's loyalty program.
type Program struct {
	ID string `json:"id"`
	ProgramFields
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NewProgramFields are the defaults of a new program.
func NewProgramFields() ProgramFields { return ProgramFields{Active: true, PointsPerUnit: 1} }

// Validate checks a program.
func (f ProgramFields) Validate() error {
	if err := menu.Text("name", f.Name, 1, 100); err != nil {
		return err
	}
	if f.PointsPerUnit < 0 || f.PointsPerUnit > 1000 {
		return apperr.InvalidField("points_per_unit", "must be from 0 to 1000")
	}
	return nil
}

// Earned is the points an order of totalCents earns.
func (p Program) Earned(totalCents int64) int64 {
	if !p.Active || totalCents <= 0 {
		return 0
	}
	return totalCents / 100 * int64(p.PointsPerUnit)
}

// RewardFields are the writable fields of a reward.
type RewardFields struct {
	ProgramID   string `json:"program_id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	PointsCost  int64  `json:"points_cost"`
	Active      bool   `json:"active"`
}

// Reward is bought with points.
type Reward struct {
	ID string `json:"id"`
	RewardFields
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// NewRewardFields are the defaults of a new reward.
func NewRewardFields() RewardFields { return RewardFields{Active: true} }

// Validate checks a reward.
func (f RewardFields) Validate() error {
	if f.ProgramID == "" {
		return apperr.InvalidField("program_id", "is required")
	}
	if err := menu.Text("name", f.Name, 1, 100); err != nil {
		return err
	}
	if err := menu.Text("description", f.Description, 0, 1000); err != nil {
		return err
	}
	if f.PointsCost < 1 || f.PointsCost > 10_000_000 {
		return apperr.InvalidField("points_cost", "must be from 1 to 10000000")
	}
	return nil
}

// Account is one customer's balance in one program (CustomerLoyalty).
type Account struct {
	ID             string    `json:"id"`
	CustomerID     string    `json:"customer_id"`
	ProgramID      string    `json:"program_id"`
	PointsBalance  int64     `json:"points_balance"`
	LifetimePoints int64     `json:"lifetime_points"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

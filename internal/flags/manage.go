package flags

import (
	"bytes"
	"context"
	"encoding/json"
	"regexp"
	"sort"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// KeyPattern is what a flag or variant key looks like: lower case, digits,
// '_', '.', '-'; never ':' or '/', which the hashing uses as separators.
var KeyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

const (
	maxDescription   = 500
	maxConfiguration = 64 << 10
	maxVariants      = 20
	maxWeight        = 10000
)

// Change lists the fields to set; nil (and false ClearPercentage) keeps.
type Change struct {
	Description     *string
	Enabled         *bool
	Percentage      *int
	ClearPercentage bool
	Configuration   json.RawMessage
	Variants        *[]store.FlagVariant
}

// Validate checks every field it sets, naming the first that is wrong.
func (c Change) Validate() error {
	if c.Description != nil && len(*c.Description) > maxDescription {
		return apperr.InvalidField("description", "must be at most %d characters", maxDescription)
	}
	if c.Percentage != nil && (*c.Percentage < 0 || *c.Percentage > 100) {
		return apperr.InvalidField("percentage", "must be an integer from 0 to 100, or null")
	}
	if c.Configuration != nil {
		if err := ValidateConfiguration(c.Configuration); err != nil {
			return err
		}
	}
	if c.Variants != nil {
		return ValidateVariants(*c.Variants)
	}
	return nil
}

// ValidateKey checks a flag key.
func ValidateKey(key string) error {
	if !KeyPattern.MatchString(key) {
		return apperr.InvalidField("key", "must match %s", KeyPattern)
	}
	return nil
}

// ValidateConfiguration requires a JSON object.
func ValidateConfiguration(raw json.RawMessage) error {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) > maxConfiguration {
		return apperr.InvalidField("configuration", "must be at most %d bytes", maxConfiguration)
	}
	var obj map[string]any
	if len(trimmed) == 0 || trimmed[0] != '{' || json.Unmarshal(trimmed, &obj) != nil {
		return apperr.InvalidField("configuration", "must be a JSON object")
	}
	return nil
}

// ValidateVariants checks A/B variants: distinct keys, weights 0–10000, and
// a positive total when there are any.
func ValidateVariants(vs []store.FlagVariant) error {
	if len(vs) > maxVariants {
		return apperr.InvalidField("variants", "at most %d variants", maxVariants)
	}
	seen := map[string]bool{}
	total := 0
	for _, v := range vs {
		if !KeyPattern.MatchString(v.Key) {
			return apperr.InvalidField("variants", "variant key %q must match %s", v.Key, KeyPattern)
		}
		if seen[v.Key] {
			return apperr.InvalidField("variants", "variant key %q appears twice", v.Key)
		}
		seen[v.Key] = true
		if v.Weight < 0 || v.Weight > maxWeight {
			return apperr.InvalidField("variants", "weight of %q must be from 0 to %d", v.Key, maxWeight)
		}
		total += v.Weight
	}
	if len(vs) > 0 && total == 0 {
		return apperr.InvalidField("variants", "weights must not all be 0")
	}
	return nil
}

func (c Change) apply(f *store.FeatureFlag) {
	if c.Description != nil {
		f.Description = *c.Description
	}
	if c.Enabled != nil {
		f.Enabled = *c.Enabled
	}
	if c.ClearPercentage {
		f.Percentage = nil
	}
	if c.Percentage != nil {
		p := *c.Percentage
		f.Percentage = &p
	}
	if c.Configuration != nil {
		var buf bytes.Buffer
		if json.Compact(&buf, c.Configuration) == nil {
			f.Configuration = buf.Bytes()
		}
	}
	if c.Variants != nil {
		f.Variants = append([]store.FlagVariant{}, *c.Variants...)
	}
}

// Listing is a tenant's view of its flags.
type Listing struct {
	// Tenant holds the tenant's own rows.
	Tenant []store.FeatureFlag `json:"feature_flags"`
	// Global holds the platform defaults.
	Global []store.FeatureFlag `json:"global_flags"`
	// Effective is what evaluation uses: the tenant's rows over the defaults.
	Effective []store.FeatureFlag `json:"effective"`
}

// List returns the flags of the tenant in ctx with the platform defaults
// (only the defaults when ctx has no tenant).
func (s *Service) List(ctx context.Context) (Listing, error) {
	own := []store.FeatureFlag{}
	if _, ok := tenancy.Tenant(ctx); ok {
		var err error
		if own, err = s.db.FeatureFlags(ctx); err != nil {
			return Listing{}, err
		}
	}
	global, err := s.db.GlobalFeatureFlags(ctx)
	if err != nil {
		return Listing{}, err
	}
	byKey := map[string]store.FeatureFlag{}
	for _, f := range global {
		byKey[f.Key] = f
	}
	for _, f := range own {
		byKey[f.Key] = f
	}
	eff := make([]store.FeatureFlag, 0, len(byKey))
	for _, f := range byKey {
		eff = append(eff, f)
	}
	sort.Slice(eff, func(i, j int) bool { return eff[i].Key < eff[j].Key })
	return Listing{Tenant: own, Global: global, Effective: eff}, nil
}

// Get returns a flag of the tenant in ctx, or a platform default, by id.
func (s *Service) Get(ctx context.Context, id string) (store.FeatureFlag, error) {
	return s.db.FeatureFlag(ctx, id)
}

// Create adds a flag to the tenant in ctx, or a platform default.
func (s *Service) Create(ctx context.Context, key string, global bool, c Change) (store.FeatureFlag, error) {
	if err := ValidateKey(key); err != nil {
		return store.FeatureFlag{}, err
	}
	if err := c.Validate(); err != nil {
		return store.FeatureFlag{}, err
	}
	f := store.FeatureFlag{Key: key, Global: global}
	c.apply(&f)
	f, err := s.db.CreateFeatureFlag(ctx, f)
	if err == nil {
		s.changed(f)
	}
	return f, err
}

// Update changes a flag (the tenant's in ctx or a platform default) by id.
// Only a super_admin may change a platform default.
func (s *Service) Update(ctx context.Context, id string, c Change) (store.FeatureFlag, error) {
	if err := c.Validate(); err != nil {
		return store.FeatureFlag{}, err
	}
	f, err := s.db.UpdateFeatureFlag(ctx, id, func(f *store.FeatureFlag) error {
		if err := mayChange(ctx, *f); err != nil {
			return err
		}
		c.apply(f)
		return nil
	})
	if err == nil {
		s.changed(f)
	}
	return f, err
}

// Delete removes a flag (the tenant's in ctx or a platform default) by id.
func (s *Service) Delete(ctx context.Context, id string) (store.FeatureFlag, error) {
	f, err := s.db.FeatureFlag(ctx, id)
	if err != nil {
		return f, err
	}
	if err := mayChange(ctx, f); err != nil {
		return f, err
	}
	f, err = s.db.DeleteFeatureFlag(ctx, id)
	if err == nil {
		s.changed(f)
	}
	return f, err
}

// Set changes the flag key of the tenant in ctx (or the platform default),
// creating it when missing, as the seed's enable_feature/disable_feature do.
func (s *Service) Set(ctx context.Context, key string, global bool, c Change) (store.FeatureFlag, error) {
	if err := ValidateKey(key); err != nil {
		return store.FeatureFlag{}, err
	}
	if err := c.Validate(); err != nil {
		return store.FeatureFlag{}, err
	}
	f, err := s.db.UpsertFeatureFlag(ctx, global, key, func(f *store.FeatureFlag) error {
		c.apply(f)
		return nil
	})
	if err == nil {
		s.changed(f)
	}
	return f, err
}

// Enable turns key on, with a percentage rollout or (nil) for everyone.
func (s *Service) Enable(ctx context.Context, key string, global bool, percentage *int) (store.FeatureFlag, error) {
	on := true
	return s.Set(ctx, key, global, Change{Enabled: &on, Percentage: percentage, ClearPercentage: percentage == nil})
}

// Disable turns key off and clears its percentage.
func (s *Service) Disable(ctx context.Context, key string, global bool) (store.FeatureFlag, error) {
	off := false
	return s.Set(ctx, key, global, Change{Enabled: &off, ClearPercentage: true})
}

// mayChange keeps platform defaults to super_admin; a call without a
// principal is the operator's command line.
func mayChange(ctx context.Context, f store.FeatureFlag) error {
	if !f.Global {
		return nil
	}
	if p, ok := tenancy.PrincipalFrom(ctx); ok && p.Role != tenancy.SuperAdmin {
		return apperr.Errorf(apperr.Forbidden, "only a platform operator may change a platform default")
	}
	return nil
}

// changed drops what this instance cached; other instances hear of it
// through the database.
func (s *Service) changed(f store.FeatureFlag) {
	if f.Global {
		s.Invalidate(store.AllTenants)
		return
	}
	s.Invalidate(f.RestaurantID)
}

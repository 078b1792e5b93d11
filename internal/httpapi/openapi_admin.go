package httpapi

import (
	"encoding/json"
	"net/http"
	"reflect"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/jobs"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// The shapes of the routes outside /api/v1's collections: probes, the
// admin API (audit log, restaurants' status, flags, tenant metrics, tenant
// backup) and OFREP. Where a handler answers a map, a type here spells the
// map out for the description; the response test holds them together.

type healthBody struct {
	Status string `json:"status"`
}

type readinessBody struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// auditLogPage is a restaurant's log (paged by number) or, with
// scope=platform, the platform's (paged by cursor).
type auditLogPage struct {
	Entries    []store.AuditEntry `json:"entries"`
	Page       int                `json:"page,omitempty"`
	PerPage    int                `json:"per_page"`
	Scope      string             `json:"scope,omitempty"`
	NextCursor string             `json:"next_cursor,omitempty"`
}

type restaurantStatusRequest struct {
	Status tenancy.Status `json:"status"`
}

type sdkKeysBody struct {
	SDKKeys []store.SDKKey `json:"sdk_keys"`
}

// sdkKeyCreated carries the key itself, shown this once.
type sdkKeyCreated struct {
	SDKKey store.SDKKey `json:"sdk_key"`
	Key    string       `json:"key"`
}

type staleFlagsBody struct {
	Days       int               `json:"days"`
	StaleFlags []flags.StaleFlag `json:"stale_flags"`
}

type evaluationsBody struct {
	EntityID string                `json:"entity_id"`
	Flags    map[string]evaluation `json:"flags"`
}

type ofrepRequest struct {
	Context map[string]any `json:"context"`
}

type tenantsUsageBody struct {
	Tenants   []analytics.TenantUsage `json:"tenants"`
	StartDate string                  `json:"start_date"`
	EndDate   string                  `json:"end_date"`
}

type backupCatalog struct {
	Backups            []backup.Backup             `json:"backups"`
	FailedDestinations []backup.DestinationFailure `json:"failed_destinations"`
	// Chains are the recovery chains (full backups and change log
	// segments) of the restaurants listed.
	Chains []backup.RecoveryChain `json:"chains"`
}

// jobAccepted is what a started job answers (202); the fields after status
// are there for the routes that create a restaurant or receive an archive.
type jobAccepted struct {
	Message      string         `json:"message"`
	JobID        string         `json:"job_id"`
	Status       jobs.Status    `json:"status"`
	BackupID     string         `json:"backup_id,omitempty"`
	RestaurantID string         `json:"restaurant_id,omitempty"`
	Validation   *backup.Report `json:"validation,omitempty"`
}

type invalidArchiveBody struct {
	Message    string        `json:"message"`
	Validation backup.Report `json:"validation"`
	Error      errorDetail   `json:"error"`
}

type deletedBody struct {
	Deleted string `json:"deleted"`
}

type jobStatusBody struct {
	JobID        string          `json:"job_id"`
	Kind         string          `json:"kind"`
	Status       jobs.Status     `json:"status"`
	Progress     int             `json:"progress"`
	Message      string          `json:"message"`
	Result       json.RawMessage `json:"result"`
	RestaurantID string          `json:"restaurant_id"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
}

// ofrepBulkBody lists successes and per-flag errors together.
func ofrepBulkBody() rawSchema {
	return rawSchema{"type": "object", "required": []string{"flags"}, "additionalProperties": false,
		"properties": map[string]any{"flags": map[string]any{"type": "array", "items": map[string]any{
			"oneOf": []any{schemaOf(reflect.TypeOf(ofrepSuccess{}), true), schemaOf(reflect.TypeOf(ofrepError{}), true)}}}}}
}

func day(name, what string) param {
	return param{name: name, description: what, schema: map[string]any{"type": "string", "format": "date"}}
}

var (
	usageRangeParams = []param{
		day("start_date", "first day (UTC), default 30 days ago"),
		day("end_date", "last day (UTC), default today"),
	}
	pageParams = []param{
		{name: "page", schema: map[string]any{"type": "integer", "minimum": 1}},
		{name: "per_page", schema: map[string]any{"type": "integer", "minimum": 1, "maximum": maxPerPage}},
	}
	flagAnswer  = shape{status: http.StatusOK, key: "feature_flag", out: store.FeatureFlag{}}
	toggleShape = func(summary string) shape {
		s := flagAnswer
		s.summary, s.body, s.errors = summary, toggleRequest{}, []int{http.StatusNotFound}
		s.example = map[string]any{"key": "new_checkout", "percentage": 25}
		return s
	}
)

func adminShapes() map[string]shape {
	const backups = "/admin/tenant_backup/"
	binary := []string{"application/zip", "application/octet-stream"}
	started := shape{status: http.StatusAccepted, out: jobAccepted{}, errors: []int{http.StatusConflict}}
	with := func(s shape, summary string, body any) shape {
		s.summary, s.body = summary, body
		return s
	}
	all := map[string]shape{
		"GET /health":           {summary: "Liveness: the process answers", status: http.StatusOK, out: healthBody{}},
		"GET /ready":            {summary: "Readiness: the database answers and its schema is current", status: http.StatusOK, out: readinessBody{}, other: map[int]any{http.StatusServiceUnavailable: readinessBody{}}},
		"GET /api/openapi.json": {summary: "This document", status: http.StatusOK, out: rawSchema{"type": "object"}},

		"GET /admin/audit_log": {summary: "Read the audit log of a restaurant, or with scope=platform the platform's own trail (super_admin), newest first",
			status: http.StatusOK, out: auditLogPage{}, params: append(append([]param{}, pageParams...),
				param{name: "scope", description: "platform: the platform's trail (changes with no restaurant, and everything done by super_admins or API keys)", schema: map[string]any{"type": "string", "enum": []string{"platform"}}},
				param{name: "actor_id", description: "scope=platform: only this actor's changes", schema: map[string]any{"type": "string", "format": "uuid"}},
				param{name: "action", description: "scope=platform: only this action", schema: map[string]any{"type": "string", "maxLength": 100}},
				param{name: "from", description: "scope=platform: changes at or after this time", schema: map[string]any{"type": "string", "format": "date-time"}},
				param{name: "to", description: "scope=platform: changes before this time", schema: map[string]any{"type": "string", "format": "date-time"}},
				param{name: "cursor", description: "scope=platform: the next_cursor of the previous page", schema: map[string]any{"type": "string"}})},
		"POST /admin/restaurants/{id}/status": {summary: "Set a restaurant active, read-only or suspended", body: restaurantStatusRequest{},
			status: http.StatusOK, key: "restaurant", out: tenancy.Restaurant{}, errors: []int{http.StatusConflict}},
		"POST /admin/restaurants/{id}/revoke_tokens": {summary: "Revoke every token of a restaurant", status: http.StatusOK, out: revokedBody{}},

		"GET /admin/feature_flags": {summary: "List the tenant's flags, the platform defaults and what evaluation uses", status: http.StatusOK, out: flags.Listing{}},
		"POST /admin/feature_flags": {summary: "Create a flag for the tenant, or a platform default with global", body: flagCreateRequest{},
			status: http.StatusCreated, key: "feature_flag", out: store.FeatureFlag{}, errors: []int{http.StatusConflict},
			example: map[string]any{"key": "new_checkout", "description": "The one-page checkout", "enabled": true, "percentage": 25}},
		"GET /admin/feature_flags/stale": {summary: "Flags not evaluated, or always answering the same, within a window", status: http.StatusOK, out: staleFlagsBody{},
			params: []param{{name: "days", description: "the window, default 30", schema: map[string]any{"type": "integer", "minimum": 1, "maximum": 3650}}}},
		"GET /admin/feature_flags/{id}": with(flagAnswer, "Get a flag", nil),
		"PATCH /admin/feature_flags/{id}": func() shape {
			s := with(flagAnswer, "Change a flag (fields absent keep their values; a null percentage clears it)", flagChangeRequest{})
			s.example = map[string]any{"enabled": true, "percentage": 50}
			return s
		}(),
		"DELETE /admin/feature_flags/{id}": {summary: "Delete a flag", status: http.StatusNoContent},

		"GET /admin/sdk_keys": {summary: "List the restaurant's SDK keys (never the keys themselves), with their last use", status: http.StatusOK, out: sdkKeysBody{}},
		"POST /admin/sdk_keys": {summary: "Create an SDK key for flag evaluation; the key is in this answer only", body: sdkKeyRequest{},
			status: http.StatusCreated, out: sdkKeyCreated{}, example: map[string]any{"name": "web shop"}},
		"DELETE /admin/sdk_keys/{id}":                  {summary: "Revoke an SDK key: refused on every instance within a second", status: http.StatusOK, key: "sdk_key", out: store.SDKKey{}},
		"POST /admin/feature_flags/enable_for_tenant":  toggleShape("Enable a flag for the tenant, optionally for a percentage of entities"),
		"POST /admin/feature_flags/disable_for_tenant": toggleShape("Disable a flag for the tenant"),
		"POST /admin/feature_flags/enable_globally":    toggleShape("Enable a platform default, optionally for a percentage of entities"),
		"POST /admin/feature_flags/disable_globally":   toggleShape("Disable a platform default"),
		"GET /api/v1/feature_flags/evaluate": {summary: "Evaluate flags for an entity", status: http.StatusOK, out: evaluationsBody{},
			params: []param{
				{name: "keys", description: "comma-separated flag keys (at most 100); without it, every flag of the tenant", schema: map[string]any{"type": "string"}},
				{name: "entity_id", description: "the entity a percentage rollout hashes (at most 256 characters)", schema: map[string]any{"type": "string", "maxLength": 256}},
			}},

		"POST /ofrep/v1/evaluate/flags/{key}": {summary: "OFREP: evaluate one flag", body: ofrepRequest{}, status: http.StatusOK, out: ofrepSuccess{},
			example: map[string]any{"context": map[string]any{"targetingKey": "customer-42"}}},
		"POST /ofrep/v1/evaluate/flags": {summary: "OFREP: evaluate every flag of the tenant (ETag; 304 while unchanged)", body: ofrepRequest{}, status: http.StatusOK, out: ofrepBulkBody(),
			other: map[int]any{http.StatusNotModified: nil},
			params: []param{{name: "If-None-Match", in: "header", description: "the ETag of an earlier answer: 304 while it still holds",
				schema: map[string]any{"type": "string"}}},
			example: map[string]any{"context": map[string]any{"targetingKey": "customer-42"}}},

		"GET /admin/tenant_metrics":             {summary: "Every tenant's health at a glance, and those with issues", status: http.StatusOK, out: analytics.Overview{}},
		"GET /admin/tenant_metrics/all_tenants": {summary: "Usage of every tenant over a range", status: http.StatusOK, out: tenantsUsageBody{}, params: usageRangeParams},
		"GET /admin/tenant_metrics/tenant_comparison": {summary: "Usage and health of chosen tenants side by side", status: http.StatusOK, out: tenantsUsageBody{},
			params: append([]param{{name: "restaurant_ids[]", description: "1 to 20 restaurant ids", required: true,
				schema: map[string]any{"type": "array", "items": map[string]any{"type": "string", "format": "uuid"}, "minItems": 1, "maxItems": maxCompared}}}, usageRangeParams...)},
		"GET /admin/tenant_metrics/{id}":                {summary: "A tenant's usage over the last 30 days and its health", status: http.StatusOK, out: analytics.TenantUsage{}},
		"GET /admin/tenant_metrics/{id}/usage_stats":    {summary: "A tenant's usage over a range", status: http.StatusOK, out: analytics.Usage{}, params: usageRangeParams},
		"GET /admin/tenant_metrics/{id}/health_metrics": {summary: "A tenant's error rate, response time, storage and status", status: http.StatusOK, out: analytics.Health{}},
		"GET /admin/tenant_metrics/{id}/events": {summary: "A tenant's events, newest first, a page at a time with next_cursor leading to the following page", status: http.StatusOK, out: eventsPage{},
			params: []param{
				{name: "cursor", description: "the next_cursor of the previous page; without it, the newest events", schema: map[string]any{"type": "string"}},
				{name: "per_page", schema: map[string]any{"type": "integer", "minimum": 1, "maximum": maxPerPage}},
				{name: "page", description: "only 1 (the first page): later pages are read with cursor", schema: map[string]any{"type": "integer", "minimum": 1, "maximum": 1}},
				{name: "event_type", schema: map[string]any{"type": "string", "enum": eventTypes()}},
				{name: "start_date", description: "a day (YYYY-MM-DD) or an RFC 3339 time", schema: map[string]any{"type": "string"}},
				{name: "end_date", description: "a day (the whole day) or an RFC 3339 time", schema: map[string]any{"type": "string"}},
			}},

		"GET " + backups + "backups": {summary: "List stored backups, and destinations that could not be read", status: http.StatusOK, out: backupCatalog{},
			params: []param{{name: "restaurant_id", description: "only this restaurant's backups", schema: map[string]any{"type": "string", "format": "uuid"}}}},
		"POST " + backups + "export_tenant/{id}": with(started, "Start a backup of a restaurant", nil),
		"POST " + backups + "import_tenant": func() shape {
			s := with(started, "Import a stored backup (JSON), or upload an archive (ZIP) into a new restaurant", importRequest{})
			s.uploads = binary
			s.other = map[int]any{http.StatusUnprocessableEntity: invalidArchiveBody{}}
			s.errors = []int{http.StatusConflict, http.StatusRequestEntityTooLarge}
			s.params = []param{
				{name: "target_restaurant_id", description: "upload only: replace this restaurant instead of creating one", schema: map[string]any{"type": "string", "format": "uuid"}},
				{name: "new_restaurant_name", description: "upload only: the new restaurant's name", schema: map[string]any{"type": "string", "maxLength": 200}},
			}
			s.example = map[string]any{"backup_id": "tenant_export_" + exampleID + "_20261130090000"}
			return s
		}(),
		"POST " + backups + "clone_tenant": with(started, "Copy a restaurant under a new name", cloneRequest{}),
		"POST " + backups + "migrate_tenant": func() shape {
			s := with(started, "Send a backup to another environment, which imports it", migrateRequest{})
			s.example = map[string]any{"backup_id": "tenant_export_" + exampleID + "_20261130090000", "environment": "staging"}
			return s
		}(),
		"DELETE " + backups + "delete_backup/{id}":  {summary: "Delete a stored backup", status: http.StatusOK, out: deletedBody{}},
		"GET " + backups + "validate_backup/{id}":   {summary: "Validate a stored backup and list its problems", status: http.StatusOK, out: backup.Report{}},
		"GET " + backups + "backup_status/{job_id}": {summary: "Follow a backup job", status: http.StatusOK, out: jobStatusBody{}},
		"GET " + backups + "download/{id}":          {summary: "Download a stored backup (ZIP, or encrypted bytes)", status: http.StatusOK, downloads: binary},
		"POST " + backups + "restore_latest/{id}":   with(started, "Replace a restaurant with its newest backup that validates", nil),
		"POST " + backups + "restore_point_in_time": func() shape {
			s := with(started, "Restore a restaurant as it was at a moment (its newest backup before it, then its change log): into a new restaurant, or in place with replace", pointInTimeRequest{})
			s.errors = []int{http.StatusConflict, http.StatusUnprocessableEntity}
			s.example = map[string]any{"restaurant_id": exampleID, "at": "2026-11-30T14:31:00Z", "new_name": "Before the menu edit"}
			return s
		}(),
		"GET " + backups + "diff": {summary: "What changed in a restaurant between two moments, per table, from its change log", status: http.StatusOK, out: backup.Diff{},
			params: []param{
				{name: "restaurant_id", required: true, schema: map[string]any{"type": "string", "format": "uuid"}},
				{name: "from", description: "the earlier moment (RFC 3339)", required: true, schema: map[string]any{"type": "string", "format": "date-time"}},
				{name: "to", description: "the later moment (RFC 3339)", required: true, schema: map[string]any{"type": "string", "format": "date-time"}},
			}},
	}
	return all
}

func eventTypes() []string {
	out := make([]string, len(events.Types))
	for i, t := range events.Types {
		out[i] = string(t)
	}
	return out
}

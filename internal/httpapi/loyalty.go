package httpapi

import (
	"net/http"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/customers"
	"github.com/shimizu-tech/ordersuite/internal/notify"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

func loyaltyRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/v1/customer_loyalty", Handler: (*Server).listLoyaltyAccounts, Roles: anyRole, Scope: TenantScoped},
		{Method: "GET", Pattern: "/api/v1/customer_loyalty/{id}", Handler: (*Server).getLoyaltyAccount, Roles: team, Scope: TenantScoped},
		{Method: "POST", Pattern: "/api/v1/loyalty_rewards/{id}/redeem", Handler: (*Server).redeemReward, Roles: anyRole, Scope: TenantScoped},
	}
}

func (s *Server) listLoyaltyAccounts(w http.ResponseWriter, r *http.Request) error {
	lq, pg, err := readListQuery(r, store.LoyaltyAccounts)
	if err != nil {
		return err
	}
	list, total, err := store.List(r.Context(), s.DB, store.LoyaltyAccounts, lq)
	if err != nil {
		return err
	}
	writeList(w, "customer_loyalty", list, pg, total)
	return nil
}

func (s *Server) getLoyaltyAccount(w http.ResponseWriter, r *http.Request) error {
	a, err := store.Get(r.Context(), s.DB, store.LoyaltyAccounts, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"customer_loyalty": a})
	return nil
}

// redeemReward spends a customer's points on a reward; a guest redeems for
// themselves.
func (s *Server) redeemReward(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		CustomerID string `json:"customer_id"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if _, err := store.Get(r.Context(), s.DB, store.LoyaltyRewards, r.PathValue("id")); err != nil {
		return err
	}
	if err := s.ownCustomerID(r.Context(), &req.CustomerID); err != nil {
		return err
	}
	if req.CustomerID == "" {
		return apperr.InvalidField("customer_id", "is required")
	}
	acct, reward, err := s.DB.Redeem(r.Context(), r.PathValue("id"), req.CustomerID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"customer_loyalty": acct, "loyalty_reward": reward})
	return nil
}

func notificationRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/v1/notifications", Handler: (*Server).listNotifications, Roles: team, Scope: TenantScoped},
		{Method: "GET", Pattern: "/api/v1/notifications/{id}", Handler: (*Server).getNotification, Roles: team, Scope: TenantScoped},
		{Method: "POST", Pattern: "/api/v1/notifications/{id}/read", Handler: (*Server).readNotification, Roles: team, Scope: TenantScoped},
	}
}

func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request) error {
	lq, pg, err := readListQuery(r, store.Notifications)
	if err != nil {
		return err
	}
	list, total, err := store.List(r.Context(), s.DB, store.Notifications, lq)
	if err != nil {
		return err
	}
	writeList(w, "notifications", list, pg, total)
	return nil
}

func (s *Server) getNotification(w http.ResponseWriter, r *http.Request) error {
	n, err := store.Get(r.Context(), s.DB, store.Notifications, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"notification": n})
	return nil
}

func (s *Server) readNotification(w http.ResponseWriter, r *http.Request) error {
	n, err := s.DB.SetNotificationStatus(r.Context(), r.PathValue("id"), notify.Read)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"notification": n})
	return nil
}

var feedbackResource = resource[customers.Feedback, customers.FeedbackFields]{
	one: "feedback", many: "feedback", entity: store.Feedback,
	defaults: func() customers.FeedbackFields { return customers.FeedbackFields{} },
	fields:   func(v *customers.Feedback) *customers.FeedbackFields { return &v.FeedbackFields },
	validate: func(f *customers.FeedbackFields) error { return f.Validate() },
}

func feedbackRoutes() []Route {
	rs := feedbackResource
	return []Route{
		{Method: "GET", Pattern: "/api/v1/feedback", Handler: rs.list, Roles: team, Scope: TenantScoped},
		{Method: "POST", Pattern: "/api/v1/feedback", Handler: (*Server).createFeedback, Roles: anyRole, Scope: TenantScoped},
		{Method: "GET", Pattern: "/api/v1/feedback/{id}", Handler: rs.get, Roles: team, Scope: TenantScoped},
		{Method: "DELETE", Pattern: "/api/v1/feedback/{id}", Handler: rs.remove, Roles: admins, Scope: TenantScoped},
	}
}

// createFeedback records a rating; a guest's feedback is theirs and may
// name only their own order.
func (s *Server) createFeedback(w http.ResponseWriter, r *http.Request) error {
	var f customers.FeedbackFields
	if err := decodeJSON(w, r, &f); err != nil {
		return err
	}
	if err := f.Validate(); err != nil {
		return err
	}
	if p, _ := tenancy.PrincipalFrom(r.Context()); p.Role == tenancy.Customer {
		if err := s.ownCustomerID(r.Context(), &f.CustomerID); err != nil {
			return err
		}
		if f.OrderID != "" {
			if _, err := s.DB.Order(r.Context(), f.OrderID); err != nil {
				return &apperr.Error{Code: apperr.NotFound, Message: "order not found", Field: "order_id"}
			}
		}
	}
	fb, err := store.Create(r.Context(), s.DB, store.Feedback, customers.Feedback{FeedbackFields: f})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"feedback": fb})
	return nil
}

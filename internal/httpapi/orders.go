package httpapi

import (
	"context"
	"net/http"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/customers"
	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/notify"
	"github.com/shimizu-tech/ordersuite/internal/ordering"
	"github.com/shimizu-tech/ordersuite/internal/payments"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

func orderRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/v1/orders", Handler: (*Server).listOrders, Roles: anyRole, Scope: TenantScoped},
		{Method: "POST", Pattern: "/api/v1/orders", Handler: (*Server).createOrder, Roles: anyRole, Scope: TenantScoped},
		{Method: "GET", Pattern: "/api/v1/orders/{id}", Handler: (*Server).getOrder, Roles: anyRole, Scope: TenantScoped},
		{Method: "POST", Pattern: "/api/v1/orders/{id}/status", Handler: (*Server).setOrderStatus, Roles: team, Scope: TenantScoped},
	}
}

// guest returns the customer record of a caller of role customer; ok is
// false for everyone else. Guests see and create only their own records.
func (s *Server) guest(ctx context.Context) (c customers.Customer, ok bool, err error) {
	p, _ := tenancy.PrincipalFrom(ctx)
	if p.Role != tenancy.Customer {
		return c, false, nil
	}
	u, err := s.DB.User(ctx, p.UserID)
	if err != nil {
		return c, true, err
	}
	c, err = s.DB.CustomerForUser(ctx, u)
	return c, true, err
}

// ownCustomerID sets *customerID to the guest's own record, refusing another.
func (s *Server) ownCustomerID(ctx context.Context, customerID *string) error {
	c, isGuest, err := s.guest(ctx)
	if err != nil || !isGuest {
		return err
	}
	if *customerID != "" && *customerID != c.ID {
		return &apperr.Error{Code: apperr.NotFound, Message: "customer not found", Field: "customer_id"}
	}
	*customerID = c.ID
	return nil
}

func (s *Server) listOrders(w http.ResponseWriter, r *http.Request) error {
	lq, pg, err := readListQuery(r, store.Orders)
	if err != nil {
		return err
	}
	list, total, err := store.List(r.Context(), s.DB, store.Orders, lq)
	if err != nil {
		return err
	}
	writeList(w, "orders", list, pg, total)
	return nil
}

func (s *Server) createOrder(w http.ResponseWriter, r *http.Request) error {
	return s.idempotent(w, r, orderReply, func(r *http.Request) (any, error) {
		var req ordering.Request
		if err := decodeJSON(w, r, &req); err != nil {
			return nil, err
		}
		if err := req.Validate(); err != nil {
			return nil, err
		}
		if err := s.ownCustomerID(r.Context(), &req.CustomerID); err != nil {
			return nil, err
		}
		o, err := s.DB.CreateOrder(r.Context(), req)
		if err != nil {
			return nil, err
		}
		rid, _ := tenancy.Tenant(r.Context())
		s.Events.Record(r.Context(), rid, events.OrderCreated, map[string]any{
			"order_id": o.ID, "order_number": o.Number, "total_amount_cents": o.TotalAmountCents,
			"order_type": o.OrderType, "items": len(o.Items),
		})
		return o, nil
	})
}

func orderReply(o any) store.Reply { return jsonReply(http.StatusCreated, map[string]any{"order": o}) }

func (s *Server) getOrder(w http.ResponseWriter, r *http.Request) error {
	o, err := s.DB.Order(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"order": o})
	return nil
}

func (s *Server) setOrderStatus(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Status ordering.Status `json:"status"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	if !req.Status.Valid() {
		return apperr.InvalidField("status", "must be one of preparing, ready, completed, cancelled")
	}
	o, n, err := s.DB.SetOrderStatus(r.Context(), r.PathValue("id"), req.Status)
	if err != nil {
		return err
	}
	s.deliver(r.Context(), n)
	writeJSON(w, http.StatusOK, map[string]any{"order": o})
	return nil
}

// deliver hands a committed notification to the configured channels and
// records the outcome; with no channel it stays pending.
func (s *Server) deliver(ctx context.Context, n notify.Notification) {
	if len(s.Channels) == 0 {
		return
	}
	rid, _ := tenancy.Tenant(ctx)
	status := notify.Sent
	for _, ch := range s.Channels {
		if err := ch.Deliver(ctx, rid, n); err != nil {
			status = notify.Failed
			s.Log.WarnContext(ctx, "notification delivery failed", "channel", ch.Name(), "notification_id", n.ID, "err", err)
		}
	}
	if _, err := s.DB.SetNotificationStatus(context.WithoutCancel(ctx), n.ID, status); err != nil {
		s.Log.ErrorContext(ctx, "record notification delivery", "notification_id", n.ID, "err", err)
	}
}

func (s *Server) gateway() payments.Gateway {
	if s.Gateway == nil {
		return payments.Offline{}
	}
	return s.Gateway
}

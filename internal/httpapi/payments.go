package httpapi

import (
	"net/http"

	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/payments"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

func paymentRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/v1/payments", Handler: (*Server).listPayments, Roles: team, Scope: TenantScoped},
		{Method: "POST", Pattern: "/api/v1/payments", Handler: (*Server).createPayment, Roles: team, Scope: TenantScoped},
		{Method: "GET", Pattern: "/api/v1/payments/{id}", Handler: (*Server).getPayment, Roles: team, Scope: TenantScoped},
		{Method: "POST", Pattern: "/api/v1/payments/{id}/refund", Handler: (*Server).refundPayment, Roles: admins, Scope: TenantScoped},
	}
}

func (s *Server) listPayments(w http.ResponseWriter, r *http.Request) error {
	lq, pg, err := readListQuery(r, store.Payments)
	if err != nil {
		return err
	}
	list, total, err := store.List(r.Context(), s.DB, store.Payments, lq)
	if err != nil {
		return err
	}
	writeList(w, "payments", list, pg, total)
	return nil
}

func (s *Server) getPayment(w http.ResponseWriter, r *http.Request) error {
	p, err := store.Get(r.Context(), s.DB, store.Payments, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"payment": p})
	return nil
}

// createPayment answers 201 with the payment, whose status tells whether
// the gateway took it (completed) or declined it (failed).
func (s *Server) createPayment(w http.ResponseWriter, r *http.Request) error {
	return s.idempotent(w, r, paymentReply(http.StatusCreated), func(r *http.Request) (any, error) {
		var req payments.Request
		if err := decodeJSON(w, r, &req); err != nil {
			return nil, err
		}
		if err := req.Validate(); err != nil {
			return nil, err
		}
		p, m, err := s.DB.RecordPayment(r.Context(), req, s.gateway())
		if err != nil {
			return nil, err
		}
		if p.Status == payments.Completed {
			rid, _ := tenancy.Tenant(r.Context())
			s.Events.Record(r.Context(), rid, events.PaymentProcessed, map[string]any{
				"payment_id": p.ID, "order_id": p.OrderID, "amount_cents": p.AmountCents,
				"payment_method": m.Kind, "payment_method_id": m.ID, "payment_method_name": m.Name,
			})
		}
		return p, nil
	})
}

func paymentReply(status int) func(p any) store.Reply {
	return func(p any) store.Reply { return jsonReply(status, map[string]any{"payment": p}) }
}

func (s *Server) refundPayment(w http.ResponseWriter, r *http.Request) error {
	return s.idempotent(w, r, paymentReply(http.StatusOK), func(r *http.Request) (any, error) {
		var req struct {
			AmountCents *int64 `json:"amount_cents"`
		}
		if err := decodeJSON(w, r, &req); err != nil {
			return nil, err
		}
		var amount int64
		if req.AmountCents != nil {
			amount = *req.AmountCents
		} else { // no amount: what remains of the payment
			p, err := store.Get(r.Context(), s.DB, store.Payments, r.PathValue("id"))
			if err != nil {
				return nil, err
			}
			amount = p.AmountCents - p.RefundedCents
		}
		p, n, err := s.DB.RefundPayment(r.Context(), r.PathValue("id"), amount, s.gateway())
		if err != nil {
			return nil, err
		}
		if n != nil {
			s.deliver(r.Context(), *n)
		}
		return p, nil
	})
}

package httpapi

import (
	"net/http"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/reservations"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

func reservationRoutes() []Route {
	return []Route{
		{Method: "GET", Pattern: "/api/v1/reservations", Handler: (*Server).listReservations, Roles: anyRole, Scope: TenantScoped},
		{Method: "POST", Pattern: "/api/v1/reservations", Handler: (*Server).createReservation, Roles: anyRole, Scope: TenantScoped},
		{Method: "GET", Pattern: "/api/v1/reservations/{id}", Handler: (*Server).getReservation, Roles: anyRole, Scope: TenantScoped},
		{Method: "POST", Pattern: "/api/v1/reservations/{id}/status", Handler: (*Server).setReservationStatus, Roles: team, Scope: TenantScoped},
		{Method: "POST", Pattern: "/api/v1/reservations/{id}/cancel", Handler: (*Server).cancelReservation, Roles: anyRole, Scope: TenantScoped},
	}
}

func (s *Server) listReservations(w http.ResponseWriter, r *http.Request) error {
	lq, pg, err := readListQuery(r, store.Reservations)
	if err != nil {
		return err
	}
	list, total, err := store.List(r.Context(), s.DB, store.Reservations, lq)
	if err != nil {
		return err
	}
	writeList(w, "reservations", list, pg, total)
	return nil
}

func (s *Server) createReservation(w http.ResponseWriter, r *http.Request) error {
	return s.idempotent(w, r, reservationReply, func(r *http.Request) (any, error) {
		var req reservations.Request
		if err := decodeJSON(w, r, &req); err != nil {
			return nil, err
		}
		if err := req.Validate(s.DB.Now()); err != nil {
			return nil, err
		}
		if err := s.ownCustomerID(r.Context(), &req.CustomerID); err != nil {
			return nil, err
		}
		return s.DB.CreateReservation(r.Context(), req)
	})
}

func reservationReply(res any) store.Reply {
	return jsonReply(http.StatusCreated, map[string]any{"reservation": res})
}

func (s *Server) getReservation(w http.ResponseWriter, r *http.Request) error {
	res, err := store.Get(r.Context(), s.DB, store.Reservations, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"reservation": res})
	return nil
}

func (s *Server) setReservationStatus(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Status reservations.Status `json:"status"`
	}
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	switch req.Status {
	case reservations.Seated, reservations.Completed, reservations.Cancelled, reservations.NoShow:
	default:
		return apperr.InvalidField("status", "must be one of seated, completed, cancelled, no_show")
	}
	res, err := s.DB.SetReservationStatus(r.Context(), r.PathValue("id"), req.Status)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"reservation": res})
	return nil
}

// cancelReservation lets a guest cancel their own booking (and the team any).
func (s *Server) cancelReservation(w http.ResponseWriter, r *http.Request) error {
	if _, err := store.Get(r.Context(), s.DB, store.Reservations, r.PathValue("id")); err != nil {
		return err
	}
	res, err := s.DB.SetReservationStatus(r.Context(), r.PathValue("id"), reservations.Cancelled)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"reservation": res})
	return nil
}

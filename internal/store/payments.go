package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"time"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/notify"
	"github.com/shimizu-tech/ordersuite/internal/ordering"
	"github.com/shimizu-tech/ordersuite/internal/payments"
)

// Payments are the tenant's payment records; they are written only by
// RecordPayment and RefundPayment.
var Payments = &Entity[payments.Payment]{
	table: "payments", what: "payment", resource: "payment",
	columns: []string{"id", "order_id", "payment_method_id", "amount_cents", "refunded_cents", "status",
		"gateway_reference", "failure_reason", "created_at", "updated_at"},
	scan: func(sc scanner) (payments.Payment, error) {
		var v payments.Payment
		err := sc.Scan(&v.ID, &v.OrderID, &v.PaymentMethodID, &v.AmountCents, &v.RefundedCents, &v.Status,
			&v.GatewayReference, &v.FailureReason, &v.CreatedAt, &v.UpdatedAt)
		utc(&v.CreatedAt, &v.UpdatedAt)
		return v, err
	},
	values: func(v *payments.Payment) []any {
		return []any{v.ID, v.OrderID, v.PaymentMethodID, v.AmountCents, v.RefundedCents, v.Status,
			v.GatewayReference, v.FailureReason, v.CreatedAt, v.UpdatedAt}
	},
	id: func(v *payments.Payment) string { return v.ID },
	touch: func(v *payments.Payment, now time.Time, creating bool) {
		stamp(&v.ID, &v.CreatedAt, &v.UpdatedAt, now, creating)
	},
	order:  "created_at DESC, id DESC",
	filter: reflect.TypeFor[PaymentFilter](),
}

// RecordPayment charges an order through gw and records the payment. The
// order is locked meanwhile, so concurrent payments cannot together exceed
// what the order still owes. A declined charge is recorded as failed.
// Errors: NotFound (Field: order_id, payment_method_id) outside the tenant;
// Invalid (Field: payment_method_id, amount_cents) for an inactive method
// or more than the order owes; Conflict when the order cannot be paid.
// Under an Idempotency-Key (WithIdempotency) the key is claimed before the
// gateway is charged, so a duplicate never charges, and the answer is kept
// in the transaction; Conflict (Field: Idempotency-Key) when a duplicate
// holds the key.
func (db *DB) RecordPayment(ctx context.Context, req payments.Request, gw payments.Gateway) (payments.Payment, payments.Method, error) {
	var p payments.Payment
	var m payments.Method
	rid, err := tenant(ctx)
	if err != nil {
		return p, m, err
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		keyID, err := db.claimKey(ctx, tx, rid)
		if err != nil {
			return err
		}
		o, err := Orders.get(ctx, tx, rid, req.OrderID, db.lock())
		if err != nil {
			return &apperr.Error{Code: apperr.NotFound, Message: "order not found", Field: "order_id"}
		}
		if m, err = PaymentMethods.get(ctx, tx, rid, req.PaymentMethodID, ""); err != nil {
			return &apperr.Error{Code: apperr.NotFound, Message: "payment method not found", Field: "payment_method_id"}
		}
		if !m.Active {
			return apperr.InvalidField("payment_method_id", "this payment method is not active")
		}
		if o.Status == ordering.Cancelled || o.Status == ordering.Refunded {
			return apperr.Errorf(apperr.Conflict, "a %s order cannot be paid", o.Status)
		}
		paid, err := db.paidCents(ctx, tx, rid, o.ID)
		if err != nil {
			return err
		}
		if owed := o.TotalAmountCents - paid; req.AmountCents > owed {
			return apperr.InvalidField("amount_cents", "the order owes %d cents", max(owed, 0))
		}
		p = payments.Payment{OrderID: o.ID, PaymentMethodID: m.ID, AmountCents: req.AmountCents, Status: payments.Completed}
		ref, err := gw.Charge(ctx, payments.Charge{RestaurantID: rid, OrderID: o.ID, Method: m, AmountCents: req.AmountCents})
		switch {
		case errors.Is(err, payments.ErrDeclined):
			p.Status, p.FailureReason = payments.Failed, err.Error()
		case err != nil:
			return fmt.Errorf("store: payment gateway: %w", err)
		}
		p.GatewayReference = ref
		Payments.touch(&p, db.Now(), true)
		if err := Payments.insert(ctx, db, tx, rid, &p); err != nil {
			return err
		}
		if err := db.audit(ctx, tx, "create", "payment", p.ID, nil, p); err != nil {
			return err
		}
		return db.keepReply(ctx, tx, rid, keyID, p)
	})
	return p, m, err
}

// paidCents is what an order's payments hold after refunds.
func (db *DB) paidCents(ctx context.Context, q queryer, rid, orderID string) (int64, error) {
	var paid int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(SUM(amount_cents - refunded_cents), 0) FROM payments
		WHERE restaurant_id = $1 AND order_id = $2 AND status <> 'failed'`, rid, orderID).Scan(&paid)
	if err != nil {
		return 0, fmt.Errorf("store: sum payments: %w", err)
	}
	return paid, nil
}

// RefundPayment returns amount of a payment through gw. When the order's
// payments are then refunded in full, the order becomes refunded (with its
// notification, returned when one was made). Under an Idempotency-Key the
// key is claimed before the gateway refunds, as in RecordPayment.
func (db *DB) RefundPayment(ctx context.Context, id string, amount int64, gw payments.Gateway) (payments.Payment, *notify.Notification, error) {
	var after payments.Payment
	var note *notify.Notification
	rid, err := tenant(ctx)
	if err != nil {
		return after, nil, err
	}
	err = db.inTx(ctx, func(tx *sql.Tx) error {
		keyID, err := db.claimKey(ctx, tx, rid)
		if err != nil {
			return err
		}
		before, err := Payments.get(ctx, tx, rid, id, "")
		if err != nil {
			return err
		}
		// Lock the order first, as RecordPayment does, then the payment.
		o, err := Orders.get(ctx, tx, rid, before.OrderID, db.lock())
		if err != nil {
			return err
		}
		if before, err = Payments.get(ctx, tx, rid, id, db.lock()); err != nil {
			return err
		}
		if after, err = before.Refund(amount); err != nil {
			return err
		}
		if err := gw.Refund(ctx, before.GatewayReference, amount); err != nil {
			return fmt.Errorf("store: payment gateway refund: %w", err)
		}
		Payments.touch(&after, db.Now(), false)
		if err := Payments.update(ctx, db, tx, rid, &after); err != nil {
			return err
		}
		paid, err := db.paidCents(ctx, tx, rid, o.ID)
		if err != nil {
			return err
		}
		if paid == 0 && o.Status != ordering.Refunded {
			_, n, err := db.moveOrder(ctx, tx, rid, o, ordering.Refunded)
			if err != nil {
				return err
			}
			note = &n
		}
		if err := db.audit(ctx, tx, "refund", "payment", id, before, after); err != nil {
			return err
		}
		return db.keepReply(ctx, tx, rid, keyID, after)
	})
	return after, note, err
}

package store

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
)

// Statement counting (Options.CountStatements) lets a test assert how many
// round trips a request makes, on either engine.

// countingTracer counts every statement pgx sends.
type countingTracer struct{ n *atomic.Int64 }

func (t countingTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	t.n.Add(1)
	return ctx
}

func (countingTracer) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

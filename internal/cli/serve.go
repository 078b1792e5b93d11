package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/shimizu-tech/ordersuite/internal/analytics"
	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/availability"
	"github.com/shimizu-tech/ordersuite/internal/backup/changelog"
	"github.com/shimizu-tech/ordersuite/internal/console"
	"github.com/shimizu-tech/ordersuite/internal/demo"
	"github.com/shimizu-tech/ordersuite/internal/events"
	"github.com/shimizu-tech/ordersuite/internal/flags"
	"github.com/shimizu-tech/ordersuite/internal/httpapi"
	"github.com/shimizu-tech/ordersuite/internal/jobs"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

func (a *app) serveCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP server",
		Long: "Runs the API. With no configuration it uses the embedded SQLite database in --data-dir,\n" +
			"migrates it, and on first start seeds a demo restaurant and prints its logins.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			return a.serve(ctx, cmd)
		},
	}
}

func (a *app) serve(ctx context.Context, cmd *cobra.Command) error {
	bufferOptions := events.BufferOptions{
		Capacity: a.cfg.EventBufferSize, BatchSize: a.cfg.EventBatchSize, FlushInterval: a.cfg.EventFlushInterval}
	if err := bufferOptions.Check(); err != nil {
		return fmt.Errorf("config: %w (--event-batch-size must not exceed --event-buffer-size)", err)
	}
	secret, err := a.cfg.Secret()
	if err != nil {
		return err
	}
	db, err := a.open(ctx, a.cfg.AutoMigrate)
	if errors.Is(err, store.ErrSchemaOutdated) {
		return fmt.Errorf("%w (or start with --auto-migrate)", err)
	}
	if err != nil {
		return err
	}
	defer db.Close()
	if err := a.bootstrap(ctx, cmd, db); err != nil {
		return err
	}

	if a.cfg.FlagsDevBypass {
		a.log.Warn("FLAGS_DEV_BYPASS is on: every feature flag is on for super_admins; never use this in production")
	}
	flagService := flags.New(db, flags.Options{Log: a.log, DevBypass: a.cfg.FlagsDevBypass,
		ReloadInterval: a.cfg.FlagsReloadInterval, FlushInterval: a.cfg.FlagsFlushInterval})
	flagService.Start(ctx)
	defer flagService.Close() // after the HTTP drain: writes the last evaluation counts

	m := a.metrics
	buffer := events.NewBuffer(db, m, a.log, bufferOptions)
	buffer.Start()
	// Whatever happens below, queued events reach the database before exit.
	defer func() {
		fctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
		defer cancel()
		if err := buffer.Close(fctx); err != nil {
			a.log.Error("tenant events not all flushed before exit", "err", err)
		}
	}()
	backups, err := a.backupService(db)
	if err != nil {
		return err
	}
	environments, err := a.environments()
	if err != nil {
		return err
	}
	var periodic []jobs.Periodic
	if a.cfg.BackupSchedule {
		periodic = a.schedule().Periodic()
	}
	queue := jobs.New(db, jobs.Options{Log: a.log, Periodic: periodic, Lease: a.cfg.JobLease})
	backups.RegisterJobs(queue, environments)
	// River stops hard when its start context ends; shutdown stops it
	// gracefully below instead.
	if err := queue.Start(context.WithoutCancel(ctx)); err != nil {
		return err
	}
	defer func() {
		qctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
		defer cancel()
		if err := queue.Stop(qctx); err != nil {
			a.log.Warn("job queue did not stop cleanly", "err", err)
		}
	}()

	// Every known tenant's series start at 0, so the first event after this
	// start is an increase Prometheus sees (alerts on increase()).
	if rs, err := db.Restaurants(ctx); err == nil {
		for _, r := range rs {
			m.InitTenant(r.ID, r.Currency)
		}
	} else {
		a.log.Warn("tenant series not initialised", "err", err)
	}

	readiness := availability.NewMonitor(db, availability.Options{Log: a.log, Metrics: m})
	readiness.Start(ctx)
	defer readiness.Close()
	outages := &availability.Reporter{Log: a.log, Metrics: m}

	// Token and key state is served from memory, following every change
	// (other instances' through PostgreSQL notifications).
	authService := &auth.Service{DB: db, Secret: secret, Log: a.log,
		Throttle: &auth.Throttle{DB: db, Policy: auth.DefaultThrottlePolicy}}
	authService.Start(ctx)
	defer authService.Close() // after the HTTP drain: writes the last SDK key uses
	srv := &httpapi.Server{
		DB:        db,
		Auth:      authService,
		Events:    events.Counting{Next: buffer, Metrics: m},
		Metrics:   m,
		Log:       a.log,
		Version:   Version,
		Flags:     flagService,
		Analytics: &analytics.Service{DB: db, Started: time.Now()},

		Readiness: readiness,
		Outages:   outages,

		Backups:      backups,
		Jobs:         queue,
		Environments: environments,
	}
	srv.Console = (&console.Console{DB: db, Auth: srv.Auth, Flags: flagService, Analytics: srv.Analytics,
		Events: srv.Events, Metrics: m, Log: a.log, Backups: backups, Jobs: queue, Environments: environments, Outages: outages}).Handler()
	if a.cfg.LoginBurstThreshold > 0 {
		srv.LoginBursts = &analytics.LoginBursts{DB: db, Threshold: a.cfg.LoginBurstThreshold, Window: a.cfg.LoginBurstWindow}
	}
	retention := &analytics.Retention{DB: db, Metrics: m, Log: a.log, MaxAge: a.cfg.EventRetention}
	pruneCtx, stopPruning := context.WithCancel(ctx)
	defer stopPruning()
	go retention.Run(pruneCtx, a.cfg.EventPruneInterval)
	if a.cfg.ChangesShipInterval > 0 {
		shipper := &changelog.Shipper{DB: db, Objects: backups.ChangeObjects(), Log: a.log, OnShipped: func(st store.ShipState) {
			m.ChangesShippedThrough.Set(float64(st.Cut.At.UnixMicro()) / 1e6)
		}}
		go shipper.Run(pruneCtx, a.cfg.ChangesShipInterval)
	}
	ln, err := net.Listen("tcp", a.cfg.ListenAddr)
	if err != nil {
		return err
	}
	httpSrv := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	a.log.Info("serving", "addr", ln.Addr().String(), "engine", db.Engine, "version", Version)
	fmt.Fprintf(cmd.OutOrStdout(), "ordersuite listening on http://%s (%s)\n", ln.Addr(), db.Engine)

	errc := make(chan error, 1)
	go func() { errc <- httpSrv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.log.Info("shutting down", "drain_timeout", a.cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := httpSrv.Shutdown(sctx); err != nil {
		a.log.Warn("drain timed out; closing remaining connections", "err", err)
		_ = httpSrv.Close()
	}
	a.log.Info("stopped")
	return nil
}

// bootstrap makes sure somebody can log in: the configured operator is
// created if missing, and the embedded SQLite default seeds the demo
// restaurant on an empty database. PostgreSQL is never seeded implicitly.
func (a *app) bootstrap(ctx context.Context, cmd *cobra.Command, db *store.DB) error {
	if a.cfg.AdminEmail != "" && a.cfg.AdminPassword != "" {
		_, err := db.SuperAdminByEmail(ctx, a.cfg.AdminEmail)
		if apperr.Is(err, apperr.NotFound) {
			hash, herr := auth.HashPassword(a.cfg.AdminPassword)
			if herr != nil {
				return fmt.Errorf("ADMIN_PASSWORD: %w", herr)
			}
			if _, err = db.UpsertSuperAdmin(ctx, a.cfg.AdminEmail, "", hash); err == nil {
				a.log.Info("created super_admin from configuration", "email", a.cfg.AdminEmail)
			}
		}
		if err != nil {
			return err
		}
	}
	if db.Embedded() && a.cfg.DemoOnEmpty {
		rs, err := db.Restaurants(ctx)
		if err != nil {
			return err
		}
		admins, err := db.CountSuperAdmins(ctx)
		if err != nil {
			return err
		}
		if len(rs) == 0 && admins == 0 {
			creds, err := demo.Seed(ctx, db)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "Empty database: created the demo restaurant. Logins (shown once; `ordersuite seed-demo` resets them):")
			printCredentials(cmd.OutOrStdout(), creds, a.cfg.ListenAddr)
		}
	}
	if n, err := db.CountSuperAdmins(ctx); err == nil && n == 0 {
		a.log.Warn("no super_admin exists; create one with `ordersuite create-admin --email …` or ADMIN_EMAIL/ADMIN_PASSWORD")
	}
	return nil
}

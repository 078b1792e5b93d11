package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/shimizu-tech/ordersuite/internal/apperr"
	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/backup"
	"github.com/shimizu-tech/ordersuite/internal/store"
	"github.com/shimizu-tech/ordersuite/internal/tenancy"
)

// backupService builds disaster recovery over the configured storage: the
// local directory, an S3 bucket, or both as mirrors.
func (a *app) backupService(db *store.DB) (*backup.Service, error) {
	var dests backup.Mirror
	if a.cfg.BackupLocal || a.cfg.BackupS3Bucket == "" {
		dests = append(dests, backup.Dir{Path: a.cfg.BackupDirectory()})
	}
	if a.cfg.BackupS3Bucket != "" {
		ak, sk := a.cfg.S3Credentials()
		s3, err := backup.NewS3(backup.S3Config{Endpoint: a.cfg.BackupS3Endpoint, Region: a.cfg.BackupS3Region, Bucket: a.cfg.BackupS3Bucket,
			Prefix: a.cfg.BackupS3Prefix, AccessKey: ak, SecretKey: sk, PathStyle: a.cfg.BackupS3PathStyle})
		if err != nil {
			return nil, err
		}
		dests = append(dests, s3)
	}
	svc := &backup.Service{DB: db, Storage: dests, AppVersion: Version, Log: a.log, Metrics: a.metrics}
	// A point-in-time restore reads the live change log, or the shipped
	// segments when the database no longer holds the restaurant.
	svc.Changes = svc.RecoveryLog()
	key, err := a.cfg.BackupEncryptionKey()
	if err != nil {
		return nil, err
	}
	if key != "" {
		if svc.Cipher, err = backup.NewCipher(key); err != nil {
			return nil, err
		}
	}
	return svc, nil
}

func (a *app) environments() (map[string]backup.Environment, error) {
	envs, err := a.cfg.Environments()
	if err != nil {
		return nil, err
	}
	out := map[string]backup.Environment{}
	for n, e := range envs {
		out[n] = backup.Environment{Name: e.Name, BaseURL: e.BaseURL, APIKey: e.APIKey}
	}
	return out, nil
}

func (a *app) schedule() backup.Schedule {
	return backup.Schedule{BackupCron: a.cfg.BackupCron, CleanupCron: a.cfg.BackupCleanupCron, ValidateCron: a.cfg.BackupValidateCron, Keep: a.cfg.BackupKeep}
}

// withBackups opens the database and the backup service for one command.
func (a *app) withBackups(cmd *cobra.Command, fn func(ctx context.Context, db *store.DB, svc *backup.Service) error) error {
	return a.withDB(cmd, func(ctx context.Context, db *store.DB) error {
		svc, err := a.backupService(db)
		if err != nil {
			return err
		}
		return fn(ctx, db, svc)
	})
}

// progress shows an operation's progress on stderr (stdout keeps only the
// result, for scripts): a bar on a terminal, plain lines otherwise (logs,
// CI). done ends the display.
func progress(cmd *cobra.Command, title string) (p backup.Progress, done func()) {
	out := cmd.ErrOrStderr()
	if f, ok := out.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		bars := mpb.New(mpb.WithOutput(out), mpb.WithWidth(40))
		var mu sync.Mutex
		msg := ""
		bar := bars.AddBar(100,
			mpb.PrependDecorators(decor.Name(title+" "), decor.Percentage(decor.WCSyncSpace)),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string { mu.Lock(); defer mu.Unlock(); return msg })))
		return func(pct int, m string) {
				mu.Lock()
				msg = m
				mu.Unlock()
				bar.SetCurrent(int64(pct))
			}, func() {
				if !bar.Completed() {
					bar.Abort(false)
				}
				bars.Wait()
			}
	}
	var mu sync.Mutex
	last := ""
	return func(pct int, m string) {
		mu.Lock()
		defer mu.Unlock()
		if m != last {
			fmt.Fprintf(out, "%3d%% %s\n", pct, m)
			last = m
		}
	}, func() {}
}

func printJSON(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// reportFailures tells on stderr which destinations did not answer; the
// command still succeeded on the others.
func reportFailures(cmd *cobra.Command, failed []backup.DestinationFailure) {
	for _, f := range failed {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: destination %s failed (%s): %s\n", f.Location, f.Op, f.Error)
	}
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func (a *app) backupCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "backup", Short: "Back up tenants, list, validate and rotate backups"}
	cmd.AddCommand(
		&cobra.Command{
			Use: "all", Short: "Back up every active restaurant", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return a.withBackups(cmd, func(ctx context.Context, _ *store.DB, svc *backup.Service) error {
					p, done := progress(cmd, "backup all")
					made, err := svc.BackupAll(ctx, "cli", p)
					done()
					for _, b := range made {
						fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", b.ID, humanSize(b.Size))
						reportFailures(cmd, b.FailedDestinations)
					}
					return err
				})
			},
		},
		&cobra.Command{
			Use: "tenant RESTAURANT_ID", Short: "Back up one restaurant", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.withBackups(cmd, func(ctx context.Context, _ *store.DB, svc *backup.Service) error {
					p, done := progress(cmd, "backup")
					b, err := svc.Export(ctx, args[0], "cli", p)
					done()
					if err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", b.ID, humanSize(b.Size))
					reportFailures(cmd, b.FailedDestinations)
					return nil
				})
			},
		},
		&cobra.Command{
			Use: "list", Short: "List stored archives (own backups and received ones), newest first", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return a.withBackups(cmd, func(ctx context.Context, _ *store.DB, svc *backup.Service) error {
					list, failed, err := svc.Catalog(ctx, "")
					if err != nil {
						return err
					}
					reportFailures(cmd, failed)
					tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "ID\tRESTAURANT\tCREATED_AT\tSIZE\tENCRYPTED\tORIGIN\tBY")
					for _, b := range list {
						origin, by := string(b.Origin), "-"
						if p := b.Provenance; p != nil {
							origin += " (" + string(p.Reason) + ")"
							by = p.By
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%s\t%s\n", b.ID, b.RestaurantID, b.CreatedAt.Format("2006-01-02 15:04:05Z"), humanSize(b.Size), b.Encrypted, origin, by)
					}
					if err := tw.Flush(); err != nil {
						return err
					}
					return printChains(ctx, cmd, svc, list)
				})
			},
		},
		a.backupValidateCmd(),
		a.shipChangesCmd(),
		a.backupCleanupCmd(),
		&cobra.Command{
			Use: "setup-rotation", Short: "Print the crontab equivalent of serve's backup schedule", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				bin, err := os.Executable()
				if err != nil {
					bin = "ordersuite"
				}
				fmt.Fprint(cmd.OutOrStdout(), a.schedule().Crontab(bin, "/etc/ordersuite/env"))
				return nil
			},
		},
		&cobra.Command{
			Use: "keygen", Short: "Print a new backup encryption key (for BACKUP_ENCRYPTION_KEY)", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				k, err := backup.NewKey()
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.OutOrStdout(), k)
				return nil
			},
		},
	)
	return cmd
}

func (a *app) backupValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate [BACKUP_ID|FILE]",
		Short: "Validate one backup (stored, or an archive file), or every stored backup",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withBackups(cmd, func(ctx context.Context, _ *store.DB, svc *backup.Service) error {
				out := cmd.OutOrStdout()
				var reports []backup.Report
				switch {
				case len(args) == 0:
					p, done := progress(cmd, "validate")
					var err error
					reports, err = svc.ValidateAll(ctx, p)
					done()
					if err != nil {
						return err
					}
				default:
					var rep backup.Report
					var err error
					if st, serr := os.Stat(args[0]); serr == nil && !st.IsDir() {
						rep, err = svc.ValidateFile(ctx, args[0])
						rep.BackupID = args[0]
					} else {
						rep, err = svc.Validate(ctx, args[0])
					}
					if err != nil {
						return err
					}
					reports = append(reports, rep)
				}
				invalid := 0
				for _, r := range reports {
					if r.Valid {
						fmt.Fprintf(out, "valid    %s\n", r.BackupID)
						continue
					}
					invalid++
					fmt.Fprintf(out, "INVALID  %s\n", r.BackupID)
					for _, p := range r.Problems {
						fmt.Fprintf(out, "         - %s\n", p)
					}
				}
				if invalid > 0 {
					return fmt.Errorf("%d of %d backups are invalid", invalid, len(reports))
				}
				return nil
			})
		},
	}
}

func (a *app) backupCleanupCmd() *cobra.Command {
	var keep int
	cmd := &cobra.Command{
		Use: "cleanup", Short: "Delete old own backups, keeping the newest per restaurant and its newest valid one", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("keep") {
				keep = a.cfg.BackupKeep
			}
			return a.withBackups(cmd, func(ctx context.Context, _ *store.DB, svc *backup.Service) error {
				deleted, err := svc.Cleanup(ctx, keep)
				for _, b := range deleted {
					fmt.Fprintf(cmd.OutOrStdout(), "deleted %s\n", b.ID)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%d backups deleted, the newest %d per restaurant kept (and each restaurant's newest valid one; received archives untouched)\n", len(deleted), keep)
				return err
			})
		},
	}
	cmd.Flags().IntVar(&keep, "keep", 5, "backups to keep per restaurant (default --backup-keep)")
	return cmd
}

func (a *app) restoreCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "restore", Short: "Restore, clone and migrate tenants from backups"}
	var name string
	from := &cobra.Command{
		Use:   "from-backup BACKUP_ID [TARGET_RESTAURANT_ID]",
		Short: "Restore a backup over an existing restaurant, or as a new one when no target is given",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withBackups(cmd, func(ctx context.Context, db *store.DB, svc *backup.Service) error {
				opt := backup.ImportOptions{NewName: name}
				if len(args) == 2 {
					if name != "" {
						return errors.New("--name applies only to a restore into a new restaurant")
					}
					opt.TargetID = args[1]
					if err := refuseWhileRestoring(ctx, db, opt.TargetID); err != nil {
						return err
					}
				}
				p, done := progress(cmd, "restore")
				stats, err := svc.Restore(ctx, args[0], opt, p)
				done()
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "restored %s into restaurant %s\n", args[0], stats.RestaurantID)
				return nil
			})
		},
	}
	from.Flags().StringVar(&name, "name", "", "name of the new restaurant (default: the archive's)")
	cmd.AddCommand(from,
		&cobra.Command{
			Use: "clone SOURCE_RESTAURANT_ID NEW_NAME", Short: "Copy a restaurant into a new one", Args: cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.withBackups(cmd, func(ctx context.Context, _ *store.DB, svc *backup.Service) error {
					p, done := progress(cmd, "clone")
					stats, err := svc.Clone(ctx, args[0], args[1], "cli", "", p)
					done()
					if err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "cloned %s into restaurant %s (%q)\n", args[0], stats.RestaurantID, args[1])
					return nil
				})
			},
		},
		&cobra.Command{
			Use: "migrate BACKUP_ID ENVIRONMENT", Short: "Send a backup to another environment's import API", Args: cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				envs, err := a.environments()
				if err != nil {
					return err
				}
				env, ok := envs[args[1]]
				if !ok {
					return fmt.Errorf("unknown environment %q: configure it in --migrate-environments", args[1])
				}
				return a.withBackups(cmd, func(ctx context.Context, _ *store.DB, svc *backup.Service) error {
					p, done := progress(cmd, "migrate")
					res, err := svc.Migrate(ctx, args[0], env, "", p)
					done()
					if err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "migrated %s to %s: restaurant %s (backup %s there)\n", args[0], env.Name, res.TargetRestaurantID, res.TargetBackupID)
					return nil
				})
			},
		},
		&cobra.Command{
			Use: "latest RESTAURANT_ID", Short: "Replace a restaurant with its newest own backup that validates", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error { return a.restoreLatest(cmd, args[0]) },
		},
		a.restorePointInTimeCmd(),
		a.restoreDiffCmd(),
	)
	return cmd
}

// parseMoment reads a moment given on the command line: RFC 3339.
func parseMoment(flag, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, fmt.Errorf("--%s is required (RFC 3339, e.g. 2026-11-30T14:31:00Z)", flag)
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s: %q is not an RFC 3339 time (e.g. 2026-11-30T14:31:00Z)", flag, v)
	}
	return t.UTC(), nil
}

func (a *app) restorePointInTimeCmd() *cobra.Command {
	var at, name string
	var replace, asJSON bool
	cmd := &cobra.Command{
		Use:   "point-in-time RESTAURANT_ID --at TIME",
		Short: "Restore a restaurant as it was at a moment (its newest backup before it, then its change log): into a new restaurant, or in place with --replace",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			moment, err := parseMoment("at", at)
			if err != nil {
				return err
			}
			if replace && name != "" {
				return errors.New("--new-name applies only to a restore into a new restaurant")
			}
			return a.withBackups(cmd, func(ctx context.Context, db *store.DB, svc *backup.Service) error {
				if replace {
					if err := refuseWhileRestoring(ctx, db, args[0]); err != nil {
						return err
					}
				}
				p, done := progress(cmd, "restore")
				if asJSON {
					p = nil
				}
				res, err := svc.RestorePointInTime(ctx, args[0], backup.PointInTimeOptions{At: moment, Replace: replace, NewName: name}, p)
				done()
				out := cmd.OutOrStdout()
				if asJSON && err == nil {
					printJSON(out, res)
					return nil
				}
				for _, sk := range res.Skipped {
					fmt.Fprintf(out, "skipped %s: %s\n", sk.BackupID, sk.Reason)
				}
				if err != nil {
					return err
				}
				fmt.Fprintf(out, "restaurant %s restored to %s into restaurant %s: base %s (snapshot %s), %d changes replayed\n",
					args[0], res.At.Format(time.RFC3339Nano), res.RestaurantID, res.BackupID, res.BaseAt.Format(time.RFC3339Nano), res.Changes)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&at, "at", "", "the moment to restore to (RFC 3339)")
	cmd.Flags().StringVar(&name, "new-name", "", "name of the new restaurant (default: the restaurant's name at the moment)")
	cmd.Flags().BoolVar(&replace, "replace", false, "replace the restaurant itself instead of restoring into a new one")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func (a *app) restoreDiffCmd() *cobra.Command {
	var from, to string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "diff RESTAURANT_ID --from T1 --to T2",
		Short: "What changed in a restaurant between two moments, per table, from its change log",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t1, err := parseMoment("from", from)
			if err != nil {
				return err
			}
			t2, err := parseMoment("to", to)
			if err != nil {
				return err
			}
			return a.withBackups(cmd, func(ctx context.Context, _ *store.DB, svc *backup.Service) error {
				d, err := svc.Diff(ctx, args[0], t1, t2)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if asJSON {
					printJSON(out, d)
					return nil
				}
				fmt.Fprintf(out, "restaurant %s from %s to %s: %d transactions, %d changes\n", d.RestaurantID,
					d.From.Format(time.RFC3339), d.To.Format(time.RFC3339), d.Transactions, d.Changes)
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "TABLE\tINSERTED\tUPDATED\tDELETED\tCHANGED COLUMNS")
				for _, t := range d.Tables {
					fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", t.Table, t.Inserted, t.Updated, t.Deleted, strings.Join(t.ChangedColumns, ", "))
				}
				tw.Flush()
				for _, t := range d.Tables {
					for _, e := range t.Examples {
						fmt.Fprintf(out, "  %s %s %s at %s\n", t.Table, e.Op, e.ID, e.At.Format(time.RFC3339Nano))
					}
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the earlier moment (RFC 3339)")
	cmd.Flags().StringVar(&to, "to", "", "the later moment (RFC 3339)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the diff as JSON")
	return cmd
}

// refuseWhileRestoring stops a command-line restore of a restaurant that a
// restore job is already working on, naming the job to follow instead. (Had
// the two run anyway, the restaurant's row lock would have serialised them.)
func refuseWhileRestoring(ctx context.Context, db *store.DB, rid string) error {
	j, err := db.ActiveRestoreJob(ctx, rid)
	if apperr.Is(err, apperr.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return &store.RestoreRunning{RestaurantID: rid, JobID: j.ID}
}

func (a *app) restoreLatest(cmd *cobra.Command, rid string) error {
	return a.withBackups(cmd, func(ctx context.Context, db *store.DB, svc *backup.Service) error {
		if err := refuseWhileRestoring(ctx, db, rid); err != nil {
			return err
		}
		p, done := progress(cmd, "restore")
		res, err := svc.RestoreNewestValid(ctx, rid, p)
		done()
		for _, sk := range res.Skipped {
			fmt.Fprintf(cmd.OutOrStdout(), "skipped %s: %s\n", sk.BackupID, sk.Reason)
		}
		if err != nil {
			return err
		}
		b := res.Backup
		fmt.Fprintf(cmd.OutOrStdout(), "restaurant %s restored from %s (taken %s)\n", rid, b.ID, b.CreatedAt.Format("2006-01-02 15:04:05Z"))
		return nil
	})
}

// emergencyCmd is the seed's emergency response: stop writes, isolate,
// revoke credentials, restore from the last good backup.
func (a *app) emergencyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "emergency", Short: "Emergency response for one restaurant"}
	status := func(use, short string, st tenancy.Status) *cobra.Command {
		return &cobra.Command{
			Use: use + " RESTAURANT_ID", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.withDB(cmd, func(ctx context.Context, db *store.DB) error {
					if _, err := db.Restaurant(ctx, args[0]); err != nil {
						return err
					}
					r, err := db.SetRestaurantStatus(tenancy.WithTenant(ctx, args[0]), st)
					if err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "restaurant %s (%s) is now %s\n", r.ID, r.Name, r.Status)
					return nil
				})
			},
		}
	}
	cmd.AddCommand(
		status("read-only", "Stop all writes (reads keep working)", tenancy.ReadOnly),
		status("suspend", "Isolate the restaurant: refuse everything but the platform operator", tenancy.Suspended),
		status("activate", "Resume normal operation", tenancy.Active),
		&cobra.Command{
			Use: "revoke-tokens RESTAURANT_ID", Short: "Revoke every token issued to the restaurant's users", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.withDB(cmd, func(ctx context.Context, db *store.DB) error {
					if _, err := db.Restaurant(ctx, args[0]); err != nil {
						return err
					}
					if err := db.RevokeTenantTokens(tenancy.WithTenant(ctx, args[0])); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "every token of restaurant %s is revoked\n", args[0])
					return nil
				})
			},
		},
		&cobra.Command{
			Use: "restore RESTAURANT_ID", Short: "Replace the restaurant with its newest valid backup", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error { return a.restoreLatest(cmd, args[0]) },
		},
	)
	return cmd
}

func (a *app) drillCmd() *cobra.Command {
	var asJSON, pointInTime bool
	var moments int
	var duration time.Duration
	cmd := &cobra.Command{
		Use:   "drill RESTAURANT_ID",
		Short: "Recovery drill: back up, restore into a scratch tenant, compare every row, clean up; report RTO and RPO",
		Long: `Recovery drill: back up, restore into a scratch tenant, compare every row, clean up; report RTO and RPO.

With --point-in-time: record the restaurant at --moments random moments within
--duration, wait until the shipped change log covers them, restore each from the
recovery chain (its newest backup before the moment and the shipped segments)
into a scratch restaurant, compare, delete the scratch restaurants; report the
RTO of each restore and the RPO (age of the newest shipped change at the start).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withBackups(cmd, func(ctx context.Context, _ *store.DB, svc *backup.Service) error {
				p, done := progress(cmd, "drill")
				if asJSON {
					p = nil
				}
				if pointInTime {
					rep, err := svc.DrillPointInTime(ctx, args[0], moments, duration, p)
					done()
					if err != nil {
						return err
					}
					return printPointInTimeDrill(cmd, rep, asJSON)
				}
				rep, err := svc.Drill(ctx, args[0], p)
				done()
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				if asJSON {
					printJSON(out, rep)
				} else {
					fmt.Fprintf(out, "backup     %s\n", rep.BackupID)
					for _, t := range store.CopyTables() {
						fmt.Fprintf(out, "  %-24s %d rows\n", t, rep.Rows[t])
					}
					fmt.Fprintf(out, "RTO        %.2f s (backup + restore)\n", rep.RTOSeconds)
					if rep.RPOSeconds < 0 {
						fmt.Fprintln(out, "RPO        no backup existed before this drill")
					} else {
						fmt.Fprintf(out, "RPO        %.0f s (age of the newest backup before the drill, %s)\n", rep.RPOSeconds, rep.NewestBackup)
					}
					for _, d := range rep.Differences {
						fmt.Fprintf(out, "DIFFERENCE %s\n", d)
					}
				}
				if !rep.OK() {
					return fmt.Errorf("drill found %d differences", len(rep.Differences))
				}
				if !asJSON {
					fmt.Fprintln(out, "OK         every table restored identically")
				}
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the report as JSON")
	cmd.Flags().BoolVar(&pointInTime, "point-in-time", false, "drill restores to moments from the shipped change log")
	cmd.Flags().IntVar(&moments, "moments", 3, "with --point-in-time: how many moments to record and restore")
	cmd.Flags().DurationVar(&duration, "duration", 30*time.Second, "with --point-in-time: how long to record moments for")
	return cmd
}

func printPointInTimeDrill(cmd *cobra.Command, rep backup.PointInTimeDrill, asJSON bool) error {
	out := cmd.OutOrStdout()
	if asJSON {
		printJSON(out, rep)
	} else {
		if rep.RPOSeconds < 0 {
			fmt.Fprintln(out, "RPO        nothing was shipped when the drill started (is serve shipping the change log?)")
		} else {
			fmt.Fprintf(out, "RPO        %.1f s (age of the newest shipped change when the drill started)\n", rep.RPOSeconds)
		}
		for _, m := range rep.Moments {
			status := "OK"
			if len(m.Differences) > 0 {
				status = "DIFFERENT"
			}
			fmt.Fprintf(out, "moment     %s  base %s  %d changes  RTO %.2f s  %s\n", m.At.Format(time.RFC3339Nano), m.BackupID, m.Changes, m.RTOSeconds, status)
			for _, d := range m.Differences {
				fmt.Fprintf(out, "DIFFERENCE %s\n", d)
			}
		}
	}
	if !rep.OK() {
		return fmt.Errorf("point-in-time drill found differences")
	}
	if !asJSON {
		fmt.Fprintln(out, "OK         every moment restored identically from the recovery chain")
	}
	return nil
}

func (a *app) apiKeyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "api-key", Short: "Installation API keys (another environment migrating tenants here)"}
	cmd.AddCommand(
		&cobra.Command{
			Use: "create NAME", Short: "Create a key; it is printed once and never stored", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				if strings.TrimSpace(args[0]) == "" {
					return errors.New("NAME must not be empty")
				}
				return a.withDB(cmd, func(ctx context.Context, db *store.DB) error {
					key, hash, err := auth.NewAPIKey()
					if err != nil {
						return err
					}
					if _, err := db.CreateAPIKey(ctx, args[0], hash); err != nil {
						return err
					}
					fmt.Fprintln(cmd.OutOrStdout(), key)
					fmt.Fprintln(cmd.ErrOrStderr(), "Store this key now (e.g. as MIGRATE_API_KEY_<ENV> on the source); it cannot be shown again.")
					return nil
				})
			},
		},
		&cobra.Command{
			Use: "list", Short: "List keys", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				return a.withDB(cmd, func(ctx context.Context, db *store.DB) error {
					keys, err := db.APIKeys(ctx)
					if err != nil {
						return err
					}
					tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "NAME\tCREATED_AT\tLAST_USED_AT\tREVOKED")
					for _, k := range keys {
						used := "-"
						if k.LastUsedAt != nil {
							used = k.LastUsedAt.Format("2006-01-02 15:04:05Z")
						}
						fmt.Fprintf(tw, "%s\t%s\t%s\t%v\n", k.Name, k.CreatedAt.Format("2006-01-02 15:04:05Z"), used, k.RevokedAt != nil)
					}
					return tw.Flush()
				})
			},
		},
		&cobra.Command{
			Use: "revoke NAME", Short: "Revoke a key", Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return a.withDB(cmd, func(ctx context.Context, db *store.DB) error {
					if err := db.RevokeAPIKey(ctx, args[0]); err != nil {
						return err
					}
					fmt.Fprintf(cmd.OutOrStdout(), "API key %s revoked\n", args[0])
					return nil
				})
			},
		},
	)
	return cmd
}

// printChains lists each restaurant's recovery chain: the moments a
// point-in-time restore can reach, and the RPO now.
func printChains(ctx context.Context, cmd *cobra.Command, svc *backup.Service, list []backup.Backup) error {
	chains, err := svc.Chains(ctx, "", list)
	if err != nil || len(chains) == 0 {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintln(out, "\nRecovery chains (full backups + change log segments):")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RESTAURANT\tSEGMENTS\tEARLIEST\tLATEST\tRPO")
	for _, c := range chains {
		earliest := "- (no own backup before the log)"
		if c.Earliest != nil {
			earliest = c.Earliest.Format("2006-01-02 15:04:05Z")
		}
		fmt.Fprintf(tw, "%s\t%d (%d–%d)\t%s\t%s\t%s\n", c.RestaurantID, c.Segments, c.FirstSegment, c.LastSegment, earliest,
			c.Latest.Format("2006-01-02 15:04:05.000Z"), time.Duration(c.RPOSeconds*float64(time.Second)).Round(time.Second))
	}
	return tw.Flush()
}

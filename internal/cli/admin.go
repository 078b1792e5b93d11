package cli

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"

	"github.com/spf13/cobra"

	"github.com/shimizu-tech/ordersuite/internal/auth"
	"github.com/shimizu-tech/ordersuite/internal/demo"
	"github.com/shimizu-tech/ordersuite/internal/store"
)

func (a *app) seedDemoCmd() *cobra.Command {
	days := demo.HistoryDays
	cmd := &cobra.Command{
		Use:   "seed-demo",
		Short: "Create the demo restaurant and print its logins (re-run to reset the passwords)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if days < 1 {
				return fmt.Errorf("--history-days must be at least 1, not %d", days)
			}
			db, err := a.open(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer db.Close()
			creds, err := demo.SeedHistory(cmd.Context(), db, days)
			if err != nil {
				return err
			}
			printCredentials(cmd.OutOrStdout(), creds, a.cfg.ListenAddr)
			return nil
		},
	}
	cmd.Flags().IntVar(&days, "history-days", days, "days of order and reservation history a new demo restaurant gets")
	return cmd
}

func printCredentials(w io.Writer, c demo.Credentials, listenAddr string) {
	fmt.Fprintf(w, `
Demo restaurant %q (id %s)
  restaurant admin:  %s  password: %s
  platform operator: %s  password: %s
Log in:  curl -s %s/login -H 'Content-Type: application/json' -d '{"email":"%s","password":"%s"}'

`, demo.RestaurantName, c.RestaurantID, c.AdminEmail, c.AdminPassword, c.OperatorEmail, c.OperatorPassword,
		baseURL(listenAddr), c.AdminEmail, c.AdminPassword)
}

// baseURL is where a client on this machine reaches the server listening on
// addr: an address that listens everywhere is reached at localhost.
func baseURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func (a *app) createAdminCmd() *cobra.Command {
	var email, name string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "create-admin --email EMAIL [--password-stdin]",
		Short: "Create a super_admin (platform operator), or reset the password of an existing one",
		Long: "Creates a platform operator. The password comes from ADMIN_PASSWORD, or from standard input with\n" +
			"--password-stdin; without either a random one is generated and printed.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if email == "" {
				email = a.cfg.AdminEmail
			}
			if email == "" {
				return fmt.Errorf("%w: --email is required", errUsage)
			}
			password, generated := a.cfg.AdminPassword, false
			if passwordStdin {
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if err != nil && err != io.EOF {
					return err
				}
				password = strings.TrimRight(line, "\r\n")
			}
			if password == "" {
				password, generated = demo.Password(), true
			}
			hash, err := auth.HashPassword(password)
			if err != nil {
				return err
			}
			db, err := a.open(cmd.Context(), true)
			if err != nil {
				return err
			}
			defer db.Close()
			u, err := db.UpsertSuperAdmin(cmd.Context(), email, name, hash)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "super_admin %s (id %s) ready\n", store.NormalizeEmail(email), u.ID)
			if generated {
				fmt.Fprintf(cmd.OutOrStdout(), "password: %s\n", password)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "the operator's e-mail (default ADMIN_EMAIL)")
	cmd.Flags().StringVar(&name, "name", "", "display name")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input")
	return cmd
}

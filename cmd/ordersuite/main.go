// Command ordersuite is the Shimizu Order Suite server and its tools.
package main

import (
	"context"
	"os"
	"runtime/debug"
	"slices"

	"github.com/shimizu-tech/ordersuite/internal/cli"
)

// toolMemoryLimit is the soft heap limit of the one-shot commands (backup,
// restore, drill …). Their live data stays small, but a restore's
// validation keeps a key per row of a large table, and with the collector's
// default pacing the garbage around it doubled the process's size. Near the
// limit the collector runs more often instead; it is soft, so a larger
// tenant still restores, only with more collection. GOMEMLIMIT overrides
// it; serve is left to its deployment's GOMEMLIMIT.
const toolMemoryLimit = 64 << 20

func main() {
	args := os.Args[1:]
	if os.Getenv("GOMEMLIMIT") == "" && !slices.Contains(args, "serve") {
		debug.SetMemoryLimit(toolMemoryLimit)
	}
	os.Exit(cli.Execute(context.Background(), args, os.Stdout, os.Stderr))
}

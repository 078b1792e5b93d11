// Command ordersuite is the Shimizu Order Suite server and its tools.
package main

import (
	"context"
	"os"

	"github.com/shimizu-tech/ordersuite/internal/cli"
)

func main() {
	os.Exit(cli.Execute(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

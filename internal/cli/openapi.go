package cli

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/shimizu-tech/ordersuite/internal/httpapi"
)

// openapiCmd prints the API's OpenAPI document, the one GET
// /api/openapi.json serves, without a database or a running server: for
// linting it in CI and for generating clients.
func openapiCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "openapi",
		Short: "Print the API's OpenAPI 3 document (as served at /api/openapi.json)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			doc, err := json.MarshalIndent(httpapi.OpenAPI(Version), "", "  ")
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(append(doc, '\n'))
			return err
		},
	}
}

// compose-check loads a Compose file with compose-go, the loader `docker compose` itself uses: it validates the
// file against the Compose specification's schema, interpolates ${VAR} from the environment, resolves paths and
// checks references, then prints the normalized project as JSON. Used by test/unit/deploy/container.test.ts,
// because no Docker engine (and no `docker compose`) can be installed where the tests run.
//
//	go build -o "$(go env GOPATH)/bin/spillway-compose-check" .
//	spillway-compose-check [--profile NAME]... compose.yaml
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
)

type profiles []string

func (p *profiles) String() string     { return strings.Join(*p, ",") }
func (p *profiles) Set(v string) error { *p = append(*p, v); return nil }

func main() {
	var active profiles
	flag.Var(&active, "profile", "a Compose profile to enable (repeatable)")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: spillway-compose-check [--profile NAME]... compose.yaml")
		os.Exit(2)
	}
	opts, err := cli.NewProjectOptions([]string{flag.Arg(0)}, cli.WithOsEnv, cli.WithProfiles(active))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	project, err := opts.LoadProject(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := project.MarshalJSON()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}

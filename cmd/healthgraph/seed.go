package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	hg "github.com/healthgraph/healthgraph"
	"github.com/healthgraph/healthgraph/auth"
	"github.com/healthgraph/healthgraph/postgres"
	"github.com/healthgraph/healthgraph/seed"
)

// seedData fills the database with synthetic data: a demo clinic with a
// login per role (--demo), or n more patients for benchmarks (--patients N).
// It never runs in production.
func seedData(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	demo := fs.Bool("demo", false, "create the demo clinic and print its logins once")
	ifMissing := fs.Bool("if-missing", false, "with --demo: succeed quietly when the demo clinic already exists")
	patients := fs.Int("patients", 0, "add this many synthetic patients with appointments and records")
	seedValue := fs.Uint64("seed", 1, "picks the synthetic data; the same seed gives the same data")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *demo == (*patients > 0) {
		return errors.New("usage: healthgraph seed --demo [--if-missing] | --patients N [--seed S]")
	}
	cfg, log, err := config()
	if err != nil {
		return err
	}
	if cfg.Production() {
		return errors.New("seed refuses to run with HG_ENV=production: it writes synthetic patients and known logins")
	}
	db, err := openDB(ctx, cfg, log, postgres.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if cfg.AutoMigrate {
		if _, err := db.MigrateUp(ctx); err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
	}
	opts := seed.Options{Seed: *seedValue}
	start := time.Now()
	if *patients > 0 {
		sum, err := seed.Patients(ctx, db, *patients, opts, func(done, total int) {
			fmt.Fprintf(os.Stderr, "\rseeding patients %d/%d (%d%%) %s   ", done, total, done*100/max(total, 1),
				time.Since(start).Round(time.Second))
		})
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(stdout, "seeded %d patients, %d practitioners, %d coverages, %d appointments, %d records in %s\n",
			sum.Patients, sum.Practitioners, sum.Coverages, sum.Appointments, sum.Records, time.Since(start).Round(time.Millisecond))
		return err
	}
	res, err := seed.Demo(ctx, db, auth.HashPassword, opts)
	if hg.ErrorCode(err) == hg.ECONFLICT && *ifMissing {
		_, err = fmt.Fprintln(stdout, "demo clinic already present (its logins were printed when it was created; `healthgraph admin create` makes more)")
		return err
	} else if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo clinic: %d practitioners, %d patients, %d appointments, %d records\n\n",
		res.Practitioners, res.Patients, res.Appointments, res.Records)
	fmt.Fprintln(stdout, "Demo logins (shown this once; the passwords are stored only as hashes):")
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tEMAIL\tPASSWORD")
	for _, l := range res.Logins {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Role, l.Email, l.Password)
	}
	return tw.Flush()
}

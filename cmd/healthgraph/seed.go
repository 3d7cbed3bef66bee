package main

import (
	"context"
	"errors"
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

// seedPasswordEnv names the variable holding the load-test logins'
// password for seed --scale.
const seedPasswordEnv = "HG_SEED_PASSWORD"

const seedUsage = "usage: healthgraph seed --demo [--if-missing] | --patients N [--seed S] | " +
	"--scale small|large [--seed S] [--now RFC3339] [--allow-existing]"

// seedData fills the database with synthetic data: a demo clinic with a
// login per role (--demo), n more patients for benchmarks (--patients N),
// or a whole clinic for load tests (--scale). It never runs in production.
func seedData(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flagSet("seed", seedUsage, args, stdout)
	demo := fs.Bool("demo", false, "create the demo clinic and print its logins once")
	ifMissing := fs.Bool("if-missing", false, "with --demo: succeed quietly when the demo clinic already exists")
	patients := fs.Int("patients", 0, "add this many synthetic patients with appointments and records")
	scale := fs.String("scale", "", "load a whole synthetic clinic for load tests: small (10k patients) or large (200k)")
	allowExisting := fs.Bool("allow-existing", false, "with --scale: add to a database that already has patients")
	now := fs.String("now", "", "the clock (RFC 3339) data is placed around, for repeatable runs; default the current time")
	seedValue := fs.Uint64("seed", 1, "picks the synthetic data; the same seed gives the same data")
	if err := fs.Parse(args); err != nil {
		return err
	}
	modes := 0
	for _, on := range []bool{*demo, *patients > 0, *scale != ""} {
		if on {
			modes++
		}
	}
	if modes != 1 {
		return usageError(seedUsage)
	}
	opts := seed.Options{Seed: *seedValue}
	if *now != "" {
		t, err := time.Parse(time.RFC3339, *now)
		if err != nil {
			return fmt.Errorf("--now: %w", err)
		}
		opts.Now = t
	}
	var scaleOpts seed.ScaleOptions
	if *scale != "" {
		var err error
		if scaleOpts, err = scaleOptions(ctx, *scale, *allowExisting, opts, auth.DefaultParams); err != nil {
			return err
		}
	}
	cfg, log, err := config()
	if err != nil {
		return err
	}
	opts.Clinic = cfg.App().Clinic // the demo's bundles name the provider the server sends as
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
	start := time.Now()
	if *patients > 0 {
		bar := seed.NewBar(os.Stderr, "seeding patients")
		sum, err := seed.Patients(ctx, db, *patients, opts, bar.Update)
		bar.Finish()
		if err != nil {
			return err
		}
		return printSummary(stdout, sum, time.Since(start))
	}
	if *scale != "" {
		return seedScale(ctx, db, scaleOpts, stdout)
	}
	res, err := seed.Demo(ctx, db, (&auth.Accounts{Params: cfg.App().PasswordParams}).HashPassword, opts)
	if hg.ErrorCode(err) == hg.ECONFLICT && *ifMissing {
		_, err = fmt.Fprintln(stdout, "demo clinic already present (its logins were printed when it was created; `healthgraph admin create` makes more)")
		return err
	} else if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo clinic: %d practitioners, %d patients, %d appointments, %d records, "+
		"%d invoices, %d payments, %d claims, %d eligibility checks, %d NPHIES messages; "+
		"then %d payer reconciliations received and %d rejected claims resubmitted\n\n",
		res.Practitioners, res.Patients, res.Appointments, res.Records, res.Invoices, res.Payments, res.Claims,
		res.EligibilityChecks, res.NPHIESMessages, res.Reconciliations, res.Resubmissions)
	fmt.Fprintln(stdout, "Demo logins (shown this once; the passwords are stored only as hashes):")
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tEMAIL\tPASSWORD")
	for _, l := range res.Logins {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", l.Role, l.Email, l.Password)
	}
	return tw.Flush()
}

// scaleOptions checks --scale's arguments and the load-test password before
// anything connects, and hashes the password once.
func scaleOptions(ctx context.Context, name string, allowExisting bool, opts seed.Options, params auth.Params) (seed.ScaleOptions, error) {
	size, ok := seed.Sizes[name]
	if !ok {
		return seed.ScaleOptions{}, fmt.Errorf("--scale must be small or large, not %q", name)
	}
	pw := os.Getenv(seedPasswordEnv)
	if pw == "" {
		return seed.ScaleOptions{}, fmt.Errorf("--scale needs the load-test logins' password in %s", seedPasswordEnv)
	}
	for _, r := range seed.LoadRoles {
		if err := auth.ValidatePassword(pw, seed.LoadEmail(r)); err != nil {
			return seed.ScaleOptions{}, fmt.Errorf("%s: %w", seedPasswordEnv, err)
		}
	}
	hash, err := auth.HashPassword(ctx, pw, params)
	if err != nil {
		return seed.ScaleOptions{}, fmt.Errorf("hash the load-test password: %w", err)
	}
	return seed.ScaleOptions{Options: opts, Size: size, AllowExisting: allowExisting, LoginHash: hash}, nil
}

// seedScale loads a scale dataset with a progress bar on stderr, then
// prints the rows per table, the time taken and the load-test emails
// (never the password).
func seedScale(ctx context.Context, db *postgres.DB, so seed.ScaleOptions, stdout io.Writer) error {
	start := time.Now()
	bar := seed.NewBar(os.Stderr, "seeding")
	so.Progress = bar.Update
	res, err := seed.Scale(ctx, db, so)
	bar.Finish()
	if hg.ErrorCode(err) == hg.ECONFLICT {
		return fmt.Errorf("%w (pass --allow-existing to add the dataset anyway)", err)
	} else if err != nil {
		return err
	}
	if err := printSummary(stdout, res.Summary, time.Since(start)); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nLoad-test logins (password from %s):\n", seedPasswordEnv)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	for _, l := range res.Logins {
		fmt.Fprintf(tw, "%s\t%s\n", l.Role, l.Email)
	}
	return tw.Flush()
}

// printSummary prints the rows written per table and the time it took.
func printSummary(w io.Writer, sum seed.Summary, took time.Duration) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	for _, t := range sum.Tables() {
		if t.Rows > 0 {
			fmt.Fprintf(tw, "%s\t%d\t\n", t.Table, t.Rows)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "seeded in %s\n", took.Round(time.Millisecond))
	return err
}

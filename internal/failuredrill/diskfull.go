package failuredrill

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/healthgraph/healthgraph/internal/drill"
)

// diskFull fills a real disk: the patients table of a private Postgres is
// moved to a tablespace on a tiny tmpfs, which a filler table then fills.
// createPatient must fail UNAVAILABLE (SQLSTATE 53100) with no patient
// without its audit row or the reverse, and work again once the volume is
// grown, as an operator would. Mounting needs root.
func diskFull(ctx context.Context, fs *flag.FlagSet, o *options) ([]string, error) {
	pgbin := fs.String("pgbin", "/usr/lib/postgresql/15/bin", "directory of initdb and pg_ctl")
	port := fs.Int("port", 55433, "port of the drill's private Postgres")
	if err := parse(fs, o); err != nil {
		return nil, err
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("mounting the tiny volume needs root; the trigger test in resolvers covers the translation without it")
	}
	c, err := startCluster(ctx, *pgbin, *port)
	if err != nil {
		return nil, err
	}
	defer c.destroy()
	vol := filepath.Join(c.dir, "tiny")
	if err := os.Mkdir(vol, 0o700); err != nil { //nolint:gosec // inside the cluster's own temp directory
		return nil, err
	}
	if err := runCmd(ctx, "mount", "-t", "tmpfs", "-o", "size=1M", "tmpfs", vol); err != nil {
		return nil, err
	}
	defer runCmd(context.Background(), "umount", vol) //nolint:errcheck // best effort at the end
	if err := runCmd(ctx, "chown", "postgres", vol); err != nil {
		return nil, err
	}
	s, err := newStack(ctx, o, c.URL())
	if err != nil {
		return nil, err
	}
	defer s.close()
	r, err := s.serve(ctx, "replica")
	if err != nil {
		return nil, err
	}
	var a acks
	write := a.createPatients(s, r.URL)
	fmt.Printf("disk-full: 1 replica, %d createPatient/s, %s phases; patients on a 1 MiB tmpfs tablespace, filled, then grown to 64 MiB\n\n", o.rate, o.phase)
	phases := []phase{{"before", drill.Load(o.phase, o.rate, write)}}
	filled, err := s.fill(ctx, vol)
	if err != nil {
		return nil, err
	}
	phases = append(phases, phase{"disk full", drill.Load(o.phase, o.rate, write)})
	if err := runCmd(ctx, "mount", "-o", "remount,size=64M", vol); err != nil {
		return nil, err
	}
	phases = append(phases, phase{"grown", drill.Load(o.phase, o.rate, write)})
	missing, err := s.missing(ctx, "patients", a.ids)
	if err != nil {
		return nil, err
	}
	unaudited, err := s.count(ctx, `SELECT count(*) FROM patients p WHERE NOT EXISTS
		(SELECT 1 FROM audit_events WHERE action = 'patient.created' AND entity_id = p.id)`)
	if err != nil {
		return nil, err
	}
	orphans, err := s.count(ctx, `SELECT count(*) FROM audit_events a WHERE action = 'patient.created'
		AND NOT EXISTS (SELECT 1 FROM patients WHERE id = a.entity_id)`)
	if err != nil {
		return nil, err
	}
	printPhases(phases)
	fmt.Printf("\nfiller rows until the volume was full: %d\n", filled)
	fmt.Printf("acknowledged patients %d, missing %d; patients without their audit row %d; audit rows without their patient %d\n",
		len(a.ids), missing, unaudited, orphans)
	problems := internal(phases)
	full := phases[1]
	if full.Codes["UNAVAILABLE"] == 0 || full.Failed != full.Codes["UNAVAILABLE"] {
		problems = append(problems, "the full disk did not answer UNAVAILABLE only: "+full.CodeList())
	}
	if phases[2].Failed > 0 {
		problems = append(problems, fmt.Sprintf("%d failures after the volume was grown", phases[2].Failed))
	}
	if missing+unaudited+orphans > 0 {
		problems = append(problems, "half-written or missing patients")
	}
	return problems, nil
}

// fill creates the tablespace on vol, moves patients there and fills it
// with a filler table until Postgres answers 53100 disk_full.
func (s *stack) fill(ctx context.Context, vol string) (int, error) {
	for _, sql := range []string{
		"CREATE TABLESPACE tiny LOCATION '" + vol + "'",
		"ALTER TABLE patients SET TABLESPACE tiny",
		"CREATE TABLE drill_filler (b text) TABLESPACE tiny",
	} {
		if _, err := s.db.Pool.Exec(ctx, sql); err != nil {
			return 0, fmt.Errorf("%s: %w", sql, err)
		}
	}
	for n := 0; ; n += 100 {
		// Uncompressible rows, so the heap grows page by page.
		_, err := s.db.Pool.Exec(ctx, `INSERT INTO drill_filler SELECT string_agg(md5(random()::text), '')
			FROM generate_series(1, 20), generate_series(1, 100) g GROUP BY g`)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "53100" {
			return n, nil
		} else if err != nil {
			return n, err
		}
	}
}

// runCmd runs a system command the drill needs (mount, chown).
func runCmd(ctx context.Context, name string, args ...string) error {
	if out, err := exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil { //nolint:gosec // mount, umount, chown with the drill's own arguments
		return fmt.Errorf("%s %v: %w: %s", name, args, err, out)
	}
	return nil
}

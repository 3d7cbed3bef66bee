package failuredrill

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
)

// cluster is a private Postgres server the drill may stop and fill: the
// machine's shared one is never touched.
type cluster struct {
	pgbin, dir string
	port       int
	asPostgres bool // running as root: Postgres refuses to, so use the postgres user
}

// startCluster initialises a cluster in a temporary directory, listening
// on 127.0.0.1:port only, with conf lines appended to postgresql.conf.
func startCluster(ctx context.Context, pgbin string, port int, conf ...string) (*cluster, error) {
	dir, err := os.MkdirTemp("", "failure-drill-pg-")
	if err != nil {
		return nil, err
	}
	c := &cluster{pgbin: pgbin, dir: dir, port: port, asPostgres: os.Geteuid() == 0}
	if c.asPostgres {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs a postgres user: %w", err)
		}
		if out, err := exec.CommandContext(ctx, "chown", u.Username, dir).CombinedOutput(); err != nil { //nolint:gosec // our own temp directory
			return nil, fmt.Errorf("chown: %w: %s", err, out)
		}
	}
	if err := c.pg(ctx, "initdb", "-D", c.data(), "-A", "trust", "-U", "postgres", "--no-sync"); err != nil {
		return nil, err
	}
	lines := append([]string{fmt.Sprintf("port = %d", port), "listen_addresses = '127.0.0.1'",
		"unix_socket_directories = '" + dir + "'"}, conf...)
	f, err := os.OpenFile(filepath.Join(c.data(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	_, err = f.WriteString("\n" + strings.Join(lines, "\n") + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	return c, c.start(ctx)
}

func (c *cluster) data() string { return filepath.Join(c.dir, "data") }

// URL reaches the cluster's postgres database.
func (c *cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// pg runs one of Postgres's programs, as the postgres user when root.
func (c *cluster) pg(ctx context.Context, prog string, args ...string) error {
	name, argv := filepath.Join(c.pgbin, prog), args
	if c.asPostgres {
		name, argv = "runuser", append([]string{"-u", "postgres", "--", filepath.Join(c.pgbin, prog)}, args...)
	}
	out, err := exec.CommandContext(ctx, name, argv...).CombinedOutput() //nolint:gosec // Postgres's own programs
	if err != nil {
		return fmt.Errorf("%s: %w: %s", prog, err, out)
	}
	return nil
}

// start starts the server and waits until it accepts connections.
func (c *cluster) start(ctx context.Context) error {
	return c.pg(ctx, "pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "server.log"), "-w", "start")
}

// stop stops it: mode "fast" (clients disconnected, clean shutdown) or
// "immediate" (as a crash; recovery replays the WAL on start).
func (c *cluster) stop(ctx context.Context, mode string) error {
	return c.pg(ctx, "pg_ctl", "-D", c.data(), "-m", mode, "-w", "stop")
}

// destroy stops the server and removes its files.
func (c *cluster) destroy() {
	_ = c.stop(context.Background(), "immediate")
	_ = os.RemoveAll(c.dir)
}

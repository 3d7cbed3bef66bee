package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/healthgraph/healthgraph/phi"
	"github.com/healthgraph/healthgraph/postgres"
)

const phiUsage = "usage: healthgraph phi status | rotate [--batch N] | reindex [--batch N] | " +
	"unseal --batch N --confirm-plaintext | genkey [--id ID]"

// phiRewrites maps the rewriting actions to what they do to each row.
var phiRewrites = map[string]postgres.RewriteMode{
	"rotate": postgres.Rotate, "reindex": postgres.Reindex, "unseal": postgres.Unseal,
}

// phiCommand runs the operations on the sealed patient identifiers: report
// which keys seal them, re-seal under the current key (after adding a key,
// and to seal rows written before migration 0007), recompute the blind
// index (after changing HG_PHI_INDEX_KEY), write them back in clear (only
// to revert migration 0007), or print a new key.
func phiCommand(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flagSet("phi", phiUsage, args, stdout)
	batch := fs.Int("batch", 1000, "rows per transaction")
	confirm := fs.Bool("confirm-plaintext", false, "with unseal: yes, write national IDs and phones in clear")
	id := fs.String("id", "", "with genkey: the key id (default: a random one)")
	action, rest := splitAction(args)
	if err := fs.Parse(rest); err != nil {
		return err
	}
	if action == "" {
		return usageError(phiUsage)
	}
	if action == "genkey" {
		return genKey(*id, stdout)
	}
	mode, rewrite := phiRewrites[action]
	if !rewrite && action != "status" {
		return fmt.Errorf("unknown phi action %q\n%s", action, phiUsage)
	}
	if mode == postgres.Unseal && !*confirm {
		return errors.New("phi unseal writes every national ID and phone in clear: add --confirm-plaintext")
	}
	cfg, log, err := config()
	if err != nil {
		return err
	}
	if cfg.PHIKeysDevelopment {
		log.Warn("HG_PHI_KEYS is not set: using the public development keys")
	}
	db, err := openDB(ctx, cfg, log, postgres.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if rewrite {
		n, err := db.RewritePHI(ctx, mode, *batch, func(done, total int) {
			fmt.Fprintf(stdout, "%s: %d of %d patients\n", action, done, total)
		})
		if err != nil {
			return fmt.Errorf("%s stopped after %d patients (run it again to resume): %w", action, n, err)
		}
		fmt.Fprintf(stdout, "%s: done, %d patients rewritten\n", action, n)
	}
	return phiStatus(ctx, db, cfg.PHIKeys.CurrentID(), stdout)
}

func phiStatus(ctx context.Context, db *postgres.DB, current string, stdout io.Writer) error {
	st, err := db.PHIStatus(ctx)
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(st.ByKey)) {
		note := ""
		if k == current {
			note = " (current)"
		}
		fmt.Fprintf(stdout, "sealed under %s%s: %d values\n", k, note, st.ByKey[k])
	}
	_, err = fmt.Fprintf(stdout, "in clear: %d values\n", st.Plaintext)
	return err
}

// genKey prints a new key as HG_PHI_KEYS takes it; without the id prefix
// it also serves as HG_PHI_INDEX_KEY.
func genKey(id string, stdout io.Writer) error {
	key := make([]byte, phi.KeySize)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	if id == "" {
		suffix := make([]byte, 4)
		_, _ = rand.Read(suffix)
		id = fmt.Sprintf("k%x", suffix)
	}
	_, err := fmt.Fprintf(stdout, "%s:%s\n", id, base64.StdEncoding.EncodeToString(key))
	return err
}

package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	hg "github.com/healthgraph/healthgraph"
)

// translate maps driver errors onto domain errors, once, at the edge of the
// store. what names the entity for NOT_FOUND messages. Anything it does not
// recognise stays an internal error, wrapped for the logs.
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	var dom *hg.Error
	if errors.As(err, &dom) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return hg.Errorf(hg.ENOTFOUND, "%s not found", what)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &wrapped{hg.Errorf(hg.EUNAVAILABLE, "the request took too long; try again"), err}
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505": // unique_violation
			return &wrapped{hg.Errorf(hg.ECONFLICT, "%s already exists", what), err}
		case "23P01": // exclusion_violation
			return &wrapped{hg.Errorf(hg.ECONFLICT, "%s conflicts with an existing one", what), err}
		case "23503", "23514", "22001", "22P02", "22007", "22008":
			return &wrapped{hg.Errorf(hg.EINVALID, "%s is not valid", what), err}
		case "53300", "57P01", "57P02", "57P03", "53100", "53200":
			// too many connections, admin shutdown, crash shutdown, cannot
			// connect now, disk full, out of memory
			return &wrapped{hg.Errorf(hg.EUNAVAILABLE, "the database is unavailable; try again"), err}
		}
	}
	if pgconn.SafeToRetry(err) || isConnError(err) {
		return &wrapped{hg.Errorf(hg.EUNAVAILABLE, "the database is unavailable; try again"), err}
	}
	return fmt.Errorf("%s: %w", what, err)
}

func isConnError(err error) bool {
	var connErr *pgconn.ConnectError
	return errors.As(err, &connErr) || pgconn.Timeout(err)
}

// wrapped carries a domain error for the caller and the driver error for
// the logs: errors.As finds the domain error, Error() shows both.
type wrapped struct {
	domain *hg.Error
	cause  error
}

func (w *wrapped) Error() string { return w.domain.Error() + ": " + w.cause.Error() }

func (w *wrapped) Unwrap() []error { return []error{w.domain, w.cause} }

package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
		}
		if unavailable(pgErr.Code) {
			return &wrapped{hg.Errorf(hg.EUNAVAILABLE, "the database is unavailable; try again"), err}
		}
	}
	if pgconn.SafeToRetry(err) || isConnError(err) {
		return &wrapped{hg.Errorf(hg.EUNAVAILABLE, "the database is unavailable; try again"), err}
	}
	return fmt.Errorf("%s: %w", what, err)
}

// unavailable reports whether a SQLSTATE says the server cannot do the
// work now rather than that the request is wrong: class 08 (connection
// exception), class 53 (insufficient resources: disk full, out of memory,
// too many connections), the shutdown codes of class 57 and 57014, a
// statement cancelled by statement_timeout. A statement
// that fails so has been rolled back with its transaction.
func unavailable(code string) bool {
	switch {
	case strings.HasPrefix(code, "08"), strings.HasPrefix(code, "53"):
		return true
	}
	switch code {
	case "57P01", "57P02", "57P03", // admin shutdown, crash shutdown, cannot connect now
		"57014": // query_canceled: statement_timeout
		return true
	}
	return false
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

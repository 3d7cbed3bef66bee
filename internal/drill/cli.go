package drill

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// ErrUsage marks a wrong command line: cmd/hg-drill exits 2 on it, as the
// flag package does, and 1 on any other error.
var ErrUsage = errors.New("usage")

// ParseFlags parses args into fs (made with flag.ContinueOnError, which has
// already printed the problem and the flags); a bad flag comes back wrapping
// ErrUsage, and -h as flag.ErrHelp, so the caller exits 0 after the usage.
func ParseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%w: %w", ErrUsage, err)
	}
	return nil
}

// Broken is the outcome of a drill that ran to the end and found invariants
// broken, one line each: an acknowledged write missing, a request failing
// INTERNAL, a claim delivered twice.
type Broken []string

func (b Broken) Error() string { return "FAILED: " + strings.Join(b, "\nFAILED: ") }

// Check turns a drill's problems into its error: nil when there are none.
func Check(problems []string) error {
	if len(problems) == 0 {
		return nil
	}
	return Broken(problems)
}

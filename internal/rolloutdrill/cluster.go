package rolloutdrill

import (
	"encoding/json"

	"github.com/healthgraph/healthgraph/internal/drill"
)

// replica is one running `healthgraph serve` of a given version, and its
// backend in the proxy.
type replica struct {
	*drill.Process
	version string
	be      *backend
}

func startReplica(bin, name, version string, env []string, logDir string) (*replica, error) {
	p, err := drill.StartServe(bin, name, env, logDir)
	if err != nil {
		return nil, err
	}
	return &replica{Process: p, version: version}, nil
}

// servedVersion is the version the replica's start-up line names, to show
// that the replacement really runs the new build.
func (r *replica) servedVersion() string {
	for _, l := range r.LogLines("HealthGraph is serving") {
		var line struct{ Version string }
		if json.Unmarshal([]byte(l), &line) == nil && line.Version != "" {
			return line.Version
		}
	}
	return "unknown"
}

package server

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// health is liveness: the process is up and serving.
func health(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok"})
}

// ready is readiness: Postgres answers and the schema is current. Each
// check runs on every call, so readiness recovers by itself when Postgres
// returns.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "shutting down"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	checks := map[string]string{}
	ok := true
	if err := s.deps.Database.Ping(ctx); err != nil {
		checks["postgres"], ok = "unreachable", false
		s.deps.Logger.WarnContext(ctx, "readiness: postgres unreachable", "error", err.Error())
	} else {
		checks["postgres"] = "ok"
		if n, err := s.deps.Database.Pending(ctx); err != nil {
			checks["migrations"], ok = "unknown", false
		} else if n > 0 {
			checks["migrations"], ok = "pending", false
		} else {
			checks["migrations"] = "ok"
		}
	}
	// Redis is reported, never required: without it the service is slower
	// and limits are per replica, but every request still succeeds.
	checks["redis"] = s.deps.Redis.Status()
	for name, state := range checks {
		s.deps.Metrics.ReadinessCheck(name, state == "ok")
	}
	status, code := "ready", http.StatusOK
	if !ok {
		status, code = "not ready", http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"status": status, "checks": checks})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

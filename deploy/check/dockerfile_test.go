package check

import (
	"encoding/json"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// instruction is one Dockerfile instruction with its continuation lines joined.
type instruction struct {
	Cmd  string // upper-case keyword
	Args string
}

// parseDockerfile splits a Dockerfile into instructions. It handles comments,
// parser directives and backslash continuations, which is all ours uses.
func parseDockerfile(t *testing.T, file string) []instruction {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []instruction
	var cur strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(cur.String(), " ")
		out = append(out, instruction{strings.ToUpper(cmd), strings.Join(strings.Fields(args), " ")})
		cur.Reset()
	}
	return out
}

// execForm decodes a JSON-array (exec form) argument, failing on shell form.
func execForm(t *testing.T, what, args string) []string {
	t.Helper()
	var argv []string
	if err := json.Unmarshal([]byte(args), &argv); err != nil {
		t.Errorf("%s %s is not exec form (distroless has no shell): %v", what, args, err)
	}
	return argv
}

func TestDockerfileBuildsAStaticBinaryIntoDistrolessNonroot(t *testing.T) {
	t.Parallel()
	ins := parseDockerfile(t, "../../Dockerfile")
	index := func(cmd, contains string) int {
		return slices.IndexFunc(ins, func(i instruction) bool { return i.Cmd == cmd && strings.Contains(i.Args, contains) })
	}
	var froms []int
	for i, in := range ins {
		if in.Cmd == "FROM" {
			froms = append(froms, i)
		}
	}
	if len(froms) < 2 {
		t.Fatalf("want a multi-stage build, got %d FROM", len(froms))
	}
	final := froms[len(froms)-1]
	if got := ins[final].Args; got != "gcr.io/distroless/static-debian12:nonroot" {
		t.Errorf("final image = %q, want gcr.io/distroless/static-debian12:nonroot", got)
	}

	// Module download cached in its own layer: go.mod/go.sum, download, then the source.
	modCopy, download, srcCopy := index("COPY", "go.mod go.sum"), index("RUN", "go mod download"), index("COPY", ". .")
	if modCopy < 0 || download < 0 || srcCopy < 0 || !(modCopy < download && download < srcCopy && srcCopy < final) {
		t.Errorf("layer order COPY go.mod go.sum (%d) < RUN go mod download (%d) < COPY . . (%d) not met", modCopy, download, srcCopy)
	}
	build := index("RUN", "go build")
	if build < 0 || build > final {
		t.Fatal("no go build in the build stage")
	}
	for _, want := range []string{`-ldflags "-s -w -X main.version=${VERSION}"`, "./cmd/healthgraph"} {
		if !strings.Contains(ins[build].Args, want) {
			t.Errorf("go build lacks %s: %s", want, ins[build].Args)
		}
	}
	if index("ENV", "CGO_ENABLED=0") < 0 || index("ENV", "CGO_ENABLED=0") > build {
		t.Error("CGO_ENABLED=0 is not set before the build")
	}
	if i := index("ARG", "VERSION"); i < 0 || i > build {
		t.Error("no ARG VERSION before the build")
	}

	tail := ins[final:]
	find := func(cmd string) string {
		for _, in := range tail {
			if in.Cmd == cmd {
				return in.Args
			}
		}
		t.Errorf("final stage has no %s", cmd)
		return ""
	}
	if u := find("USER"); u != "nonroot" && !strings.HasPrefix(u, "nonroot:") && !strings.HasPrefix(u, "65532") {
		t.Errorf("USER %s, want nonroot", u)
	}
	if e := find("EXPOSE"); e != "8080" {
		t.Errorf("EXPOSE %s, want 8080", e)
	}
	hc := find("HEALTHCHECK")
	_, cmd, ok := strings.Cut(hc, "CMD ")
	if !ok || !slices.Equal(execForm(t, "HEALTHCHECK", cmd), []string{"/healthgraph", "healthcheck"}) {
		t.Errorf("HEALTHCHECK %s, want CMD [\"/healthgraph\",\"healthcheck\"]", hc)
	}
	if got := execForm(t, "ENTRYPOINT", find("ENTRYPOINT")); !slices.Equal(got, []string{"/healthgraph"}) {
		t.Errorf("ENTRYPOINT %v", got)
	}
	if got := execForm(t, "CMD", find("CMD")); !slices.Equal(got, []string{"serve"}) {
		t.Errorf("CMD %v", got)
	}
	if c := find("COPY"); !strings.HasPrefix(c, "--from=") || !strings.HasSuffix(c, " /healthgraph") {
		t.Errorf("final stage COPY %s, want only the binary from the build stage", c)
	}
}

// .dockerignore keeps the context small but must not drop what the build needs.
func TestDockerignoreKeepsWhatTheBuildNeeds(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../.dockerignore")
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(data), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	// Last matching pattern wins, "!" re-includes: Docker's rule.
	ignored := func(p string) bool {
		ign := false
		for _, pat := range patterns {
			neg := strings.HasPrefix(pat, "!")
			pat = strings.TrimPrefix(pat, "!")
			for _, cand := range []string{p, strings.Split(p, "/")[0]} {
				if ok, _ := path.Match(pat, cand); ok {
					ign = !neg
				}
			}
		}
		return ign
	}
	keeps := []string{"go.mod", "go.sum", "cmd/healthgraph/main.go", "migrations/0001_init.sql", "server/server.go"}
	// Every source file of the root package (a pattern meant for reports
	// once dropped coverage.go) and the Playground's embedded assets.
	for _, glob := range []string{"*.go", "server/playground/assets/*", "server/playground/page.html"} {
		matches, err := filepath.Glob(filepath.Join("..", "..", glob))
		if err != nil || len(matches) == 0 {
			t.Fatalf("no files match %s (%v)", glob, err)
		}
		for _, m := range matches {
			rel, _ := filepath.Rel(filepath.Join("..", ".."), m)
			keeps = append(keeps, filepath.ToSlash(rel))
		}
	}
	for _, keep := range keeps {
		if ignored(keep) {
			t.Errorf(".dockerignore drops %s, which the build needs", keep)
		}
	}
	for _, drop := range []string{".git", "helm", "deploy", "docs", "grafana"} {
		if !ignored(drop) {
			t.Errorf(".dockerignore keeps %s in the build context", drop)
		}
	}
}

package check

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// serverVariables returns the HG_* names the service's config parser reads, taken
// from its source: a misspelt variable in the chart or compose file would be
// silently ignored by the server, so it must fail here.
func serverVariables(t *testing.T) map[string]bool {
	t.Helper()
	files, _ := filepath.Glob("../../cmd/healthgraph/*.go")
	names := map[string]bool{}
	re := regexp.MustCompile(`"(HG_[A-Z0-9_]+)"`)
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(data), -1) {
			names[m[1]] = true
		}
	}
	if len(names) == 0 {
		t.Skip("cmd/healthgraph reads no HG_* variables yet")
	}
	return names
}

func TestChartAndComposeSetOnlyVariablesTheServerReads(t *testing.T) {
	t.Parallel()
	known := serverVariables(t)
	check := func(where, name string) {
		if strings.HasPrefix(name, "HG_") && !known[name] {
			t.Errorf("%s sets %s, which the server does not read", where, name)
		}
	}
	for set, vals := range valueSets(t) {
		objs := render(t, vals, renderOpts{})
		for name := range objs.config(t).Data {
			check("chart ConfigMap ("+set+")", name)
		}
		for _, e := range objs.one(t, "Deployment").Obj.(*appsv1.Deployment).Spec.Template.Spec.Containers[0].Env {
			check("chart Deployment env ("+set+")", e.Name)
		}
	}
	p, err := loadCompose(t, composeFile, "observability")
	if err != nil {
		t.Fatal(err)
	}
	for svc, s := range p.Services {
		for name := range s.Environment {
			check("compose service "+svc, name)
		}
	}
}

// Every value in values.yaml carries a "# --" comment (the chart's documentation,
// as helm-docs reads it). Keys that only group other keys need none; neither do the
// items of an example list.
func TestEveryValueIsDocumented(t *testing.T) {
	t.Parallel()
	f, err := os.Open(filepath.Join(chartDir, "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []valuesLine
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		raw := sc.Text()
		lines = append(lines, valuesLine{len(raw) - len(strings.TrimLeft(raw, " ")), strings.TrimSpace(raw)})
	}
	key := regexp.MustCompile(`^([A-Za-z0-9_.-]+):(\s.*)?$`)
	var undocumented []string
	var path []string
	var indents []int
	listIndent := -1
	for i, l := range lines {
		if l.text == "" || strings.HasPrefix(l.text, "#") {
			continue
		}
		if listIndent >= 0 {
			if l.indent > listIndent || (l.indent == listIndent && strings.HasPrefix(l.text, "- ")) {
				continue // inside a list or map value
			}
			listIndent = -1
		}
		m := key.FindStringSubmatch(l.text)
		if m == nil {
			continue
		}
		for len(indents) > 0 && indents[len(indents)-1] >= l.indent {
			indents, path = indents[:len(indents)-1], path[:len(path)-1]
		}
		indents, path = append(indents, l.indent), append(path, m[1])
		value := strings.TrimSpace(m[2])
		isParent := value == "" && i+1 < len(lines) && nextIsChild(lines[i+1:], l.indent)
		if value == "" && !isParent {
			listIndent = l.indent // a list follows
		}
		documented := false
		for j := i - 1; j >= 0 && strings.HasPrefix(lines[j].text, "#"); j-- {
			if strings.HasPrefix(lines[j].text, "# --") {
				documented = true
			}
		}
		if isParent {
			if documented {
				listIndent = l.indent // a documented map: its entries are its value
			}
			continue
		}
		if !documented {
			undocumented = append(undocumented, strings.Join(path, "."))
		}
	}
	sort.Strings(undocumented)
	if len(undocumented) > 0 {
		t.Errorf("values without a \"# --\" comment: %s", strings.Join(undocumented, ", "))
	}
}

// valuesLine is one line of values.yaml: its indentation and trimmed text.
type valuesLine struct {
	indent int
	text   string
}

// nextIsChild reports whether the next non-blank, non-comment line is a nested key.
func nextIsChild(rest []valuesLine, indent int) bool {
	for _, l := range rest {
		if l.text == "" || strings.HasPrefix(l.text, "#") {
			continue
		}
		return l.indent > indent && !strings.HasPrefix(l.text, "- ")
	}
	return false
}

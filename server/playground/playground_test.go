package playground

import (
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"html"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	gqlplayground "github.com/99designs/gqlgen/graphql/playground"
)

// fakeAssets stands in for the committed assets: distinct bodies, so a
// mix-up between files shows.
func fakeAssets() fstest.MapFS {
	fsys := fstest.MapFS{"README.md": {Data: []byte("generated")}}
	for _, f := range files {
		fsys[f.name] = &fstest.MapFile{Data: []byte("/* " + f.name + " */")}
	}
	return fsys
}

var cfg = Config{Title: "HealthGraph", Endpoint: "/graphql", Path: "/playground"}

func newHandler(t *testing.T, fsys fstest.MapFS) *Handler {
	t.Helper()
	h, err := New(cfg, fsys)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func get(t *testing.T, h http.Handler, path string, header ...string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

var assetRef = regexp.MustCompile(`(?:src|href)="([^"]+)"\s+integrity="([^"]+)"`)

func TestLocalAssetsServedWithTypesCachingAndSRI(t *testing.T) {
	t.Parallel()
	fsys := fakeAssets()
	h := newHandler(t, fsys)
	resp, page := get(t, h, "/playground")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	refs := assetRef.FindAllStringSubmatch(page, -1)
	if len(refs) != len(files) {
		t.Fatalf("page references %d assets with SRI, want %d:\n%s", len(refs), len(files), page)
	}
	wantType := map[string]string{}
	for _, f := range files {
		wantType[f.name] = f.contentType
	}
	seen := map[string]bool{}
	for _, ref := range refs {
		// html/template writes '+' as an entity, which browsers decode.
		url, sri := html.UnescapeString(ref[1]), html.UnescapeString(ref[2])
		name := url[strings.LastIndex(url, "/")+1:]
		if !strings.HasPrefix(url, "/playground/assets/") || wantType[name] == "" {
			t.Errorf("page loads %q, not one of the local assets", url)
			continue
		}
		seen[name] = true
		resp, body := get(t, h, url)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", url, resp.StatusCode)
			continue
		}
		if body != string(fsys[name].Data) {
			t.Errorf("%s: served %q, want the file %s", url, body, name)
		}
		if got := resp.Header.Get("Content-Type"); got != wantType[name] {
			t.Errorf("%s: Content-Type %q, want %q", url, got, wantType[name])
		}
		if got := resp.Header.Get("Cache-Control"); got != AssetCacheControl {
			t.Errorf("%s: Cache-Control %q, want %q", url, got, AssetCacheControl)
		}
		sum := sha512.Sum384(fsys[name].Data)
		if want := "sha384-" + base64.StdEncoding.EncodeToString(sum[:]); sri != want {
			t.Errorf("%s: integrity %q, want %q", url, sri, want)
		}
		// A revalidation costs no body.
		if resp, _ := get(t, h, url, "If-None-Match", resp.Header.Get("ETag")); resp.StatusCode != http.StatusNotModified {
			t.Errorf("%s: If-None-Match answered %d, want 304", url, resp.StatusCode)
		}
	}
	if len(seen) != len(files) {
		t.Errorf("page loads %v, want every asset once", seen)
	}
}

func TestLocalCSPAdmitsOnlyTheServiceAndHashedInlineScript(t *testing.T) {
	t.Parallel()
	h := newHandler(t, fakeAssets())
	resp, page := get(t, h, "/playground")
	csp := resp.Header.Get("Content-Security-Policy")
	if csp != h.CSP() {
		t.Errorf("page served under %q, want %q", csp, h.CSP())
	}
	for _, bad := range []string{"cdn.jsdelivr.net", "https:", "http:", "*", "unsafe-eval"} {
		if strings.Contains(csp, bad) || strings.Contains(page, "cdn.jsdelivr.net") {
			t.Errorf("local CSP or page admits %q: %s", bad, csp)
		}
	}
	directives := map[string]string{}
	for _, d := range strings.Split(csp, "; ") {
		name, value, _ := strings.Cut(d, " ")
		directives[name] = value
	}
	script := directives["script-src"]
	if !strings.HasPrefix(script, "'self' 'sha256-") || strings.Contains(script, "unsafe-inline") {
		t.Errorf("script-src %q should be 'self' plus inline hashes only", script)
	}
	// The hashes are of the scripts the page really carries: one edit to
	// the page without recomputing them would leave GraphiQL dead.
	for _, hash := range inlineScriptHashes([]byte(page)) {
		if !strings.Contains(script, hash) {
			t.Errorf("script-src %q lacks the page's inline script %s", script, hash)
		}
	}
	if directives["default-src"] != "'none'" || directives["connect-src"] != "'self'" || directives["frame-ancestors"] != "'none'" {
		t.Errorf("CSP %q: want default-src 'none', connect-src 'self', frame-ancestors 'none'", csp)
	}
}

func TestUnknownOrStaleAssetIsNotFound(t *testing.T) {
	t.Parallel()
	h := newHandler(t, fakeAssets())
	for _, path := range []string{
		"/playground/assets/" + graphiqlJS,                      // no version
		"/playground/assets/0000000000000000/" + graphiqlJS,     // another version
		"/playground/assets/0000000000000000/../../go.mod",      // traversal
		"/playground/assets/0000000000000000/README.md",         // not an asset
		"/playground/assets/0000000000000000/MANIFEST",          // not an asset
		"/playground/assets/0000000000000000/graphiql.min.js.x", // near miss
	} {
		if resp, _ := get(t, h, path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestMissingOrEmptyAssetRefused(t *testing.T) {
	t.Parallel()
	fsys := fakeAssets()
	delete(fsys, reactDOMJS)
	if _, err := New(cfg, fsys); err == nil || !strings.Contains(err.Error(), reactDOMJS) {
		t.Errorf("New with %s missing: err = %v, want it named", reactDOMJS, err)
	}
	fsys = fakeAssets()
	fsys[graphiqlCSS].Data = nil
	if _, err := New(cfg, fsys); err == nil || !strings.Contains(err.Error(), graphiqlCSS) {
		t.Errorf("New with an empty %s: err = %v, want it named", graphiqlCSS, err)
	}
	// No assets at all is no longer a CDN page: it is a broken build.
	if _, err := New(cfg, fstest.MapFS{"README.md": {Data: []byte("x")}}); err == nil {
		t.Error("New without any asset succeeded, want an error")
	}
}

// TestEmbeddedAssetsAreThePinnedFiles checks that the files committed under
// assets/ and built into the binary are byte for byte the ones gqlgen's page
// loads from the CDN, whose sha256 SRI values gqlgen pins: a file edited,
// truncated or swapped in the repository fails here. The explorer's
// stylesheet is the exception (the package ships it unminified and the CDN
// minifies it on the fly), so its digest is pinned here, as the pinned
// npm package @graphiql/plugin-explorer@4.0.6 ships it (dist/style.css).
func TestEmbeddedAssetsAreThePinnedFiles(t *testing.T) {
	t.Parallel()
	var cdn pageRecorder
	gqlplayground.Handler("", "/graphql", gqlplayground.WithGraphiqlEnablePluginExplorer(true)).
		ServeHTTP(&cdn, httptest.NewRequest(http.MethodGet, "/", nil))
	want := map[string]string{explorerCSS: "sha256-aJCaSuI7+t/EWRrLTis8jU9EFTua5/o7fnwxnroxDvE="}
	for _, m := range assetRef.FindAllStringSubmatch(cdn.body.String(), -1) {
		url, sri := html.UnescapeString(m[1]), html.UnescapeString(m[2])
		name := url[strings.LastIndex(url, "/")+1:]
		if strings.Contains(url, "plugin-explorer") {
			name = map[string]string{"index.umd.js": explorerJS, "style.min.css": ""}[name]
		}
		if name != "" {
			want[name] = sri
		}
	}
	if len(want) != len(files) {
		t.Fatalf("gqlgen's page pins %v; want a digest for each of the %d assets: was gqlgen upgraded without the assets?", want, len(files))
	}
	for _, f := range files {
		body, err := fs.ReadFile(Embedded(), f.name)
		if err != nil {
			t.Errorf("embedded %s: %v", f.name, err)
			continue
		}
		sum := sha256.Sum256(body)
		if got := "sha256-" + base64.StdEncoding.EncodeToString(sum[:]); got != want[f.name] {
			t.Errorf("embedded %s: %s, want %s (the pinned file)", f.name, got, want[f.name])
		}
	}
	if _, err := New(cfg, Embedded()); err != nil {
		t.Fatal(err)
	}
}

// TestPageKeepsNothingInLocalStorage checks the page hands GraphiQL an
// in-memory storage and asks it not to persist headers; the browser test in
// e2e/ checks the effect after a real login.
func TestPageKeepsNothingInLocalStorage(t *testing.T) {
	t.Parallel()
	_, page := get(t, newHandler(t, fakeAssets()), "/playground")
	for _, want := range []string{"storage: new MemoryStorage()", "shouldPersistHeaders: false"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "localStorage.setItem") || strings.Contains(page, "sessionStorage") {
		t.Error("page writes to the browser's storage")
	}
}

// pageRecorder captures gqlgen's page.
type pageRecorder struct {
	header http.Header
	body   strings.Builder
}

func (p *pageRecorder) Header() http.Header {
	if p.header == nil {
		p.header = http.Header{}
	}
	return p.header
}

func (p *pageRecorder) Write(b []byte) (int, error) { return p.body.Write(b) }

func (p *pageRecorder) WriteHeader(int) {}

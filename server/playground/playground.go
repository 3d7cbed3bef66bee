// Package playground serves HealthGraph's GraphiQL Playground: gqlgen's page,
// with its browser assets served by the service itself when they were built
// into the binary, so that it works on networks that cannot reach a public
// CDN, and under a Content Security Policy that admits exactly what the page
// loads.
//
// The assets come from pinned, integrity-checked npm packages fetched at build
// time by fetch-assets.sh (`make playground-assets`, and the Docker image
// build). Without them the page loads the same files from the CDN that
// gqlgen's page names, as before.
package playground

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"time"

	gqlplayground "github.com/99designs/gqlgen/graphql/playground"
)

// CDN is where gqlgen's page loads its assets from when the service has none
// of its own.
const CDN = "https://cdn.jsdelivr.net"

//go:embed assets
var embedded embed.FS

// Embedded returns the assets built into the binary: the files
// fetch-assets.sh wrote before the build, or none but a README.
func Embedded() fs.FS {
	sub, err := fs.Sub(embedded, "assets")
	if err != nil {
		// fs.Sub fails only on an invalid path, and "assets" is valid.
		panic(err)
	}
	return sub
}

// asset names the files the page loads, as fetch-assets.sh writes them.
const (
	graphiqlJS  = "graphiql.min.js"
	graphiqlCSS = "graphiql.min.css"
	reactJS     = "react.production.min.js"
	reactDOMJS  = "react-dom.production.min.js"
	explorerJS  = "plugin-explorer.umd.js"
	explorerCSS = "plugin-explorer.css"
)

// files are the page's assets with the content types they are served with;
// a wrong type would be refused by browsers, as responses carry nosniff.
var files = []struct{ name, contentType string }{
	{graphiqlJS, "text/javascript; charset=utf-8"},
	{graphiqlCSS, "text/css; charset=utf-8"},
	{reactJS, "text/javascript; charset=utf-8"},
	{reactDOMJS, "text/javascript; charset=utf-8"},
	{explorerJS, "text/javascript; charset=utf-8"},
	{explorerCSS, "text/css; charset=utf-8"},
}

// AssetCacheControl is sent with every asset. Asset URLs carry a digest of
// their content, so a changed file gets a new URL and caches may keep each
// one for good.
const AssetCacheControl = "public, max-age=31536000, immutable"

// Config says where the page is served and what it talks to.
type Config struct {
	// Title is the page's title.
	Title string
	// Endpoint is the GraphQL endpoint the page sends operations to.
	Endpoint string
	// Path is where the page is served; its assets are served under
	// Path + "/assets/".
	Path string
}

// Handler serves the Playground page and, when it has them, its assets.
type Handler struct {
	path   string
	page   []byte
	csp    string
	local  bool
	assets map[string]asset // by URL path
}

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// New renders the page once and prepares its assets from assets, which holds
// fetch-assets.sh's files (Embedded, or any fs.FS in tests). With none of the
// files the page uses the CDN; with only some of them New fails, since a
// half-fetched set is a broken build that should not pass unnoticed.
func New(cfg Config, assets fs.FS) (*Handler, error) {
	h := &Handler{path: cfg.Path, assets: map[string]asset{}}
	type loaded struct{ url, sri string }
	got := map[string]loaded{}
	var missing []string
	for _, f := range files {
		body, err := fs.ReadFile(assets, f.name)
		if errors.Is(err, fs.ErrNotExist) {
			missing = append(missing, f.name)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("playground asset %s: %w", f.name, err)
		}
		if len(body) == 0 {
			return nil, fmt.Errorf("playground asset %s is empty: run make playground-assets", f.name)
		}
		digest := sha256.Sum256(body)
		version := hex.EncodeToString(digest[:8])
		url := cfg.Path + "/assets/" + version + "/" + f.name
		sri := sha512.Sum384(body)
		got[f.name] = loaded{url: url, sri: "sha384-" + base64.StdEncoding.EncodeToString(sri[:])}
		h.assets[url] = asset{body: body, contentType: f.contentType, etag: `"` + version + `"`}
	}
	switch len(missing) {
	case 0:
		h.local = true
	case len(files):
	default:
		return nil, fmt.Errorf("playground assets incomplete, missing %s: run make playground-assets", strings.Join(missing, ", "))
	}

	var opts []gqlplayground.GraphiqlConfigOption
	if h.local {
		opts = append(opts,
			gqlplayground.WithGraphiqlVersion(got[graphiqlJS].url, got[graphiqlCSS].url, got[graphiqlJS].sri, got[graphiqlCSS].sri),
			gqlplayground.WithGraphiqlReactVersion(got[reactJS].url, got[reactDOMJS].url, got[reactJS].sri, got[reactDOMJS].sri),
			gqlplayground.WithGraphiqlPluginExplorerVersion(got[explorerJS].url, got[explorerCSS].url, got[explorerJS].sri, got[explorerCSS].sri),
			// The explorer costs nothing extra to load from the service
			// itself; on the CDN the page stays as gqlgen ships it.
			gqlplayground.WithGraphiqlEnablePluginExplorer(true),
		)
	}
	var page pageRecorder
	gqlplayground.Handler(cfg.Title, cfg.Endpoint, opts...).ServeHTTP(&page, &http.Request{Method: http.MethodGet})
	h.page = page.body.Bytes()

	hashes := inlineScriptHashes(h.page)
	if len(hashes) == 0 {
		return nil, errors.New("playground page has no inline script: gqlgen's template changed, review the CSP")
	}
	if h.local && bytes.Contains(h.page, []byte(CDN)) {
		return nil, errors.New("playground page still names the CDN although local assets are present")
	}
	// Local pages admit nothing from outside the service; the fallback page
	// admits the CDN, whose files the page pins with SRI hashes, and no
	// script from the service but its inline one, as before local assets.
	origins, scripts := "'self'", "'self'"
	if !h.local {
		origins, scripts = "'self' "+CDN, CDN
	}
	h.csp = strings.Join([]string{
		"default-src 'none'",
		"script-src " + scripts + " " + strings.Join(hashes, " "),
		// GraphiQL and its editor set inline styles at run time, which
		// cannot be hashed in advance.
		"style-src " + origins + " 'unsafe-inline'",
		"font-src " + origins + " data:",
		"img-src 'self' data:",
		// 'self' covers the GraphQL endpoint and its WebSocket.
		"connect-src 'self'",
		"frame-ancestors 'none'",
		"base-uri 'none'",
		"form-action 'none'",
	}, "; ")
	return h, nil
}

// Local reports whether the page loads its assets from the service itself.
func (h *Handler) Local() bool { return h.local }

// CSP returns the Content-Security-Policy the page is served under.
func (h *Handler) CSP() string { return h.csp }

// ServeHTTP answers the page at its path and the assets under it; anything
// else is not found.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == h.path {
		w.Header().Set("Content-Security-Policy", h.csp)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(h.page) //nolint:gosec // G705: rendered once at startup from gqlgen's template, never from request input.
		return
	}
	a, ok := h.assets[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", a.contentType)
	hd.Set("Cache-Control", AssetCacheControl)
	hd.Set("ETag", a.etag)
	// ServeContent answers HEAD, ranges and If-None-Match; the zero time
	// leaves Last-Modified out, as the ETag already identifies the content.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

var inlineScript = regexp.MustCompile(`(?s)<script>(.*?)</script>`)

// inlineScriptHashes returns the CSP hash sources of the page's inline
// scripts, which are all it runs besides its assets.
func inlineScriptHashes(page []byte) []string {
	var hashes []string
	for _, m := range inlineScript.FindAllSubmatch(page, -1) {
		sum := sha256.Sum256(m[1])
		hashes = append(hashes, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	return hashes
}

// pageRecorder captures the page gqlgen's handler writes, so it is rendered
// once instead of on every request.
type pageRecorder struct {
	header http.Header
	body   bytes.Buffer
}

func (p *pageRecorder) Header() http.Header {
	if p.header == nil {
		p.header = http.Header{}
	}
	return p.header
}

func (p *pageRecorder) Write(b []byte) (int, error) { return p.body.Write(b) }

func (p *pageRecorder) WriteHeader(int) {}

// Package playground serves HealthGraph's GraphiQL Playground with its browser
// assets built into the binary, so that it works on networks that cannot
// reach a public CDN, under a Content Security Policy that admits exactly what
// the page loads, and without keeping anything typed into it (passwords,
// tokens, queries) in the browser's storage.
//
// The assets are GraphiQL's files from pinned npm packages, committed under
// assets/ (see assets/MANIFEST and update-assets.sh, which is needed only to
// upgrade them) and embedded by go:embed: no build step fetches anything.
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
	"html/template"
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"time"
)

//go:embed assets
var embedded embed.FS

//go:embed page.html
var pageSource string

// page is the Playground's HTML: gqlgen's GraphiQL page, changed to keep its
// state in memory instead of localStorage.
var page = template.Must(template.New("playground").Parse(pageSource))

// Embedded returns the assets built into the binary.
func Embedded() fs.FS {
	sub, err := fs.Sub(embedded, "assets")
	if err != nil {
		// fs.Sub fails only on an invalid path, and "assets" is valid.
		panic(err)
	}
	return sub
}

// asset names the files the page loads, as update-assets.sh writes them.
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

// defaultQuery is what a fresh page shows: how to get a session, and that
// the page forgets it, so nobody goes looking for where it was saved.
const defaultQuery = `# HealthGraph Playground. Log in (set email and password in the
# Variables tab), then put the access token in the Headers tab as
#   {"Authorization": "Bearer <accessToken>"}
#
# Nothing typed here (queries, variables, headers, the password below)
# is stored in the browser: reloading or closing the tab forgets it all.

mutation ($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    accessToken
    expiresAt
    user { email role }
  }
}
`

// Config says where the page is served and what it talks to.
type Config struct {
	// Title is the page's title.
	Title string
	// Endpoint is the path of the GraphQL endpoint the page sends
	// operations to, on the page's own host.
	Endpoint string
	// Path is where the page is served; its assets are served under
	// Path + "/assets/".
	Path string
}

// Handler serves the Playground page and its assets.
type Handler struct {
	path   string
	page   []byte
	csp    string
	assets map[string]asset // by URL path
}

type asset struct {
	body        []byte
	contentType string
	etag        string
}

// ref is how the page loads one asset: its URL and its SRI hash.
type ref struct {
	URL template.URL
	SRI string
}

// New renders the page once and prepares its assets from assets (Embedded,
// or any fs.FS in tests). Every file must be present and non-empty: a page
// with one of them missing would stay on "Loading…", which should stop the
// server at startup rather than reach a user.
func New(cfg Config, assets fs.FS) (*Handler, error) {
	h := &Handler{path: cfg.Path, assets: map[string]asset{}}
	refs := map[string]ref{}
	var missing []string
	for _, f := range files {
		body, err := fs.ReadFile(assets, f.name)
		if errors.Is(err, fs.ErrNotExist) || (err == nil && len(body) == 0) {
			missing = append(missing, f.name)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("playground asset %s: %w", f.name, err)
		}
		digest := sha256.Sum256(body)
		version := hex.EncodeToString(digest[:8])
		url := cfg.Path + "/assets/" + version + "/" + f.name
		sri := sha512.Sum384(body)
		refs[f.name] = ref{URL: template.URL(url), SRI: "sha384-" + base64.StdEncoding.EncodeToString(sri[:])} //nolint:gosec // G203: built from the configured path and a hex digest.
		h.assets[url] = asset{body: body, contentType: f.contentType, etag: `"` + version + `"`}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("playground assets missing or empty: %s (they are committed under server/playground/assets)", strings.Join(missing, ", "))
	}

	var buf bytes.Buffer
	err := page.Execute(&buf, map[string]any{
		"Title":        cfg.Title,
		"Endpoint":     cfg.Endpoint,
		"DefaultQuery": defaultQuery,
		"React":        refs[reactJS],
		"ReactDOM":     refs[reactDOMJS],
		"GraphiQLJS":   refs[graphiqlJS],
		"GraphiQLCSS":  refs[graphiqlCSS],
		"ExplorerJS":   refs[explorerJS],
		"ExplorerCSS":  refs[explorerCSS],
	})
	if err != nil {
		return nil, fmt.Errorf("render the playground page: %w", err)
	}
	h.page = buf.Bytes()

	hashes := inlineScriptHashes(h.page)
	if len(hashes) == 0 {
		return nil, errors.New("playground page has no inline script: page.html changed, review the CSP")
	}
	h.csp = strings.Join([]string{
		"default-src 'none'",
		"script-src 'self' " + strings.Join(hashes, " "),
		// GraphiQL and its editor set inline styles at run time, which
		// cannot be hashed in advance.
		"style-src 'self' 'unsafe-inline'",
		"font-src 'self' data:",
		"img-src 'self' data:",
		// 'self' covers the GraphQL endpoint and its WebSocket.
		"connect-src 'self'",
		"frame-ancestors 'none'",
		"base-uri 'none'",
		"form-action 'none'",
	}, "; ")
	return h, nil
}

// CSP returns the Content-Security-Policy the page is served under.
func (h *Handler) CSP() string { return h.csp }

// ServeHTTP answers the page at its path and the assets under it; anything
// else is not found.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == h.path {
		w.Header().Set("Content-Security-Policy", h.csp)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(h.page) //nolint:gosec // G705: rendered once at startup from page.html, never from request input.
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

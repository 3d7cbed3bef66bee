// Package e2e opens the Playground in headless Chromium against the real
// service, with every host but loopback unreachable, runs operations through
// the page and checks their results appear in it and that nothing was
// fetched from anywhere but the service.
//
// It is a module of its own so that chromedp stays out of the service's
// dependencies. .ci/playground-check.sh installs Debian's chromium when
// missing and runs it. After a login and a query with the token in the
// headers editor it checks that the browser's storage kept neither the
// password nor the token.
package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	hgplayground "github.com/healthgraph/healthgraph/server/playground"
	"github.com/healthgraph/healthgraph/server/servertest"
)

// chromium finds the browser: $CHROMIUM, else chromium on the PATH.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not found: install Debian's chromium (.ci/playground-check.sh does) or set CHROMIUM")
	}
	return p
}

// describe shortens a request for the log: data URLs to their type, GraphQL
// posts with the start of their operation.
func describe(r *network.Request) string {
	if strings.HasPrefix(r.URL, "data:") {
		kind, _, _ := strings.Cut(r.URL, ";")
		return kind + ";…"
	}
	d := r.Method + " " + r.URL
	if r.HasPostData {
		var body []string
		for _, e := range r.PostDataEntries {
			body = append(body, e.Bytes)
		}
		if op := strings.Join(body, ""); op != "" {
			if b, err := base64.StdEncoding.DecodeString(op); err == nil {
				op = string(b)
			}
			if len(op) > 70 {
				op = op[:70] + "…"
			}
			d += " " + op
		}
	}
	return d
}

// profileDir returns an empty Chromium profile directory, removed after the
// test. Not t.TempDir: Chromium's helper processes may still write to it for
// a moment after the browser exits, which would fail the test in cleanup
// (seen once in twelve runs).
func profileDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "playground-e2e-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 50 {
			if os.RemoveAll(dir) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("could not remove the Chromium profile %s", dir)
	})
	return dir
}

// traffic is what the page did, gathered from the browser's events.
type traffic struct {
	mu        sync.Mutex
	requests  []string // every URL the page asked for, in order
	described []string // the same, shortened for the log, with GraphQL operations
	bytes     int64    // encoded bytes received
	problems  []string // failed loads, exceptions, console and CSP errors
}

func (tr *traffic) add(f func()) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	f()
}

func (tr *traffic) listen(ev any) {
	switch e := ev.(type) {
	case *network.EventRequestWillBeSent:
		tr.add(func() {
			tr.requests = append(tr.requests, e.Request.URL)
			tr.described = append(tr.described, describe(e.Request))
		})
	case *network.EventLoadingFinished:
		tr.add(func() { tr.bytes += int64(e.EncodedDataLength) })
	case *network.EventLoadingFailed:
		tr.add(func() {
			tr.problems = append(tr.problems, fmt.Sprintf("load failed: %s %s", e.ErrorText, e.BlockedReason))
		})
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		msg := d.Text
		if d.Exception != nil {
			msg += " " + d.Exception.Description
		}
		tr.add(func() { tr.problems = append(tr.problems, "exception: "+msg+" at "+d.URL) })
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.APITypeError {
			var args []string
			for _, a := range e.Args {
				args = append(args, string(a.Value)+a.Description)
			}
			tr.add(func() { tr.problems = append(tr.problems, "console error: "+strings.Join(args, " ")) })
		}
	case *cdplog.EventEntryAdded:
		// CSP violations and refused subresources are reported here. The
		// browser asks for a favicon by itself, which the service has not.
		if e.Entry.Level == cdplog.LevelError && !strings.HasSuffix(e.Entry.URL, "/favicon.ico") {
			tr.add(func() {
				tr.problems = append(tr.problems, fmt.Sprintf("%s: %s %s", e.Entry.Source, e.Entry.Text, e.Entry.URL))
			})
		}
	}
}

// password is what the test types into the page, to look for it afterwards.
const password = "playground-check-42"

// runner puts an operation into the page and returns the response pane.
type runner func(op, want string) (string, time.Duration)

// loginWithHeaders logs in through the query editor, as a user would, with
// the password typed into the operation, then puts the access token into
// the headers editor, and returns the token.
func loginWithHeaders(ctx context.Context, t *testing.T, run runner, email, password string) string {
	t.Helper()
	text, _ := run(fmt.Sprintf(`mutation { login(email: %q, password: %q) { accessToken } }`, email, password), "accessToken")
	m := regexp.MustCompile(`"accessToken":\s*"([^"]+)"`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("login through the page returned no token:\n%s", text)
	}
	token := m[1]
	var ok bool
	err := chromedp.Run(ctx,
		chromedp.Click(`.graphiql-editor-tools button[data-name="headers"]`, chromedp.ByQuery),
		// The variables and headers editors share the pane; the one not
		// shown carries the class hidden.
		chromedp.WaitVisible(`.graphiql-editor-tools button[data-name="headers"].active`, chromedp.ByQuery),
		chromedp.Evaluate(fmt.Sprintf(`(() => {
			const el = document.querySelector('.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror');
			el.CodeMirror.setValue(JSON.stringify({Authorization: "Bearer " + %q}, null, 2));
			return true;
		})()`, token), &ok),
	)
	if err != nil {
		t.Fatalf("put the token into the headers editor: %v", err)
	}
	return token
}

// checkNothingStored fails when the browser's storage for the service's
// origin (localStorage, sessionStorage, cookies) holds the token, the
// password or any of GraphiQL's state after they were used in the page.
func checkNothingStored(ctx context.Context, t *testing.T, token, password string) {
	t.Helper()
	var stored map[string]map[string]string
	err := chromedp.Run(ctx, chromedp.Evaluate(`(() => {
		const dump = s => Object.fromEntries(Object.keys(s).map(k => [k, s.getItem(k)]));
		return {localStorage: dump(localStorage), sessionStorage: dump(sessionStorage), cookies: {"document.cookie": document.cookie}};
	})()`, &stored))
	if err != nil {
		t.Fatalf("read the page's storage: %v", err)
	}
	for area, items := range stored {
		var keys []string
		for k, v := range items {
			keys = append(keys, k)
			// GraphiQL writes its tabs, history and headers a moment after
			// they change, so a secret may not be there yet when this runs:
			// any GraphiQL entry at all means the page's storage leaks.
			if strings.HasPrefix(k, "graphiql:") {
				t.Errorf("%s holds GraphiQL's %q: the page keeps its state in the browser", area, k)
			}
			for what, secret := range map[string]string{"access token": token, "password": password} {
				if strings.Contains(k, secret) || strings.Contains(v, secret) {
					t.Errorf("%s holds the %s under %q after login and a query", area, what, k)
				}
			}
		}
		t.Logf("%s after login and a query: %d entries %q", area, len(items), keys)
	}
}

// screenshot writes a PNG of the page to $PLAYGROUND_SCREENSHOT, when set,
// with the documentation explorer open beside the last query and headers.
func screenshot(ctx context.Context, t *testing.T) {
	t.Helper()
	shot := os.Getenv("PLAYGROUND_SCREENSHOT")
	if shot == "" {
		return
	}
	var png []byte
	err := chromedp.Run(ctx,
		chromedp.Click(`.graphiql-sidebar button[aria-label="Show Documentation Explorer"]`, chromedp.ByQuery),
		chromedp.WaitVisible(".graphiql-doc-explorer", chromedp.ByQuery),
		chromedp.CaptureScreenshot(&png),
	)
	if err != nil {
		t.Errorf("screenshot: %v", err)
		return
	}
	if err := os.WriteFile(shot, png, 0o600); err != nil {
		t.Error(err)
	}
}

func TestPlaygroundRunsOperationsOffline(t *testing.T) {
	if _, err := hgplayground.New(hgplayground.Config{Path: "/playground"}, hgplayground.Embedded()); err != nil {
		t.Fatal(err)
	}
	env := servertest.New(t)
	origin, err := url.Parse(env.URL)
	if err != nil {
		t.Fatal(err)
	}

	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(profileDir(t)),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		// No internet, even on a machine that has it: every name but the
		// loopback address fails to resolve, as on a closed hospital
		// network. The request log below catches addresses by number.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE "+origin.Hostname()),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	defer cancelBrowser()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	var tr traffic
	chromedp.ListenTarget(ctx, tr.listen)

	// The first Run starts the browser; time the page from navigation on.
	if err := chromedp.Run(ctx, network.Enable(), cdplog.Enable(), runtime.Enable()); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	start := time.Now()
	// A page that breaks never shows its editor; do not wait for it long.
	renderCtx, cancelRender := context.WithTimeout(ctx, 45*time.Second)
	defer cancelRender()
	if err := chromedp.Run(renderCtx,
		chromedp.Navigate(env.URL+"/playground"),
		chromedp.WaitVisible(".graphiql-query-editor .CodeMirror", chromedp.ByQuery),
		chromedp.WaitVisible(".graphiql-execute-button", chromedp.ByQuery),
	); err != nil {
		t.Fatalf("the Playground did not render: %v (problems: %v)", err, tr.problems)
	}
	rendered := time.Since(start)

	// The explorer plugin, served by the service too, adds its sidebar
	// button; opening it shows the schema's fields once introspection
	// answered: the page opens on its login example, so the explorer lists
	// the root mutations, bookAppointment among them.
	var explorer string
	if err := chromedp.Run(renderCtx,
		chromedp.Click(`.graphiql-sidebar button[aria-label*="GraphiQL Explorer"]`, chromedp.ByQuery),
		chromedp.WaitVisible(".graphiql-explorer-root", chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('.graphiql-explorer-root').innerText.includes('bookAppointment')`, nil, chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.Text(".graphiql-explorer-root", &explorer, chromedp.ByQuery),
	); err != nil {
		var labels []string
		_ = chromedp.Run(ctx, chromedp.Evaluate(`[...document.querySelectorAll('.graphiql-sidebar button')].map(b => b.getAttribute('aria-label'))`, &labels))
		t.Fatalf("the explorer plugin did not open: %v (sidebar buttons: %q; problems: %v)", err, labels, tr.problems)
	}
	t.Logf("explorer open, %d characters of schema", len(explorer))

	// run puts an operation into the query editor, presses the execute
	// button, and returns the response pane's text once it contains want.
	// The wait is long because signup hashes a password, which is slow
	// under the race detector on a busy machine (12 s seen).
	run := runner(func(op, want string) (string, time.Duration) {
		t.Helper()
		began := time.Now()
		var ok bool
		var text string
		err := chromedp.Run(ctx,
			// CodeMirror closes brackets as keys are typed, so the text
			// is set through the editor's own API, as a paste would.
			chromedp.Evaluate(fmt.Sprintf(`(() => {
				const cm = document.querySelector('.graphiql-query-editor .CodeMirror').CodeMirror;
				cm.setValue(%q);
				return true;
			})()`, op), &ok),
			chromedp.Click(".graphiql-execute-button", chromedp.ByQuery),
			chromedp.Poll(fmt.Sprintf(`(document.querySelector('.graphiql-response') || {innerText: ''}).innerText.includes(%q)`, want),
				nil, chromedp.WithPollingTimeout(time.Minute)),
			chromedp.Text(".graphiql-response", &text, chromedp.ByQuery),
		)
		if err != nil {
			_ = chromedp.Run(ctx, chromedp.Text(".graphiql-response", &text, chromedp.ByQuery))
			t.Fatalf("%s: %q did not appear in the response pane: %v\npane: %s\nproblems: %v", op, want, err, text, tr.problems)
		}
		return text, time.Since(began)
	})

	text, unauth := run(`{ me { id email } }`, "UNAUTHENTICATED")
	t.Logf("{ me } answered in the page in %v:\n%s", unauth.Round(time.Millisecond), text)
	email := fmt.Sprintf("playground-%d@example.test", time.Now().UnixNano())
	text, signup := run(fmt.Sprintf(`mutation { signup(input: {email: %q, password: %q, fullName: "Playground Check"}) { id email fullName } }`, email, password), email)
	t.Logf("signup answered in the page in %v:\n%s", signup.Round(time.Millisecond), text)
	if strings.Contains(text, `"errors"`) || !strings.Contains(text, `"Playground Check"`) {
		t.Errorf("signup through the page did not succeed:\n%s", text)
	}
	// The mutation really reached the database.
	var n int
	if err := env.DB.Pool.QueryRow(context.Background(), `SELECT count(*) FROM users WHERE email = $1`, email).Scan(&n); err != nil || n != 1 {
		t.Errorf("users with the signup's email: %d (%v), want 1", n, err)
	}

	token := loginWithHeaders(ctx, t, run, email, password)
	text, _ = run(`{ me { email fullName role } }`, email)
	if !strings.Contains(text, `"PATIENT"`) {
		t.Errorf("{ me } with the token from the headers editor:\n%s", text)
	}
	checkNothingStored(ctx, t, token, password)
	screenshot(ctx, t)

	tr.mu.Lock()
	defer tr.mu.Unlock()
	assets := 0
	for _, raw := range tr.requests {
		u, err := url.Parse(raw)
		if err != nil {
			t.Errorf("unparsable request URL %q", raw)
			continue
		}
		switch u.Scheme {
		case "data", "blob", "about":
			continue // never leave the browser
		}
		if u.Host != origin.Host {
			t.Errorf("the page fetched %s, which is not the service on loopback", raw)
		}
		if strings.HasPrefix(u.Path, "/playground/assets/") {
			assets++
		}
	}
	if assets == 0 {
		t.Error("the page loaded no assets from /playground/assets/")
	}
	for _, p := range tr.problems {
		t.Errorf("browser reported: %s", p)
	}
	t.Logf("rendered in %v; %d requests (%d assets from the service, none elsewhere), %d bytes received",
		rendered.Round(time.Millisecond), len(tr.requests), assets, tr.bytes)
	for _, r := range tr.described {
		t.Logf("  %s", r)
	}
}

// Drives the graphql-ws client, configured as docs/security.md tells
// frontends to configure it, against a HealthGraph test server, and prints
// what it saw as one JSON object for server/websocket_client_test.go to
// judge. Every wait is on an event (a close, an ack, a response); the only
// clock is the server's access-token lifetime.
//
// Environment: HG_URL (the server's http:// base), HG_EMAIL, HG_PASSWORD.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const base = process.env.HG_URL;
const wsURL = base.replace(/^http/, 'ws') + '/graphql';

// Refuse to hang: the Go test reports a missing observation.
setTimeout(() => {
  console.error('client.mjs: gave up after 60s');
  process.exit(2);
}, 60_000).unref();

// gql posts one operation over HTTP and returns its JSON answer.
async function gql(query, variables, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(`${base}/graphql`, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
  return res.json();
}

const code = (answer) => answer.errors?.[0]?.extensions?.code ?? '';

// The settings docs/security.md documents: the token is read on every
// connect, so a reconnect after a refresh sends the new one; 4401 and 4403
// are never retried with the same token (graphql-ws already stops on 4401;
// it would retry 4403); anything else is retried at most 5 times with
// graphql-ws's randomised exponential backoff (1 s, 2 s, 4 s, 8 s, 16 s,
// each plus 0.3-3 s).
const documented = {
  retryAttempts: 5,
  shouldRetry: (e) => typeof e?.code === 'number' && e.code !== 4401 && e.code !== 4403,
};

// client makes a graphql-ws client that counts its connection attempts. A
// test must not wait a minute of backoff, so retryWait, when given,
// replaces the wait: the attempts are counted all the same.
function client(getToken, options = {}) {
  const seen = { connects: 0 };
  const c = createClient({
    url: wsURL,
    webSocketImpl: WebSocket,
    connectionParams: async () => ({ Authorization: `Bearer ${getToken()}` }),
    on: { connecting: () => seen.connects++ },
    ...options,
  });
  return { c, seen };
}

// watch subscribes and resolves when the subscription ends: with the close
// event (or error) that ended it, or with 'complete'.
function watch(c, userId, onNext) {
  return new Promise((resolve) => {
    c.subscribe(
      { query: 'subscription($id: ID!) { accountChanged(userId: $id) { gap } }', variables: { id: userId } },
      {
        next: (v) => onNext?.(v),
        error: (e) => resolve(e),
        complete: () => resolve('complete'),
      },
    );
  });
}

// connected resolves on the client's next connection_ack.
const connected = (c) => new Promise((resolve) => {
  const off = c.on('connected', () => {
    off();
    resolve();
  });
});

const ended = (e) => ({ code: e?.code ?? null, reason: e?.reason ?? String(e) });

const out = {};
const login = await gql(
  'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken refreshToken user { id } } }',
  { e: process.env.HG_EMAIL, p: process.env.HG_PASSWORD },
);
let { accessToken, refreshToken, user } = login.data.login;
const me = user.id;

// 1. The token expires under an open subscription.
const app = client(() => accessToken, documented);
out.expiry = ended(await watch(app.c, me));
out.expiry.connects = app.seen.connects;

// 2. The client does what the documentation says on 4401: refresh, then
// subscribe again on the same client, whose next connect sends the new
// token. Then the user logs out (elsewhere) while the socket is open.
const refreshed = await gql('mutation($t: String!) { refreshToken(token: $t) { accessToken refreshToken } }', { t: refreshToken });
out.refresh = { code: code(refreshed) };
({ accessToken, refreshToken } = refreshed.data.refreshToken);
const up = connected(app.c);
const afterLogout = watch(app.c, me);
await up;
const logout = await gql('mutation($t: String!) { logout(refreshToken: $t) }', { t: refreshToken });
out.logout = { code: code(logout), ...ended(await afterLogout) };
out.logout.connects = app.seen.connects;

// 3. After the logout the refresh is refused, so a documented client
// stops. One that reconnects with the dead token anyway is refused at
// connection_init, once.
const again = await gql('mutation($t: String!) { refreshToken(token: $t) { accessToken } }', { t: refreshToken });
out.refreshAfterLogout = { code: code(again) };
const before = app.seen.connects;
out.deadToken = ended(await watch(app.c, me));
out.deadToken.connects = app.seen.connects - before;

// 4. A client left on graphql-ws's stock settings (retrying 4403) against
// the same dead token: its attempts are bounded by retryAttempts, and its
// backoff spreads them over half a minute.
const stock = client(() => accessToken, { retryWait: async () => {} });
out.stock = ended(await watch(stock.c, me));
out.stock.connects = stock.seen.connects;

// 5. The clinic's shared IP can still log in after all of the above.
const relogin = await gql(
  'mutation($e: String!, $p: String!) { login(email: $e, password: $p) { accessToken } }',
  { e: process.env.HG_EMAIL, p: process.env.HG_PASSWORD },
);
out.loginAfter = { code: code(relogin), ok: Boolean(relogin.data?.login?.accessToken) };

await app.c.dispose();
await stock.c.dispose();
console.log(JSON.stringify(out));
process.exit(0);

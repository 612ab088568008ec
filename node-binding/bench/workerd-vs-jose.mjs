// Benchmark (not a test): the package side by side with jose inside real workerd (npm `workerd`,
// the Cloudflare Workers runtime), where Workers users run it: both sign and verify through
// workerd's WebCrypto.
//   node node-binding/bench/workerd-vs-jose.mjs [seconds-per-case]     (IN_FLIGHT=n concurrent calls)
// The same cases as vs-jose.mjs: the token endpoint (client_secret_basic + mint; jose: a minimal
// equivalent endpoint with SignJWT) and verifyAccessToken vs jwtVerify, ES256 and EdDSA. A
// Worker's clock does not advance while it computes (Workers' timer mitigation), so the Worker
// runs a batch of calls per request and the time is taken here, around each request; the
// sides alternate batch by batch. Prints ops/s and the ratios (target >= 1.0, issue 16).
import { startWorkerd } from '../test-support/workerd.js';

const SECONDS = Number(process.argv[2] ?? 3);
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 1);
const BATCH = 100;

const worker = `
import * as jose from 'jose';
import { AuthorizationServer, generateSigningKey, generateClientSecret, hashClientSecret, verifyAccessToken } from 'gatepass';

const ISSUER = 'https://as.example';
const API = 'https://api.example';
const cases = {};

async function setup(alg) {
  const signingJwk = generateSigningKey(alg, 'k-' + alg);
  const secret = generateClientSecret();
  const server = new AuthorizationServer({
    config: { issuer: ISSUER, signing_keys: [signingJwk], default_audiences: [API],
              clients: [{ client_id: 'billing', client_secret_hash: hashClientSecret(secret), scope: 'orders:read' }] },
    onError: (e) => console.error(e),
  });
  const basic = 'Basic ' + btoa('billing:' + secret);
  const request = () => new Request(ISSUER + '/oauth/token', {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': '29', authorization: basic },
    body: 'grant_type=client_credentials' });
  const privateKey = await jose.importJWK(signingJwk, alg);
  const storedHash = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(secret)));
  async function joseEndpoint(req) {
    const auth = req.headers.get('authorization') ?? '';
    const [id, pw] = atob(auth.slice(6)).split(':');
    const form = new URLSearchParams(await req.text());
    const given = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(decodeURIComponent(pw ?? ''))));
    let same = given.length === storedHash.length;
    for (let i = 0; i < given.length; i++) same = same && given[i] === storedHash[i];
    if (id !== 'billing' || !same || form.get('grant_type') !== 'client_credentials') {
      return new Response(JSON.stringify({ error: 'invalid_client' }), { status: 401 });
    }
    const now = Math.floor(Date.now() / 1000);
    const jti = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16)))).replace(/[+/=]/g, '');
    const token = await new jose.SignJWT({ client_id: id, scope: 'orders:read', jti })
      .setProtectedHeader({ alg, kid: signingJwk.kid, typ: 'at+jwt' })
      .setIssuer(ISSUER).setSubject(id).setAudience(API).setIssuedAt(now).setExpirationTime(now + 3600)
      .sign(privateKey);
    return new Response(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600, scope: 'orders:read' }), {
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });
  }
  const { access_token: token } = await (await server.handle(request())).json();
  const jwks = server.jwks();
  const provider = { issuer: ISSUER, audiences: [API], local_jwks: { inline_string: JSON.stringify(jwks) } };
  const keySet = jose.createLocalJWKSet(jwks);
  const check = async (r) => { if (r.status !== 200) throw new Error('token endpoint answered ' + r.status); await r.text(); };
  cases['token-' + alg] = {
    gatepass: async () => check(await server.handle(request())),
    jose: async () => check(await joseEndpoint(request())),
  };
  cases['verify-' + alg] = {
    gatepass: () => verifyAccessToken(token, provider, { scopes: ['orders:read'] }),
    jose: () => jose.jwtVerify(token, keySet, { issuer: ISSUER, audience: API, typ: 'at+jwt', algorithms: [alg] }),
  };
}

let ready;
export default {
  async fetch(request) {
    ready ??= Promise.all([setup('ES256'), setup('EdDSA')]);
    await ready;
    const url = new URL(request.url);
    const c = cases[url.searchParams.get('case')];
    if (!c) return new Response('ok');
    const fn = c[url.searchParams.get('side')];
    const n = Number(url.searchParams.get('n'));
    const inFlight = Number(url.searchParams.get('inflight'));
    const each = Math.ceil(n / inFlight);
    await Promise.all(Array.from({ length: inFlight }, async () => { for (let i = 0; i < each; i++) await fn(); }));
    return new Response(String(each * inFlight));
  },
};
`;

const w = await startWorkerd({ worker, jose: true });
try {
  const batch = async (name, side) => {
    const start = performance.now();
    const r = await fetch(`${w.origin}/?case=${name}&side=${side}&n=${BATCH}&inflight=${IN_FLIGHT}`);
    const done = Number(await r.text());
    if (r.status !== 200 || !(done > 0)) throw new Error(`${name} ${side}: ${r.status}\n${w.log()}`);
    return [done, performance.now() - start];
  };
  const rows = [];
  for (const name of ['token-ES256', 'verify-ES256', 'token-EdDSA', 'verify-EdDSA']) {
    for (const side of ['gatepass', 'jose']) await batch(name, side); // warm-up
    const totals = { gatepass: [0, 0], jose: [0, 0] };
    const end = performance.now() + SECONDS * 2 * 1000;
    for (let r = 0; performance.now() < end || r < 4; r++) {
      for (const side of r % 2 === 0 ? ['gatepass', 'jose'] : ['jose', 'gatepass']) {
        const [n, ms] = await batch(name, side);
        totals[side][0] += n;
        totals[side][1] += ms;
      }
    }
    const [g, j] = ['gatepass', 'jose'].map((s) => (totals[s][0] * 1000) / totals[s][1]);
    rows.push([name, g, j]);
  }
  console.log(`workerd (npm workerd), ${SECONDS} s per side per case, batches of ${BATCH} alternating, ${IN_FLIGHT} in flight`);
  console.log('case'.padEnd(22) + 'gatepass ops/s'.padStart(16) + 'jose ops/s'.padStart(14) + 'ratio'.padStart(9));
  for (const [name, g, j] of rows) console.log(name.padEnd(22) + g.toFixed(0).padStart(16) + j.toFixed(0).padStart(14) + `${(g / j).toFixed(2)}x`.padStart(9));
  for (const [name, g, j] of rows) console.log(`${name}: ${(g / j).toFixed(2)}x (target >= 1.0) ${g / j >= 1 ? 'met' : 'MISSED'}`);
} finally {
  await w.stop();
}

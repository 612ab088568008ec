// Benchmark (not a test): the package side by side with jose in one Node process.
//   node node-binding/bench/vs-jose.mjs [seconds-per-case]     (IN_FLIGHT=n: n concurrent calls)
// 1. token endpoint: AuthorizationServer.handle (client_secret_basic + mint) vs a minimal
//    equivalent endpoint written with jose (parse Basic, compare the SHA-256 of the secret, sign
//    an RFC 9068 token with SignJWT), same algorithm, ES256 and EdDSA;
// 2. verifyAccessToken vs jose jwtVerify with the same key and claims checks.
// Each pair runs in alternating rounds in the same process. Prints ops/s and the four ratios
// (target ≥ 1.5 each, issue 16). On Node the package signs and verifies through node:crypto
// (js/nodecrypto.js); GATEPASS_NODE_CRYPTO_MODE=sync|async|adaptive (default) picks how.
import { createHash, timingSafeEqual, randomBytes } from 'node:crypto';
import * as jose from 'jose';
import { AuthorizationServer, generateSigningKey, generateClientSecret, hashClientSecret, verifyAccessToken } from 'gatepass';

const SECONDS = Number(process.argv[2] ?? 3);
const ISSUER = 'https://as.example';
const API = 'https://api.example';
const NOW = Math.floor(Date.now() / 1000);

// IN_FLIGHT calls at a time (default 1: one after another, the latency of one call; more: the
// throughput of a server with that many requests in flight, where WebCrypto's thread pool works
// in parallel and the main thread's CPU per call decides).
const IN_FLIGHT = Number(process.env.IN_FLIGHT ?? 1);

async function run(fn, ms) {
  let n = 0;
  const start = performance.now();
  const end = start + ms;
  const worker = async () => {
    while (performance.now() < end) {
      for (let i = 0; i < 20; i++) await fn();
      n += 20;
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return [n, performance.now() - start];
}

// Both sides in alternating rounds (A B A B ...), so neither gains from running first or last
// (JIT state, heap growth, the machine's other load drift); throughput over all rounds.
const ROUNDS = 6;
async function compare(a, b) {
  for (const fn of [a, b]) await run(fn, 300); // warm-up
  const totals = [[0, 0], [0, 0]];
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? [0, 1] : [1, 0];
    for (const side of order) {
      const [n, ms] = await run(side === 0 ? a : b, (SECONDS * 1000) / ROUNDS);
      totals[side][0] += n;
      totals[side][1] += ms;
    }
  }
  return totals.map(([n, ms]) => (n * 1000) / ms);
}

const rows = [];
const ratios = [];
for (const alg of ['ES256', 'EdDSA']) {
  const signingJwk = generateSigningKey(alg, `k-${alg}`);
  const secret = generateClientSecret();
  const server = new AuthorizationServer({
    config: {
      issuer: ISSUER,
      signing_keys: [signingJwk],
      default_audiences: [API],
      clients: [{ client_id: 'billing', client_secret_hash: hashClientSecret(secret), scope: 'orders:read' }],
    },
    onError: (e) => console.error(e),
  });
  const basic = `Basic ${btoa(`billing:${secret}`)}`;
  const body = 'grant_type=client_credentials';
  const request = () =>
    new Request(`${ISSUER}/oauth/token`, {
      method: 'POST',
      // As a request off the wire has it (a client's form body is sent with its length).
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length), authorization: basic },
      body,
    });

  // The jose endpoint: the same work a minimal hand-written server would do.
  const privateKey = await jose.importJWK(signingJwk, alg);
  const storedHash = createHash('sha256').update(secret).digest();
  async function joseEndpoint(req) {
    const auth = req.headers.get('authorization') ?? '';
    const [id, pw] = atob(auth.slice(6)).split(':');
    const form = new URLSearchParams(await req.text());
    const given = createHash('sha256').update(decodeURIComponent(pw ?? '')).digest();
    if (id !== 'billing' || !timingSafeEqual(given, storedHash) || form.get('grant_type') !== 'client_credentials') {
      return new Response(JSON.stringify({ error: 'invalid_client' }), { status: 401 });
    }
    const now = Math.floor(Date.now() / 1000);
    const token = await new jose.SignJWT({ client_id: id, scope: 'orders:read', jti: randomBytes(16).toString('base64url') })
      .setProtectedHeader({ alg, kid: signingJwk.kid, typ: 'at+jwt' })
      .setIssuer(ISSUER).setSubject(id).setAudience(API).setIssuedAt(now).setExpirationTime(now + 3600)
      .sign(privateKey);
    return new Response(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 3600, scope: 'orders:read' }), {
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    });
  }
  for (const [name, fn] of [['gatepass', () => server.handle(request())], ['jose', () => joseEndpoint(request())]]) {
    const r = await fn();
    if (r.status !== 200) throw new Error(`${name} token endpoint answered ${r.status}`);
  }
  const [tokenGatepass, tokenJose] = await compare(
    async () => (await server.handle(request())).text(),
    async () => (await joseEndpoint(request())).text(),
  );
  rows.push([`token endpoint ${alg}`, tokenGatepass, tokenJose]);
  ratios.push([`token endpoint ${alg}`, tokenGatepass / tokenJose]);

  // Verification of one token.
  const { access_token: token } = await (await server.handle(request())).json();
  const jwks = server.jwks();
  const provider = { issuer: ISSUER, audiences: [API], local_jwks: { inline_string: JSON.stringify(jwks) } };
  const keySet = jose.createLocalJWKSet(jwks);
  await verifyAccessToken(token, provider, { scopes: ['orders:read'] });
  await jose.jwtVerify(token, keySet, { issuer: ISSUER, audience: API, typ: 'at+jwt', algorithms: [alg] });
  const [verifyGatepass, verifyJose] = await compare(
    () => verifyAccessToken(token, provider, { scopes: ['orders:read'] }),
    () => jose.jwtVerify(token, keySet, { issuer: ISSUER, audience: API, typ: 'at+jwt', algorithms: [alg] }),
  );
  rows.push([`verify ${alg}`, verifyGatepass, verifyJose]);
  ratios.push([`verify ${alg}`, verifyGatepass / verifyJose]);
  server.free?.();
}

console.log(`node ${process.version}, ${SECONDS} s per side per case, in ${ROUNDS} alternating rounds, ${IN_FLIGHT} in flight`);
console.log('case'.padEnd(22) + 'gatepass ops/s'.padStart(16) + 'jose ops/s'.padStart(14) + 'ratio'.padStart(9));
for (const [name, g, j] of rows) {
  console.log(name.padEnd(22) + g.toFixed(0).padStart(16) + j.toFixed(0).padStart(14) + `${(g / j).toFixed(2)}x`.padStart(9));
}
// Issue 16: at least 1.5x jose on Node, one call at a time and 16 in flight.
for (const [name, r] of ratios) console.log(`${name}: ${r.toFixed(2)}x (target >= 1.5) ${r >= 1.5 ? 'met' : 'MISSED'}`);

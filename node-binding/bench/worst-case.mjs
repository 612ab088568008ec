// Benchmark (not a test): worst-case work per request before authentication (issue 11) through
// the npm package, in-process in Node. Run through `bash bench/worst-case.sh`, or:
//
//   node node-binding/bench/worst-case.mjs CASES.json [--quick] [--json OUT]
//
// CASES.json comes from `cargo run --release -p gatepass-core --example worst_case -- write DIR`:
// per parser, a benign request and adversarial ones of the same byte size (definitions in
// core/examples/worst_case.rs and README "Hardening"). Token and registration requests go through
// `AuthorizationServer.handle(new Request(...))`, access tokens through `verifyAccessToken`.
// Every answer is checked once before timing (benign 200/201, adversarial 401 or 201).
//
// Timing: for each adversarial input and its benign twin, rounds alternate batches of the two
// (A B, B A, ...), each batch one request at a time (`await` each) for about 30 ms (10 ms with
// --quick); the wall time per request, median over the rounds. The stores keep nothing: the
// replay store answers "new" for every jti (so one benign assertion serves every round) and
// the client store discards registrations; their cost is not the parser's.
import { readFileSync, writeFileSync } from 'node:fs';
import { AuthorizationServer, verifyAccessToken } from 'gatepass';

const args = process.argv.slice(2);
const casesPath = args.find((a) => !a.startsWith('--'));
if (!casesPath) {
  console.error('usage: node worst-case.mjs CASES.json [--quick] [--json OUT]');
  process.exit(2);
}
const quick = args.includes('--quick');
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;
const ROUNDS = quick ? 5 : 9;
const BATCH_MS = quick ? 10 : 30;

const doc = JSON.parse(readFileSync(casesPath, 'utf8'));
const now = doc.now;
const encoder = new TextEncoder();

const server = new AuthorizationServer({
  config: doc.server_config,
  now: () => now,
  clientStore: { get: async () => undefined, put: async () => {}, delete: async () => {} },
  replayStore: { insertIfAbsent: async () => true },
  onError: (e) => console.error('worst-case: request failed:', e),
});
const provider = doc.provider;

/** One request of a case, as a function that returns its HTTP status. */
function runner(c) {
  if (c.token !== undefined) {
    return async () => {
      try {
        await verifyAccessToken(c.token, provider, { scopes: ['orders:read'], now });
        return 200;
      } catch (e) {
        return e.status ?? 500;
      }
    };
  }
  const body = encoder.encode(c.body);
  const headers = { 'content-type': c.content_type };
  if (c.authorization) headers.authorization = c.authorization;
  const url = doc.issuer + c.path;
  return async () => {
    const response = await server.handle(new Request(url, { method: 'POST', headers, body }));
    return response.status;
  };
}

/** Milliseconds per call of `fn` over `n` sequential calls. */
async function batch(fn, n) {
  const start = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return (performance.now() - start) / n;
}

async function size(fn) {
  let n = 1;
  for (;;) {
    const t = (await batch(fn, n)) * n;
    if (t >= BATCH_MS / 4 || n >= 1 << 16) return Math.max(1, Math.ceil((n * BATCH_MS) / t));
    n *= 4;
  }
}

function median(values) {
  const v = [...values].sort((a, b) => a - b);
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

async function compare(a, b) {
  const [na, nb] = [await size(a), await size(b)];
  const ta = [];
  const tb = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      ta.push(await batch(a, na));
      tb.push(await batch(b, nb));
    } else {
      tb.push(await batch(b, nb));
      ta.push(await batch(a, na));
    }
  }
  return [median(ta), median(tb)];
}

const cases = doc.cases.filter((c) => !c.native_only);
for (const c of cases) {
  const status = await runner(c)();
  if (status !== c.expect) {
    console.error(`worst-case: ${c.parser} ${c.variant}: answered ${status}, expected ${c.expect}`);
    process.exit(1);
  }
}

console.log(
  `npm package in Node ${process.version} (AuthorizationServer.handle, verifyAccessToken): wall time per request, medians of ${ROUNDS} interleaved rounds, batches of ~${BATCH_MS} ms`,
);
const pad = (s, n) => String(s).padEnd(n);
const num = (x, n) => x.toFixed(1).padStart(n);
console.log(`${pad('parser', 17)} ${pad('variant', 16)} ${pad('stage', 6)} ${'adversarial'.padStart(13)} ${'benign'.padStart(13)} ${'ratio'.padStart(8)}`);
const results = [];
for (const benign of cases.filter((c) => !c.adversarial)) {
  const b = runner(benign);
  for (const adv of cases.filter((c) => c.adversarial && c.parser === benign.parser)) {
    const [ta, tb] = await compare(runner(adv), b);
    const ratio = ta / tb;
    console.log(
      `${pad(adv.parser, 17)} ${pad(adv.variant, 16)} ${pad('whole', 6)} ${num(ta * 1000, 10)} µs ${num(tb * 1000, 10)} µs ${ratio.toFixed(2).padStart(7)}×`,
    );
    results.push({
      shell: 'npm',
      parser: adv.parser,
      variant: adv.variant,
      stage: 'whole',
      adversarial_us: ta * 1000,
      benign_us: tb * 1000,
      ratio,
      bytes: adv.bytes,
      cap: adv.cap,
    });
  }
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results));
server.free();

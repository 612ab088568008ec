// Benchmark (not a test): two builds of the package side by side in one Node process.
//   node node-binding/bench/builds.mjs SECONDS DIR_A DIR_B
// Each DIR is a package root (js/, dist/wasm/). bench/npm-profiles.sh makes DIR_A with the
// release profile and compares it with the shipped build (Cargo.toml's [profile.npm]).
// Prints, for ES256 and EdDSA, B's throughput over A's for
//   1. the token endpoint (`handle`, client_secret_basic + mint) and `verifyAccessToken`, as the
//      jose bench runs them (Request/Response, node:crypto), rounds rotating A B / B A;
//   2. the wasm alone: the core calls of one token request (route, beginToken, next, signed
//      with a fixed signature) and of one verification (start ... finish with a true verdict),
//      no Request, no crypto — what the build settings change; best and mean of 30 batches.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const SECONDS = Number(process.argv[2] ?? 8);
const dirs = process.argv.slice(3, 5).map((d) => resolve(d));
if (dirs.length !== 2) throw new Error('usage: builds.mjs SECONDS DIR_A DIR_B');
const ISSUER = 'https://as.example';
const API = 'https://api.example';

const builds = [];
for (const dir of dirs) {
  const pkg = await import(pathToFileURL(`${dir}/js/node.js`).href);
  const glue = await import(pathToFileURL(`${dir}/dist/wasm/gatepass_node.js`).href);
  glue.initSync({ module: readFileSync(`${dir}/dist/wasm/gatepass_node_bg.wasm`) });
  builds.push({ dir, pkg, glue, bytes: readFileSync(`${dir}/dist/wasm/gatepass_node_bg.wasm`).length });
}
for (const [i, b] of builds.entries()) console.log(`${'AB'[i]}: ${b.dir} (.wasm ${b.bytes} bytes)`);

async function run(fn, ms) {
  let n = 0;
  const start = performance.now();
  const end = start + ms;
  while (performance.now() < end) {
    for (let i = 0; i < 20; i++) await fn();
    n += 20;
  }
  return [n, performance.now() - start];
}

const ROUNDS = 8;
async function compare(fns) {
  for (const fn of fns) await run(fn, 300);
  const totals = fns.map(() => [0, 0]);
  for (let r = 0; r < ROUNDS; r++) {
    for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const [n, ms] = await run(fns[i], (SECONDS * 1000) / ROUNDS);
      totals[i][0] += n;
      totals[i][1] += ms;
    }
  }
  return totals.map(([n, ms]) => (n * 1000) / ms);
}

function timeSync(fn, n) {
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t) / n / 1000;
}

function compareSync(fns) {
  for (const fn of fns) timeSync(fn, 2000);
  const best = fns.map(() => Infinity);
  const mean = fns.map(() => 0);
  for (let r = 0; r < 30; r++) {
    for (const i of r % 2 === 0 ? [0, 1] : [1, 0]) {
      const us = timeSync(fns[i], 500);
      best[i] = Math.min(best[i], us);
      mean[i] += us / 30;
    }
  }
  return { best, mean };
}

const rows = [];
for (const alg of ['ES256', 'EdDSA']) {
  const jwk = builds[0].pkg.generateSigningKey(alg, `k-${alg}`);
  const secret = builds[0].pkg.generateClientSecret();
  const basic = `Basic ${btoa(`billing:${secret}`)}`;
  const body = 'grant_type=client_credentials';
  const config = {
    issuer: ISSUER,
    signing_keys: [jwk],
    default_audiences: [API],
    clients: [{ client_id: 'billing', client_secret_hash: builds[0].pkg.hashClientSecret(secret), scope: 'orders:read' }],
  };
  const request = () =>
    new Request(`${ISSUER}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(body.length), authorization: basic },
      body,
    });
  const servers = builds.map((b) => new b.pkg.AuthorizationServer({ config }));
  const { access_token: token } = await (await servers[0].handle(request())).json();
  const providerText = JSON.stringify({ issuer: ISSUER, audiences: [API], local_jwks: { inline_string: JSON.stringify(servers[0].jwks()) } });
  const provider = JSON.parse(providerText);

  const endToEnd = {
    token: await compare(servers.map((s) => async () => (await s.handle(request())).text())),
    verify: await compare(builds.map((b) => () => b.pkg.verifyAccessToken(token, provider, { scopes: ['orders:read'] }))),
  };

  // The same core calls without Request, Response or crypto.
  const now = Math.floor(Date.now() / 1000);
  const formBytes = new TextEncoder().encode(body);
  const signature = new Uint8Array(64).fill(7);
  const wasmToken = builds.map(({ glue }) => {
    const server = new glue.Server(JSON.stringify(config));
    return () => {
      JSON.parse(server.route('POST', '/oauth/token'));
      const exchange = server.beginToken('POST', 'application/x-www-form-urlencoded', basic, formBytes, now, false);
      if (!JSON.parse(exchange.next()).sign) throw new Error('expected a sign step');
      exchange.signingInput();
      const step = JSON.parse(exchange.signed(signature));
      if (step.response?.status !== 200) throw new Error('expected a 200');
      exchange.responseBody();
      exchange.free();
    };
  });
  const wasmVerify = builds.map(({ glue }) => {
    const verifier = new glue.Verifier(providerText);
    return () => {
      const job = verifier.start(token, now);
      if (job.error('x') !== undefined) throw new Error('refused');
      job.alg();
      job.key();
      job.input();
      job.signature();
      JSON.parse(job.finish(true, ['orders:read'], [], 'x'));
      job.free();
    };
  });
  const wasmOnly = { token: compareSync(wasmToken), verify: compareSync(wasmVerify) };
  for (const what of ['token', 'verify']) {
    const [a, b] = endToEnd[what];
    const w = wasmOnly[what];
    rows.push([`${what === 'token' ? 'token endpoint' : 'verify'} ${alg}`, a, b, w]);
  }
}

console.log(`node ${process.version}; end to end: ${SECONDS} s per build per case in ${ROUNDS} alternating rounds; wasm alone: 30 alternating batches of 500`);
console.log('case'.padEnd(22) + 'A ops/s'.padStart(10) + 'B ops/s'.padStart(10) + 'B/A'.padStart(7) + '   wasm alone A / B µs (best; mean)');
for (const [name, a, b, w] of rows) {
  console.log(
    name.padEnd(22) + a.toFixed(0).padStart(10) + b.toFixed(0).padStart(10) + (b / a).toFixed(2).padStart(7) +
      `   ${w.best[0].toFixed(1)} / ${w.best[1].toFixed(1)} (${w.mean[0].toFixed(1)} / ${w.mean[1].toFixed(1)})`,
  );
}

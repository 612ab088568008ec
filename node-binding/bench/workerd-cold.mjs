// Benchmark (not a test): from a fresh workerd (a fresh isolate) to the first answered token
// request, against a Worker that answers "ok" without the package.
//   node node-binding/bench/workerd-cold.mjs [starts]      (default 5; medians)
// Each start spawns workerd with the Worker and polls every 10 ms until the first request is
// answered: for the package's Worker that first request loads the package (the .wasm is
// compiled when the Worker loads), builds an AuthorizationServer and answers a
// client_secret_basic token request (ES256), so the figure includes everything a cold Worker
// does before its first token. The difference to the plain Worker is the package's cost.
import { statSync } from 'node:fs';
import { startWorkerd } from '../test-support/workerd.js';

const STARTS = Number(process.argv[2] ?? 5);

const plain = `export default { async fetch() { return new Response('ok'); } };`;
const withGatepass = `
import { AuthorizationServer, generateSigningKey, hashClientSecret } from 'gatepass';
let server;
export default {
  async fetch() {
    // Keys are made inside the first request: a Worker may not use randomness at startup.
    server ??= new AuthorizationServer({ config: {
      issuer: 'https://as.example', signing_keys: [generateSigningKey('ES256', 'k')],
      default_audiences: ['https://api.example'],
      clients: [{ client_id: 'billing', client_secret_hash: hashClientSecret('s3cret-s3cret-s3cret'), scope: 'a' }] } });
    const r = await server.handle(new Request('https://as.example/oauth/token', { method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + btoa('billing:s3cret-s3cret-s3cret') },
      body: 'grant_type=client_credentials' }));
    if (r.status !== 200) throw new Error('token endpoint answered ' + r.status);
    return r;
  },
};`;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const times = { plain: [], gatepass: [] };
for (let i = 0; i < STARTS; i++) {
  for (const [name, worker] of [['plain', plain], ['gatepass', withGatepass]]) {
    const w = await startWorkerd({ worker });
    times[name].push(w.startMs);
    await w.stop();
  }
}
const wasm = new URL('../dist/wasm/gatepass_node_bg.wasm', import.meta.url);
console.log(`workerd cold start to the first answer, medians of ${STARTS} (.wasm ${statSync(wasm).size} bytes)`);
console.log(`plain Worker:        ${median(times.plain).toFixed(0)} ms`);
console.log(`first token request: ${median(times.gatepass).toFixed(0)} ms (+${(median(times.gatepass) - median(times.plain)).toFixed(0)} ms)`);

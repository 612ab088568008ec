// Issue 11, items 2–6, in workerd: the scenarios of ../test-support/hardening.js run inside a
// Worker over the packed package (one route per scenario), and the results are checked with
// the same assertions as in Node (../test-support/hardening-expect.js).
import { test, before, after } from 'node:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from '../test-support/hardening-expect.js';
import { PACKAGE_DIR } from '../test-support/packed.js';
import { startWorkerd } from '../test-support/workerd.js';

// The wasm-bindgen glue is imported by its module name so that the hung-store scenario can
// watch the package's own TokenExchange objects (the same module instance the package uses).
const WORKER = `
import * as gp from 'gatepass';
import * as glue from 'node_modules/gatepass/dist/wasm/gatepass_node.js';
import { scenarios } from 'hardening.js';

export default {
  async fetch(request) {
    const name = new URL(request.url).pathname.slice(1);
    const scenario = Object.hasOwn(scenarios, name) ? scenarios[name] : undefined;
    if (scenario === undefined) return new Response('no such scenario', { status: 404 });
    try {
      return Response.json(await scenario(gp, { glue }));
    } catch (e) {
      return Response.json({ thrown: String(e?.stack ?? e) }, { status: 500 });
    }
  },
};
`;

let workerd;

before(async () => {
  workerd = await startWorkerd({
    worker: WORKER,
    files: { 'hardening.js': readFileSync(join(PACKAGE_DIR, 'test-support', 'hardening.js'), 'utf8') },
  });
});

after(async () => {
  await workerd?.stop();
});

async function run(name) {
  const response = await fetch(`${workerd.origin}/${name}`);
  const data = await response.json();
  if (response.status !== 200) throw new Error(`scenario ${name} failed in workerd: ${data.thrown}\n${workerd.log()}`);
  return data;
}

test('workerd item 2: an RFC 7592 path segment no client can have is 404 before any store call', async () => {
  expect.impossibleClientIdPaths(await run('impossibleClientIdPaths'));
});

test('workerd item 2: a 600-byte client_id never reaches clientStore.get and is answered as an unknown client', async () => {
  expect.longClientIdAtTokenEndpoint(await run('longClientIdAtTokenEndpoint'));
});

test('workerd item 3: a record written by issuer A is an unknown client to issuer B sharing the store', async () => {
  expect.sharedStoreAcrossIssuers(await run('sharedStoreAcrossIssuers'));
});

test('workerd item 3: narrowing allowed_scope and default_audiences narrows existing registered clients', async () => {
  expect.narrowedPolicy(await run('narrowedPolicy'));
});

test('workerd item 3: registration.enabled false keeps registered clients; without the section they are refused', async () => {
  expect.registrationOffOrAbsent(await run('registrationOffOrAbsent'));
});

test('workerd item 4: registration needs initial_access_token_hash or open_registration: true, not both', async () => {
  expect.openRegistrationIsExplicit(await run('openRegistrationIsExplicit'));
});

test('workerd item 4: registration over a cap is 400 invalid_client_metadata naming the field, nothing stored', async () => {
  expect.registrationCaps(await run('registrationCaps'));
});

test('workerd item 5: onError that rejects or throws is counted', async () => {
  expect.errorCallbackFailures(await run('errorCallbackFailures'));
});

test('workerd item 5: a store call that never settles answers 503 after storeTimeoutMs and frees the TokenExchange', async () => {
  expect.hungStores(await run('hungStores'));
});

test('workerd item 6: changing provider.audiences after use is seen by verifyAccessToken', async () => {
  expect.mutatedProvider(await run('mutatedProvider'));
});

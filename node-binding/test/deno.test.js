// Deno (npm `deno`): a script importing the packed package (exports condition `deno`) runs a
// token flow with no permissions at all.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PACKAGE_DIR, packedProject } from '../test-support/packed.js';

const DENO = join(PACKAGE_DIR, 'node_modules', '.bin', 'deno');

const SCRIPT = `
import * as jose from 'jose';
import {
  AuthorizationServer, GatepassError, generateClientSecret, generateSigningKey, generateSigningKeyAsync, hashClientSecret, mintAccessToken, publicJwks,
  verifyAccessToken,
} from 'gatepass';

const ISSUER = 'https://as.example';
const API = 'https://api.example';
const out = { runtime: typeof Deno === 'object' ? 'deno ' + Deno.version.deno : 'unknown', entry: import.meta.resolve('gatepass') };
const secret = generateClientSecret();
const initialAccessToken = generateClientSecret();
const { publicKey, privateKey } = await jose.generateKeyPair('ES256');
const server = new AuthorizationServer({
  config: {
    issuer: ISSUER,
    signing_keys: [generateSigningKey('ES256', 'deno-key')],
    default_audiences: [API],
    clients: [
      { client_id: 'billing', client_secret_hash: hashClientSecret(secret), scope: 'orders:read' },
      { client_id: 'worker', token_endpoint_auth_method: 'private_key_jwt', scope: 'orders:read',
        jwks: { keys: [{ ...(await jose.exportJWK(publicKey)), kid: 'w', alg: 'ES256' }] } },
    ],
    registration: { allowed_scope: 'orders:read', initial_access_token_hash: hashClientSecret(initialAccessToken) },
  },
});
const form = (params, headers = {}) => new Request(ISSUER + '/oauth/token', {
  method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(params),
});
const provider = { issuer: ISSUER, audiences: [API], local_jwks: { inline_string: JSON.stringify(server.jwks()) } };

let r = await server.handle(form({ grant_type: 'client_credentials' }, { authorization: 'Basic ' + btoa('billing:' + secret) }));
const basic = await r.json();
out.basic = { status: r.status, client_id: (await verifyAccessToken(basic.access_token, provider)).client_id };
out.joseVerify = (await jose.jwtVerify(basic.access_token, jose.createLocalJWKSet(server.jwks()), { issuer: ISSUER, audience: API, typ: 'at+jwt' })).payload.sub;

const assertion = await new jose.SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'w', typ: 'client-authentication+jwt' })
  .setIssuer('worker').setSubject('worker').setAudience(ISSUER).setIssuedAt().setExpirationTime('2m').setJti(crypto.randomUUID())
  .sign(privateKey);
const params = { grant_type: 'client_credentials', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer', client_assertion: assertion };
out.privateKeyJwt = (await server.handle(form(params))).status;
r = await server.handle(form(params));
out.replay = { status: r.status, error: (await r.json()).error };

r = await server.handle(new Request(ISSUER + '/oauth/register', {
  method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer ' + initialAccessToken }, body: '{"client_name":"deno"}',
}));
const registered = await r.json();
out.register = r.status;
r = await server.handle(form({ grant_type: 'client_credentials' }, { authorization: 'Basic ' + btoa(registered.client_id + ':' + registered.client_secret) }));
out.registeredToken = r.status;
const toolKey = generateSigningKey('ES256');
const minted = await mintAccessToken({ issuer: ISSUER, signingKey: toolKey, clientId: 'deno-tool', scope: 'a b', audience: API });
out.minted = (await verifyAccessToken(minted.access_token, { issuer: ISSUER, audiences: [API], local_jwks: { inline_string: JSON.stringify(publicJwks(toolKey)) } }, { scopes: 'b' })).client_id;
// RSA keys come from Deno's WebCrypto, asynchronously; the synchronous call says so.
try {
  generateSigningKey('RS256');
} catch (e) {
  out.rsaSync = { code: e.code, async: /generateSigningKeyAsync/.test(e.message) };
}
const rsaKey = await generateSigningKeyAsync('PS256');
const rsaMinted = await mintAccessToken({ issuer: ISSUER, signingKey: rsaKey, clientId: 'deno-rsa', audience: API });
out.rsa = (await jose.jwtVerify(rsaMinted.access_token, jose.createLocalJWKSet(publicJwks(rsaKey)), { issuer: ISSUER, audience: API, typ: 'at+jwt' })).protectedHeader.alg;
try {
  new AuthorizationServer({ config: { issuer: ISSUER, signing_keys: [], bogus: 1 } });
} catch (e) {
  out.configError = { isGatepassError: e instanceof GatepassError, code: e.code };
}
console.log(JSON.stringify(out));
`;

test('deno run: the package (deno entry) issues, verifies, refuses a replay, registers, makes RSA keys with WebCrypto — with no permissions', async () => {
  const project = packedProject();
  try {
    writeFileSync(join(project.dir, 'main.js'), SCRIPT);
    const { stdout } = await promisify(execFile)(DENO, ['run', '--no-prompt', 'main.js'], {
      cwd: project.dir,
      env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
      timeout: 120_000,
    });
    const out = JSON.parse(stdout.trim().split('\n').pop());
    assert.match(out.runtime, /^deno 2\./);
    assert.match(out.entry, /node_modules\/gatepass\/js\/deno\.js$/);
    assert.deepEqual(out.basic, { status: 200, client_id: 'billing' });
    assert.equal(out.joseVerify, 'billing');
    assert.equal(out.privateKeyJwt, 200);
    assert.deepEqual(out.replay, { status: 401, error: 'invalid_client' });
    assert.equal(out.register, 201);
    assert.equal(out.registeredToken, 200);
    assert.equal(out.minted, 'deno-tool');
    assert.deepEqual(out.rsaSync, { code: 'invalid_request', async: true });
    assert.equal(out.rsa, 'PS256');
    assert.deepEqual(out.configError, { isGatepassError: true, code: 'invalid_configuration' });
  } finally {
    project.cleanup();
  }
});

// The `browser`/`default` entry fetches the .wasm next to the module; Deno's fetch reads file:
// URLs (with --allow-read), which exercises that path outside a browser.
test('the browser/default entry (fetch-based init) works in Deno', async () => {
  const project = packedProject();
  try {
    writeFileSync(
      join(project.dir, 'browser.js'),
      `import { AuthorizationServer, generateSigningKey } from './node_modules/gatepass/js/browser.js';
const server = new AuthorizationServer({ config: { issuer: 'https://as.example', signing_keys: [generateSigningKey('EdDSA', 'b')] } });
const r = await server.handle(new Request('https://as.example/.well-known/jwks.json'));
console.log(JSON.stringify({ status: r.status, kid: (await r.json()).keys[0].kid }));
`,
    );
    const { stdout } = await promisify(execFile)(DENO, ['run', '--no-prompt', '--allow-read=.', 'browser.js'], {
      cwd: project.dir,
      env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
      timeout: 120_000,
    });
    assert.deepEqual(JSON.parse(stdout.trim().split('\n').pop()), { status: 200, kid: 'b' });
  } finally {
    project.cleanup();
  }
});

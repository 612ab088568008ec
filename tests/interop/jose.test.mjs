// Interop between the gatepass core and `jose` (panva/jose), the most used JOSE library for JS.
//
// Both directions of the token endpoint's cryptography are checked against an independent
// implementation:
//   - tokens the core mints (RFC 9068 access tokens) verify with jose against the core's JWKS;
//   - client assertions jose signs (RFC 7523 `private_key_jwt`) are accepted by the core, and
//     malformed ones are refused with the RFC 6749 §5.2 code `invalid_client`.
//
// The core is driven through its `interop` example (core/examples/interop.rs): one subcommand
// per call, one JSON object on stdin, one JSON object on stdout. The example exits 0 whenever
// it prints an answer, including `{"ok": false, ...}`; a non-zero exit is a harness failure.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';

import * as jose from 'jose';

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

const ALGS = ['EdDSA', 'ES256', 'RS256', 'PS256'];

// Issuer identifier of the authorization server checking the assertions. Per
// draft-ietf-oauth-rfc7523bis the assertion's `aud` is this string, not the token endpoint URL.
const ISSUER = 'https://as.gatepass.test';
const TOKEN_ENDPOINT = `${ISSUER}/oauth/token`;

// JWK members that only private (or symmetric) keys have: RFC 7518 §6.2.2, §6.3.2, §6.4.1,
// RFC 8037 §2. None of them may appear in a published JWKS.
const PRIVATE_JWK_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

/** Path of the built `interop` example; set by the `before()` hook. */
let interopBin;

/**
 * Builds the core's `interop` example and returns the path of its executable, as reported by
 * cargo (so a CARGO_TARGET_DIR or build.target-dir setting is honoured).
 */
function buildInteropExample() {
  const out = execFileSync(
    'cargo',
    [
      'build',
      '-q',
      '-p',
      'gatepass-core',
      '--example',
      'interop',
      '--message-format=json-render-diagnostics',
    ],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 256 * 1024 * 1024,
    },
  );
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    const msg = JSON.parse(line);
    if (
      msg.reason === 'compiler-artifact' &&
      msg.target?.name === 'interop' &&
      msg.target.kind?.includes('example') &&
      msg.executable
    ) {
      return msg.executable;
    }
  }
  throw new Error('cargo did not report an executable for example `interop` of gatepass-core');
}

/** Runs `interop <command>` with `input` as JSON on stdin; returns the JSON object it prints. */
function core(command, input) {
  let stdout;
  try {
    stdout = execFileSync(interopBin, [command], {
      input: JSON.stringify(input),
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    throw new Error(
      `interop ${command} failed (exit ${err.status}): ${err.stderr || err.message}` +
        (err.stdout ? `\nstdout: ${err.stdout}` : ''),
    );
  }
  try {
    return JSON.parse(stdout);
  } catch {
    throw new Error(`interop ${command} printed something other than one JSON object:\n${stdout}`);
  }
}

/** The current time in Unix seconds; passed to the core, which has no clock of its own. */
function unixNow() {
  return Math.floor(Date.now() / 1000);
}

/** A jose-generated key pair for `alg` with its public JWK (`kid` and `alg` set). */
async function clientKey(alg, kid = `client-key-${randomUUID()}`) {
  const { publicKey, privateKey } = await jose.generateKeyPair(alg, { extractable: true });
  const publicJwk = { ...(await jose.exportJWK(publicKey)), kid, alg };
  return { alg, kid, privateKey, publicJwk };
}

/**
 * A `private_key_jwt` client assertion (RFC 7523 §3) signed by jose. `jti: null` leaves the
 * `jti` claim out; `kid` overrides the header's key id.
 */
async function signAssertion({
  key,
  clientId,
  audience = ISSUER,
  now,
  jti = randomUUID(),
  kid = key.kid,
}) {
  const jwt = new jose.SignJWT({})
    .setProtectedHeader({ alg: key.alg, kid, typ: 'client-authentication+jwt' })
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(audience)
    .setIssuedAt(now)
    .setExpirationTime(now + 120);
  if (jti !== null) jwt.setJti(jti);
  return jwt.sign(key.privateKey);
}

/** Asks the core to check `assertion` for `clientId`, whose registered key set is `jwks`. */
function checkAssertion({ assertion, jwks, clientId, now }) {
  return core('check-assertion', {
    assertion,
    client_jwks: jwks,
    client_id: clientId,
    issuer: ISSUER,
    now,
  });
}

function assertAccepted(result, clientId) {
  assert.deepEqual(result, { ok: true, client_id: clientId });
}

function assertInvalidClient(result) {
  assert.equal(result.ok, false, `expected a refusal, got ${JSON.stringify(result)}`);
  assert.equal(result.error, 'invalid_client');
  assert.equal(typeof result.error_description, 'string');
}

/**
 * A registered client with one jose key, and a proof that a well-formed assertion from it is
 * accepted, so that a refusal in the same test is caused by the one defect under test.
 */
async function registeredClient(alg) {
  const clientId = `interop-client-${alg.toLowerCase()}`;
  const key = await clientKey(alg);
  const jwks = { keys: [key.publicJwk] };
  const now = unixNow();
  const good = await signAssertion({ key, clientId, now });
  assertAccepted(checkAssertion({ assertion: good, jwks, clientId, now }), clientId);
  return { clientId, key, jwks, now };
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

before(() => {
  interopBin = buildInteropExample();
});

describe('core-minted access tokens verify with jose (RFC 9068)', () => {
  for (const alg of ALGS) {
    test(`${alg} access token minted by the core verifies with jose against the core's JWKS`, async () => {
      const minted = core('mint', { alg });
      const { token, jwks, issuer, audience, client_id: clientId, scope } = minted;

      assert.ok(Array.isArray(jwks?.keys) && jwks.keys.length > 0, 'JWKS has keys');
      for (const jwk of jwks.keys) {
        const leaked = PRIVATE_JWK_MEMBERS.filter((member) => member in jwk);
        assert.deepEqual(leaked, [], `public JWKS key ${jwk.kid} has private members`);
      }

      const { payload, protectedHeader } = await jose.jwtVerify(
        token,
        jose.createLocalJWKSet(jwks),
        { issuer, audience, typ: 'at+jwt', algorithms: [alg] },
      );

      assert.equal(protectedHeader.alg, alg);
      assert.equal(protectedHeader.typ, 'at+jwt'); // RFC 9068 §2.1, exact spelling
      const kids = jwks.keys.map((jwk) => jwk.kid);
      assert.ok(kids.includes(protectedHeader.kid), `kid ${protectedHeader.kid} not in ${kids}`);

      // RFC 9068 §2.2: with no resource owner (client credentials), sub identifies the client.
      assert.equal(payload.client_id, clientId);
      assert.equal(payload.sub, clientId);
      assert.equal(payload.scope, scope);
      assert.equal(typeof payload.jti, 'string');
      assert.ok(payload.jti.length > 0, 'jti is non-empty');
      assert.ok(Number.isInteger(payload.iat) && Number.isInteger(payload.exp));
      assert.ok(payload.exp > payload.iat, `exp ${payload.exp} <= iat ${payload.iat}`);
    });
  }
});

describe('jose-signed client assertions are accepted by the core (RFC 7523)', () => {
  for (const alg of ALGS) {
    test(`${alg} private_key_jwt assertion signed by jose is accepted`, async () => {
      const clientId = `interop-client-${alg.toLowerCase()}`;
      const key = await clientKey(alg);
      const now = unixNow();
      const assertion = await signAssertion({ key, clientId, now });

      const result = checkAssertion({ assertion, jwks: { keys: [key.publicJwk] }, clientId, now });

      assertAccepted(result, clientId);
    });
  }
});

describe('malformed jose-signed client assertions are refused with invalid_client', () => {
  test('assertion with the token endpoint URL as audience is rejected', async () => {
    const { clientId, key, jwks, now } = await registeredClient('ES256');
    // draft-ietf-oauth-rfc7523bis: aud must be the issuer identifier, not the endpoint URL.
    const assertion = await signAssertion({ key, clientId, now, audience: TOKEN_ENDPOINT });

    assertInvalidClient(checkAssertion({ assertion, jwks, clientId, now }));
  });

  test('assertion signed by a key not in the client JWKS is rejected', async () => {
    const { clientId, key, jwks, now } = await registeredClient('ES256');
    const otherKey = await clientKey('ES256');

    // Same `kid` as the registered key: only the signature check can catch this one.
    const sameKid = await signAssertion({ key: otherKey, clientId, now, kid: key.kid });
    assertInvalidClient(checkAssertion({ assertion: sameKid, jwks, clientId, now }));

    // Its own `kid`, unknown to the client's key set.
    const ownKid = await signAssertion({ key: otherKey, clientId, now });
    assertInvalidClient(checkAssertion({ assertion: ownKid, jwks, clientId, now }));
  });

  test('assertion without jti is rejected', async () => {
    const { clientId, key, jwks, now } = await registeredClient('ES256');
    // OIDC Core §9 makes jti REQUIRED for private_key_jwt (RFC 7523 §3 leaves it optional):
    // without it the assertion cannot be made single-use.
    const assertion = await signAssertion({ key, clientId, now, jti: null });

    assertInvalidClient(checkAssertion({ assertion, jwks, clientId, now }));
  });
});

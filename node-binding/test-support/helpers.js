// Shared fixtures of the node --test suites in ../test/ (kept outside test/, where node --test
// would run every file). Everything goes through the published entry point `gatepass`.
import { randomUUID } from 'node:crypto';
import * as jose from 'jose';
import {
  AuthorizationServer,
  MemoryClientStore,
  MemoryReplayStore,
  generateClientSecret,
  generateSigningKey,
  hashClientSecret,
} from 'gatepass';

export const ISSUER = 'https://as.example';
export const API = 'https://api.example';
/** A fixed clock (2027-01-15): the tests do not depend on the machine's time. */
export const FIXED_NOW = 1_800_000_000;
export const TOKEN_URL = `${ISSUER}/oauth/token`;
export const JWKS_URL = `${ISSUER}/.well-known/jwks.json`;
export const METADATA_URL = `${ISSUER}/.well-known/oauth-authorization-server`;
export const REGISTER_URL = `${ISSUER}/oauth/register`;

/**
 * A server with one configured client per authentication method, registration protected by an
 * initial access token, and the secrets and keys the tests need.
 */
export async function makeFixture(options = {}) {
  const signingKey = generateSigningKey('ES256', 'as-2026');
  const secrets = {
    basic: generateClientSecret(),
    post: generateClientSecret(),
    jwt: generateClientSecret(),
    initialAccessToken: generateClientSecret(),
  };
  const clientKeys = await jose.generateKeyPair('ES256', { extractable: true });
  const clientJwk = { ...(await jose.exportJWK(clientKeys.publicKey)), kid: 'worker-1', alg: 'ES256' };
  const config = {
    issuer: ISSUER,
    signing_keys: [signingKey],
    default_audiences: [API],
    clients: [
      { client_id: 'billing', client_secret_hash: hashClientSecret(secrets.basic), scope: 'orders:read orders:write' },
      {
        client_id: 'reports',
        token_endpoint_auth_method: 'client_secret_post',
        client_secret_hash: hashClientSecret(secrets.post),
        scope: 'orders:read',
      },
      {
        client_id: 'hmac-worker',
        token_endpoint_auth_method: 'client_secret_jwt',
        client_secret: secrets.jwt,
        scope: 'orders:read',
      },
      {
        client_id: 'worker',
        token_endpoint_auth_method: 'private_key_jwt',
        jwks: { keys: [clientJwk] },
        scope: 'orders:read orders:write',
      },
    ],
    registration: {
      allowed_scope: 'orders:read orders:write',
      default_scope: 'orders:read',
      initial_access_token_hash: hashClientSecret(secrets.initialAccessToken),
    },
    ...(options.maxBodyBytes === undefined ? {} : { max_body_bytes: options.maxBodyBytes }),
    ...options.configOverrides,
  };
  // Per-client settings (token_ttl, audiences, claims, introspection, disabled) by client_id.
  for (const client of config.clients) Object.assign(client, options.clientSettings?.[client.client_id]);
  // The replay store must run on the server's clock (a key counts until its expiry by that clock).
  const now = options.realClock ? undefined : options.now ?? (() => FIXED_NOW);
  const errors = [];
  const clientStore = options.clientStore ?? new MemoryClientStore();
  const replayStore = options.replayStore ?? new MemoryReplayStore({ now });
  const server = new AuthorizationServer({
    config,
    clientStore,
    replayStore,
    now,
    onError: (e) => errors.push(e),
  });
  return { server, config, secrets, signingKey, clientKeys, clientJwk, clientStore, replayStore, errors, now };
}

/** A token request (RFC 6749 §4.4.2). */
export function tokenRequest(params, headers = {}) {
  return new Request(TOKEN_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(params).toString(),
  });
}

/** RFC 6749 §2.3.1: client id and secret are form-urlencoded before base64. */
export function basicAuth(clientId, secret) {
  const enc = (s) => encodeURIComponent(s).replace(/%20/g, '+');
  return `Basic ${btoa(`${enc(clientId)}:${enc(secret)}`)}`;
}

/** A private_key_jwt / client_secret_jwt assertion made by jose (RFC 7523 §3). */
export async function assertion(key, { clientId, alg, kid, now = FIXED_NOW, aud = ISSUER, typ = 'client-authentication+jwt', jti = randomUUID(), lifetime = 120 }) {
  const header = { alg, ...(kid ? { kid } : {}), ...(typ ? { typ } : {}) };
  return new jose.SignJWT({})
    .setProtectedHeader(header)
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(aud)
    .setIssuedAt(now)
    .setExpirationTime(now + lifetime)
    .setJti(jti)
    .sign(key);
}

export const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** The provider (Envoy format) for the fixture's server. */
export function providerFor(server) {
  return { issuer: ISSUER, audiences: [API], local_jwks: { inline_string: JSON.stringify(server.jwks()) } };
}

/** Registers a client through `handle` with the initial access token. */
export async function register(fx, metadata) {
  const response = await fx.server.handle(
    new Request(REGISTER_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${fx.secrets.initialAccessToken}` },
      body: JSON.stringify(metadata),
    }),
  );
  return { response, body: await response.json() };
}

/**
 * A private_key_jwt token request (ES256 assertion by the fixture's `worker`) answered 200;
 * returns the access token. The signature-step tests (webcrypto, nodecrypto) count the
 * runtime's operations around it.
 */
export async function tokenByAssertion(fx) {
  const a = await assertion(fx.clientKeys.privateKey, { clientId: 'worker', alg: 'ES256', kid: 'worker-1' });
  const response = await fx.server.handle(
    tokenRequest({ grant_type: 'client_credentials', client_assertion_type: ASSERTION_TYPE, client_assertion: a }),
  );
  if (response.status !== 200) throw new Error(`token request answered ${response.status}: ${await response.text()}`);
  return (await response.json()).access_token;
}

// Minting outside the token endpoint (`mintAccessToken`, `AuthorizationServer#mintAccessToken`):
// core builds the RFC 9068 token for a grant the host decided, WebCrypto (or wasm) signs it.

import { GatepassError } from './errors.js';
import { asGatepassError, checkNow, resolveNow, wasmCall } from './common.js';
import { systemNow } from './stores.js';

/**
 * @param {typeof import('../dist/wasm/gatepass_node.js')} wasm an initialized wasm-bindgen module
 * @param {ReturnType<typeof import('./webcrypto.js').createWebCrypto>} webcrypto
 */
export function createMint(wasm, webcrypto) {
  /** A memoized `kid -> private JWK` reader over a wasm Server (keys parsed once per kid). */
  function signingKeyReader(server) {
    const keys = new Map();
    return (kid) => {
      let jwk = keys.get(kid);
      if (jwk === undefined) {
        jwk = JSON.parse(server.signingKey(kid) ?? 'null');
        keys.set(kid, jwk);
      }
      return jwk;
    };
  }

  function stringList(value, name, splitSpaces) {
    if (value === undefined) return [];
    if (typeof value === 'string') return splitSpaces ? value.split(' ').filter((s) => s !== '') : [value];
    if (!Array.isArray(value) || value.some((s) => typeof s !== 'string')) {
      throw new GatepassError('invalid_request', `${name}: must be a string or an array of strings`);
    }
    return value;
  }

  /** mintAccessToken over a wasm Server: the core builds the token, WebCrypto (or wasm) signs. */
  async function mintOn(server, signingKeyOf, options, defaultNow) {
    if (options === null || typeof options !== 'object') {
      throw new GatepassError('invalid_request', 'options: must be an object with a clientId');
    }
    const { clientId, scope, audience, ttl, now } = options;
    if (typeof clientId !== 'string') throw new GatepassError('invalid_request', 'clientId: must be a string');
    const scopes = stringList(scope, 'scope', true);
    const audiences = stringList(audience, 'audience', false);
    if (ttl !== undefined && typeof ttl !== 'number') {
      throw new GatepassError('invalid_request', 'ttl: must be a number of seconds');
    }
    const at = now === undefined ? checkNow(defaultNow()) : resolveNow(now);
    const pending = wasmCall(() => server.mintForHost(clientId, scopes, audiences, ttl, at));
    try {
      const step = JSON.parse(pending.step());
      const signature = await webcrypto.sign(step.alg, signingKeyOf(step.kid), step.input);
      return JSON.parse(signature === undefined ? pending.signBuiltin() : pending.finish(signature));
    } catch (e) {
      throw asGatepassError(e);
    } finally {
      pending.free();
    }
  }

  // Standalone mintAccessToken: one wasm Server per (issuer, keys, active kid, ttl), kept for
  // the most recent few so repeated calls do not parse the keys again.
  const minters = new Map();
  const MAX_MINTERS = 16;

  function minterFor(options) {
    const { issuer, signingKey, signingKeys, activeKid } = options;
    if (typeof issuer !== 'string') throw new GatepassError('invalid_configuration', 'issuer: must be a string');
    const keys = signingKeys ?? (signingKey === undefined ? undefined : [signingKey]);
    if (!Array.isArray(keys)) {
      throw new GatepassError('invalid_configuration', 'signingKey: a private JWK (or signingKeys: an array) is required');
    }
    const config = { issuer, signing_keys: keys };
    if (activeKid !== undefined) config.active_kid = activeKid;
    const text = JSON.stringify(config);
    let minter = minters.get(text);
    if (minter === undefined) {
      const server = wasmCall(() => new wasm.Server(text));
      minter = { server, signingKeyOf: signingKeyReader(server) };
      if (minters.size >= MAX_MINTERS) {
        const oldest = minters.keys().next().value;
        minters.get(oldest)?.server.free();
        minters.delete(oldest);
      }
      minters.set(text, minter);
    }
    return minter;
  }

  /**
   * Mints an RFC 9068 access token outside the token endpoint, for hosts that authenticated the
   * client themselves: `{issuer, signingKey | signingKeys (+ activeKid), clientId, scope,
   * audience, ttl, now}`. Resolves to the RFC 6749 §5.1 token response object.
   */
  async function mintAccessToken(options) {
    if (options === null || typeof options !== 'object') {
      throw new GatepassError('invalid_request', 'options: must be an object');
    }
    // Without `default_audiences` in this configuration, core refuses a token without an
    // audience (invalid_target).
    const minter = minterFor(options);
    return mintOn(minter.server, minter.signingKeyOf, options, systemNow);
  }

  return { signingKeyReader, mintOn, mintAccessToken };
}

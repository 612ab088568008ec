// The runtime-independent package over an initialized wasm-bindgen module
// (dist/wasm/gatepass_node.js): `createGatepass` only assembles the modules, each a thin layer
// over the core: http.js (the authorization server's fetch-API adapter), verifier.js, mint.js,
// keys.js; stores.js and cloudflare.js hold the stores, signer.js the signature step (webcrypto.js,
// or nodecrypto.js in the Node entries).

import { createAuthorizationServer } from './http.js';
import { createKeys } from './keys.js';
import { createMint } from './mint.js';
import { createVerifier } from './verifier.js';
import { signer } from './signer.js';

/**
 * @param {typeof import('../dist/wasm/gatepass_node.js')} wasm the wasm-bindgen module; it may
 *   be initialized later, before the first call
 */
export function createGatepass(wasm) {
  // The signature step in place (signer.js: WebCrypto, or node:crypto in the Node entries).
  const webcrypto = signer;
  const mint = createMint(wasm, webcrypto);
  return {
    AuthorizationServer: createAuthorizationServer(wasm, webcrypto, mint),
    verifyAccessToken: createVerifier(wasm, webcrypto),
    mintAccessToken: mint.mintAccessToken,
    ...createKeys(wasm),
  };
}

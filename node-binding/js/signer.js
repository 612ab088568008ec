// The signature step the package uses: WebCrypto (webcrypto.js) unless an entry puts its
// runtime's own in place before the first call — the Node entries put `node:crypto` there
// (nodecrypto.js). Every module holds this one object, which calls whichever is in place.

import { createWebCrypto } from './webcrypto.js';

let current = createWebCrypto();

/** Puts `impl` (the interface of `createWebCrypto`) in place for every later call. */
export function useSigner(impl) {
  current = impl;
}

/** The name of the signature step in place (`webcrypto`, `node:crypto`). */
export function signerName() {
  return current.name ?? 'webcrypto';
}

/**
 * How many requests (`handle`, `verifyAccessToken`) are under way: a signature step may run
 * differently when it is the only one (nodecrypto.js: on the calling thread) than when others
 * wait (on Node's thread pool, in parallel).
 */
export const activity = { active: 0 };

/** Runs `fn` counted in `activity`. */
export async function tracked(fn) {
  activity.active++;
  try {
    return await fn();
  } finally {
    activity.active--;
  }
}

export const signer = {
  verify: (step) => current.verify(step),
  sign: (alg, jwk, input) => current.sign(alg, jwk, input),
  // RSA key generation (keys.js): `undefined` from the synchronous form where the runtime has
  // none (WebCrypto is asynchronous only).
  generateRsaSync: (bits) => current.generateRsaSync?.(bits),
  generateRsa: (bits) => current.generateRsa(bits),
};

/**
 * The one error class of the package. `code` is the protocol's code: `invalid_configuration`
 * for a configuration the core refuses, the RFC 6750 §3.1 code (`invalid_request`,
 * `invalid_token`, `insufficient_scope`) from `verifyAccessToken`, `invalid_request` for a bad
 * argument, `server_error` otherwise.
 */
export class GatepassError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{status?: number, wwwAuthenticate?: string, cause?: unknown}} [extra]
   */
  constructor(code, message, extra = {}) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.name = 'GatepassError';
    this.code = code;
    if (extra.status !== undefined) this.status = extra.status;
    if (extra.wwwAuthenticate !== undefined) this.wwwAuthenticate = extra.wwwAuthenticate;
  }
}

/**
 * A wasm-bindgen `JsError` from the glue carries `"<code>: <message>"` (node-binding/src/lib.rs).
 * @param {unknown} error
 * @returns {GatepassError}
 */
export function fromWasmError(error) {
  const text = error instanceof Error ? error.message : String(error);
  const match = /^([a-z_]+): ([\s\S]*)$/.exec(text);
  return match
    ? new GatepassError(match[1], match[2], { cause: error })
    : new GatepassError('server_error', text, { cause: error });
}

// Types of the npm package `gatepass` (every entry: node, require, workerd, deno, browser).

/** A JSON object (configuration, JWK, claims). */
export type JsonObject = { [name: string]: unknown };

/**
 * The one error class of the package.
 *
 * `code` is `invalid_configuration` (a configuration or provider the core refuses; the message
 * names the field), an RFC 6750 §3.1 code from {@link verifyAccessToken} (`invalid_request`,
 * `invalid_token`, `insufficient_scope`), `invalid_request` for a bad argument, or
 * `server_error`.
 */
export class GatepassError extends Error {
  constructor(code: string, message: string, extra?: { status?: number; wwwAuthenticate?: string; cause?: unknown });
  readonly name: 'GatepassError';
  readonly code: string;
  /** HTTP status to answer with (verifyAccessToken: 400, 401 or 403). */
  readonly status?: number;
  /** `WWW-Authenticate` value to answer with (verifyAccessToken). */
  readonly wwwAuthenticate?: string;
}

/**
 * Where client records live. Records are opaque JSON strings made by the server (registration,
 * RFC 7592 updates); store and return them unchanged. `get` resolves to `undefined` (or `null`)
 * for an unknown client. A record carries the issuer that registered it; a server refuses any
 * other issuer's record, and cuts a record's scopes and audiences to its current policy at
 * every load.
 *
 * `clientId` is always 1 to 255 visible ASCII characters (other ids from the wire are answered
 * without a store call), but otherwise untrusted: it may hold `/`, `.`, `%` or spaces, so encode
 * it before building a path or URL from it.
 */
export interface ClientStore {
  get(clientId: string): Promise<string | undefined | null>;
  put(clientId: string, record: string): Promise<void>;
  delete(clientId: string): Promise<void>;
}

/**
 * Where the `jti`s of client assertions (client_secret_jwt, private_key_jwt) are recorded.
 *
 * Contract: `insertIfAbsent` resolves `true` when `key` was absent (or only present with an
 * expiry in the past) and is now recorded until `expiresAt` (Unix seconds), `false` when it was
 * already present. The check and the insert must be one atomic step for everything that shares
 * the store — the "accepted at most once" guarantee is exactly the store's. A rejection refuses
 * the request (503 `temporarily_unavailable`).
 */
export interface ReplayStore {
  insertIfAbsent(key: string, expiresAt: number): Promise<boolean>;
}

/** In-memory client records: tests, demos, single-process servers. */
export class MemoryClientStore implements ClientStore {
  get(clientId: string): Promise<string | undefined>;
  put(clientId: string, record: string): Promise<void>;
  delete(clientId: string): Promise<void>;
  readonly size: number;
}

/**
 * In-memory replay keys. Atomic within one JavaScript realm (one Node process, one Worker
 * isolate) only. Expired keys are dropped.
 */
export class MemoryReplayStore implements ReplayStore {
  constructor(options?: { now?: () => number });
  insertIfAbsent(key: string, expiresAt: number): Promise<boolean>;
  readonly size: number;
}

/** The parts of a Workers KV namespace binding that {@link KVClientStore} uses. */
export interface KVNamespaceLike {
  get(key: string): Promise<string | null>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
}

/**
 * Client records in Workers KV under `prefix + clientId` (default prefix `gatepass:client:`).
 * Eventually consistent (a change can take about 60 s to reach other locations): fine for
 * client records, not for replay keys. Servers of different issuers sharing a namespace do not
 * accept each other's records, but give each issuer its own `prefix` to keep their ids apart.
 */
export class KVClientStore implements ClientStore {
  constructor(kv: KVNamespaceLike, options?: { prefix?: string });
  get(clientId: string): Promise<string | undefined>;
  put(clientId: string, record: string): Promise<void>;
  delete(clientId: string): Promise<void>;
}

/** The parts of a node-redis client (`redis` 4 to 6: `createClient`, `createCluster`, `createSentinel`) the Redis stores use. */
export interface RedisClientLike {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options?: { NX?: boolean; PXAT?: number }): Promise<string | null>;
  del(key: string): Promise<number>;
}

/**
 * Client records in Redis under `prefix + clientId` (default prefix `gatepass:client:`): every
 * server process using the same Redis sees a client registered, updated or deleted by any of
 * them. The application creates, connects and closes the client.
 */
export class RedisClientStore implements ClientStore {
  constructor(client: Pick<RedisClientLike, 'get' | 'set' | 'del'>, options?: { prefix?: string });
  get(clientId: string): Promise<string | undefined>;
  put(clientId: string, record: string): Promise<void>;
  delete(clientId: string): Promise<void>;
}

/**
 * Replay keys in Redis under `prefix + key` (default prefix `gatepass:replay:`), inserted with
 * `SET key 1 NX PXAT`: atomic insert-if-absent across every server using the same Redis primary.
 * Redis replication is asynchronous: a failover can lose the last keys (see the README).
 */
export class RedisReplayStore implements ReplayStore {
  constructor(client: Pick<RedisClientLike, 'set'>, options?: { prefix?: string });
  insertIfAbsent(key: string, expiresAt: number): Promise<boolean>;
}

/** The parts of a Durable Object namespace binding that {@link DurableObjectReplayStore} uses. */
export interface DurableObjectNamespaceLike {
  idFromName(name: string): unknown;
  get(id: any): { fetch(input: string, init?: RequestInit): Promise<Response> };
}

/**
 * Replay keys in Durable Objects of the {@link ReplayGuard} class: atomic insert-if-absent
 * across every Worker using the namespace. Keys are spread over `shards` objects (default 16).
 */
export class DurableObjectReplayStore implements ReplayStore {
  constructor(namespace: DurableObjectNamespaceLike, options?: { shards?: number; name?: string });
  insertIfAbsent(key: string, expiresAt: number): Promise<boolean>;
}

/**
 * The Durable Object class behind {@link DurableObjectReplayStore}: export it from the Worker's
 * main module and bind a Durable Object namespace to it.
 */
export class ReplayGuard {
  constructor(state: any, env?: unknown);
  fetch(request: Request): Promise<Response>;
  insertIfAbsent(key: string, expiresAt: number): Promise<boolean>;
  alarm(): Promise<void>;
}

/** A client entry of the configuration (README "Configuration (authorization server)"). */
export interface ClientConfig {
  client_id: string;
  token_endpoint_auth_method?: 'client_secret_basic' | 'client_secret_post' | 'client_secret_jwt' | 'private_key_jwt';
  /** `sha256:<base64url>` from {@link hashClientSecret} (basic, post). */
  client_secret_hash?: string;
  /** client_secret_jwt only: the HMAC key itself. */
  client_secret?: string;
  /** private_key_jwt: the client's public JWKS. */
  jwks?: { keys: JsonObject[] };
  token_endpoint_auth_signing_alg?: string;
  grant_types?: string[];
  scope?: string;
  /** The audiences this client may get (asked for with `resource` or `audience`). */
  audiences?: string[];
  client_secret_expires_at?: number;
  /** This client's token lifetime, e.g. `"600s"` (at most `max_token_ttl`). */
  token_ttl?: string | number;
  /** Static claims added to its tokens; never a registered claim name (`iss`, `sub`, `aud`, `scope`, ...). */
  claims?: JsonObject;
  /** `true`: the client gets `invalid_client`, as for a wrong secret (its record is kept). */
  disabled?: boolean;
  /** `true`: the client may call the RFC 7662 introspection endpoint. */
  introspection?: boolean;
  [name: string]: unknown;
}

/** The authorization-server configuration (README "Configuration (authorization server)"). */
export interface ServerConfig {
  /** Issuer identifier: https URL (http only for loopback), no trailing slash, query or fragment. */
  issuer: string;
  /** Private signing JWKs (from {@link generateSigningKey}). */
  signing_keys: JsonObject[];
  /** `kid` of the key that signs (default: the first); the others are only published. */
  active_kid?: string;
  clients?: ClientConfig[];
  default_audiences?: string[];
  /** Access token lifetime, e.g. `"3600s"` (default; at most 24 h). */
  token_ttl?: string;
  /** The longest `token_ttl` a client may set (default: `token_ttl`; at most 24 h). */
  max_token_ttl?: string;
  /** A token request must name its audience with `resource` or `audience` (default false). */
  require_audience?: boolean;
  path?: string;
  /** RFC 7662 introspection (default `/oauth/introspect`). */
  introspection_path?: string;
  jwks_path?: string;
  metadata_path?: string;
  registration_path?: string;
  /**
   * RFC 7591 registration and RFC 7592 client management. Absent: both off, and no client from
   * the client store is accepted. Registered clients are cut to the current `allowed_scope` and
   * `default_audiences` every time they are loaded.
   */
  registration?: {
    /**
     * `false` stops registration and RFC 7592 management (404) but keeps serving the clients
     * already registered (default true).
     */
    enabled?: boolean;
    /** Scopes a registered client may hold (space-separated). */
    allowed_scope?: string;
    /** Scopes of a client that asks for none (space-separated, within `allowed_scope`). */
    default_scope?: string;
    /** `sha256:` hash of the initial access token required to register. */
    initial_access_token_hash?: string;
    /**
     * `true` serves registration without an initial access token: anyone who can reach the
     * endpoint can register clients. Required (and only allowed) when
     * `initial_access_token_hash` is absent and registration is enabled.
     */
    open_registration?: boolean;
    client_secret_ttl?: string;
    /** Static claim names a registering client may set (default none). */
    allowed_claims?: string[];
    /** A registered client may disable itself through RFC 7592 (default false). */
    clients_may_disable?: boolean;
  };
  /** Longest client assertion `exp - iat` (or `exp - now` without `iat`), e.g. `"600s"` (default and largest `"3600s"`). */
  assertion_max_lifetime?: string;
  /** Leeway for assertion times, seconds (default 60, at most 600). */
  clock_skew_seconds?: number;
  /** Also accept the token endpoint URL or an array as assertion `aud` (default false). */
  allow_legacy_assertion_audience?: boolean;
  /**
   * Accept only assertions typed `client-authentication+jwt` (draft-ietf-oauth-rfc7523bis); by
   * default `typ` may also be absent or `JWT` (default false).
   */
  require_explicit_assertion_typ?: boolean;
}

export interface AuthorizationServerOptions {
  /** The configuration, as an object or JSON text. Checked once, here. */
  config: ServerConfig | string;
  /** Registered clients (default: a new {@link MemoryClientStore}). Configured clients are looked up first. */
  clientStore?: ClientStore;
  /** Assertion `jti`s (default: a new {@link MemoryReplayStore} on the server's clock). */
  replayStore?: ReplayStore;
  /** The clock, Unix seconds (default `Math.floor(Date.now() / 1000)`). */
  now?: () => number;
  /**
   * Longest wait for any client store or replay store call, in milliseconds (a positive
   * integer, at most 2147483647; default: no limit). A call still pending then fails the
   * request with 503 `temporarily_unavailable` and `Retry-After`, like a store that throws;
   * `onError` gets a `GatepassError` (`temporarily_unavailable`) naming the call, and
   * `counters.storeTimeouts` goes up.
   */
  storeTimeoutMs?: number;
  /**
   * Called with the error behind every 500 and 503 answer (default: `console.error`). May return
   * a promise. A throw or a rejection is counted in `counters.errorCallbackFailures` and
   * otherwise ignored.
   */
  onError?: (error: unknown) => unknown;
}

/** Failure counters of an {@link AuthorizationServer} since it was made. */
export interface ServerCounters {
  /** Calls of `onError` that threw or whose promise rejected. */
  readonly errorCallbackFailures: number;
  /** Store calls that did not settle within `storeTimeoutMs`. */
  readonly storeTimeouts: number;
  /** Store calls that threw or rejected (answered 503 `temporarily_unavailable`). */
  readonly storeErrors: number;
}

/**
 * A client-credentials authorization server for fetch-API runtimes.
 * @throws {GatepassError} `invalid_configuration`, naming the field, for a bad configuration.
 */
export class AuthorizationServer {
  constructor(options: AuthorizationServerOptions);
  readonly clientStore: ClientStore;
  readonly replayStore: ReplayStore;
  /** The issuer identifier. */
  readonly issuer: string;
  /** The public JWKS the server publishes. */
  jwks(): { keys: JsonObject[] };
  /** The RFC 8414 metadata document. */
  metadata(): JsonObject;
  /** A frozen snapshot of the failure counters (a new object on every read). */
  readonly counters: ServerCounters;
  /**
   * Serves the token endpoint (POST), JWKS and metadata (GET/HEAD), registration (POST, RFC
   * 7591) and client configuration (GET/PUT/DELETE, RFC 7592; 404 when the decoded client id is
   * not 1 to 255 visible ASCII); 404 for other paths, 405 for other methods, 413 for bodies over
   * `config.max_body_bytes`. Never rejects: a store that throws, rejects or times out answers 503
   * `temporarily_unavailable` with `Retry-After`, any other failure 500 `server_error`.
   */
  handle(request: Request): Promise<Response>;
  /**
   * Mints an RFC 9068 access token with this server's active key, on its clock, for a client
   * the caller authenticated by other means. No client authentication and no client limits
   * apply: the caller answers for them. `audience` defaults to `default_audiences`.
   * @throws {GatepassError} `invalid_request`, `invalid_scope` or `invalid_target`.
   */
  mintAccessToken(options: MintOptions): Promise<TokenResponse>;
  /**
   * Changes the operator's settings of a client in `clientStore` (a registered client; configured
   * clients are changed in the configuration). Resolves to false when the store has no such
   * client.
   * @throws {GatepassError} `invalid_client_change` naming the field (a registered claim name,
   * a `tokenTtl` over `max_token_ttl`); `StoreUnavailable` when the store fails.
   */
  updateClient(clientId: string, changes: ClientChanges): Promise<boolean>;
  /** Releases the wasm memory now instead of at garbage collection. */
  free(): void;
}

/** The settings only the operator changes on a registered client (README, "Client settings"). */
export interface ClientChanges {
  /** A disabled client gets `invalid_client`, as for a wrong secret; `false` enables it again. */
  disabled?: boolean;
  /** May call the introspection endpoint (RFC 7662). */
  introspection?: boolean;
  /** Replaces the static claims added to its tokens (`{}` removes them); never a registered name. */
  claims?: JsonObject;
  /** Its access token lifetime, seconds (at most the server's `max_token_ttl`). */
  tokenTtl?: number;
}

/** What a token minted outside the token endpoint says. */
export interface MintOptions {
  /** `sub` and `client_id`: 1 to 255 visible ASCII characters. */
  clientId: string;
  /** Scopes (RFC 6749 §3.3 scope-tokens): an array, or a space-separated string. */
  scope?: string[] | string;
  /** `aud`: one or more audiences (a string when there is one). */
  audience?: string[] | string;
  /** Lifetime in seconds, 1 to 86400 (default: the configuration's `token_ttl`, 3600). */
  ttl?: number;
  /** Unix seconds, or a clock (default: the server's clock, or now). */
  now?: number | (() => number);
}

/** The RFC 6749 §5.1 token response. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  scope?: string;
}

/** {@link mintAccessToken} without a server: the issuer and the signing key(s) come along. */
export interface StandaloneMintOptions extends MintOptions {
  /** `iss`: https URL (http only for loopback). */
  issuer: string;
  /** The private signing JWK (from {@link generateSigningKey}). */
  signingKey?: JsonObject;
  /** Several private JWKs; `activeKid` names the one that signs (default: the first). */
  signingKeys?: JsonObject[];
  activeKid?: string;
  audience: string[] | string;
}

/**
 * A resource server's view of one issuer: the Envoy filter's provider format, with keys inline.
 * See the README "Provider".
 */
export interface Provider {
  issuer: string;
  audiences?: string[];
  local_jwks: { inline_string: string };
  clock_skew_seconds?: number;
  max_lifetime?: string;
  /** Required `typ` (default `at+jwt`; `""` accepts any). */
  require_typ?: string;
  /** Accepted algorithms (default: all asymmetric). */
  algorithms?: string[];
  /**
   * The claims that carry the granted scopes, in order; the first one the token has is read
   * (default `["scope"]`; for example `["scope", "scp", "permissions"]`). `scope` is a
   * space-delimited string; any other a string of that form or an array of strings.
   */
  scope_claims?: string[];
  [name: string]: unknown;
}

export interface VerifyOptions {
  /** Scopes the token must carry (array, or a space-separated string). */
  scopes?: string[] | string;
  /**
   * Claim values the token must carry, as a gateway rule's `requires.claims`: each claim equal
   * to its value, or an array holding it (`{ tenant: 'acme', groups: 'billing' }`). Otherwise
   * 403 `insufficient_scope`.
   */
  claims?: Record<string, string>;
  /** Unix seconds, or a clock (default: now). */
  now?: number | (() => number);
  /** Realm of the `WWW-Authenticate` challenge (default `gatepass`). */
  realm?: string;
}

/** Claims of a verified access token (RFC 9068). */
export interface AccessTokenClaims extends JsonObject {
  iss: string;
  sub: string;
  aud: string | string[];
  exp: number;
  iat?: number;
  jti?: string;
  client_id?: string;
  scope?: string;
}

/**
 * Verifies an access token (the compact JWS, without `Bearer `) for `provider`, and the scopes
 * required. The provider is read on every call (a changed object takes effect at once) and
 * parsed once per content (the last 64 are kept, keyed by their JSON text).
 * Rejects with a GatepassError whose `code` is the RFC 6750 code, with `status` and
 * `wwwAuthenticate` to answer with; `invalid_configuration` for a bad provider.
 */
export function verifyAccessToken(token: string, provider: Provider | string, options?: VerifyOptions): Promise<AccessTokenClaims>;

/**
 * Mints an RFC 9068 access token (`typ: at+jwt`; iss, sub, aud, exp, iat, jti, client_id,
 * scope) for a client the caller authenticated by other means — the same format, rules and
 * signing path (WebCrypto, else wasm) as the token endpoint. Resolves to the RFC 6749 §5.1
 * response object.
 * @throws {GatepassError} `invalid_configuration` (issuer, keys), `invalid_request`,
 * `invalid_scope`, `invalid_target`.
 */
export function mintAccessToken(options: StandaloneMintOptions): Promise<TokenResponse>;

/**
 * A new private signing JWK (`EdDSA`, `ES256`, `ES384`, `ES512`, `RS256`, `PS256`, ...); `kid`
 * defaults to the RFC 7638 thumbprint. RSA keys (2048 bits) are made by the runtime's crypto,
 * which only Node offers synchronously: in Workers, Deno and browsers use
 * {@link generateSigningKeyAsync} for them.
 * @throws {GatepassError} `invalid_request` (alg, kid; an RSA algorithm outside Node).
 */
export function generateSigningKey(alg: string, kid?: string): JsonObject;

/** {@link generateSigningKey} for every algorithm in every runtime (RSA keys off the main thread). */
export function generateSigningKeyAsync(alg: string, kid?: string): Promise<JsonObject>;

/** The public JWKS of private JWKs (one JWK, an array, or `{keys: [...]}`). */
export function publicJwks(privateJwks: JsonObject | JsonObject[] | string): { keys: JsonObject[] };

/** The stored form (`sha256:<base64url>`) of a client secret, for `client_secret_hash`. */
export function hashClientSecret(secret: string): string;

/** A new 256-bit client secret (base64url). */
export function generateClientSecret(): string;

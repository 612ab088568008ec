// Stores for Cloudflare Workers. Plain classes with no `cloudflare:` imports, so this file loads
// in every runtime; the objects they take (a KV namespace, a Durable Object namespace) only
// exist in Workers.

/**
 * Client records in Workers KV under `prefix + clientId`.
 *
 * Guarantee: KV is eventually consistent. A write is visible at once in the location that made
 * it and elsewhere within about 60 seconds; a deleted or updated client may still be seen in
 * its old form for that long in other locations. That suits client records (written rarely,
 * read on every token request) but not replay keys: use `DurableObjectReplayStore` for those.
 */
export class KVClientStore {
  #kv;
  #prefix;

  /**
   * @param {{get(key: string): Promise<string|null>, put(key: string, value: string): Promise<void>, delete(key: string): Promise<void>}} kv
   * @param {{prefix?: string}} [options]
   */
  constructor(kv, options = {}) {
    if (!kv || typeof kv.get !== 'function') throw new TypeError('KVClientStore: a KV namespace binding is required');
    this.#kv = kv;
    this.#prefix = options.prefix ?? 'gatepass:client:';
  }

  /** @param {string} id */
  async get(id) {
    const value = await this.#kv.get(this.#prefix + id);
    return value ?? undefined;
  }

  /** @param {string} id @param {string} record */
  async put(id, record) {
    await this.#kv.put(this.#prefix + id, record);
  }

  /** @param {string} id */
  async delete(id) {
    await this.#kv.delete(this.#prefix + id);
  }
}

/** FNV-1a, 32 bit: spreads replay keys over the shards. */
function shardOf(key, shards) {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % shards;
}

const GUARD_URL = 'https://replay-guard.gatepass/insert';

/**
 * The replay store over a Durable Object namespace bound to the `ReplayGuard` class.
 *
 * Guarantee: atomic insert-if-absent across every Worker, in every location, that uses the same
 * namespace — each key lives in exactly one Durable Object, which runs one event at a time and
 * checks and writes the key with no other event in between (Durable Object input gates). So an
 * assertion is accepted at most once for as long as it is valid. Keys are spread over `shards`
 * objects (default 16) named `${name}:${n}`.
 */
export class DurableObjectReplayStore {
  #namespace;
  #shards;
  #name;

  /**
   * @param {{idFromName(name: string): unknown, get(id: unknown): {fetch(input: string, init?: RequestInit): Promise<Response>}}} namespace
   * @param {{shards?: number, name?: string}} [options]
   */
  constructor(namespace, options = {}) {
    if (!namespace || typeof namespace.idFromName !== 'function') {
      throw new TypeError('DurableObjectReplayStore: a Durable Object namespace binding is required');
    }
    const shards = options.shards ?? 16;
    if (!Number.isInteger(shards) || shards < 1) throw new TypeError('DurableObjectReplayStore: shards must be a positive integer');
    this.#namespace = namespace;
    this.#shards = shards;
    this.#name = options.name ?? 'gatepass-replay';
  }

  /** @param {string} key @param {number} expiresAt */
  async insertIfAbsent(key, expiresAt) {
    const id = this.#namespace.idFromName(`${this.#name}:${shardOf(key, this.#shards)}`);
    const response = await this.#namespace.get(id).fetch(GUARD_URL, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ key, expiresAt }),
    });
    if (!response.ok) throw new Error(`ReplayGuard answered ${response.status}`);
    const answer = await response.json();
    if (typeof answer?.fresh !== 'boolean') throw new Error('ReplayGuard gave no answer');
    return answer.fresh;
  }
}

const KEY_PREFIX = 'k:';
const DELETE_BATCH = 128; // storage.delete takes at most 128 keys

/**
 * The Durable Object class behind `DurableObjectReplayStore`. Export it from the Worker's main
 * module and bind a namespace to it (see the package README). It keeps each key with its
 * expiry in the object's storage: a key is present until `expiresAt` (inclusive, the object's
 * clock); an alarm deletes expired keys, and an expired key found before the alarm ran counts
 * as absent.
 */
export class ReplayGuard {
  /** @param {{storage: any}} state @param {unknown} [env] */
  constructor(state, env) {
    this.state = state;
    this.env = env;
  }

  /** @param {Request} request */
  async fetch(request) {
    const url = new URL(request.url);
    if (url.pathname !== '/insert') return new Response(null, { status: 404 });
    if (request.method !== 'POST') return new Response(null, { status: 405, headers: { allow: 'POST' } });
    let body;
    try {
      body = await request.json();
    } catch {
      return new Response(null, { status: 400 });
    }
    const { key, expiresAt } = body ?? {};
    if (typeof key !== 'string' || key.length === 0 || key.length > 512 || !Number.isFinite(expiresAt)) {
      return new Response(null, { status: 400 });
    }
    const fresh = await this.insertIfAbsent(key, expiresAt);
    return new Response(JSON.stringify({ fresh }), { headers: { 'content-type': 'application/json' } });
  }

  /**
   * Insert-if-absent. Between the read and the write only storage calls are awaited, and
   * input gates deliver no other event to this object meanwhile: the pair is atomic.
   * @param {string} key @param {number} expiresAt
   */
  async insertIfAbsent(key, expiresAt) {
    const storage = this.state.storage;
    const now = Math.floor(Date.now() / 1000);
    const seen = await storage.get(KEY_PREFIX + key);
    if (seen !== undefined && now <= seen) return false;
    await storage.put(KEY_PREFIX + key, expiresAt);
    const at = (expiresAt + 1) * 1000;
    const alarm = await storage.getAlarm();
    if (alarm === null || alarm > at) await storage.setAlarm(at);
    return true;
  }

  /** Deletes expired keys and schedules the next sweep. */
  async alarm() {
    const storage = this.state.storage;
    const now = Math.floor(Date.now() / 1000);
    const entries = await storage.list({ prefix: KEY_PREFIX });
    const expired = [];
    let next = null;
    for (const [k, exp] of entries) {
      if (now > exp) expired.push(k);
      else if (next === null || exp < next) next = exp;
    }
    for (let i = 0; i < expired.length; i += DELETE_BATCH) {
      await storage.delete(expired.slice(i, i + DELETE_BATCH));
    }
    if (next !== null) await storage.setAlarm((next + 1) * 1000);
  }
}

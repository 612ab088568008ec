/**
 * Client records and replay keys in Redis, shared by every server process that uses the same
 * Redis (and prefix): the stores for running many Node (or Deno) servers. They take a connected
 * client of the official `redis` package (node-redis 4 to 6: `createClient()`, `createCluster()`
 * or `createSentinel()`), which the application creates, connects and closes; this module does
 * not import it.
 *
 * Guarantees (README, "Stores"): one Redis primary runs each command alone, so
 * `SET key value NX PXAT ms` is an atomic insert-if-absent. Redis replicates asynchronously: a
 * failover can lose the last writes the old primary acknowledged, and with them replay keys, so
 * an assertion recorded just before a failover could be accepted once more after it. A Redis
 * restarted from its append-only file keeps every key it acknowledged when `appendfsync always`
 * is set (`everysec`: up to a second of keys can be lost on a crash; without persistence, all).
 */

const DEFAULT_CLIENT_PREFIX = 'gatepass:client:';
const DEFAULT_REPLAY_PREFIX = 'gatepass:replay:';

/**
 * @param {unknown} client
 * @param {string[]} methods
 * @param {string} what
 */
function checkClient(client, methods, what) {
  if (client === null || typeof client !== 'object') {
    throw new TypeError(`${what}: the first argument must be a connected client of the redis package`);
  }
  for (const m of methods) {
    if (typeof client[m] !== 'function') {
      throw new TypeError(`${what}: the client has no ${m}() (a client of the redis package, version 4 to 6)`);
    }
  }
  return client;
}

/** @param {{prefix?: string} | undefined | null} options @param {string} fallback @param {string} what */
function checkPrefix(options, fallback, what) {
  if (options === undefined || options === null || options.prefix === undefined) return fallback;
  if (typeof options.prefix !== 'string') throw new TypeError(`${what}: options.prefix must be a string`);
  return options.prefix;
}

/**
 * Client records (registered clients, RFC 7591/7592) as Redis strings under `prefix + clientId`:
 * `GET`, `SET`, `DEL`. A record is the opaque JSON string the server hands out.
 */
export class RedisClientStore {
  #client;
  #prefix;

  /** @param {object} client a connected node-redis client @param {{prefix?: string}} [options] */
  constructor(client, options) {
    this.#client = checkClient(client, ['get', 'set', 'del'], 'RedisClientStore');
    this.#prefix = checkPrefix(options, DEFAULT_CLIENT_PREFIX, 'RedisClientStore');
  }

  /** @param {string} id */
  async get(id) {
    const record = await this.#client.get(this.#prefix + id);
    return record === null ? undefined : record;
  }

  /** @param {string} id @param {string} record */
  async put(id, record) {
    if (typeof record !== 'string') throw new TypeError('RedisClientStore.put: record must be a string');
    await this.#client.set(this.#prefix + id, record);
  }

  /** @param {string} id */
  async delete(id) {
    await this.#client.del(this.#prefix + id);
  }
}

/**
 * Replay keys as Redis strings under `prefix + key`, inserted with `SET key 1 NX PXAT ms`: Redis
 * sets the key only if it is absent, and drops it when it expires. The key counts as present
 * through the whole second `expiresAt` (as {@link MemoryReplayStore}), so it expires at
 * `(expiresAt + 1) * 1000` ms by Redis's clock.
 */
export class RedisReplayStore {
  #client;
  #prefix;

  /** @param {object} client a connected node-redis client @param {{prefix?: string}} [options] */
  constructor(client, options) {
    this.#client = checkClient(client, ['set'], 'RedisReplayStore');
    this.#prefix = checkPrefix(options, DEFAULT_REPLAY_PREFIX, 'RedisReplayStore');
  }

  /** @param {string} key @param {number} expiresAt Unix seconds */
  async insertIfAbsent(key, expiresAt) {
    if (!Number.isSafeInteger(expiresAt) || expiresAt < 0) {
      throw new TypeError('RedisReplayStore.insertIfAbsent: expiresAt must be Unix seconds');
    }
    // The option names every node-redis version from 4 to 6 reads (6 also has `condition` and
    // `expiration`, 4 only these).
    const answer = await this.#client.set(this.#prefix + key, '1', { NX: true, PXAT: (expiresAt + 1) * 1000 });
    return answer === 'OK';
  }
}

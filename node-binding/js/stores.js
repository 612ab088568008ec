/** Unix time in seconds: the default clock everywhere in the package. */
export function systemNow() {
  return Math.floor(Date.now() / 1000);
}

/**
 * Client records in a `Map`: for tests, demos and single-process servers. Records are the
 * opaque JSON strings the server hands out; the store never looks inside them.
 */
export class MemoryClientStore {
  #records = new Map();

  /** @param {string} id */
  async get(id) {
    return this.#records.get(id);
  }

  /** @param {string} id @param {string} record */
  async put(id, record) {
    if (typeof record !== 'string') throw new TypeError('MemoryClientStore.put: record must be a string');
    this.#records.set(id, record);
  }

  /** @param {string} id */
  async delete(id) {
    this.#records.delete(id);
  }

  /** Number of stored records. */
  get size() {
    return this.#records.size;
  }
}

/**
 * Replay keys in a `Map` with their expiry. `insertIfAbsent` checks and inserts in one
 * synchronous step, so it is atomic for everything in this JavaScript realm (one Node process,
 * one Worker isolate) — and only there. A key counts as present until its `expiresAt` (Unix
 * seconds, inclusive) by this store's clock; expired keys are swept as the map grows.
 */
export class MemoryReplayStore {
  #entries = new Map();
  #now;
  #sweepAt = 1024;

  /** @param {{now?: () => number}} [options] */
  constructor(options = {}) {
    this.#now = options.now ?? systemNow;
  }

  /** @param {string} key @param {number} expiresAt */
  async insertIfAbsent(key, expiresAt) {
    const now = this.#now();
    const seen = this.#entries.get(key);
    if (seen !== undefined && now <= seen) return false;
    this.#entries.set(key, expiresAt);
    if (this.#entries.size >= this.#sweepAt) {
      for (const [k, exp] of this.#entries) if (now > exp) this.#entries.delete(k);
      this.#sweepAt = Math.max(1024, 2 * this.#entries.size);
    }
    return true;
  }

  /** Number of keys held (expired ones not yet swept included). */
  get size() {
    return this.#entries.size;
  }
}

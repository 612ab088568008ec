// A real redis-server on loopback for the Node fleet test and the store benchmark (Debian's
// redis-server, installed by node-binding/test.sh): its own port and data directory, an
// append-only file synced on every write (the package README's setting), started and stopped
// by PID.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './packed.js';

export const REDIS_SERVER = '/usr/bin/redis-server';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class RedisServer {
  /** A server on a free port with a new data directory (not started). */
  static async create() {
    if (spawnSync(REDIS_SERVER, ['--version']).status !== 0) {
      throw new Error(`${REDIS_SERVER} missing: run bash scripts/install-deb.sh redis-server`);
    }
    return new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), 'gatepass-redis-')));
  }

  constructor(port, dir) {
    this.port = port;
    this.dir = dir;
    this.proc = null;
    this.extraArgs = [];
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start() {
    this.proc = spawn(
      REDIS_SERVER,
      ['--bind', '127.0.0.1', '--port', String(this.port), '--dir', this.dir, '--save', '',
       '--appendonly', 'yes', '--appendfsync', 'always', '--protected-mode', 'no', ...this.extraArgs],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    for (let i = 0; i < 100; i++) {
      if (spawnSync('redis-cli', ['-p', String(this.port), 'ping'], { encoding: 'utf8' }).stdout.trim() === 'PONG') return this;
      await sleep(50);
    }
    throw new Error('redis-server did not start');
  }

  /** SIGTERM: Redis flushes its append-only file and exits. */
  async stop() {
    if (!this.proc) return;
    const exited = new Promise((resolve) => this.proc.once('exit', resolve));
    this.proc.kill('SIGTERM');
    await exited;
    this.proc = null;
  }

  /** Stops it and removes its data. */
  async destroy() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A Redis Cluster of `size` primaries on loopback (no replicas), each a RedisServer started with
 * `--cluster-enabled yes`, joined with `redis-cli --cluster create`.
 */
export class RedisCluster {
  static async start(size = 3) {
    const nodes = [];
    for (let i = 0; i < size; i++) nodes.push(await RedisServer.create());
    for (const node of nodes) {
      node.extraArgs = ['--cluster-enabled', 'yes', '--cluster-config-file', join(node.dir, 'nodes.conf')];
      await node.start();
    }
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8' },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    for (let i = 0; i < 100; i++) {
      const info = spawnSync('redis-cli', ['-p', String(nodes[0].port), 'cluster', 'info'], { encoding: 'utf8' }).stdout;
      if (info.includes('cluster_state:ok')) return new RedisCluster(nodes);
      await sleep(100);
    }
    throw new Error('the Redis Cluster did not reach cluster_state:ok');
  }

  constructor(nodes) {
    this.nodes = nodes;
  }

  get rootNodes() {
    return this.nodes.map((n) => ({ url: n.url }));
  }

  async destroy() {
    for (const n of this.nodes) await n.destroy();
  }
}

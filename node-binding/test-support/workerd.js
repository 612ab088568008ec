// workerd (npm `workerd`, the Cloudflare Workers runtime) for the tests: a Worker importing the
// packed package's `workerd` entry as the bare module `gatepass`, with the wasm embedded as a
// Wasm module, served on loopback. Used by ../test/workerd.test.js and
// ../test/workerd-hardening.test.js.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { PACKAGE_DIR, freePort, packedProject } from './packed.js';

const WORKERD = join(PACKAGE_DIR, 'node_modules', '.bin', 'workerd');

/** The modules reachable from `entry` by relative imports, as workerd module definitions. */
function moduleGraph(root, entry) {
  const seen = new Map();
  const visit = (name) => {
    if (seen.has(name)) return;
    const isWasm = name.endsWith('.wasm');
    seen.set(name, isWasm ? 'wasm' : 'esModule');
    if (isWasm) return;
    const source = readFileSync(join(root, name), 'utf8');
    // Single or double quotes (the package's own modules use single, jose's double).
    for (const m of source.matchAll(/^(?:import|export)\b[^'"]*?from\s+(['"])(\.[^'"]+)\1/gm)) {
      visit(posix.normalize(posix.join(posix.dirname(name), m[2])));
    }
  };
  visit(entry);
  return [...seen];
}

const capnpString = (s) => JSON.stringify(s); // JSON string escapes are valid Cap'n Proto text

/**
 * Packs the package into a fresh project and serves `worker` (the source of `worker.js`) there.
 *
 * @param {{worker: string, files?: Record<string, string>, bindings?: (origin: string) => string[],
 *          workerFields?: string[]}} options
 *   `files`: more ES modules beside worker.js (name -> source); `bindings(origin)`: Cap'n Proto
 *   binding entries; `workerFields`: more fields of the Worker (Durable Object namespaces, ...);
 *   `jose`: also serve jose (its `webapi` build) as the bare module `jose` (the benchmark's peer).
 * @returns {Promise<{origin: string, log: () => string, stop: () => Promise<void>, startMs: number}>}
 */
export async function startWorkerd({ worker, files = {}, bindings = () => [], workerFields = [], jose = false }) {
  const project = packedProject();
  let child;
  let stderr = '';
  const stop = async () => {
    if (process.env.GATEPASS_SHOW_WORKERD_LOG) console.error(stderr);
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    project.cleanup();
  };
  try {
    const pkg = JSON.parse(readFileSync(join(project.dir, 'node_modules/gatepass/package.json'), 'utf8'));
    const entry = posix.join('node_modules/gatepass', pkg.exports['.'].workerd.default);
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;

    writeFileSync(join(project.dir, 'worker.js'), worker);
    for (const [name, source] of Object.entries(files)) writeFileSync(join(project.dir, name), source);
    const modules = [
      `(name = "worker.js", esModule = embed "worker.js")`,
      ...Object.keys(files).map((name) => `(name = ${capnpString(name)}, esModule = embed ${capnpString(name)})`),
      // What a bundler does with the bare specifier: the package's `workerd` export.
      `(name = "gatepass", esModule = ${capnpString(`export * from "${entry}";`)})`,
      ...moduleGraph(project.dir, entry).map(([name, kind]) => `(name = ${capnpString(name)}, ${kind} = embed ${capnpString(name)})`),
    ];
    if (jose) {
      const joseEntry = 'node_modules/jose/dist/webapi/index.js';
      modules.push(
        `(name = "jose", esModule = ${capnpString(`export * from "${joseEntry}";`)})`,
        ...moduleGraph(project.dir, joseEntry).map(([name, kind]) => `(name = ${capnpString(name)}, ${kind} = embed ${capnpString(name)})`),
      );
    }
    writeFileSync(
      join(project.dir, 'config.capnp'),
      `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [ (name = "main", worker = .gatepassWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);

const gatepassWorker :Workerd.Worker = (
  modules = [
    ${modules.join(',\n    ')}
  ],
  compatibilityDate = "2025-09-01",
  bindings = [
    ${bindings(origin).join(',\n    ')}
  ],${workerFields.map((f) => `\n  ${f},`).join('')}
);
`,
    );
    const spawnedAt = performance.now();
    child = spawn(WORKERD, ['serve', 'config.capnp'], { cwd: project.dir, stdio: ['ignore', 'inherit', 'pipe'] });
    child.stderr.on('data', (d) => (stderr += d));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`workerd exited (${child.exitCode}):\n${stderr}`);
      try {
        await fetch(`${origin}/`);
        break;
      } catch {
        if (Date.now() > deadline) throw new Error(`workerd did not start:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    // `startMs`: from spawning workerd to the first answered request (polled every 10 ms).
    return { origin, log: () => stderr, stop, startMs: performance.now() - spawnedAt };
  } catch (e) {
    await stop();
    throw e;
  }
}

// The package as a user installs it: `npm pack` into a temporary project's
// node_modules/gatepass (so only the published `files` are there), for the workerd and Deno
// tests.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';

export const PACKAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A fresh project directory with the packed `gatepass` (and `jose`) in node_modules. */
export function packedProject() {
  const dir = mkdtempSync(join(tmpdir(), 'gatepass-packed-'));
  execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: PACKAGE_DIR, stdio: ['ignore', 'pipe', 'inherit'] });
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'));
  execFileSync('tar', ['xzf', tarball], { cwd: dir });
  mkdirSync(join(dir, 'node_modules'));
  renameSync(join(dir, 'package'), join(dir, 'node_modules', 'gatepass'));
  cpSync(join(PACKAGE_DIR, 'node_modules', 'jose'), join(dir, 'node_modules', 'jose'), { recursive: true });
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'gatepass-packed-test', private: true, type: 'module', dependencies: { gatepass: '*', jose: '*' } }),
  );
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A loopback port that was free a moment ago. */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// Makes the CommonJS side of the package (dist/cjs/) for `require('gatepass')` on Node versions
// that cannot `require` an ES module:
//   - dist/wasm/gatepass_node.js (wasm-bindgen --target web glue, ESM) -> dist/cjs/gatepass_node.cjs
//   - js/*.js except the ESM entries (node, workerd, deno, browser)    -> dist/cjs/*.cjs
//     (exports.js's wasm import becomes a require of dist/cjs/gatepass_node.cjs)
//   - js/index.d.ts                                                    -> dist/cjs/index.d.cts
// The transform is line-based and only knows the module syntax these files use; anything else
// (another `import`/`export` form, `import.meta`) stops the build instead of producing a
// broken file.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(pkg, 'dist', 'cjs');
mkdirSync(out, { recursive: true });

function fail(file, line, why) {
  console.error(`make-cjs: ${file}: ${why}:\n  ${line}`);
  process.exit(1);
}

const names = (list) =>
  list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function toCjs(file, source, extra = (line) => undefined) {
  const exported = [];
  const lines = source.split('\n').map((line) => {
    const replaced = extra(line);
    if (replaced !== undefined) return replaced;
    let m;
    if ((m = /^import \* as (\w+) from '\.\.\/dist\/wasm\/gatepass_node\.js';$/.exec(line))) {
      return `const ${m[1]} = require('./gatepass_node.cjs');`;
    }
    if ((m = /^import \{([^}]*)\} from '(node:[\w]+)';$/.exec(line))) {
      // `a as b` in an import is `a: b` in a destructuring.
      return `const {${m[1].replace(/\s+as\s+/g, ': ')}} = require('${m[2]}');`;
    }
    if ((m = /^import \{([^}]*)\} from '\.\/([\w-]+)\.js';$/.exec(line))) {
      return `const {${m[1]}} = require('./${m[2]}.cjs');`;
    }
    if ((m = /^export \{([^}]*)\} from '\.\/([\w-]+)\.js';$/.exec(line))) {
      const ids = names(m[1]);
      if (ids.some((id) => !/^\w+$/.test(id))) fail(file, line, 'renamed re-export');
      exported.push(...ids);
      return `const {${ids.join(', ')}} = require('./${m[2]}.cjs');`;
    }
    if ((m = /^export ((?:async )?function\*? |class |const |let )(\w+)/.exec(line))) {
      exported.push(m[2]);
      return line.slice('export '.length);
    }
    if (/^\s*(import|export)\b/.test(line) || /import\.meta/.test(line)) {
      fail(file, line, 'unsupported module syntax');
    }
    return line;
  });
  if (exported.length === 0) fail(file, '', 'no exports found');
  return ["'use strict';", ...lines, ...exported.map((n) => `exports.${n} = ${n};`), ''].join('\n');
}

// 1. The wasm-bindgen glue.
const gluePath = join(pkg, 'dist', 'wasm', 'gatepass_node.js');
let sawFinalExport = false;
let sawDefaultUrl = false;
const glue = toCjs('gatepass_node.js', readFileSync(gluePath, 'utf8'), (line) => {
  if (line === 'export { initSync, __wbg_init as default };') {
    sawFinalExport = true;
    return 'exports.default = __wbg_init;\nexports.initSync = initSync;';
  }
  if (line.includes("new URL('gatepass_node_bg.wasm', import.meta.url)")) {
    sawDefaultUrl = true;
    return line.replace(
      "new URL('gatepass_node_bg.wasm', import.meta.url)",
      "require('node:url').pathToFileURL(require('node:path').join(__dirname, '..', 'wasm', 'gatepass_node_bg.wasm'))",
    );
  }
  return undefined;
});
if (!sawFinalExport || !sawDefaultUrl) {
  fail('gatepass_node.js', '', 'the wasm-bindgen glue changed shape (is wasm-bindgen 0.2.130?)');
}
writeFileSync(join(out, 'gatepass_node.cjs'), glue);

// 2. The package's own shared modules: every js/*.js except the per-runtime ESM entries.
const ENTRIES = new Set(['node.js', 'workerd.js', 'deno.js', 'browser.js']);
for (const file of readdirSync(join(pkg, 'js'))) {
  if (!file.endsWith('.js') || ENTRIES.has(file)) continue;
  const name = file.slice(0, -'.js'.length);
  writeFileSync(join(out, `${name}.cjs`), toCjs(file, readFileSync(join(pkg, 'js', file), 'utf8')));
}

// 3. Types for `require` (TypeScript reads .d.cts as CommonJS declarations).
copyFileSync(join(pkg, 'js', 'index.d.ts'), join(out, 'index.d.cts'));

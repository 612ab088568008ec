// Runs scenarios of ./hardening.js in this process and prints their results as one JSON line:
// `node test-support/run-scenario.mjs NAME...`. The Node tests spawn it to watch what a
// scenario does to a whole process (exit code under --unhandled-rejections=strict, timers that
// would keep it alive).
import * as gp from 'gatepass';
import { scenarios } from './hardening.js';

const results = {};
for (const name of process.argv.slice(2)) {
  const scenario = scenarios[name];
  if (scenario === undefined) throw new Error(`no scenario ${name}`);
  results[name] = await scenario(gp);
}
console.log(JSON.stringify(results));

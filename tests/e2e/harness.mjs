// Shared by the browser tests (console.mjs, daemon.mjs): the environment their shell script
// sets, ok/FAIL checks with the closing "N passed, M failed" line, and headless Chromium
// (Debian's, through playwright-core) launched with the flags this machine needs: no sandbox
// as root, no network beyond loopback.
import { createRequire } from 'node:module';
import { join } from 'node:path';

export const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run the test through its tests/e2e/*.sh)`);
  return v;
};
export const base = env('ESEAL_URL');
export const shots = env('ESEAL_SHOTS');

let passed = 0;
let failed = 0;
export function check(cond, what) {
  if (cond) {
    passed++;
    console.log(`ok   ${what}`);
  } else {
    failed++;
    console.log(`FAIL ${what}`);
  }
}

// Runs body(context, page) in a fresh persistent profile, then prints the totals and exits
// (1 when any check failed or body threw).
export async function runBrowser(viewport, body) {
  const require = createRequire(join(env('ESEAL_NODE_DIR'), 'package.json'));
  const { chromium } = require('playwright-core');
  const context = await chromium.launchPersistentContext(env('ESEAL_PROFILE'), {
    executablePath: env('ESEAL_CHROMIUM'),
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport,
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await body(context, page);
  } catch (e) {
    failed++;
    console.log(`FAIL ${e.stack || e}`);
  } finally {
    await context.close();
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

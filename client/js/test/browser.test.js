// The SDK in headless Chromium (Debian's chromium driven by puppeteer-core): a page the daemon
// serves as a static resource runs the flows of a web app, with the browser's own fetch, cookies,
// WebCrypto and IndexedDB. The Go test (TestBrowser) gives the daemon, the static folder to
// write the page's bundle into, and the Chromium binary.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import puppeteer from 'puppeteer-core';
import { baseURL, resourceURL, setRules } from './env.js';

const here = dirname(fileURLToPath(import.meta.url));
const staticDir = process.env.REALMGATE_STATIC_DIR;
const chromium = process.env.REALMGATE_CHROMIUM;
const skip = baseURL && staticDir && chromium ? false : 'needs the daemon, its static folder and Chromium: run go test ./client/js';

test('a web app logs in, provisions, enrolls, obtains a token, calls the resource server and meets every realm type', { skip, timeout: 120_000 }, async (t) => {
  await esbuild.build({
    entryPoints: [join(here, 'browser', 'page.js')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile: join(staticDir, 'sdk.js'),
    logLevel: 'warning',
  });
  const profile = await mkdtemp(join(tmpdir(), 'realmgate-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: chromium,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
    ],
  });
  t.after(async () => {
    await browser.close();
    await rm(profile, { recursive: true, force: true });
  });
  const page = await browser.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));

  const open = async () => {
    const resp = await page.goto(`${baseURL}/web/index.html`, { waitUntil: 'load' });
    assert.equal(resp.status(), 200);
    await page.waitForFunction(() => window.pageReady === true, { timeout: 10_000 });
  };
  await open();
  const first = await page.evaluate((cfg) => window.firstVisit(cfg), { resourceURL });
  assert.equal(first.initApp, 'webapp');
  assert.equal(first.echoUser, 'alice');
  assert.match(first.device, /^browser-/);
  assert.equal(first.certUser, 'alice');
  assert.equal(first.resourceStatus, 200);
  assert.deepEqual(first.balance, { user: 'alice', scope: 'formTest' });
  assert.equal(first.token, 'formTest');
  assert.deepEqual(first.prompts, ['formRealm'], 'one login for everything');
  assert.deepEqual(first.deviceKey, { type: 'private', extractable: false, algorithm: { name: 'ECDSA', namedCurve: 'P-256' } });
  assert.equal(first.exportRefused, true, 'the browser refuses to export the device key');
  assert.equal(first.deviceSubject, `O=application:webapp, CN=${first.device}`, 'the subject the daemon issues');
  assert.match(first.userSubject, /CN=alice/);
  assert.equal(first.userKeyExtractable, false);

  // A later visit: a new page load; the session cookie is dropped so the daemon opens a new
  // session, and the certificate kept in IndexedDB signs the user in.
  const cookies = await page.cookies();
  await page.deleteCookie(...cookies.filter((c) => c.name === 'WL_SESSION'));
  await open();
  const later = await page.evaluate(() => window.laterVisit());
  assert.deepEqual(later, { certUser: 'alice', prompts: [], identity: 'alice' });

  // The other realm types, and remote disable.
  t.after(() => setRules('desktopbrowser', []));
  await setRules('desktopbrowser', [{ versions: '<2.0.0', action: 'notify', message: 'Please update', messageId: 'm-web' }]);
  await page.deleteCookie(...(await page.cookies()).filter((c) => c.name === 'WL_SESSION'));
  await open();
  assert.deepEqual(await page.evaluate(() => window.otherRealms()), { notices: ['m-web'], basic: 'bob', header: 'carol', adapter: 'carol' });
  await setRules('desktopbrowser', [{ versions: '<2.0.0', action: 'block', message: 'Retired' }]);
  assert.deepEqual(await page.evaluate(() => window.blocked()), { blocked: true, message: 'Retired' });
  assert.deepEqual(errors, []);
});

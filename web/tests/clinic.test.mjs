// Browser test of the clinicians' page (web/clinic/) in headless Chromium (Debian's
// /usr/bin/chromium) driven by playwright-core. Run: node --test tests/clinic.test.mjs
//
// The test starts `backline serve` on a free port with a fresh database and two clinicians
// in a temporary config file, signs in with the keyboard, and then writes an emergency
// escalation into the database from another process (backline_insert_handoff, as a second
// server on the same database would): the page must show it without a reload, count it in
// the title and badge, announce it, show its conversation, and record "Acknowledge".
//   BACKLINE_BINARY          the built server (default ../build/backline)
//   BACKLINE_INSERT_HANDOFF  the item writer (default ../build/tests/backline_insert_handoff)
//   SCREENSHOT_DIR           where the screenshot goes (default ../build/screenshots)
//   CHROMIUM                 the browser (default /usr/bin/chromium)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import playwright from 'playwright-core';

const { chromium } = playwright;
const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ROOT = path.join(WEB_DIR, '..');
const BINARY = process.env.BACKLINE_BINARY || path.join(ROOT, 'build', 'backline');
const INSERT = process.env.BACKLINE_INSERT_HANDOFF ||
  path.join(ROOT, 'build', 'tests', 'backline_insert_handoff');
const SCREENSHOTS = process.env.SCREENSHOT_DIR || path.join(ROOT, 'build', 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const WAIT = 10_000;
const TOKEN = 'clinic-browser-test-0123456789';
const VIEWER_TOKEN = 'clinic-viewer-test-0123456789';

let tmp;
let port;
let server;
let browser;
let base;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port: p } = s.address();
      s.close(() => resolve(p));
    });
  });
}

async function waitReady(p, ms = WAIT) {
  const deadline = Date.now() + ms;
  let last = '';
  while (Date.now() < deadline) {
    if (server && (server.proc.exitCode !== null || server.proc.signalCode !== null)) {
      throw new Error(`the server exited before it was ready:\n${server.output.join('')}`);
    }
    try {
      const res = await fetch(`http://127.0.0.1:${p}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok && (await res.json()).ready === true) return;
      last = `HTTP ${res.status}`;
    } catch (e) {
      last = e.message;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server not ready on port ${p} within ${ms} ms (${last})\n${server?.output.join('')}`);
}

async function startServer() {
  const config = path.join(tmp, 'config.json');
  fs.writeFileSync(config, JSON.stringify({
    address: '127.0.0.1',
    port,
    database: path.join(tmp, 't.db'),
    web: WEB_DIR,
    clinicians: [
      { name: 'Dr Ada', token: TOKEN, clinic: 'demo', role: 'clinician' },
      { name: 'Val', token: VIEWER_TOKEN, clinic: 'demo', role: 'viewer' },
    ],
  }));
  const proc = spawn(BINARY, ['serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  const output = [];
  proc.stdout.on('data', (d) => output.push(d.toString()));
  proc.stderr.on('data', (d) => output.push(d.toString()));
  const exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => resolve(code ?? signal));
    proc.once('error', (e) => { output.push(`spawn failed: ${e.message}\n`); resolve(e.code); });
  });
  server = { proc, output, exited };
  await waitReady(port);
}

const withTimeout = (promise, ms) => Promise.race([promise, new Promise((r) => setTimeout(r, ms))]);
const HOOK = { timeout: 30_000 };
const CASE = { timeout: 120_000 };

before(async () => {
  assert.ok(fs.existsSync(BINARY), `BACKLINE_BINARY not found: ${BINARY}`);
  assert.ok(fs.existsSync(INSERT), `BACKLINE_INSERT_HANDOFF not found: ${INSERT}`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'backline-clinic-'));
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const [launched, started] = await Promise.allSettled([
    chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: WAIT }),
    startServer(),
  ]);
  if (launched.status === 'fulfilled') browser = launched.value;
  if (launched.status === 'rejected') throw launched.reason;
  if (started.status === 'rejected') throw started.reason;
}, HOOK);

after(async () => {
  if (browser) await withTimeout(browser.close().catch(() => {}), 5000);
  if (server && server.proc.exitCode === null && server.proc.signalCode === null) {
    server.proc.kill('SIGTERM');
    await withTimeout(server.exited, 5000);
  }
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}, HOOK);
process.on('exit', () => { try { server?.proc.kill('SIGKILL'); } catch { /* gone */ } });

// Writes an escalation into the server's database from another process.
function insertEscalation(reference, urgency = 'emergency', kind = 'E1') {
  execFileSync(INSERT, [path.join(tmp, 't.db'), 'demo', reference, urgency, kind], { stdio: 'pipe' });
}

test('clinic page: sign in, see a new escalation appear live, read its conversation, acknowledge it', CASE, async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(WAIT);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error' && !/401/.test(m.text())) errors.push(m.text()); });

  const res = await page.goto(`${base}/clinic/`);
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-security-policy'], /default-src 'self'/);

  // Sign in with the keyboard: the token field has focus, Enter submits.
  await page.getByLabel('Clinician token').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.id), 'token');
  await page.keyboard.type(TOKEN);
  await page.keyboard.press('Enter');
  await page.locator('#who-name').getByText('Dr Ada').waitFor();
  const cookie = (await context.cookies()).find((c) => c.name === 'backline_clinic');
  assert.ok(cookie, 'the session cookie is set');
  assert.equal(cookie.path, '/clinic');
  assert.equal(cookie.httpOnly, true);
  await page.locator('#live-state').getByText(/^Live/).waitFor();
  await page.locator('#empty').waitFor();
  assert.equal(await page.title(), 'Backline clinic');

  // An emergency escalation arrives: listed, counted, announced, without a reload.
  insertEscalation('BL-LIVE1');
  const item = page.locator('.item', { hasText: 'BL-LIVE1' });
  await item.waitFor();
  await page.waitForFunction(() => document.title === '(1) Backline clinic');
  assert.equal(await page.locator('#badge').innerText(), '1 new');
  await page.locator('#alert').getByText('Emergency: Escalation E1 BL-LIVE1.').waitFor();
  assert.match(await item.locator('h3').innerText(), /Emergency\s*Escalation E1 BL-LIVE1/);
  assert.match(await item.innerText(), /Status\s*New/);

  // The person consented: the conversation can be opened.
  const toggle = item.getByRole('button', { name: 'Show the conversation' });
  await toggle.click();
  await item.getByText('my husband cannot feel his legs').waitFor();
  assert.equal(await item.getByRole('button', { name: 'Hide the conversation' }).getAttribute('aria-expanded'), 'true');

  // Acknowledge it (a real button, reached and pressed with the keyboard).
  const ack = item.getByRole('button', { name: 'Acknowledge' });
  await ack.focus();
  await page.keyboard.press('Enter');
  await page.locator('#status').getByText('BL-LIVE1: Acknowledged, recorded as Dr Ada.').waitFor();
  const after = page.locator('.item', { hasText: 'BL-LIVE1' });
  await after.getByText(/Acknowledged by Dr Ada/).waitFor();
  assert.equal(await after.getByRole('button', { name: 'Acknowledge' }).isDisabled(), true);
  // The conversation stays open across the list's refresh.
  await after.getByText('my husband cannot feel his legs').waitFor();
  await page.waitForFunction(() => document.title === 'Backline clinic');
  assert.equal(await page.locator('#badge').isHidden(), true);
  // Focus stays on the item, not lost to the page's top.
  assert.equal(await page.evaluate(() => !!document.activeElement.closest('.item')), true);

  // The status is in the store: a viewer of the same clinic sees it, and cannot change it.
  const viewer = await browser.newContext();
  const vpage = await viewer.newPage();
  await vpage.goto(`${base}/clinic/`);
  await vpage.getByLabel('Clinician token').fill(VIEWER_TOKEN);
  await vpage.getByRole('button', { name: 'Sign in' }).click();
  const seen = vpage.locator('.item', { hasText: 'BL-LIVE1' });
  await seen.getByText(/Acknowledged by Dr Ada/).waitFor();
  assert.equal(await seen.getByRole('button', { name: 'Close' }).isDisabled(), true);
  await viewer.close();

  // A second, urgent one while the first stays acknowledged: announced politely.
  insertEscalation('BL-LIVE2', 'urgent', 'U2');
  await page.locator('.item', { hasText: 'BL-LIVE2' }).waitFor();
  await page.locator('#status').getByText('New: Escalation U2 BL-LIVE2.').waitFor();
  await page.waitForFunction(() => document.title === '(1) Backline clinic');

  await page.screenshot({ path: path.join(SCREENSHOTS, 'clinic.png'), fullPage: true });
  assert.deepEqual(errors, []);
  await context.close();
});

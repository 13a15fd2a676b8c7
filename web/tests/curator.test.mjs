// Browser test of the curator page (web/curator/) in headless Chromium (Debian's
// /usr/bin/chromium) driven by playwright-core. Run: node --test tests/curator.test.mjs
//
// The test starts `backline serve` on a free port with a TEMPORARY COPY of knowledge/ and
// dialogs/ (the page's edits change the copy, never the repository), a fresh database and a
// curator token in a temporary config file. It seeds an unanswered question over WebSocket,
// signs in, tries a message, attaches the question to an entry and sees it answered.
//   BACKLINE_BINARY  the built server (default ../build/backline)
//   SCREENSHOT_DIR   where the screenshot goes (default ../build/screenshots)
//   CHROMIUM         the browser (default /usr/bin/chromium)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
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
const SCREENSHOTS = process.env.SCREENSHOT_DIR || path.join(ROOT, 'build', 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const WAIT = 10_000;
const TOKEN = 'browser-test-token-0123456789';
// Goes unanswered in the shipped content; the stretching entry is where it belongs.
const QUESTION = 'can I use a foam roller on my back';
const ENTRY = 'physical-therapy-stretching-stiffness';

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
  fs.cpSync(path.join(ROOT, 'knowledge'), path.join(tmp, 'knowledge'), { recursive: true });
  fs.cpSync(path.join(ROOT, 'dialogs'), path.join(tmp, 'dialogs'), { recursive: true });
  const config = path.join(tmp, 'config.json');
  fs.writeFileSync(config, JSON.stringify({
    address: '127.0.0.1',
    port,
    database: path.join(tmp, 't.db'),
    knowledge: path.join(tmp, 'knowledge'),
    dialogs: path.join(tmp, 'dialogs'),
    web: WEB_DIR,
    curators: [{ name: 'Nurse Kim', token: TOKEN }],
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

async function killServer(signal = 'SIGKILL') {
  if (!server || !server.proc.pid || server.proc.exitCode !== null || server.proc.signalCode !== null) return;
  server.proc.kill(signal);
  await Promise.race([server.exited, new Promise((r) => setTimeout(r, 5000))]);
}

const withTimeout = (promise, ms) => Promise.race([promise, new Promise((r) => setTimeout(r, ms))]);
const HOOK = { timeout: 30_000 };
const CASE = { timeout: 120_000 };

before(async () => {
  assert.ok(fs.existsSync(BINARY), `BACKLINE_BINARY not found: ${BINARY}`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'backline-curator-'));
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
  await killServer('SIGTERM');
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}, HOOK);
process.on('exit', () => { try { server?.proc.kill('SIGKILL'); } catch { /* gone */ } });

// Sends one message over the chat WebSocket, as a patient's browser would (from a page of
// the server's own origin), and returns the reply.
async function chat(text) {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    // A page of the server's own origin whose Content-Security-Policy allows a WebSocket to
    // it (the demo page's connect-src does; /healthz's default-src 'none' would not).
    await page.goto(`${base}/`);
    return await page.evaluate(({ url, message, wait }) => new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const timer = setTimeout(() => reject(new Error('no reply from the server')), wait);
      let welcomed = false;
      ws.onerror = () => reject(new Error('WebSocket failed'));
      ws.onmessage = (e) => {
        const frame = JSON.parse(e.data);
        if (!welcomed) {
          if (frame.type !== 'welcome') reject(new Error(`expected a welcome: ${e.data}`));
          welcomed = true;
          ws.send(JSON.stringify({ type: 'message', text: message }));
          return;
        }
        clearTimeout(timer);
        ws.close();
        resolve(frame);
      };
    }), { url: `ws://127.0.0.1:${port}/ws`, message: text, wait: WAIT });
  } finally {
    await context.close();
  }
}

test('curator page: sign in, try a message, attach an unanswered question to an entry, see it answered', CASE, async () => {
  // A patient asks something the content does not answer yet.
  const before = await chat(QUESTION);
  assert.notEqual(before.entry, ENTRY);
  assert.ok(['clarify', 'fallback'].includes(before.kind), JSON.stringify(before));

  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  context.setDefaultTimeout(WAIT);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error' && !/401/.test(m.text())) errors.push(m.text()); });

  const res = await page.goto(`${base}/curator/`);
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-security-policy'], /default-src 'self'/);
  assert.equal(res.headers()['cache-control'], 'no-store');

  // Sign in: a wrong token is refused on the page, the right one opens the tools.
  await page.getByLabel('Curator token').fill('not-the-right-token-at-all');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#login-error').getByText(/not right/).waitFor();
  await page.getByLabel('Curator token').fill(TOKEN);
  await page.getByLabel('Curator token').press('Enter');
  await page.locator('#who-name').getByText('Signed in as Nurse Kim').waitFor();
  // The content version arrives with a second request (status) after sign-in: wait for it.
  await page.locator('#version-hash').getByText(/^[0-9a-f]{12}$/).waitFor();
  assert.match(await page.locator('#version-hash').innerText(), /^[0-9a-f]{12}$/);
  const cookies = await context.cookies();
  const cookie = cookies.find((c) => c.name === 'backline_curator');
  assert.ok(cookie, 'the session cookie is set');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(await page.evaluate(() => document.cookie), '', 'the page script cannot read the session');

  // Try a message: the reply and why.
  await page.getByLabel('Message, as a patient would type it').fill('Is it safe to have a massage during chemotherapy?');
  await page.getByRole('button', { name: 'Try it' }).click();
  await page.locator('#try-result').waitFor({ state: 'visible' });
  await page.locator('#try-facts').getByText('massage-safe-during-treatment').waitFor();
  assert.match(await page.locator('#try-explain').innerText(), /answer: coverage/);
  assert.match(await page.locator('#try-candidates tbody tr').first().innerText(), /massage-safe-during-treatment/);

  // The unanswered question is listed; attach it to the stretching entry.
  const group = page.locator('#unanswered-list > li').filter({ hasText: QUESTION });
  await group.waitFor();
  await group.getByRole('button', { name: 'Attach to entry…' }).click();
  await group.getByLabel('Find the entry').fill('stretching stiffness');
  await group.getByLabel('Entry', { exact: true }).selectOption(ENTRY);
  await group.getByRole('button', { name: 'Attach', exact: true }).click();
  // An edit copies and compiles the whole content before it is written: allow for a busy machine.
  await page.locator('#status').getByText(`Attached to ${ENTRY}.`, { exact: false }).waitFor({ timeout: 4 * WAIT });
  await page.locator('#revision-list li').first().getByText(/Nurse Kim/).waitFor({ timeout: 4 * WAIT });

  // Try it again on the page: now it gets that entry.
  await page.getByLabel('Message, as a patient would type it').fill(QUESTION);
  await page.getByRole('button', { name: 'Try it' }).click();
  await page.locator('#try-facts').getByText(ENTRY).waitFor();
  await page.screenshot({ path: path.join(SCREENSHOTS, 'curator-answered.png'), fullPage: false });

  // And so does the next patient who asks it that way.
  const after = await chat(QUESTION);
  assert.equal(after.entry, ENTRY, JSON.stringify(after));
  assert.equal(after.kind, 'answer');

  // The repository's own content file was not touched.
  assert.ok(!fs.readFileSync(path.join(ROOT, 'knowledge', 'faq', 'physical-therapy.json'), 'utf8').includes(QUESTION));
  assert.deepEqual(errors, []);
  await context.close();
});

test('curator page: a first visit asks to sign in without saying a session ended; the header fits a 375 px phone', CASE, async () => {
  const context = await browser.newContext({ viewport: { width: 375, height: 800 }, isMobile: true, hasTouch: true });
  context.setDefaultTimeout(WAIT);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}/curator/`);
  await page.getByLabel('Curator token').waitFor();
  await page.waitForLoadState('networkidle');
  assert.doesNotMatch(await page.locator('body').innerText(), /session has ended/i, 'nothing has ended on a first visit');
  assert.equal(await page.locator('#login-error').textContent(), '');

  // A session the server no longer knows (expired, or the server restarted): that is said.
  await context.addCookies([{ name: 'backline_curator', value: 'an-expired-session-0123456789abcdef', url: base }]);
  await page.reload();
  await page.locator('#login-error').getByText(/session has ended/i).waitFor();

  await page.getByLabel('Curator token').fill(TOKEN);
  await page.getByLabel('Curator token').press('Enter');
  await page.locator('#who-name').getByText('Signed in as Nurse Kim').waitFor();
  await page.locator('#version-hash').getByText(/^[0-9a-f]{12}$/).waitFor();
  await page.screenshot({ path: path.join(SCREENSHOTS, 'curator-phone-header.png') });
  const layout = await page.evaluate(() => {
    const header = document.querySelector('header.top').getBoundingClientRect();
    const parts = [...document.querySelectorAll('header.top .brand, header.top .version, #who-name, #reload, #logout')]
      .map((e) => { const r = e.getBoundingClientRect(); return { id: e.id || e.className, l: r.left, t: r.top, r: r.right, b: r.bottom, h: r.height }; });
    const overlaps = [];
    for (let i = 0; i < parts.length; i++) {
      for (let j = i + 1; j < parts.length; j++) {
        const a = parts[i], b = parts[j];
        // closer than 8 px on both axes: touching or overlapping
        if (a.l < b.r + 8 && b.l < a.r + 8 && a.t < b.b + 8 && b.t < a.b + 8) overlaps.push(`${a.id} / ${b.id}`);
      }
    }
    return {
      overlaps,
      outside: parts.filter((p) => p.l < 8 || p.r > innerWidth - 8).map((p) => p.id),
      padTop: Math.round(Math.min(...parts.map((p) => p.t)) - header.top),
      padBottom: Math.round(header.bottom - Math.max(...parts.map((p) => p.b))),
      smallButtons: parts.filter((p) => /reload|logout/.test(p.id) && p.h < 40).map((p) => p.id),
      sideways: document.scrollingElement.scrollWidth > innerWidth,
    };
  });
  assert.deepEqual(layout.overlaps, [], 'nothing in the header touches anything else');
  assert.deepEqual(layout.outside, [], 'everything fits inside the screen with a margin');
  assert.ok(layout.padTop >= 8 && layout.padBottom >= 8, `room above and below: ${layout.padTop}, ${layout.padBottom}`);
  assert.deepEqual(layout.smallButtons, [], 'buttons are big enough to tap');
  assert.equal(layout.sideways, false);
  assert.deepEqual(errors, []);
  await context.close();
});

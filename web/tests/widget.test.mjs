// Browser tests of the Backline widget and its demo page, in headless Chromium (Debian's
// /usr/bin/chromium) driven by playwright-core. Run: node --test tests/widget.test.mjs
//
// The test starts `backline serve` itself on a free port with a fresh database:
//   BACKLINE_BINARY  the built server (default ../build/backline)
//   SCREENSHOT_DIR   where the desktop and phone screenshots go (default ../build/screenshots)
//   CHROMIUM         the browser (default /usr/bin/chromium)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import playwright from 'playwright-core';

const { chromium } = playwright;
const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BINARY = process.env.BACKLINE_BINARY || path.join(WEB_DIR, '..', 'build', 'backline');
const SCREENSHOTS = process.env.SCREENSHOT_DIR || path.join(WEB_DIR, '..', 'build', 'screenshots');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const WAIT = 10_000;             // the longest any single wait may take
const RED_FLAG = "I can't feel my legs and I wet myself";

let tmp;
let port;
let server;                       // { proc, output }
let browser;
let base;

// ---- the server ---------------------------------------------------------------------------
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
  const proc = spawn(BINARY, ['serve', '--port', String(port), '--db', path.join(tmp, 't.db')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = [];
  proc.stdout.on('data', (d) => output.push(d.toString()));
  proc.stderr.on('data', (d) => output.push(d.toString()));
  const exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => resolve(code ?? signal));
    proc.once('error', (e) => { output.push(`spawn failed: ${e.message}\n`); resolve(e.code); });
  });
  server = { proc, output, exited };
  let stopped = false;
  await Promise.race([
    waitReady(port).finally(() => { stopped = true; }),
    exited.then((code) => {
      if (!stopped) throw new Error(`server exited (${code}) before it was ready:\n${output.join('')}`);
    }),
  ]);
}

async function killServer(signal = 'SIGKILL') {
  if (!server || !server.proc.pid || server.proc.exitCode !== null || server.proc.signalCode !== null) return;
  server.proc.kill(signal);
  await Promise.race([server.exited, new Promise((r) => setTimeout(r, 5000))]);
}

const withTimeout = (promise, ms) => Promise.race([promise, new Promise((r) => setTimeout(r, ms))]);
const HOOK = { timeout: 30_000 };
const CASE = { timeout: 40_000 };

before(async () => {
  assert.ok(fs.existsSync(BINARY), `BACKLINE_BINARY not found: ${BINARY}`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'backline-widget-'));
  fs.mkdirSync(SCREENSHOTS, { recursive: true });
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const [launched, started] = await Promise.allSettled([
    // playwright-core gives every launch a fresh, empty user-data-dir of its own
    chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: WAIT }),
    startServer(),
  ]);
  // Keep what did start, so that after() closes it even when the other failed.
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

// ---- page helpers ---------------------------------------------------------------------------
async function newPage(viewport = { width: 1280, height: 800 }, extra = {}) {
  const context = await browser.newContext({ viewport, ...extra });
  context.setDefaultTimeout(WAIT);
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(e.message));
  return page;
}

const part = (page, name) => page.locator(`[data-part="${name}"]`);

// The element that has focus, through shadow roots: its data-part, id or tag.
function focused(page) {
  return page.evaluate(() => {
    let a = document.activeElement;
    while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
    return a ? a.getAttribute('data-part') || a.id || a.tagName.toLowerCase() : null;
  });
}

async function ask(page, text) {
  const before = await part(page, 'bot-message').count();
  await part(page, 'input').fill(text);
  await part(page, 'input').press('Enter');
  await page.waitForFunction(
    (n) => document.querySelector('backline-chat').shadowRoot.querySelectorAll('[data-part="bot-message"]').length > n,
    before, { timeout: WAIT });
  return part(page, 'bot-message').last();
}

async function openFromPage(page, url = `${base}/`) {
  await page.goto(url);
  await page.locator('#chat-with-us').click();
  await part(page, 'panel').waitFor({ state: 'visible' });
  await part(page, 'welcome').waitFor();
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SCREENSHOTS, name) });
}

// ---- the tests ----------------------------------------------------------------------------
test('demo page: open from the page button, ask a question, see the answer with its sources, click a quick reply', CASE, async () => {
  const page = await newPage();
  await openFromPage(page);
  assert.equal(await page.title(), 'My Riverside · Riverside Cancer Centre patient portal (demo)');
  assert.equal(await focused(page), 'input', 'focus moves into the input on open');

  const disclaimer = part(page, 'disclaimer');
  await assert.doesNotReject(disclaimer.getByText(/not a diagnosis/).waitFor());
  assert.equal(await part(page, 'disclaimer-tel').getAttribute('href'), 'tel:911');
  assert.match(await part(page, 'welcome').innerText(), /Backline/);
  assert.ok(await part(page, 'quick-reply').count() >= 2, 'the welcome offers quick replies');

  const answer = await ask(page, 'can i take ibuprofen with chemo');
  assert.match(await answer.innerText(), /NSAID/);
  assert.equal(await answer.getAttribute('data-urgency'), 'none');
  assert.equal(await part(page, 'user-message').last().locator('.bubble').innerText(), 'can i take ibuprofen with chemo');
  const links = answer.locator('[data-part="sources"] a');
  assert.ok(await links.count() >= 1, 'sources are shown under the answer');
  for (const a of await links.all()) {
    assert.match(await a.getAttribute('href'), /^https?:\/\//);
    assert.equal(await a.getAttribute('rel'), 'noopener noreferrer');
    assert.equal(await a.getAttribute('target'), '_blank');
  }
  await part(page, 'typing').waitFor({ state: 'hidden' });
  await shot(page, 'desktop-answer.png');

  // A quick reply is a button that sends its text and gets its answer.
  const qr = part(page, 'quick-reply').first();
  const qrText = await qr.innerText();
  assert.equal(await qr.evaluate((e) => e.tagName), 'BUTTON');
  await qr.click();
  await page.waitForFunction(() => document.querySelector('backline-chat').shadowRoot.querySelectorAll('[data-part="bot-message"]').length === 2);
  assert.equal(await part(page, 'user-message').last().locator('.bubble').innerText(), qrText);
  assert.ok((await part(page, 'bot-message').last().innerText()).length > 40);
  assert.equal(await focused(page), 'input', 'focus goes back to the input');

  // Styles do not cross the shadow boundary, in either direction.
  await page.addStyleTag({ content: '* { color: rgb(255, 0, 0) !important; font-size: 40px !important; } div { display: none; }' });
  const style = await answer.locator('.bubble').evaluate((e) => ({ color: getComputedStyle(e).color, size: getComputedStyle(e).fontSize }));
  assert.notEqual(style.color, 'rgb(255, 0, 0)');
  assert.equal(style.size, '15px');
  assert.ok(await part(page, 'panel').isVisible());
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('a red-flag message shows the emergency banner with a tel: link to 911; controls are labelled, text meets AA contrast', CASE, async () => {
  const page = await newPage();
  await openFromPage(page);
  const reply = await ask(page, RED_FLAG);
  assert.equal(await reply.getAttribute('data-urgency'), 'emergency');
  const banner = reply.locator('[data-part="red-flag-banner"]');
  await banner.waitFor();
  assert.match(await banner.innerText(), /call 911 now/i);
  assert.equal(await banner.locator('a[data-part="call"]').getAttribute('href'), 'tel:911');
  assert.ok(await reply.locator('[data-part="tell-them"]').isVisible(), 'what to say on the phone');
  // The banner is unmistakable: a strong red background with white text.
  const colors = await banner.evaluate((e) => [getComputedStyle(e).backgroundColor, getComputedStyle(e).color]);
  assert.deepEqual(colors, ['rgb(180, 35, 24)', 'rgb(255, 255, 255)']);
  // Announced assertively.
  await page.waitForFunction(() => /Emergency/.test(document.querySelector('backline-chat').shadowRoot.querySelector('[data-part="live-alert"]').textContent));
  assert.equal(await part(page, 'live-alert').getAttribute('aria-live'), 'assertive');
  assert.equal(await part(page, 'live').getAttribute('aria-live'), 'polite');
  await shot(page, 'desktop-red-flag.png');

  // An urgent (not emergency) reply names the care team's number.
  const urgent = await ask(page, 'my back pain is new and getting worse');
  assert.equal(await urgent.getAttribute('data-urgency'), 'urgent');
  assert.equal(await urgent.locator('a[data-part="call"]').getAttribute('href'), 'tel:5550142');

  // With an emergency, an urgent reply and an answer with sources on the page: every control
  // is labelled and every piece of text passes WCAG AA against its background.
  await ask(page, 'can i take ibuprofen with chemo');
  const report = await page.evaluate(() => {
    const root = document.querySelector('backline-chat').shadowRoot;
    const unlabelled = [...root.querySelectorAll('button, textarea, a')]
      .filter((e) => !(e.getAttribute('aria-label') || e.textContent.trim() || e.labels?.length))
      .map((e) => e.outerHTML.slice(0, 80));
    const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const bgOf = (e) => {
      for (let n = e; n && n.nodeType === 1; n = n.parentNode instanceof ShadowRoot ? null : n.parentNode) {
        const c = rgb(getComputedStyle(n).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] === 1)) return c.slice(0, 3);
      }
      return [255, 255, 255];
    };
    const failures = [];
    let checked = 0;
    for (const e of root.querySelectorAll('*')) {
      const hasText = [...e.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
      if (!hasText || !e.getClientRects().length || e.closest('.sr-only')) continue;
      const cs = getComputedStyle(e);
      const fg = rgb(cs.color).slice(0, 3);
      const bg = bgOf(e);
      const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
      const ratio = (hi + 0.05) / (lo + 0.05);
      const large = parseFloat(cs.fontSize) >= 24 || (parseFloat(cs.fontSize) >= 18.66 && +cs.fontWeight >= 700);
      checked++;
      if (ratio < (large ? 3 : 4.5)) failures.push(`${e.className || e.tagName}: ${ratio.toFixed(2)} "${e.textContent.trim().slice(0, 30)}"`);
    }
    return { unlabelled, failures, checked };
  });
  assert.deepEqual(report.unlabelled, []);
  assert.ok(report.checked > 20, `checked ${report.checked} text elements`);
  assert.deepEqual(report.failures, []);
  assert.equal(await part(page, 'input').getAttribute('aria-label'), 'Type your message');
  assert.equal(await part(page, 'panel').getAttribute('role'), 'dialog');
  await page.context().close();
});

test('markup in the person\'s text and in a reply renders as text, never as HTML', CASE, async () => {
  const page = await newPage();
  // Real server replies, rewritten on their way to the page to carry markup.
  const evil = '<img src=x onerror="window.__xss = 9"><script>window.__xss = 10</script>';
  await page.routeWebSocket(/\/ws/, (ws) => {
    const upstream = ws.connectToServer();
    upstream.onMessage((m) => {
      const f = JSON.parse(m);
      if (f.type === 'reply' && f.kind === 'answer') {
        f.text = `${evil} ${f.text}`;
        f.sources = [...(f.sources || []), { title: evil, url: 'javascript:window.__xss = 11' }];
      }
      ws.send(JSON.stringify(f));
    });
  });
  await openFromPage(page, `${base}/?test=1`);
  const typed = '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">';
  await ask(page, typed);
  assert.equal(await part(page, 'user-message').last().locator('.bubble').textContent(), typed);
  const rewritten = await ask(page, 'can i take ibuprofen with chemo');
  assert.ok((await rewritten.locator('.bubble').textContent()).startsWith(evil));
  assert.match(await rewritten.locator('[data-part="sources"]').textContent(), /<img src=x onerror/);

  // A reply frame holding markup, fed through the same code path as a server frame.
  await page.evaluate(() => window.Backline._renderForTest({
    type: 'reply', seq: 90, topic: 'red-flag', urgency: 'emergency', kind: 'escalation', red_flag: 'E1',
    text: 'Before <script>window.__xss = 3</script> and <img src=x onerror="window.__xss = 4"> after',
    tell_them: '<img src=x onerror="window.__xss = 5">',
    quick_replies: ['<img src=x onerror="window.__xss = 6">'],
    sources: [
      { title: '<b onclick="window.__xss = 7">bold</b>', url: 'javascript:window.__xss = 8' },
      { title: 'Fine source', url: 'https://example.org/a' },
      { title: 'Data URL', url: 'data:text/html,<script>alert(1)</script>' },
    ],
  }));
  const reply = part(page, 'bot-message').last();
  assert.match(await reply.locator('.bubble').textContent(), /Before <script>window.__xss = 3<\/script> and <img src=x onerror="window.__xss = 4"> after/);
  assert.equal(await reply.locator('[data-part="tell-them"] p').textContent(), '\u201c<img src=x onerror="window.__xss = 5">\u201d');
  assert.equal(await part(page, 'quick-reply').last().textContent(), '<img src=x onerror="window.__xss = 6">');
  const counts = await page.evaluate(() => {
    const root = document.querySelector('backline-chat').shadowRoot;
    return {
      img: root.querySelectorAll('img').length,
      script: root.querySelectorAll('script').length,
      b: root.querySelectorAll('b').length,
      hrefs: [...[...root.querySelectorAll('[data-part="bot-message"]')].pop().querySelectorAll('[data-part="sources"] a')].map((a) => a.getAttribute('href')),
      allHttp: [...root.querySelectorAll('a[href]')].every((a) => /^(https?:\/\/|tel:[+\d]+$)/.test(a.getAttribute('href'))),
      xss: window.__xss,
    };
  });
  assert.deepEqual(counts, { img: 0, script: 0, b: 0, hrefs: ['https://example.org/a'], allHttp: true, xss: undefined });
  assert.match(await reply.locator('[data-part="sources"]').textContent(), /<b onclick="window.__xss = 7">bold<\/b>/);
  await page.context().close();
});

test('the server restarted mid-conversation: the widget says so, reconnects, keeps the history and sends what was typed offline', CASE, async () => {
  const page = await newPage();
  await openFromPage(page);
  const first = await ask(page, 'can i take ibuprofen with chemo');
  const firstAnswer = await first.locator('.bubble').innerText();

  await killServer('SIGKILL');
  await page.waitForFunction(() => /reconnecting|unreachable/.test(document.querySelector('backline-chat').shadowRoot.querySelector('.root').dataset.state));
  const status = part(page, 'status');
  await status.waitFor({ state: 'visible' });
  assert.match(await status.innerText(), /Reconnecting|can’t reach/);

  // Typed while offline: queued, and visibly so.
  await part(page, 'input').fill('is heat or ice better for back pain');
  await part(page, 'input').press('Enter');
  const queued = part(page, 'user-message').last();
  assert.equal(await queued.getAttribute('data-status'), 'queued');
  assert.match(await queued.innerText(), /Waiting for connection/);
  await shot(page, 'desktop-reconnecting.png');

  await startServer();   // same port, same database
  await page.waitForFunction(() => document.querySelector('backline-chat').shadowRoot.querySelector('.root').dataset.state === 'online');
  await status.waitFor({ state: 'hidden' });
  // The history is redrawn from the server and the queued message goes and is answered.
  await page.waitForFunction(() => document.querySelector('backline-chat').shadowRoot.querySelectorAll('[data-part="bot-message"]').length === 2);
  assert.deepEqual(await part(page, 'user-message').locator('.bubble').allInnerTexts(),
    ['can i take ibuprofen with chemo', 'is heat or ice better for back pain']);
  assert.equal(await part(page, 'user-message').last().getAttribute('data-status'), null);
  assert.equal(await part(page, 'bot-message').first().locator('.bubble').innerText(), firstAnswer);

  // A reload resumes the same conversation from the session kept for the tab (sessionStorage).
  await page.reload();
  await part(page, 'panel').waitFor({ state: 'visible' });   // it stays open across pages
  await page.waitForFunction(() => document.querySelector('backline-chat').shadowRoot.querySelectorAll('[data-part="bot-message"]').length === 2);
  assert.deepEqual(await part(page, 'user-message').locator('.bubble').allInnerTexts(),
    ['can i take ibuprofen with chemo', 'is heat or ice better for back pain']);
  await page.context().close();
});

test('a message the server refuses is marked "not sent" with a retry; deleting the conversation starts afresh', CASE, async () => {
  const page = await newPage();
  // Between page and server: the first "what helps back pain" is answered with an error frame.
  let refused = 0;
  await page.routeWebSocket(/\/ws/, (ws) => {
    const upstream = ws.connectToServer();
    ws.onMessage((m) => {
      const f = JSON.parse(m);
      if (f.type === 'message' && f.text === 'what helps back pain' && refused++ === 0) {
        ws.send(JSON.stringify({ type: 'error', code: 'rate_limited', message: 'Too many messages.' }));
      } else {
        upstream.send(m);
      }
    });
  });
  await openFromPage(page);
  await part(page, 'input').fill('what helps back pain');
  await part(page, 'input').press('Enter');
  const mine = part(page, 'user-message').last();
  await page.waitForFunction(() => document.querySelector('backline-chat').shadowRoot.querySelector('[data-part="user-message"][data-status="failed"]'));
  assert.match(await mine.innerText(), /Not sent/);
  await mine.locator('[data-part="retry"]').click();
  await page.waitForFunction(() => document.querySelector('backline-chat').shadowRoot.querySelectorAll('[data-part="bot-message"]').length === 1);
  assert.equal(await part(page, 'user-message').count(), 1, 'the retried message is not duplicated');
  assert.equal(await part(page, 'user-message').last().getAttribute('data-status'), null);
  assert.equal(refused, 2);

  const sessionBefore = await page.evaluate(() => sessionStorage.getItem('backline.session.demo'));
  assert.match(sessionBefore, /^[0-9a-f]{32}$/);
  await part(page, 'delete').click();
  await part(page, 'delete-yes').click();
  await page.waitForFunction((old) => {
    const s = sessionStorage.getItem('backline.session.demo');
    return s && s !== old;
  }, sessionBefore);
  await part(page, 'welcome').waitFor();
  assert.equal(await part(page, 'user-message').count(), 0);
  assert.equal(await part(page, 'bot-message').count(), 0);
  await page.context().close();
});

test('keyboard only: Tab to the launcher, Enter, type, Enter, Tab to a quick reply, Enter, Escape', CASE, async () => {
  const page = await newPage();
  await page.goto(`${base}/`);
  await page.locator('backline-chat').waitFor({ state: 'attached' });
  let reached = false;
  for (let i = 0; i < 60 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = (await focused(page)) === 'launcher';
  }
  assert.ok(reached, 'the launcher is in the page\'s Tab order');
  await shot(page, 'desktop-launcher-focused.png');
  assert.equal(await part(page, 'launcher').getAttribute('aria-expanded'), 'false');
  await page.keyboard.press('Enter');
  await part(page, 'panel').waitFor({ state: 'visible' });
  assert.equal(await part(page, 'launcher').getAttribute('aria-expanded'), 'true');
  await page.waitForFunction(() => {
    const r = document.querySelector('backline-chat').shadowRoot;
    return r.activeElement && r.activeElement.dataset.part === 'input';
  });
  await part(page, 'welcome').waitFor();

  await page.keyboard.type('why does cancer cause back pain');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('backline-chat').shadowRoot.querySelectorAll('[data-part="bot-message"]').length === 1);
  assert.equal(await focused(page), 'input');

  // The quick replies sit just above the input: Shift+Tab reaches them.
  let qr = false;
  for (let i = 0; i < 10 && !qr; i++) {
    await page.keyboard.press('Shift+Tab');
    qr = (await focused(page)) === 'quick-reply';
  }
  assert.ok(qr, 'a quick reply is reachable with Tab');
  const label = await page.evaluate(() => document.querySelector('backline-chat').shadowRoot.activeElement.textContent);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('backline-chat').shadowRoot.querySelectorAll('[data-part="bot-message"]').length === 2);
  assert.equal(await part(page, 'user-message').last().locator('.bubble').innerText(), label);
  assert.equal(await focused(page), 'input');

  await page.keyboard.press('Escape');
  await part(page, 'panel').waitFor({ state: 'hidden' });
  assert.equal(await focused(page), 'launcher', 'Escape returns focus to the launcher');
  // Space opens it too.
  await page.keyboard.press('Space');
  await part(page, 'panel').waitFor({ state: 'visible' });
  await page.context().close();
});

test('a 375 px wide phone: the panel is full-screen, with reduced motion respected', CASE, async () => {
  const page = await newPage({ width: 375, height: 667 }, { isMobile: true, hasTouch: true, deviceScaleFactor: 2, reducedMotion: 'reduce' });
  await page.goto(`${base}/`);
  await part(page, 'launcher').click();
  await part(page, 'welcome').waitFor();
  const box = await part(page, 'panel').boundingBox();
  assert.deepEqual(box, { x: 0, y: 0, width: 375, height: 667 });
  assert.equal(await part(page, 'launcher').isVisible(), false, 'the launcher hides behind the full-screen panel');
  assert.equal(await part(page, 'panel').evaluate((e) => getComputedStyle(e).animationName), 'none');
  const overflow = await page.evaluate(() => {
    const r = document.querySelector('backline-chat').shadowRoot;
    return [...r.querySelectorAll('.bubble, .qr, .composer')].some((e) => e.getBoundingClientRect().right > 375.5);
  });
  assert.equal(overflow, false);
  await shot(page, 'phone-welcome.png');
  await ask(page, 'what helps back pain at night');
  await shot(page, 'phone-answer.png');
  await ask(page, RED_FLAG);
  await shot(page, 'phone-red-flag.png');
  await part(page, 'close').click();
  await part(page, 'panel').waitFor({ state: 'hidden' });
  assert.ok(await part(page, 'launcher').isVisible());
  await page.context().close();
});

test('Backline.init options: position, colour, title, greeting, language', CASE, async () => {
  const page = await newPage();
  await page.goto(`${base}/`);
  await page.waitForFunction(() => window.Backline && document.querySelector('backline-chat'));
  await page.evaluate(() => window.Backline.init({ position: 'left', color: '#ffcc00', title: 'Ask the nurses', greeting: 'Hi from Riverside.', lang: 'fr' }));
  await page.evaluate(() => window.Backline.open());
  await part(page, 'welcome').waitFor();
  assert.equal(await page.locator('backline-chat').count(), 1, 'init replaces the widget, never duplicates it');
  const panel = await part(page, 'panel').boundingBox();
  assert.ok(panel.x < 40, 'on the left');
  assert.equal(await page.locator('#bl-title').innerText(), 'Ask the nurses');
  assert.equal(await part(page, 'greeting').innerText(), 'Hi from Riverside.');
  assert.equal(await part(page, 'input').getAttribute('aria-label'), 'Votre message');
  // A light colour is darkened until white text on it passes AA.
  const bg = await part(page, 'send').evaluate((e) => getComputedStyle(e).backgroundColor);
  const [r, g, b] = bg.match(/\d+/g).map(Number);
  const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  assert.ok(1.05 / (0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b) + 0.05) >= 4.5, `contrast on ${bg}`);
  await shot(page, 'desktop-options-left-fr.png');
  await page.evaluate(() => window.Backline.close());
  await part(page, 'panel').waitFor({ state: 'hidden' });
  await page.context().close();
});

// ---- issue 24 ---------------------------------------------------------------------------
const shadowState = (page) => page.evaluate(() => document.querySelector('backline-chat').shadowRoot.querySelector('.root').dataset.state);
async function waitFor(cond, ms, what) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`not within ${ms} ms: ${what}`);
}

test('reconnect: at once when the browser is back online or the page visible again; backoff capped at 5 s', { timeout: 60_000 }, async () => {
  const page = await newPage();
  // No jitter in this page: every delay is its cap, so the gaps between attempts show the caps.
  await page.addInitScript(() => { Math.random = () => 1; });
  let mode = 'up';   // up: through to the server; down: refused at once; hang: never answered
  let current = null;
  const attempts = [];
  await page.routeWebSocket(/\/ws/, (ws) => {
    attempts.push({ at: Date.now(), mode });
    current = ws;
    if (mode === 'up') ws.connectToServer();
    else if (mode === 'down') ws.close({ code: 1011, reason: 'down' });
  });
  await openFromPage(page);
  await waitFor(async () => (await shadowState(page)) === 'online', WAIT, 'online at first');

  // The server goes away: attempts back off, but never wait more than 5 s (+ slack for a busy machine).
  mode = 'down';
  const from = attempts.length;
  current.close({ code: 1011, reason: 'gone' });
  for (let n = 1; n <= 6; n++) {
    const prev = attempts[attempts.length - 1].at;
    await waitFor(async () => attempts.length >= from + n, 5000 + 1500, `attempt ${n} within 5 s of the one before`);
    if (n > 1) assert.ok(attempts[from + n - 1].at - prev <= 6000, `gap before attempt ${n}`);
  }
  const gaps = attempts.slice(from).map((a, i, all) => (i ? a.at - all[i - 1].at : 0));
  assert.ok(Math.max(...gaps) >= 3500, `it still backs off: ${gaps}`);
  assert.equal(await shadowState(page), 'unreachable');

  // The page becomes visible again while a retry is pending: it tries at once.
  mode = 'up';
  let n = attempts.length;
  await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
  await waitFor(async () => attempts.length > n, 1500, 'an attempt right after visibilitychange');
  await waitFor(async () => (await shadowState(page)) === 'online', 3000, 'online after visibilitychange');

  // A connection attempt hangs (a dead network); the browser comes back online: it starts afresh
  // at once instead of waiting for the hung attempt to time out.
  mode = 'hang';
  n = attempts.length;
  current.close({ code: 1011, reason: 'gone' });
  await waitFor(async () => attempts.length > n, 3000, 'a hanging attempt');
  await waitFor(async () => (await shadowState(page)) !== 'online', 3000, 'offline');
  mode = 'up';
  n = attempts.length;
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await waitFor(async () => attempts.length > n, 1500, 'an attempt right after online');
  await waitFor(async () => (await shadowState(page)) === 'online', 3000, 'online after the online event');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the accent colour is the configured one, whatever the host page\'s cascade says', CASE, async () => {
  const page = await newPage();
  await page.goto(`${base}/`);
  await page.waitForFunction(() => window.Backline && document.querySelector('backline-chat'));
  await page.addStyleTag({ content: '* { color: rgb(255, 0, 0) !important; } span { color: lime !important; }' });
  const accent = async () => part(page, 'launcher').evaluate((e) => getComputedStyle(e).backgroundColor);
  await page.evaluate(() => window.Backline.init({ color: '#6b2fa0' }));
  assert.equal(await accent(), 'rgb(107, 47, 160)');
  await page.evaluate(() => window.Backline.init({ color: 'rebeccapurple' }));
  assert.equal(await accent(), 'rgb(102, 51, 153)');
  await page.evaluate(() => window.Backline.init({}));
  assert.equal(await accent(), 'rgb(11, 92, 120)', 'the default');
  await page.context().close();
});

// Whether the first occurrence of `text` in `root` is laid out on more than one line.
function splitAcrossLines(root, text) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  let all = '';
  for (let n = walker.nextNode(); n; n = walker.nextNode()) { nodes.push([n, all.length]); all += n.textContent; }
  const start = all.indexOf(text);
  if (start < 0) throw new Error(`not found: ${text}`);
  const end = start + text.length;
  const at = (pos) => { for (let i = nodes.length - 1; i >= 0; i--) if (nodes[i][1] <= pos) return [nodes[i][0], pos - nodes[i][1]]; return null; };
  const range = document.createRange();
  range.setStart(...at(start));
  range.setEnd(...at(end - 1));
  range.setEnd(range.endContainer, range.endOffset + 1);
  const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
  return tops.size > 1;
}

test('phone numbers in a reply never break across lines', CASE, async () => {
  const page = await newPage({ width: 375, height: 667 }, { isMobile: true, hasTouch: true });
  await openFromPage(page, `${base}/?test=1`);
  const numbers = ['999', '116 123', '555-0142', '01632 960 000', '020 7946 0000', '(555) 010-0142', '+44 20 7946 0000'];
  // Each number after a word of 1 to 40 letters: somewhere it meets the end of a line.
  const paras = [];
  for (const n of numbers) for (let k = 1; k <= 40; k++) paras.push(`${'w'.repeat(k)} call ${n} today.`);
  await page.evaluate((text) => window.Backline._renderForTest({ type: 'reply', seq: 50, kind: 'answer', urgency: 'none', text }), paras.join('\n\n'));
  const broken = await page.evaluate(({ fn, numbers }) => {
    const split = new Function(`return (${fn})`)();
    const bubble = [...document.querySelector('backline-chat').shadowRoot.querySelectorAll('[data-part="bot-message"] .bubble')].pop();
    const out = [];
    for (const p of bubble.querySelectorAll('p')) {
      const n = numbers.find((x) => p.textContent.includes(` ${x} `));
      if (split(p, n)) out.push(p.textContent);
    }
    return out;
  }, { fn: splitAcrossLines.toString(), numbers });
  assert.deepEqual(broken, []);
  // Text that is not a phone number still wraps: a long reply does not overflow the bubble.
  const overflow = await page.evaluate(() => {
    const b = [...document.querySelector('backline-chat').shadowRoot.querySelectorAll('[data-part="bot-message"] .bubble')].pop();
    return b.scrollWidth > b.clientWidth + 1;
  });
  assert.equal(overflow, false);
  await page.context().close();
});

test('after a red flag the "tell them" sentence is shown once, in its box; the server\'s text is otherwise as sent', CASE, async () => {
  const page = await newPage();
  const frames = [];
  await page.routeWebSocket(/\/ws/, (ws) => {
    const upstream = ws.connectToServer();
    upstream.onMessage((m) => { frames.push(JSON.parse(m)); ws.send(m); });
  });
  await openFromPage(page, `${base}/?test=1`);
  const reply = await ask(page, RED_FLAG);
  const frame = frames.filter((f) => f.type === 'reply').pop();
  assert.ok(frame.tell_them && frame.text.includes(`Tell them: "${frame.tell_them}"`), 'the server repeats it in the text');
  const shown = await reply.innerText();
  assert.equal(shown.split(frame.tell_them).length - 1, 1, `once: ${shown}`);
  assert.equal(await reply.locator('[data-part="tell-them"] p').textContent(), `\u201c${frame.tell_them}\u201d`);
  const bubble = await reply.locator('.bubble').textContent();
  assert.equal(bubble, frame.text.replace(`Tell them: "${frame.tell_them}" `, ''), 'only that sentence goes');
  // Announced in full.
  await page.waitForFunction((t) => document.querySelector('backline-chat').shadowRoot.querySelector('[data-part="live-alert"]').textContent.includes(t), frame.tell_them);

  // Without a box (no urgency) nothing is taken out; with curly quotes it is.
  await page.evaluate(() => window.Backline._renderForTest({ type: 'reply', seq: 60, kind: 'answer', urgency: 'none', tell_them: 'X y z.', text: 'Call us. Tell them: "X y z." Then wait.' }));
  assert.equal(await part(page, 'bot-message').last().locator('.bubble').textContent(), 'Call us. Tell them: "X y z." Then wait.');
  await page.evaluate(() => window.Backline._renderForTest({ type: 'reply', seq: 61, kind: 'escalation', urgency: 'urgent', tell_them: 'I am unwell.', text: 'Call us today. Tell them: \u201cI am unwell.\u201d Keep warm.' }));
  assert.equal(await part(page, 'bot-message').last().locator('.bubble').textContent(), 'Call us today. Keep warm.');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the disclaimer and the welcome do not repeat each other', CASE, async () => {
  const page = await newPage();
  await openFromPage(page);
  const log = await part(page, 'log').innerText();
  assert.equal((log.match(/not a diagnosis/gi) || []).length, 1, log);
  assert.equal(await part(page, 'log').locator('a[href="tel:911"]').count(), 1, 'the emergency number once');
  assert.equal(await part(page, 'disclaimer-tel').getAttribute('href'), 'tel:911');
  await page.context().close();

  // A clinic whose welcome says none of it: the disclaimer card says it.
  const other = await newPage();
  await other.routeWebSocket(/\/ws/, (ws) => {
    const upstream = ws.connectToServer();
    upstream.onMessage((m) => {
      const f = JSON.parse(m);
      if (f.type === 'welcome') f.text = 'Hello from Riverside. What would you like to know?';
      ws.send(JSON.stringify(f));
    });
  });
  await openFromPage(other);
  const card = part(other, 'disclaimer');
  assert.match(await card.innerText(), /not a diagnosis/);
  assert.equal(await card.locator('a').getAttribute('href'), 'tel:911');
  await other.context().close();
});

test('wrapped quick replies are evenly laid out: rows start at the same edge, with equal gaps', CASE, async () => {
  const page = await newPage({ width: 375, height: 667 }, { isMobile: true, hasTouch: true });
  await openFromPage(page, `${base}/?test=1`);
  await page.evaluate(() => window.Backline._renderForTest({
    type: 'reply', seq: 70, kind: 'answer', urgency: 'none', text: 'Here is some information.',
    quick_replies: ['Yes', 'What helps back pain at night?', 'No', 'When should I call?', 'Heat or ice?', 'Tell me more about exercise'],
  }));
  await page.waitForFunction(() => document.querySelector('backline-chat').shadowRoot.querySelectorAll('[data-part="quick-reply"]').length === 6);
  const boxes = await part(page, 'quick-reply').evaluateAll((bs) => bs.map((b) => { const r = b.getBoundingClientRect(); return { x: r.left, y: r.top, r: r.right, b: r.bottom, h: r.height }; }));
  const rows = [];
  for (const b of boxes) {
    const row = rows.find((r) => Math.abs(r[0].y - b.y) < 2);
    if (row) row.push(b); else rows.push([b]);
  }
  assert.ok(rows.length >= 2, 'they wrap');
  const lefts = rows.map((r) => Math.round(r[0].x));
  assert.ok(Math.max(...lefts) - Math.min(...lefts) <= 1, `rows start at the same x: ${lefts}`);
  const hgaps = rows.flatMap((r) => r.slice(1).map((b, i) => Math.round(b.x - r[i].r)));
  assert.ok(Math.max(...hgaps) - Math.min(...hgaps) <= 1, `equal gaps in a row: ${hgaps}`);
  const vgaps = rows.slice(1).map((r, i) => Math.round(r[0].y - Math.max(...rows[i].map((b) => b.b))));
  assert.ok(vgaps.every((g) => Math.abs(g - hgaps[0]) <= 1), `rows as far apart as pills: ${vgaps} vs ${hgaps[0]}`);
  for (const r of rows) assert.ok(Math.max(...r.map((b) => b.h)) - Math.min(...r.map((b) => b.h)) <= 1, 'one height per row');
  await page.waitForTimeout(400);   // the panel's opening animation
  await shot(page, 'phone-quick-replies.png');
  await page.context().close();
});

test('on a phone the full-screen panel is a modal dialog; Escape returns focus to what opened it', CASE, async () => {
  const page = await newPage({ width: 375, height: 667 }, { isMobile: true, hasTouch: true });
  await page.goto(`${base}/`);
  await page.locator('backline-chat').waitFor({ state: 'attached' });
  await page.locator('#chat-with-us').focus();
  await page.keyboard.press('Enter');
  await part(page, 'panel').waitFor({ state: 'visible' });
  await part(page, 'welcome').waitFor();
  assert.equal(await part(page, 'panel').getAttribute('aria-modal'), 'true');
  // The page behind is out of reach: inert (no focus, no clicks) and out of the accessibility tree.
  assert.equal(await page.locator('main').evaluate((e) => !!e.closest('[inert]')), true, 'the page is inert');
  const tree = await page.locator('body').ariaSnapshot();
  assert.doesNotMatch(tree, /Good afternoon, Alex/);
  assert.doesNotMatch(tree, /Chat with us/);
  // Tab and Shift+Tab stay in the panel.
  for (const key of ['Tab', 'Shift+Tab']) {
    for (let i = 0; i < 12; i++) {
      await page.keyboard.press(key);
      assert.equal(await page.evaluate(() => document.activeElement === document.querySelector('backline-chat')), true, `${key} ${i}`);
    }
  }
  await part(page, 'input').focus();
  await page.keyboard.press('Escape');
  await part(page, 'panel').waitFor({ state: 'hidden' });
  assert.equal(await focused(page), 'chat-with-us', 'focus goes back to the page\'s button');
  assert.equal(await page.locator('main').evaluate((e) => !!e.closest('[inert], [aria-hidden="true"]')), false, 'the page is back');
  assert.match(await page.locator('body').ariaSnapshot(), /Good afternoon, Alex/);
  await page.context().close();

  // On a desktop the panel sits beside the page: not modal, the page stays usable.
  const desk = await newPage();
  await desk.goto(`${base}/`);
  await desk.locator('backline-chat').waitFor({ state: 'attached' });
  await desk.locator('#chat-with-us').focus();
  await desk.keyboard.press('Enter');
  await part(desk, 'welcome').waitFor();
  assert.equal(await part(desk, 'panel').getAttribute('aria-modal'), 'false');
  assert.equal(await desk.locator('main').evaluate((e) => !!e.closest('[inert], [aria-hidden="true"]')), false);
  await desk.keyboard.press('Escape');
  await part(desk, 'panel').waitFor({ state: 'hidden' });
  assert.equal(await focused(desk), 'chat-with-us', 'Escape returns focus to the element that opened the panel');
  await desk.context().close();
});

// The demo page's own accessibility, without axe-core (not in node_modules): the three rules
// it broke (label-content-name-mismatch, region, scrollable-region-focusable) checked on the DOM.
test('a page from an origin the clinic does not allow: the widget says the chat is not set up there, tells the console what to add, and stops retrying', CASE, async () => {
  // The page is served from 127.0.0.2, an origin no shipped clinic allows, and loads the
  // widget from the test server on 127.0.0.1 (as a clinic portal loads it from Backline).
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Portal</title></head>
<body><main><h1>Another portal</h1></main>
<script src="${base}/widget.js" data-clinic="demo"></script></body></html>`;
  const portal = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
    res.end(html);
  });
  await new Promise((resolve) => portal.listen(0, '127.0.0.2', resolve));
  const origin = `http://127.0.0.2:${portal.address().port}`;
  try {
    const page = await newPage();
    const consoleErrors = [];
    page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
    let sockets = 0;
    page.on('websocket', () => { sockets++; });
    await page.goto(`${origin}/`);
    await part(page, 'launcher').click();
    await page.waitForFunction(
      () => document.querySelector('backline-chat').shadowRoot.querySelector('.root').getAttribute('data-state') === 'refused');
    const status = part(page, 'status');
    assert.equal(await status.isVisible(), true);
    assert.match(await status.innerText(), /not set up for this website/);
    assert.doesNotMatch(await status.innerText(), /can.t reach/i, 'not presented as an outage');
    assert.equal(await part(page, 'retry-now').isVisible(), false, 'nothing to retry');
    const logged = consoleErrors.find((t) => t.startsWith('Backline:'));
    assert.ok(logged, `a console error for the page's owner: ${consoleErrors.join(' | ')}`);
    assert.ok(logged.includes(origin), logged);
    assert.match(logged, /origin_not_allowed/);
    assert.match(logged, /"allowed_origins" in dialogs\/clinics\/demo\.json/);
    assert.match(logged, /SIGHUP/);
    // No more attempts: the backoff would have retried within 5 s (and "Retry now" is gone).
    const after = sockets;
    await page.waitForTimeout(6000);
    assert.equal(sockets, after, 'the widget stopped retrying');
    assert.equal(await page.evaluate(() => document.querySelector('backline-chat').shadowRoot.querySelector('.root').getAttribute('data-state')), 'refused');
    // What is typed now is marked as not sent, rather than waiting for ever.
    await part(page, 'input').fill('hello');
    await part(page, 'input').press('Enter');
    await part(page, 'retry').waitFor();
    assert.equal(await part(page, 'user-message').last().getAttribute('data-status'), 'failed');
    assert.deepEqual(page.errors, []);
    await page.context().close();
  } finally {
    portal.close();
  }
});

test('demo page: link names contain their text, all content is in landmarks, scrolling regions take focus; the phone keeps its navigation', CASE, async () => {
  for (const viewport of [{ width: 1280, height: 800 }, { width: 375, height: 667 }]) {
    const page = await newPage(viewport);
    await page.goto(`${base}/`);
    await page.locator('backline-chat').waitFor({ state: 'attached' });
    const report = await page.evaluate(() => {
      const norm = (s) => (s || '').replace(/\s+/g, ' ').trim().toLowerCase();
      const visible = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden';
      const mismatched = [...document.querySelectorAll('a[aria-label], button[aria-label]')]
        .filter((e) => visible(e) && !norm(e.getAttribute('aria-label')).includes(norm(e.innerText)))
        .map((e) => `${e.getAttribute('aria-label')} / ${e.innerText}`);
      const LANDMARK = 'header, nav, main, footer, aside, [role=banner], [role=navigation], [role=main], [role=contentinfo], [role=complementary], [role=region], [role=search]';
      const outside = [];
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const e = n.parentElement;
        if (!n.textContent.trim() || !e || e.closest('script, style, backline-chat, .skip') || !visible(e)) continue;
        if (!e.closest(LANDMARK)) outside.push(n.textContent.trim().slice(0, 40));
      }
      const unreachable = [];
      for (const e of document.body.querySelectorAll('*')) {
        if (e.closest('backline-chat')) continue;
        const cs = getComputedStyle(e);
        const scrolls = (/(auto|scroll)/.test(cs.overflowX) && e.scrollWidth > e.clientWidth + 1) ||
                        (/(auto|scroll)/.test(cs.overflowY) && e.scrollHeight > e.clientHeight + 1);
        if (!scrolls) continue;
        const focusable = e.tabIndex >= 0 || e.querySelector('a[href], button, input, select, textarea, [tabindex="0"]');
        const named = e.getAttribute('role') !== 'region' || e.getAttribute('aria-label') || e.getAttribute('aria-labelledby');
        if (!focusable || !named) unreachable.push(e.className || e.tagName);
      }
      return { mismatched, outside, unreachable, pageScrollsSideways: document.scrollingElement.scrollWidth > innerWidth };
    });
    assert.deepEqual(report, { mismatched: [], outside: [], unreachable: [], pageScrollsSideways: false }, `${viewport.width} px`);
    // The navigation is there on every screen, and fits.
    const links = page.locator('nav.main a');
    assert.equal(await links.count(), 5);
    for (const a of await links.all()) {
      assert.ok(await a.isVisible(), `${await a.textContent()} visible at ${viewport.width} px`);
      const b = await a.boundingBox();
      assert.ok(b.x >= 0 && b.x + b.width <= viewport.width && b.height >= 24, `${await a.textContent()} fits: ${JSON.stringify(b)}`);
    }
    if (viewport.width === 375) {
      // The medicines table scrolls sideways on a phone; the keyboard reaches it and can scroll it.
      const wrap = page.locator('.table-wrap');
      assert.ok(await wrap.evaluate((e) => e.scrollWidth > e.clientWidth), 'the table is wider than a phone');
      await wrap.focus();
      await page.keyboard.press('ArrowRight');
      await page.waitForFunction(() => document.querySelector('.table-wrap').scrollLeft > 0);
      await shot(page, 'phone-demo-page.png');
    }
    await page.context().close();
  }
});

// ---- issue 24: the conversation's key, and the history after a reload -------------------------
const botCount = (page, n) => page.waitForFunction(
  (want) => document.querySelector('backline-chat').shadowRoot.querySelectorAll('[data-part="bot-message"]').length === want,
  n, { timeout: WAIT });

test('a reload redraws every reply as it was first shown, and the clarify\'s options still work', CASE, async () => {
  const page = await newPage();
  await openFromPage(page);
  await ask(page, RED_FLAG);
  await ask(page, 'can i take ibuprofen with chemo');
  await ask(page, 'what helps at night');
  await part(page, 'typing').waitFor({ state: 'hidden' });
  const options = await part(page, 'quick-reply').allInnerTexts();
  assert.ok(options.length >= 2, `the clarify offers its options: ${options}`);
  // What each reply showed: its text and every part, then the same after the reload.
  const shown = () => part(page, 'bot-message').evaluateAll((nodes) => nodes.map((n) => ({
    text: n.innerText,
    urgency: n.getAttribute('data-urgency'),
    banner: !!n.querySelector('[data-part="red-flag-banner"]'),
    tell: n.querySelector('[data-part="tell-them"]')?.textContent || null,
    sources: [...n.querySelectorAll('[data-part="sources"] a')].map((a) => a.href),
    feedback: n.querySelectorAll('[data-part="feedback"] button').length,
  })));
  const before = await shown();
  assert.ok(before[0].banner && before[0].tell, 'the red flag has its banner and its "tell them" box');
  assert.equal(before[0].urgency, 'emergency');
  assert.ok(before[1].sources.length >= 1, 'the answer has its sources');
  assert.equal(before[1].feedback, 2, 'the answer has its feedback buttons');

  await page.reload();
  await part(page, 'panel').waitFor({ state: 'visible' });
  await botCount(page, 3);
  await part(page, 'quick-reply').first().waitFor();
  assert.deepEqual(await shown(), before, 'every reply is as it was first shown');
  assert.deepEqual(await part(page, 'quick-reply').allInnerTexts(), options, 'the clarify\'s options are back');

  // An option still answers, from the state the server kept.
  await part(page, 'quick-reply').first().click();
  await botCount(page, 4);
  const picked = part(page, 'bot-message').last();
  assert.equal(await part(page, 'user-message').last().locator('.bubble').innerText(), options[0]);
  assert.ok((await picked.locator('[data-part="sources"] a').count()) >= 1, `an answer with sources: ${await picked.innerText()}`);
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

test('the conversation\'s key stays out of URLs, is sent in the first frame, and is kept for this tab only', CASE, async () => {
  const page = await newPage();
  const sockets = [];
  page.on('websocket', (ws) => {
    const s = { url: ws.url(), sent: [] };
    sockets.push(s);
    ws.on('framesent', (f) => s.sent.push(String(f.payload)));
  });
  await openFromPage(page);
  await ask(page, 'can i take ibuprofen with chemo');
  const sid = await page.evaluate(() => sessionStorage.getItem('backline.session.demo'));
  assert.match(sid, /^[0-9a-f]{32}$/);
  assert.equal(await page.evaluate(() => localStorage.getItem('backline.session.demo')), null, 'nothing in localStorage');

  await page.reload();
  await botCount(page, 1);   // resumed: the answer is back
  assert.ok(sockets.length >= 2);
  for (const s of sockets) {
    assert.ok(!s.url.includes(sid) && !/[?&]session=/.test(s.url), `no key in ${s.url}`);
  }
  const last = sockets[sockets.length - 1];
  assert.deepEqual(JSON.parse(last.sent[0]), { type: 'resume', session: sid }, 'the first frame resumes');
  assert.equal(await page.evaluate(() => sessionStorage.getItem('backline.session.demo')), sid);

  // Another tab of the same browser does not get the conversation.
  const other = await page.context().newPage();
  await openFromPage(other);
  await other.waitForTimeout(300);
  assert.equal(await part(other, 'bot-message').count(), 0, 'a new tab starts afresh');
  assert.notEqual(await other.evaluate(() => sessionStorage.getItem('backline.session.demo')), sid);
  await page.context().close();
});

test('a clinic that remembers conversations keeps the key in localStorage for its hours, then forgets it', CASE, async () => {
  const page = await newPage();
  await page.goto(`${base}/`);
  await page.waitForFunction(() => window.Backline && document.querySelector('backline-chat'));
  await page.evaluate(() => { window.Backline.init({ clinic: 'uk-example' }); window.Backline.open(); });
  await part(page, 'welcome').waitFor();
  await ask(page, 'can i take ibuprofen with chemo');
  const kept = await page.evaluate(() => JSON.parse(localStorage.getItem('backline.session.uk-example')));
  const sid = await page.evaluate(() => sessionStorage.getItem('backline.session.uk-example'));
  assert.equal(kept.id, sid);
  const hours = (kept.until - Date.now()) / 3600e3;
  assert.ok(hours > 11.9 && hours <= 12, `kept for the clinic's 12 hours: ${hours}`);

  // A new tab resumes it (the browser was closed and opened again) ...
  const again = await page.context().newPage();
  await again.goto(`${base}/`);
  await again.waitForFunction(() => window.Backline && document.querySelector('backline-chat'));
  await again.evaluate(() => { window.Backline.init({ clinic: 'uk-example' }); window.Backline.open(); });
  await botCount(again, 1);
  // ... until its time is up.
  await again.evaluate(() => {
    const k = JSON.parse(localStorage.getItem('backline.session.uk-example'));
    localStorage.setItem('backline.session.uk-example', JSON.stringify({ id: k.id, until: Date.now() - 1 }));
  });
  const late = await page.context().newPage();
  await late.goto(`${base}/`);
  await late.waitForFunction(() => window.Backline && document.querySelector('backline-chat'));
  await late.evaluate(() => { window.Backline.init({ clinic: 'uk-example' }); window.Backline.open(); });
  await part(late, 'welcome').waitFor();
  await late.waitForTimeout(300);
  assert.equal(await part(late, 'bot-message').count(), 0, 'an expired key is not used');
  assert.notEqual(await late.evaluate(() => sessionStorage.getItem('backline.session.uk-example')), sid);
  await page.context().close();
});

test('"End and clear this conversation", by keyboard: deleted on the server, cleared here, a fresh start', CASE, async () => {
  const page = await newPage();
  await openFromPage(page);
  await ask(page, 'can i take ibuprofen with chemo');
  const sid = await page.evaluate(() => sessionStorage.getItem('backline.session.demo'));
  const control = part(page, 'delete');
  assert.equal(await control.getAttribute('aria-label'), 'End and clear this conversation');
  await control.focus();
  await page.keyboard.press('Enter');
  assert.equal(await focused(page), 'delete-no', 'the question takes focus, on its safe answer');
  const confirm = part(page, 'delete-confirm');
  assert.equal(await confirm.getAttribute('role'), 'group');
  const question = await page.evaluate(() => {
    const root = document.querySelector('backline-chat').shadowRoot;
    const c = root.querySelector('[data-part="delete-confirm"]');
    return root.getElementById(c.getAttribute('aria-labelledby')).textContent;
  });
  assert.match(question, /end this conversation/i);
  await page.keyboard.press('Shift+Tab');
  assert.equal(await focused(page), 'delete-yes');
  await page.keyboard.press('Enter');
  await page.waitForFunction((old) => {
    const s = sessionStorage.getItem('backline.session.demo');
    return s && s !== old;
  }, sid);
  await part(page, 'welcome').waitFor();
  assert.equal(await part(page, 'bot-message').count(), 0);
  assert.equal(await part(page, 'user-message').count(), 0);
  await page.waitForFunction(() => /ended and cleared/i.test(document.querySelector('backline-chat').shadowRoot.querySelector('[role="status"]').textContent));
  assert.equal(await focused(page), 'input');

  // The old key no longer opens anything, even put back by hand.
  await page.evaluate((old) => sessionStorage.setItem('backline.session.demo', old), sid);
  await page.reload();
  await part(page, 'welcome').waitFor();
  await page.waitForFunction((old) => sessionStorage.getItem('backline.session.demo') !== old, sid);
  assert.equal(await part(page, 'bot-message').count(), 0, 'the deleted conversation is not resumed');
  assert.deepEqual(page.errors, []);
  await page.context().close();
});

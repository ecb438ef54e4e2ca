// The web page of `emoclass serve` in a real browser: Debian's chromium (/usr/bin/chromium), headless,
// driven by playwright-core (no browser download). Run by tests/browser/run.sh, which passes:
//   EMOCLASS_BIN   the emoclass binary        ARTEFACTS  folder for the screenshots
//   CLIP           a real speech clip          LONG_CLIP  a longer recording (several windows)
//   MIC_WAV        the WAV the fake microphone plays
// Each test starts its own browser with a fresh profile. Every request the page makes is recorded:
// anything that is not this server (or a blob:/data: URL made by the page) fails the test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const { EMOCLASS_BIN, ARTEFACTS, CLIP, LONG_CLIP, MIC_WAV } = process.env;
for (const [k, v] of Object.entries({ EMOCLASS_BIN, ARTEFACTS, CLIP, LONG_CLIP, MIC_WAV })) {
  if (!v) throw new Error(`${k} is not set (run tests/browser/run.sh)`);
}
mkdirSync(ARTEFACTS, { recursive: true });

const BROWSER_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--disable-default-apps', '--disable-extensions', '--metrics-recording-only', '--mute-audio'];

let server;
let origin;

function cliResult(file, segments = false) {
  const out = execFileSync(EMOCLASS_BIN, ['--format', 'jsonl', file], { encoding: 'utf8' });
  const r = JSON.parse(out.trim());
  if (!segments) delete r.segments;
  return r;
}

before(async () => {
  server = spawn(EMOCLASS_BIN, ['serve', '--port', '0', '--workers', '2'], { stdio: ['ignore', 'ignore', 'pipe'] });
  origin = await new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error('server did not start: ' + err)), 20000);
    server.stderr.on('data', (d) => {
      err += d;
      const m = /serving on (http:\/\/[0-9.]+:\d+)/.exec(err);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    server.on('exit', (code) => reject(new Error(`server exited (${code}): ${err}`)));
  });
});

after(() => { if (server) server.kill('SIGTERM'); });

async function withBrowser(extraArgs, fn, contextOptions = {}) {
  const profile = mkdtempSync(path.join(tmpdir(), 'emoclass-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [...BROWSER_ARGS, ...extraArgs],
    viewport: { width: 1100, height: 900 },
    ...contextOptions,
  });
  const foreign = [];
  const consoleErrors = [];
  context.on('request', (req) => {
    const url = req.url();
    if (!url.startsWith(origin + '/') && !url.startsWith('blob:') && !url.startsWith('data:')) foreign.push(url);
  });
  try {
    const page = context.pages()[0] || await context.newPage();
    page.on('console', (msg) => { if (msg.type() === 'error') consoleErrors.push(msg.text()); });
    page.on('pageerror', (e) => consoleErrors.push(String(e)));
    await fn(page, context);
    assert.deepEqual(foreign, [], 'the page asked for something other than this server');
    assert.deepEqual(consoleErrors, [], 'errors in the page');
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

async function waitForResult(page) {
  await page.waitForFunction(() => {
    const img = document.getElementById('figure');
    return !document.getElementById('answer').hidden && !document.body.classList.contains('busy') &&
      !img.hidden && img.complete && img.naturalWidth > 0;
  }, null, { timeout: 60000 });
}

async function shownProbabilities(page) {
  return page.$$eval('#bars li', (items) => Object.fromEntries(items.map((li) =>
    [li.dataset.label, li.querySelector('.bar-value').textContent])));
}

const pct = (p) => (100 * p).toFixed(1) + ' %';

test('a chosen file is classified as the command line classifies it', async () => {
  const expected = cliResult(CLIP);
  await withBrowser([], async (page) => {
    await page.goto(origin + '/');
    await page.waitForFunction(() => document.getElementById('model-info').textContent.includes('labels'));
    await page.screenshot({ path: path.join(ARTEFACTS, 'page-empty.png'), fullPage: true });

    await page.setInputFiles('#file', CLIP);
    await waitForResult(page);
    const emotion = await page.textContent('#emotion');
    assert.equal(emotion, expected.emotion, 'shown emotion vs emoclass --format jsonl');
    assert.equal(await page.textContent('#confidence'), pct(expected.confidence));
    const shown = await shownProbabilities(page);
    assert.deepEqual(shown, Object.fromEntries(Object.entries(expected.probabilities).map(([k, v]) => [k, pct(v)])));
    const status = await page.textContent('#status');
    assert.match(status, new RegExp(`${path.basename(CLIP)}: ${expected.emotion}`));
    assert.equal(await page.getAttribute('#status', 'aria-live'), 'polite');
    const figure = await page.$eval('#figure', (img) => [img.naturalWidth, img.naturalHeight, img.alt]);
    assert.ok(figure[0] >= 600 && figure[1] >= 300, `figure ${figure}`);
    assert.match(figure[2], /Spectrogram of/);
    await page.screenshot({ path: path.join(ARTEFACTS, 'page-result.png'), fullPage: true });
    console.log(`# page: ${emotion} ${await page.textContent('#confidence')}; CLI: ${expected.emotion} ${pct(expected.confidence)}`);
  });
});

test('long audio shows the timeline of windows, also on a phone-sized screen', async () => {
  const expected = cliResult(LONG_CLIP, true);
  assert.ok(expected.segments.length >= 4, 'the long clip should span several windows');
  await withBrowser([], async (page) => {
    await page.goto(origin + '/');
    await page.setInputFiles('#file', LONG_CLIP);
    await waitForResult(page);
    assert.equal(await page.textContent('#emotion'), expected.emotion ?? 'no speech found');
    assert.equal(await page.isVisible('#timeline'), true);
    const windows = await page.$$eval('#timeline .window', (cols) => cols.map((c) => c.querySelector('.window-label').textContent));
    assert.equal(windows.length, expected.segments.length);
    assert.deepEqual(windows, expected.segments.map((s) => (s.emotion ? s.emotion.slice(0, 3) : '–')));
    const rows = await page.$$eval('#timeline-table tbody tr', (trs) => trs.map((tr) => tr.cells[2].textContent));
    assert.deepEqual(rows, expected.segments.map((s) => s.emotion ?? 'no speech'));
    // Nothing wider than the screen but the timeline's own scroller and the figure (scaled).
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone's screen`);
    await page.screenshot({ path: path.join(ARTEFACTS, 'page-timeline-phone.png'), fullPage: true });
  }, { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
});

test('keyboard: the drop zone and the buttons are reachable, Enter opens the file chooser', async () => {
  await withBrowser([], async (page) => {
    // Listening from the start makes playwright intercept the chooser before any key is pressed.
    const chosen = new Promise((resolve) => page.on('filechooser', resolve));
    await page.goto(origin + '/');
    const reached = [];
    for (let i = 0; i < 8; i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate(() => document.activeElement.id || document.activeElement.className));
    }
    for (const id of ['drop', 'file', 'record']) assert.ok(reached.includes(id), `Tab never reaches #${id}: ${reached}`);
    await page.focus('#drop');
    await page.keyboard.press('Enter');
    const chooser = await chosen;
    await chooser.setFiles(CLIP);
    await waitForResult(page);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'result', 'focus moves to the result');
  });
});

test('a recording from the (fake) microphone is encoded to WAV and classified', async () => {
  const mic = ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
    `--use-file-for-fake-audio-capture=${MIC_WAV}`, '--autoplay-policy=no-user-gesture-required'];
  await withBrowser(mic, async (page, context) => {
    await context.grantPermissions(['microphone'], { origin });
    await page.goto(origin + '/');
    await page.click('#record');
    await page.waitForFunction(() => document.getElementById('record').getAttribute('aria-pressed') === 'true');
    await page.waitForTimeout(4500);
    await page.screenshot({ path: path.join(ARTEFACTS, 'page-recording.png'), fullPage: true });
    await page.click('#record');
    await waitForResult(page);
    const recorded = await page.textContent('#record-status');
    const seconds = Number(/Recorded ([0-9.]+) s/.exec(recorded)[1]);
    assert.ok(seconds >= 3, recorded);
    const emotion = await page.textContent('#emotion');
    const labels = cliResult(CLIP).probabilities;
    assert.ok(emotion in labels || emotion === 'no speech found', emotion);
    assert.match(await page.textContent('#details'), /^recording\.wav · /);
    const voiced = Number(/(\d+) of \d+ windows with speech/.exec(await page.textContent('#details'))[1]);
    assert.ok(voiced >= 1, 'the fake microphone plays speech: some window must hold it');
    await page.screenshot({ path: path.join(ARTEFACTS, 'page-recorded-result.png'), fullPage: true });
    console.log(`# microphone: ${recorded} -> ${emotion} ${await page.textContent('#confidence')}`);
  });
});

test('/docs renders every path of /openapi.json', async () => {
  await withBrowser([], async (page) => {
    const spec = await (await fetch(origin + '/openapi.json')).json();
    await page.goto(origin + '/docs');
    await page.waitForFunction(() => document.querySelectorAll('.endpoint').length > 0);
    const shown = await page.$$eval('.endpoint h3 code', (codes) => codes.map((c) => c.textContent));
    assert.deepEqual([...new Set(shown)].sort(), Object.keys(spec.paths).sort());
    await page.screenshot({ path: path.join(ARTEFACTS, 'docs.png'), fullPage: false });
  });
});

// tests/browser/page.test.mjs — real-browser end-to-end test of the `facescore serve` page.
// Debian's /usr/bin/chromium driven by playwright-core (no browser download). Builds nothing:
// needs build/facescore (make test-browser builds it). Run from tests/browser: node page.test.mjs
// Starts the server on a free port with a temporary DB, uploads samples/face.jpg through the file
// input, checks the canvas overlay, score text, rank message, the Korean/English toggle and delete
// (then GET /api/v1/results/{id} must be 404), saves out/browser/page.png, stops the server (SIGTERM).
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const bin = process.env.FS_BIN ? resolve(root, process.env.FS_BIN) : join(root, 'build', 'facescore');
const photo = join(root, 'samples', 'face.jpg');
const shot = join(root, 'out', 'browser', 'page.png');
const CHROMIUM = '/usr/bin/chromium';

let passed = 0, failed = 0;
function check(name, ok, detail = '') {
  if (ok) { passed++; console.log(`ok   ${name}`); }
  else { failed++; console.log(`FAIL ${name}${detail ? ': ' + detail : ''}`); }
}

function startServer(db) {
  return new Promise((res, rej) => {
    const p = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--db', db], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    const timer = setTimeout(() => rej(new Error('server did not print its port within 15 s; stderr: ' + err)), 15000);
    p.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/127\.0\.0\.1:\d+\/)/);
      if (m) { clearTimeout(timer); res({ proc: p, url: m[1], log: () => err }); }
    });
    p.stderr.on('data', (d) => { err += d; });
    p.on('exit', (code) => { clearTimeout(timer); rej(new Error(`server exited (${code}) before listening; stderr: ${err}`)); });
  });
}

function stopServer(p) {
  return new Promise((res) => {
    if (p.exitCode !== null) return res(p.exitCode);
    const t = setTimeout(() => { p.kill('SIGKILL'); }, 10000);
    p.once('exit', (code, sig) => { clearTimeout(t); res(code ?? sig); });
    p.kill('SIGTERM');
  });
}

async function main() {
  for (const f of [bin, photo, CHROMIUM])
    if (!existsSync(f)) throw new Error(`missing ${f}` + (f === bin ? ' (run make first)' : ''));
  const tmp = mkdtempSync(join(tmpdir(), 'facescore-browser-'));
  const srv = await startServer(join(tmp, 'results.db'));
  let ctx = null;
  try {
    ctx = await chromium.launchPersistentContext(join(tmp, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
             '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: { width: 900, height: 1200 },
      timeout: 20000,
    });
    const page = ctx.pages()[0] || await ctx.newPage();
    page.setDefaultTimeout(15000);
    const jsErrors = [];
    page.on('pageerror', (e) => jsErrors.push(String(e)));
    page.on('console', (m) => { if (m.type() === 'error') jsErrors.push('console: ' + m.text() + ' ' + JSON.stringify(m.location())); });

    const resp = await page.goto(srv.url);
    check('GET / is 200', resp && resp.status() === 200, resp ? String(resp.status()) : 'no response');
    check('title is facescore', (await page.title()) === 'facescore');
    check('Score button disabled before a photo is chosen', await page.isDisabled('#send'));

    await page.setInputFiles('#file', photo);
    await page.waitForFunction(() => document.getElementById('canvas').width > 0);
    check('Score button enabled after choosing a photo', await page.isEnabled('#send'));

    const scoreResp = page.waitForResponse((r) => r.url().endsWith('/api/v1/score') && r.request().method() === 'POST');
    await page.click('#send');
    const sr = await scoreResp;
    const body = await sr.json();
    check('POST /api/v1/score is 200', sr.status() === 200, String(sr.status()));
    const nFaces = (body.faces || []).length;
    check('API found at least one face', nFaces >= 1, JSON.stringify(body).slice(0, 200));

    await page.waitForSelector('#faces li');
    const items = await page.$$eval('#faces li', (ls) => ls.map((l) => l.textContent));
    check(`${nFaces} face entries rendered`, items.length === nFaces, `rendered ${items.length}`);
    const f0 = body.faces[0];
    const scoreText = f0.score.toFixed(2);
    check(`score ${scoreText} shown`, /\d\.\d\d/.test(items[0]) && items[0].includes(scoreText), items[0]);
    check('English rank message shown', items[0].includes(f0.rank_en), items[0]);
    const status = await page.textContent('#status');
    check('status says faces scored', /face\(s\) scored/.test(status), status);

    // canvas: same size as the photo, not blank, and the green box outline is drawn
    const cv = await page.evaluate((box) => {
      const c = document.getElementById('canvas'), x = c.getContext('2d');
      const d = x.getImageData(0, 0, c.width, c.height).data;
      let nonWhite = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i] < 250 || d[i + 1] < 250 || d[i + 2] < 250) nonWhite++;
      // sample the box's left edge, mid-height: stroke colour #0c0
      const px = x.getImageData(Math.round(box[0]), Math.round(box[1] + box[3] / 2), 1, 1).data;
      const r = c.getBoundingClientRect();
      return { w: c.width, h: c.height, nonWhite, px: Array.from(px), shownW: r.width, shownH: r.height };
    }, f0.box);
    check('canvas has the photo size', cv.w > 0 && cv.h > 0, `${cv.w}x${cv.h}`);
    check('canvas is not blank', cv.nonWhite > cv.w * cv.h * 0.1, `${cv.nonWhite} non-white px`);
    check('box overlay drawn (green at box edge)', cv.px[1] > 150 && cv.px[0] < 80 && cv.px[2] < 80, JSON.stringify(cv.px));
    check('canvas visible on the page', cv.shownW > 0 && cv.shownH > 0, `${cv.shownW}x${cv.shownH}`);
    check('delete button visible', await page.isVisible('#del'));

    // language toggle: English -> Korean -> English
    const sendEn = await page.textContent('#send');
    await page.click('#lang');
    const ko = { send: await page.textContent('#send'), item: await page.textContent('#faces li'),
                 lang: await page.getAttribute('html', 'lang'), btn: await page.textContent('#lang') };
    check('Korean: button text changes', ko.send !== sendEn && /점수/.test(ko.send), ko.send);
    check('Korean: Korean rank message shown', ko.item.includes(f0.rank_ko) && ko.item.includes(scoreText), ko.item);
    check('Korean: html lang=ko, toggle says English', ko.lang === 'ko' && ko.btn === 'English', `${ko.lang} ${ko.btn}`);
    await page.click('#lang');
    const back = await page.textContent('#faces li');
    check('English again', (await page.textContent('#send')) === sendEn && back.includes(f0.rank_en), back);

    await page.screenshot({ path: (mkdirSync(dirname(shot), { recursive: true }), shot), fullPage: true });
    check('screenshot saved', existsSync(shot), shot);

    // delete
    const id = body.id;
    const before = await fetch(srv.url + 'api/v1/results/' + id);
    check('GET result before delete is 200', before.status === 200, String(before.status));
    const delResp = page.waitForResponse((r) => r.request().method() === 'DELETE');
    await page.click('#del');
    const dr = await delResp;
    check('DELETE via page is 2xx', dr.ok(), String(dr.status()));
    await page.waitForFunction(() => document.getElementById('del').hidden);
    check('result list cleared', (await page.$$('#faces li')).length === 0);
    check('status says deleted', /deleted/.test(await page.textContent('#status')));
    const after = await fetch(srv.url + 'api/v1/results/' + id);
    check('GET result after delete is 404', after.status === 404, String(after.status));

    check('no JavaScript errors', jsErrors.length === 0, jsErrors.join(' | '));
  } finally {
    if (ctx) await ctx.close().catch(() => {});
    const code = await stopServer(srv.proc);
    check('server exits 0 on SIGTERM', code === 0, String(code));
    rmSync(tmp, { recursive: true, force: true });
  }
}

const t0 = Date.now();
try { await main(); } catch (e) { failed++; console.log('FAIL ' + (e && e.stack || e)); }
console.log(`browser test took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

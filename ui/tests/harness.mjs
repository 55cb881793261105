// Test harness: opens the built app (ui/dist) in Debian's headless chromium with the Tauri IPC
// mocked (tests/mock-backend.js) and the raddraft:// image scheme answered by a synthetic 16-bit
// image. Everything is served through Playwright routes on a fake origin: no server, no network.
// Any console error, page error or CSP violation fails the test.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const UI = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = join(UI, 'dist');
const TAURI_API = join(UI, 'node_modules', '@tauri-apps', 'api');
export const ORIGIN = 'http://raddraft-ui.test';

// The shell's CSP (src-tauri/tauri.conf.json) so the tests catch inline scripts or styles.
const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob: data:",
  "font-src 'self'",
  "connect-src ipc: http://ipc.localhost raddraft: http://raddraft.localhost",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-src 'none'",
].join('; ');

/** The synthetic image: 256×64, 12 bits stored, four vertical bands of 64 columns. */
export const IMAGE = { columns: 256, rows: 64, bitsStored: 12, bands: [400, 1200, 2400, 3600] };

function syntheticPixels() {
  const data = new Uint16Array(IMAGE.columns * IMAGE.rows);
  for (let y = 0; y < IMAGE.rows; y++) {
    for (let x = 0; x < IMAGE.columns; x++) data[y * IMAGE.columns + x] = IMAGE.bands[Math.floor(x / 64)];
  }
  return Buffer.from(data.buffer);
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml' };
const type = (path) => TYPES[path.slice(path.lastIndexOf('.'))] ?? 'application/octet-stream';

function fileUnder(root, relative) {
  const path = normalize(join(root, relative));
  return path.startsWith(root) && existsSync(path) ? path : null;
}

export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
  if (!existsSync(executablePath)) throw new Error(`${executablePath} not found: install Debian's chromium (scripts/bootstrap.sh does)`);
  if (!existsSync(join(DIST, 'index.html'))) throw new Error('ui/dist is missing: run npm run build first');
  return chromium.launch({
    executablePath,
    headless: true,
    // Software WebGL2 (SwiftShader) so the shader path runs without a GPU.
    args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
  });
}

/** Opens the app on a new page; `scenario` is visible to the mock backend as window.__scenario. */
export async function openApp(browser, scenario = {}) {
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (m) => m.type() === 'error' && problems.push(`console error: ${m.text()}`));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  await page.addInitScript((s) => {
    window.__scenario = s;
    // scenario.noWebgl2: a browser without WebGL2 (software-only VMs), so the viewer falls back
    // to its canvas-2D renderer.
    if (s.noWebgl2) {
      const getContext = HTMLCanvasElement.prototype.getContext;
      HTMLCanvasElement.prototype.getContext = function (type, ...options) {
        return type === 'webgl2' ? null : getContext.call(this, type, ...options);
      };
    }
    // As the shell's app.security.freezePrototype does before any page script.
    Object.freeze(Object.prototype);
  }, scenario);
  const imageRequests = [];
  await context.route('**/*', async (route) => {
    const url = new URL(route.request().url());
    if (url.origin === 'http://raddraft.localhost') {
      imageRequests.push(url.pathname);
      const match = /^\/image\/(\d+)$/.exec(url.pathname);
      if (!match) return route.fulfill({ status: 404, body: `no such image path ${url.pathname}` });
      return route.fulfill({
        status: 200,
        headers: {
          'content-type': 'application/octet-stream',
          'access-control-allow-origin': '*',
          'access-control-expose-headers':
            'x-rows, x-columns, x-bits-stored, x-photometric, x-invert-display, x-value-offset, x-rescale-slope, x-rescale-intercept',
          'x-rows': String(IMAGE.rows),
          'x-columns': String(IMAGE.columns),
          'x-bits-stored': String(IMAGE.bitsStored),
          'x-photometric': 'MONOCHROME2',
          // scenario.valueOffset: the band values stand for signed values band − offset.
          ...(scenario.valueOffset === undefined ? {} : { 'x-value-offset': String(scenario.valueOffset) }),
          // scenario.invertDisplay: MONOCHROME2 with Presentation LUT Shape INVERSE.
          ...(scenario.invertDisplay ? { 'x-invert-display': '1' } : {}),
          // scenario.rescale: the band values are stored values of a Modality Rescale.
          ...(scenario.rescale === undefined
            ? {}
            : { 'x-rescale-slope': String(scenario.rescale.slope), 'x-rescale-intercept': String(scenario.rescale.intercept) }),
        },
        body: syntheticPixels(),
      });
    }
    if (url.origin !== ORIGIN) {
      problems.push(`outside request: ${url.href}`);
      return route.abort();
    }
    if (url.pathname === '/' || url.pathname === '/index.html') {
      const html = readFileSync(join(DIST, 'index.html'), 'utf8').replace(
        '<head>',
        '<head>\n    <script type="module" src="/__test__/mock-backend.js"></script>',
      );
      return route.fulfill({ status: 200, headers: { 'content-type': 'text/html', 'content-security-policy': CSP }, body: html });
    }
    const path = url.pathname.startsWith('/__test__/')
      ? fileUnder(join(UI, 'tests'), url.pathname.slice('/__test__/'.length))
      : url.pathname.startsWith('/@tauri/')
        ? fileUnder(TAURI_API, url.pathname.slice('/@tauri/'.length))
        : fileUnder(DIST, url.pathname.slice(1));
    if (!path) return route.fulfill({ status: 404, body: 'not found' });
    return route.fulfill({ status: 200, headers: { 'content-type': type(path) }, body: readFileSync(path) });
  });
  await page.goto(`${ORIGIN}/`);
  return { page, problems, imageRequests, close: () => context.close() };
}

/** Calls recorded by the mock backend, optionally only those of one command. */
export async function calls(page, command) {
  const all = await page.evaluate(() => window.__mock.calls);
  return command ? all.filter((c) => c.cmd === command) : all;
}

/** Waits until the next frames have been drawn. */
export function frames(page) {
  return page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
}

/** Red channel of the canvas at device-pixel positions (the image is grey). */
export function canvasValues(page, points) {
  return page.evaluate((pts) => {
    const canvas = document.querySelector('canvas.image-canvas');
    const copy = document.createElement('canvas');
    copy.width = canvas.width;
    copy.height = canvas.height;
    const ctx = copy.getContext('2d');
    ctx.drawImage(canvas, 0, 0);
    return pts.map(([x, y]) => ctx.getImageData(Math.round(x), Math.round(y), 1, 1).data[0]);
  }, points);
}

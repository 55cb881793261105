// Front-end tests: the built app in headless Debian chromium with the Tauri IPC mocked.
// Covers the worklist, window/level by drag, SIGMOID header windows and VOI LUT presets on signed
// values (pixel values read back from the WebGL2 canvas, and from the canvas-2D fallback), the
// edit → sign → read-only flow, AI-text marking, the RadGraph colouring and verbatim errors.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { IMAGE, calls, canvasValues, frames, launchBrowser, openApp } from './harness.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

async function withApp(scenario, body) {
  const app = await openApp(browser, scenario);
  try {
    await body(app);
    assert.deepEqual(app.problems, [], 'no console errors, page errors or outside requests');
  } finally {
    await app.close();
  }
}

const patientColumn = (page) => page.locator('table.studies tbody td.patient').allInnerTexts();

test('worklist lists studies with status, searches, sorts and reports import problems', async () => {
  await withApp({}, async ({ page }) => {
    await page.locator('table.studies tbody tr').first().waitFor();
    const rows = await page.locator('table.studies tbody tr').allInnerTexts();
    assert.equal(rows.length, 3);
    // Default: newest date first.
    assert.deepEqual(await patientColumn(page), ['ZHANG^WEI', 'DOE^JANE', 'ADAMS^BOB']);
    assert.match(rows[0], /2026-03-10/);
    assert.match(rows[0], /Signed/);
    assert.match(rows[1], /New/);
    assert.match(rows[2], /Draft ready/);
    assert.match(rows[2], /\bAP\b/);

    await page.getByRole('button', { name: 'Patient' }).click();
    assert.deepEqual(await patientColumn(page), ['ADAMS^BOB', 'DOE^JANE', 'ZHANG^WEI']);
    await page.getByRole('button', { name: 'Patient' }).click();
    assert.deepEqual(await patientColumn(page), ['ZHANG^WEI', 'DOE^JANE', 'ADAMS^BOB']);

    await page.getByLabel('Search studies').fill('doe');
    assert.deepEqual(await patientColumn(page), ['DOE^JANE']);
    assert.equal(await page.getByTestId('study-count').innerText(), '1 of 3 studies');
    await page.getByLabel('Search studies').fill('');

    await page.locator('#import-paths').fill('/tmp/notes.txt');
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'notes.txt' });
    await alert.waitFor();
    assert.equal(await alert.locator('.message-text').innerText(), 'Import: /tmp/notes.txt: not a DICOM file (no "DICM" at byte 128)');
    assert.deepEqual((await calls(page, 'import_paths')).map((c) => c.args), [{ paths: ['/tmp/notes.txt'] }]);
  });
});

test('a corrupt-database error from the shell is shown verbatim', async () => {
  const message = '/data/raddraft.db is not a raddraft database (file is not a database); restore it from a backup or choose another file in Settings';
  await withApp({ fail: { list_studies: { kind: 'corrupt_database', message } } }, async ({ page }) => {
    const alert = page.getByRole('alert');
    await alert.waitFor();
    assert.equal(await alert.locator('.message-text').innerText(), `Loading the worklist: ${message} (corrupt_database)`);
  });
});

/** Device-pixel centres of the four bands on the canvas under the fit-to-window view. */
async function bandCentres(page) {
  const { width, height } = await page.evaluate(() => {
    const c = document.querySelector('canvas.image-canvas');
    return { width: c.width, height: c.height };
  });
  const scale = Math.min(width / IMAGE.columns, height / IMAGE.rows);
  const offsetX = (width - IMAGE.columns * scale) / 2;
  const offsetY = (height - IMAGE.rows * scale) / 2;
  return IMAGE.bands.map((_, i) => [offsetX + (i * 64 + 32) * scale, offsetY + 32 * scale]);
}

/** DICOM PS3.3 C.11.2.1.2 linear window, as 8-bit grey. */
function expectedGrey(value, center, width) {
  const y = (value - (center - 0.5)) / (width - 1) + 0.5;
  return Math.round(Math.min(1, Math.max(0, y)) * 255);
}

async function windowOverlay(page) {
  const text = await page.getByTestId('window-overlay').innerText();
  const match = /C (-?\d+) \/ W (\d+)/.exec(text);
  assert.ok(match, `window overlay reads "${text}"`);
  return { center: Number(match[1]), width: Number(match[2]) };
}

function assertGreys(actual, window, label) {
  const expected = IMAGE.bands.map((v) => expectedGrey(v, window.center, window.width));
  actual.forEach((value, i) =>
    assert.ok(Math.abs(value - expected[i]) <= 2, `${label}: band ${i} grey ${value}, expected ${expected[i]} (C ${window.center} / W ${window.width})`),
  );
}

test('window/level by left-drag changes the rendered pixel values as the DICOM window predicts', async () => {
  await withApp({}, async ({ page, imageRequests }) => {
    await page.locator('table.studies tbody tr[data-study-id="1"] button.link').click();
    const canvas = page.locator('canvas.image-canvas');
    await page.locator('canvas.image-canvas[data-loaded="true"]').waitFor();
    assert.equal(await canvas.getAttribute('data-renderer'), 'webgl2');
    assert.deepEqual(imageRequests, ['/image/10']);
    // The first header preset (C 2048 / W 4096) is the initial window.
    await page.waitForFunction(() => document.querySelector('[data-testid="window-overlay"]')?.textContent?.includes('C 2048 / W 4096'));
    await frames(page);
    const points = await bandCentres(page);
    const before = await canvasValues(page, points);
    assertGreys(before, { center: 2048, width: 4096 }, 'header window');

    // Drag left 200 px (narrower window) and down 50 px (higher centre); 12 bits: 4 values per px.
    const box = await canvas.boundingBox();
    const x = box.x + box.width / 2;
    const y = box.y + box.height / 2;
    await page.mouse.move(x, y);
    await page.mouse.down({ button: 'left' });
    await page.mouse.move(x - 100, y + 25, { steps: 4 });
    await page.mouse.move(x - 200, y + 50, { steps: 4 });
    await page.mouse.up({ button: 'left' });
    const dragged = await windowOverlay(page);
    assert.deepEqual(dragged, { center: 2048 + 200, width: 4096 - 800 });
    // The preset selector no longer names the header preset.
    assert.equal(await selectedPreset(page), 'Custom (C 2248 / W 3296)');
    await frames(page);
    const after = await canvasValues(page, points);
    assertGreys(after, dragged, 'after drag');
    assert.ok(after[0] < before[0] && after[3] > before[3], `narrower window raises contrast: ${before} → ${after}`);

    // Invert (i) mirrors the greys; reset (space) restores the header window.
    await canvas.click({ button: 'middle' });
    await page.keyboard.press('i');
    await frames(page);
    const inverted = await canvasValues(page, points);
    inverted.forEach((v, i) => assert.ok(Math.abs(v - (255 - after[i])) <= 2, `inverted band ${i}: ${v} vs ${255 - after[i]}`));
    await page.keyboard.press(' ');
    await frames(page);
    assert.deepEqual(await windowOverlay(page), { center: 2048, width: 4096 });
    assert.match(await selectedPreset(page), /^1\. .*\(C 2048 \/ W 4096\)$/);
    assertGreys(await canvasValues(page, points), { center: 2048, width: 4096 }, 'after reset');

    // Preset 2 from the header (NARROW, C 1500 / W 1000) via its key.
    await page.keyboard.press('2');
    await frames(page);
    assert.deepEqual(await windowOverlay(page), { center: 1500, width: 1000 });
    assert.match(await selectedPreset(page), /^2\. .*\(C 1500 \/ W 1000\)$/);
    assertGreys(await canvasValues(page, points), { center: 1500, width: 1000 }, 'preset 2');
  });
});

/** Expected 8-bit greys of the four bands from a fraction function of the modality value. */
function assertFractions(actual, fraction, label, offset = 0) {
  const expected = IMAGE.bands.map((v) => Math.round(fraction(v - offset) * 255));
  actual.forEach((value, i) =>
    assert.ok(Math.abs(value - expected[i]) <= 2, `${label}: band ${i} grey ${value}, expected ${expected[i]}`),
  );
}

/** PS3.3 C.11.2.1.2.1 LINEAR and C.11.2.1.3.1 SIGMOID, written out independently of the UI. */
const linear = (center, width) => (x) => Math.min(1, Math.max(0, (x - (center - 0.5)) / (width - 1) + 0.5));
const sigmoid = (center, width) => (x) => 1 / (1 + Math.exp((-4 * (x - center)) / width));

async function openViewer(page) {
  await page.locator('table.studies tbody tr[data-study-id="1"] button.link').click();
  await page.locator('canvas.image-canvas[data-loaded="true"]').waitFor();
  assert.equal(await page.locator('canvas.image-canvas').getAttribute('data-renderer'), 'webgl2');
}

async function overlayLine(page) {
  return (await page.getByTestId('window-overlay').innerText()).split('\n')[0];
}

const presetOptions = (page) => page.getByLabel('Window preset').locator('option').allInnerTexts();
const selectedPreset = (page) => page.getByLabel('Window preset').evaluate((s) => s.options[s.selectedIndex]?.text ?? '');

/** Drags with the window/level button: left 200 px, down 50 px. */
async function dragWindowLevel(page) {
  const box = await page.locator('canvas.image-canvas').boundingBox();
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  await page.mouse.down({ button: 'left' });
  await page.mouse.move(x - 100, y + 25, { steps: 4 });
  await page.mouse.move(x - 200, y + 50, { steps: 4 });
  await page.mouse.up({ button: 'left' });
}

test('a SIGMOID header window renders by the DICOM sigmoid, and dragging keeps the function', async () => {
  const header = { voi_function: 'SIGMOID', windows: [{ center: 2000, width: 1500, explanation: 'SOFT' }] };
  await withApp({ header }, async ({ page }) => {
    await openViewer(page);
    await page.waitForFunction(() => document.querySelector('[data-testid="window-overlay"]')?.textContent?.includes('SIGMOID'));
    assert.equal(await overlayLine(page), 'C 2000 / W 1500 SIGMOID');
    assert.deepEqual(await presetOptions(page), ['1. SOFT (C 2000 / W 1500 SIGMOID)', '2. Full dynamic range (C 2001 / W 3201)']);
    await frames(page);
    const points = await bandCentres(page);
    const greys = await canvasValues(page, points);
    assertFractions(greys, sigmoid(2000, 1500), 'SIGMOID header window');
    // Not the LINEAR window of the same centre and width: the bands differ by tens of levels.
    const asLinear = IMAGE.bands.map((v) => Math.round(linear(2000, 1500)(v) * 255));
    assert.ok(Math.abs(greys[1] - asLinear[1]) > 10, `sigmoid ${greys} vs linear ${asLinear}`);

    await dragWindowLevel(page);
    assert.equal(await overlayLine(page), 'C 2200 / W 700 SIGMOID');
    await frames(page);
    assertFractions(await canvasValues(page, points), sigmoid(2200, 700), 'after drag');
  });
});

test('windows apply to rescaled values: fractional and negative modality values are kept', async () => {
  // CR-style Rescale Slope 0.5 / Intercept −300: the bands stand for band × 0.5 − 300 (−300 … 1747.5).
  const rescale = { slope: 0.5, intercept: -300 };
  const header = { windows: [{ center: 500, width: 1400, explanation: null }], voi_function: 'LINEAR', voi_lut: false, voi_luts: [] };
  const modality = (v) => v * rescale.slope + rescale.intercept;
  await withApp({ header, rescale }, async ({ page }) => {
    await openViewer(page);
    await page.waitForFunction(() => document.querySelector('[data-testid="window-overlay"]')?.textContent?.includes('C 500 / W 1400'));
    await frames(page);
    const points = await bandCentres(page);
    const greys = await canvasValues(page, points);
    // Band 0 is −100: clamping it to 0, as a 16-bit route of rescaled values would, gives 36, not 18.
    assertFractions(greys, (v) => linear(500, 1400)(modality(v)), 'header window on rescaled values');
  });
});

test('Presentation LUT Shape INVERSE on MONOCHROME2 inverts the display, and i inverts it back', async () => {
  const header = { windows: [{ center: 2048, width: 4096, explanation: null }], voi_function: 'LINEAR', voi_lut: false, voi_luts: [] };
  await withApp({ header, invertDisplay: true }, async ({ page }) => {
    await openViewer(page);
    await page.waitForFunction(() => document.querySelector('[data-testid="window-overlay"]')?.textContent?.includes('C 2048 / W 4096'));
    await frames(page);
    const points = await bandCentres(page);
    assertFractions(await canvasValues(page, points), (x) => 1 - linear(2048, 4096)(x), 'inverted by the header');
    await page.keyboard.press('i');
    await frames(page);
    assertFractions(await canvasValues(page, points), linear(2048, 4096), 'inverted back by the user');
  });
});

/** A square-root VOI LUT over 4,096 inputs (16 rows of the 256-wide table texture). */
const SQUARE_ROOT = Array.from({ length: 4096 }, (_, i) => Math.round(4095 * Math.sqrt(i / 4095)));

/** PS3.3 C.11.2.1.1 VOI LUT: the entry for x, clamped to the table, as a fraction. */
const table = (first, bits, entries) => (x) => entries[Math.min(entries.length - 1, Math.max(0, x - first))] / (2 ** bits - 1);

test('a VOI LUT preset renders through its table, on signed values, and a drag leaves it for a window', async () => {
  // The square-root table from −1000, and a short table without an explanation. Band values
  // stand for band − 2048.
  const short = [10, 128, 250];
  const header = {
    windows: [{ center: 0, width: 4096, explanation: 'SIGNED FULL' }],
    voi_lut: true,
    voi_luts: [
      { explanation: 'Square root', first_mapped: -1000, bits: 12, entries: SQUARE_ROOT },
      { explanation: null, first_mapped: -900, bits: 8, entries: short },
    ],
  };
  const offset = 2048;
  await withApp({ header, valueOffset: offset }, async ({ page }) => {
    await openViewer(page);
    await page.waitForFunction(() => document.querySelector('[data-testid="window-overlay"]')?.textContent?.includes('C 0 / W 4096'));
    assert.deepEqual(await presetOptions(page), [
      '1. SIGNED FULL (C 0 / W 4096)',
      '2. VOI LUT: Square root',
      '3. VOI LUT: VOI LUT 2',
      '4. Full dynamic range (C -47 / W 3201)',
    ]);
    await frames(page);
    const points = await bandCentres(page);
    assertFractions(await canvasValues(page, points), linear(0, 4096), 'header window on signed values', offset);

    await page.getByLabel('Window preset').selectOption('1');
    await page.waitForFunction(() => document.querySelector('[data-testid="window-overlay"]')?.textContent?.includes('VOI LUT: Square root'));
    assert.equal(await selectedPreset(page), '2. VOI LUT: Square root');
    await frames(page);
    const greys = await canvasValues(page, points);
    assertFractions(greys, table(-1000, 12, SQUARE_ROOT), 'square-root VOI LUT', offset);
    assert.deepEqual(
      IMAGE.bands.map((v) => Math.min(4095, Math.max(0, v - offset + 1000))),
      [0, 152, 1352, 2552],
      'the bands sample rows 0, 0, 5 and 9 of the table texture',
    );

    await page.getByLabel('Window preset').selectOption('2');
    await page.waitForFunction(() => document.querySelector('[data-testid="window-overlay"]')?.textContent?.includes('VOI LUT: VOI LUT 2'));
    await frames(page);
    assertFractions(await canvasValues(page, points), table(-900, 8, short), 'three-entry VOI LUT', offset);

    // Dragging from a VOI LUT starts from the full dynamic range: C −47.5 / W 3201, LINEAR.
    await dragWindowLevel(page);
    assert.equal(await overlayLine(page), 'C 153 / W 2401');
    assert.equal(await selectedPreset(page), 'Custom (C 153 / W 2401)');
    await frames(page);
    assertFractions(await canvasValues(page, points), linear(153, 2401), 'window dragged from the VOI LUT', offset);
  });
});

test('without WebGL2 the canvas-2D fallback renders windows and VOI LUTs on signed values, drags and inverts', async () => {
  const header = {
    windows: [{ center: 0, width: 4096, explanation: 'SIGNED FULL' }],
    voi_lut: true,
    voi_luts: [{ explanation: 'Square root', first_mapped: -1000, bits: 12, entries: SQUARE_ROOT }],
  };
  const offset = 2048;
  await withApp({ header, valueOffset: offset, noWebgl2: true }, async ({ page }) => {
    await page.locator('table.studies tbody tr[data-study-id="1"] button.link').click();
    await page.locator('canvas.image-canvas[data-loaded="true"]').waitFor();
    assert.equal(await page.locator('canvas.image-canvas').getAttribute('data-renderer'), 'canvas2d');
    await page.waitForFunction(() => document.querySelector('[data-testid="window-overlay"]')?.textContent?.includes('C 0 / W 4096'));
    await frames(page);
    const points = await bandCentres(page);
    assertFractions(await canvasValues(page, points), linear(0, 4096), 'canvas-2D header window on signed values', offset);

    await page.getByLabel('Window preset').selectOption('1');
    await page.waitForFunction(() => document.querySelector('[data-testid="window-overlay"]')?.textContent?.includes('VOI LUT: Square root'));
    await frames(page);
    assertFractions(await canvasValues(page, points), table(-1000, 12, SQUARE_ROOT), 'canvas-2D VOI LUT', offset);

    await dragWindowLevel(page);
    assert.equal(await overlayLine(page), 'C 153 / W 2401');
    await frames(page);
    const dragged = await canvasValues(page, points);
    assertFractions(dragged, linear(153, 2401), 'canvas-2D window dragged from the VOI LUT', offset);

    await page.locator('canvas.image-canvas').click({ button: 'middle' });
    await page.keyboard.press('i');
    await frames(page);
    const inverted = await canvasValues(page, points);
    inverted.forEach((v, i) => assert.ok(Math.abs(v - (255 - dragged[i])) <= 2, `canvas-2D inverted band ${i}: ${v} vs ${255 - dragged[i]}`));
  });
});

/** Text of the marked segments of one section, by origin. */
function marks(page, section) {
  return page.locator(`[data-testid="section-${section}-marks"] span`).evaluateAll((spans) =>
    spans.map((s) => ({ text: s.textContent, origin: s.dataset.origin, low: s.dataset.lowConfidence === 'true' })),
  );
}

test('draft streams with progress, AI text is marked, edit → sign → read-only with addenda', async () => {
  await withApp({ tokenDelayMs: 40 }, async ({ page }) => {
    await page.locator('table.studies tbody tr[data-study-id="1"] button.link').click();
    assert.equal(await page.getByRole('textbox', { name: 'Indication' }).inputValue(), 'Cough for two weeks');
    assert.equal(await page.getByTestId('ai-banner').count(), 0, 'no banner before any AI text');

    await page.getByRole('button', { name: 'Draft', exact: true }).click();
    await page.getByTestId('draft-progress').waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="draft-stream"]')?.textContent?.includes('FINDINGS:'));
    const [start] = await calls(page, 'start_draft');
    assert.deepEqual(start.args, {
      study: 1,
      options: { model: 'demo', indication: 'Cough for two weeks', maxNewTokens: 128, dtype: 'f32', profile: 'mimic-cxr-jpg' },
    });
    await page.getByTestId('draft-live-speed').waitFor();
    assert.match(await page.getByTestId('draft-live-speed').innerText(), /^first token after \d+\.\d s/);
    await page.getByRole('textbox', { name: 'FINDINGS' }).waitFor();
    await page.getByTestId('ai-banner').waitFor();
    assert.equal(await page.getByTestId('ai-banner').innerText(), 'AI-generated draft: requires radiologist review');
    // The finished draft shows the pipeline's own figures, not the panel's estimate.
    assert.equal(await page.getByTestId('draft-speed').innerText(), 'Last draft: first token after 1.4 s · 12.5 tokens/s');

    // Byte offsets from the shell (the dash is 3 bytes) land on the right sentences.
    assert.deepEqual(await marks(page, 'findings'), [
      { text: 'Cardiomediastinal silhouette – normal.', origin: 'ai', low: false },
      { text: ' ', origin: 'human', low: false },
      { text: 'No pleural effusion.', origin: 'ai', low: false },
      { text: ' ', origin: 'human', low: false },
      { text: 'Possible nodule in the right upper lobe.', origin: 'ai', low: true },
    ]);
    const styles = await page.locator('[data-testid="section-findings-marks"] span').evaluateAll((spans) =>
      spans.map((s) => getComputedStyle(s).backgroundColor),
    );
    assert.notEqual(styles[0], styles[1], 'AI text is painted differently from human text');
    assert.notEqual(styles[0], styles[4], 'low-confidence AI text is painted differently from other AI text');
    assert.match(await page.getByTestId('review-summary').innerText(), /1 low-confidence sentence highlighted/);

    // Edit the uncertain sentence: it becomes human while typing, and after saving.
    const findings = page.getByRole('textbox', { name: 'FINDINGS' });
    const edited = 'Cardiomediastinal silhouette – normal. No pleural effusion. No focal consolidation.';
    await findings.fill(edited);
    const local = await marks(page, 'findings');
    assert.deepEqual(local.slice(0, 3).map((m) => m.origin), ['ai', 'human', 'ai']);
    assert.equal(local.at(-1).origin, 'human');
    assert.ok(local.at(-1).text.endsWith('No focal consolidation.'));
    await page.keyboard.press('Control+s');
    await page.waitForFunction(() => window.__mock.calls.some((c) => c.cmd === 'save_edit'));
    const [save] = await calls(page, 'save_edit');
    assert.deepEqual(save.args, { study: 1, findings: edited, impression: 'No acute cardiopulmonary process.', author: 'Dr Tester' });
    await page.waitForFunction(() => document.querySelector('[data-testid="review-summary"]')?.textContent?.includes('Version 2'));
    const saved = await marks(page, 'findings');
    assert.deepEqual(saved.map((m) => m.origin), ['ai', 'human', 'ai', 'human']);
    assert.equal(saved[3].text, ' No focal consolidation.');

    // Signing with unreviewed AI text: the shell's refusal is shown verbatim.
    await page.getByRole('button', { name: 'Sign…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Sign the report' });
    assert.equal(await dialog.getByRole('textbox', { name: 'Signer' }).inputValue(), 'Dr Tester');
    await dialog.getByRole('button', { name: 'Sign', exact: true }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'Signing' });
    await refusal.waitFor();
    assert.equal(
      await refusal.locator('.message-text').innerText(),
      'Signing: report has AI-generated text nobody reviewed; accept or edit it, or sign with accept_remaining (unreviewed_ai_text)',
    );
    await dialog.getByRole('textbox', { name: 'Signer' }).fill('Dr Final');
    await dialog.getByRole('checkbox').check();
    await dialog.getByRole('button', { name: 'Sign', exact: true }).click();
    await page.getByTestId('signoff').waitFor();
    const signs = await calls(page, 'sign');
    assert.deepEqual(signs.at(-1).args, { study: 1, signer: 'Dr Final', acceptRemaining: true });

    // Read-only: no banner, no editing, no draft/save/sign; addenda only.
    assert.match(await page.getByTestId('signoff').innerText(), /Signed by Dr Final/);
    assert.equal(await page.getByTestId('ai-banner').count(), 0);
    assert.equal(await findings.getAttribute('readonly'), '');
    assert.equal(await page.getByRole('textbox', { name: 'IMPRESSION' }).getAttribute('readonly'), '');
    for (const name of ['Save', 'Sign…', 'Regenerate', 'Accept AI text']) {
      assert.equal(await page.getByRole('button', { name, exact: true }).count(), 0, `${name} is gone after signing`);
    }
    await findings.press('End');
    await page.keyboard.type(' extra');
    assert.equal(await findings.inputValue(), edited, 'typing into a signed report changes nothing');
    await page.keyboard.press('Control+s');
    assert.equal((await calls(page, 'save_edit')).length, 1, 'no save after signing');

    await page.getByRole('textbox', { name: 'New addendum' }).fill('Comparison with prior: unchanged.');
    await page.getByRole('button', { name: 'Add addendum' }).click();
    await page.locator('.addendum').filter({ hasText: 'Comparison with prior: unchanged.' }).waitFor();
    assert.deepEqual((await calls(page, 'add_addendum'))[0].args, { study: 1, text: 'Comparison with prior: unchanged.', author: 'Dr Tester' });
  });
});

test('RadGraph view colours entities by label, shows relations on hover and every F1 variant', async () => {
  await withApp({}, async ({ page }) => {
    await page.locator('table.studies tbody tr[data-study-id="2"] button.link').click();
    await page.getByRole('tab', { name: 'RadGraph' }).click();
    await page.getByTestId('radgraph-text').waitFor();
    const entities = await page.locator('[data-testid="radgraph-text"] [data-entity]').evaluateAll((spans) =>
      spans.map((s) => ({ text: s.textContent, label: s.dataset.label, colour: getComputedStyle(s).backgroundColor })),
    );
    assert.deepEqual(entities.map((e) => [e.text, e.label]), [
      ['pleural', 'ANAT-DP'],
      ['effusion', 'OBS-DA'],
      ['nodule', 'OBS-U'],
      ['right', 'ANAT-DP'],
      ['upper', 'ANAT-DP'],
      ['lobe', 'ANAT-DP'],
    ]);
    const colour = Object.fromEntries(entities.map((e) => [e.label, e.colour]));
    assert.equal(new Set(Object.values(colour)).size, 3, `three labels, three colours: ${JSON.stringify(colour)}`);
    assert.equal(entities[3].colour, entities[0].colour, 'same label, same colour');
    const plain = await page.locator('[data-testid="radgraph-text"] > span:not([data-entity])').first().evaluate((s) => getComputedStyle(s).backgroundColor);
    assert.ok(!Object.values(colour).includes(plain), 'words outside entities are not coloured');

    await page.locator('[data-testid="radgraph-text"] [data-entity="3"]').hover();
    assert.match(await page.getByTestId('relations').innerText(), /located_at → right upper lobe \(ANAT-DP\)/);
    assert.equal(await page.locator('[data-testid="radgraph-text"] .related').count(), 3, 'the related entity (three words) is outlined');

    await page.getByRole('textbox', { name: 'Reference report' }).fill('Cardiomegaly. No pleural effusion.');
    await page.getByRole('button', { name: 'Score' }).click();
    const table = page.getByTestId('radgraph-scores');
    await table.waitFor();
    const rows = await table.locator('tbody tr').allInnerTexts();
    assert.deepEqual(rows.map((r) => r.split('\t').at(-1)), ['50.0', '40.0', '25.0', '45.0']);
    assert.deepEqual(await page.getByTestId('matched').locator('li').allInnerTexts(), ['effusion (OBS-DA)']);
    assert.deepEqual(await page.getByTestId('missed').locator('li').allInnerTexts(), ['cardiomegaly (OBS-DP)']);
    const [score] = await calls(page, 'radgraph_score');
    assert.equal(score.args.reference, 'Cardiomegaly. No pleural effusion.');
    assert.match(score.args.hypothesis, /^Cardiomediastinal silhouette/);
  });
});

test('help overlay lists the shortcuts; audit view shows the chain status', async () => {
  await withApp({}, async ({ page }) => {
    await page.locator('table.studies tbody tr').first().waitFor();
    await page.keyboard.press('?');
    const help = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
    await help.waitFor();
    const text = await help.innerText();
    for (const key of ['Ctrl+Enter', 'Ctrl+Shift+S', 'Space', 'i']) assert.ok(text.includes(key), `help lists ${key}`);
    await page.keyboard.press('Escape');
    assert.equal(await help.count(), 0);
    await page.keyboard.press('Alt+3');
    await page.getByTestId('chain-status').waitFor();
    assert.equal(await page.getByTestId('chain-status').innerText(), 'Chain intact: 1 entries checked.');
  });
});

// Unit checks of src/viewer/windowing.ts, the arithmetic of the canvas-2D fallback and the preset
// list: the module is compiled with the project's own TypeScript (transpileModule; it has only a
// type import) and imported from a data: URL. Expected values are worked out by hand from
// PS3.3 C.11.2.1.2.1 / C.11.2.1.3, as core's lut.rs `Window::fraction` computes them.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const source = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'viewer', 'windowing.ts'), 'utf8');
const { outputText } = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } });
const w = await import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);

const close = (actual, expected, label) => assert.ok(Math.abs(actual - expected) < 1e-12, `${label}: ${actual} vs ${expected}`);

test('LINEAR window: C.11.2.1.2.1 with its half-unit shift', () => {
  const window = { center: 2048, width: 4096, voiFunction: 'LINEAR' };
  // c = 2047.5, w = 4095: 0 at x <= 0, 1 above 4095.
  close(w.windowFraction(0, window), 0, 'bottom');
  close(w.windowFraction(4096, window), 1, 'top');
  close(w.windowFraction(1200, window), (1200 - 2047.5) / 4095 + 0.5, 'inside');
  // Width 1: a step between c − 0 and c + 0 (c = 99.5).
  const step = { center: 100, width: 1, voiFunction: 'LINEAR' };
  assert.deepEqual([99, 100].map((x) => w.windowFraction(x, step)), [0, 1]);
});

test('LINEAR_EXACT and SIGMOID windows: C.11.2.1.3', () => {
  const exact = { center: 1700.5, width: 999.5, voiFunction: 'LINEAR_EXACT' };
  close(w.windowFraction(1200.75, exact), 0, 'at the lower edge');
  close(w.windowFraction(1700.5, exact), 0.5, 'centre');
  close(w.windowFraction(1500, exact), (1500 - 1700.5) / 999.5 + 0.5, 'inside');
  close(w.windowFraction(2200.25, exact), 1, 'at the upper edge');
  const sigmoid = { center: 1800, width: 1200, voiFunction: 'SIGMOID' };
  close(w.windowFraction(1800, sigmoid), 0.5, 'centre');
  close(w.windowFraction(2100, sigmoid), 1 / (1 + Math.exp(-1)), 'a quarter width above');
  close(w.windowFraction(-1e9, sigmoid), 0, 'far below');
});

test('VOI LUT: inputs from the first mapped value, clamped to the table ends, over 2^bits − 1', () => {
  const lut = { label: 'x', firstMapped: -2, bits: 8, entries: Uint16Array.from([0, 51, 255]) };
  assert.deepEqual([-5, -2, -1, 0, 9].map((x) => w.lutFraction(x, lut)), [0, 0, 0.2, 1, 1]);
});

test('presets: header windows with their function, then VOI LUTs, then full range', () => {
  const header = {
    windows: [{ center: 40, width: 400, explanation: null }],
    voi_function: 'SIGMOID',
    voi_luts: [
      { explanation: 'Soft', first_mapped: 0, bits: 12, entries: [1, 2] },
      { explanation: '  ', first_mapped: 0, bits: 12, entries: [3] },
      { explanation: null, first_mapped: 0, bits: 12, entries: [] },
    ],
  };
  const full = w.minMaxWindow(Uint16Array.from([100, 4195]), { valueOffset: 100, rescaleSlope: 1, rescaleIntercept: 0 });
  assert.deepEqual(full, { center: 2048, width: 4096, voiFunction: 'LINEAR' });
  // Rescaled: stored 0 … 4095 at slope 0.5 / intercept −300 span −300 … 1747.5 in 0.5 steps.
  assert.deepEqual(w.minMaxWindow(Uint16Array.from([0, 4095]), { valueOffset: 0, rescaleSlope: 0.5, rescaleIntercept: -300 }), {
    center: 724,
    width: 2048,
    voiFunction: 'LINEAR',
  });
  assert.equal(w.modalityValue(4095, { valueOffset: 0, rescaleSlope: 0.5, rescaleIntercept: -300 }), 1747.5);
  const presets = w.presetsFor(header, full);
  assert.deepEqual(presets.map((p) => [p.kind, p.label]), [
    ['window', 'Header window 1'],
    ['lut', 'Soft'],
    ['lut', 'VOI LUT 2'],
    ['window', 'Full dynamic range'],
  ]);
  assert.equal(presets[0].window.voiFunction, 'SIGMOID');
  assert.deepEqual(Array.from(presets[1].lut.entries), [1, 2]);
  assert.equal(w.describeWindow(presets[0].window), 'C 40 / W 400 SIGMOID');
  assert.equal(w.describeWindow(full), 'C 2048 / W 4096');
  assert.deepEqual(w.dragWindow(presets[0].window, -10, 5, 12), { center: 60, width: 360, voiFunction: 'SIGMOID' });
});

test('the preset selector follows the view: window presets by value, VOI LUTs by table, else custom', () => {
  const header = {
    windows: [{ center: 40, width: 400, explanation: 'SOFT' }, { center: 40, width: 400, explanation: 'SAME' }],
    voi_function: 'LINEAR',
    voi_luts: [{ explanation: 'Table', first_mapped: 0, bits: 8, entries: [0, 128, 255] }],
  };
  const presets = w.presetsFor(header, { center: 2048, width: 4096, voiFunction: 'LINEAR' });
  const soft = { center: 40, width: 400, voiFunction: 'LINEAR' };
  // Equal presets: the first is named.
  assert.equal(w.activePreset(presets, { window: soft, lut: null }), 0);
  assert.equal(w.activePreset(presets, { window: { ...soft, width: 401 }, lut: null }), -1);
  assert.equal(w.activePreset(presets, { window: { ...soft, voiFunction: 'SIGMOID' }, lut: null }), -1);
  assert.equal(w.activePreset(presets, { window: { center: 2048, width: 4096, voiFunction: 'LINEAR' }, lut: null }), 3);
  // A VOI LUT is recognised by its table (presets are rebuilt when the header arrives again),
  // whatever window is kept behind it.
  const table = { label: 'Table', firstMapped: 0, bits: 8, entries: Uint16Array.from([0, 128, 255]) };
  assert.equal(w.activePreset(presets, { window: soft, lut: table }), 2);
  assert.equal(w.activePreset(presets, { window: soft, lut: { ...table, entries: Uint16Array.from([0, 127, 255]) } }), -1);
});

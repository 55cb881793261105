// VOI arithmetic shared by the WebGL shader path, the canvas-2D fallback and the UI: the DICOM
// window functions (PS3.3 C.11.2.1.2.1 LINEAR, C.11.2.1.3 LINEAR_EXACT and SIGMOID, as core's
// lut.rs `Window::fraction`), VOI LUT tables, header presets and the min–max fallback.
// Every input is a modality value: (texture value − value offset) × rescale slope + intercept.

import type { ImageHeader, Modality } from '../api';

export type VoiFunction = 'LINEAR' | 'LINEAR_EXACT' | 'SIGMOID';

export interface Window {
  center: number;
  width: number;
  voiFunction: VoiFunction;
}

/** A VOI LUT: input `firstMapped + i` maps to `entries[i]`, out of 2^bits − 1. */
export interface VoiLut {
  label: string;
  firstMapped: number;
  bits: number;
  entries: Uint16Array;
}

export type Preset = { kind: 'window'; label: string; window: Window } | { kind: 'lut'; label: string; lut: VoiLut };

/** Display value in [0, 1] of a modality value under a window (same formulas as lut.rs). */
export function windowFraction(x: number, { center, width, voiFunction }: Window): number {
  switch (voiFunction) {
    case 'SIGMOID':
      return 1 / (1 + Math.exp((-4 * (x - center)) / Math.max(width, Number.MIN_VALUE)));
    case 'LINEAR_EXACT': {
      if (x <= center - width / 2) return 0;
      if (x > center + width / 2) return 1;
      return (x - center) / width + 0.5;
    }
    default: {
      const c = center - 0.5;
      const w = Math.max(width, 1) - 1;
      if (x <= c - w / 2) return 0;
      if (x > c + w / 2) return 1;
      return (x - c) / w + 0.5;
    }
  }
}

/** Display value in [0, 1] of a modality value through a VOI LUT: inputs beyond either end of
 * the table take its end entry. */
export function lutFraction(x: number, lut: VoiLut): number {
  const index = Math.min(lut.entries.length - 1, Math.max(0, Math.floor(x) - lut.firstMapped));
  return lut.entries[index] / (2 ** lut.bits - 1);
}

/** The modality value of a texture value (PS3.3 C.11.1: stored value × slope + intercept). */
export function modalityValue(value: number, modality: Modality): number {
  return (value - modality.valueOffset) * modality.rescaleSlope + modality.rescaleIntercept;
}

/** The smallest and largest modality value; a window over them shows the full dynamic range. */
export function minMaxWindow(data: Uint16Array, modality: Modality = IDENTITY): Window {
  let min = 65535;
  let max = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (data.length === 0) return { center: 0, width: 1, voiFunction: 'LINEAR' };
  const [low, high] = [modalityValue(min, modality), modalityValue(max, modality)].sort((a, b) => a - b);
  const step = Math.abs(modality.rescaleSlope);
  return { center: (low + high + step) / 2, width: Math.max(high - low + step, 1), voiFunction: 'LINEAR' };
}

/** No offset, no rescale. */
export const IDENTITY: Modality = { valueOffset: 0, rescaleSlope: 1, rescaleIntercept: 0 };

/** Presets offered for an image: the header's windows (under its VOI LUT Function), then each
 * VOI LUT of the header, then the full dynamic range. */
export function presetsFor(header: ImageHeader | null, fallback: Window): Preset[] {
  const voiFunction = header?.voi_function ?? 'LINEAR';
  const windows: Preset[] = (header?.windows ?? []).map((w, i) => ({
    kind: 'window',
    label: w.explanation?.trim() || `Header window ${i + 1}`,
    window: { center: w.center, width: w.width, voiFunction },
  }));
  const luts: Preset[] = (header?.voi_luts ?? [])
    .filter((l) => l.entries.length > 0)
    .map((l, i) => {
      const label = l.explanation?.trim() || `VOI LUT ${i + 1}`;
      return { kind: 'lut', label, lut: { label, firstMapped: l.first_mapped, bits: l.bits, entries: Uint16Array.from(l.entries) } };
    });
  return [...windows, ...luts, { kind: 'window', label: 'Full dynamic range', window: { ...fallback, voiFunction: 'LINEAR' } }];
}

/** Index of the preset the view shows, or −1 for a window set by hand (drag, keys). */
export function activePreset(presets: Preset[], view: { window: Window; lut: VoiLut | null }): number {
  return presets.findIndex((preset) =>
    preset.kind === 'lut'
      ? view.lut !== null && sameLut(preset.lut, view.lut)
      : view.lut === null && sameWindow(preset.window, view.window),
  );
}

function sameWindow(a: Window, b: Window): boolean {
  return a.center === b.center && a.width === b.width && a.voiFunction === b.voiFunction;
}

function sameLut(a: VoiLut, b: VoiLut): boolean {
  return (
    a === b ||
    (a.label === b.label &&
      a.firstMapped === b.firstMapped &&
      a.bits === b.bits &&
      a.entries.length === b.entries.length &&
      a.entries.every((v, i) => v === b.entries[i]))
  );
}

/** The overlay's description of a window: "C 2048 / W 4096", plus the function unless LINEAR. */
export function describeWindow(w: Window): string {
  const base = `C ${Math.round(w.center)} / W ${Math.round(w.width)}`;
  return w.voiFunction === 'LINEAR' ? base : `${base} ${w.voiFunction}`;
}

/** Weasis/OHIF drag semantics: right widens the window, down raises the centre. The function
 * (LINEAR, LINEAR_EXACT or SIGMOID) is kept. */
export function dragWindow(start: Window, dx: number, dy: number, bitsStored: number): Window {
  const step = Math.max(1, 2 ** Math.min(bitsStored, 16) / 1024);
  return {
    center: Math.round(start.center + dy * step),
    width: Math.max(1, Math.round(start.width + dx * step)),
    voiFunction: start.voiFunction,
  };
}

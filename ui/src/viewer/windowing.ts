// Window/level arithmetic shared by the WebGL shader path, the canvas-2D fallback and the UI:
// the DICOM linear VOI function (PS3.3 C.11.2.1.2), header presets and the min–max fallback.

import type { WindowPreset } from '../api';

export interface Window {
  center: number;
  width: number;
}

/** Display value in [0, 1] of a stored value under the DICOM linear VOI function. */
export function linearVoi(value: number, { center, width }: Window): number {
  const w = Math.max(width, 1);
  if (w <= 1) return value < center - 0.5 ? 0 : 1;
  const y = (value - (center - 0.5)) / (w - 1) + 0.5;
  return Math.min(1, Math.max(0, y));
}

/** The smallest and largest stored value; a window over them shows the full dynamic range. */
export function minMaxWindow(data: Uint16Array): Window {
  let min = 65535;
  let max = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (data.length === 0) return { center: 0, width: 1 };
  return { center: (min + max + 1) / 2, width: Math.max(max - min + 1, 1) };
}

/** Presets offered for an image: the header's windows (with VOI LUT entries already turned into
 * windows by the shell), then the full dynamic range. */
export function presetsFor(windows: WindowPreset[], fallback: Window): (Window & { label: string })[] {
  const fromHeader = windows.map((w, i) => ({
    center: w.center,
    width: w.width,
    label: w.explanation?.trim() || `Header window ${i + 1}`,
  }));
  return [...fromHeader, { ...fallback, label: 'Full dynamic range' }];
}

/** Weasis/OHIF drag semantics: right widens the window, down raises the centre. */
export function dragWindow(start: Window, dx: number, dy: number, bitsStored: number): Window {
  const step = Math.max(1, 2 ** Math.min(bitsStored, 16) / 1024);
  return {
    center: Math.round(start.center + dy * step),
    width: Math.max(1, Math.round(start.width + dx * step)),
  };
}

// Framework-free 16-bit image viewer owning one canvas: the values go to the GPU once as an R16UI
// texture, a VOI LUT as a second R16UI texture, and window/level, VOI function, invert, zoom and
// pan are uniforms of an integer shader. Without WebGL2 it falls back to a canvas-2D rendering
// with the same arithmetic (windowing.ts).

import { lutFraction, modalityValue, windowFraction, type VoiLut, type Window } from './windowing';
import type { Modality } from '../api';

const VOI_MODE = { LINEAR: 0, LINEAR_EXACT: 1, SIGMOID: 2, LUT: 3 } as const;

const VERTEX_SHADER = `#version 300 es
in vec2 corner;
uniform vec2 canvasSize;
uniform vec2 imageSize;
uniform float scale;
uniform vec2 offset;
out vec2 imagePos;
void main() {
  imagePos = corner * imageSize;
  vec2 screen = offset + imagePos * scale;
  vec2 clip = screen / canvasSize * 2.0 - 1.0;
  gl_Position = vec4(clip.x, -clip.y, 0.0, 1.0);
}`;

/** Width of the VOI LUT texture: tables of up to 65,536 entries are laid out 256 wide, as
 * MAX_TEXTURE_SIZE may be below 65,536. */
const LUT_WIDTH = 256;

// VOI per DICOM PS3.3 C.11.2 on the modality value ((texture value − value offset) × rescale
// slope + intercept, C.11.1): a
// window (LINEAR C.11.2.1.2.1, LINEAR_EXACT and SIGMOID C.11.2.1.3; same formulas as
// windowing.ts) or a VOI LUT table sampled from an integer texture.
const FRAGMENT_SHADER = `#version 300 es
precision highp float;
precision highp int;
precision highp usampler2D;
uniform usampler2D pixels;
uniform usampler2D lut;
uniform int valueOffset;
uniform float rescaleSlope;
uniform float rescaleIntercept;
uniform int mode;
uniform float center;
uniform float width;
uniform int lutFirst;
uniform int lutLength;
uniform float lutMax;
uniform bool inverted;
in vec2 imagePos;
out vec4 colour;
float windowed(float x) {
  if (mode == ${VOI_MODE.LINEAR_EXACT}) {
    if (x <= center - width / 2.0) return 0.0;
    if (x > center + width / 2.0) return 1.0;
    return (x - center) / width + 0.5;
  }
  if (mode == ${VOI_MODE.SIGMOID}) {
    return 1.0 / (1.0 + exp(clamp(-4.0 * (x - center) / max(width, 1e-30), -80.0, 80.0)));
  }
  float c = center - 0.5;
  float w = max(width, 1.0) - 1.0;
  if (x <= c - w / 2.0) return 0.0;
  if (x > c + w / 2.0) return 1.0;
  return (x - c) / w + 0.5;
}
void main() {
  ivec2 size = textureSize(pixels, 0);
  ivec2 texel = clamp(ivec2(floor(imagePos)), ivec2(0), size - 1);
  float x = float(int(texelFetch(pixels, texel, 0).r) - valueOffset) * rescaleSlope + rescaleIntercept;
  float y;
  if (mode == ${VOI_MODE.LUT}) {
    int index = clamp(int(floor(x)) - lutFirst, 0, lutLength - 1);
    y = float(texelFetch(lut, ivec2(index % ${LUT_WIDTH}, index / ${LUT_WIDTH}), 0).r) / lutMax;
  } else {
    y = windowed(x);
  }
  if (inverted) y = 1.0 - y;
  colour = vec4(y, y, y, 1.0);
}`;

export interface ViewState {
  /** The window shown when `lut` is null. */
  window: Window;
  /** A VOI LUT preset, shown instead of the window. */
  lut: VoiLut | null;
  /** Invert on top of the photometric interpretation. */
  invert: boolean;
  scale: number;
  offsetX: number;
  offsetY: number;
}

interface Image16 {
  columns: number;
  rows: number;
  data: Uint16Array;
  /** The header inverts the display (MONOCHROME1 or Presentation LUT Shape INVERSE). */
  invertDisplay: boolean;
  /** Turns a texture value into the modality value. */
  modality: Modality;
}

class GlRenderer {
  private readonly gl: WebGL2RenderingContext;
  private readonly program: WebGLProgram;
  private texture: WebGLTexture | null = null;
  private readonly lutTexture: WebGLTexture | null;
  private lutShown: VoiLut | null = null;

  constructor(gl: WebGL2RenderingContext) {
    this.gl = gl;
    this.program = linkProgram(gl);
    const buffer = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([0, 0, 1, 0, 0, 1, 1, 1]), gl.STATIC_DRAW);
    const vao = gl.createVertexArray();
    gl.bindVertexArray(vao);
    const corner = gl.getAttribLocation(this.program, 'corner');
    gl.enableVertexAttribArray(corner);
    gl.vertexAttribPointer(corner, 2, gl.FLOAT, false, 0, 0);
    // A one-entry table until a VOI LUT is shown, so the integer sampler is always complete.
    this.lutTexture = gl.createTexture();
    this.uploadLut(new Uint16Array(1), 1, 1);
  }

  /** Lays the table out LUT_WIDTH wide, the last row padded with the last entry. */
  private showLut(lut: VoiLut): void {
    if (lut === this.lutShown) return;
    const length = lut.entries.length;
    const width = Math.min(LUT_WIDTH, length);
    const height = Math.ceil(length / width);
    const data = new Uint16Array(width * height).fill(lut.entries[length - 1]);
    data.set(lut.entries);
    this.uploadLut(data, width, height);
    this.lutShown = lut;
  }

  private uploadLut(data: Uint16Array, width: number, height: number): void {
    const gl = this.gl;
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, this.lutTexture);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 2);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.R16UI, width, height, 0, gl.RED_INTEGER, gl.UNSIGNED_SHORT, data);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    gl.activeTexture(gl.TEXTURE0);
  }

  upload(image: Image16): void {
    const gl = this.gl;
    if (this.texture) gl.deleteTexture(this.texture);
    this.texture = gl.createTexture();
    gl.bindTexture(gl.TEXTURE_2D, this.texture);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 2);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.R16UI, image.columns, image.rows, 0, gl.RED_INTEGER, gl.UNSIGNED_SHORT, image.data);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.NEAREST);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
  }

  draw(image: Image16, view: ViewState, width: number, height: number): void {
    const gl = this.gl;
    const p = this.program;
    gl.viewport(0, 0, width, height);
    gl.clearColor(0, 0, 0, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.useProgram(p);
    gl.uniform2f(gl.getUniformLocation(p, 'canvasSize'), width, height);
    gl.uniform2f(gl.getUniformLocation(p, 'imageSize'), image.columns, image.rows);
    gl.uniform1f(gl.getUniformLocation(p, 'scale'), view.scale);
    gl.uniform2f(gl.getUniformLocation(p, 'offset'), view.offsetX, view.offsetY);
    gl.uniform1i(gl.getUniformLocation(p, 'valueOffset'), image.modality.valueOffset);
    gl.uniform1f(gl.getUniformLocation(p, 'rescaleSlope'), image.modality.rescaleSlope);
    gl.uniform1f(gl.getUniformLocation(p, 'rescaleIntercept'), image.modality.rescaleIntercept);
    gl.uniform1f(gl.getUniformLocation(p, 'center'), view.window.center);
    gl.uniform1f(gl.getUniformLocation(p, 'width'), view.window.width);
    if (view.lut) {
      this.showLut(view.lut);
      gl.uniform1i(gl.getUniformLocation(p, 'mode'), VOI_MODE.LUT);
      gl.uniform1i(gl.getUniformLocation(p, 'lutFirst'), view.lut.firstMapped);
      gl.uniform1i(gl.getUniformLocation(p, 'lutLength'), view.lut.entries.length);
      gl.uniform1f(gl.getUniformLocation(p, 'lutMax'), 2 ** view.lut.bits - 1);
    } else {
      gl.uniform1i(gl.getUniformLocation(p, 'mode'), VOI_MODE[view.window.voiFunction] ?? VOI_MODE.LINEAR);
    }
    gl.uniform1i(gl.getUniformLocation(p, 'inverted'), image.invertDisplay !== view.invert ? 1 : 0);
    gl.activeTexture(gl.TEXTURE1);
    gl.bindTexture(gl.TEXTURE_2D, this.lutTexture);
    gl.uniform1i(gl.getUniformLocation(p, 'lut'), 1);
    gl.activeTexture(gl.TEXTURE0);
    gl.bindTexture(gl.TEXTURE_2D, this.texture);
    gl.uniform1i(gl.getUniformLocation(p, 'pixels'), 0);
    gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
  }
}

function linkProgram(gl: WebGL2RenderingContext): WebGLProgram {
  const compile = (type: number, source: string) => {
    const shader = gl.createShader(type);
    if (!shader) throw new Error('WebGL2: could not create a shader');
    gl.shaderSource(shader, source);
    gl.compileShader(shader);
    if (!gl.getShaderParameter(shader, gl.COMPILE_STATUS)) {
      throw new Error(`WebGL2 shader: ${gl.getShaderInfoLog(shader) ?? 'compile failed'}`);
    }
    return shader;
  };
  const program = gl.createProgram();
  if (!program) throw new Error('WebGL2: could not create a program');
  gl.attachShader(program, compile(gl.VERTEX_SHADER, VERTEX_SHADER));
  gl.attachShader(program, compile(gl.FRAGMENT_SHADER, FRAGMENT_SHADER));
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) {
    throw new Error(`WebGL2 program: ${gl.getProgramInfoLog(program) ?? 'link failed'}`);
  }
  return program;
}

/** Canvas-2D fallback: maps every possible 16-bit value through the window or VOI LUT once
 * (windowing.ts), then the pixels through that table into an 8-bit buffer, drawn transformed. */
class Canvas2dRenderer {
  private readonly ctx: CanvasRenderingContext2D;
  private readonly scratch = document.createElement('canvas');

  constructor(ctx: CanvasRenderingContext2D) {
    this.ctx = ctx;
  }

  upload(image: Image16): void {
    this.scratch.width = image.columns;
    this.scratch.height = image.rows;
  }

  draw(image: Image16, view: ViewState, width: number, height: number): void {
    const scratchCtx = this.scratch.getContext('2d');
    if (!scratchCtx) return;
    const rgba = scratchCtx.createImageData(image.columns, image.rows);
    const inverted = image.invertDisplay !== view.invert;
    const grey = new Uint8Array(65536);
    for (let v = 0; v < grey.length; v++) {
      const x = modalityValue(v, image.modality);
      const y = view.lut ? lutFraction(x, view.lut) : windowFraction(x, view.window);
      grey[v] = Math.round((inverted ? 1 - y : y) * 255);
    }
    for (let i = 0; i < image.data.length; i++) {
      const g = grey[image.data[i]];
      rgba.data[i * 4] = g;
      rgba.data[i * 4 + 1] = g;
      rgba.data[i * 4 + 2] = g;
      rgba.data[i * 4 + 3] = 255;
    }
    scratchCtx.putImageData(rgba, 0, 0);
    const ctx = this.ctx;
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, width, height);
    ctx.imageSmoothingEnabled = false;
    ctx.setTransform(view.scale, 0, 0, view.scale, view.offsetX, view.offsetY);
    ctx.drawImage(this.scratch, 0, 0);
  }
}

export class Viewer {
  readonly canvas: HTMLCanvasElement;
  readonly renderer: 'webgl2' | 'canvas2d';
  private readonly backend: GlRenderer | Canvas2dRenderer;
  private image: Image16 | null = null;
  private frame = 0;
  view: ViewState = { window: { center: 0, width: 1, voiFunction: 'LINEAR' }, lut: null, invert: false, scale: 1, offsetX: 0, offsetY: 0 };
  onChange: (view: ViewState) => void = () => {};

  constructor(canvas: HTMLCanvasElement) {
    this.canvas = canvas;
    // preserveDrawingBuffer keeps the last frame readable (screenshots, pixel checks).
    const gl = canvas.getContext('webgl2', { preserveDrawingBuffer: true, antialias: false });
    if (gl) {
      this.backend = new GlRenderer(gl);
      this.renderer = 'webgl2';
    } else {
      const ctx = canvas.getContext('2d');
      if (!ctx) throw new Error('this webview offers neither WebGL2 nor a 2D canvas');
      this.backend = new Canvas2dRenderer(ctx);
      this.renderer = 'canvas2d';
    }
  }

  get imageSize(): { columns: number; rows: number } | null {
    return this.image ? { columns: this.image.columns, rows: this.image.rows } : null;
  }

  /** Shows new values; `modality` turns each into the modality value that windows and VOI
   * LUTs apply to. */
  setImage(data: Uint16Array, columns: number, rows: number, invertDisplay: boolean, modality: Modality, window: Window): void {
    this.image = { data, columns, rows, invertDisplay, modality };
    this.backend.upload(this.image);
    this.view = { ...this.view, window, lut: null, invert: false };
    this.fit();
  }

  /** Shows a window (leaving any VOI LUT preset). */
  setWindow(window: Window): void {
    this.update({ window, lut: null });
  }

  /** Shows a VOI LUT preset; the window is kept for when a window is chosen again. */
  setLut(lut: VoiLut): void {
    this.update({ lut });
  }

  toggleInvert(): void {
    this.update({ invert: !this.view.invert });
  }

  /** Scales the whole image into the canvas, centred. */
  fit(): void {
    if (!this.image) return;
    const { width, height } = this.syncSize();
    const scale = Math.min(width / this.image.columns, height / this.image.rows);
    this.update({
      scale,
      offsetX: (width - this.image.columns * scale) / 2,
      offsetY: (height - this.image.rows * scale) / 2,
    });
  }

  /** One image pixel per device pixel, centred. */
  actualSize(): void {
    if (!this.image) return;
    const { width, height } = this.syncSize();
    this.update({ scale: 1, offsetX: (width - this.image.columns) / 2, offsetY: (height - this.image.rows) / 2 });
  }

  /** Zooms by `factor` keeping the canvas point (x, y) (CSS pixels) fixed. */
  zoomAt(x: number, y: number, factor: number): void {
    const ratio = window.devicePixelRatio || 1;
    const px = x * ratio;
    const py = y * ratio;
    const scale = Math.min(64, Math.max(0.02, this.view.scale * factor));
    const applied = scale / this.view.scale;
    this.update({
      scale,
      offsetX: px - (px - this.view.offsetX) * applied,
      offsetY: py - (py - this.view.offsetY) * applied,
    });
  }

  zoomCentre(factor: number): void {
    this.zoomAt(this.canvas.clientWidth / 2, this.canvas.clientHeight / 2, factor);
  }

  panBy(dx: number, dy: number): void {
    const ratio = window.devicePixelRatio || 1;
    this.update({ offsetX: this.view.offsetX + dx * ratio, offsetY: this.view.offsetY + dy * ratio });
  }

  /** Re-fits after the canvas changed size. */
  resized(): void {
    this.syncSize();
    this.requestDraw();
  }

  private update(change: Partial<ViewState>): void {
    this.view = { ...this.view, ...change };
    this.onChange(this.view);
    this.requestDraw();
  }

  private syncSize(): { width: number; height: number } {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(this.canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(this.canvas.clientHeight * ratio));
    if (this.canvas.width !== width || this.canvas.height !== height) {
      this.canvas.width = width;
      this.canvas.height = height;
    }
    return { width, height };
  }

  private requestDraw(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.drawNow();
    });
  }

  drawNow(): void {
    if (!this.image) return;
    const { width, height } = this.syncSize();
    this.backend.draw(this.image, this.view, width, height);
  }
}

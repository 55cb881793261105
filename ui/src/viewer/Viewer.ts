// Framework-free 16-bit image viewer owning one canvas: the stored values go to the GPU once as
// an R16UI texture and window/level, invert, zoom and pan are uniforms of an integer shader.
// Without WebGL2 it falls back to a canvas-2D rendering with the same arithmetic.

import { linearVoi, type Window } from './windowing';

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

// Linear VOI per DICOM PS3.3 C.11.2.1.2 on the integer stored value.
const FRAGMENT_SHADER = `#version 300 es
precision highp float;
precision highp usampler2D;
uniform usampler2D pixels;
uniform float center;
uniform float width;
uniform bool inverted;
in vec2 imagePos;
out vec4 colour;
void main() {
  ivec2 size = textureSize(pixels, 0);
  ivec2 texel = clamp(ivec2(floor(imagePos)), ivec2(0), size - 1);
  float value = float(texelFetch(pixels, texel, 0).r);
  float w = max(width, 1.0);
  float y = w <= 1.0 ? step(center - 0.5, value) : clamp((value - (center - 0.5)) / (w - 1.0) + 0.5, 0.0, 1.0);
  if (inverted) y = 1.0 - y;
  colour = vec4(y, y, y, 1.0);
}`;

export interface ViewState {
  window: Window;
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
  monochrome1: boolean;
}

class GlRenderer {
  private readonly gl: WebGL2RenderingContext;
  private readonly program: WebGLProgram;
  private texture: WebGLTexture | null = null;

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
    gl.uniform1f(gl.getUniformLocation(p, 'center'), view.window.center);
    gl.uniform1f(gl.getUniformLocation(p, 'width'), view.window.width);
    gl.uniform1i(gl.getUniformLocation(p, 'inverted'), image.monochrome1 !== view.invert ? 1 : 0);
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

/** Canvas-2D fallback: windows on the CPU into an 8-bit buffer, then draws it transformed. */
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
    const inverted = image.monochrome1 !== view.invert;
    for (let i = 0; i < image.data.length; i++) {
      let y = linearVoi(image.data[i], view.window);
      if (inverted) y = 1 - y;
      const g = Math.round(y * 255);
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
  view: ViewState = { window: { center: 0, width: 1 }, invert: false, scale: 1, offsetX: 0, offsetY: 0 };
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

  setImage(data: Uint16Array, columns: number, rows: number, monochrome1: boolean, window: Window): void {
    this.image = { data, columns, rows, monochrome1 };
    this.backend.upload(this.image);
    this.view = { ...this.view, window, invert: false };
    this.fit();
  }

  setWindow(window: Window): void {
    this.update({ window });
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

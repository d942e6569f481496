// The scan on a canvas: smooth zoom and pan, the image tools, and an overlay layer with the
// detector's boxes (per class), the operator's own boxes and, after a training test, where the
// projected threat was. Boxes are drawn in screen space, so they stay crisp at any zoom.

import { applyTools, denseOutline, isIdentity, noTools } from './imagetools.js';

// The same colours as the service's annotated PNGs (datasets/preview.py CLASS_COLOURS).
const COLOURS = { firearm: '#e60000', narcotics: '#c800c8', gold: '#ffc800',
                  counterfeit: '#00c8c8' };
const MORE_COLOURS = ['#ff7f0e', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const DARK_TEXT = new Set(['#ffc800', '#00c8c8']);
const MIN_SCALE = 0.05;
const MAX_SCALE = 16;
const MARGIN = 8;

/** The colour of a class's boxes (classes after the contract's four get a fixed palette). */
export function classColour(label, classes = []) {
  if (COLOURS[label]) return COLOURS[label];
  const index = Math.max(0, classes.indexOf(label));
  return MORE_COLOURS[index % MORE_COLOURS.length];
}

export class ScanView {
  constructor(stage, imageCanvas, overlayCanvas) {
    this.stage = stage;
    this.canvas = imageCanvas;
    this.overlay = overlayCanvas;
    this.classes = [];
    this.hidden = new Set();        // classes whose boxes are switched off
    this.boxesOn = true;
    this.onBoxDrawn = () => {};     // set by the app: a box was drawn in drawing mode
    this.onChange = () => {};       // zoom or tools changed (for the status bar)
    this.reset();
    this.resize();
    new ResizeObserver(() => { this.resize(); if (this.fitted) this.fit(false); else this.render(); })
      .observe(stage);
    this.listen();
  }

  /** Forget the scan: no image, no boxes, tools off. */
  reset() {
    this.image = null;              // ImageBitmap of the scan as served
    this.original = null;           // its pixels, read the first time a tool needs them
    this.denseMask = null;
    this.processed = null;          // a canvas with the tools applied, or null: the image itself
    this.tools = noTools();
    this.detections = [];
    this.drawn = [];                // the operator's boxes: {label, box: [x1, y1, x2, y2]}
    this.revealed = [];             // boxes of a projected training threat, after its verdict
    this.rubber = null;
    this.drawing = false;
    this.view = { scale: 1, x: 0, y: 0 };
    this.target = null;
    this.fitted = true;
  }

  get width() { return this.image ? this.image.width : 0; }
  get height() { return this.image ? this.image.height : 0; }
  get animating() { return this.target !== null; }

  /** Show a new scan (an ImageBitmap) with its detections, fitted to the stage. */
  show(bitmap, detections) {
    const hidden = this.hidden;
    this.reset();
    this.hidden = hidden;
    this.image = bitmap;
    this.detections = detections;
    this.fit(false);
  }

  /** The same scan, another image of it (the real one after a training test). */
  replaceImage(bitmap) {
    this.image = bitmap;
    this.original = this.denseMask = null;
    this.revealed = [];
    this.setTools({});
  }

  clear() {
    const hidden = this.hidden;
    this.reset();
    this.hidden = hidden;
    this.render();
  }

  resize() {
    const ratio = window.devicePixelRatio || 1;
    const { clientWidth: w, clientHeight: h } = this.stage;
    for (const canvas of [this.canvas, this.overlay]) {
      canvas.width = Math.max(1, Math.round(w * ratio));
      canvas.height = Math.max(1, Math.round(h * ratio));
      canvas.style.width = `${w}px`;
      canvas.style.height = `${h}px`;
    }
    this.ratio = ratio;
  }

  // -- the view -----------------------------------------------------------------------------
  fitView() {
    const w = this.stage.clientWidth - 2 * MARGIN, h = this.stage.clientHeight - 2 * MARGIN;
    const scale = Math.min(w / this.width, h / this.height);
    return { scale, x: (this.stage.clientWidth - this.width * scale) / 2,
             y: (this.stage.clientHeight - this.height * scale) / 2 };
  }

  fit(animate = true) {
    if (!this.image) { this.render(); return; }
    this.fitted = true;
    this.moveTo(this.fitView(), animate);
  }

  /** Zoom by ``factor`` keeping the image point under screen point (sx, sy) where it is. */
  zoomAt(factor, sx = this.stage.clientWidth / 2, sy = this.stage.clientHeight / 2) {
    if (!this.image) return;
    const from = this.target || this.view;
    const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, from.scale * factor));
    const ix = (sx - from.x) / from.scale, iy = (sy - from.y) / from.scale;
    this.fitted = false;
    this.moveTo({ scale, x: sx - ix * scale, y: sy - iy * scale }, true);
  }

  panBy(dx, dy, animate = true) {
    if (!this.image) return;
    const from = this.target || this.view;
    this.fitted = false;
    this.moveTo({ scale: from.scale, x: from.x + dx, y: from.y + dy }, animate);
  }

  /** Go to a view, smoothly (a few frames of easing) or at once. */
  moveTo(view, animate) {
    if (!animate) {
      this.view = { ...view };
      this.target = null;
      this.render();
      this.onChange();
      return;
    }
    const running = this.target !== null;
    this.target = { ...view };
    if (!running) requestAnimationFrame(() => this.step());
  }

  step() {
    if (!this.target) return;
    const t = this.target, v = this.view;
    const ease = 0.35;
    const next = { scale: v.scale + (t.scale - v.scale) * ease, x: v.x + (t.x - v.x) * ease,
                   y: v.y + (t.y - v.y) * ease };
    const close = Math.abs(next.scale - t.scale) < 1e-3 * t.scale && Math.abs(next.x - t.x) < 0.5
      && Math.abs(next.y - t.y) < 0.5;
    this.view = close ? { ...t } : next;
    if (close) this.target = null;
    this.render();
    this.onChange();
    if (!close) requestAnimationFrame(() => this.step());
  }

  imageToScreen(x, y) {
    return [x * this.view.scale + this.view.x, y * this.view.scale + this.view.y];
  }

  screenToImage(sx, sy) {
    return [(sx - this.view.x) / this.view.scale, (sy - this.view.y) / this.view.scale];
  }

  // -- tools and boxes ----------------------------------------------------------------------
  /** Change some tools (``{negative: true}``, ...) and repaint. */
  setTools(changes) {
    this.tools = { ...this.tools, ...changes };
    if (!this.image) return;
    if (isIdentity(this.tools)) {
      this.processed = null;
    } else {
      this.original ??= readPixels(this.image);
      if (this.tools.dense) this.denseMask ??= denseOutline(this.original).mask;
      const result = applyTools(this.original, this.tools, this.denseMask);
      this.processed ??= document.createElement('canvas');
      this.processed.width = result.width;
      this.processed.height = result.height;
      this.processed.getContext('2d').putImageData(result, 0, 0);
    }
    this.render();
    this.onChange();
  }

  toggleClass(label) {
    if (this.hidden.has(label)) this.hidden.delete(label); else this.hidden.add(label);
    this.renderOverlay();
  }

  toggleBoxes() {
    this.boxesOn = !this.boxesOn;
    this.renderOverlay();
  }

  startDrawing() { this.drawing = true; this.stage.classList.add('drawing'); }

  stopDrawing() {
    this.drawing = false;
    this.rubber = null;
    this.stage.classList.remove('drawing');
    this.renderOverlay();
  }

  addDrawn(label, box) { this.drawn.push({ label, box }); this.renderOverlay(); }

  undoDrawn() { this.drawn.pop(); this.renderOverlay(); }

  reveal(boxes, label) { this.revealed = boxes.map((box) => ({ box, label })); this.renderOverlay(); }

  // -- painting -----------------------------------------------------------------------------
  render() {
    const ctx = this.canvas.getContext('2d');
    ctx.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
    ctx.clearRect(0, 0, this.stage.clientWidth, this.stage.clientHeight);
    if (this.image) {
      const { scale, x, y } = this.view;
      ctx.imageSmoothingEnabled = scale < 3;       // past 3x operators want to see pixels
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(this.processed || this.image, x, y, this.width * scale,
                    this.height * scale);
    }
    this.renderOverlay();
  }

  renderOverlay() {
    const ctx = this.overlay.getContext('2d');
    ctx.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
    ctx.clearRect(0, 0, this.stage.clientWidth, this.stage.clientHeight);
    if (!this.image) return;
    ctx.font = '600 12px system-ui, sans-serif';
    ctx.textBaseline = 'bottom';
    if (this.boxesOn) {
      for (const found of this.detections) {
        if (this.hidden.has(found.label)) continue;
        const colour = classColour(found.label, this.classes);
        this.box(ctx, found.box, colour, `${found.label} ${found.score.toFixed(2)}`);
      }
    }
    for (const mine of this.drawn) this.box(ctx, mine.box, '#ffffff', `${mine.label} (yours)`, true);
    for (const shown of this.revealed) {
      this.box(ctx, shown.box, '#ffeb3b', `TIP: ${shown.label}`, true, 3);
    }
    if (this.rubber) this.box(ctx, this.rubber, '#ffffff', '', true);
  }

  box(ctx, box, colour, text, dashed = false, width = 2) {
    const [x1, y1] = this.imageToScreen(Math.min(box[0], box[2]), Math.min(box[1], box[3]));
    const [x2, y2] = this.imageToScreen(Math.max(box[0], box[2]), Math.max(box[1], box[3]));
    if (dashed) {           // a dark line under a light dashed one: visible on any background
      ctx.setLineDash([]);
      ctx.strokeStyle = '#000000';
      ctx.lineWidth = width + 2;
      ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
      ctx.setLineDash([6, 4]);
    }
    ctx.strokeStyle = colour;
    ctx.lineWidth = width;
    ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
    ctx.setLineDash([]);
    if (!text) return;
    const tagWidth = ctx.measureText(text).width + 8;
    const top = y1 >= 18 ? y1 - 18 : y1;
    ctx.fillStyle = colour;
    ctx.fillRect(x1 - width / 2, top, tagWidth, 18);
    ctx.fillStyle = DARK_TEXT.has(colour) || colour === '#ffffff' || colour === '#ffeb3b'
      ? '#000000' : '#ffffff';
    ctx.fillText(text, x1 + 4 - width / 2, top + 15);
  }

  // -- mouse --------------------------------------------------------------------------------
  listen() {
    const stage = this.stage;
    stage.addEventListener('wheel', (event) => {
      if (!this.image) return;
      event.preventDefault();
      const lines = event.deltaMode === 1 ? 33 : event.deltaMode === 2 ? 400 : 1;
      const { left, top } = stage.getBoundingClientRect();
      this.zoomAt(Math.exp(-event.deltaY * lines * 0.0015), event.clientX - left,
                  event.clientY - top);
    }, { passive: false });
    stage.addEventListener('pointerdown', (event) => this.pointerDown(event));
    stage.addEventListener('pointermove', (event) => this.pointerMove(event));
    stage.addEventListener('pointerup', (event) => this.pointerUp(event));
    stage.addEventListener('pointercancel', () => { this.drag = null; });
    stage.addEventListener('dblclick', () => this.fit());
  }

  local(event) {
    const { left, top } = this.stage.getBoundingClientRect();
    return [event.clientX - left, event.clientY - top];
  }

  pointerDown(event) {
    if (!this.image || event.button !== 0) return;
    this.stage.setPointerCapture(event.pointerId);
    const [sx, sy] = this.local(event);
    if (this.drawing) {
      const [ix, iy] = this.clampToImage(...this.screenToImage(sx, sy));
      this.rubber = [ix, iy, ix, iy];
    } else {
      this.drag = { sx, sy, view: { ...(this.target || this.view) } };
      this.stage.classList.add('dragging');
    }
  }

  pointerMove(event) {
    const [sx, sy] = this.local(event);
    if (this.rubber) {
      const [ix, iy] = this.clampToImage(...this.screenToImage(sx, sy));
      this.rubber[2] = ix;
      this.rubber[3] = iy;
      this.renderOverlay();
    } else if (this.drag) {
      this.fitted = false;
      const { view } = this.drag;
      this.moveTo({ scale: view.scale, x: view.x + sx - this.drag.sx,
                    y: view.y + sy - this.drag.sy }, false);
    }
  }

  pointerUp() {
    this.stage.classList.remove('dragging');
    this.drag = null;
    if (!this.rubber) return;
    const [x1, y1, x2, y2] = this.rubber;
    const box = [Math.min(x1, x2), Math.min(y1, y2), Math.max(x1, x2), Math.max(y1, y2)]
      .map((v) => Math.round(v));
    if (box[2] - box[0] < 3 || box[3] - box[1] < 3) { this.rubber = null; this.renderOverlay(); return; }
    this.rubber = box;
    this.renderOverlay();
    this.onBoxDrawn(box);
  }

  clampToImage(x, y) {
    return [Math.min(this.width, Math.max(0, x)), Math.min(this.height, Math.max(0, y))];
  }
}

function readPixels(bitmap) {
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  return ctx.getImageData(0, 0, bitmap.width, bitmap.height);
}

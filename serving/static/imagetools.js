// The image tools of a scanner console, on the pseudo-colour rendering's pixels (RGBA
// ImageData). Pure functions: no DOM, so they are easy to reason about and to test.
//
// The rendering (CONTRACT "Images", datasets/colour.py) paints organic matter orange to brown,
// mixed and light inorganic matter green, metals blue, darker with more attenuation and near
// black where nothing passes, on white. Darkening and mixing with white keep a colour's hue, so
// the material of a pixel is read from its hue alone.

export const NEUTRAL = 0;
export const ORGANIC = 1;
export const INORGANIC = 2;
export const METAL = 3;

// As the risk score's dense-area rule (serving/risk.py): a pixel whose brightest channel is at
// most this is near black, i.e. the X-ray did not get through.
export const DENSE_MAX = 40;
// Dense regions smaller than this many pixels are screws and noise (about 12 x 12 mm at 1 mm per
// pixel, the risk score's MIN_DENSE_REGION_MM2).
export const MIN_DENSE_AREA = 150;
const MIN_SATURATION = 0.12;     // below: grey, white or a greyscale scanner's pixel
const OUTLINE_PX = 3;            // width of the high-density alert's outline, in image pixels
const ALERT_A = [255, 30, 30];   // the outline alternates these two every 6 pixels (hazard tape)
const ALERT_B = [255, 220, 0];

/** The material class of one pixel: NEUTRAL, ORGANIC, INORGANIC or METAL (dense counts as
 *  metal: the palettes render everything the beam cannot cross as dense metal). */
export function materialOf(r, g, b) {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  if (max <= DENSE_MAX) return METAL;
  const delta = max - min;
  if (delta < MIN_SATURATION * max) return NEUTRAL;
  let hue;
  if (max === r) hue = 60 * (((g - b) / delta) % 6);
  else if (max === g) hue = 60 * ((b - r) / delta + 2);
  else hue = 60 * ((r - g) / delta + 4);
  if (hue < 0) hue += 360;
  if (hue < 55 || hue >= 320) return ORGANIC;     // orange, brown, yellow-orange
  if (hue < 190) return INORGANIC;                // yellow-green to teal
  return METAL;                                   // blue to violet
}

const STRIP = { organic: ORGANIC, inorganic: INORGANIC, metal: METAL };

/** The default tool settings: nothing applied. */
export function noTools() {
  return { negative: false, only: null, edges: false, contrast: 1, brightness: 0, dense: false };
}

/** True when ``tools`` change no pixel. */
export function isIdentity(tools) {
  return !tools.negative && !tools.only && !tools.edges && tools.contrast === 1
    && tools.brightness === 0 && !tools.dense;
}

/**
 * A new ImageData with the tools applied, in a console's order: material stripping, edge
 * enhancement, negative, contrast and brightness, then the high-density alert's outline (drawn
 * last so that it stays visible whatever else is on). ``denseMask`` is the mask of
 * :func:`denseOutline` on the original image (computed once per scan by the caller).
 */
export function applyTools(source, tools, denseMask = null) {
  const { width, height } = source;
  let pixels = new Uint8ClampedArray(source.data);
  if (tools.only) stripExcept(pixels, STRIP[tools.only]);
  if (tools.edges) pixels = enhanceEdges(pixels, width, height);
  if (tools.negative || tools.contrast !== 1 || tools.brightness !== 0) {
    toneMap(pixels, tools.negative, tools.contrast, tools.brightness);
  }
  if (tools.dense && denseMask) paintOutline(pixels, denseMask, width);
  return new ImageData(pixels, width, height);
}

/** Keep the pixels of one material; fade every other material to a light grey of its own
 *  brightness, so the parcel's outline stays as context (a console's "X only" stripping). */
function stripExcept(pixels, keep) {
  for (let i = 0; i < pixels.length; i += 4) {
    const r = pixels[i], g = pixels[i + 1], b = pixels[i + 2];
    const material = materialOf(r, g, b);
    if (material === keep || material === NEUTRAL) continue;
    const luminance = 0.299 * r + 0.587 * g + 0.114 * b;
    const faded = 255 - (255 - luminance) * 0.3;
    pixels[i] = pixels[i + 1] = pixels[i + 2] = faded;
  }
}

/** Unsharp masking: each channel plus 1.5 times its difference from the 3x3 mean, which makes
 *  the edges of thin wires and sheet material stand out. */
function enhanceEdges(pixels, width, height) {
  const out = new Uint8ClampedArray(pixels.length);
  const row = width * 4;
  for (let y = 0; y < height; y++) {
    const up = y > 0 ? -row : 0;
    const down = y < height - 1 ? row : 0;
    for (let x = 0; x < width; x++) {
      const i = y * row + x * 4;
      const left = x > 0 ? -4 : 0;
      const right = x < width - 1 ? 4 : 0;
      for (let c = 0; c < 3; c++) {
        const j = i + c;
        const sum = pixels[j + up + left] + pixels[j + up] + pixels[j + up + right]
          + pixels[j + left] + pixels[j] + pixels[j + right]
          + pixels[j + down + left] + pixels[j + down] + pixels[j + down + right];
        out[j] = pixels[j] + 1.5 * (pixels[j] - sum / 9);
      }
      out[i + 3] = 255;
    }
  }
  return out;
}

/** Negative, then contrast about mid-grey and brightness, through one lookup table. */
function toneMap(pixels, negative, contrast, brightness) {
  const table = new Uint8ClampedArray(256);
  for (let v = 0; v < 256; v++) {
    const base = negative ? 255 - v : v;
    table[v] = (base - 128) * contrast + 128 + brightness;
  }
  for (let i = 0; i < pixels.length; i += 4) {
    pixels[i] = table[pixels[i]];
    pixels[i + 1] = table[pixels[i + 1]];
    pixels[i + 2] = table[pixels[i + 2]];
  }
}

/**
 * The high-density alert: a ring OUTLINE_PX wide around every 8-connected region of near-black
 * pixels of at least ``minArea`` pixels. Returns ``{mask, regions}``: ``mask`` is 1 on the ring.
 */
export function denseOutline(source, minArea = MIN_DENSE_AREA) {
  const { width, height, data } = source;
  const dense = new Uint8Array(width * height);
  for (let p = 0, i = 0; p < dense.length; p++, i += 4) {
    dense[p] = Math.max(data[i], data[i + 1], data[i + 2]) <= DENSE_MAX ? 1 : 0;
  }
  const { kept, regions } = bigRegions(dense, width, height, minArea);
  const grown = dilate(kept, width, height, OUTLINE_PX);
  const mask = new Uint8Array(width * height);
  for (let p = 0; p < mask.length; p++) mask[p] = grown[p] && !kept[p] ? 1 : 0;
  return { mask, regions };
}

/** The pixels of the 8-connected regions of ``mask`` with at least ``minArea`` pixels. */
function bigRegions(mask, width, height, minArea) {
  const kept = new Uint8Array(mask.length);
  const seen = new Uint8Array(mask.length);
  const stack = new Int32Array(mask.length);
  const members = new Int32Array(mask.length);
  let regions = 0;
  for (let start = 0; start < mask.length; start++) {
    if (!mask[start] || seen[start]) continue;
    let top = 0, count = 0;
    stack[top++] = start;
    seen[start] = 1;
    while (top > 0) {
      const p = stack[--top];
      members[count++] = p;
      const x = p % width, y = (p - x) / width;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (mask[q] && !seen[q]) { seen[q] = 1; stack[top++] = q; }
        }
      }
    }
    if (count >= minArea) {
      regions++;
      for (let k = 0; k < count; k++) kept[members[k]] = 1;
    }
  }
  return { kept, regions };
}

/** Square dilation by ``radius`` pixels: a running maximum along rows, then along columns. */
function dilate(mask, width, height, radius) {
  const across = new Uint8Array(mask.length);
  for (let y = 0; y < height; y++) {
    let last = -Infinity;            // the last set pixel seen, scanning right ...
    for (let x = 0; x < width; x++) {
      if (mask[y * width + x]) last = x;
      if (x - last <= radius) across[y * width + x] = 1;
    }
    last = Infinity;                 // ... and scanning left
    for (let x = width - 1; x >= 0; x--) {
      if (mask[y * width + x]) last = x;
      if (last - x <= radius) across[y * width + x] = 1;
    }
  }
  const out = new Uint8Array(mask.length);
  for (let x = 0; x < width; x++) {
    let last = -Infinity;
    for (let y = 0; y < height; y++) {
      if (across[y * width + x]) last = y;
      if (y - last <= radius) out[y * width + x] = 1;
    }
    last = Infinity;
    for (let y = height - 1; y >= 0; y--) {
      if (across[y * width + x]) last = y;
      if (last - y <= radius) out[y * width + x] = 1;
    }
  }
  return out;
}

function paintOutline(pixels, mask, width) {
  for (let p = 0; p < mask.length; p++) {
    if (!mask[p]) continue;
    const x = p % width, y = (p - x) / width;
    const colour = Math.floor((x + y) / 6) % 2 ? ALERT_B : ALERT_A;
    const i = p * 4;
    pixels[i] = colour[0]; pixels[i + 1] = colour[1]; pixels[i + 2] = colour[2];
    pixels[i + 3] = 255;
  }
}

/**
 * Just enough PNG decoding to compare two screenshots pixel by pixel: chromium's rasteriser may shade an
 * anti-aliased corner one level differently from run to run, which must not rewrite a committed image.
 */
import zlib from "node:zlib";

interface Pixels {
  width: number;
  height: number;
  channels: number;
  data: Buffer;
}

/** Decodes an 8-bit, non-interlaced greyscale, RGB or RGBA PNG (what chromium writes). */
export function decodePng(png: Buffer): Pixels {
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const idat: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString("ascii", offset + 4, offset + 8);
    const chunk = png.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      width = chunk.readUInt32BE(0);
      height = chunk.readUInt32BE(4);
      const colourType = chunk[9];
      if (chunk[8] !== 8 || chunk[12] !== 0) throw new Error("only 8-bit, non-interlaced PNGs are supported");
      channels = ({ 0: 1, 2: 3, 4: 2, 6: 4 } as Record<number, number>)[colourType] ?? 0;
      if (!channels) throw new Error(`PNG colour type ${colourType} is not supported`);
    }
    if (type === "IDAT") idat.push(chunk);
    offset += 12 + length;
  }
  const raw = zlib.inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const data = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const left = x >= channels ? data[y * stride + x - channels] : 0;
      const up = y > 0 ? data[(y - 1) * stride + x] : 0;
      const upLeft = x >= channels && y > 0 ? data[(y - 1) * stride + x - channels] : 0;
      let predictor = 0;
      if (filter === 1) predictor = left;
      else if (filter === 2) predictor = up;
      else if (filter === 3) predictor = (left + up) >> 1;
      else if (filter === 4) {
        const p = left + up - upLeft;
        const [pa, pb, pc] = [Math.abs(p - left), Math.abs(p - up), Math.abs(p - upLeft)];
        predictor = pa <= pb && pa <= pc ? left : pb <= pc ? up : upLeft;
      }
      data[y * stride + x] = (line[x] + predictor) & 0xff;
    }
  }
  return { width, height, channels, data };
}

/** True when both images have the same size and no channel of any pixel differs by more than `tolerance`. */
export function looksTheSame(a: Buffer, b: Buffer, tolerance = 2): boolean {
  const [x, y] = [decodePng(a), decodePng(b)];
  if (x.width !== y.width || x.height !== y.height || x.channels !== y.channels) return false;
  for (let i = 0; i < x.data.length; i++) if (Math.abs(x.data[i] - y.data[i]) > tolerance) return false;
  return true;
}

/**
 * Text on its way to a file, encoded straight into one buffer that is reused after each write: no buffer and no
 * joined string per line. A text that does not fit in what is left is preceded by a write of what is buffered;
 * one larger than the whole buffer is written on its own, so the order is always kept.
 */
export class LineBuffer {
  private buffer: Buffer | undefined;
  private used = 0;

  /** `write` appends bytes to the file, all of them, or throws. */
  constructor(
    private readonly write: (bytes: Buffer) => void,
    private readonly size = 256 * 1024,
  ) {}

  /** Bytes appended and not yet written. */
  get pending(): number {
    return this.used;
  }

  /** Appends `text`, encoded as UTF-8, and returns its size in bytes. */
  append(text: string): number {
    // A UTF-16 code unit takes at most 3 bytes in UTF-8, so most texts need no exact count.
    if (this.used + text.length * 3 > this.size) {
      const bytes = Buffer.byteLength(text);
      if (this.used + bytes > this.size) {
        this.drain();
        if (bytes > this.size) {
          this.write(Buffer.from(text));
          return bytes;
        }
      }
    }
    this.buffer ??= Buffer.allocUnsafe(this.size);
    const bytes = this.buffer.write(text, this.used);
    this.used += bytes;
    return bytes;
  }

  /** Writes what is buffered. */
  drain(): void {
    if (this.used === 0) return;
    const bytes = this.buffer!.subarray(0, this.used);
    this.used = 0;
    this.write(bytes);
  }

  /** Forgets what is buffered. */
  discard(): void {
    this.used = 0;
  }
}

import { expect } from "chai";
import { LineBuffer } from "../../src/delivery/line-buffer";

describe("delivery: line buffer", function () {
  /** A line buffer of `size` bytes over an in-memory "file": each write is kept as it was handed over. */
  function over(size: number) {
    const writes: Buffer[] = [];
    const lines = new LineBuffer((bytes) => writes.push(Buffer.from(bytes)), size);
    const file = () => Buffer.concat(writes).toString("utf8");
    return { lines, writes, file };
  }

  it("returns each text's size in UTF-8 bytes and writes nothing until drained or full", function () {
    const { lines, writes, file } = over(64);
    expect(lines.append("abc")).to.equal(3);
    expect(lines.append("ü✓日")).to.equal(2 + 3 + 3);
    expect(lines.append("😀\n")).to.equal(5);
    expect(lines.pending).to.equal(16);
    expect(writes).to.have.length(0);
    lines.drain();
    expect(writes).to.have.length(1);
    expect(lines.pending).to.equal(0);
    expect(file()).to.equal("abcü✓日😀\n");
    lines.drain();
    expect(writes, "nothing to write").to.have.length(1);
  });

  it("writes what is buffered before a text that does not fit, and a text larger than the buffer on its own, in order", function () {
    const { lines, writes, file } = over(16);
    const texts = ["0123456789", "ÄÖÜ-äöü", "x".repeat(40), "short", "✓".repeat(5), "end\n"];
    for (const text of texts) expect(lines.append(text)).to.equal(Buffer.byteLength(text));
    lines.drain();
    expect(file()).to.equal(texts.join(""));
    expect(writes.every((w) => w.length <= 16 || w.toString() === "x".repeat(40))).to.equal(true);
    expect(writes.length).to.be.above(3);
  });

  it("fills the buffer exactly when a text fits only by its exact size", function () {
    const { lines, writes, file } = over(12);
    lines.append("abcdef");
    // 6 characters that could take 18 bytes, but take 6: they still fit.
    lines.append("ghijkl");
    expect(writes).to.have.length(0);
    expect(lines.pending).to.equal(12);
    lines.append("m");
    expect(writes).to.have.length(1);
    lines.drain();
    expect(file()).to.equal("abcdefghijklm");
  });

  it("forgets what is buffered when discarded", function () {
    const { lines, file } = over(64);
    lines.append("kept");
    lines.drain();
    lines.append("dropped");
    lines.discard();
    lines.append("!");
    lines.drain();
    expect(file()).to.equal("kept!");
  });
});

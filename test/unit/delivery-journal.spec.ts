import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "chai";
import { FileJournal, journalFile, MemoryJournal, previousFileOf, readJournal } from "../../src/delivery/journal";
import { type JournalEntry, serialiseMessage } from "../../src/delivery/journal-lines";

function entry(id: string, extra: Record<string, unknown> = {}): JournalEntry {
  return {
    id,
    acceptedAt: "2026-11-28T05:00:00.000Z",
    msg: { _msgid: `m-${id}`, topic: "insight.created", payload: { id: `insight-${id}`, name: "Lateral movement ✓" }, cse: { key: `insight-${id}:insight.created` }, ...extra },
  };
}

const tick = () => new Promise((r) => setImmediate(r));

const bytesOf = (f: string) => (fs.existsSync(f) ? fs.statSync(f).size : 0);
const linesOf = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8").split("\n").filter(Boolean) : []);

/** Counts the aside files opened for writing (each one is a compaction) until restored. */
function spyOnAsideFiles(): { opened: number; restore(): void } {
  const realOpen = fs.openSync;
  const spy = {
    opened: 0,
    restore: () => ((fs as any).openSync = realOpen),
  };
  (fs as any).openSync = (...args: any[]) => {
    if (String(args[0]).endsWith(".tmp")) spy.opened++;
    return (realOpen as any)(...args);
  };
  return spy;
}

describe("delivery: journal", function () {
  let dir: string;
  let file: string;

  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "cse-journal-"));
    file = path.join(dir, "journal", "n1.jsonl");
  });

  const previous = () => previousFileOf(file);

  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("writes the entries accepted in one tick in one write, calls back only once they are written, and resumes the unfinished ones in order", async function () {
    const journal = new FileJournal(file);
    expect(journal.persistent).to.equal(true);
    expect(journal.recovered).to.deep.equal([]);
    const writes: number[] = [];
    const realWrite = fs.writeSync;
    const realWritev = fs.writevSync;
    const written: string[] = [];
    (fs as any).writeSync = (...args: any[]) => {
      writes.push(args[0]);
      return (realWrite as any)(...args);
    };
    (fs as any).writevSync = (...args: any[]) => {
      writes.push(args[0]);
      return (realWritev as any)(...args);
    };
    try {
      journal.add(entry("a"), () => written.push(`a:${readJournal(file).entries.map((e) => e.id).join(",")}`));
      journal.add(entry("x"), () => written.push(`x:${readJournal(file).entries.map((e) => e.id).join(",")}`));
      // Not acknowledged yet, and not in the file yet.
      expect(written).to.deep.equal([]);
      expect(fs.readFileSync(file, "utf8")).to.equal("");
      await tick();
    } finally {
      (fs as any).writeSync = realWrite;
      (fs as any).writevSync = realWritev;
    }
    // One write for both; each callback ran once its line was in the file (what a kill -9 now would leave behind).
    expect(writes).to.have.length(1);
    expect(written).to.deep.equal(["a:a,x", "x:a,x"]);
    journal.remove("x");
    journal.add(entry("b"));
    journal.add(entry("c"));
    journal.remove("b");
    journal.add(entry("d"));
    journal.close();

    const again = new FileJournal(file);
    expect(again.recovered.map((e) => e.id)).to.deep.equal(["a", "c", "d"]);
    expect(again.recovered[0]).to.deep.equal(entry("a"));
    again.close();
  });

  it("writes completions behind, once per tick; a crash before that only means a repeat", async function () {
    const journal = new FileJournal(file);
    journal.add(entry("a"));
    journal.add(entry("b"));
    journal.flush();
    journal.remove("a");
    expect(readJournal(file).entries.map((e) => e.id)).to.deep.equal(["a", "b"]);
    await tick();
    expect(readJournal(file).entries.map((e) => e.id)).to.deep.equal(["b"]);
    journal.close();
  });

  it("does not journal an id twice (a resumed entry is already there)", function () {
    const journal = new FileJournal(file);
    journal.add(entry("a"));
    journal.close();
    const again = new FileJournal(file);
    again.add(entry("a"));
    again.close();
    expect(linesOf(file).length + linesOf(previous()).length).to.equal(1);
  });

  it("skips a torn last line left by a crash, and appends after it safely", function () {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const lines = [entry("a"), entry("b")].map((e) => JSON.stringify(e)).join("\n");
    const torn = JSON.stringify(entry("c")).slice(0, 40);
    fs.writeFileSync(file, `${lines}\n{"done":"a"}\n${torn}`);

    const journal = new FileJournal(file);
    expect(journal.recovered.map((e) => e.id)).to.deep.equal(["b"]);
    expect(journal.report.skippedLines).to.equal(1);
    journal.add(entry("d"));
    journal.close();

    const again = new FileJournal(file);
    expect(again.recovered.map((e) => e.id)).to.deep.equal(["b", "d"]);
    expect(again.report.skippedLines).to.equal(0);
    again.close();
  });

  it("empties both files when nothing is outstanding", async function () {
    const journal = new FileJournal(file, { fullBytes: 32 * 1024 });
    const big = "x".repeat(2000);
    for (let i = 0; i < 40; i++) journal.add(entry(`e${i}`, { big }));
    journal.flush();
    expect(fs.existsSync(previous()), "the full file was set aside").to.equal(true);
    expect(bytesOf(file) + bytesOf(previous())).to.be.above(64 * 1024);
    for (let i = 0; i < 40; i++) journal.remove(`e${i}`);
    await tick();
    expect(fs.statSync(file).size).to.equal(0);
    expect(fs.existsSync(previous())).to.equal(false);
    journal.add(entry("after"));
    journal.close();
    expect(readJournal(file).entries.map((e) => e.id)).to.deep.equal(["after"]);
  });

  it("sets a full file aside without copying a line when everything before it is finished (a queue drained in order)", async function () {
    const journal = new FileJournal(file, { fullBytes: 16 * 1024 });
    const asides = spyOnAsideFiles();
    const open: string[] = [];
    let setAside = 0;
    let largest = 0;
    try {
      for (let i = 0; i < 600; i++) {
        journal.add(entry(`e${i}`));
        open.push(`e${i}`);
        // Delivered in order, 50 behind: a long queue that drains in the order it was accepted.
        if (open.length > 50) journal.remove(open.shift()!);
        const before = bytesOf(file);
        await tick();
        if (bytesOf(file) < before) setAside++;
        largest = Math.max(largest, bytesOf(file) + bytesOf(previous()));
      }
    } finally {
      asides.restore();
    }
    expect(setAside, "times the current file was set aside").to.be.above(5);
    expect(asides.opened, "aside files written (compactions)").to.equal(0);
    // 600 accept and 550 done lines were written; the two files never held more than two full files' worth.
    expect(largest).to.be.below(2 * (16 * 1024 + 1024));
    journal.close();
    expect(readJournal(file).entries.map((e) => e.id)).to.deep.equal(open);
  });

  it("compacts when an entry still waits in the previous file and most of both is finished work, keeping the order", async function () {
    const journal = new FileJournal(file, { fullBytes: 16 * 1024 });
    journal.add(entry("first"));
    let largest = 0;
    for (let i = 0; i < 500; i++) {
      journal.add(entry(`churn${i}`));
      journal.remove(`churn${i}`);
      if (i % 10 === 0) await tick();
      largest = Math.max(largest, bytesOf(file) + bytesOf(previous()));
    }
    journal.add(entry("last"));
    await tick();
    // 500 accept + 500 done lines were written; the two files never held much more than two full files' worth.
    expect(largest).to.be.below(2 * 16 * 1024 + 4096);
    expect(linesOf(file).length + linesOf(previous()).length).to.be.below(200);
    journal.close();
    expect(readJournal(file).entries.map((e) => e.id)).to.deep.equal(["first", "last"]);
    expect(fs.existsSync(`${file}.tmp`)).to.equal(false);
  });

  it("compacts by copying the lines written at accept time, byte for byte, not by serialising again", async function () {
    const journal = new FileJournal(file, { fullBytes: 8 * 1024 });
    const lineOfId = new Map<string, string>();
    const open: string[] = [];
    let compactions = 0;
    for (let i = 0; i < 400; i++) {
      const id = `e${i}`;
      // Non-ASCII text, so byte offsets differ from string lengths.
      const added = entry(id, { note: "Übergröße ✓ ".repeat(i % 7) });
      journal.add(added);
      // The line as serialised at accept time (it is written at the end of the tick).
      lineOfId.set(id, `${JSON.stringify({ id, acceptedAt: added.acceptedAt, msg: JSON.parse(serialiseMessage(added.msg)) })}\n`);
      // Changed after it was journalled: a re-serialising compaction would write this; a copy does not.
      (added.msg.payload as Record<string, unknown>).changedLater = true;
      open.push(id);
      // Every third entry stays outstanding: after the first time the file is set aside, one always waits in it.
      if (i % 3 !== 0) journal.remove(open.splice(open.length - 2, 1)[0] ?? id);
      if (i % 5 === 0) {
        await tick();
        const outstanding = open.map((o) => lineOfId.get(o)).join("");
        // Right after a compaction the previous file is exactly the original lines of the outstanding entries.
        if (bytesOf(file) === 0 && fs.readFileSync(previous(), "utf8") === outstanding) compactions++;
      }
    }
    expect(compactions).to.be.above(2);
    journal.close();
    const resumed = readJournal(file).entries;
    expect(resumed.map((e) => e.id)).to.deep.equal(open);
    expect(resumed.every((e) => (e.msg.payload as Record<string, unknown>).changedLater === undefined)).to.equal(true);
  });

  it("keeps two files open at most, however often it sets a file aside or compacts, and none once closed", async function () {
    // The process's descriptors open on the journal's files (Linux).
    const journalFds = () =>
      fs.readdirSync("/proc/self/fd").filter((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(path.dirname(file));
        } catch {
          return false; // closed while listing
        }
      }).length;
    const journal = new FileJournal(file, { fullBytes: 4 * 1024 });
    const asides = spyOnAsideFiles();
    let setAside = 0;
    try {
      journal.add(entry("straggler"));
      for (let i = 0; i < 1500; i++) {
        journal.add(entry(`e${i}`));
        if (i % 3 === 2) for (const id of [`e${i - 2}`, `e${i - 1}`, `e${i}`]) journal.remove(id);
        if (i === 750) journal.remove("straggler"); // from here on a full file is set aside rather than compacted
        if (i % 7 === 0) {
          const [size, compactions] = [bytesOf(file), asides.opened];
          await tick();
          if (bytesOf(file) < size && asides.opened === compactions) setAside++;
        }
        expect(journalFds(), `after ${i}`).to.be.at.most(2);
      }
    } finally {
      asides.restore();
    }
    expect(asides.opened, "compactions").to.be.above(5);
    expect(setAside, "times the full file was set aside").to.be.above(5);
    journal.close();
    expect(journalFds()).to.equal(0);
  });

  describe("a crash in the middle of making room loses nothing and brings nothing back", function () {
    const lines = (...records: unknown[]) => records.map((r) => `${JSON.stringify(r)}\n`).join("");
    const done = (id: string) => ({ done: id });

    it("between compaction's rename and the emptying of the current file: entries in both files count once", function () {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      // The new previous file: the outstanding a and c. The current file as it was: a, b (done), c, d (done).
      fs.writeFileSync(previous(), lines(entry("a"), entry("c")));
      fs.writeFileSync(file, lines(entry("a"), entry("b"), done("b"), entry("c"), entry("d"), done("d")));
      const journal = new FileJournal(file);
      expect(journal.recovered.map((e) => e.id)).to.deep.equal(["a", "c"]);
      expect(journal.report.skippedLines).to.equal(0);
      journal.close();
    });

    it("after the full file was renamed and before a new one was opened", function () {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(previous(), lines(entry("a"), entry("b"), done("a")));
      const journal = new FileJournal(file);
      expect(journal.recovered.map((e) => e.id)).to.deep.equal(["b"]);
      journal.add(entry("c"));
      journal.close();
      expect(readJournal(file).entries.map((e) => e.id)).to.deep.equal(["b", "c"]);
    });

    it("with finished entries in the previous file whose done lines are in the current one", function () {
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(previous(), lines(entry("a"), entry("b")));
      fs.writeFileSync(file, lines(done("a"), entry("c"), done("b")));
      expect(readJournal(file).entries.map((e) => e.id)).to.deep.equal(["c"]);
    });
  });

  describe("the payload's JSON, read back", function () {
    // Non-ASCII text, so byte offsets differ from string offsets.
    const payloadOf = (id: string) => ({ id: `insight-${id}`, name: "Übergröße ✓ 日本語", n: 1.5, list: [null, true, "é"] });
    const written = (id: string) => Buffer.from(JSON.stringify(payloadOf(id)));

    it("gives the bytes JSON.stringify wrote for msg.payload at accept time, once its line is written", async function () {
      const journal = new FileJournal(file);
      const added = entry("a", { payload: payloadOf("a"), note: "ß ✓" });
      journal.add(added);
      expect(journal.payloadJson("a"), "not written yet").to.equal(undefined);
      await tick();
      (added.msg.payload as Record<string, unknown>).changedLater = true;
      expect(journal.payloadJson("a")!.equals(written("a"))).to.equal(true);
      expect(journal.payloadJson("other")).to.equal(undefined);
      journal.remove("a");
      expect(journal.payloadJson("a")).to.equal(undefined);
      journal.close();
    });

    it("finds it after its line was set aside or moved by a compaction", async function () {
      const journal = new FileJournal(file, { fullBytes: 8 * 1024 });
      const open: string[] = [];
      let madeRoom = 0;
      for (let i = 0; i < 300; i++) {
        const id = `e${i}`;
        journal.add(entry(id, { payload: payloadOf(id), note: "Übergröße ✓ ".repeat(i % 7) }));
        open.push(id);
        if (i % 3 !== 0) journal.remove(open.splice(open.length - 2, 1)[0] ?? id);
        const before = bytesOf(file);
        await tick();
        if (bytesOf(file) < before) {
          madeRoom++;
          // Backwards, so each one needs its own read (not the stretch read for the one before it).
          for (const o of [...open].reverse()) expect(journal.payloadJson(o)!.equals(written(o)), o).to.equal(true);
        }
      }
      expect(madeRoom).to.be.above(2);
      journal.close();
    });

    it("reads the payloads of entries sent in the order they were accepted with one read per stretch of lines", async function () {
      const journal = new FileJournal(file);
      const ids = Array.from({ length: 20 }, (_, i) => `e${i}`);
      for (const id of ids) journal.add(entry(id, { payload: payloadOf(id) }));
      await tick();
      let reads = 0;
      const realRead = fs.readSync;
      (fs as any).readSync = (...args: any[]) => {
        reads++;
        return (realRead as any)(...args);
      };
      try {
        for (const id of ids.slice(5)) expect(journal.payloadJson(id)!.equals(written(id)), id).to.equal(true);
        expect(reads).to.equal(1);
        // One before the stretch read last (an earlier one, retried) takes a read of its own, which serves the next.
        expect(journal.payloadJson("e0")!.equals(written("e0"))).to.equal(true);
        expect(reads).to.equal(2);
        expect(journal.payloadJson("e1")!.equals(written("e1"))).to.equal(true);
        expect(reads).to.equal(2);
      } finally {
        (fs as any).readSync = realRead;
      }
      journal.close();
    });

    it("gives it whole for a message larger than the write buffer, between smaller ones", async function () {
      const journal = new FileJournal(file);
      const huge = { ...payloadOf("huge"), text: "Übergröße ✓ ".repeat(40_000) };
      journal.add(entry("a", { payload: payloadOf("a") }));
      journal.add(entry("huge", { payload: huge }));
      journal.add(entry("b", { payload: payloadOf("b") }));
      await tick();
      expect(journal.payloadJson("huge")!.equals(Buffer.from(JSON.stringify(huge)))).to.equal(true);
      expect(journal.payloadJson("a")!.equals(written("a"))).to.equal(true);
      expect(journal.payloadJson("b")!.equals(written("b"))).to.equal(true);
      journal.close();
      expect(readJournal(file).entries.map((e) => e.id)).to.deep.equal(["a", "huge", "b"]);
    });

    it("finds it for an entry taken back after a restart", async function () {
      const first = new FileJournal(file);
      first.add(entry("a", { payload: payloadOf("a") }));
      first.add(entry("b", { payload: payloadOf("b") }));
      first.remove("a");
      first.close();
      const again = new FileJournal(file);
      expect(again.recovered.map((e) => e.id)).to.deep.equal(["b"]);
      expect(again.payloadJson("b")!.equals(Buffer.from(JSON.stringify(again.recovered[0].msg.payload)))).to.equal(true);
      expect(again.payloadJson("b")!.equals(written("b"))).to.equal(true);
      again.close();
    });

    it("has none for a message the fallback serialiser wrote, without a payload, or when the journal is not writing", async function () {
      const errors: Error[] = [];
      const journal = new FileJournal(file, { onError: (e) => errors.push(e) });
      const circular: Record<string, unknown> = { id: "c" };
      circular.self = circular;
      journal.add(entry("circular", { payload: circular }));
      journal.add(entry("bigint", { payload: { n: 1n } }));
      journal.add(entry("bigint-beside", { payload: payloadOf("x"), count: 2n }));
      journal.add(entry("none", { payload: undefined }));
      journal.add(entry("good", { payload: payloadOf("good") }));
      await tick();
      for (const id of ["circular", "bigint", "bigint-beside", "none"]) expect(journal.payloadJson(id), id).to.equal(undefined);
      expect(journal.payloadJson("good")!.equals(written("good"))).to.equal(true);
      fs.closeSync((journal as any).current.fd); // the file goes away under our feet: the next write fails
      journal.add(entry("late", { payload: payloadOf("late") }));
      journal.flush();
      expect(errors).to.have.length(1);
      expect(journal.payloadJson("late")).to.equal(undefined);
      expect(journal.payloadJson("good")).to.equal(undefined);
      (journal as any).current = undefined;
      journal.close();
      expect(new MemoryJournal().payloadJson("good")).to.equal(undefined);
    });

    it("gives undefined, not an error, when the read fails or comes up short", async function () {
      const journal = new FileJournal(file);
      journal.add(entry("a", { payload: payloadOf("a") }));
      await tick();
      fs.ftruncateSync((journal as any).current.fd, 10);
      expect(journal.payloadJson("a")).to.equal(undefined);
      fs.closeSync((journal as any).current.fd);
      expect(journal.payloadJson("a")).to.equal(undefined);
      (journal as any).current = undefined;
    });
  });

  it("loses nothing when a compaction was cut short (its aside file left behind)", function () {
    const journal = new FileJournal(file);
    for (const id of ["a", "b", "c", "d"]) journal.add(entry(id));
    journal.remove("b");
    journal.close();
    const before = fs.readFileSync(file, "utf8");
    // A kill during the copy: the aside file holds part of the outstanding lines, the journal is untouched.
    fs.writeFileSync(`${file}.tmp`, before.slice(0, before.indexOf("\n") + 20));

    const again = new FileJournal(file);
    expect(again.recovered.map((e) => e.id)).to.deep.equal(["a", "c", "d"]);
    expect(again.report.skippedLines).to.equal(0);
    expect(fs.existsSync(`${file}.tmp`)).to.equal(false);
    again.add(entry("e"));
    again.close();
    expect(readJournal(file).entries.map((e) => e.id)).to.deep.equal(["a", "c", "d", "e"]);
  });

  it("keeps going in memory, reporting once, when a write fails", function () {
    const errors: Error[] = [];
    const journal = new FileJournal(file, { onError: (e) => errors.push(e) });
    journal.add(entry("a"));
    journal.flush();
    fs.closeSync((journal as any).current.fd); // the file goes away under our feet
    const kept: string[] = [];
    journal.add(entry("b"), () => kept.push("b"));
    journal.flush();
    journal.add(entry("c"), () => kept.push("c"));
    expect(errors).to.have.length(1);
    // Delivery goes on in memory: both were handed on.
    expect(kept).to.deep.equal(["b", "c"]);
    expect(journal.persistent).to.equal(false);
    journal.remove("a");
    (journal as any).current = undefined;
    journal.close();
  });

  it("throws at open when the directory cannot be created", function () {
    const blocker = path.join(dir, "not-a-dir");
    fs.writeFileSync(blocker, "");
    expect(() => new FileJournal(path.join(blocker, "n1.jsonl"))).to.throw(/ENOTDIR|EEXIST/);
  });

  it("deletes its files on destroy", function () {
    const journal = new FileJournal(file, { fullBytes: 1024 });
    for (let i = 0; i < 10; i++) journal.add(entry(`e${i}`));
    journal.flush();
    expect(fs.existsSync(previous())).to.equal(true);
    journal.destroy();
    expect(fs.existsSync(file)).to.equal(false);
    expect(fs.existsSync(previous())).to.equal(false);
  });

  it("has a memory stand-in that keeps nothing", function () {
    const journal = new MemoryJournal();
    let handedOn = false;
    journal.add(entry("a"), () => (handedOn = true));
    expect(handedOn).to.equal(true);
    expect(journal.persistent).to.equal(false);
    expect(journal.recovered).to.deep.equal([]);
  });

  it("names the file after the node id, safely", function () {
    expect(journalFile("/u/j", "e2e.post")).to.equal(path.join("/u/j", "e2e.post.jsonl"));
    expect(journalFile("/u/j", "3f2a1b0c9d8e7f60")).to.equal(path.join("/u/j", "3f2a1b0c9d8e7f60.jsonl"));
    const hostile = journalFile("/u/j", "../../etc/passwd");
    expect(path.dirname(hostile)).to.equal("/u/j");
    expect(path.basename(hostile)).to.equal("%2E.%2F..%2Fetc%2Fpasswd.jsonl");
    expect(journalFile("/u/j", "a/b")).to.not.equal(journalFile("/u/j", "a_b"));
  });

  describe("message serialisation", function () {
    it("keeps JSON-safe properties and drops req, res and functions", function () {
      const msg = { _msgid: "1", topic: "t", payload: { a: [1, "x", null] }, cse: { key: "k" }, custom: 5, req: { socket: {} }, res: {}, fn: () => 1 };
      expect(JSON.parse(serialiseMessage(msg))).to.deep.equal({ _msgid: "1", topic: "t", payload: { a: [1, "x", null] }, cse: { key: "k" }, custom: 5 });
    });

    it("drops circular references and turns BigInts into strings (best effort)", function () {
      const payload: any = { id: "i1", n: 10n, nested: { ok: true } };
      payload.self = payload;
      payload.nested.parent = payload;
      const out = JSON.parse(serialiseMessage({ topic: "t", payload }));
      expect(out).to.deep.equal({ topic: "t", payload: { id: "i1", n: "10", nested: { ok: true } } });
    });

    it("writes the payload first, as JSON.stringify(msg.payload) writes it", function () {
      const payload = { b: 2, a: "ü" };
      expect(serialiseMessage({ topic: "t", payload, cse: { key: "k" } })).to.equal(`{"payload":${JSON.stringify(payload)},"topic":"t","cse":{"key":"k"}}`);
      expect(serialiseMessage({ payload })).to.equal(`{"payload":${JSON.stringify(payload)}}`);
      expect(serialiseMessage({ topic: "t" })).to.equal('{"topic":"t"}');
    });

    it("keeps a shared (not circular) object in both places", function () {
      const shared = { v: 1 };
      const out = JSON.parse(serialiseMessage({ a: shared, b: shared, c: { d: 1n } }));
      expect(out).to.deep.equal({ a: { v: 1 }, b: { v: 1 }, c: { d: "1" } });
    });
  });
});

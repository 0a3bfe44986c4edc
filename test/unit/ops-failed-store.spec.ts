import { expect } from "chai";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { FAILED_DIR, FAILED_PER_NODE, failedEntry, failedStoreFor, FileFailedStore, MemoryFailedStore, type FailedEntry } from "../../src/ops/failed-store";

function entry(node: string, n: number, msg: Record<string, unknown> = {}): FailedEntry {
  return failedEntry(
    {
      node,
      id: `id-${n}`,
      type: "cse-slack",
      failedAt: new Date(Date.UTC(2026, 11, 4, 10, 0, 0, n)).toISOString(),
      reason: `failed ${n}`,
      topic: "insight.created",
      key: `k-${n}:insight.created`,
      attempts: 1,
      status: 401,
    },
    { topic: "insight.created", payload: { id: `k-${n}` }, ...msg },
  );
}

describe("ops: the failed-message store", function () {
  let dir: string;

  beforeEach(function () {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "cse-failed-"));
  });

  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it(`keeps the newest ${FAILED_PER_NODE} per node, newest first, in memory and on file across a reopen`, async function () {
    const file = new FileFailedStore(dir);
    const memory = new MemoryFailedStore();
    for (let n = 1; n <= FAILED_PER_NODE + 5; n++) {
      await file.add(entry("a", n));
      await memory.add(entry("a", n));
    }
    await file.add(entry("b", 1));
    for (const store of [file, memory]) {
      const a = await store.list("a");
      expect(a).to.have.length(FAILED_PER_NODE);
      expect(a[0].id).to.equal(`id-${FAILED_PER_NODE + 5}`);
      expect(a[a.length - 1].id).to.equal("id-6");
      expect(await store.get("a", "id-5")).to.equal(undefined);
    }
    await file.close();
    const reopened = new FileFailedStore(dir);
    expect((await reopened.list("a")).map((e) => e.id)).to.deep.equal((await file.list("a")).map((e) => e.id));
    expect((await reopened.list()).map((e) => `${e.node}/${e.id}`).slice(0, 2)).to.deep.equal([`a/id-${FAILED_PER_NODE + 5}`, "a/id-1004"]);
    expect(await reopened.get("b", "id-1")).to.deep.equal(entry("b", 1));
    // the file holds little more than what is kept: history is compacted away
    const lines = fs.readFileSync(path.join(dir, "a.jsonl"), "utf8").trim().split("\n").length;
    expect(lines).to.be.at.most(2 * FAILED_PER_NODE);
  });

  it("forgets a removed entry across a reopen, and replaces an entry added again with the same id", async function () {
    const store = new FileFailedStore(dir);
    await store.add(entry("a", 1));
    await store.add(entry("a", 2));
    expect(await store.remove("a", "id-1")).to.equal(true);
    expect(await store.remove("a", "id-1")).to.equal(false);
    const again = { ...entry("a", 2), reason: "failed again", failedAt: "2026-12-05T00:00:00.000Z" };
    await store.add(again);
    await store.close();
    const reopened = new FileFailedStore(dir);
    expect(await reopened.list("a")).to.deep.equal([again]);
  });

  it("skips a line cut short by a crash", async function () {
    const store = new FileFailedStore(dir);
    await store.add(entry("a", 1));
    await store.close();
    fs.appendFileSync(path.join(dir, "a.jsonl"), '{"node":"a","id":"id-2","ms');
    const reopened = new FileFailedStore(dir);
    expect((await reopened.list("a")).map((e) => e.id)).to.deep.equal(["id-1"]);
    await reopened.add(entry("a", 3));
    await reopened.close();
    expect((await new FileFailedStore(dir).list("a")).map((e) => e.id)).to.deep.equal(["id-3", "id-1"]);
  });

  it("keeps the message JSON-safe, as the journal does: no req/res, no functions", function () {
    const kept = entry("a", 1, { req: { socket: {} }, res: {}, fn: () => 1, mine: "yes" });
    expect(kept.msg).to.deep.equal({ topic: "insight.created", payload: { id: "k-1" }, mine: "yes" });
  });

  it("is a file under the user directory, memory without one, memory with a warning when the directory is unusable", function () {
    expect(failedStoreFor({}, () => undefined)).to.be.instanceOf(MemoryFailedStore).and.not.instanceOf(FileFailedStore);
    expect(failedStoreFor({ userDir: dir }, () => undefined)).to.be.instanceOf(FileFailedStore);
    expect(fs.existsSync(path.join(dir, FAILED_DIR))).to.equal(true);
    const notADir = path.join(dir, "file");
    fs.writeFileSync(notADir, "");
    const warnings: string[] = [];
    const store = failedStoreFor({ userDir: notADir }, (text) => warnings.push(text));
    expect(store).to.not.be.instanceOf(FileFailedStore);
    expect(warnings.join()).to.include("kept in memory only");
  });
});

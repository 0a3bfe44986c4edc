import { expect } from "chai";
import { checkApiUrl } from "../../src/cse/api-url";
import { CseClient, CseNotFoundError } from "../../src/cse/client";
import { RateLimiter } from "../../src/cse/rate-limiter";
import { scaledRetryPolicy } from "../../src/cse/retry";
import { startCsePeer, type CsePeer } from "../fakes/cse-peer";

const fast = scaledRetryPolicy(0.001);

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a failure");
}

describe("CSE API client", function () {
  let peer: CsePeer;
  let client: CseClient;
  beforeEach(async function () {
    peer = await startCsePeer();
    client = new CseClient({ apiUrl: peer.apiUrl, accessId: peer.accessId, accessKey: peer.accessKey, retry: fast, limiter: new RateLimiter({ perWindow: 1000 }) });
  });
  afterEach(async function () {
    client.close();
    await peer.close();
  });

  it("fetches an Insight by UUID or readableId with Basic auth and unwraps the envelope", async function () {
    const added = peer.addInsight();
    const byUuid = await client.getInsight(added.id);
    const byReadable = await client.getInsight(` ${added.readableId} `);
    expect(byUuid.id).to.equal(added.id);
    expect(byReadable.readableId).to.equal(added.readableId);
    const auth = String(peer.requests[0].headers.authorization);
    expect(Buffer.from(auth.replace(/^Basic /, ""), "base64").toString()).to.equal(`${peer.accessId}:${peer.accessKey}`);
    expect(peer.requests.map((r) => r.path)).to.deep.equal([`/insights/${added.id}`, `/insights/${added.readableId}`]);
  });

  it("says an unknown Insight was not found, and refuses a malformed id without asking", async function () {
    const err = await failure(client.getInsight("INSIGHT-999"));
    expect(err).to.be.instanceOf(CseNotFoundError);
    expect(err.message).to.equal("Insight INSIGHT-999 was not found in the Cloud SIEM tenant");
    const bad = await failure(client.getInsight("drop table"));
    expect(bad.message).to.match(/"drop table" is not an Insight ID/);
    expect(peer.requests).to.have.length(1);
  });

  it("reports 401 as a credentials problem at once, without the key", async function () {
    const wrong = new CseClient({ apiUrl: peer.apiUrl, accessId: peer.accessId, accessKey: "wrong-key-123", retry: fast });
    const err = await failure(wrong.getInsight("INSIGHT-1"));
    wrong.close();
    expect(err.message).to.match(/HTTP 401.*check the access key \/ Cloud SIEM role/);
    expect(err.message).not.to.contain("wrong-key-123");
    expect(peer.requests).to.have.length(1);
  });

  it("reports 403 the same way", async function () {
    peer.fail({ status: 403, body: { errors: [{ code: "Forbidden", message: "missing capability" }] } });
    const err = await failure(client.testConnection());
    expect(err.message).to.match(/HTTP 403: missing capability\): check the access key \/ Cloud SIEM role/);
  });

  it("says clearly when the tenant answers an HTML page", async function () {
    peer.fail({ status: 200, body: "<!DOCTYPE html><html><body>Sumo Logic</body></html>" });
    const err = await failure(client.listRules());
    expect(err.message).to.match(/answered HTTP 200 with an HTML page instead of JSON: check the tenant's API URL/);
    peer.fail({ status: 200, body: "garbage{" , headers: { "Content-Type": "application/json" } });
    const err2 = await failure(client.listRules());
    expect(err2.message).to.match(/something that is not JSON/);
  });

  it("retries a 429 burst honouring Retry-After, then succeeds", async function () {
    const added = peer.addInsight();
    peer.fail(
      { status: 429, headers: { "Retry-After": "1" } },
      { status: 429, headers: { "Retry-After": "1" } },
      { status: 502 },
    );
    const insight = await client.getInsight(added.id);
    expect(insight.id).to.equal(added.id);
    expect(peer.requests).to.have.length(4);
  });

  it("gives up after maxAttempts on 5xx and says how often it tried", async function () {
    const limited = new CseClient({ apiUrl: peer.apiUrl, accessId: peer.accessId, accessKey: peer.accessKey, retry: fast, maxAttempts: 3 });
    peer.failAll({ status: 503 });
    const err = await failure(limited.testConnection());
    limited.close();
    expect(err.message).to.match(/HTTP 503.*after 3 attempts/);
    expect(peer.requests).to.have.length(3);
  });

  it("fails instead of waiting for a Retry-After over 5 minutes", async function () {
    peer.fail({ status: 429, headers: { "Retry-After": "3600" } });
    const err = await failure(client.testConnection());
    expect(err.message).to.match(/HTTP 429.*too long to wait/);
    expect(peer.requests).to.have.length(1);
  });

  it("reports a redirect (wrong region) instead of following it with the credentials", async function () {
    peer.fail({ status: 301, headers: { Location: "https://api.eu.sumologic.com/api/sec/v1/insights" } });
    const err = await failure(client.testConnection());
    expect(err.message).to.match(/redirected to api\.eu\.sumologic\.com/);
    expect(peer.requests).to.have.length(1);
  });

  it("pages through Insights 50 at a time while hasNextPage, passing q as given", async function () {
    for (let i = 0; i < 120; i++) peer.addInsight(new Date(Date.UTC(2026, 10, 28, 3, 0, i)));
    const q = `created:>=2026-11-28T03:00:10`;
    const found = await client.listInsights(q);
    expect(found).to.have.length(110);
    expect(new Set(found.map((i) => i.id)).size).to.equal(110);
    expect(peer.requests.map((r) => [r.query.q, r.query.limit, r.query.offset])).to.deep.equal([
      [q, "50", "0"],
      [q, "50", "50"],
      [q, "50", "100"],
    ]);
  });

  it("pages through rules", async function () {
    for (let i = 0; i < 51; i++) peer.addRule(`MATCH-U${String(i).padStart(5, "0")}`);
    const rules = await client.listRules();
    expect(rules).to.have.length(51);
    expect(peer.requests.map((r) => `${r.path}?limit=${r.query.limit}&offset=${r.query.offset}`)).to.deep.equal([
      "/rules?limit=50&offset=0",
      "/rules?limit=50&offset=50",
    ]);
  });

  it("gives up on a tenant that does not answer within the timeout, retrying first", async function () {
    peer.delayMs = 5_000;
    const slow = new CseClient({ apiUrl: peer.apiUrl, accessId: peer.accessId, accessKey: peer.accessKey, retry: fast, maxAttempts: 2, timeoutMs: 50 });
    const err = await failure(slow.testConnection());
    slow.close();
    expect(err.message).to.equal("Cloud SIEM API GET /insights failed: no answer within 50 ms (after 2 attempts)");
    expect(peer.requests).to.have.length(2);
  });

  it("PUTs an enrichment to …/enrichments/Recorded%20Future", async function () {
    const added = peer.addInsight();
    await client.putEnrichment("insights", added.id, "Recorded Future", { detail: { a: 1 }, raw: "x", reputation: "malicious" });
    expect(peer.requests[0].method).to.equal("PUT");
    expect(peer.requests[0].rawPath).to.equal(`/api/sec/v1/insights/${added.id}/enrichments/Recorded%20Future`);
    expect(peer.requests[0].headers["content-type"]).to.equal("application/json");
    expect(peer.enrichments.get(`insights/${added.id}/Recorded Future`)).to.deep.equal({ detail: { a: 1 }, raw: "x", reputation: "malicious" });
  });

  it("never has more than 10 requests open at the tenant", async function () {
    peer.delayMs = 50;
    await Promise.all(Array.from({ length: 25 }, () => client.testConnection()));
    expect(peer.requests).to.have.length(25);
    expect(peer.maxConcurrent).to.equal(10);
  });

  it("lets only 4 requests start until the 1-second window moves on", async function () {
    let now = 0;
    const timers: (() => void)[] = [];
    const limiter = new RateLimiter({ clock: { now: () => now, setTimer: (fn) => (timers.push(fn), () => undefined) } });
    const frozen = new CseClient({ apiUrl: peer.apiUrl, accessId: peer.accessId, accessKey: peer.accessKey, limiter });
    const calls = Array.from({ length: 6 }, () => frozen.testConnection());
    await Promise.all(calls.slice(0, 4));
    expect(peer.requests).to.have.length(4);
    expect(limiter.queued).to.equal(2);
    now = 1000;
    timers.forEach((fn) => fn());
    await Promise.all(calls);
    expect(peer.requests).to.have.length(6);
    frozen.close();
  });

  it("close() aborts requests in flight and waiting", async function () {
    peer.delayMs = 10_000;
    const pending = Array.from({ length: 12 }, () => failure(client.testConnection()));
    while (peer.requests.length < 10) await new Promise((r) => setTimeout(r, 5));
    client.close();
    const errors = await Promise.all(pending);
    expect(errors.every((e) => /closed/.test(e.message))).to.equal(true);
    expect(peer.requests).to.have.length(10);
  });

  it("an AbortSignal stops one call", async function () {
    peer.delayMs = 10_000;
    const controller = new AbortController();
    const pending = failure(client.listInsights("created:>=2026-11-28T03:00:00", controller.signal));
    while (peer.requests.length < 1) await new Promise((r) => setTimeout(r, 5));
    controller.abort(new Error("poll stopped"));
    expect((await pending).message).to.equal("poll stopped");
  });
});

describe("CSE API URL check", function () {
  it("accepts https and loopback http, strips the trailing slash", function () {
    expect(checkApiUrl("https://api.eu.sumologic.com/api/sec/v1/")).to.equal("https://api.eu.sumologic.com/api/sec/v1");
    expect(checkApiUrl("http://127.0.0.1:8080/api/sec/v1")).to.equal("http://127.0.0.1:8080/api/sec/v1");
    expect(checkApiUrl("http://localhost/api/sec/v1")).to.equal("http://localhost/api/sec/v1");
    expect(checkApiUrl("http://[::1]:9/api/sec/v1")).to.equal("http://[::1]:9/api/sec/v1");
  });

  it("rejects plain http elsewhere, other schemes, junk and embedded credentials", function () {
    expect(() => checkApiUrl("http://api.sumologic.com/api/sec/v1")).to.throw(/apiUrl must use https:\/\//);
    expect(() => checkApiUrl("http://127.0.0.1.evil.com/api")).to.throw(/must use https/);
    expect(() => checkApiUrl("ftp://api.sumologic.com/")).to.throw(/must use https/);
    expect(() => checkApiUrl("not a url")).to.throw(/apiUrl "not a url" is not a URL/);
    expect(() => checkApiUrl("")).to.throw(/apiUrl is empty/);
    expect(() => checkApiUrl("https://id:key@api.sumologic.com/")).to.throw(/must not contain a user name or password/);
    expect(() => new CseClient({ apiUrl: "http://10.1.2.3/api/sec/v1", accessId: "a", accessKey: "b" })).to.throw(/https/);
  });
});

/**
 * Fault survival of every action node, data-driven: one table of faults, run against every HTTP node through a
 * small adapter (how to point the node at a peer, what a good answer is), plus the SMTP and SNS nodes against
 * their own protocol fakes. Each case ends delivered, retried the right number of times, or failed naming the
 * cause — and in every case nothing secret leaks into the log, a status, Catch or msg.delivery.
 */
import { expect } from "chai";
import helper from "node-red-node-test-helper";
import { AWS_ERRORS, startAwsQueryPeer, type AwsQueryPeer } from "../fakes/aws-query-peer";
import { refusedPort, startFaultyPeer, startSilentPeer, type FaultStep, type FaultyPeer } from "../fakes/faulty-peer";
import { testPki } from "../fakes/pki";
import { startSmtpPeer } from "../fakes/smtp-peer";
import { actionFlow, eventMsg, exposure, httpAdapters, Inbox, MARK, nodeModules, secret, type HttpAdapter } from "./support";

helper.init(require.resolve("node-red"));

const MAX = 3;

interface Result {
  delivered: boolean;
  msg: any;
}

type Expected =
  | { delivered: true; attempts: number; requests?: number }
  | { delivered: false; attempts: number; requests?: number; cause: RegExp };

type PeerKind = "plain" | "untrusted-tls" | "client-cert-tls" | "refused" | "dns";

interface Fault {
  name: string;
  peer?: PeerKind;
  script?(a: HttpAdapter): FaultStep[];
  props?: Record<string, unknown>;
  /** Extra credentials (XSOAR's CA and client certificate). */
  creds?(): Record<string, string>;
  applies?(a: HttpAdapter): boolean;
  expect(a: HttpAdapter): Expected;
}

const failsAfter = (attempts: number, cause: RegExp, requests: number | undefined = attempts): Expected => ({ delivered: false, attempts, requests, cause });
const deliveredAt = (attempts: number): Expected => ({ delivered: true, attempts, requests: attempts });

/** Echoes what the client sent (its credentials included) in a 400 body: the node must not repeat it. */
const echo: FaultStep = {
  status: 400,
  body: (req) =>
    JSON.stringify({
      error: String(req.headers.authorization ?? req.headers["x-rftoken"] ?? req.url),
      title: String(req.headers["x-xdr-auth-id"] ?? req.url),
      status: "invalid event",
      errors: [req.body.slice(0, 300), req.url],
      message: `${req.url} ${JSON.stringify(req.headers)}`,
    }),
};

const isXsoar = (a: HttpAdapter) => a.type === "cse-xsoar";

const FAULTS: Fault[] = [
  { name: "connection refused", peer: "refused", expect: () => failsAfter(MAX, /ECONNREFUSED/, undefined) },
  { name: "reset before the answer, then an answer", script: (a) => [{ reset: true }, a.ok], expect: () => deliveredAt(2) },
  { name: "reset before the answer, every time", script: () => [{ reset: true }], expect: () => failsAfter(MAX, /network error.*(socket hang up|ECONNRESET)/) },
  { name: "reset in the middle of the answer, then an answer", script: (a) => [{ ...a.ok, status: 200, body: "x".repeat(200), midReset: true }, a.ok], expect: () => deliveredAt(2) },
  { name: "reset in the middle of the answer, every time", script: (a) => [{ ...a.ok, status: 200, body: "x".repeat(200), midReset: true }], expect: () => failsAfter(MAX, /network error: the connection closed in the middle of the answer, gave up after 3 attempts/) },
  { name: "an answer slower than timeout, then an answer", props: { timeout: 250 }, script: (a) => [{ ...a.ok, delayMs: 3000 }, a.ok], expect: () => deliveredAt(2) },
  { name: "no answer within timeout, every time", props: { timeout: 200, maxAttempts: 2 }, script: () => [{ hang: true }], expect: () => failsAfter(2, /did not answer within 200 ms, gave up after 2 attempts/) },
  ...[500, 502, 503, 504].map((status): Fault => ({ name: `HTTP ${status}, then an answer`, script: (a) => [{ status, body: "upstream trouble" }, a.ok], expect: () => deliveredAt(2) })),
  { name: "HTTP 503 every time", script: () => [{ status: 503, body: "busy" }], expect: () => failsAfter(MAX, /answered HTTP 503.*gave up after 3 attempts/) },
  { name: "429 with Retry-After in seconds, then an answer", script: (a) => [{ status: 429, headers: { "Retry-After": "2" } }, a.ok], expect: () => deliveredAt(2) },
  {
    name: "429 with Retry-After as an HTTP date, then an answer",
    script: (a) => [{ status: 429, headers: { "Retry-After": new Date(Date.now() + 3000).toUTCString() } }, a.ok],
    expect: () => deliveredAt(2),
  },
  { name: "429 asking to wait an hour", script: () => [{ status: 429, headers: { "Retry-After": "3600" } }], expect: () => failsAfter(1, /HTTP 429.*more than 5 minutes/) },
  {
    name: "429 asking to wait until an HTTP date an hour away",
    script: () => [{ status: 429, headers: { "Retry-After": new Date(Date.now() + 3_600_000).toUTCString() } }],
    expect: () => failsAfter(1, /HTTP 429.*more than 5 minutes/),
  },
  {
    name: "2xx with an error body",
    applies: (a) => !!a.errorBody,
    script: (a) => [a.errorBody!.permanent, a.ok],
    expect: (a) => failsAfter(1, a.errorBody!.cause),
  },
  {
    name: "2xx with a transient error body, then an answer",
    applies: (a) => !!a.errorBody?.transient,
    script: (a) => [a.errorBody!.transient!, a.ok],
    expect: () => deliveredAt(2),
  },
  {
    name: "malformed body",
    applies: (a) => !!a.malformed,
    script: (a) => [a.malformed!.step, a.ok],
    expect: (a) => (a.malformed!.delivered ? deliveredAt(1) : failsAfter(1, a.malformed!.cause!)),
  },
  { name: "a 400 whose body echoes the credentials", script: () => [echo], expect: () => failsAfter(1, /HTTP 400/) },
  { name: "a redirect", script: () => [{ status: 302, headers: { Location: "https://collector.evil.example/grab?k=1" } }], expect: () => failsAfter(1, /HTTP 302 redirect to collector\.evil\.example not followed/) },
  {
    name: "an untrusted TLS certificate",
    peer: "untrusted-tls",
    script: (a) => [a.ok],
    expect: () => failsAfter(1, /certificate/i, 0),
  },
  {
    name: "an untrusted TLS certificate, with its CA configured",
    peer: "untrusted-tls",
    applies: isXsoar,
    creds: () => ({ ca: testPki().ca }),
    script: (a) => [a.ok],
    expect: () => deliveredAt(1),
  },
  {
    name: "a TLS peer demanding a client certificate",
    peer: "client-cert-tls",
    script: (a) => [a.ok],
    expect: (a) => failsAfter(1, isXsoar(a) ? /certificate/i : /certificate/i, 0),
  },
  {
    name: "a TLS peer demanding a client certificate, CA configured, no client certificate",
    peer: "client-cert-tls",
    applies: isXsoar,
    creds: () => ({ ca: testPki().ca }),
    script: (a) => [a.ok],
    expect: () => failsAfter(1, /client certificate required by the server/, 0),
  },
  {
    name: "a TLS peer demanding a client certificate, which is configured",
    peer: "client-cert-tls",
    applies: isXsoar,
    creds: () => ({ ca: testPki().ca, clientCert: testPki().clientCert, clientKey: testPki().clientKey }),
    script: (a) => [a.ok],
    expect: () => deliveredAt(1),
  },
  { name: "a DNS name that does not resolve", peer: "dns", expect: () => failsAfter(MAX, /(ENOTFOUND|EAI_AGAIN).*nonexistent\.invalid|nonexistent\.invalid.*(ENOTFOUND|EAI_AGAIN)/, undefined) },
];

/** Runs one message through `n1` and resolves with what came out first: output or Catch. */
async function deliverOne(msg: object = eventMsg()): Promise<Result> {
  const out = new Inbox("out");
  const caught = new Inbox("caught");
  helper.getNode("n1").receive(msg as any);
  return Promise.race([
    out.until(1).then(([m]) => ({ delivered: true, msg: m })),
    caught.until(1).then(([m]) => ({ delivered: false, msg: m })),
  ]);
}

function check(result: Result, expected: Expected, requests: number | undefined, extraSecrets: string[] = []) {
  const { msg } = result;
  expect(result.delivered, `delivered (${msg.error?.message ?? "no error"})`).to.equal(expected.delivered);
  expect(msg.delivery.attempts, "attempts in msg.delivery").to.equal(expected.attempts);
  expect(msg.delivery.ok).to.equal(expected.delivered);
  if (expected.requests !== undefined && requests !== undefined) expect(requests, "requests at the peer").to.equal(expected.requests);
  if (!expected.delivered) {
    expect(msg.error.message).to.match(expected.cause);
    expect(msg.error.message).to.include('"reliability"');
  }
  const seen = exposure("n1", [msg]);
  expect(seen, "the recorder saw the outcome").to.include(expected.delivered ? "sent " : "failed: ");
  expect(seen, "a secret leaked").to.not.include(MARK);
  for (const s of extraSecrets) expect(seen, "a derived secret leaked").to.not.include(s);
}

describe("fault survival of every action node", function () {
  this.timeout(20_000);

  beforeEach(function (done) {
    helper.startServer(done);
  });
  afterEach(async function () {
    await helper.unload();
    helper.settings({});
    await new Promise<void>((resolve) => helper.stopServer(resolve));
  });

  for (const adapter of httpAdapters) {
    describe(adapter.type, function () {
      let peer: FaultyPeer | undefined;
      afterEach(async function () {
        await peer?.close();
        peer = undefined;
      });

      for (const fault of FAULTS.filter((f) => !f.applies || f.applies(adapter))) {
        it(fault.name, async function () {
          const pki = testPki();
          const kind = fault.peer ?? "plain";
          let base: string;
          if (kind === "refused") base = `http://127.0.0.1:${await refusedPort()}`;
          else if (kind === "dns") base = `https://nonexistent.invalid:${8443}`;
          else {
            peer = await startFaultyPeer(
              kind === "plain" ? {} : { tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca, requestCert: kind === "client-cert-tls" } },
            );
            base = peer.url;
            peer.script(...(fault.script?.(adapter) ?? [adapter.ok]));
          }
          const { props, creds, settings } = adapter.configure(base);
          helper.settings({ cseDelayScale: 0.001, ...settings } as any);
          await helper.load(nodeModules[adapter.type as keyof typeof nodeModules], actionFlow(adapter.type, { ...props, ...fault.props }), {
            n1: { ...creds, ...fault.creds?.() },
          });
          const result = await deliverOne();
          const expected = fault.expect(adapter);
          check(result, expected, peer?.requests.length, adapter.derivedSecrets);
          if (expected.delivered) expect(result.msg.delivery.status).to.equal(adapter.ok.status === 204 ? 204 : adapter.okStatus);
        });
      }
    });
  }

  describe("cse-email (SMTP)", function () {
    const closers: (() => Promise<void>)[] = [];
    afterEach(async function () {
      await Promise.all(closers.splice(0).map((c) => c()));
    });

    async function load(host: string, port: number, props: Record<string, unknown> = {}, smtpProps: Record<string, unknown> = {}) {
      helper.settings({ cseDelayScale: 0.001 } as any);
      const smtp = { id: "s1", type: "cse-smtp", host, port, tls: "none", rejectUnauthorized: true, from: "siem@example.com", ...smtpProps };
      await helper.load([nodeModules["cse-smtp"], nodeModules["cse-email"]], actionFlow("cse-email", { recipients: "soc@example.com", smtp: "s1", ...props }, [smtp]), {
        s1: { user: secret("user"), password: secret("password") },
      });
    }

    it("connection refused", async function () {
      await load("127.0.0.1", await refusedPort());
      check(await deliverOne(), failsAfter(MAX, /ECONNREFUSED|ECONNECTION/, undefined), undefined);
    });

    it("a server that never greets, slower than timeout", async function () {
      const silent = await startSilentPeer();
      closers.push(() => silent.close());
      await load(silent.host, silent.port, { timeout: 300, maxAttempts: 2 });
      check(await deliverOne(), failsAfter(2, /did not answer within 300 ms, gave up after 2 attempts/, undefined), undefined);
      expect(silent.connections).to.be.at.least(1);
    });

    it("a 451 (try later), then accepted", async function () {
      const peer = await startSmtpPeer({ dataReplies: [451, 250], users: { [secret("user")]: secret("password") } });
      closers.push(() => peer.close());
      await load(peer.host, peer.port);
      check(await deliverOne(), deliveredAt(2), peer.dataCommands);
      expect(peer.mails).to.have.length(1);
    });

    it("a 4xx every time", async function () {
      const peer = await startSmtpPeer({ dataReplies: [452], users: { [secret("user")]: secret("password") } });
      closers.push(() => peer.close());
      await load(peer.host, peer.port);
      check(await deliverOne(), failsAfter(MAX, /SMTP 452/), peer.dataCommands);
    });

    it("a 550 (refused for good)", async function () {
      const peer = await startSmtpPeer({ dataReplies: [550], users: { [secret("user")]: secret("password") } });
      closers.push(() => peer.close());
      await load(peer.host, peer.port);
      check(await deliverOne(), failsAfter(1, /SMTP 550/), peer.dataCommands);
    });

    it("a 535 (login refused)", async function () {
      const peer = await startSmtpPeer({ users: { someoneElse: "x" } });
      closers.push(() => peer.close());
      await load(peer.host, peer.port);
      check(await deliverOne(), failsAfter(1, /535/, 0), peer.dataCommands);
      expect(peer.dataCommands).to.equal(0);
    });

    it("an untrusted TLS certificate (implicit TLS)", async function () {
      const pki = testPki();
      const peer = await startSmtpPeer({ tls: { key: pki.serverKey, cert: pki.serverCert, secure: true }, users: { [secret("user")]: secret("password") } });
      closers.push(() => peer.close());
      await load(peer.host, peer.port, {}, { tls: "tls" });
      check(await deliverOne(), failsAfter(1, /certificate/i, 0), peer.dataCommands);
    });

    it("an untrusted TLS certificate, accepted when rejectUnauthorized is off", async function () {
      const pki = testPki();
      const peer = await startSmtpPeer({ tls: { key: pki.serverKey, cert: pki.serverCert, secure: true }, users: { [secret("user")]: secret("password") } });
      closers.push(() => peer.close());
      await load(peer.host, peer.port, {}, { tls: "tls", rejectUnauthorized: false });
      check(await deliverOne(), deliveredAt(1), peer.dataCommands);
    });

    it("a DNS name that does not resolve", async function () {
      await load("nonexistent.invalid", 2525);
      check(await deliverOne(), failsAfter(MAX, /ENOTFOUND|EDNS|EAI_AGAIN/, undefined), undefined);
    });
  });

  describe("cse-sns (AWS Query protocol)", function () {
    const KEYS = { accessKeyId: `AKIA${secret("accessKeyId")}`, secretAccessKey: secret("secretAccessKey") };
    let peer: AwsQueryPeer | undefined;
    afterEach(async function () {
      await peer?.close();
      peer = undefined;
    });

    async function load(endpoint: string, props: Record<string, unknown> = {}) {
      helper.settings({ cseDelayScale: 0.001 } as any);
      await helper.load(nodeModules["cse-sns"], actionFlow("cse-sns", { topicArn: "arn:aws:sns:eu-west-1:123456789012:cloud-siem", region: "", endpoint, ...props }), { n1: KEYS });
    }
    async function withPeer(props: Record<string, unknown> = {}) {
      peer = await startAwsQueryPeer({ [KEYS.accessKeyId]: KEYS.secretAccessKey });
      await load(peer.url, props);
      return peer;
    }

    it("Throttling, then published", async function () {
      const p = await withPeer();
      p.failNext("Publish", AWS_ERRORS.throttling, 1);
      check(await deliverOne(), deliveredAt(2), p.publishes().length);
    });

    it("HTTP 500 InternalError, then published", async function () {
      const p = await withPeer();
      p.failNext("Publish", AWS_ERRORS.internal, 1);
      check(await deliverOne(), deliveredAt(2), p.publishes().length);
    });

    it("Throttling every time", async function () {
      const p = await withPeer();
      p.failNext("Publish", AWS_ERRORS.throttling, 10);
      check(await deliverOne(), failsAfter(MAX, /Throttling.*gave up after 3 attempts/), p.publishes().length);
    });

    it("no answer within timeout, then published", async function () {
      const p = await withPeer({ timeout: 300 });
      p.failNext("Publish", "hang", 1);
      check(await deliverOne(), deliveredAt(2), p.publishes().length);
    });

    it("not authorized (permanent)", async function () {
      const p = await withPeer();
      p.failNext("Publish", AWS_ERRORS.authorization, 1);
      check(await deliverOne(), failsAfter(1, /not authorized to publish/), p.publishes().length);
    });

    it("connection refused", async function () {
      await load(`http://127.0.0.1:${await refusedPort()}`);
      check(await deliverOne(), failsAfter(MAX, /ECONNREFUSED/, undefined), undefined);
    });

    it("an untrusted TLS certificate", async function () {
      const pki = testPki();
      const tlsPeer = await startFaultyPeer({ tls: { key: pki.serverKey, cert: pki.serverCert } });
      try {
        await load(tlsPeer.url);
        check(await deliverOne(), failsAfter(1, /certificate/i, 0), tlsPeer.requests.length);
      } finally {
        await tlsPeer.close();
      }
    });

    it("a DNS name that does not resolve", async function () {
      await load("https://sns.nonexistent.invalid");
      check(await deliverOne(), failsAfter(MAX, /ENOTFOUND|EAI_AGAIN/, undefined), undefined);
    });
  });
});

import { expect } from "chai";
import net, { type AddressInfo } from "node:net";
import helper from "node-red-node-test-helper";
import { cseMetaFor } from "../../src/events/meta";
import type { EventTopic, Insight } from "../../src/events/types";
import { snsMessageBytes, SNS_MAX_BYTES } from "../../src/render/sns-message";
import { classifySnsError, parseTopicArn, publishInput, snsConfig } from "../../src/targets/sns";
import { AWS_ERRORS, messageAttributes, startAwsQueryPeer, type AwsQueryPeer } from "../fakes/aws-query-peer";
import { modernInsight, realInsight } from "../fakes/insights";
import { Inbox } from "../support/node-test";

helper.init(require.resolve("node-red"));

const snsNode = require("../../src/nodes/cse-sns");

const MASTER = { accessKeyId: "AKIAMASTERKEY0000001", secretAccessKey: "master/Secret+Key0000000000000000000000001" };
const TOPIC = "arn:aws:sns:eu-west-1:123456789012:cloud-siem";
const ROLE = "arn:aws:iam::123456789012:role/cloud-siem-sns";

function flow(props: Record<string, unknown>) {
  return [
    { id: "f1", type: "tab" },
    {
      id: "n1",
      type: "cse-sns",
      z: "f1",
      name: "SOC topic",
      region: "",
      topicArn: TOPIC,
      assumeRoleArn: "",
      externalId: "",
      endpoint: "",
      timeout: 5000,
      maxAttempts: 5,
      ...props,
      wires: [["out"]],
    },
    { id: "out", type: "helper", z: "f1" },
    { id: "c1", type: "catch", z: "f1", scope: ["n1"], uncaught: false, wires: [["caught"]] },
    { id: "caught", type: "helper", z: "f1" },
  ];
}

function event(topic: EventTopic, insight: Insight) {
  return { topic, payload: insight, cse: cseMetaFor(topic, insight) };
}

describe("cse-sns node", function () {
  let peer: AwsQueryPeer;
  const savedSts = process.env.AWS_ENDPOINT_URL_STS;

  beforeEach(async function () {
    peer = await startAwsQueryPeer({ [MASTER.accessKeyId]: MASTER.secretAccessKey });
    process.env.AWS_ENDPOINT_URL_STS = peer.url;
    await new Promise<void>((resolve) => helper.startServer(resolve));
  });

  afterEach(async function () {
    await helper.unload();
    await new Promise<void>((resolve) => helper.stopServer(resolve));
    helper.settings({});
    if (savedSts === undefined) delete process.env.AWS_ENDPOINT_URL_STS;
    else process.env.AWS_ENDPOINT_URL_STS = savedSts;
    await peer.close();
  });

  async function start(props: Record<string, unknown>, creds: Record<string, string> = MASTER) {
    helper.settings({ cseDelayScale: 0.001 } as any);
    await helper.load(snsNode, flow({ endpoint: peer.url, ...props }), { n1: creds });
    return { n1: helper.getNode("n1") as any, out: new Inbox("out"), caught: new Inbox("caught") };
  }

  it("publishes a real Insight signed with the assumed role's temporary key", async function () {
    const { n1, out } = await start({ assumeRoleArn: ROLE, externalId: "sumo-cse-4242" });
    const insight = realInsight();
    n1.receive(event("insight.closed", insight));
    n1.receive(event("insight.onDemand", insight));
    const [first, second] = await out.until(2);

    const [assume, ...moreAssumes] = peer.assumeRoles();
    expect(moreAssumes, "the temporary credentials are reused").to.have.length(0);
    expect(assume.form).to.include({ RoleArn: ROLE, ExternalId: "sumo-cse-4242", RoleSessionName: "node-red-cse-actions" });
    expect(assume.sigv4).to.include({ accessKeyId: MASTER.accessKeyId, service: "sts", region: "eu-west-1", valid: true });

    const publishes = peer.publishes();
    expect(publishes).to.have.length(2);
    const publish = publishes[0];
    expect(publish.sigv4).to.include({ accessKeyId: peer.temporary.accessKeyId, service: "sns", region: "eu-west-1", valid: true });
    expect(publish.sessionToken).to.equal(peer.temporary.sessionToken);
    expect(publish.form.TopicArn).to.equal(TOPIC);
    expect(publish.form.Message).to.equal(JSON.stringify(insight));
    expect(publish.form.Subject).to.equal("Cloud SIEM insight.closed INSIGHT-220: Command and Control with Defense Evasion and Execution");
    expect(messageAttributes(publish)).to.deep.equal({ event: "insight.closed" });
    expect(publish.form).to.not.have.property("MessageGroupId");
    expect(messageAttributes(publishes[1])).to.deep.equal({ event: "insight.onDemand" });

    expect(first.delivery).to.include({ action: "cse-sns", ok: true, status: 200, attempts: 1 });
    expect(first.delivery.id).to.match(/^[0-9a-f-]{36}$/);
    expect(second.delivery.id).to.not.equal(first.delivery.id);
  });

  it("signs with the static access key when no role is set", async function () {
    const { n1, out } = await start({});
    n1.receive(event("insight.created", modernInsight()));
    const [msg] = await out.until(1);
    expect(peer.assumeRoles()).to.have.length(0);
    const [publish] = peer.publishes();
    expect(publish.sigv4).to.include({ accessKeyId: MASTER.accessKeyId, valid: true });
    expect(publish.sessionToken).to.equal(undefined);
    expect(msg.delivery).to.include({ ok: true, attempts: 1 });
  });

  it("gives FIFO topics a message group and msg.cse.key as deduplication id", async function () {
    const { n1, out } = await start({ topicArn: `${TOPIC}.fifo` });
    const insight = modernInsight();
    n1.receive(event("insight.created", insight));
    n1.receive({ topic: "sensor.offline", payload: { sensorId: "s-7", sensorName: "dmz", sensorZone: "dmz", lastSeen: "2026-11-28T03:00:00.000Z" } });
    await out.until(2);
    const [created, sensor] = peer.publishes();
    expect(created.form).to.include({
      TopicArn: `${TOPIC}.fifo`,
      MessageGroupId: insight.id,
      MessageDeduplicationId: `${insight.id}:insight.created`,
    });
    expect(sensor.form).to.include({ MessageGroupId: "sensor:s-7", MessageDeduplicationId: "sensor:s-7:offline" });
    expect(JSON.parse(sensor.form.Message)).to.include({ sensorId: "s-7" });
  });

  it("gives each on-demand run of the same Insight its own FIFO deduplication id", async function () {
    const { n1, out } = await start({ topicArn: `${TOPIC}.fifo` });
    const insight = modernInsight();
    n1.receive(event("insight.onDemand", insight));
    n1.receive(event("insight.onDemand", insight));
    await out.until(2);
    const [first, second] = peer.publishes();
    expect(first.form.MessageGroupId).to.equal(insight.id);
    expect(second.form.MessageGroupId).to.equal(insight.id);
    expect(first.form.MessageDeduplicationId).to.be.a("string").and.not.equal(second.form.MessageDeduplicationId);
  });

  it("sends a 300 KiB Insight under the limit without records, marked truncated", async function () {
    const { n1, out } = await start({});
    const insight = modernInsight({}, 250);
    const size = Buffer.byteLength(JSON.stringify(insight));
    expect(size).to.be.within(290 * 1024, 330 * 1024);
    n1.receive(event("insight.created", insight));
    const [msg] = await out.until(1);
    const [publish] = peer.publishes();
    const attributes = messageAttributes(publish);
    expect(attributes).to.deep.equal({ event: "insight.created", truncated: "true" });
    expect(snsMessageBytes(publish.form.Message, attributes)).to.be.at.most(SNS_MAX_BYTES);
    const sent = JSON.parse(publish.form.Message);
    expect(sent.signals).to.have.length(2);
    expect(sent.signals.every((s: any) => !("allRecords" in s))).to.equal(true);
    expect(msg.payload.signals[0].allRecords, "the message itself keeps its records").to.have.length(250);
    expect(msg.delivery.ok).to.equal(true);
  });

  it("retries throttling and internal errors, then delivers", async function () {
    const { n1, out } = await start({});
    peer.failNext("Publish", AWS_ERRORS.throttling, 2);
    peer.failNext("Publish", AWS_ERRORS.internal);
    n1.receive(event("insight.created", modernInsight()));
    const [msg] = await out.until(1);
    expect(peer.publishes()).to.have.length(4);
    expect(msg.delivery).to.include({ ok: true, attempts: 4 });
  });

  it("fails a missing topic at once with 'topic not found' to Catch", async function () {
    const { n1, caught } = await start({});
    peer.failNext("Publish", AWS_ERRORS.notFound);
    n1.receive(event("insight.created", modernInsight()));
    const [msg] = await caught.until(1);
    expect(peer.publishes()).to.have.length(1);
    expect(msg.error.message).to.match(/cse-sns "SOC topic".*topic not found/);
    expect(n1.status.lastCall.args[0]).to.include({ fill: "red" });
    expect(n1.status.lastCall.args[0].text).to.match(/^failed: topic not found/);
    expect(msg.error.message).to.contain(TOPIC);
    expect(msg.delivery).to.include({ ok: false, attempts: 1, status: 404 });
  });

  it("fails AuthorizationError and InvalidParameter at once with clear messages", async function () {
    const { n1, caught } = await start({});
    peer.failNext("Publish", AWS_ERRORS.authorization);
    peer.failNext("Publish", AWS_ERRORS.invalidParameter);
    n1.receive(event("insight.created", modernInsight()));
    n1.receive(event("insight.created", modernInsight({ id: "second" })));
    const [auth, invalid] = await caught.until(2);
    expect(peer.publishes()).to.have.length(2);
    expect(auth.error.message).to.match(/not authorized to publish to arn:aws:sns:eu-west-1:123456789012:cloud-siem; the IAM policy needs sns:Publish on the topic \(HTTP 403 AuthorizationErrorException\)/);
    expect(invalid.error.message).to.match(/invalid parameter: Invalid parameter: Message too long \(HTTP 400 InvalidParameterException\)/);
  });

  it("fails a denied AssumeRole at once, naming the role", async function () {
    const { n1, caught } = await start({ assumeRoleArn: ROLE, externalId: "wrong-id" });
    peer.failNext("AssumeRole", AWS_ERRORS.accessDenied);
    n1.receive(event("insight.created", modernInsight()));
    const [msg] = await caught.until(1);
    expect(peer.publishes()).to.have.length(0);
    expect(msg.error.message).to.match(/not allowed to assume arn:aws:iam::123456789012:role\/cloud-siem-sns;.*\(STS AssumeRole HTTP 403 AccessDenied\)/);
    expect(msg.delivery).to.include({ ok: false, attempts: 1 });
  });

  for (const [field, props, problem] of [
    ["topicArn", { topicArn: "arn:aws:sqs:eu-west-1:123456789012:queue" }, /not an SNS topic ARN/],
    ["topicArn", { topicArn: "arn:aws:sns:eu-west-1:12345:cloud-siem" }, /not an SNS topic ARN/],
    ["region", { region: "us-east-1" }, /us-east-1 does not match the topic ARN's region eu-west-1/],
    ["assumeRoleArn", { assumeRoleArn: "arn:aws:iam::123456789012:user/ci" }, /not an IAM role ARN/],
    ["externalId", { externalId: "no-role" }, /only used with assumeRoleArn/],
  ] as const) {
    it(`shows a red status naming ${field} for ${JSON.stringify(props)} and rejects every message`, async function () {
      const { n1, caught } = await start(props);
      const status = n1.status.lastCall.args[0];
      expect(status).to.include({ fill: "red", shape: "ring" });
      expect(status.text.startsWith(`${field}: `), status.text).to.equal(true);
      n1.receive(event("insight.created", modernInsight()));
      const [msg] = await caught.until(1);
      expect(msg.error.message).to.contain(`cse-sns "SOC topic": invalid configuration: ${field}: `);
      expect(msg.error.message).to.match(problem);
      expect(peer.requests).to.have.length(0);
    });
  }

  it("takes the region from the topic ARN when it is empty", async function () {
    const { n1, out } = await start({ topicArn: "arn:aws:sns:ap-southeast-2:123456789012:cse" });
    n1.receive(event("insight.created", modernInsight()));
    await out.until(1);
    expect(peer.publishes()[0].sigv4).to.include({ region: "ap-southeast-2" });
  });

  it("aborts an attempt that hangs at the timeout and delivers on the next one", async function () {
    const { n1, out } = await start({ timeout: 300 });
    peer.failNext("Publish", "hang");
    n1.receive(event("insight.created", modernInsight()));
    const [msg] = await out.until(1);
    expect(peer.publishes()).to.have.length(2);
    expect(msg.delivery).to.include({ ok: true, attempts: 2 });
  });

  it("retries network errors and reports them after the last attempt", async function () {
    const { n1, caught } = await start({ endpoint: "http://127.0.0.1:1", maxAttempts: 2 });
    n1.receive(event("insight.created", modernInsight()));
    const [msg] = await caught.until(1);
    expect(msg.error.message).to.match(/ECONNREFUSED/);
    expect(msg.error.message).to.match(/gave up after 2 attempts/);
    expect(msg.delivery).to.include({ ok: false, attempts: 2, status: null });
  });

  it("refuses a cloud metadata address as endpoint", async function () {
    const { n1, caught } = await start({ endpoint: "http://169.254.169.254/latest" });
    n1.receive(event("insight.created", modernInsight()));
    const [msg] = await caught.until(1);
    expect(msg.error.message).to.match(/refused to connect to 169\.254\.169\.254: a cloud metadata address/);
    expect(msg.delivery).to.include({ ok: false, attempts: 1 });
  });

  it("uses the SDK's default credential chain when both keys are empty", async function () {
    const saved = { id: process.env.AWS_ACCESS_KEY_ID, secret: process.env.AWS_SECRET_ACCESS_KEY };
    const envKey = { id: "AKIAFROMENVIRONMENT01", secret: "environment/Secret+Key000000000000000001" };
    process.env.AWS_ACCESS_KEY_ID = envKey.id;
    process.env.AWS_SECRET_ACCESS_KEY = envKey.secret;
    await peer.close();
    peer = await startAwsQueryPeer({ [envKey.id]: envKey.secret });
    try {
      const { n1, out } = await start({}, {});
      n1.receive(event("insight.created", modernInsight()));
      await out.until(1);
      expect(peer.publishes()[0].sigv4).to.include({ accessKeyId: envKey.id, valid: true });
    } finally {
      if (saved.id === undefined) delete process.env.AWS_ACCESS_KEY_ID;
      else process.env.AWS_ACCESS_KEY_ID = saved.id;
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
    }
  });

  it("rejects a key ID without its secret", async function () {
    const { n1 } = await start({}, { accessKeyId: MASTER.accessKeyId });
    expect(n1.status.lastCall.args[0].text).to.match(/^secretAccessKey: is required/);
  });

  it("closes its SNS client's connections when the node closes", async function () {
    const { n1, out } = await start({});
    n1.receive(event("insight.created", modernInsight()));
    await out.until(1);
    expect(peer.openConnections()).to.be.greaterThan(0);
    const closed = peer.allClosed();
    await helper.unload();
    await closed;
    expect(peer.openConnections()).to.equal(0);
  });

  it("publishes the sample Insight from the editor's Test button with the stored keys", async function () {
    await start({});
    const res = await helper
      .request()
      .post("/cse-actions/test/cse-sns")
      .send({
        id: "n1",
        properties: { name: "SOC topic", topicArn: TOPIC, region: "", assumeRoleArn: "", externalId: "", endpoint: peer.url, timeout: "5000", maxAttempts: "5" },
        credentials: { accessKeyId: "__PWRD__", secretAccessKey: "__PWRD__" },
      });
    expect(res.status).to.equal(200);
    expect(res.body).to.include({ ok: true, status: 200 });
    expect(res.body.message).to.match(/^sent the sample Insight: AWS SNS answered 200 \(id [0-9a-f-]{36}\)$/);
    const [publish] = peer.publishes();
    expect(publish.sigv4).to.include({ accessKeyId: MASTER.accessKeyId, valid: true });
    expect(messageAttributes(publish)).to.deep.equal({ event: "insight.onDemand" });
  });

  it("goes through HTTPS_PROXY with a CONNECT tunnel to SNS's regional endpoint", async function () {
    const tunnels: string[] = [];
    const proxy = net.createServer((socket) => {
      socket.once("data", (head) => {
        tunnels.push(head.toString("latin1").split("\r\n")[0]);
        socket.end("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n");
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    const names = ["HTTPS_PROXY", "https_proxy", "NO_PROXY", "no_proxy"];
    const saved = names.map((name) => process.env[name]);
    for (const name of names) delete process.env[name];
    process.env.HTTPS_PROXY = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      const { n1, caught } = await start({ endpoint: "" });
      n1.receive(event("insight.created", modernInsight()));
      const [msg] = await caught.until(1);
      expect(tunnels).to.deep.equal(["CONNECT sns.eu-west-1.amazonaws.com:443 HTTP/1.1"]);
      expect(msg.error.message).to.contain("proxy refused the tunnel: HTTP 403");
      expect(msg.delivery).to.include({ ok: false, attempts: 1 });
    } finally {
      names.forEach((name, i) => {
        if (saved[i] === undefined) delete process.env[name];
        else process.env[name] = saved[i];
      });
      proxy.close();
    }
  });

  it("never shows the keys in errors, status or logs", async function () {
    const { n1, caught } = await start({});
    peer.failNext("Publish", {
      status: 403,
      code: "InvalidClientTokenId",
      message: `The security token ${MASTER.accessKeyId} with secret ${MASTER.secretAccessKey} is invalid`,
    });
    n1.receive(event("insight.created", modernInsight()));
    const [msg] = await caught.until(1);
    expect(msg.error.message).to.contain("AWS rejected the credentials");
    const seen = [
      msg.error.message,
      JSON.stringify(msg.delivery),
      JSON.stringify(n1.status.args),
      JSON.stringify(helper.log().args),
    ].join("\n");
    expect(seen).to.not.contain(MASTER.accessKeyId);
    expect(seen).to.not.contain(MASTER.secretAccessKey);
  });

  it("rejects an AWS error that echoes a secret without showing it", async function () {
    const { n1, caught } = await start({});
    peer.failNext("Publish", { status: 400, code: "InvalidParameter", message: `bad value ${MASTER.secretAccessKey}` });
    n1.receive(event("insight.created", modernInsight()));
    const [msg] = await caught.until(1);
    expect(msg.error.message).to.contain("[redacted]");
    expect(msg.error.message).to.not.contain(MASTER.secretAccessKey);
  });
});

describe("SNS target (without Node-RED)", function () {
  it("reads topic ARNs of every partition, FIFO included", function () {
    expect(parseTopicArn("arn:aws-cn:sns:cn-north-1:123456789012:alerts")).to.deep.equal({ partition: "aws-cn", region: "cn-north-1", account: "123456789012", name: "alerts" });
    expect(parseTopicArn("arn:aws-us-gov:sns:us-gov-west-1:123456789012:a_b-c.fifo")?.name).to.equal("a_b-c.fifo");
    expect(parseTopicArn("arn:aws:sns:us-east-1:123456789012:bad.name")).to.equal(undefined);
    expect(parseTopicArn("arn:aws:sns:useast1:123456789012:x")).to.equal(undefined);
  });

  it("hashes FIFO ids that SNS would refuse", function () {
    const insight = modernInsight({ id: "x".repeat(200) });
    const input = publishInput(event("insight.created", insight) as any, snsConfig({ topicArn: `${TOPIC}.fifo` }, {}));
    expect(input.MessageGroupId).to.match(/^[0-9a-f]{64}$/);
    expect(input.MessageDeduplicationId).to.match(/^[0-9a-f]{64}$/);
    expect(input.MessageDeduplicationId).to.not.equal(input.MessageGroupId);
  });

  it("classifies SDK errors: throttling, 5xx and KMS throttling retry; missing credentials fail", function () {
    const config = snsConfig({ topicArn: TOPIC }, {});
    const sdkError = (name: string, status?: number) => Object.assign(new Error("x"), { name, $metadata: status ? { httpStatusCode: status } : {} });
    expect(classifySnsError(sdkError("KMSThrottlingException", 400), config)?.kind).to.equal("retry");
    expect(classifySnsError(sdkError("ServiceUnavailable", 503), config)?.kind).to.equal("retry");
    expect(classifySnsError(sdkError("SomethingNew", 502), config)?.kind).to.equal("retry");
    expect(classifySnsError(sdkError("KMSDisabledException", 400), config)).to.include({ kind: "permanent" });
    expect(classifySnsError(sdkError("CredentialsProviderError"), config))
      .to.include({ kind: "permanent" })
      .and.to.have.property("reason")
      .that.matches(/^no AWS credentials/);
    expect(classifySnsError(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" }), config), "network errors are the engine's").to.equal(undefined);
  });
});

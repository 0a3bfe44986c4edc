import { expect } from "chai";
import helper from "node-red-node-test-helper";
import { sampleInsight } from "../../src/events/sample-insight";
import { BROKEN_PROBLEM, BROKEN_TEMPLATE, EVERY_EVENT_TEMPLATE, EXAMPLE_TEMPLATE } from "../support/templates";

helper.init(require.resolve("node-red"));

const nodes = {
  "cse-http-post": require("../../src/nodes/cse-http-post"),
  "cse-teams": require("../../src/nodes/cse-teams"),
  "cse-pagerduty": require("../../src/nodes/cse-pagerduty"),
  "cse-sns": require("../../src/nodes/cse-sns"),
  "cse-recorded-future": require("../../src/nodes/cse-recorded-future"),
  "cse-slack": require("../../src/nodes/cse-slack"),
  "cse-email": require("../../src/nodes/cse-email"),
};

const READABLE_ID = sampleInsight().readableId as string;
const SECRETS = {
  password: "Pr3view-http-post-password-not-shown",
  teamsUrl: "https://example.webhook.office.com/webhookb2/Pr3viewTeamsSecretPath0123456789/IncomingWebhook/abc",
  serviceKey: "Pr3viewPagerDutyRoutingKey0123456",
  accessKeyId: "AKIAPREVIEW000000001",
  secretAccessKey: "Pr3view/Sns+Secret0000000000000000000001",
  apiToken: "Pr3viewRecordedFutureToken0123456789",
  slackToken: "xoxb-Pr3viewSlackToken0123456789",
};

/** One node of `type` deployed with id n1 (Preview only needs its routes and, for reuse, its stored credentials). */
async function load(type: keyof typeof nodes, props: Record<string, unknown>, credentials: Record<string, string> = {}): Promise<void> {
  await helper.load(nodes[type], [{ id: "f1", type: "tab" }, { id: "n1", type, z: "f1", name: "preview", ...props, wires: [[]] }], { n1: credentials });
}

async function preview(type: string, properties: Record<string, unknown>, credentials: Record<string, string>, sample?: string) {
  const res = await helper.request().post(`/cse-actions/preview/${type}`).send({ id: "n1", properties, credentials, ...(sample ? { sample } : {}) });
  expect(res.status).to.equal(200);
  const answer = JSON.stringify(res.body);
  for (const secret of Object.values(SECRETS)) expect(answer, "a secret in the preview answer").not.to.include(secret);
  return res.body as { ok: boolean; body: string; bytes: number; limits: { what: string; size: number; max: number; unit: string }[]; message: string };
}

describe("editor Preview route: POST cse-actions/preview/<type>", function () {
  beforeEach(function (done) {
    helper.startServer(done);
  });
  afterEach(function (done) {
    helper.unload().then(() => helper.stopServer(done));
  });

  it("cse-http-post: the JSON body for the sample Insight and its byte size, without the password", async function () {
    const props = { url: "https://soar.example.com/cse/insights", extraHeaders: "", includeSignals: false, includeRecords: false, recordFields: "", timeout: "5000", maxAttempts: "3" };
    await load("cse-http-post", props, { username: "soc", password: SECRETS.password });
    const answer = await preview("cse-http-post", props, { username: "soc", password: "__PWRD__" });
    expect(answer.ok).to.equal(true);
    const body = JSON.parse(answer.body);
    expect(body.readableId).to.equal(READABLE_ID);
    expect(body).not.to.have.property("signals");
    expect(answer.bytes).to.equal(Buffer.byteLength(answer.body, "utf8"));
    expect(answer.limits).to.deep.equal([]);
    expect(answer.message).to.equal(`${answer.bytes.toLocaleString("en-US")} bytes (no size limit)`);
  });

  it("cse-teams: the card and its size against 28,672 bytes, never the webhook URL", async function () {
    const props = { format: "adaptive", timeout: "5000", maxAttempts: "3" };
    await load("cse-teams", props, { url: SECRETS.teamsUrl });
    const answer = await preview("cse-teams", props, { url: "__PWRD__" });
    expect(answer.ok).to.equal(true);
    expect(JSON.stringify(JSON.parse(answer.body))).to.include(READABLE_ID);
    expect(answer.bytes).to.equal(Buffer.byteLength(answer.body, "utf8"));
    expect(answer.limits).to.deep.equal([{ what: "body", size: answer.bytes, max: 28_672, unit: "bytes" }]);
    expect(answer.message).to.equal(`body: ${answer.bytes.toLocaleString("en-US")} bytes of 28,672 allowed`);
  });

  it("cse-pagerduty: the Events API v2 body with the routing key redacted, sized against 512 KB and the summary against 1,024", async function () {
    const props = { apiVersion: "v2", subdomain: "", apiUrl: "https://events.pagerduty.com", timeout: "5000", maxAttempts: "3" };
    await load("cse-pagerduty", props);
    const answer = await preview("cse-pagerduty", props, { serviceKey: SECRETS.serviceKey });
    expect(answer.ok).to.equal(true);
    const body = JSON.parse(answer.body);
    expect(body.routing_key).to.equal("[redacted]");
    expect(body.payload.summary).to.include(READABLE_ID);
    // Sized as sent: with the real key, not the placeholder.
    const sent = Buffer.byteLength(answer.body, "utf8") - "[redacted]".length + SECRETS.serviceKey.length;
    expect(answer.bytes).to.equal(sent);
    expect(answer.limits).to.deep.equal([
      { what: "body", size: sent, max: 524_288, unit: "bytes" },
      { what: "summary", size: body.payload.summary.length, max: 1_024, unit: "characters" },
    ]);
  });

  it("cse-sns: the Message and attributes (target preview), sized against 262,144 bytes, without the AWS keys", async function () {
    const props = { topicArn: "arn:aws:sns:eu-west-1:123456789012:cloud-siem", region: "", assumeRoleArn: "", externalId: "", endpoint: "", timeout: "5000", maxAttempts: "3" };
    await load("cse-sns", props, { accessKeyId: SECRETS.accessKeyId, secretAccessKey: SECRETS.secretAccessKey });
    const answer = await preview("cse-sns", props, { accessKeyId: "__PWRD__", secretAccessKey: "__PWRD__" });
    expect(answer.ok).to.equal(true);
    const input = JSON.parse(answer.body);
    expect(input).not.to.have.property("TopicArn");
    expect(input.Message).to.include(READABLE_ID);
    expect(input.MessageAttributes.event).to.deep.equal({ DataType: "String", StringValue: "insight.onDemand" });
    const [limit] = answer.limits;
    expect(limit).to.include({ what: "message and attributes", max: 262_144, unit: "bytes" });
    expect(limit.size).to.be.greaterThan(Buffer.byteLength(input.Message, "utf8")).and.lessThan(answer.bytes);
  });

  it("cse-recorded-future: the bulk look-up body (target preview) with the sample's indicators, without the token", async function () {
    const props = { enrichInsights: true, enrichSignals: false, apiUrl: "https://api.recordedfuture.com/v2", tenant: "", cacheTtl: "3600", timeout: "5000", maxAttempts: "3" };
    await load("cse-recorded-future", props, { apiToken: SECRETS.apiToken });
    const answer = await preview("cse-recorded-future", props, { apiToken: "__PWRD__" });
    expect(answer.ok).to.equal(true);
    const body = JSON.parse(answer.body);
    // The sample's public indicators (its 10.0.0.5 is private, never looked up) and the Test's known address.
    expect(body).to.deep.equal({ ip: ["8.8.8.8"], domain: ["test.example.net"], hash: [] });
    expect(answer.limits).to.deep.equal([]);
  });

  it("answers the configuration problem instead of a body when the dialog's values are invalid", async function () {
    const props = { format: "adaptive", timeout: "5000", maxAttempts: "0" };
    await load("cse-teams", { ...props, maxAttempts: "3" }, { url: SECRETS.teamsUrl });
    const answer = await preview("cse-teams", props, { url: "__PWRD__" });
    expect(answer).to.deep.equal({ ok: false, message: "invalid configuration: maxAttempts: must be a positive whole number" });
  });

  it("cse-slack with a template: the rendered text for the sample Insight, sensor or rule event, sized against 40,000", async function () {
    const props = { channel: "#soc", apiUrl: "https://slack.com/api", template: EXAMPLE_TEMPLATE, timeout: "5000", maxAttempts: "3" };
    await load("cse-slack", props, { apiKey: SECRETS.slackToken });
    const insight = await preview("cse-slack", props, { apiKey: "__PWRD__" });
    expect(insight.ok).to.equal(true);
    const text = JSON.parse(insight.body).text;
    expect(text).to.equal("LOW 10.0.0.5: Test from Node-RED: Initial Access with Command and Control (Initial Access, Command and Control) ");
    expect(insight.limits).to.deep.equal([{ what: "text", size: text.length, max: 40_000, unit: "characters" }]);
    const every = { ...props, template: EVERY_EVENT_TEMPLATE };
    expect(JSON.parse((await preview("cse-slack", every, { apiKey: "__PWRD__" }, "sensor")).body).text).to.equal("sensor.offline|sample-sensor-dmz in dmz");
    expect(JSON.parse((await preview("cse-slack", every, { apiKey: "__PWRD__" }, "rule")).body).text).to.equal(
      "rule.autoDisabled|Sample: successful login from a new country: The rule generated more than 100000 signals in one hour",
    );
    expect(JSON.parse((await preview("cse-slack", every, { apiKey: "__PWRD__" }, "insight")).body).text).to.equal("insight.onDemand|INSIGHT-0");
  });

  it("answers a template that does not parse with the field, line and problem instead of a body", async function () {
    const props = { channel: "#soc", apiUrl: "https://slack.com/api", template: BROKEN_TEMPLATE };
    await load("cse-slack", { ...props, template: "" }, { apiKey: SECRETS.slackToken });
    expect(await preview("cse-slack", props, { apiKey: "__PWRD__" })).to.deep.equal({ ok: false, message: `invalid configuration: template: ${BROKEN_PROBLEM}` });
  });

  it("cse-email: the rendered subject and text body for the sample sensor event", async function () {
    const props = { recipients: "soc@example.com", smtp: "s1", subject: "[{{event}}] {{title}}", template: "{{#sensor}}{{sensorName}} in {{sensorZone}}{{/sensor}}\n" };
    const smtp = { id: "s1", type: "cse-smtp", host: "127.0.0.1", port: 2525, tls: "none", from: "siem@example.com" };
    await helper.load([require("../../src/nodes/cse-smtp"), nodes["cse-email"]], [{ id: "f1", type: "tab" }, smtp, { id: "n1", type: "cse-email", z: "f1", ...props, wires: [[]] }]);
    const answer = await preview("cse-email", props, {}, "sensor");
    expect(answer.body).to.equal("Subject: [sensor.offline] Network Sensor offline: sample-sensor-dmz\n\nsample-sensor-dmz in dmz\n");
  });
});

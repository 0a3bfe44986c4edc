import { expect } from "chai";
import { checkUrl } from "../../src/delivery/http";
import { cseMetaFor } from "../../src/events/meta";
import { allowedPortsFrom, checkPort, DEFAULT_ALLOWED_PORTS, httpPostRequest, httpPostTarget, portOf } from "../../src/targets/http-post";
import { checkWebhookUrl, slackWebhookTarget } from "../../src/targets/slack-webhook";
import { ConfigError } from "../../src/targets/types";
import { fullJson } from "../../src/render/full-json";
import { modernInsight, sensorOfflinePayload } from "../fakes/insights";

describe("delivery: HTTP POST v2 port allow-list", function () {
  it("uses the explicit port or the scheme's default", function () {
    expect(portOf(new URL("https://a.example/x"))).to.equal(443);
    expect(portOf(new URL("http://a.example/x"))).to.equal(80);
    expect(portOf(new URL("https://a.example:8443/x"))).to.equal(8443);
  });

  it("allows 80, 8080, 443, 8443 and 8000 by default and nothing else", function () {
    for (const url of ["http://a.example", "http://a.example:8080", "https://a.example", "https://a.example:8443", "http://a.example:8000"]) {
      expect(() => checkPort(new URL(url), DEFAULT_ALLOWED_PORTS), url).to.not.throw();
    }
    for (const url of ["https://a.example:9443", "http://a.example:22", "http://127.0.0.1:1880", "https://a.example:8081"]) {
      expect(() => checkPort(new URL(url), DEFAULT_ALLOWED_PORTS), url).to.throw(ConfigError, /^url: port \d+ is not allowed/);
    }
  });

  it("takes the cseHttpPostAllowedPorts setting as a replacement list", function () {
    expect(allowedPortsFrom([9443, "1880"])).to.deep.equal([9443, 1880]);
    expect(() => checkPort(new URL("https://a.example"), allowedPortsFrom([9443]))).to.throw(ConfigError, /port 443/);
    expect(allowedPortsFrom(undefined)).to.equal(DEFAULT_ALLOWED_PORTS);
    expect(allowedPortsFrom("nonsense")).to.equal(DEFAULT_ALLOWED_PORTS);
    expect(allowedPortsFrom([])).to.equal(DEFAULT_ALLOWED_PORTS);
  });

  it("validate() checks the port of the configured URL", function () {
    const base = { headers: {}, allowedPorts: DEFAULT_ALLOWED_PORTS };
    expect(() => httpPostTarget.validate!({ ...base, url: "https://a.example:9999/" })).to.throw(ConfigError);
    expect(() => httpPostTarget.validate!({ ...base, url: "https://a.example/" })).to.not.throw();
  });
});

describe("delivery: HTTP POST v2 request", function () {
  const insight = modernInsight();
  const event = { topic: "insight.created" as const, payload: insight, cse: cseMetaFor("insight.created", insight) };

  it("posts JSON with Basic auth and extra headers", function () {
    const req = httpPostRequest(event, { url: "https://a.example/in", headers: { "X-Source": "cse" }, username: "ann", password: "p:w", allowedPorts: [443] });
    expect(req.method).to.equal("POST");
    expect(req.headers).to.deep.include({ "Content-Type": "application/json", "X-Source": "cse", Authorization: `Basic ${Buffer.from("ann:p:w").toString("base64")}` });
    expect(JSON.parse(String(req.body))).to.not.have.property("signals");
  });

  it("has no Authorization without a username", function () {
    const req = httpPostRequest(event, { url: "https://a.example/in", headers: {}, allowedPorts: [443] });
    expect(req.headers).to.not.have.property("Authorization");
  });

  it("sends the accepted payload's JSON as it is exactly when the body would be JSON.stringify(payload)", function () {
    const base = { url: "https://a.example/in", headers: {}, allowedPorts: [443] };
    const journalled = Buffer.from(JSON.stringify(insight));
    let reads = 0;
    const accepted = { acceptedPayloadJson: () => (reads++, journalled) };
    expect(httpPostRequest(event, { ...base, includeSignals: true, includeRecords: true }, accepted).body).to.equal(journalled);
    const sensor = sensorOfflinePayload();
    const sensorEvent = { topic: "sensor.offline" as const, payload: sensor, cse: cseMetaFor("sensor.offline", sensor) };
    expect(httpPostRequest(sensorEvent, base, accepted).body).to.equal(journalled);
    expect(reads).to.equal(2);
    // Options that shape the Insight: serialised from the object, the journal is not read.
    for (const shaping of [{}, { includeSignals: true }, { includeSignals: true, includeRecords: true, recordFields: ["action"] }]) {
      const body = httpPostRequest(event, { ...base, ...shaping }, accepted).body;
      expect(body, JSON.stringify(shaping)).to.equal(fullJson(insight, shaping));
    }
    expect(reads).to.equal(2);
    // Not to be had: serialised as before.
    const none = { acceptedPayloadJson: () => undefined };
    expect(httpPostRequest(event, { ...base, includeSignals: true, includeRecords: true }, none).body).to.equal(JSON.stringify(insight));
    expect(httpPostRequest(sensorEvent, base, none).body).to.equal(JSON.stringify(sensor));
  });

  it("counts the password and its Basic form as secrets", function () {
    const secrets = httpPostTarget.secrets({ url: "x", headers: {}, username: "ann", password: "pw-123", allowedPorts: [] });
    expect(secrets).to.include("pw-123").and.include(Buffer.from("ann:pw-123").toString("base64"));
  });
});

describe("delivery: Slack webhook URL", function () {
  it("must be https, except to this machine", function () {
    expect(checkWebhookUrl("https://hooks.slack.com/services/T/B/x")).to.equal("https://hooks.slack.com/services/T/B/x");
    expect(checkWebhookUrl("http://127.0.0.1:9999/hook")).to.equal("http://127.0.0.1:9999/hook");
    expect(() => checkWebhookUrl("http://hooks.slack.com/services/T/B/x")).to.throw(ConfigError, /^url: must start with https/);
    expect(() => checkWebhookUrl("")).to.throw(ConfigError, /^url: is required/);
    expect(() => checkWebhookUrl("nonsense")).to.throw(ConfigError, /^url: is not a valid URL/);
  });

  it("treats the whole URL as secret", function () {
    const secrets = slackWebhookTarget.secrets({ url: "https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX" });
    expect(secrets).to.include("https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXX").and.include("XXXXXXXXXXXX");
  });
});

describe("delivery: checkUrl", function () {
  it("allows plain http to loopback only when asked, and never echoes the URL", function () {
    expect(checkUrl("http://127.0.0.5:1/x", "url", { httpsOnly: true, allowLoopbackHttp: true }).port).to.equal("1");
    expect(checkUrl("http://[::1]:1/x", "url", { httpsOnly: true, allowLoopbackHttp: true }).hostname).to.equal("[::1]");
    expect(() => checkUrl("http://127.0.0.1/x", "url", { httpsOnly: true })).to.throw(ConfigError, /^url: must start with https:\/\/$/);
    expect(() => checkUrl("http://10.0.0.1/sig=abc", "hook", { httpsOnly: true, allowLoopbackHttp: true })).to.throw(ConfigError, /^hook: must start/);
    try {
      checkUrl("ftp://x.example/sig=abc", "hook");
    } catch (e) {
      expect((e as Error).message).to.equal("hook: must start with https:// or http://");
    }
  });
});

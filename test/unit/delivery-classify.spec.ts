import { expect } from "chai";
import { classifyError, classifyHttp, errorCodeOf } from "../../src/delivery/classify";
import type { HttpAnswer } from "../../src/targets/types";

const answer = (status: number, body = "", headers: Record<string, string> = {}): HttpAnswer => ({ status, body, headers });

describe("delivery: classification of HTTP answers", function () {
  it("2xx is ok", function () {
    for (const s of [200, 201, 202, 204, 299]) expect(classifyHttp(answer(s))).to.deep.equal({ kind: "ok", status: s });
  });

  it("408, 429 and 5xx are retried, with Retry-After", function () {
    for (const s of [408, 429, 500, 502, 503, 504, 599]) expect(classifyHttp(answer(s)).kind, String(s)).to.equal("retry");
    const o = classifyHttp(answer(429, "rate_limited", { "retry-after": "3" }));
    expect(o).to.include({ kind: "retry", status: 429, code: "rate_limited", retryAfterMs: 3000, reason: "HTTP 429 rate_limited" });
  });

  it("other 4xx are permanent and carry the target's code", function () {
    for (const s of [400, 401, 403, 404, 405, 409, 410, 413, 422]) expect(classifyHttp(answer(s)).kind, String(s)).to.equal("permanent");
    expect(classifyHttp(answer(400, "no_text"))).to.include({ kind: "permanent", status: 400, code: "no_text", reason: "HTTP 400 no_text" });
    expect(classifyHttp(answer(404, '{"error":"not_found","detail":"x"}'))).to.include({ code: "not_found" });
    expect(classifyHttp(answer(400, "<html>Bad things happened here</html>"))).to.include({ reason: "HTTP 400" });
  });

  it("a 3xx fails at once and names only the redirect's host", function () {
    const o = classifyHttp(answer(302, "", { location: "https://evil.example.net:8443/steal?token=s3cr3t" }));
    expect(o.kind).to.equal("permanent");
    expect((o as any).reason).to.equal("HTTP 302 redirect to evil.example.net:8443 not followed");
    expect((o as any).reason).to.not.include("s3cr3t");
    const relative = classifyHttp(answer(307, "", { location: "/elsewhere" }), undefined, "http://127.0.0.1:8080/a");
    expect((relative as any).reason).to.include("127.0.0.1:8080");
    expect((classifyHttp(answer(301)) as any).reason).to.include("unnamed location");
  });

  it("an explicit code wins over the body's", function () {
    expect(classifyHttp(answer(400, "no_text"), "mine")).to.include({ code: "mine" });
  });

  it("finds codes in plain-text and JSON bodies only when they look like codes", function () {
    expect(errorCodeOf("invalid_payload")).to.equal("invalid_payload");
    expect(errorCodeOf('{"code":"E123"}')).to.equal("E123");
    expect(errorCodeOf('{"error":{"code":"Throttled"}}')).to.equal("Throttled");
    expect(errorCodeOf("a sentence with spaces")).to.equal(undefined);
    expect(errorCodeOf("")).to.equal(undefined);
  });
});

describe("delivery: classification of errors", function () {
  it("network errors are retried", function () {
    for (const code of ["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EAI_AGAIN", "EPIPE"]) {
      expect(classifyError(Object.assign(new Error(`x ${code}`), { code })).kind, code).to.equal("retry");
    }
    expect(classifyError(new Error("socket hang up")).kind).to.equal("retry");
    const wrapped = Object.assign(new Error("wrapped"), { code: "ERR_NETWORK", cause: Object.assign(new Error("inner"), { code: "ECONNRESET" }) });
    expect(classifyError(wrapped)).to.include({ kind: "retry", code: "ECONNRESET" });
  });

  it("other errors and refusals are permanent", function () {
    expect(classifyError(new Error("boom")).kind).to.equal("permanent");
    expect(classifyError(Object.assign(new Error("refused"), { code: "ECONNREFUSED", permanent: true })).kind).to.equal("permanent");
    expect(classifyError(Object.assign(new Error("cert"), { code: "SELF_SIGNED_CERT_IN_CHAIN" })).kind).to.equal("permanent");
  });
});

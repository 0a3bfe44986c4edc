import { expect } from "chai";
import { redact, REDACTED, urlSecrets } from "../../src/delivery/redact";

describe("delivery: redaction", function () {
  it("removes every secret, plain and URL-encoded, longest first", function () {
    const text = "failed posting to https://hooks.example/services/T0/B0/XyZsecret123 with pass p@ss word! (p%40ss%20word!)";
    const out = redact(text, ["p@ss word!", ...urlSecrets("https://hooks.example/services/T0/B0/XyZsecret123")]);
    expect(out).to.not.include("XyZsecret123");
    expect(out).to.not.include("p@ss word!");
    expect(out).to.not.include("p%40ss%20word!");
    expect(out).to.include(REDACTED);
  });

  it("leaves short or empty secrets alone rather than shredding the text", function () {
    expect(redact("a b c", ["a", "", undefined, null])).to.equal("a b c");
  });

  it("treats a webhook URL's path, query and query values as secret, not its host", function () {
    const secrets = urlSecrets("https://prod.example.com:443/powerautomate/invoke?api-version=1&sig=AbCdEf123456");
    expect(secrets).to.include("/powerautomate/invoke?api-version=1&sig=AbCdEf123456");
    expect(secrets).to.include("AbCdEf123456");
    const out = redact("HTTP 404 at prod.example.com for sig=AbCdEf123456", secrets);
    expect(out).to.equal(`HTTP 404 at prod.example.com for sig=${REDACTED}`);
  });

  it("copes with something that is not a URL", function () {
    expect(urlSecrets("not a url")).to.deep.equal(["not a url"]);
    expect(urlSecrets(undefined)).to.deep.equal([]);
  });
});

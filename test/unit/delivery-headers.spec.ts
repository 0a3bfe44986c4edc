import { expect } from "chai";
import { parseHeaderLines } from "../../src/delivery/headers";
import { ConfigError } from "../../src/targets/types";

describe("delivery: extra header lines", function () {
  it("parses Name: value lines, splitting on the first colon and skipping blank lines", function () {
    expect(parseHeaderLines("X-Source: cloud-siem\r\n\n  X-Url :  https://a.example/b?c=d  \nX-Empty:")).to.deep.equal({
      "X-Source": "cloud-siem",
      "X-Url": "https://a.example/b?c=d",
      "X-Empty": "",
    });
    expect(parseHeaderLines("")).to.deep.equal({});
    expect(parseHeaderLines(undefined)).to.deep.equal({});
  });

  function problem(text: string): ConfigError {
    try {
      parseHeaderLines(text);
    } catch (e) {
      return e as ConfigError;
    }
    throw new Error("expected a ConfigError");
  }

  it("refuses a line without a colon, naming the field and the line", function () {
    const e = problem("X-Ok: 1\nno colon here");
    expect(e).to.be.instanceOf(ConfigError);
    expect(e.field).to.equal("extraHeaders");
    expect(e.message).to.match(/^extraHeaders: line 2 /);
  });

  it("refuses header injection and bad names", function () {
    expect(problem("X-A: 1\rSet-Cookie: x").message).to.include("line 1");
    expect(problem("X-A: a\u0000b").message).to.include("control character");
    expect(problem("Bad Name: x").message).to.include("invalid header name");
    expect(problem(": x").message).to.include("invalid header name");
  });

  it("refuses the headers the HTTP client sets itself (framing, connection), naming the line and the header", function () {
    for (const name of ["Content-Length", "transfer-encoding", "Connection", "Keep-Alive", "Upgrade", "Expect"]) {
      const e = problem(`X-Ok: 1\n${name}: 5`);
      expect(e.field).to.equal("extraHeaders");
      expect(e.message).to.equal(`extraHeaders: line 2: ${name} is set by the HTTP client itself (remove the line)`);
    }
    expect(parseHeaderLines("Host: other.example\nTE: trailers")).to.deep.equal({ Host: "other.example", TE: "trailers" });
  });
});

import dns from "node:dns";
import { expect } from "chai";
import { classifyError } from "../../src/delivery/classify";
import { HttpClient } from "../../src/delivery/http";
import { checkHost, guardedLookup, isMetadataAddress } from "../../src/delivery/guard";

describe("delivery: cloud metadata guard", function () {
  const metadata = [
    "169.254.169.254",
    "2852039166",
    "0xa9fea9fe",
    "0xA9.0xFE.0xA9.0xFE",
    "0251.0376.0251.0376",
    "169.254.43518",
    "169.16689662",
    "[::ffff:169.254.169.254]",
    "::ffff:a9fe:a9fe",
    "[::ffff:a9fe:a9fe]",
    "0:0:0:0:0:ffff:a9fe:a9fe",
    "::169.254.169.254",
    "64:ff9b::a9fe:a9fe",
    "fd00:ec2::254",
    "[FD00:EC2:0:0:0:0:0:254]",
    "100.100.100.200",
    "1684301000",
    "::ffff:100.100.100.200",
  ];
  for (const host of metadata) {
    it(`refuses ${host}`, function () {
      expect(isMetadataAddress(host)).to.equal(true);
    });
  }

  it("lets loopback, private and public addresses and names through", function () {
    for (const host of ["127.0.0.1", "10.0.0.5", "192.168.1.1", "169.254.169.253", "::1", "fd00:ec2::253", "example.com", "localhost", "8.8.8.8"]) {
      expect(isMetadataAddress(host), host).to.equal(false);
    }
  });

  it("checkHost refuses metadata URLs unless allowed", async function () {
    let error: any;
    await checkHost("http://2852039166/latest/meta-data/", false).catch((e) => (error = e));
    expect(error?.code).to.equal("ECSEMETADATA");
    expect(error?.message).to.include("169.254.169.254").and.include("cseAllowMetadataAddresses");
    await checkHost("http://2852039166/latest/meta-data/", true);
    await checkHost("localhost", false);
  });

  it("the guarded lookup resolves ordinary names as dns.lookup does", async function () {
    const lookup = guardedLookup(() => false);
    const address = await new Promise<any>((resolve, reject) =>
      lookup("localhost", { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
    );
    expect(address).to.be.an("array").with.length.greaterThan(0);
  });

  it("refuses a DNS name that resolves to a metadata address at connect time (DNS rebinding), permanently", async function () {
    const original = dns.lookup;
    (dns as any).lookup = (host: string, options: any, callback: any) =>
      host === "rebind.test"
        ? options?.all
          ? callback(null, [{ address: "::ffff:169.254.169.254", family: 6 }])
          : callback(null, "::ffff:169.254.169.254", 6)
        : original(host, options, callback);
    const client = new HttpClient();
    try {
      const error = await client.request({ url: "http://rebind.test/x" }, new AbortController().signal).then(
        () => undefined,
        (e) => e,
      );
      expect(error, "the request must fail").to.be.instanceOf(Error);
      const outcome = classifyError(error);
      expect(outcome).to.include({ kind: "permanent", code: "ECSEMETADATA" });
      expect((outcome as any).reason).to.include("rebind.test").and.include("169.254.169.254");
    } finally {
      (dns as any).lookup = original;
      client.destroy();
    }
  });
});

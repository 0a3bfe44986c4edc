import { expect } from "chai";
import fc from "fast-check";
import { indicatorsOfInsight, indicatorsOfRecords, indicatorsOfSignal, publicDomain, publicIp } from "../../src/events/indicators";
import { modernInsight, realInsight } from "../fakes/insights";

describe("indicators: IP addresses", function () {
  const notPublic = [
    "10.0.0.5", "10.255.255.255", "172.16.0.1", "172.31.255.254", "192.168.1.1", // private
    "127.0.0.1", "127.255.0.9", // loopback
    "169.254.169.254", "169.254.0.1", // link-local (and cloud metadata)
    "100.64.0.1", "100.127.255.254", // CGNAT
    "224.0.0.251", "239.255.255.250", // multicast
    "240.0.0.1", "255.255.255.255", "0.0.0.0", "0.1.2.3", // reserved, broadcast, this-network
    "192.0.2.10", "198.51.100.7", "203.0.113.200", // documentation
    "198.18.0.1", "198.19.255.255", "192.0.0.8", "192.88.99.1",
    "::", "::1", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "2001:db8::1", "2001:db8:ffff::9",
    "::ffff:10.0.0.1", "::ffff:192.168.0.1", "64:ff9b::10.0.0.1", "2001::1", "2002:c000:0204::1", "3fff::1", "fec0::1",
  ];
  for (const ip of notPublic) {
    it(`never returns ${ip}`, function () {
      expect(publicIp(ip)).to.equal(undefined);
    });
  }

  it("returns public IPv4 and IPv6 addresses, canonical", function () {
    expect(publicIp("185.220.101.4")).to.equal("185.220.101.4");
    expect(publicIp(" 8.8.8.8 ")).to.equal("8.8.8.8");
    expect(publicIp("100.63.255.255")).to.equal("100.63.255.255"); // just below CGNAT
    expect(publicIp("100.128.0.0")).to.equal("100.128.0.0"); // just above
    expect(publicIp("172.32.0.1")).to.equal("172.32.0.1");
    expect(publicIp("2606:4700:4700::1111")).to.equal("2606:4700:4700::1111");
    expect(publicIp("2606:4700:4700:0:0:0:0:1111")).to.equal("2606:4700:4700::1111");
    expect(publicIp("[2A00:1450:4001:82B::200E]")).to.equal("2a00:1450:4001:82b::200e");
    expect(publicIp("::ffff:8.8.4.4")).to.equal("::ffff:808:404");
  });

  it("ignores malformed addresses", function () {
    for (const bad of ["256.1.1.1", "1.2.3", "1.2.3.4.5", "010.1.1.1", "1.2.3.4:443", "8.8.8.8/32", "fe80::1%eth0", "2606:4700::1111::1", "x.y.z.w", "", " ", "1.2.3.-4", "0x8.8.8.8"]) {
      expect(publicIp(bad), bad).to.equal(undefined);
    }
    for (const bad of [null, undefined, 42, {}, ["8.8.8.8"]]) expect(publicIp(bad)).to.equal(undefined);
  });

  it("never returns an address of a private IPv4 range (property)", function () {
    const inRange = (a: number, b: [number, number], c = fc.integer({ min: 0, max: 255 })) =>
      fc.tuple(fc.constant(a), fc.integer({ min: b[0], max: b[1] }), c, fc.integer({ min: 0, max: 255 })).map((o) => o.join("."));
    fc.assert(
      fc.property(
        fc.oneof(inRange(10, [0, 255]), inRange(172, [16, 31]), inRange(192, [168, 168]), inRange(127, [0, 255]), inRange(100, [64, 127]), inRange(169, [254, 254])),
        (ip) => publicIp(ip) === undefined,
      ),
    );
  });
});

describe("indicators: domains and hashes", function () {
  it("accepts public names in lower case and refuses internal or malformed ones", function () {
    expect(publicDomain("Evil.Example.NET.")).to.equal("evil.example.net");
    expect(publicDomain("xn--80ak6aa92e.com")).to.equal("xn--80ak6aa92e.com");
    for (const bad of ["localhost", "printer.local", "dc01.corp.internal", "4.3.2.1.in-addr.arpa", "wpad", "host.lan", "-bad-.com", "a..b.com", "1.2.3.4", "exa mple.com", "x.c0m1", ""]) {
      expect(publicDomain(bad), bad).to.equal(undefined);
    }
  });

  it("takes hashes only from the hash fields, validated by length and hex", function () {
    const md5 = "44d88612fea8a8f36de82e1278abb02f";
    const sha1 = "3395856ce81f2b7382dee72602f798b642f14140";
    const sha256 = "275A021BBFB6489E54D471899F7DB9D1663FC695EC2FE2A2C4538AABF651FD0F";
    const found = indicatorsOfRecords([
      { file_hash_md5: md5, file_hash_sha1: sha1, file_hash_sha256: sha256 },
      { file_hash_md5: sha1, file_hash_sha1: "zz95856ce81f2b7382dee72602f798b642f14140", file_hash_sha256: "0".repeat(64) },
      { description: md5.toUpperCase() },
    ]);
    expect(found.hash).to.deep.equal([md5, sha1, sha256.toLowerCase()]);
  });
});

describe("indicators: from records", function () {
  it("collects IPs, domains (dns_query, http_hostname, http_url host) and hashes, each once", function () {
    const insight = modernInsight();
    const found = indicatorsOfInsight(insight);
    expect(found).to.deep.equal({
      ip: ["185.220.101.4"],
      domain: ["evil.example.net", "c2.example.org"],
      hash: ["e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
    });
  });

  it("reads the listed fields and other *_ip fields, never nested raw fields", function () {
    const found = indicatorsOfRecords([
      { srcDevice_ip: "8.8.8.8", dstDevice_ip: "1.1.1.1", device_ip: "9.9.9.9", dstDevice_natIp: "4.4.4.4", threat_ip: "5.5.5.5", srcDevice_ip_isInternal: false },
      { http_url: "https://93.184.216.34:8443/a?b=c", dns_query: "10.0.0.1" },
      { http_url: "not a url at all", http_hostname: "intranet.local", fields: { dstip: "6.6.6.6", dns_query: "hidden.example.com" } },
      { http_url: "downloads.example.com/x.exe" },
      "not a record",
      null,
    ]);
    expect(found.ip).to.deep.equal(["8.8.8.8", "1.1.1.1", "9.9.9.9", "4.4.4.4", "5.5.5.5", "93.184.216.34"]);
    expect(found.domain).to.deep.equal(["downloads.example.com"]);
    expect(found.hash).to.deep.equal([]);
  });

  it("works per signal, and on an old tenant's Insight without network fields finds nothing", function () {
    const insight = modernInsight();
    insight.signals![1].allRecords = [{ dstDevice_ip: "45.33.32.156" }];
    expect(indicatorsOfSignal(insight.signals![1]).ip).to.deep.equal(["45.33.32.156"]);
    expect(indicatorsOfSignal({}).ip).to.deep.equal([]);
    const real = indicatorsOfInsight(realInsight());
    expect(real.ip.every((ip) => publicIp(ip) === ip)).to.equal(true);
    expect(indicatorsOfInsight({} as never)).to.deep.equal({ ip: [], domain: [], hash: [] });
  });

  it("1,000 records sharing 20 public indicators yield 20", function () {
    const records = Array.from({ length: 1000 }, (_, i) => ({
      srcDevice_ip: `10.1.${i % 200}.${i % 250}`,
      dstDevice_ip: `45.33.${i % 10}.1`,
      dns_query: `host${i % 5}.bad.example.com`,
      file_hash_md5: ((i % 5) + 1).toString(16).repeat(32),
    }));
    const found = indicatorsOfRecords(records);
    expect(found.ip).to.have.length(10);
    expect(found.domain).to.have.length(5);
    expect(found.hash).to.have.length(5);
  });
});

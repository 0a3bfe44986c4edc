import http from "node:http";
import net from "node:net";
import { expect } from "chai";
import { HttpClient } from "../../src/delivery/http";
import { bypassesProxy, proxyAuthorization, proxyFor } from "../../src/delivery/proxy";
import { startHttpPeer } from "../fakes/http-peer";
import { testPki } from "../fakes/pki";

describe("delivery: proxy selection", function () {
  const u = (s: string) => new URL(s);

  it("uses HTTPS_PROXY for https and HTTP_PROXY for http, lower-case names first", function () {
    const env = { HTTPS_PROXY: "http://upper:3128", https_proxy: "http://lower:3128", HTTP_PROXY: "proxy.example:8080" };
    expect(proxyFor(u("https://a.example/"), env)?.host).to.equal("lower:3128");
    expect(proxyFor(u("http://a.example/"), env)?.href).to.equal("http://proxy.example:8080/");
    expect(proxyFor(u("https://a.example/"), { HTTPS_PROXY: "http://upper:3128" })?.host).to.equal("upper:3128");
    expect(proxyFor(u("https://a.example/"), {})).to.equal(undefined);
    expect(proxyFor(u("https://a.example/"), { HTTP_PROXY: "http://only-http:1" })).to.equal(undefined);
  });

  it("honours NO_PROXY: *, hosts, domains with and without a dot, ports, IPs", function () {
    expect(bypassesProxy(u("https://a.example/"), "*")).to.equal(true);
    expect(bypassesProxy(u("https://hooks.slack.com/"), "slack.com")).to.equal(true);
    expect(bypassesProxy(u("https://hooks.slack.com/"), ".slack.com")).to.equal(true);
    expect(bypassesProxy(u("https://slack.com/"), ".slack.com")).to.equal(true);
    expect(bypassesProxy(u("https://notslack.com/"), "slack.com")).to.equal(false);
    expect(bypassesProxy(u("http://127.0.0.1:8080/"), "localhost, 127.0.0.1")).to.equal(true);
    expect(bypassesProxy(u("http://soar.corp:8443/"), "soar.corp:8443")).to.equal(true);
    expect(bypassesProxy(u("http://soar.corp:8080/"), "soar.corp:8443")).to.equal(false);
    expect(bypassesProxy(u("http://[::1]:8080/"), "::1")).to.equal(true);
    expect(proxyFor(u("https://hooks.slack.com/"), { https_proxy: "http://p:1", no_proxy: "slack.com" })).to.equal(undefined);
    expect(proxyFor(u("https://hooks.slack.com/"), { https_proxy: "http://p:1", NO_PROXY: "other.com" })?.host).to.equal("p:1");
  });

  it("builds Proxy-Authorization from the proxy URL's credentials", function () {
    expect(proxyAuthorization(u("http://bob:s%40cret@p:1"))).to.equal(`Basic ${Buffer.from("bob:s@cret").toString("base64")}`);
    expect(proxyAuthorization(u("http://p:1"))).to.equal(undefined);
  });
});

describe("delivery: CONNECT tunnel through a loopback proxy", function () {
  it("reaches an https target through HTTPS_PROXY, with proxy auth, and pools the tunnel", async function () {
    const pki = testPki();
    const peer = await startHttpPeer({ tls: { key: pki.serverKey, cert: pki.serverCert } });
    const connects: { target: string; auth?: string }[] = [];
    const proxy = http.createServer((_req, res) => res.writeHead(405).end());
    proxy.on("connect", (req, client: net.Socket, head: Buffer) => {
      connects.push({ target: req.url!, auth: req.headers["proxy-authorization"] });
      const [host, port] = req.url!.split(":");
      const upstream = net.connect(Number(port), host, () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        upstream.write(head);
        upstream.pipe(client).pipe(upstream);
      });
      upstream.on("error", () => client.destroy());
      client.on("error", () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    const proxyPort = (proxy.address() as net.AddressInfo).port;
    const client = new HttpClient({ env: { HTTPS_PROXY: `http://user:pa%3Ass@127.0.0.1:${proxyPort}` } });
    try {
      peer.script({ status: 201, body: "created" });
      const signal = new AbortController().signal;
      const first = await client.request({ url: `${peer.url}/a`, body: "one", tls: undefined, headers: {} }, signal).catch((e) => e);
      // the peer's certificate is from the test CA: without it the tunnelled TLS handshake must fail
      expect(first).to.be.instanceOf(Error);
      const tls = { ca: pki.ca };
      const answer = await client.request({ url: `${peer.url}/b`, body: "two", tls }, signal);
      const again = await client.request({ url: `${peer.url}/c`, body: "three", tls }, signal);
      expect(answer).to.include({ status: 201, body: "created" });
      expect(again.status).to.equal(201);
      expect(peer.requests.map((r) => [r.url, r.body])).to.deep.equal([["/b", "two"], ["/c", "three"]]);
      expect(connects.map((c) => c.target)).to.deep.equal([`127.0.0.1:${peer.port}`, `127.0.0.1:${peer.port}`]);
      expect(connects[0].auth).to.equal(`Basic ${Buffer.from("user:pa:ss").toString("base64")}`);
    } finally {
      client.destroy();
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
      await peer.close();
    }
  });
});

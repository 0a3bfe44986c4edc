import http from "node:http";
import net from "node:net";
import zlib from "node:zlib";
import { expect } from "chai";
import { buildConnector } from "undici";
import { Connections, type Connector } from "../../src/delivery/connections";
import { classifyError } from "../../src/delivery/classify";
import { HttpClient } from "../../src/delivery/http";
import { exchange, MAX_ANSWER_BYTES } from "../../src/delivery/http-request";

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
}

/** A loopback HTTP server recording what it received and answering with `answer`. */
async function server(answer: (req: http.IncomingMessage, res: http.ServerResponse) => void) {
  const seen: Seen[] = [];
  const srv = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks) });
      answer(req, res);
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  return {
    seen,
    port,
    url: `http://127.0.0.1:${port}`,
    close: () => {
      srv.closeAllConnections();
      return new Promise((r) => srv.close(r));
    },
  };
}

/** A loopback TCP server that writes `reply` (raw HTTP) after reading a request head, then runs `after`. */
async function rawServer(reply: string | Buffer, after: (socket: net.Socket) => void = () => undefined) {
  const sockets = new Set<net.Socket>();
  let closed = 0;
  const srv = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => closed++);
    socket.on("error", () => undefined);
    let head = "";
    socket.on("data", (chunk) => {
      if (head.includes("\r\n\r\n")) return;
      head += chunk.toString("latin1");
      if (head.includes("\r\n\r\n")) {
        socket.write(reply);
        after(socket);
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    closedConnections: () => closed,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => srv.close(r));
    },
  };
}

const never = () => new AbortController().signal;

describe("delivery: HTTP client (undici)", function () {
  let client: HttpClient;
  beforeEach(function () {
    client = new HttpClient({ env: {} });
  });
  afterEach(function () {
    client.destroy();
  });

  it("sends the body byte for byte, with Content-Length, Host, its User-Agent and POST by default", async function () {
    const peer = await server((_req, res) => res.end("ok"));
    try {
      // JSON with surrounding blanks and a non-JSON text, both declared JSON: neither is trimmed nor re-encoded
      const bodies = ["  {\"a\": 1, \"é\": \"ü\"}\n", "not json ✓", Buffer.from([0, 255, 10, 13, 0x80])];
      for (const body of bodies) {
        const answer = await client.request({ url: `${peer.url}/in?x=1`, headers: { "Content-Type": "application/json" }, body }, never());
        expect(answer).to.deep.include({ status: 200, body: "ok" });
      }
      expect(peer.seen.map((s) => s.body)).to.deep.equal(bodies.map((b) => Buffer.from(b)));
      for (const [i, s] of peer.seen.entries()) {
        expect(s.method).to.equal("POST");
        expect(s.url).to.equal("/in?x=1");
        expect(s.headers["content-length"]).to.equal(String(Buffer.from(bodies[i]).length));
        expect(s.headers.host).to.equal(`127.0.0.1:${peer.port}`);
        expect(s.headers["user-agent"]).to.equal("node-red-contrib-cse-actions");
        expect(s.headers.accept).to.equal("application/json, text/plain, */*");
        expect(s.headers["content-type"]).to.equal("application/json");
      }
    } finally {
      await peer.close();
    }
  });

  it("lets the caller's headers win whatever their case, once each, and takes Basic auth from the URL", async function () {
    const peer = await server((_req, res) => res.end());
    try {
      await client.request(
        { method: "PUT", url: `${peer.url}/x`, headers: { "user-agent": "mine/1", ACCEPT: "text/csv", "X-Pad": "  v  " }, body: "b" },
        never(),
      );
      const url = new URL(peer.url);
      url.username = "bob";
      url.password = "s%40cret";
      await client.request({ method: "GET", url: `${url.href}y`, headers: { Authorization: "Bearer other" } }, never());
      const [put, get] = peer.seen;
      expect(put.method).to.equal("PUT");
      expect(put.headers["user-agent"]).to.equal("mine/1");
      expect(put.headers.accept).to.equal("text/csv");
      expect(put.headers["x-pad"]).to.equal("v");
      const names = put.rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase());
      expect(names.filter((n) => n === "user-agent" || n === "accept")).to.have.length(2);
      expect(get.method).to.equal("GET");
      expect(get.body.length).to.equal(0);
      expect(get.headers.authorization).to.equal(`Basic ${Buffer.from("bob:s@cret").toString("base64")}`);
    } finally {
      await peer.close();
    }
  });

  it("answers with lower-case header names and repeated headers joined with \", \"", async function () {
    const raw = await rawServer(
      "HTTP/1.1 200 OK\r\nX-Thing: one\r\nx-thing: two\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 2\r\n\r\nhi",
    );
    try {
      const answer = await client.request({ url: raw.url, body: "" }, never());
      expect(answer.status).to.equal(200);
      expect(answer.body).to.equal("hi");
      expect(answer.headers).to.include({ "x-thing": "one, two", "set-cookie": "a=1, b=2", "content-length": "2" });
    } finally {
      await raw.close();
    }
  });

  it("does not follow a redirect: the 3xx is the answer, with its location", async function () {
    const peer = await server((_req, res) => res.writeHead(302, { Location: "https://elsewhere.example/next" }).end("moved"));
    try {
      const answer = await client.request({ url: `${peer.url}/a`, body: "x" }, never());
      expect(answer).to.deep.include({ status: 302, body: "moved" });
      expect(answer.headers.location).to.equal("https://elsewhere.example/next");
      expect(peer.seen).to.have.length(1);
    } finally {
      await peer.close();
    }
  });

  it("resolves with any status, and reads UTF-8 text without a byte-order mark", async function () {
    const peer = await server((_req, res) => res.writeHead(503, { "Retry-After": "7" }).end("\ufeffbusy ✓"));
    try {
      const answer = await client.request({ url: peer.url, body: "x" }, never());
      expect(answer).to.deep.include({ status: 503, body: "busy ✓" });
      expect(answer.headers["retry-after"]).to.equal("7");
    } finally {
      await peer.close();
    }
  });

  it("decodes gzip, deflate and br answers and drops their Content-Encoding", async function () {
    const text = "compressed ✓ ".repeat(50);
    const encodings: Record<string, Buffer> = {
      gzip: zlib.gzipSync(text),
      deflate: zlib.deflateSync(text),
      br: zlib.brotliCompressSync(text),
    };
    const peer = await server((req, res) => {
      const want = String(req.headers["x-want"]);
      // "deflate" comes zlib-wrapped or raw in the wild: both must decode
      if (want === "raw-deflate") res.writeHead(200, { "Content-Encoding": "deflate" }).end(zlib.deflateRawSync(text));
      else res.writeHead(200, { "Content-Encoding": want }).end(encodings[want]);
    });
    try {
      for (const enc of ["gzip", "deflate", "raw-deflate", "br"]) {
        const answer = await client.request({ url: peer.url, headers: { "X-Want": enc } }, never());
        expect(answer.body, enc).to.equal(text);
        expect(answer.headers).to.not.have.property("content-encoding");
      }
      expect(peer.seen[0].headers["accept-encoding"]).to.equal("gzip, compress, deflate, br");
    } finally {
      await peer.close();
    }
  });

  it("refuses an answer over the size limit (permanent) and accepts one exactly at it", async function () {
    const peer = await server((req, res) => res.end("x".repeat(Number(req.headers["x-size"]))));
    const connections = new Connections(buildConnector({}) as Connector);
    const send = (size: number) =>
      exchange({
        connection: connections.take(peer.url),
        request: { origin: peer.url, path: "/", method: "POST", headers: { "X-Size": String(size) } },
        signal: never(),
        maxAnswerBytes: 1000,
      });
    try {
      expect((await send(1000)).body).to.have.length(1000);
      const err = await send(1001).then(
        () => undefined,
        (e) => e,
      );
      expect(err).to.include({ code: "ERR_BAD_RESPONSE", message: "maxContentLength size of 1000 exceeded" });
      expect(classifyError(err)).to.include({ kind: "permanent", code: "ERR_BAD_RESPONSE" });
    } finally {
      connections.destroy();
      await peer.close();
    }
  });

  it("applies the size limit after decompression (a small gzip bomb is refused)", async function () {
    const bomb = zlib.gzipSync(Buffer.alloc(5000, 0x61));
    const peer = await server((_req, res) => res.writeHead(200, { "Content-Encoding": "gzip" }).end(bomb));
    const connections = new Connections(buildConnector({}) as Connector);
    try {
      const err = await exchange({
        connection: connections.take(peer.url),
        request: { origin: peer.url, path: "/", method: "GET" },
        signal: never(),
        maxAnswerBytes: 1000,
      }).catch((e) => e);
      expect(bomb.length).to.be.lessThan(1000);
      expect(err).to.include({ code: "ERR_BAD_RESPONSE" });
    } finally {
      connections.destroy();
      await peer.close();
    }
  });

  it("the client's own limit is 10 MiB", async function () {
    const peer = await server((_req, res) => res.end(Buffer.alloc(MAX_ANSWER_BYTES + 1, 0x61)));
    try {
      const err = await client.request({ url: peer.url, body: "x" }, never()).catch((e) => e);
      expect(MAX_ANSWER_BYTES).to.equal(10 * 1024 * 1024);
      expect(err).to.include({ code: "ERR_BAD_RESPONSE", message: `maxContentLength size of ${MAX_ANSWER_BYTES} exceeded` });
    } finally {
      await peer.close();
    }
  });

  it("rejects with a cancel error when the signal aborts in the middle of the answer, and drops the connection", async function () {
    const raw = await rawServer("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart");
    try {
      const controller = new AbortController();
      const pending = client.request({ url: raw.url, body: "x" }, controller.signal).catch((e) => e);
      await new Promise((r) => setTimeout(r, 50));
      controller.abort(new Error("timeout"));
      const err = await pending;
      expect(err).to.include({ name: "CanceledError", code: "ERR_CANCELED", message: "canceled" });
      for (let i = 0; i < 100 && raw.closedConnections() === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(raw.closedConnections()).to.equal(1);
    } finally {
      await raw.close();
    }
  });

  it("rejects at once, without connecting, when the signal is already aborted", async function () {
    const peer = await server((_req, res) => res.end());
    try {
      const controller = new AbortController();
      controller.abort();
      const err = await client.request({ url: peer.url, body: "x" }, controller.signal).catch((e) => e);
      expect(err).to.include({ code: "ERR_CANCELED" });
      expect(peer.seen).to.have.length(0);
    } finally {
      await peer.close();
    }
  });

  it("rejects with a cancel error while the connection is still being made, and closes that connection", async function () {
    // accepts TCP but never speaks TLS: the https handshake never completes
    const sockets: net.Socket[] = [];
    let closed = 0;
    const silent = net.createServer((socket) => {
      sockets.push(socket);
      socket.on("close", () => closed++);
      socket.resume();
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const controller = new AbortController();
      const pending = client.request({ url: `https://127.0.0.1:${(silent.address() as net.AddressInfo).port}/`, body: "x" }, controller.signal).catch((e) => e);
      for (let i = 0; i < 100 && sockets.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(sockets).to.have.length(1);
      controller.abort(new Error("timeout"));
      expect(await pending).to.include({ code: "ERR_CANCELED" });
      for (let i = 0; i < 100 && closed === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(closed).to.equal(1);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it("destroy() fails a request still waiting for its answer as a retryable hang-up", async function () {
    const raw = await rawServer("");
    try {
      const pending = client.request({ url: raw.url, body: "x" }, never()).catch((e) => e);
      await new Promise((r) => setTimeout(r, 50));
      client.destroy();
      const err = await pending;
      expect(err).to.include({ code: "ECONNRESET", message: "socket hang up" });
      expect(classifyError(err)).to.include({ kind: "retry", code: "ECONNRESET" });
    } finally {
      await raw.close();
    }
  });

  it("an answer cut short by the peer is a retryable reset", async function () {
    const raw = await rawServer("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart", (socket) => setTimeout(() => socket.destroy(), 20));
    try {
      const err = await client.request({ url: raw.url, body: "x" }, never()).catch((e) => e);
      expect(err).to.be.instanceOf(Error);
      expect(classifyError(err)).to.deep.equal({
        kind: "retry",
        code: "ECONNRESET",
        reason: "network error: the connection closed in the middle of the answer",
      });
    } finally {
      await raw.close();
    }
  });

  it("passes node's own network errors through (refused connection, hang-up) for the engine to classify", async function () {
    const closed = await server(() => undefined);
    const port = closed.port;
    await closed.close();
    const refused = await client.request({ url: `http://127.0.0.1:${port}/`, body: "x" }, never()).catch((e) => e);
    expect(refused).to.include({ code: "ECONNREFUSED" });
    expect(classifyError(refused)).to.deep.include({ kind: "retry", code: "ECONNREFUSED" });
    expect((classifyError(refused) as { reason: string }).reason).to.match(/^network error: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);

    const hangUp = await rawServer("", (socket) => socket.destroy());
    try {
      const err = await client.request({ url: hangUp.url, body: "x" }, never()).catch((e) => e);
      expect(err).to.include({ code: "ECONNRESET", message: "socket hang up" });
      expect(classifyError(err)).to.include({ kind: "retry", code: "ECONNRESET" });
    } finally {
      await hangUp.close();
    }
  });

  it("after a refused request, tells whether its host accepts connections again, sending nothing; after an answer there is nothing to check", async function () {
    expect(client.acceptsConnections(), "nothing refused yet").to.equal(undefined);
    const closed = await server(() => undefined);
    const port = closed.port;
    await closed.close();
    await client.request({ url: `http://127.0.0.1:${port}/in`, body: "x" }, never()).catch(() => undefined);
    expect(await client.acceptsConnections()).to.equal(false);

    const back = http.createServer((_req, res) => res.writeHead(503).end("busy"));
    let connections = 0;
    back.on("connection", () => connections++);
    await new Promise<void>((r) => back.listen(port, "127.0.0.1", r));
    try {
      expect(await client.acceptsConnections()).to.equal(true);
      await new Promise((r) => setTimeout(r, 50));
      expect(connections, "the check connected").to.equal(1);
      const answer = await client.request({ url: `http://127.0.0.1:${port}/in`, body: "x" }, never());
      expect(answer.status).to.equal(503);
      expect(client.acceptsConnections(), "an answer, even a 5xx: the receiver is reachable").to.equal(undefined);
    } finally {
      back.closeAllConnections();
      await new Promise((r) => back.close(r));
    }
  });

  it("has nothing to check through a proxy, which would accept for the receiver", async function () {
    const proxyPort = await (async () => {
      const closed = await server(() => undefined);
      await closed.close();
      return closed.port;
    })();
    const proxied = new HttpClient({ env: { HTTP_PROXY: `http://127.0.0.1:${proxyPort}` } });
    try {
      const err = await proxied.request({ url: "http://receiver.example:8080/in", body: "x" }, never()).catch((e) => e);
      expect(err).to.include({ code: "ECONNREFUSED" });
      expect(proxied.acceptsConnections()).to.equal(undefined);
    } finally {
      proxied.destroy();
    }
  });

  it("sends plain http through HTTP_PROXY as an absolute URL, with Proxy-Authorization and the target's Host", async function () {
    const proxy = await server((_req, res) => res.end("via proxy"));
    const proxied = new HttpClient({ env: { HTTP_PROXY: `http://u%40x:p%3Aw@127.0.0.1:${proxy.port}` } });
    try {
      const answer = await proxied.request({ url: "http://receiver.example:8080/in?q=1", body: "hello" }, never());
      expect(answer).to.deep.include({ status: 200, body: "via proxy" });
      const [seen] = proxy.seen;
      expect(seen.url).to.equal("http://receiver.example:8080/in?q=1");
      expect(seen.headers.host).to.equal("receiver.example:8080");
      expect(seen.headers["proxy-authorization"]).to.equal(`Basic ${Buffer.from("u@x:p:w").toString("base64")}`);
      expect(seen.body.toString()).to.equal("hello");
    } finally {
      proxied.destroy();
      await proxy.close();
    }
  });

  it("keeps the connection alive between requests", async function () {
    const ports = new Set<number>();
    const peer = await server((req, res) => {
      ports.add(req.socket.remotePort!);
      res.end("ok");
    });
    try {
      for (let i = 0; i < 3; i++) await client.request({ url: peer.url, body: String(i) }, never());
      expect(ports.size).to.equal(1);
    } finally {
      await peer.close();
    }
  });
});

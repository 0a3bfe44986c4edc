/**
 * One HTTP/1.1 exchange on node:http / node:https: sends the body as given, reads the whole answer as UTF-8
 * text (decompressed, capped), follows no redirect, and settles once — with the answer, with the socket's own
 * error, or with a cancel error when the signal aborts.
 */
import http from "node:http";
import https from "node:https";
import zlib from "node:zlib";
import type { HttpAnswer } from "../targets/types";

/** Answers bigger than this (after decompression) are not read into memory. */
export const MAX_ANSWER_BYTES = 10 * 1024 * 1024;

/** What we advertise, and decode, as the answer's Content-Encoding. */
export const ACCEPT_ENCODING = "gzip, compress, deflate, br";

/** Rejected when the attempt's signal aborts (the engine tells timeout from node close by the signal's reason). */
export class RequestCanceledError extends Error {
  readonly code = "ERR_CANCELED";
  constructor() {
    super("canceled");
    this.name = "CanceledError";
  }
}

/** Rejected (permanent) when an answer is bigger than MAX_ANSWER_BYTES; the connection is dropped. */
export class AnswerTooLargeError extends Error {
  readonly code = "ERR_BAD_RESPONSE";
  constructor(limit: number) {
    super(`maxContentLength size of ${limit} exceeded`);
    this.name = "AnswerTooLargeError";
  }
}

/** Rejected when the peer closes the connection in the middle of the answer (classified retry). */
export class AnswerCutShortError extends Error {
  readonly code = "ECONNRESET";
  constructor() {
    super("stream has been aborted");
    this.name = "AnswerCutShortError";
  }
}

export interface Exchange {
  secure: boolean;
  options: http.RequestOptions;
  body: string | Buffer | undefined;
  signal: AbortSignal;
  maxAnswerBytes?: number;
}

type Decoder = "unzip" | "inflateRaw" | "brotli";

/** How to decode a body with this Content-Encoding (`deflate` may come raw or zlib-wrapped). */
function decoderFor(encoding: string, first: number | undefined): Decoder | undefined {
  switch (encoding.toLowerCase()) {
    case "gzip":
    case "x-gzip":
    case "compress":
    case "x-compress":
      return "unzip";
    case "deflate":
      return first === 0x78 ? "unzip" : "inflateRaw";
    case "br":
      return "brotli";
    default:
      return undefined;
  }
}

function decode(decoder: Decoder, data: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, out: Buffer) => (err ? reject(err) : resolve(out));
    if (decoder === "brotli") {
      const flush = zlib.constants.BROTLI_OPERATION_FLUSH;
      zlib.brotliDecompress(data, { flush, finishFlush: flush, maxOutputLength: limit }, done);
      return;
    }
    // Sync-flush tolerates an answer whose compressed stream was not properly finished.
    const options = { flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: limit };
    if (decoder === "unzip") zlib.unzip(data, options, done);
    else zlib.inflateRaw(data, options, done);
  });
}

/** Names the several failures a single failed connection attempt (Happy Eyeballs) carries. */
function withMessage(err: any): Error {
  if (err && !err.message && Array.isArray(err.errors) && err.errors.length) {
    const joined = err.errors
      .map((e: any) => (e?.message ? String(e.message) : String(e)))
      .filter(Boolean)
      .join("; ");
    err.message = joined || err.name || "AggregateError";
  }
  return err;
}

const SOCKET_KEEPALIVE_MS = 60_000;

/** Sends one request; resolves with any status, rejects on network errors, oversize answers and abort. */
export function exchange({ secure, options, body, signal, maxAnswerBytes = MAX_ANSWER_BYTES }: Exchange): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    if (signal.aborted) return reject(new RequestCanceledError());
    let settled = false;
    let req: http.ClientRequest | undefined;
    const onAbort = () => fail(new RequestCanceledError());
    function fail(err: Error): void {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      req?.destroy();
      reject(withMessage(err));
    }
    function succeed(answer: HttpAnswer): void {
      if (settled) return;
      settled = true;
      signal.removeEventListener("abort", onAbort);
      resolve(answer);
    }

    const onResponse = (res: http.IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      const cutShort = () => {
        if (!res.complete) fail(new AnswerCutShortError());
      };
      res.on("data", (chunk: Buffer) => {
        if (settled) return;
        size += chunk.length;
        if (size > maxAnswerBytes) {
          fail(new AnswerTooLargeError(maxAnswerBytes));
          res.destroy();
          return;
        }
        chunks.push(chunk);
      });
      res.on("aborted", cutShort);
      res.on("error", (err) => (res.complete ? fail(err) : cutShort()));
      res.on("close", cutShort);
      res.on("end", () => {
        if (settled) return;
        const status = res.statusCode ?? 0;
        const headers = flatHeaders(res.headers);
        const raw = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
        const encoding = headers["content-encoding"];
        if (encoding && status === 204) delete headers["content-encoding"];
        const decoder = encoding && status !== 204 ? decoderFor(encoding, raw[0]) : undefined;
        if (!decoder) return succeed({ status, headers, body: text(raw) });
        delete headers["content-encoding"];
        if (raw.length === 0) return succeed({ status, headers, body: "" });
        decode(decoder, raw, maxAnswerBytes).then(
          (plain) => succeed({ status, headers, body: text(plain) }),
          (err: any) => fail(err?.code === "ERR_BUFFER_TOO_LARGE" ? new AnswerTooLargeError(maxAnswerBytes) : err),
        );
      });
    };

    try {
      req = (secure ? https : http).request(options, onResponse);
    } catch (err) {
      return reject(err);
    }
    req.on("error", fail);
    req.on("socket", (socket) => {
      // TCP keep-alive probes while a request is in flight (the agent sets its own while the socket idles).
      if (typeof socket.setKeepAlive === "function") socket.setKeepAlive(true, SOCKET_KEEPALIVE_MS);
    });
    signal.addEventListener("abort", onAbort, { once: true });
    if (body !== undefined && body.length > 0) req.end(body);
    else req.end();
  });
}

/** UTF-8 text of an answer, without a byte-order mark. */
function text(raw: Buffer): string {
  const body = raw.toString("utf8");
  return body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
}

/** Response headers as lower-case names; a repeated header's values joined with ", ". */
export function flatHeaders(raw: http.IncomingHttpHeaders | Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in raw) {
    const value = (raw as Record<string, unknown>)[name];
    if (value === undefined || value === null) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return out;
}

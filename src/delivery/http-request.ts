/**
 * One HTTP/1.1 exchange on an undici dispatcher: sends the body as given, reads the whole answer as UTF-8 text
 * (decompressed, capped), follows no redirect, and settles once — with the answer, with the connection's error
 * (in the codes node:http gives, which the retry rules read), or with a cancel error when the signal aborts.
 */
import zlib from "node:zlib";
import type { Dispatcher } from "undici";
import type { HttpAnswer } from "../targets/types";
import type { Connection } from "./connections";

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

/** Rejected when the connection closes before any answer arrives (classified retry, as node:http's hang-up). */
export class ConnectionClosedError extends Error {
  readonly code = "ECONNRESET";
  constructor() {
    super("socket hang up");
    this.name = "ConnectionClosedError";
  }
}

export interface Exchange {
  /** One connection: dropped when the exchange is abandoned half-way. */
  connection: Connection;
  /** `origin`, `path` (absolute-form through a proxy), `method`, `headers`, `body`. */
  request: Dispatcher.DispatchOptions;
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

/** undici's codes for a connection that closed (or was closed by destroy()) under a request. */
const CLOSED_CODES = new Set(["UND_ERR_SOCKET", "UND_ERR_CLOSED", "UND_ERR_DESTROYED"]);

/**
 * A failure as the retry rules know it: a connection closed before the answer is a hang-up (or the socket
 * error that closed it, e.g. a TLS alert), one closed during it (or any failure once the answer has started)
 * cuts the answer short; the socket's own errors (ECONNREFUSED, TLS, the metadata guard's refusal …) pass through.
 */
function failureOf(err: any, answerStarted: boolean): Error {
  if (answerStarted) return new AnswerCutShortError();
  if (CLOSED_CODES.has(err?.code)) return typeof err.cause?.code === "string" ? withMessage(err.cause) : new ConnectionClosedError();
  return withMessage(err);
}

/**
 * The dispatch handler of one exchange, and the abort listener of its signal (`handleEvent`). It collects the
 * answer's chunks and settles the exchange's promise once.
 */
class AnswerReader implements Dispatcher.DispatchHandler {
  private settled = false;
  private complete = false;
  private status = 0;
  private headers: Record<string, unknown> | undefined;
  private readonly chunks: Buffer[] = [];
  private size = 0;

  constructor(
    private readonly connection: Connection,
    private readonly signal: AbortSignal,
    private readonly limit: number,
    private readonly resolve: (answer: HttpAnswer) => void,
    private readonly reject: (err: Error) => void,
  ) {}

  handleEvent(): void {
    this.fail(new RequestCanceledError(), true);
  }

  /** Present so that undici calls this handler with its current (controller-based) interface. */
  onRequestStart(): void {}

  onResponseStart(_controller: Dispatcher.DispatchController, status: number, headers: Record<string, unknown>): void {
    this.status = status;
    this.headers = headers;
  }

  onResponseData(_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.settled) return;
    this.size += chunk.length;
    if (this.size > this.limit) return this.fail(new AnswerTooLargeError(this.limit), true);
    this.chunks.push(chunk);
  }

  onResponseEnd(): void {
    this.complete = true;
    if (this.settled) return;
    const status = this.status;
    const headers = flatHeaders(this.headers ?? {});
    const raw = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.size);
    const encoding = headers["content-encoding"];
    if (encoding && status === 204) delete headers["content-encoding"];
    const decoder = encoding && status !== 204 ? decoderFor(encoding, raw[0]) : undefined;
    if (!decoder) return this.succeed({ status, headers, body: text(raw) });
    delete headers["content-encoding"];
    if (raw.length === 0) return this.succeed({ status, headers, body: "" });
    const limit = this.limit;
    decode(decoder, raw, limit).then(
      (plain) => this.succeed({ status, headers, body: text(plain) }),
      (err: any) => this.fail(err?.code === "ERR_BUFFER_TOO_LARGE" ? new AnswerTooLargeError(limit) : err),
    );
  }

  onResponseError(_controller: Dispatcher.DispatchController, err: Error): void {
    this.complete = true;
    this.fail(failureOf(err, this.headers !== undefined));
  }

  private succeed(answer: HttpAnswer): void {
    if (this.settled) return;
    this.settled = true;
    this.signal.removeEventListener("abort", this);
    this.resolve(answer);
  }

  /**
   * Settles with `err`. `drop`: we give up on an exchange still under way (abort, oversize answer), so its
   * connection is destroyed, whether it is still connecting, sending or receiving.
   */
  fail(err: Error, drop = false): void {
    if (this.settled) return;
    this.settled = true;
    this.signal.removeEventListener("abort", this);
    if (drop && !this.complete) this.connection.drop(err);
    this.reject(err);
  }
}

/** Sends one request; resolves with any status, rejects on network errors, oversize answers and abort. */
export function exchange({ connection, request, signal, maxAnswerBytes = MAX_ANSWER_BYTES }: Exchange): Promise<HttpAnswer> {
  return new Promise<HttpAnswer>((resolve, reject) => {
    if (signal.aborted) return reject(new RequestCanceledError());
    const reader = new AnswerReader(connection, signal, maxAnswerBytes, resolve, reject);
    signal.addEventListener("abort", reader, { once: true });
    try {
      connection.dispatch(request, reader);
    } catch (err) {
      reader.fail(err as Error);
    }
  });
}

/** UTF-8 text of an answer, without a byte-order mark. */
function text(raw: Buffer): string {
  const body = raw.toString("utf8");
  return body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
}

/** Response headers as lower-case names; a repeated header's values joined with ", ". */
export function flatHeaders(raw: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in raw) {
    const value = (raw as Record<string, unknown>)[name];
    if (value === undefined || value === null) continue;
    out[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
  }
  return out;
}

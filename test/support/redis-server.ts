/**
 * A real Redis for tests: Debian's redis-server on a free loopback port, in a temporary directory of its
 * own, with the append-only file on (fsync always), so a kill -9 and restart replays what was acknowledged.
 */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort } from "../e2e/support/node-red-process";

export interface RedisServerOptions {
  password?: string;
}

export class RedisServer {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "cse-redis-"));
  port = 0;
  private child?: ChildProcess;
  private output = "";

  constructor(private readonly options: RedisServerOptions = {}) {}

  /** `redis://[:password@]127.0.0.1:<port>` */
  get url(): string {
    const auth = this.options.password ? `:${encodeURIComponent(this.options.password)}@` : "";
    return `redis://${auth}127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts Redis (on the same port and directory when started before) and waits until it answers PING. */
  async start(): Promise<void> {
    if (this.running) return;
    if (!this.port) this.port = await freePort();
    const args = ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir, "--save", "", "--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "noeviction"];
    if (this.options.password) args.push("--requirepass", this.options.password);
    const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    this.child = child;
    const missing = new Promise<void>((_, reject) =>
      child.once("error", (error: NodeJS.ErrnoException) =>
        reject(error.code === "ENOENT" ? new Error("redis-server is not installed: the cluster-mode tests need Debian's (apt-get install -y redis-server)") : error),
      ),
    );
    missing.catch(() => undefined);
    child.stdout?.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      await Promise.race([missing, Promise.resolve()]);
      if (!this.running) throw new Error(`redis-server exited:\n${this.output}`);
      if (await this.answers()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`redis-server did not answer within 10 s:\n${this.output}`);
  }

  /** SIGKILL, as a crash: nothing is flushed beyond what the append-only file already holds. */
  async kill9(): Promise<void> {
    await this.signal("SIGKILL");
  }

  async stop(): Promise<void> {
    await this.signal("SIGTERM");
  }

  /** Stops Redis and deletes its directory. */
  async remove(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill(signal);
    });
  }

  /** True when Redis answers PING (or asks for the password it was given). */
  private answers(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = net.connect(this.port, "127.0.0.1");
      socket.setTimeout(500);
      socket.once("connect", () => socket.write("PING\r\n"));
      socket.once("data", (data) => {
        socket.destroy();
        resolve(/^(\+PONG|-NOAUTH)/.test(data.toString()));
      });
      socket.once("error", () => resolve(false));
      socket.once("timeout", () => {
        socket.destroy();
        resolve(false);
      });
    });
  }
}

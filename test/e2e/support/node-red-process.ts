import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { DEFAULT_RUNTIME, type Runtime } from "./runtimes";

const repoRoot = path.join(__dirname, "..", "..", "..");
export const PACKAGE_NAME = "node-red-contrib-cse-actions";

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Packs the built package (as `npm publish` would) and returns the tarball's path. */
export function packPackage(destination: string): string {
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", destination], { cwd: repoRoot, encoding: "utf8" });
  const [info] = JSON.parse(out) as { filename: string; files: { path: string }[] }[];
  return path.join(destination, info.filename);
}

/** The files `npm pack` would ship, without packing. */
export function packedFiles(): string[] {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json"], { cwd: repoRoot, encoding: "utf8" });
  return (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
}

export interface NodeRedOptions {
  /** Extra lines inside `module.exports = { ... }` of settings.js. */
  settings?: string;
  /** The Node-RED and Node.js to run (default: Node-RED 4.1 from devDependencies on the tests' Node.js). */
  runtime?: Runtime;
}

/** A real Node-RED, started from its CLI with a user directory into which the package tarball is installed. */
export class NodeRedProcess {
  readonly userDir: string;
  port = 0;
  private child?: ChildProcess;
  private logText = "";

  constructor(private readonly tarball: string, private readonly options: NodeRedOptions = {}) {
    this.userDir = fs.mkdtempSync(path.join(os.tmpdir(), "cse-e2e-"));
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Everything Node-RED printed so far. */
  get log(): string {
    return this.logText;
  }

  install(): void {
    fs.writeFileSync(path.join(this.userDir, "package.json"), JSON.stringify({ name: "e2e-user-dir", version: "0.0.0", private: true }));
    execFileSync(
      "npm",
      ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", "--omit=dev", "--loglevel=error", this.tarball],
      { cwd: this.userDir, stdio: "pipe" },
    );
  }

  async start(): Promise<void> {
    this.port = await freePort();
    fs.writeFileSync(
      path.join(this.userDir, "settings.js"),
      `module.exports = {
  uiHost: "127.0.0.1",
  flowFile: "flows.json",
  credentialSecret: "e2e-secret",
  telemetry: { enabled: false, updateNotification: false },
  diagnostics: { enabled: false, ui: false },
  externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
  editorTheme: { tours: false, projects: { enabled: false }, palette: { catalogues: [] } },
  contextStorage: { default: { module: "localfilesystem" } },
  logging: { console: { level: "info", metrics: false, audit: false } },
  ${this.options.settings ?? ""}
};
`,
    );
    const { node, red } = this.options.runtime ?? DEFAULT_RUNTIME;
    this.child = spawn(node, [red, "-u", this.userDir, "-p", String(this.port)], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
    });
    const collect = (chunk: Buffer) => (this.logText += chunk.toString());
    this.child.stdout?.on("data", collect);
    this.child.stderr?.on("data", collect);
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (this.child.exitCode !== null) throw new Error(`Node-RED exited (${this.child.exitCode}):\n${this.logText}`);
      try {
        const res = await fetch(`${this.url}/settings`);
        if (res.ok || res.status === 401) return; // 401: up, behind adminAuth
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 150));
    }
    throw new Error(`Node-RED did not start within 30 s:\n${this.logText}`);
  }

  /**
   * Deploys flows through the admin API (v2, full deployment) and waits until Node-RED has started
   * them: the API answers once the flows are saved, which can be before the new nodes are running.
   * `headers` add to the request (e.g. `Authorization` when `adminAuth` is set).
   */
  async deploy(flows: object[], headers: Record<string, string> = {}): Promise<void> {
    const started = this.count("Started flows");
    const res = await fetch(`${this.url}/flows`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Node-RED-API-Version": "v2", "Node-RED-Deployment-Type": "full", ...headers },
      body: JSON.stringify({ flows }),
    });
    if (!res.ok) throw new Error(`deploy failed: ${res.status} ${await res.text()}`);
    const deadline = Date.now() + 30_000;
    while (this.count("Started flows") === started) {
      if (Date.now() > deadline) throw new Error(`the deployed flows did not start within 30 s:\n${this.logText}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private count(text: string): number {
    return this.logText.split(text).length - 1;
  }

  /** True while the Node-RED process is alive. */
  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The Node-RED process id, while it runs. */
  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /** Kills Node-RED with SIGKILL - no close handlers run, as in a crash - and waits until it is gone. */
  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });
  }

  /** Stops Node-RED if it runs, then starts it again with the same user directory (flows, credentials, journals). */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    await new Promise<void>((resolve) => {
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      child.once("exit", () => {
        clearTimeout(killer);
        resolve();
      });
      child.kill("SIGTERM");
    });
  }

  remove(): void {
    fs.rmSync(this.userDir, { recursive: true, force: true });
  }
}

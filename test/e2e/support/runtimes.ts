/**
 * The Node-RED / Node.js pairs the e2e and browser tests run on: Node-RED from devDependencies on the Node.js
 * running the tests (4.1 on 20 by default), and each runtime locked in test/runtimes/ (Node-RED 5.0 on
 * Node.js 22), which scripts/install-runtimes.js installs into .runtimes/ when it is missing.
 */
import fs from "node:fs";
import path from "node:path";

export interface Runtime {
  /** "Node-RED 5.0 / Node.js 22": goes into the test titles. */
  label: string;
  /** The Node.js binary that runs Node-RED. */
  node: string;
  /** Node-RED's red.js. */
  red: string;
  redVersion: string;
  nodeVersion: string;
  /** The runtime of devDependencies: the one the README screenshots come from. */
  isDefault: boolean;
}

function runtime(node: string, nodeVersion: string, red: string, isDefault: boolean): Runtime {
  const redVersion = JSON.parse(fs.readFileSync(path.join(path.dirname(red), "package.json"), "utf8")).version as string;
  const label = `Node-RED ${redVersion.split(".").slice(0, 2).join(".")} / Node.js ${nodeVersion.split(".")[0]}`;
  return { label, node, red, redVersion, nodeVersion, isDefault };
}

export const DEFAULT_RUNTIME = runtime(process.execPath, process.versions.node, require.resolve("node-red/red.js"), true);

function extraRuntimes(): Runtime[] {
  const { ensureRuntimes } = require("../../../scripts/install-runtimes") as {
    ensureRuntimes(): { node: string; red: string }[];
  };
  return ensureRuntimes().map((r) => {
    const nodeVersion = JSON.parse(fs.readFileSync(path.join(path.dirname(r.node), "..", "package.json"), "utf8")).version as string;
    return runtime(r.node, nodeVersion, r.red, false);
  });
}

/** Every runtime each e2e and browser suite runs on, the default first. */
export const RUNTIMES: Runtime[] = [DEFAULT_RUNTIME, ...extraRuntimes()];

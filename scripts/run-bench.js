#!/usr/bin/env node
// `npm run bench` (after the build): runs bench/index.ts through tsx in a child process, passes the
// arguments on (--quick, --profile, --only=...), forwards Ctrl-C / SIGTERM so the bench can stop its own
// children, and exits with the bench's exit code.
"use strict";
const { spawn } = require("node:child_process");
const path = require("node:path");

const root = path.join(__dirname, "..");
const child = spawn(process.execPath, ["--import", "tsx", path.join(root, "bench", "index.ts"), ...process.argv.slice(2)], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" },
});
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => child.kill(signal));
}
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

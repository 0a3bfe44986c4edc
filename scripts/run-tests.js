"use strict";
// Runs every test suite (unit, node, e2e) with mocha; extra arguments go to mocha.
const { spawnSync } = require("node:child_process");
const mocha = require.resolve("mocha/bin/mocha.js");
const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" };
const result = spawnSync(process.execPath, [mocha, ...process.argv.slice(2)], { stdio: "inherit", env });
process.exit(result.status ?? 1);

"use strict";
// Runs every test suite (unit, node, reliability, e2e, browser) with mocha; extra arguments go to mocha.
// The suites are listed here, not in .mocharc.json, so that `npx mocha <file>` runs that file alone.
const { spawnSync } = require("node:child_process");
const mocha = require.resolve("mocha/bin/mocha.js");
const SUITES = ["test/unit", "test/nodes", "test/reliability", "test/e2e", "test/browser"].map((dir) => `${dir}/**/*.spec.ts`);
const env = { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true" };
const result = spawnSync(process.execPath, [mocha, ...SUITES, ...process.argv.slice(2)], { stdio: "inherit", env });
process.exit(result.status ?? 1);

"use strict";
// Node-RED looks for each node's editor HTML beside its JS and for icons in an
// icons/ folder beside it, so the build puts nodes/*.html and icons/* next to dist/nodes/*.js
// (and the editor plugins' plugins/*.html next to dist/plugins/*.js).
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const out = path.join(root, "dist", "nodes");
fs.mkdirSync(path.join(out, "icons"), { recursive: true });
for (const file of fs.readdirSync(path.join(root, "nodes"))) {
  if (file.endsWith(".html")) fs.copyFileSync(path.join(root, "nodes", file), path.join(out, file));
}
for (const file of fs.readdirSync(path.join(root, "icons"))) {
  fs.copyFileSync(path.join(root, "icons", file), path.join(out, "icons", file));
}
const plugins = path.join(root, "dist", "plugins");
fs.mkdirSync(plugins, { recursive: true });
for (const file of fs.readdirSync(path.join(root, "plugins"))) {
  if (file.endsWith(".html")) fs.copyFileSync(path.join(root, "plugins", file), path.join(plugins, file));
}

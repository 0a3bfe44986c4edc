// Preloaded into the Node-RED process by `npm run bench -- --profile` (NODE_OPTIONS=--require ...; Node
// refuses --cpu-prof in NODE_OPTIONS). The same V8 CPU profiler as --cpu-prof, driven by signals so the bench
// profiles exactly one section: the first SIGWINCH starts profiling, the next one writes
// $BENCH_CPU_PROF_DIR/<n>.cpuprofile and stops.
"use strict";
const fs = require("node:fs");
const inspector = require("node:inspector");
const path = require("node:path");

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  let running = false;
  let count = 0;
  session.post("Profiler.enable", () => session.post("Profiler.setSamplingInterval", { interval: 200 }));
  process.on("SIGWINCH", () => {
    if (!running) {
      running = true;
      session.post("Profiler.start");
      return;
    }
    running = false;
    session.post("Profiler.stop", (err, result) => {
      const file = path.join(dir, `${++count}.cpuprofile`);
      fs.writeFileSync(file, err ? "{}" : JSON.stringify(result.profile));
    });
  });
}

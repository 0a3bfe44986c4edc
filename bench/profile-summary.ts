/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time per function (top 30) and the total
 * time spent inside this package's files (self time of frames whose URL contains the package's dist/).
 * Usage: node --import tsx bench/profile-summary.ts <file.cpuprofile>
 */
import fs from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const file = process.argv[2];
if (!file) throw new Error("usage: profile-summary.ts <file.cpuprofile>");
const profile = JSON.parse(fs.readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
// Samples of the profiler's own work (bench/cpu-profiler.cjs stopping and serialising) are left out.
const excluded = new Set<number>();
const exclude = (node: ProfileNode) => {
  excluded.add(node.id);
  for (const child of node.children ?? []) exclude(byId.get(child)!);
};
for (const node of profile.nodes) if (node.callFrame.url.includes("cpu-profiler.cjs") && !excluded.has(node.id)) exclude(node);
const selfUs = new Map<number, number>();
let excludedUs = 0;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  if (excluded.has(id)) excludedUs += profile.timeDeltas[i] ?? 0;
  else selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
}

const totalUs = profile.endTime - profile.startTime - excludedUs;
const perFunction = new Map<string, number>();
let idleUs = 0;
let oursUs = 0;
for (const [id, us] of selfUs) {
  const frame = byId.get(id)!.callFrame;
  if (frame.functionName === "(idle)") {
    idleUs += us;
    continue;
  }
  const where = frame.url ? `${frame.url.replace(/^file:\/\//, "").replace(/.*node_modules\//, "")}:${frame.lineNumber + 1}` : "";
  const key = `${frame.functionName || "(anonymous)"} ${where}`.trim();
  perFunction.set(key, (perFunction.get(key) ?? 0) + us);
  if (/node-red-contrib-cse-actions\/dist\//.test(frame.url)) oursUs += us;
}
const busyUs = totalUs - idleUs;

/** Where a frame's code lives: this package, an npm package, Node's own modules, or V8 (GC, native). */
function moduleOf(url: string, name: string): string {
  if (!url) return name.startsWith("(") ? name : "native";
  if (/node-red-contrib-cse-actions\/dist\//.test(url)) return "this package";
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith("node:")) return "node core";
  if (/^(Function node|evalmachine)/.test(url) || !url.includes("/")) return "function nodes";
  return url;
}
const perModule = new Map<string, number>();
for (const [id, us] of selfUs) {
  const frame = byId.get(id)!.callFrame;
  if (frame.functionName === "(idle)") continue;
  const m = moduleOf(frame.url, frame.functionName);
  perModule.set(m, (perModule.get(m) ?? 0) + us);
}
const lines = [
  `profile ${file}: ${(totalUs / 1e6).toFixed(1)} s, busy ${(busyUs / 1e6).toFixed(1)} s; self time in this package's code ${((100 * oursUs) / busyUs).toFixed(1)}% of busy`,
  "self ms   % busy  module",
  ...[...perModule].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([m, us]) => `${(us / 1000).toFixed(0).padStart(7)}  ${((100 * us) / busyUs).toFixed(1).padStart(6)}  ${m}`),
  "self ms   % busy  function",
];
for (const [key, us] of [...perFunction].sort((a, b) => b[1] - a[1]).slice(0, 30)) {
  lines.push(`${(us / 1000).toFixed(0).padStart(7)}  ${((100 * us) / busyUs).toFixed(1).padStart(6)}  ${key}`);
}
process.stdout.write(`${lines.join("\n")}\n`);

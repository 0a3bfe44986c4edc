/** The bench's table (stdout) and bench/results.json. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export interface Row {
  section: string;
  measure: string;
  /** Ours, formatted. */
  value: string;
  /** The baseline(s) measured in the same run, formatted with their names. */
  baseline: string;
  /** Ours relative to the baseline (how each row defines it is in `aim`). */
  ratio: number;
  aim: string;
  /** Whether the aim is met, for rows that have one. */
  met?: boolean;
}

export function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  let nodeRed = "unknown";
  try {
    nodeRed = JSON.parse(fs.readFileSync(require.resolve("node-red/package.json"), "utf8")).version;
  } catch {
    // not installed
  }
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    nodeRed,
    os: `${os.type()} ${os.release()}`,
    /** 1, 5 and 15 minute load averages when the results were written: other work on the machine skews rates. */
    loadAverage: os.loadavg().map((l) => Number(l.toFixed(2))),
  };
}

function cell(text: string, width: number): string {
  return text.length > width ? `${text.slice(0, width - 1)}…` : text.padEnd(width);
}

export function markdownTable(rows: Row[]): string {
  const lines = ["| Section | Measure | Ours | Baseline (same run) | Ratio | Aim |", "|---|---|---|---|---|---|"];
  for (const r of rows) {
    const ratio = Number.isFinite(r.ratio) ? `${r.ratio.toFixed(2)}×` : "n/a";
    const aim = r.met === undefined ? r.aim : `${r.aim} ${r.met ? "✔" : "✘"}`;
    lines.push(`| ${r.section} | ${r.measure} | ${r.value} | ${r.baseline} | ${ratio} | ${aim} |`);
  }
  return lines.join("\n");
}

export function printTable(rows: Row[], notes: string[]): void {
  const m = machine();
  const out: string[] = [];
  out.push("");
  out.push(`node-red-contrib-cse-actions bench — ${m.cpus} × ${m.cpuModel}, Node ${m.node}, Node-RED ${m.nodeRed}, load average ${(m.loadAverage as number[]).join(" ")}`);
  out.push("");
  const widths = [16, 70, 20, 62, 8, 22];
  out.push(["Section", "Measure", "Ours", "Baseline (same run)", "Ratio", "Aim"].map((h, i) => cell(h, widths[i])).join(" "));
  out.push(widths.map((w) => "-".repeat(w)).join(" "));
  for (const r of rows) {
    const ratio = Number.isFinite(r.ratio) ? `${r.ratio.toFixed(2)}×` : "n/a";
    const aim = r.met === undefined ? r.aim : `${r.aim} ${r.met ? "met" : "MISSED"}`;
    out.push([r.section, r.measure, r.value, r.baseline, ratio, aim].map((t, i) => cell(t, widths[i])).join(" "));
  }
  if (notes.length) {
    out.push("");
    for (const n of notes) out.push(`note: ${n}`);
  }
  out.push("");
  out.push(markdownTable(rows));
  out.push("");
  process.stdout.write(`${out.join("\n")}\n`);
}

export function writeResults(file: string, data: Record<string, unknown>): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify({ machine: machine(), ...data }, null, 2)}\n`);
}

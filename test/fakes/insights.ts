import fs from "node:fs";
import path from "node:path";
import type { Insight } from "../../src/events/types";

/** The real API answer for INSIGHT-220 (closed, old-schema entity), with its `{data, errors}` envelope. */
export function realInsightEnvelope(): { data: Insight; errors: unknown[] } {
  const file = path.join(__dirname, "..", "fixtures", "insight-INSIGHT-220-closed.json");
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

export function realInsight(): Insight {
  return realInsightEnvelope().data;
}

function record(i: number, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    uid: `6c3b1c9a-0000-4000-8000-${String(i).padStart(12, "0")}`,
    timestamp: 1764298800000 + i * 1000,
    objectType: "Network",
    normalizedAction: "allowed",
    srcDevice_ip: "10.0.0.5",
    srcDevice_ip_isInternal: true,
    dstDevice_ip: "185.220.101.4",
    dstDevice_ip_isInternal: false,
    dstPort: 443,
    http_url: "https://evil.example.net/payload.bin",
    http_hostname: "evil.example.net",
    dns_query: "c2.example.org",
    file_hash_sha256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    user_username: "alice",
    metadata_vendor: "Palo Alto Networks",
    metadata_product: "Firewall",
    metadata_sensorZone: "default",
    fields: { raw: `line ${i}` },
    ...overrides,
  };
}

/**
 * A newer-tenant Insight (entityType/value, involvedEntities, confidence, MITRE tags) with two signals
 * and `recordsPerSignal` records each. About 10 KB with the default of 6 records per signal.
 */
export function modernInsight(overrides: Partial<Insight> = {}, recordsPerSignal = 6): Insight {
  const entity = { id: "_ip-10.0.0.5", entityType: "_ip", name: "10.0.0.5", value: "10.0.0.5", hostname: "ws-042.corp.example", sensorZone: null };
  const signal = (n: number, stage: string, tactic: string) => ({
    id: `c0ffee00-0000-5000-8000-00000000000${n}`,
    name: n === 1 ? "Successful login from a new country" : "Beacon to a known C2 domain",
    description: `Signal ${n} description`,
    stage,
    severity: n === 1 ? 5 : 8,
    contentType: "RULE",
    ruleId: n === 1 ? "MATCH-S00475" : "THRESHOLD-S00096",
    recordCount: recordsPerSignal,
    recordTypes: ["NetworkTraffic"],
    tags: [`_mitreAttackTactic:${tactic}`, "_mitreAttackTechnique:T1078"],
    timestamp: "2026-11-28T03:10:00",
    entity,
    artifacts: [],
    allRecords: Array.from({ length: recordsPerSignal }, (_, i) => record(n * 100 + i)),
  });
  return {
    id: "8e1b2f3c-4d5e-4f60-8a7b-9c0d1e2f3a4b",
    readableId: "INSIGHT-1234",
    name: "Initial Access with Command and Control",
    description: "Initial Access, Command and Control",
    severity: "HIGH",
    confidence: 0.85,
    status: { name: "new", displayName: "New" },
    source: "ALGORITHM",
    entity,
    involvedEntities: [entity, { id: "_username-alice", entityType: "_username", name: "alice", value: "alice" }],
    signals: [signal(1, "Initial Access", "TA0001"), signal(2, "Command and Control", "TA0011")],
    tags: ["_mitreAttackTactic:TA0001", "_mitreAttackTactic:TA0011", "_mitreAttackTechnique:T1078", "crown-jewel"],
    created: "2026-11-28T03:12:45.123456",
    timestamp: "2026-11-28T03:10:00",
    lastUpdated: "2026-11-28T03:12:45.123456",
    closed: null,
    closedBy: null,
    resolution: null,
    assignee: null,
    artifacts: [],
    timeToDetection: 165.1,
    ...overrides,
  };
}

/** The same Insight closed as resolved. */
export function closedModernInsight(): Insight {
  return modernInsight({
    status: { name: "closed", displayName: "Closed" },
    closed: "2026-11-28T05:00:00.000001",
    closedBy: "analyst@example.com",
    resolution: "Resolved",
  });
}

/** An Insight far beyond every summary target's limit: long name and entity, huge description, 400 signals. */
export function hugeInsight(): Insight {
  const base = modernInsight({}, 1);
  const signal = base.signals![0];
  return {
    ...base,
    name: `Initial Access & <Command and Control> ${"N".repeat(5_000)}`,
    description: "Description & <markup> that goes on. ".repeat(20_000),
    entity: { id: "_command-x", entityType: "_command", value: `powershell -enc ${"A".repeat(8_000)}` },
    signals: Array.from({ length: 400 }, (_, i) => ({ ...signal, id: `s-${i}`, name: `Signal ${i} & <${"x".repeat(200)}>` })),
  };
}

/** A `sensor.offline` payload (SPEC §2). */
export function sensorOfflinePayload(): { sensorId: string; sensorName: string; sensorZone: string; lastSeen: string } {
  return { sensorId: "sensor-7", sensorName: "edge-sensor-7", sensorZone: "dmz", lastSeen: "2026-11-28T02:00:00Z" };
}

/** A `rule.autoDisabled` payload (SPEC §2). */
export function ruleAutoDisabledPayload(): { ruleId: string; ruleName: string; reason: string; disabledAt: string } {
  return { ruleId: "MATCH-S00475", ruleName: "Noisy login rule", reason: "more than 100000 signals in one hour", disabledAt: "2026-11-28T04:00:00Z" };
}

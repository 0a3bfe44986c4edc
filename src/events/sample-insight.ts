import type { Insight, RuleAutoDisabled, SensorOffline } from "./types";

/**
 * The sample Insight the editor's Test buttons send: a made-up newer-tenant Insight (two signals, two
 * records each) with IDs and addresses from documentation ranges, so nobody mistakes it for a real alert.
 */
export function sampleInsight(): Insight {
  const entity = {
    id: "_ip-10.0.0.5",
    entityType: "_ip",
    name: "10.0.0.5",
    value: "10.0.0.5",
    hostname: "ws-042.corp.example",
    sensorZone: null,
  };
  const record = (n: number) => ({
    uid: `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`,
    timestamp: 1764298800000 + n * 1000,
    objectType: "Network",
    normalizedAction: "allowed",
    srcDevice_ip: "10.0.0.5",
    dstDevice_ip: "203.0.113.10",
    dstPort: 443,
    http_hostname: "test.example.net",
    user_username: "alice",
    metadata_vendor: "Example Vendor",
    metadata_product: "Example Firewall",
  });
  const signal = (n: number, stage: string, tactic: string, name: string) => ({
    id: `00000000-0000-5000-8000-00000000000${n}`,
    name,
    description: `Sample signal ${n}`,
    stage,
    severity: n === 1 ? 5 : 8,
    contentType: "RULE",
    ruleId: n === 1 ? "MATCH-S00475" : "THRESHOLD-S00096",
    recordCount: 2,
    tags: [`_mitreAttackTactic:${tactic}`],
    timestamp: "2026-11-28T03:10:00",
    entity,
    allRecords: [record(n * 100), record(n * 100 + 1)],
  });
  return {
    id: "00000000-0000-4000-8000-000000000000",
    readableId: "INSIGHT-0",
    name: "Test from Node-RED: Initial Access with Command and Control",
    description: "A sample Insight sent by the Test button of a Cloud SIEM action node.",
    severity: "LOW",
    confidence: 0.5,
    status: { name: "new", displayName: "New" },
    source: "ALGORITHM",
    entity,
    involvedEntities: [entity],
    signals: [
      signal(1, "Initial Access", "TA0001", "Sample: successful login from a new country"),
      signal(2, "Command and Control", "TA0011", "Sample: beacon to a known C2 domain"),
    ],
    tags: ["_mitreAttackTactic:TA0001", "_mitreAttackTactic:TA0011", "test"],
    created: "2026-11-28T03:12:45.123456",
    timestamp: "2026-11-28T03:10:00",
    closed: null,
    closedBy: null,
    resolution: null,
    assignee: null,
    artifacts: [],
  };
}

/** The sample `sensor.offline` payload the editor's Preview offers (a made-up sensor in a documentation zone). */
export function sampleSensorOffline(): SensorOffline {
  return { sensorId: "sample-sensor-1", sensorName: "sample-sensor-dmz", sensorZone: "dmz", lastSeen: "2026-11-28T02:45:00Z" };
}

/** The sample `rule.autoDisabled` payload the editor's Preview offers. */
export function sampleRuleAutoDisabled(): RuleAutoDisabled {
  return {
    ruleId: "MATCH-S00475",
    ruleName: "Sample: successful login from a new country",
    reason: "The rule generated more than 100000 signals in one hour",
    disabledAt: "2026-11-28T03:00:00Z",
  };
}

import type { Insight, Tactic } from "./types";

/** MITRE ATT&CK enterprise tactics, in kill-chain order. */
export const ENTERPRISE_TACTICS: readonly Tactic[] = [
  { id: "TA0043", name: "Reconnaissance" },
  { id: "TA0042", name: "Resource Development" },
  { id: "TA0001", name: "Initial Access" },
  { id: "TA0002", name: "Execution" },
  { id: "TA0003", name: "Persistence" },
  { id: "TA0004", name: "Privilege Escalation" },
  { id: "TA0005", name: "Defense Evasion" },
  { id: "TA0006", name: "Credential Access" },
  { id: "TA0007", name: "Discovery" },
  { id: "TA0008", name: "Lateral Movement" },
  { id: "TA0009", name: "Collection" },
  { id: "TA0011", name: "Command and Control" },
  { id: "TA0010", name: "Exfiltration" },
  { id: "TA0040", name: "Impact" },
];

const byId = new Map(ENTERPRISE_TACTICS.map((t) => [t.id, t]));
const byName = new Map(ENTERPRISE_TACTICS.map((t) => [t.name.toLowerCase(), t]));
const TACTIC_TAG = /^_mitreAttackTactic:(TA\d{4})$/i;

export function tacticById(id: string): Tactic | undefined {
  return byId.get(id.toUpperCase());
}

export function tacticByName(name: string): Tactic | undefined {
  return byName.get(name.trim().toLowerCase());
}

/**
 * The MITRE tactics of an Insight: from `_mitreAttackTactic:` tags of the insight and its signals,
 * else the signals' `stage` names, else the tactic names in the Insight's `name`. In kill-chain order.
 */
export function tacticsOf(insight: Insight): Tactic[] {
  const signals = Array.isArray(insight.signals) ? insight.signals : [];
  const tags = [insight.tags, ...signals.map((s) => s?.tags)].flatMap((t) => (Array.isArray(t) ? t : []));
  const fromTags = tags.flatMap((tag) => {
    const m = typeof tag === "string" ? TACTIC_TAG.exec(tag.trim()) : null;
    const known = m ? tacticById(m[1]) : undefined;
    return m ? [known ?? { id: m[1].toUpperCase(), name: m[1].toUpperCase() }] : [];
  });
  if (fromTags.length) return ordered(fromTags);

  const fromStages = signals.flatMap((s) => {
    const t = typeof s?.stage === "string" ? tacticByName(s.stage) : undefined;
    return t ? [t] : [];
  });
  if (fromStages.length) return ordered(fromStages);

  const name = typeof insight.name === "string" ? insight.name.toLowerCase() : "";
  return ENTERPRISE_TACTICS.filter((t) => name.includes(t.name.toLowerCase()));
}

function ordered(tactics: Tactic[]): Tactic[] {
  const rank = (t: Tactic) => {
    const i = ENTERPRISE_TACTICS.findIndex((k) => k.id === t.id);
    return i < 0 ? ENTERPRISE_TACTICS.length : i;
  };
  const unique = [...new Map(tactics.map((t) => [t.id, t])).values()];
  return unique.sort((a, b) => rank(a) - rank(b));
}

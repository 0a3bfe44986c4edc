/** fast-check arbitraries of hostile input: events, Insights with missing, huge, nested or unicode-heavy fields. */
import fc from "fast-check";
import { EVENT_TOPICS } from "../../src/events/types";

/** An object nested `depth` levels deep. */
export function nest(depth: number): unknown {
  let value: unknown = "bottom";
  for (let i = 0; i < depth; i++) value = i % 2 ? { a: value } : [value];
  return value;
}

const NASTY = [
  "",
  " ",
  "\r\n",
  "x\r\nBcc: victim@example.com\r\n",
  "<script>alert(1)</script>",
  "*bold* _it_ ~s~ `code` <!channel> <@U0123> &amp; &lt;",
  "\u202eevil\u202c",
  "\u0000\u0007\u001b[31m",
  "🙂👩‍👩‍👧‍👦🏳️‍🌈",
  "ﷺ",
  "Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǧ̗͚̚o̙̔ͮ̇͐̇",
  "{{name}} {{readableId}} ${ENV}",
  "2026-13-45T99:99:99",
  "_mitreAttackTactic:TA0001",
];

export const text = fc.oneof(
  { weight: 6, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 3, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 1_000, max: 60_000 }), fc.constantFrom("x", "🙂", "é", "\n", "<&>", "*")).map(([n, unit]) => unit.repeat(n)) },
);
export const weird: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: text },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 1_500 }).map(nest) },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined, 0, -1, true, Number.NaN, [], {}) },
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.oneof({ weight: 4, arbitrary: arb as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: weird });
const time = fc.oneof(
  fc.date({ min: new Date("1970-01-01"), max: new Date("2100-01-01"), noInvalidDate: true }).map((d) => d.toISOString().replace("Z", "")),
  fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  text,
);
const entity = fc.oneof(
  fc.record({ id: text, entityType: fc.constantFrom("_ip", "_hostname", "_username", "_mac", "_file", "weird"), name: text, value: maybe(text), hostname: text }, { requiredKeys: [] }),
  fc.record({ id: text, name: text, ip: maybe(fc.record({ address: text })) }, { requiredKeys: [] }),
  fc.record({ id: text, name: text, username: maybe(text) }, { requiredKeys: [] }),
  weird,
);
const signal = fc.record(
  {
    id: maybe(text),
    name: maybe(text),
    stage: maybe(text),
    severity: maybe(fc.integer({ min: -5, max: 10 })),
    ruleId: maybe(text),
    tags: maybe(fc.array(text, { maxLength: 4 })),
    allRecords: maybe(fc.array(fc.dictionary(text, weird, { maxKeys: 4 }), { maxLength: 4 })),
  },
  { requiredKeys: [] },
);
export const insight = fc
  .tuple(
    fc.record(
      {
        id: fc.oneof(fc.uuid(), text),
        readableId: maybe(fc.oneof(fc.nat().map((n) => `INSIGHT-${n}`), text)),
        name: maybe(text),
        description: maybe(text),
        severity: maybe(fc.constantFrom("LOW", "MEDIUM", "HIGH", "CRITICAL", "low", "bogus")),
        confidence: maybe(fc.double()),
        status: maybe(fc.record({ name: fc.constantFrom("new", "inProgress", "closed", ""), displayName: text }, { requiredKeys: [] })),
        entity: maybe(entity),
        involvedEntities: maybe(fc.array(entity, { maxLength: 3 })),
        signals: maybe(fc.array(signal, { maxLength: 6 })),
        tags: maybe(fc.array(fc.oneof(text, fc.constantFrom("_mitreAttackTactic:TA0001", "_mitreAttackTactic:TA9999", "_mitreAttackTactic:", "_mitreAttackTechnique:T1059")), { maxLength: 6 })),
        created: maybe(time),
        timestamp: maybe(time),
        closed: maybe(time),
        closedBy: maybe(text),
        resolution: maybe(text),
        assignee: weird,
        source: maybe(text),
        artifacts: weird,
        sumoUrl: maybe(fc.oneof(fc.webUrl(), text)),
      },
      { requiredKeys: ["id"] },
    ),
    fc.dictionary(text, weird, { maxKeys: 3 }),
  )
  .map(([known, unknown]) => ({ ...unknown, ...known }));
const sensor = fc.record({ sensorId: maybe(text), sensorName: maybe(text), sensorZone: maybe(text), lastSeen: maybe(time) }, { requiredKeys: [] });
const rule = fc.record({ ruleId: maybe(text), ruleName: maybe(text), reason: maybe(text), disabledAt: maybe(time) }, { requiredKeys: [] });
export const topic = fc.oneof(fc.constantFrom(...EVENT_TOPICS, "signal", "sensor.heartbeat", "insight.onDemand"), weird);
export const payload = fc.oneof(
  { weight: 4, arbitrary: insight as fc.Arbitrary<unknown> },
  { weight: 1, arbitrary: insight.map((i) => ({ data: i, errors: [] })) },
  { weight: 1, arbitrary: insight.map((i) => JSON.stringify(i)) },
  { weight: 1, arbitrary: insight.map((i) => Buffer.from(JSON.stringify(i))) },
  { weight: 1, arbitrary: sensor },
  { weight: 1, arbitrary: rule },
  { weight: 1, arbitrary: fc.constantFrom("INSIGHT-42", "{not json", "[1,2", "  ", "aaaaaaaa-0000-4000-8000-000000000001") },
  { weight: 1, arbitrary: weird },
);
export const cseMeta = fc.oneof(
  fc.constant(undefined),
  weird,
  fc.record({ event: fc.constantFrom(...EVENT_TOPICS), key: text, tactics: fc.array(weird, { maxLength: 3 }), url: weird, entity: weird, receivedAt: weird }),
);


/** Names a template may print: the view's (SPEC §8), deep paths, inherited members and names that are nowhere. */
const VIEW_NAMES = [
  ".", "event", "insight", "insight.name", "insight.description", "insight.readableId", "insight.signals", "insight.signals.0.name",
  "insight.signals.0.allRecords", "insight.entity", "insight.entity.value", "insight.tags", "insight.status.name", "sensor",
  "sensor.sensorName", "rule", "rule.reason", "entity", "entity.value", "entity.type", "tactics", "tacticList", "link",
  "severity", "resolution", "payload", "cse", "cse.key", "cse.tactics", "headline", "title", "readableId", "name", "time",
  "id", "stage", "missing", "a.b.c", "constructor", "insight.constructor.constructor", "toString", "__proto__",
  "insight.signals.map", "length", "insight.name.length",
];
const viewName = fc.constantFrom(...VIEW_NAMES);
/** Template text without markup of its own (no <, >, & nor braces), so any markup in the output came from a value. */
const templateText = fc.string({ unit: fc.constantFrom("a", "Z", " ", "\n", "*", "_", "~", "`", "|", ":", "é", "🙂", "\t"), maxLength: 12 });

/** Random Mustache templates over the view: text, values in all three forms, sections and inverted sections. */
export const template: fc.Arbitrary<string> = fc.letrec<{ part: string; parts: string }>((tie) => ({
  part: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    templateText,
    viewName.map((n) => `{{${n}}}`),
    viewName.map((n) => `{{{${n}}}}`),
    viewName.map((n) => `{{& ${n}}}`),
    fc.tuple(fc.constantFrom("#", "^"), viewName, tie("parts")).map(([kind, n, body]) => `{{${kind}${n}}}${body}{{/${n}}}`),
  ),
  parts: fc.array(tie("part"), { minLength: 1, maxLength: 6 }).map((parts) => parts.join("")),
})).parts;

/**
 * Shared pieces of the reliability specs: how to set every action node up against a local peer (one adapter
 * per node kind), the events they get, and a recorder of everything a node lets out (log, status, Catch,
 * msg.delivery) for the secret checks.
 */
import helper from "node-red-node-test-helper";
import { cseMetaFor } from "../../src/events/meta";
import type { EventTopic, Insight } from "../../src/events/types";
import { modernInsight } from "../fakes/insights";
import type { FaultStep } from "../fakes/faulty-peer";

/** Every secret of the specs carries this marker, so any leak, even a piece of one, is found by one search. */
export const MARK = "SECRET";
export const secret = (field: string) => `${MARK}-${field}-7f3a`;
/** A webhook URL's path and query are secret too. */
export const SECRET_PATH = `/hooks/${MARK}-path-7f3a/T000B000`;
export const SECRET_QUERY = `?sig=${MARK}-query-7f3a`;

export const nodeModules = {
  "cse-http-post": require("../../src/nodes/cse-http-post"),
  "cse-slack-webhook": require("../../src/nodes/cse-slack-webhook"),
  "cse-slack": require("../../src/nodes/cse-slack"),
  "cse-teams": require("../../src/nodes/cse-teams"),
  "cse-pagerduty": require("../../src/nodes/cse-pagerduty"),
  "cse-hipchat": require("../../src/nodes/cse-hipchat"),
  "cse-xsoar": require("../../src/nodes/cse-xsoar"),
  "cse-recorded-future": require("../../src/nodes/cse-recorded-future"),
  "cse-email": require("../../src/nodes/cse-email"),
  "cse-smtp": require("../../src/nodes/cse-smtp"),
  "cse-sns": require("../../src/nodes/cse-sns"),
  "cse-trigger": require("../../src/nodes/cse-trigger"),
  "cse-tenant": require("../../src/nodes/cse-tenant"),
};
export const allModules = Object.values(nodeModules);

/** An Insight whose records hold a public address, so Recorded Future has something to look up. */
export function faultInsight(n = 1): Insight {
  const insight = modernInsight({ id: `bbbbbbbb-0000-4000-8000-${String(n).padStart(12, "0")}`, readableId: `INSIGHT-${n}` }, 1);
  insight.signals = [{ id: `sig-${n}`, name: "C2 beacon", stage: "Command and Control", allRecords: [{ srcDevice_ip: "10.0.0.5", dstDevice_ip: "185.220.101.4" }] }] as any;
  return insight;
}

export function eventMsg(insight: Insight = faultInsight(), topic: EventTopic = "insight.created") {
  return { topic, payload: insight, cse: cseMetaFor(topic, insight) };
}

/** How one HTTP action node is pointed at a peer and what a good answer from that peer is. */
export interface HttpAdapter {
  type: string;
  /** Node properties and credentials for a peer at `base` (scheme://host:port, no path). */
  configure(base: string): { props: Record<string, unknown>; creds: Record<string, string>; settings?: Record<string, unknown> };
  /** A good answer, and the status msg.delivery then shows. */
  ok: FaultStep;
  okStatus: number;
  /** A 2xx whose body says it failed (Slack ok:false, legacy Teams error text). */
  errorBody?: { permanent: FaultStep; cause: RegExp; transient?: FaultStep };
  /** A body the node parses, malformed: what it makes of it. */
  malformed?: { step: FaultStep; delivered: boolean; cause?: RegExp };
  /** The secrets set in configure(), beyond those holding MARK (e.g. a Basic auth header). */
  derivedSecrets?: string[];
}

const portOf = (base: string) => Number(new URL(base).port) || (base.startsWith("https") ? 443 : 80);

export const httpAdapters: HttpAdapter[] = [
  {
    type: "cse-http-post",
    configure: (base) => ({
      props: { url: `${base}/cse/insights`, extraHeaders: "X-Source: cloud-siem" },
      creds: { username: "analyst", password: secret("password") },
      settings: { cseHttpPostAllowedPorts: [portOf(base)] },
    }),
    ok: { status: 200, body: "ok" },
    okStatus: 200,
    derivedSecrets: [Buffer.from(`analyst:${secret("password")}`).toString("base64")],
  },
  {
    type: "cse-slack-webhook",
    configure: (base) => ({ props: {}, creds: { url: `${base}${SECRET_PATH}${SECRET_QUERY}` } }),
    ok: { status: 200, body: "ok" },
    okStatus: 200,
  },
  {
    type: "cse-slack",
    configure: (base) => ({ props: { channel: "#soc", apiUrl: `${base}/api` }, creds: { apiKey: secret("apiKey") } }),
    ok: { status: 200, body: { ok: true, channel: "C1", ts: "1700000000.000100" } },
    okStatus: 200,
    errorBody: { permanent: { status: 200, body: { ok: false, error: "invalid_auth" } }, cause: /HTTP 200 invalid_auth/, transient: { status: 200, body: { ok: false, error: "ratelimited" } } },
    malformed: { step: { status: 200, body: "<html>gateway</html>" }, delivered: false, cause: /not Slack's JSON/ },
  },
  {
    type: "cse-teams",
    configure: (base) => ({ props: { format: "messagecard" }, creds: { url: `${base}${SECRET_PATH}${SECRET_QUERY}` } }),
    ok: { status: 200, body: "1" },
    okStatus: 200,
    errorBody: {
      permanent: { status: 200, body: "Microsoft Teams endpoint returned HTTP error 400 with ContextId tcid=0,server=msgapi" },
      cause: /HTTP 200 Microsoft Teams endpoint returned HTTP error 400/,
      transient: { status: 200, body: "Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=1" },
    },
  },
  {
    type: "cse-pagerduty",
    configure: (base) => ({ props: { apiUrl: base, apiVersion: "v2" }, creds: { serviceKey: secret("serviceKey") } }),
    ok: { status: 202, body: { status: "success", message: "Event processed", dedup_key: "INSIGHT-1" } },
    okStatus: 202,
    // 202 is PagerDuty's word that it took the event; the body only echoes the key.
    malformed: { step: { status: 202, body: "<html>accepted</html>" }, delivered: true },
  },
  {
    type: "cse-hipchat",
    configure: (base) => ({ props: { server: base, room: "SOC" }, creds: { apiKey: secret("apiKey") } }),
    ok: { status: 204 },
    okStatus: 204,
  },
  {
    type: "cse-xsoar",
    configure: (base) => ({
      props: { url: base, endpoint: "/incident/json", extraHeaders: "" },
      creds: { apiKey: secret("apiKey"), apiKeyId: secret("apiKeyId") },
    }),
    ok: { status: 201, body: { id: "42", name: "INSIGHT-1" } },
    okStatus: 201,
    // Created (2xx) without a JSON answer: delivered, just without an incident id.
    malformed: { step: { status: 201, body: "{not json" }, delivered: true },
  },
  {
    type: "cse-recorded-future",
    configure: (base) => ({ props: { apiUrl: `${base}/v2`, enrichInsights: true, enrichSignals: false, cacheTtl: 0 }, creds: { apiToken: secret("apiToken") } }),
    ok: { status: 200, body: { data: { results: [] }, counts: { results: 0, errors: 0 } } },
    okStatus: 200,
    malformed: { step: { status: 200, body: "<html>maintenance</html>" }, delivered: false, cause: /HTTP 200 without enrichment results/ },
  },
];

/** Everything a node let out while a test ran, as one text, for the secret checks. */
export function exposure(nodeId: string, messages: any[]): string {
  const node = helper.getNode(nodeId) as any;
  const calls = (spy: any) => (spy?.getCalls ? spy.getCalls().map((c: any) => c.args.map((a: any) => (a instanceof Error ? `${a.message} ${a.stack}` : a))) : []);
  return JSON.stringify([
    helper.log().args.map((a: any) => a[0]),
    calls(node?.status),
    calls(node?.error),
    calls(node?.warn),
    calls(node?.log),
    messages.map((m) => ({ error: m.error, delivery: m.delivery })),
  ]);
}

/** Messages arriving at a helper node, awaited by count (no sleeps). */
export class Inbox {
  readonly items: any[] = [];
  private waiters: { count: number; resolve: (items: any[]) => void }[] = [];

  constructor(id: string) {
    helper.getNode(id).on("input", (msg: any) => {
      this.items.push(msg);
      this.waiters = this.waiters.filter((w) => (this.items.length >= w.count ? (w.resolve(this.items), false) : true));
    });
  }

  until(count: number): Promise<any[]> {
    if (this.items.length >= count) return Promise.resolve(this.items);
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }
}

/** The action node `n1` (plus `extra` nodes), its output `out` and a Catch scoped to it feeding `caught`. */
export function actionFlow(type: string, props: Record<string, unknown>, extra: any[] = []): any[] {
  return [
    { id: "f1", type: "tab" },
    { id: "n1", z: "f1", type, name: "reliability", timeout: 5000, maxAttempts: 3, ...props, wires: [["out"]] },
    { id: "out", z: "f1", type: "helper" },
    { id: "c1", z: "f1", type: "catch", scope: ["n1"], uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "f1", type: "helper" },
    ...extra,
  ];
}

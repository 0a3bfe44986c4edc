/**
 * The flows the bench deploys into Node-RED. Events come from a `function` node (the generator) started
 * through an `http in` endpoint, so no HTTP request per event is measured: `POST /bench/<section>/gen`
 * with `{n, prefix, bases, out, rate?}` makes n distinct Insights (base i % bases.length with its own id)
 * and sends them on output `out`; it answers `{t0, t1}` (clock ms around the burst) or, paced at `rate`
 * per second, `{t0, stamps}` with each event's send time once all are sent.
 */

/** `benchClock` comes from settings.functionGlobalContext (process.hrtime in ms, shared with the peers). */
const GENERATOR = `
const clock = global.get("benchClock");
const p = msg.payload;
const outputs = p.outputs || 1;
const make = (i) => {
  const base = p.bases[i % p.bases.length];
  return { topic: "insight.created", payload: Object.assign({}, base, { id: p.prefix + "-" + i, readableId: "INSIGHT-" + (100000 + i) }) };
};
const emit = (i) => {
  const arr = new Array(outputs + 1).fill(null);
  arr[p.out || 0] = make(i);
  node.send(arr, false);
};
const answer = (payload) => {
  const arr = new Array(outputs + 1).fill(null);
  msg.payload = payload;
  arr[outputs] = msg;
  node.send(arr, false);
};
if (!p.rate) {
  const t0 = clock();
  for (let i = 0; i < p.n; i++) emit(i);
  answer({ t0, t1: clock() });
  return;
}
const stamps = new Array(p.n);
const interval = 1000 / p.rate;
const start = clock();
let i = 0;
const tick = () => {
  while (i < p.n && start + i * interval <= clock()) {
    stamps[i] = clock();
    emit(i);
    i++;
  }
  if (i < p.n) setTimeout(tick, Math.max(0, start + i * interval - clock()));
  else answer({ t0: start, stamps });
};
tick();
`;

/** The same body cse-http-post sends with includeSignals and includeRecords: the Insight as JSON. */
const BUILD_BODY = `
msg.payload = JSON.stringify(msg.payload);
msg.headers = { "Content-Type": "application/json" };
return msg;
`;

/** Counts completions (and failures, from a catch node) in flow context, with the clock of the last one. */
const COUNTER = `
const clock = global.get("benchClock");
const key = msg.error ? "failed" : "done";
const now = clock();
flow.set(key, (flow.get(key) || 0) + 1);
flow.set("last", now);
const by = flow.get("lastBy") || {};
by[msg.delivery ? msg.delivery.action : "http request"] = now;
flow.set("lastBy", by);
return null;
`;
const COUNTS = `
msg.payload = { done: flow.get("done") || 0, failed: flow.get("failed") || 0, last: flow.get("last") || 0, lastBy: flow.get("lastBy") || {} };
if (msg.req.query.reset) { flow.set("done", 0); flow.set("failed", 0); flow.set("last", 0); flow.set("lastBy", {}); }
return msg;
`;

type Node = Record<string, unknown> & { id: string; type: string };

export function tab(id: string, label: string): Node {
  return { id, type: "tab", label };
}

function node(tabId: string, id: string, type: string, props: Record<string, unknown>, wires: string[][] = []): Node {
  return { id: `${tabId}-${id}`, type, z: tabId, x: 100, y: 100, ...props, wires: wires.map((w) => w.map((t) => `${tabId}-${t}`)) };
}

/** http in → generator (outputs 0..n-1 → targets, last → http response). */
function generator(tabId: string, url: string, outputs: string[][]): Node[] {
  return [
    node(tabId, "in", "http in", { url, method: "post", upload: false }, [["gen"]]),
    node(tabId, "gen", "function", { name: "generator", func: GENERATOR, outputs: outputs.length + 1 }, [...outputs, ["res"]]),
    node(tabId, "res", "http response", { statusCode: "", headers: {} }),
  ];
}

/** A flow-context completion counter: `<prefix>count` (fed by nodes and a catch) and GET <url>/counts. */
function counter(tabId: string, url: string, scope: string[]): Node[] {
  return [
    node(tabId, "count", "function", { name: "count", func: COUNTER, outputs: 0 }),
    node(tabId, "catch", "catch", { scope: scope.map((s) => `${tabId}-${s}`), uncaught: false }, [["count"]]),
    node(tabId, "cin", "http in", { url: `${url}/counts`, method: "get" }, [["cfn"]]),
    node(tabId, "cfn", "function", { func: COUNTS, outputs: 1 }, [["cres"]]),
    node(tabId, "cres", "http response", { statusCode: "", headers: {} }),
  ];
}

function trigger(tabId: string, wires: string[][]): Node {
  return node(tabId, "trigger", "cse-trigger", { name: "trigger", onInsightCreated: true, active: true, pollInterval: 0, dedupeWindow: 86400, store: "" }, wires);
}

function httpPost(tabId: string, id: string, url: string, extra: Record<string, unknown> = {}, wires: string[][] = []): Node {
  return node(
    tabId,
    id,
    "cse-http-post",
    { name: id, url, includeSignals: true, includeRecords: true, recordFields: "", extraHeaders: "", timeout: 30000, maxAttempts: 5, ...extra },
    wires,
  );
}

/** function → core http request; `persist` is the node's keep-alive option (off when the node is dropped in). */
function coreRequest(tabId: string, id: string, url: string, wires: string[][] = [], persist = true): Node[] {
  return [
    node(tabId, `${id}-fn`, "function", { name: "build body", func: BUILD_BODY, outputs: 1 }, [[id]]),
    node(tabId, id, "http request", { name: id, method: "POST", ret: "txt", paytoqs: "ignore", url, persist, tls: "", proxy: "", authType: "", senderr: false }, wires),
  ];
}

/** The generator outputs of deliveryFlow (what `outputs` must be in a POST to /bench/tp/gen). */
export const DELIVERY_OUTPUTS = 3;

/**
 * Throughput and latency: output 0 = cse-trigger → cse-http-post; output 1 = function → core http request with
 * its keep-alive option on; output 2 = the same core node as dropped in (keep-alive off). All post to the sink.
 */
export function deliveryFlow(sinkUrl: string): Node[] {
  const t = "tp";
  return [
    tab(t, "bench: delivery"),
    ...generator(t, "/bench/tp/gen", [["trigger"], ["req-fn"], ["plain-fn"]]),
    trigger(t, [["post"]]),
    httpPost(t, "post", sinkUrl),
    ...coreRequest(t, "req", sinkUrl),
    ...coreRequest(t, "plain", sinkUrl, [], false),
  ];
}

/** Backpressure: output 0 = cse-trigger → cse-http-post (maxAttempts high); output 1 = function → core http request. */
export function backpressureFlow(sinkUrl: string, maxAttempts: number): Node[] {
  const t = "bp";
  return [
    tab(t, "bench: backpressure"),
    ...generator(t, "/bench/bp/gen", [["trigger"], ["req-fn"]]),
    trigger(t, [["post"]]),
    // Delivered messages are counted at the sink: a counting function node on the output would put the
    // harness's own cost (about a tenth of the drain's CPU) on our side only. Refusals still reach it by Catch.
    httpPost(t, "post", sinkUrl, { maxAttempts }),
    ...coreRequest(t, "req", sinkUrl),
    ...counter(t, "/bench/bp", ["post"]),
    // GET /bench/bp/memory: the Node-RED process's process.memoryUsage() (settings.functionGlobalContext.benchMemory).
    node(t, "min", "http in", { url: "/bench/bp/memory", method: "get" }, [["mfn"]]),
    node(t, "mfn", "function", { func: 'msg.payload = global.get("benchMemory")(); return msg;', outputs: 1 }, [["mres"]]),
    node(t, "mres", "http response", { statusCode: "", headers: {} }),
  ];
}

export interface FanoutPeers {
  http: Record<string, string>;
  sns: string;
  smtp: { host: string; port: number };
  rf: { apiUrl: string; token: string };
}

/** One action node of `kind` against its local peer (plus a cse-smtp config node for cse-email). */
function actionNode(tabId: string, id: string, kind: string, peers: FanoutPeers): Node[] {
  const wires = [["count"]];
  const common = { name: id, timeout: 30000, maxAttempts: 5 };
  const http = (k: string) => peers.http[k];
  switch (kind) {
    case "cse-http-post":
      return [httpPost(tabId, id, http(kind), {}, wires)];
    case "cse-slack":
      return [node(tabId, id, kind, { ...common, channel: "#soc", apiUrl: http(kind), credentials: { apiKey: "xoxb-bench-token" } }, wires)];
    case "cse-slack-webhook":
      return [node(tabId, id, kind, { ...common, credentials: { url: `${http(kind)}/services/T000/B000/benchbenchbench` } }, wires)];
    case "cse-teams":
      return [node(tabId, id, kind, { ...common, format: "adaptive", credentials: { url: `${http(kind)}/workflows/bench` } }, wires)];
    case "cse-pagerduty":
      return [node(tabId, id, kind, { ...common, apiVersion: "v2", apiUrl: http(kind), credentials: { serviceKey: "0123456789abcdef0123456789abcdef" } }, wires)];
    case "cse-hipchat":
      return [node(tabId, id, kind, { ...common, server: http(kind), room: "soc", credentials: { apiKey: "hipchat-bench-token" } }, wires)];
    case "cse-xsoar":
      return [node(tabId, id, kind, { ...common, url: http(kind), endpoint: "/incident/json", extraHeaders: "", credentials: { apiKey: "xsoar-bench-key" } }, wires)];
    case "cse-sns":
      return [
        node(
          tabId,
          id,
          kind,
          {
            ...common,
            topicArn: "arn:aws:sns:us-east-1:123456789012:bench",
            region: "",
            endpoint: peers.sns,
            credentials: { accessKeyId: "AKIDBENCH", secretAccessKey: "bench-secret" },
          },
          wires,
        ),
      ];
    case "cse-email":
      return [
        node(tabId, `${id}-smtp`, "cse-smtp", { host: peers.smtp.host, port: peers.smtp.port, tls: "none", from: "nodered@example.test", credentials: {} }),
        node(tabId, id, kind, { ...common, smtp: `${tabId}-${id}-smtp`, recipients: "soc@example.test" }, wires),
      ];
    case "cse-recorded-future":
      return [node(tabId, id, kind, { ...common, apiUrl: peers.rf.apiUrl, enrichInsights: true, enrichSignals: false, cacheTtl: 3600, credentials: { apiToken: peers.rf.token } }, wires)];
    default:
      throw new Error(`no bench flow for ${kind}`);
  }
}

export const ACTION_KINDS = [
  "cse-http-post",
  "cse-slack",
  "cse-slack-webhook",
  "cse-teams",
  "cse-pagerduty",
  "cse-hipchat",
  "cse-email",
  "cse-sns",
  "cse-xsoar",
  "cse-recorded-future",
];

/**
 * Fan-out: output 0 = cse-trigger → ten action nodes (kinds cycled when fewer than ten exist);
 * output 1 = ten × (function → core http request) to the sink. Completions are counted in the flow.
 */
export function fanoutFlow(kinds: string[], peers: FanoutPeers, sinkUrl: string, width = 10): Node[] {
  const t = "fo";
  const ids = Array.from({ length: width }, (_, i) => `a${i}`);
  const reqs = Array.from({ length: width }, (_, i) => `r${i}`);
  return [
    tab(t, "bench: fan-out"),
    ...generator(t, "/bench/fo/gen", [["trigger"], reqs.map((r) => `${r}-fn`)]),
    trigger(t, [ids]),
    ...ids.flatMap((id, i) => actionNode(t, id, kinds[i % kinds.length], peers)),
    ...reqs.flatMap((r) => coreRequest(t, r, sinkUrl, [["count"]])),
    ...counter(t, "/bench/fo", [...ids, ...reqs]),
  ];
}

/** Recorded Future burst: cse-trigger → cse-recorded-future, completions counted. */
export function rfFlow(rf: { apiUrl: string; token: string }): Node[] {
  const t = "rf";
  return [
    tab(t, "bench: recorded future"),
    ...generator(t, "/bench/rf/gen", [["trigger"]]),
    trigger(t, [["rf"]]),
    ...actionNode(t, "rf", "cse-recorded-future", { http: {}, sns: "", smtp: { host: "", port: 0 }, rf }),
    ...counter(t, "/bench/rf", ["rf"]),
  ];
}

/**
 * The operations admin API (SPEC §9), behind Node-RED's admin authentication: reading needs
 * `cse-actions.read`, changing the failed list needs `cse-actions.write`. Answers hold counters, reasons (already
 * redacted by the engine) and a short view of each event — never a credential nor the message itself.
 */
import type { NodeAPI } from "node-red";
import { summaryOf, type FailedEntry, type FailedStore } from "./failed-store";
import { operationsOf, type Operations } from "./operations";

const registered = new WeakSet<object>();

export function registerOpsRoutes(RED: NodeAPI): void {
  const admin = (RED as any).httpAdmin;
  if (!admin?.get || registered.has(admin)) return;
  registered.add(admin);
  const ops = operationsOf(RED);
  const auth = (RED as any).auth;
  const read = auth?.needsPermission?.("cse-actions.read") ?? pass;
  const write = auth?.needsPermission?.("cse-actions.write") ?? pass;

  admin.get("/cse-actions/status", read, (_req: any, res: any) => res.json(ops.statuses()));

  admin.get(
    "/cse-actions/failed",
    read,
    handle(async (req, res) => {
      const node = typeof req.query?.node === "string" && req.query.node ? req.query.node : undefined;
      const limit = req.query?.limit === undefined ? undefined : Number(req.query.limit);
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
        res.status(400).json({ message: "limit: must be a positive whole number" });
        return;
      }
      const list = await ops.store.list(node);
      res.set("X-Total-Count", String(list.length));
      res.json((limit === undefined ? list : list.slice(0, limit)).map(summaryOf));
    }),
  );

  admin.get(
    "/cse-actions/failed/:node/:id",
    read,
    handle(async (req, res) => {
      const entry = await ops.store.get(req.params.node, req.params.id);
      if (!entry) return notFound(res, req.params);
      res.json({ ...summaryOf(entry), event: eventView(entry) });
    }),
  );

  admin.post(
    "/cse-actions/failed/:node/:id/retry",
    write,
    handle(async (req, res) => {
      const { node, id } = req.params;
      const entry = await ops.store.get(node, id);
      if (!entry) return notFound(res, req.params);
      const { status, ...answer } = await retry(ops, ops.store, [entry]);
      res.status(answer.retried > 0 ? 202 : status).json(answer);
    }),
  );

  admin.post(
    "/cse-actions/failed/:node/retry",
    write,
    handle(async (req, res) => {
      // Oldest first, so the target receives them in the order they first came.
      const entries = (await ops.store.list(req.params.node)).reverse();
      const { status, ...answer } = await retry(ops, ops.store, entries);
      res.status(answer.retried > 0 || entries.length === 0 ? 202 : status).json(answer);
    }),
  );

  admin.delete(
    "/cse-actions/failed/:node/:id",
    write,
    handle(async (req, res) => {
      const { node, id } = req.params;
      if (!(await ops.store.remove(node, id))) return notFound(res, req.params);
      ops.failedChanged(node);
      res.sendStatus(204);
    }),
  );

  admin.get(
    "/cse-actions/metrics",
    read,
    handle(async (_req, res) => {
      const text = await ops.metrics.text();
      res.set("Content-Type", ops.metrics.contentType).send(text);
    }),
  );
}

interface RetryAnswer {
  retried: number;
  /** Entries left in the list, with why. */
  kept: { id: string; reason: string }[];
  /** The HTTP status when nothing was retried: 409 (node not running) or 503 (refused). */
  status: number;
}

/**
 * Takes each entry off the list and puts it back on its node's queue with its original id (so its idempotency key
 * is the same); one the node refuses goes back on the list. An entry another request already took is skipped.
 */
async function retry(ops: Operations, store: FailedStore, entries: FailedEntry[]): Promise<RetryAnswer> {
  const answer: RetryAnswer = { retried: 0, kept: [], status: 202 };
  const nodes = new Set<string>();
  for (const entry of entries) {
    const handle = ops.action(entry.node);
    if (!handle) {
      answer.kept.push({ id: entry.id, reason: `the node ${entry.node} is not running: deploy it first` });
      answer.status = 409;
      continue;
    }
    if (!(await store.remove(entry.node, entry.id))) continue;
    nodes.add(entry.node);
    try {
      handle.resubmit(entry);
      answer.retried++;
    } catch (error) {
      await store.add(entry);
      answer.kept.push({ id: entry.id, reason: String((error as Error)?.message ?? error) });
      answer.status = 503;
    }
  }
  for (const node of nodes) ops.failedChanged(node);
  return answer;
}

/** What the sidebar shows of a failed message's event: who and what, no more. */
function eventView(entry: FailedEntry): Record<string, unknown> {
  const msg = entry.msg as Record<string, any>;
  const payload = msg.payload && typeof msg.payload === "object" ? (msg.payload as Record<string, any>) : {};
  const pick = (source: Record<string, any>, keys: string[]) =>
    Object.fromEntries(keys.filter((k) => source[k] !== undefined && source[k] !== null && typeof source[k] !== "object").map((k) => [k, source[k]]));
  const view: Record<string, unknown> = { topic: entry.topic };
  if (entry.topic.startsWith("insight.")) {
    view.insight = pick(payload, ["id", "readableId", "name", "severity", "created", "closed", "resolution"]);
    const cse = (msg.cse ?? {}) as Record<string, any>;
    if (cse.entity && typeof cse.entity === "object") view.entity = pick(cse.entity, ["type", "value"]);
    if (Array.isArray(cse.tactics)) view.tactics = cse.tactics.map((t: any) => String(t?.name ?? t?.id ?? "")).filter(Boolean);
  } else if (entry.topic === "sensor.offline") {
    view.sensor = pick(payload, ["sensorId", "sensorName", "sensorZone", "lastSeen"]);
  } else if (entry.topic === "rule.autoDisabled") {
    view.rule = pick(payload, ["ruleId", "ruleName", "reason", "disabledAt"]);
  }
  return view;
}

function notFound(res: any, params: { node: string; id: string }): void {
  res.status(404).json({ message: `no failed message ${params.id} of node ${params.node}` });
}

function pass(_req: unknown, _res: unknown, next: () => void): void {
  next();
}

/** An async route whose rejection answers 500 instead of escaping (Node-RED must never see it). */
function handle(fn: (req: any, res: any) => Promise<void>): (req: any, res: any) => void {
  return (req, res) => {
    fn(req, res).catch((error) => {
      if (!res.headersSent) res.status(500).json({ message: String((error as Error)?.message ?? error) });
    });
  };
}

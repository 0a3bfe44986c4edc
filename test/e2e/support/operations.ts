/**
 * What the operations specs (e2e API, browser sidebar) share: a Node-RED with admin authentication and two users
 * (an operator with every permission, a viewer who may only read), their tokens, and a flow whose HTTP POST v2
 * node delivers what `POST /ops/insight` receives to a loopback receiver.
 */
export const OPERATOR = { username: "operator", password: "operator-pass-1", permissions: "*" };
export const VIEWER = { username: "viewer", password: "viewer-pass-1", permissions: "read" };
/** May read everything and resend failed messages, not deploy (as the README suggests). */
export const RESENDER = { username: "resender", password: "resender-pass-1", permissions: ["read", "cse-actions.write"] };
type User = { username: string; password: string; permissions: string | string[] };
/** A fixed token (adminAuth.tokens) with only cse-actions.read, as the README suggests for Prometheus. */
export const SCRAPER_TOKEN = "prometheus-scrape-token-1";

/**
 * Lines for NodeRedProcess's `settings`: adminAuth with the two users (Node-RED's custom user functions, so no
 * password hash is needed) and the scraper's token, and fast retries.
 */
export function adminAuthSettings(extra = ""): string {
  const users = {
    [OPERATOR.username]: { password: OPERATOR.password, permissions: OPERATOR.permissions },
    [VIEWER.username]: { password: VIEWER.password, permissions: VIEWER.permissions },
    [RESENDER.username]: { password: RESENDER.password, permissions: RESENDER.permissions },
  };
  return `adminAuth: {
    type: "credentials",
    users: async (username) => { const u = (${JSON.stringify(users)})[username]; return u ? { username, permissions: u.permissions } : null; },
    authenticate: async (username, password) => { const u = (${JSON.stringify(users)})[username]; return u && u.password === password ? { username, permissions: u.permissions } : null; },
    tokens: async (token) => token === ${JSON.stringify(SCRAPER_TOKEN)} ? { username: "prometheus", permissions: "cse-actions.read" } : null,
  },
  cseDelayScale: 0.001,
  ${extra}`;
}

/** An admin API access token for a user (`POST /auth/token`, as the editor's login asks: scope "" = the user's permissions). */
export async function tokenFor(url: string, user: User): Promise<string> {
  const res = await fetch(`${url}/auth/token`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ client_id: "node-red-editor", grant_type: "password", scope: "", username: user.username, password: user.password }),
  });
  if (!res.ok) throw new Error(`login of ${user.username} failed: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { access_token: string }).access_token;
}

export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** `http in` (POST /ops/insight) → cse-trigger → cse-http-post "SOC receiver" (node `ops.post`) → the receiver. */
export function operationsFlow(receiverPort: number, password: string): object[] {
  return [
    { id: "ops.tab", type: "tab", label: "Operations" },
    { id: "ops.in", type: "http in", z: "ops.tab", url: "/ops/insight", method: "post", x: 120, y: 100, wires: [["ops.trigger", "ops.ok"]] },
    { id: "ops.ok", type: "http response", z: "ops.tab", statusCode: "202", x: 330, y: 160, wires: [] },
    {
      id: "ops.trigger", type: "cse-trigger", z: "ops.tab", name: "Insights", onInsightCreated: true, onInsightClosed: false, onDemand: true,
      onSensorOffline: false, onRuleAutoDisabled: false, active: true, tenant: "", pollInterval: "0", sensorTimeout: "900",
      signalLimitHour: "100000", signalLimitDay: "1000000", dedupeWindow: "86400", store: "", x: 330, y: 100, wires: [["ops.post"]],
    },
    {
      id: "ops.post", type: "cse-http-post", z: "ops.tab", name: "SOC receiver", url: `http://127.0.0.1:${receiverPort}/insights`,
      extraHeaders: "", includeSignals: false, includeRecords: false, recordFields: "", timeout: "5000", maxAttempts: "3",
      credentials: { username: "soc", password }, x: 560, y: 100, wires: [],
    },
  ];
}

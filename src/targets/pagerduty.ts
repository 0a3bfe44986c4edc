/** PagerDuty Events API v2 (`/v2/enqueue`) or v1 (`/generic/2010-04-15/create_event.json`). */
import { classifyHttp } from "../delivery/classify";
import { jsonRequest } from "../delivery/http";
import { dedupKeyOf, pagerDutyV1Event, pagerDutyV2Event, templateIncidentSummary } from "../render/pagerduty-event";
import { summaryOf } from "../render/summary";
import { templateView, type MessageTemplate } from "../render/template";
import type { DeliveryEvent, HttpAnswer, HttpRequest, Outcome, Target } from "./types";

export type PagerDutyVersion = "v2" | "v1";

export interface PagerDutyConfig {
  apiVersion: PagerDutyVersion;
  /** The account's subdomain (`acme`, EU `acme.eu`), used only for a link to the account. */
  subdomain?: string;
  /** `https://events.pagerduty.com` (EU: `https://events.eu.pagerduty.com`). */
  apiUrl: string;
  /** v2 integration (routing) key or v1 service key. */
  serviceKey: string;
  /** `payload.summary` (v1: `description`) as a Mustache template (SPEC §8); absent = the default summary. */
  template?: MessageTemplate;
}

export const PAGERDUTY_PATHS: Record<PagerDutyVersion, string> = {
  v2: "/v2/enqueue",
  v1: "/generic/2010-04-15/create_event.json",
};

export function pagerDutyRequest(event: DeliveryEvent, config: PagerDutyConfig): HttpRequest {
  const summary = summaryOf(event);
  const text = (config.template && templateIncidentSummary(config.template, templateView(event, summary))) || undefined;
  const body =
    config.apiVersion === "v1"
      ? pagerDutyV1Event(summary, config.serviceKey, config.subdomain, text)
      : pagerDutyV2Event(summary, config.serviceKey, config.subdomain, text);
  return jsonRequest(`${config.apiUrl.replace(/\/+$/, "")}${PAGERDUTY_PATHS[config.apiVersion]}`, body);
}

function parse(body: string): any {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/** PagerDuty's own words for a failure: `status` ("invalid event", "throttle exceeded") and the first error. */
function pagerDutyError(body: any): { code?: string; detail?: string } {
  const code = typeof body?.status === "string" ? body.status : undefined;
  const first = Array.isArray(body?.errors) ? body.errors.find((e: unknown) => typeof e === "string") : undefined;
  const detail = first ?? (typeof body?.message === "string" ? body.message : undefined);
  return { code, detail: detail ? String(detail).slice(0, 200) : undefined };
}

/**
 * v2: 202 success (2xx accepted), 429 and 5xx retried, 400 permanent. v1: 200 success, 403 is PagerDuty's
 * throttle and is retried. `id` is the dedup / incident key PagerDuty confirms (else the one sent).
 */
export function classifyPagerDuty(answer: HttpAnswer, event: DeliveryEvent, config: PagerDutyConfig): Outcome {
  const body = parse(answer.body);
  if (answer.status >= 200 && answer.status < 300) {
    const key = config.apiVersion === "v1" ? body?.incident_key : body?.dedup_key;
    return { kind: "ok", status: answer.status, id: typeof key === "string" && key ? key : dedupKeyOf(summaryOf(event)) };
  }
  const { code, detail } = pagerDutyError(body);
  const reason = [`HTTP ${answer.status}`, code, detail && detail !== code ? `(${detail})` : undefined].filter(Boolean).join(" ");
  if (config.apiVersion === "v1" && answer.status === 403) return { kind: "retry", status: 403, code: code ?? "throttle exceeded", reason };
  const outcome = classifyHttp(answer, code);
  // A redirect's reason names where it pointed; PagerDuty's own words only describe its error answers.
  if (outcome.kind === "ok" || outcome.code === "redirect") return outcome;
  return { ...outcome, reason };
}

export const pagerDutyTarget: Target<PagerDutyConfig> = {
  name: "PagerDuty",
  secrets: (c) => [c.serviceKey],
  request: pagerDutyRequest,
  classify: classifyPagerDuty,
};

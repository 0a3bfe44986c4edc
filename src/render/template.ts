/**
 * Message templates (SPEC §8): a node's Mustache template, checked once at deploy, rendered for each event
 * against a view built from the same summary the default texts use. Every value a template prints goes
 * through the target's escape, whether written `{{x}}`, `{{{x}}}` or `{{&x}}`, and text from an Insight is
 * only ever data: the view is a copy of plain values (no functions, no prototypes), so nothing in it runs or
 * is parsed as a template.
 */
import Mustache from "mustache";
import type { CseMeta, EventTopic } from "../events/types";
import { readableTime, type Summary } from "./summary";
import { fitWithin, truncateText } from "./truncate";

/** A template that parsed: its source and Mustache's tokens. */
export interface MessageTemplate {
  source: string;
  tokens: unknown[];
}

/** A template that does not parse: the 1-based line and what is wrong there. */
export class TemplateError extends Error {
  constructor(
    readonly line: number | undefined,
    readonly problem: string,
  ) {
    super(line === undefined ? problem : `line ${line}: ${problem}`);
    this.name = "TemplateError";
  }
}

/** Turns a value of the view into the text the target shows (raw, then escaped by the caller). */
export type Escape = (text: string) => string;

/** Plain-text targets (PagerDuty, Teams card text, e-mail subject and text) print values as they are. */
export const plainText: Escape = (text) => text;

function lineAt(source: string, index: number): number {
  return source.slice(0, Math.max(0, index)).split("\n").length;
}

/** Where the section `name` that was never closed opens. */
function sectionStart(source: string, name: string, fallback: number): number {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const opens = [...source.matchAll(new RegExp(`\\{\\{\\s*[#^]\\s*${escaped}\\s*\\}\\}`, "g"))];
  return opens.length ? opens[opens.length - 1].index : fallback;
}

function firstPartial(tokens: unknown[]): { name: string; at: number } | undefined {
  for (const token of tokens as any[]) {
    if (token[0] === ">") return { name: String(token[1]), at: Number(token[2]) };
    if (Array.isArray(token[4])) {
      const inner = firstPartial(token[4]);
      if (inner) return inner;
    }
  }
  return undefined;
}

/** The template in `source`, undefined when it is empty (the default text); throws TemplateError. */
export function compileTemplate(source: unknown): MessageTemplate | undefined {
  if (typeof source !== "string" || !source.trim()) return undefined;
  let tokens: unknown[];
  try {
    tokens = Mustache.parse(source);
  } catch (error) {
    const text = String((error as Error)?.message ?? error);
    const at = / at (\d+)$/.exec(text);
    const problem = (at ? text.slice(0, at.index) : text).replace(/^\w/, (c) => c.toLowerCase());
    if (!at) {
      // "Invalid tags" (a bad {{=<% %>=}}) comes without a position: the first delimiter change is the likely one.
      const change = source.indexOf("{{=");
      throw new TemplateError(change >= 0 ? lineAt(source, change) : undefined, problem);
    }
    const position = Number(at[1]);
    // A section still open at the end is reported at the end: the line where it opens says more.
    const unclosed = position >= source.length && /^unclosed section "(.*)"$/.exec(problem);
    throw new TemplateError(lineAt(source, unclosed ? sectionStart(source, unclosed[1], position) : position), problem);
  }
  const partial = firstPartial(tokens);
  if (partial) throw new TemplateError(lineAt(source, partial.at), `partials are not supported ({{> ${partial.name}}})`);
  return { source, tokens };
}

/** What an object of the view prints as when written whole, e.g. `{{entity}}` prints the entity's value. */
const SHOWN = Symbol("shown");

/** The event fields the view is built from (a DeliveryEvent). */
export interface TemplateEvent {
  topic: EventTopic;
  payload: unknown;
  cse: CseMeta;
}

export type TemplateView = Record<string, unknown>;

const MAX_DEPTH = 32;

/**
 * A copy of `value` holding only strings, finite numbers, booleans, null, arrays and objects, all without a
 * prototype (Mustache calls any function it finds, including inherited ones like `constructor`).
 */
function plain(value: unknown, depth = 0, seen = new Map<object, unknown>()): unknown {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value !== "object" || depth >= MAX_DEPTH) return undefined;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.toISOString();
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value)) return undefined;
  const known = seen.get(value);
  if (known !== undefined) return known;
  if (Array.isArray(value)) {
    const copy: unknown[] = Object.setPrototypeOf([], null);
    seen.set(value, copy);
    value.forEach((item, i) => (copy[i] = plain(item, depth + 1, seen)));
    return copy;
  }
  const copy: Record<string, unknown> = Object.create(null);
  seen.set(value, copy);
  for (const [key, item] of Object.entries(value)) {
    const kept = plain(item, depth + 1, seen);
    if (kept !== undefined) copy[key] = kept;
  }
  return copy;
}

/**
 * The view a template is rendered against (SPEC §8): `event`, `insight` / `sensor` / `rule` (the event's
 * payload under its kind), `entity` ({type, value}; `{{entity}}` alone prints the value), `tactics` (names
 * joined with ", "), `tacticList` ([{id, name}]), `link`, `severity`, `resolution`, `payload` and `cse`
 * (msg.cse); also `headline`, `title`, `readableId`, `name` and `time` from the summary. Nothing else of the
 * message, and no setting or credential of the node, is in it.
 */
export function templateView(event: TemplateEvent, summary: Summary): TemplateView {
  const tacticList = (Array.isArray(event.cse?.tactics) ? event.cse.tactics : [])
    .filter((t) => t && typeof t === "object" && typeof t.name === "string")
    .map((t) => ({ id: typeof t.id === "string" ? t.id : "", name: t.name }));
  const view: TemplateView = plain({
    event: event.topic,
    [summary.kind]: event.payload,
    tactics: summary.tactics.join(", "),
    tacticList,
    link: summary.link,
    severity: summary.severity,
    resolution: summary.resolution,
    payload: event.payload,
    cse: event.cse,
    headline: summary.headline,
    title: summary.title,
    readableId: summary.readableId,
    name: summary.name,
    time: readableTime(summary.timestamp),
  }) as TemplateView;
  if (summary.entity) {
    const entity = plain({ type: summary.entity.type, value: summary.entity.value }) as Record<string | symbol, unknown>;
    entity[SHOWN] = summary.entity.value;
    view.entity = entity;
    // Inside {{#insight}}, `entity` is the Insight's own: written whole it prints the same value.
    const own = (view.insight as Record<string, unknown> | undefined)?.entity;
    if (own && typeof own === "object") (own as Record<symbol, unknown>)[SHOWN] = summary.entity.value;
  }
  return view;
}

/** The text of a value printed whole: a string, number or boolean as is, a list joined with ", ", else empty. */
function shown(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (Array.isArray(value)) return Array.from(value, shown).filter(Boolean).join(", ");
  if (value && typeof value === "object" && SHOWN in value) return shown((value as Record<symbol, unknown>)[SHOWN]);
  return "";
}

/** Mustache's writer with one change: every value, however it is written, is cut to a budget and escaped. */
class ValueWriter extends Mustache.Writer {
  constructor(private readonly value: (raw: unknown) => string) {
    super();
  }

  override escapedValue(token: string[], context: Mustache.Context): string {
    const raw = context.lookup(token[1]);
    return raw === undefined || raw === null ? "" : this.value(raw);
  }

  // {{{x}}} and {{&x}}: escaped the same way, so no template sends Insight text unescaped.
  override unescapedValue(token: string[], context: Mustache.Context): string {
    return this.escapedValue(token, context);
  }
}

/**
 * The template rendered against the view: every value cut to `budget` characters (with the truncation marker)
 * and then escaped for the target. Missing values print nothing.
 */
export function renderTemplate(template: MessageTemplate, view: TemplateView, escape: Escape, budget = Number.MAX_SAFE_INTEGER): string {
  const writer = new ValueWriter((raw) => escape(truncateText(shown(raw), budget)));
  return writer.renderTokens(template.tokens as string[][], new Mustache.Context(view), undefined, template.source);
}

/**
 * The template rendered so that it measures at most `max` (by `measure`, default characters): long values are
 * shortened first, all alike. Undefined when it renders blank (then the target's default text is sent). It can
 * still be longer than `max` when the template's own text is: the caller cuts it like any other text.
 */
export function renderWithin(
  template: MessageTemplate,
  view: TemplateView,
  escape: Escape,
  max: number,
  measure: (text: string) => number = (text) => text.length,
): string | undefined {
  const { built } = fitWithin(max, (budget) => renderTemplate(template, view, escape, budget), measure, max, 20);
  return built.trim() ? built : undefined;
}

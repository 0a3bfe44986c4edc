/** Removal of secrets (credentials, webhook URL paths and queries) from every text a user can see. */

export const REDACTED = "[redacted]";
/** Secrets shorter than this are not searched for: replacing "a" everywhere would destroy every message. */
const MIN_SECRET_LENGTH = 4;

/** Every form in which `secret` may appear in an error text: as is, URL-encoded, and Base64 (Basic auth). */
function spellings(secret: string): string[] {
  const forms = new Set([secret]);
  try {
    forms.add(encodeURIComponent(secret));
    forms.add(encodeURI(secret));
  } catch {
    // lone surrogates cannot be encoded; the plain form is still searched for
  }
  return [...forms];
}

/** `text` with every occurrence of every secret replaced by `[redacted]`, longest secrets first. */
export function redact(text: string, secrets: readonly (string | undefined | null)[]): string {
  const all = secrets
    .filter((s): s is string => typeof s === "string" && s.length >= MIN_SECRET_LENGTH)
    .flatMap(spellings)
    .sort((a, b) => b.length - a.length);
  let out = text;
  for (const secret of all) out = out.split(secret).join(REDACTED);
  return out;
}

/**
 * The secret parts of a URL whose path and query are a bearer secret (webhook URLs): the whole URL,
 * path+query, the query string, each query value and each path segment of 8+ characters.
 */
export function urlSecrets(url: string | undefined): string[] {
  if (!url) return [];
  const out = [url];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return out;
  }
  out.push(parsed.href);
  const pathAndQuery = parsed.pathname + parsed.search;
  if (pathAndQuery.length > 1) out.push(pathAndQuery);
  if (parsed.search) out.push(parsed.search.slice(1));
  for (const value of parsed.searchParams.values()) out.push(value);
  for (const segment of parsed.pathname.split("/")) {
    if (segment.length >= 8) out.push(segment, decodeURIComponentSafe(segment));
  }
  if (parsed.username) out.push(parsed.username);
  if (parsed.password) out.push(parsed.password, decodeURIComponentSafe(parsed.password));
  return out;
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

import { isLoopbackHost } from "../delivery/http";

/** Cloud SIEM API base URLs per deployment (the tenant editor's region picker offers the same list). */
export const CSE_REGIONS: Record<string, string> = {
  US1: "https://api.sumologic.com/api/sec/v1",
  US2: "https://api.us2.sumologic.com/api/sec/v1",
  AU: "https://api.au.sumologic.com/api/sec/v1",
  CA: "https://api.ca.sumologic.com/api/sec/v1",
  CH: "https://api.ch.sumologic.com/api/sec/v1",
  DE: "https://api.de.sumologic.com/api/sec/v1",
  EU: "https://api.eu.sumologic.com/api/sec/v1",
  FED: "https://api.fed.sumologic.com/api/sec/v1",
  IN: "https://api.in.sumologic.com/api/sec/v1",
  JP: "https://api.jp.sumologic.com/api/sec/v1",
  KR: "https://api.kr.sumologic.com/api/sec/v1",
};

export const DEFAULT_CSE_API_URL = CSE_REGIONS.US1;

/**
 * Checks an API base URL (`field` names the property in the error) and returns it without a
 * trailing slash. Only https is accepted, except plain http to a loopback address (for tests and
 * local proxies): access keys must never travel in clear text.
 */
export function checkApiUrl(value: unknown, field = "apiUrl"): string {
  if (typeof value !== "string" || value.trim() === "") throw new Error(`${field} is empty: set the API URL`);
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new Error(`${field} "${value}" is not a URL`);
  }
  if (url.username || url.password) throw new Error(`${field} must not contain a user name or password`);
  if (url.protocol === "http:" && !isLoopbackHost(url.hostname)) {
    throw new Error(`${field} must use https:// (plain http is only allowed to a loopback address), got ${url.origin}`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new Error(`${field} must use https://, got ${url.protocol}`);
  }
  url.search = "";
  url.hash = "";
  return url.toString().replace(/\/+$/, "");
}

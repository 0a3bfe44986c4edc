import net from "node:net";
import type { Insight, Signal } from "./types";

/**
 * Threat indicators in an Insight's or Signal's records, for reputation look-ups: public IP
 * addresses, domains and file hashes. Private, loopback, link-local, shared (CGNAT), multicast,
 * reserved and documentation addresses are never returned: they mean nothing to a threat-intel
 * service and must not leave the network.
 */
export type IndicatorType = "ip" | "domain" | "hash";

export interface Indicators {
  ip: string[];
  domain: string[];
  hash: string[];
}

/** Record fields that hold an IP address (besides any other field ending in `_ip`). */
export const IP_FIELDS = ["srcDevice_ip", "dstDevice_ip", "device_ip", "srcDevice_natIp", "dstDevice_natIp"];
export const DOMAIN_FIELDS = ["dns_query", "http_hostname"];
export const URL_FIELDS = ["http_url"];
export const HASH_FIELDS: Record<string, number> = { file_hash_md5: 32, file_hash_sha1: 40, file_hash_sha256: 64 };

/** Dotted-quad IPv4 with decimal octets and no leading zeros (`010.1.1.1` is ambiguous: rejected). */
function ipv4Octets(text: string): number[] | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  const octets: number[] = [];
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    octets.push(n);
  }
  return octets;
}

/** [first octet, second octet mask check] ranges that are not public IPv4 space. */
const V4_NOT_PUBLIC: [base: number, bits: number][] = [
  [0x00000000, 8], // "this network"
  [0x0a000000, 8], // private
  [0x64400000, 10], // shared address space (CGNAT)
  [0x7f000000, 8], // loopback
  [0xa9fe0000, 16], // link-local
  [0xac100000, 12], // private
  [0xc0000000, 24], // IETF protocol assignments
  [0xc0000200, 24], // TEST-NET-1 (documentation)
  [0xc0586300, 24], // 6to4 relay anycast (deprecated)
  [0xc0a80000, 16], // private
  [0xc6120000, 15], // benchmarking
  [0xc6336400, 24], // TEST-NET-2
  [0xcb007100, 24], // TEST-NET-3
  [0xe0000000, 4], // multicast
  [0xf0000000, 4], // reserved + broadcast
];

function isPublicV4(octets: number[]): boolean {
  const value = ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
  return !V4_NOT_PUBLIC.some(([base, bits]) => (value >>> (32 - bits)) === (base >>> (32 - bits)));
}

/** The eight 16-bit groups of an IPv6 address (embedded dotted IPv4 tail allowed), or undefined. */
function ipv6Groups(text: string): number[] | undefined {
  if (!net.isIPv6(text) || text.includes("%")) return undefined;
  let hex = text.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(hex);
  if (dotted) {
    const o = ipv4Octets(dotted[1]);
    if (!o) return undefined;
    hex = `${hex.slice(0, -dotted[1].length)}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((g) => parseInt(g, 16)));
  let groups: number[];
  if (hex.includes("::")) {
    const [left, right] = hex.split("::");
    const l = parse(left);
    const r = parse(right);
    groups = [...l, ...new Array(8 - l.length - r.length).fill(0), ...r];
  } else {
    groups = parse(hex);
  }
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : undefined;
}

function isPublicV6(groups: number[]): boolean {
  const [g0, g1, g2, g3, g4, g5] = groups;
  // IPv4-mapped (::ffff:a.b.c.d) and NAT64 (64:ff9b::a.b.c.d): judge the embedded IPv4 address.
  const embedded = [groups[6] >> 8, groups[6] & 0xff, groups[7] >> 8, groups[7] & 0xff];
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0xffff) return isPublicV4(embedded);
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return isPublicV4(embedded);
  if ((g0 & 0xe000) !== 0x2000) return false; // outside global unicast 2000::/3 (::, ::1, fc00::/7, fe80::/10, ff00::/8 ...)
  if (g0 === 0x2001 && g1 < 0x200) return false; // 2001::/23 IETF protocol assignments (Teredo, benchmarking, ORCHID ...)
  if (g0 === 0x2001 && g1 === 0xdb8) return false; // documentation
  if (g0 === 0x2002) return false; // 6to4
  if ((g0 & 0xfff0) === 0x3ff0) return false; // 3fff::/20 documentation (RFC 9637)
  return true;
}

/**
 * The address in canonical form if `value` is a well-formed public IP address, else undefined.
 * Accepts `[v6]` brackets; anything with a port, a zone or junk is malformed and ignored.
 */
export function publicIp(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const text = value.trim().replace(/^\[(.*)\]$/, "$1");
  const v4 = ipv4Octets(text);
  if (v4) return isPublicV4(v4) ? v4.join(".") : undefined;
  const v6 = ipv6Groups(text);
  if (v6) return isPublicV6(v6) ? compressV6(v6) : undefined;
  return undefined;
}

/** RFC 5952 text form: lower case, longest zero run compressed. */
function compressV6(groups: number[]): string {
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i > 1) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

/** Names that only mean something inside a network (or are reverse-lookup names). */
const PRIVATE_SUFFIXES = [".local", ".localhost", ".internal", ".lan", ".home.arpa", ".arpa", ".localdomain", ".test", ".invalid", ".corp", ".intranet"];

/** The name in lower case if `value` is a public-looking DNS name (at least two labels, alphabetic TLD), else undefined. */
export function publicDomain(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  const name = value.trim().toLowerCase().replace(/\.$/, "");
  if (name.length < 4 || name.length > 253 || !name.includes(".")) return undefined;
  const labels = name.split(".");
  if (labels.some((label) => !/^(?!-)[a-z0-9_-]{1,63}(?<!-)$/.test(label))) return undefined;
  if (!/^(xn--[a-z0-9-]+|[a-z]{2,63})$/.test(labels[labels.length - 1])) return undefined;
  if (PRIVATE_SUFFIXES.some((suffix) => `.${name}`.endsWith(suffix))) return undefined;
  return name;
}

function hashOf(value: unknown, length: number): string | undefined {
  if (typeof value !== "string") return undefined;
  const text = value.trim().toLowerCase();
  return text.length === length && /^[0-9a-f]+$/.test(text) && !/^0+$/.test(text) ? text : undefined;
}

/** Hostname of an http(s) URL field value (scheme optional), or undefined. */
function urlHost(value: unknown): string | undefined {
  if (typeof value !== "string" || value.trim() === "") return undefined;
  const text = value.trim();
  try {
    const url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
    return url.hostname || undefined;
  } catch {
    return undefined;
  }
}

/** Collects indicators from records into `into` (sets keep each value once). */
function collect(records: unknown, into: { ip: Set<string>; domain: Set<string>; hash: Set<string> }): void {
  if (!Array.isArray(records)) return;
  const addHost = (host: string | undefined) => {
    if (!host) return;
    const bare = host.replace(/^\[(.*)\]$/, "$1");
    if (ipv4Octets(bare) || net.isIPv6(bare)) {
      const ip = publicIp(bare);
      if (ip) into.ip.add(ip);
      return;
    }
    const domain = publicDomain(bare);
    if (domain) into.domain.add(domain);
  };
  for (const record of records) {
    if (!record || typeof record !== "object") continue;
    for (const [field, value] of Object.entries(record as Record<string, unknown>)) {
      if (IP_FIELDS.includes(field) || /_ip$/.test(field)) {
        const ip = publicIp(value);
        if (ip) into.ip.add(ip);
      } else if (DOMAIN_FIELDS.includes(field)) {
        addHost(typeof value === "string" ? value : undefined);
      } else if (URL_FIELDS.includes(field)) {
        addHost(urlHost(value));
      } else if (field in HASH_FIELDS) {
        const hash = hashOf(value, HASH_FIELDS[field]);
        if (hash) into.hash.add(hash);
      }
    }
  }
}

function toLists(sets: { ip: Set<string>; domain: Set<string>; hash: Set<string> }): Indicators {
  return { ip: [...sets.ip], domain: [...sets.domain], hash: [...sets.hash] };
}

const emptySets = () => ({ ip: new Set<string>(), domain: new Set<string>(), hash: new Set<string>() });

/** Indicators in a list of records, each distinct value once, in order of appearance. */
export function indicatorsOfRecords(records: unknown): Indicators {
  const sets = emptySets();
  collect(records, sets);
  return toLists(sets);
}

/** Indicators in one Signal's records. */
export function indicatorsOfSignal(signal: Partial<Signal>): Indicators {
  return indicatorsOfRecords(signal?.allRecords);
}

/** Indicators in all records of all the Insight's signals. */
export function indicatorsOfInsight(insight: Partial<Insight>): Indicators {
  const sets = emptySets();
  for (const signal of Array.isArray(insight?.signals) ? insight.signals : []) collect(signal?.allRecords, sets);
  return toLists(sets);
}

export function countIndicators(indicators: Indicators): number {
  return indicators.ip.length + indicators.domain.length + indicators.hash.length;
}

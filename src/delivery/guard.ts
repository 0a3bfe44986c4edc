/**
 * The cloud metadata guard: requests to instance metadata services (credential theft through SSRF) are refused
 * before connecting, whatever spelling the address has and whatever a DNS name resolves to.
 */
import dns from "node:dns";
import net from "node:net";

/** AWS/GCP/Azure/OpenStack, AWS IPv6, Alibaba Cloud. */
const METADATA_V4 = ["169.254.169.254", "100.100.100.200"];
const METADATA_V6 = ["fd00:ec2::254"];

/** Thrown (and classified permanent) when the guard refuses an address. */
export class MetadataAddressError extends Error {
  readonly code = "ECSEMETADATA";
  readonly permanent = true;
  constructor(host: string, address: string) {
    super(
      host === address
        ? `refused to connect to ${address}: a cloud metadata address (set cseAllowMetadataAddresses to allow it)`
        : `refused to connect to ${host}: it resolves to the cloud metadata address ${address} (set cseAllowMetadataAddresses to allow it)`,
    );
    this.name = "MetadataAddressError";
  }
}

function ipv4Bytes(address: string): number[] | undefined {
  if (net.isIPv4(address)) return address.split(".").map(Number);
  return undefined;
}

/** The 16 bytes of an IPv6 address (with an optional embedded dotted IPv4 tail), or undefined. */
function ipv6Bytes(input: string): number[] | undefined {
  const address = input.replace(/^\[|\]$/g, "").replace(/%.*$/, "");
  if (!net.isIPv6(address)) return undefined;
  let text = address;
  const tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    tail.push(...dotted[1].split(".").map(Number));
    text = text.slice(0, -dotted[1].length) + "0:0";
  }
  const [head, rest] = text.includes("::") ? text.split("::") : [text, undefined];
  const groups = (part: string | undefined) => (part ? part.split(":").filter((g) => g !== "") : []);
  const left = groups(head);
  const right = groups(rest);
  const fill = rest === undefined ? [] : Array(8 - left.length - right.length).fill("0");
  const words = [...left, ...fill, ...right].map((g) => parseInt(g, 16));
  if (words.length !== 8) return undefined;
  const bytes = words.flatMap((w) => [w >> 8, w & 0xff]);
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

function sameBytes(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The IPv4 address an IPv6 address carries (IPv4-mapped, IPv4-compatible, NAT64 64:ff9b::/96), if any. */
function embeddedIpv4(bytes: number[]): number[] | undefined {
  const prefix = bytes.slice(0, 12);
  const zero10 = prefix.slice(0, 10).every((b) => b === 0);
  if (zero10 && prefix[10] === 0xff && prefix[11] === 0xff) return bytes.slice(12);
  if (zero10 && prefix[10] === 0 && prefix[11] === 0 && bytes.slice(12).some((b) => b !== 0)) return bytes.slice(12);
  if (sameBytes(prefix, [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0])) return bytes.slice(12);
  return undefined;
}

/**
 * Normalises a host as a URL parser would (decimal `2852039166`, hex `0xa9fea9fe`, octal, short forms,
 * brackets) and returns its IP bytes, or undefined for a DNS name.
 */
function addressBytes(host: string): number[] | undefined {
  const trimmed = host.trim().replace(/\.$/, "");
  let normal = trimmed;
  if (!net.isIP(trimmed.replace(/^\[|\]$/g, ""))) {
    try {
      normal = new URL(`http://${trimmed.includes(":") && !trimmed.startsWith("[") ? `[${trimmed}]` : trimmed}/`).hostname;
    } catch {
      return undefined;
    }
  }
  return ipv4Bytes(normal) ?? ipv6Bytes(normal);
}

const V4_BLOCKED = METADATA_V4.map((a) => ipv4Bytes(a)!);
const V6_BLOCKED = METADATA_V6.map((a) => ipv6Bytes(a)!);

/** True when `host` is a cloud metadata address in any spelling (a DNS name is never one by itself). */
export function isMetadataAddress(host: string): boolean {
  const bytes = addressBytes(host);
  if (!bytes) return false;
  const v4 = bytes.length === 4 ? bytes : embeddedIpv4(bytes);
  if (v4 && V4_BLOCKED.some((b) => sameBytes(b, v4))) return true;
  return bytes.length === 16 && V6_BLOCKED.some((b) => sameBytes(b, bytes));
}

/** True when `host` is an IP literal (any spelling a URL parser accepts). */
export function isIpLiteral(host: string): boolean {
  return addressBytes(host) !== undefined;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: any, family?: number) => void;

/**
 * A `lookup` for http(s) agents and sockets: resolves as dns.lookup does, then refuses metadata addresses,
 * so a DNS name that (re)binds to one is caught at connect time.
 */
export function guardedLookup(allowMetadata: () => boolean) {
  return function lookup(hostname: string, options: any, callback?: LookupCallback): void {
    const cb = (typeof options === "function" ? options : callback) as LookupCallback;
    const opts = typeof options === "function" || options == null ? {} : typeof options === "number" ? { family: options } : options;
    dns.lookup(hostname, opts, (err, address: any, family?: number) => {
      if (err) return cb(err, address, family);
      if (!allowMetadata()) {
        const list: { address: string }[] = Array.isArray(address) ? address : [{ address }];
        const bad = list.find((entry) => isMetadataAddress(entry.address));
        if (bad) return cb(new MetadataAddressError(hostname, bad.address) as any, undefined);
      }
      cb(null, address, family);
    });
  };
}

/**
 * Refuses (rejects with MetadataAddressError) a host or URL that is, or resolves to, a metadata address.
 * A name that does not resolve passes: the connection attempt reports that error itself.
 */
export async function checkHost(hostOrUrl: string, allowMetadata: boolean): Promise<void> {
  if (allowMetadata) return;
  let host = hostOrUrl;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(hostOrUrl)) {
    try {
      host = new URL(hostOrUrl).hostname;
    } catch {
      return;
    }
  }
  if (isMetadataAddress(host)) throw new MetadataAddressError(host, host);
  if (isIpLiteral(host)) return;
  const addresses = await dns.promises.lookup(host.replace(/^\[|\]$/g, ""), { all: true }).catch(() => []);
  const bad = addresses.find((entry) => isMetadataAddress(entry.address));
  if (bad) throw new MetadataAddressError(host, bad.address);
}

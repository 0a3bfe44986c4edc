/**
 * A node's keep-alive connections, per origin: one undici `Client` per connection (one request at a time on
 * it), the last one freed reused before a new one opens.
 *
 * Not undici's `Pool`: a Pool counts a connection busy until the event-loop turn after its answer ended, so a
 * request sent as soon as the previous one settles opens a second connection; and a Client whose request was
 * aborted reconnects for it (nodejs/undici#5845), where destroying the Client drops the connection for good.
 */
import type { Socket } from "node:net";
import { Client, type buildConnector } from "undici";

/** The attempt's signal is the only timeout, as it was with node:http: undici's own are off. */
const CLIENT_OPTIONS = { headersTimeout: 0, bodyTimeout: 0 };

export class Connections {
  private readonly idle = new Map<string, Client[]>();
  private readonly open = new Set<Client>();

  private readonly connect: buildConnector.connector;

  constructor(connect: buildConnector.connector) {
    this.connect = keepingFirstError(connect);
  }

  /** A connection to `origin` for one exchange: the last one given back, or a new one. */
  take(origin: string): Client {
    const client = this.idle.get(origin)?.pop();
    if (client) return client;
    const created = new Client(origin, { ...CLIENT_OPTIONS, connect: this.connect });
    this.open.add(created);
    return created;
  }

  /** Gives a connection back after its exchange settled; one the exchange destroyed is forgotten. */
  give(origin: string, client: Client): void {
    if (client.destroyed) {
      this.open.delete(client);
      return;
    }
    let list = this.idle.get(origin);
    if (!list) this.idle.set(origin, (list = []));
    list.push(client);
  }

  /** Closes every connection; requests still on one fail as on a connection the peer closed. */
  destroy(): void {
    for (const client of this.open) void client.destroy().catch(() => undefined);
    this.open.clear();
    this.idle.clear();
  }
}

/**
 * A connector whose sockets hand their first error on: undici reports a socket that errored and then ended
 * (a TLS 1.3 server refusing a missing client certificate sends its alert after the handshake) with its own
 * "other side closed", losing the alert; this sets the first error as that later error's `cause`.
 */
function keepingFirstError(connect: buildConnector.connector): buildConnector.connector {
  return (options, callback) =>
    connect(options, (err, socket) => {
      if (socket) {
        let first: Error | undefined;
        (socket as Socket).prependListener("error", (e: Error & { cause?: unknown }) => {
          if (!first) first = e;
          else if (e !== first && e.cause === undefined) e.cause = first;
        });
      }
      (callback as (err: Error | null, socket: unknown) => void)(err, socket);
    });
}

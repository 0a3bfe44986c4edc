/**
 * A node's keep-alive connections, per origin: one undici `Client` per connection (one request at a time on
 * it), the last one freed reused before a new one opens.
 *
 * Not undici's `Pool`: a Pool counts a connection busy until the event-loop turn after its answer ended, so a
 * request sent as soon as the previous one settles opens a second connection; and a Client whose request was
 * aborted reconnects for it (nodejs/undici#5845). An abandoned exchange drops its Connection instead, with the
 * socket it may still be connecting (undici leaves that one to its own connect timeout, which is off here).
 */
import type { Socket } from "node:net";
import { Client, errors, type buildConnector } from "undici";

/**
 * The attempt's signal is the only timeout, as it was with node:http: undici's own are off. An idle connection
 * closes after undici's keep-alive timeout (4 s, or what the server's Keep-Alive header says, less 2 s).
 */
const CLIENT_OPTIONS = { headersTimeout: 0, bodyTimeout: 0 };

/** What a connector is connecting (a socket, or a tunnel being opened), so that it can be given up. */
export interface Connecting {
  destroy(error?: Error): unknown;
}

/** undici's connector, which also returns what it is connecting (undici's own `buildConnector` returns the socket). */
export type Connector = (options: buildConnector.Options, callback: buildConnector.Callback) => Connecting | undefined | void;

/** One keep-alive connection to one origin. */
export class Connection extends Client {
  connecting: Connecting | undefined;

  /** Gives the connection up for good: the Client is destroyed, and the socket it may still be connecting. */
  drop(error: Error): void {
    this.connecting?.destroy(error);
    this.connecting = undefined;
    void this.destroy(error).catch(() => undefined);
  }
}

export class Connections {
  private readonly idle = new Map<string, Connection[]>();
  private readonly open = new Set<Connection>();

  constructor(private readonly connector: Connector) {}

  /** A connection to `origin` for one exchange: the last one given back, or a new one. */
  take(origin: string): Connection {
    const idle = this.idle.get(origin)?.pop();
    if (idle) return idle;
    const connection: Connection = new Connection(origin, {
      ...CLIENT_OPTIONS,
      connect: (options, callback) => {
        connection.connecting =
          this.connector(options, (err, socket) => {
            connection.connecting = undefined;
            if (socket) keepFirstError(socket);
            (callback as (err: Error | null, socket: unknown) => void)(err, socket);
          }) ?? undefined;
      },
    });
    this.open.add(connection);
    return connection;
  }

  /** Gives a connection back after its exchange settled; one the exchange dropped is forgotten. */
  give(origin: string, connection: Connection): void {
    if (connection.destroyed) {
      this.open.delete(connection);
      return;
    }
    let list = this.idle.get(origin);
    if (!list) this.idle.set(origin, (list = []));
    list.push(connection);
  }

  /** Closes every connection; requests still on one fail as on a connection the peer closed. */
  destroy(): void {
    for (const connection of this.open) connection.drop(new errors.ClientDestroyedError());
    this.open.clear();
    this.idle.clear();
  }
}

/**
 * undici reports a socket that errored and then ended (a TLS 1.3 server refusing a missing client certificate
 * sends its alert after the handshake) with its own "other side closed", losing the alert: this sets the
 * socket's first error as that later error's `cause`.
 */
function keepFirstError(socket: Socket): void {
  let first: Error | undefined;
  socket.prependListener("error", (e: Error & { cause?: unknown }) => {
    if (!first) first = e;
    else if (e !== first && e.cause === undefined) e.cause = first;
  });
}

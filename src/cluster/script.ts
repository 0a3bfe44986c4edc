import type { Redis } from "ioredis";

/** A Lua script run atomically by Redis (EVALSHA, falling back to EVAL after a restart flushed the script cache). */
export type RedisScript = (keys: string[], args: (string | number)[]) => Promise<unknown>;

/** Defines `lua` on `client` once under `name` and returns the way to call it. */
export function redisScript(client: Redis, name: string, lua: string): RedisScript {
  const commands = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  if (typeof commands[name] !== "function") client.defineCommand(name, { lua });
  return (keys, args) => commands[name].call(client, keys.length, ...keys, ...args);
}

import type { SensorOffline } from "./types";

export interface WatchedHeartbeat {
  sensorId: string;
  sensorName?: string;
  sensorZone?: string;
}

interface WatchedSensor {
  sensorName?: string;
  sensorZone?: string;
  lastSeen: number;
}

/** How often to check sensors with this timeout: a quarter of it, so a silence is noticed at most that late. */
export function checkEveryMs(timeoutMs: number): number {
  return Math.max(1, Math.floor(timeoutMs / 4));
}

/**
 * Watches sensor heartbeats. A sensor silent for `timeoutMs` is reported once by {@link check}; it is
 * then forgotten, so its next heartbeat starts a new watch and a later silence is a new outage.
 * Checking every {@link checkEveryMs} notices a silence no later than a quarter of the timeout late.
 */
export class SensorWatchdog {
  private readonly sensors = new Map<string, WatchedSensor>();

  constructor(readonly timeoutMs: number) {}

  /** How often the owner should call {@link check}: a quarter of the timeout. */
  get checkEveryMs(): number {
    return checkEveryMs(this.timeoutMs);
  }

  /** Sensors being watched (reported since their last outage). */
  get watching(): number {
    return this.sensors.size;
  }

  /** False once no sensor is watched: checks can stop until the next heartbeat. */
  keepChecking(): boolean {
    return this.sensors.size > 0;
  }

  heartbeat(beat: WatchedHeartbeat, now: number): void {
    const known = this.sensors.get(beat.sensorId);
    this.sensors.set(beat.sensorId, {
      sensorName: beat.sensorName ?? known?.sensorName,
      sensorZone: beat.sensorZone ?? known?.sensorZone,
      lastSeen: now,
    });
  }

  /** The sensors that have been silent for the timeout at `now`, each reported once per outage. */
  check(now: number): SensorOffline[] {
    const offline: SensorOffline[] = [];
    for (const [sensorId, sensor] of this.sensors) {
      if (now - sensor.lastSeen < this.timeoutMs) continue;
      this.sensors.delete(sensorId);
      offline.push({
        sensorId,
        sensorName: sensor.sensorName ?? sensorId,
        sensorZone: sensor.sensorZone ?? "default",
        lastSeen: new Date(sensor.lastSeen).toISOString(),
      });
    }
    return offline;
  }

  clear(): void {
    this.sensors.clear();
  }
}

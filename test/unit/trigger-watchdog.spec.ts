import { expect } from "chai";
import { SensorWatchdog } from "../../src/events/sensor-watchdog";

const T0 = Date.parse("2026-11-28T03:00:00Z");
const TIMEOUT = 900_000;

describe("trigger sensor watchdog", () => {
  it("reports a silent sensor once per outage, with its last heartbeat time", () => {
    const dog = new SensorWatchdog(TIMEOUT);
    dog.heartbeat({ sensorId: "s-1", sensorName: "Edge sensor", sensorZone: "dmz" }, T0);
    expect(dog.check(T0 + TIMEOUT - 1)).to.deep.equal([]);
    expect(dog.check(T0 + TIMEOUT)).to.deep.equal([{ sensorId: "s-1", sensorName: "Edge sensor", sensorZone: "dmz", lastSeen: "2026-11-28T03:00:00.000Z" }]);
    expect(dog.check(T0 + 3 * TIMEOUT)).to.deep.equal([]);
    expect(dog.watching).to.equal(0);
  });

  it("keeps a reporting sensor online and treats silence after recovery as a new outage", () => {
    const dog = new SensorWatchdog(TIMEOUT);
    dog.heartbeat({ sensorId: "s-1" }, T0);
    dog.heartbeat({ sensorId: "s-1" }, T0 + TIMEOUT / 2);
    expect(dog.check(T0 + TIMEOUT)).to.deep.equal([]);
    expect(dog.check(T0 + TIMEOUT * 1.5)).to.have.length(1);
    dog.heartbeat({ sensorId: "s-1" }, T0 + TIMEOUT * 2);
    const second = dog.check(T0 + TIMEOUT * 3);
    expect(second).to.deep.equal([{ sensorId: "s-1", sensorName: "s-1", sensorZone: "default", lastSeen: new Date(T0 + TIMEOUT * 2).toISOString() }]);
  });

  it("remembers a sensor's name and zone from earlier heartbeats", () => {
    const dog = new SensorWatchdog(TIMEOUT);
    dog.heartbeat({ sensorId: "s-1", sensorName: "Edge", sensorZone: "dmz" }, T0);
    dog.heartbeat({ sensorId: "s-1" }, T0 + 1);
    expect(dog.check(T0 + 1 + TIMEOUT)[0]).to.include({ sensorName: "Edge", sensorZone: "dmz" });
  });

  it("asks to be checked every quarter of the timeout", () => {
    expect(new SensorWatchdog(TIMEOUT).checkEveryMs).to.equal(TIMEOUT / 4);
    expect(new SensorWatchdog(2).checkEveryMs).to.equal(1);
  });
});

/**
 * What one e-mail costs the sending process, not part of `npm run bench`: CPU time, event-loop turns
 * (setImmediate calls) and socket writes per mail, and the SMTP peer's CPU per mail, for the mail as
 * `cse-email` sends it (composeMessage, handed to the pool whole) beside nodemailer's own streaming build of the same
 * mail. Both go through one nodemailer pool of 4 connections, 4 mails in flight, to the bench's SMTP peer (the
 * project's fake on smtp-server, not parsing) in its own process. Run: node --import tsx bench/experiments/smtp-client.ts
 */
import net from "node:net";
import { cseMetaFor } from "../../src/events/meta";
import { composeMessage } from "../../src/targets/email-message";
import { emailOf, smtpConnection, type EmailConfig } from "../../src/targets/email";
import type { DeliveryEvent } from "../../src/targets/types";
import { modernInsight } from "../../test/fakes/insights";
import { cpuMsOf, median, PeersClient, runExperiment } from "../lib";

const N = Number(process.env.N ?? 1000);
const ROUNDS = Number(process.env.ROUNDS ?? 5);
const CONCURRENCY = 4;
const FROM = "Cloud SIEM <siem@example.com>";

const counts = { turns: 0, writes: 0 };
const setImmediateOf = global.setImmediate;
(global as any).setImmediate = (...args: Parameters<typeof setImmediate>) => {
  counts.turns++;
  return setImmediateOf(...args);
};
const socketWrite = net.Socket.prototype.write;
(net.Socket.prototype as any).write = function (this: net.Socket, ...args: any[]) {
  counts.writes++;
  return (socketWrite as any).apply(this, args);
};

type Send = () => Promise<unknown>;

async function main(peers: PeersClient): Promise<void> {
  const { smtp } = await peers.call<{ smtp: { host: string; port: number } }>("startFanout");
  const pool = smtpConnection({ host: smtp.host, port: smtp.port, tls: "none", rejectUnauthorized: true, from: FROM });
  const config = { recipients: ["soc@example.com"], smtp: pool } as EmailConfig;
  const insight = modernInsight();
  const event: DeliveryEvent = { topic: "insight.created", payload: insight, cse: cseMetaFor("insight.created", insight) };
  const variants: Record<string, Send> = {
    "composeMessage, sent whole (shipped)": () => {
      const message = composeMessage({ from: FROM, to: config.recipients, ...emailOf(event, config) });
      return pool.transport().sendMail({ envelope: message.envelope, raw: message.raw, messageId: message.messageId });
    },
    "nodemailer's streaming build": () => pool.transport().sendMail({ from: FROM, to: config.recipients, ...emailOf(event, config) }),
  };
  const rows: Record<string, { cpu: number[]; peer: number[]; turns: number[]; writes: number[] }> = {};
  for (let round = 0; round <= ROUNDS; round++) {
    for (const [name, send] of Object.entries(variants)) {
      const peer0 = cpuMsOf(peers.pid);
      const cpu0 = process.cpuUsage();
      counts.turns = counts.writes = 0;
      let next = 0;
      await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
        while (next++ < N) await send();
      }));
      const cpu = process.cpuUsage(cpu0);
      if (round === 0) continue; // warm-up
      const row = (rows[name] ??= { cpu: [], peer: [], turns: [], writes: [] });
      row.cpu.push((cpu.user + cpu.system) / N);
      row.peer.push(((cpuMsOf(peers.pid) - peer0) * 1000) / N);
      row.turns.push(counts.turns / N);
      row.writes.push(counts.writes / N);
    }
  }
  const received = (await peers.call<Record<string, number>>("fanoutCounts"))["cse-email"];
  for (const [name, row] of Object.entries(rows)) {
    console.log(
      `${name.padEnd(38)} CPU ${median(row.cpu).toFixed(0).padStart(4)} µs/mail, SMTP peer ${median(row.peer).toFixed(0).padStart(4)} µs/mail, ` +
        `${median(row.turns).toFixed(1)} setImmediate and ${median(row.writes).toFixed(1)} socket.write calls per mail`,
    );
  }
  console.log(`(${N} mails per round, medians of ${ROUNDS} rounds; the peer accepted ${received} mails)`);
  pool.close();
}

runExperiment(main);

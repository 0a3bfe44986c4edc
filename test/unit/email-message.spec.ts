import { expect } from "chai";
import { simpleParser } from "mailparser";
import MailComposer, { type MailComposerOptions } from "nodemailer/lib/mail-composer";
import { emailOf, type EmailConfig } from "../../src/targets/email";
import { composeMessage } from "../../src/targets/email-message";
import { cseMetaFor } from "../../src/events/meta";
import type { DeliveryEvent } from "../../src/targets/types";
import { hugeInsight, modernInsight, realInsight } from "../fakes/insights";

const config = { recipients: [] } as unknown as EmailConfig;

/** The mail sendEmail composes for an Insight, with the parts nodemailer would otherwise pick at random fixed. */
function mailFor(insight: ReturnType<typeof modernInsight>, to: string[] = ["soc@example.com"]): MailComposerOptions {
  const event: DeliveryEvent = { topic: "insight.created", payload: insight, cse: cseMetaFor("insight.created", insight) };
  return fixed({ from: "Node-RED <nodered@example.com>", to, ...emailOf(event, config) });
}

function fixed(mail: MailComposerOptions): MailComposerOptions {
  return { ...mail, date: new Date("2026-11-28T02:00:00Z"), messageId: "<fixed-id@example.com>", baseBoundary: "0123456789abcdef" };
}

/** nodemailer's own streaming build of the same mail. */
function nodemailerBuild(mail: MailComposerOptions): Promise<Buffer> {
  return new MailComposer(mail).compile().build();
}

describe("e-mail message composition", () => {
  const cases: [string, MailComposerOptions][] = [
    ["the real INSIGHT-220 (quoted-printable HTML, 7bit text)", mailFor(realInsight())],
    ["a modern Insight to two recipients, one with a display name", mailFor(modernInsight(), ["soc@example.com", "On Call <oncall@example.com>"])],
    ["non-Latin names and a dot at the start of a line", mailFor(modernInsight({ name: "ログイン異常 ".repeat(30), description: "説明。\n.hidden line\n".repeat(20) }))],
    [
      "mostly non-Latin text (base64 parts)",
      fixed({ from: "nodered@example.com", to: ["soc@example.com"], subject: "ログイン異常", text: "ログイン異常。\n".repeat(40), html: "<p>ログイン異常</p>".repeat(40) }),
    ],
  ];
  for (const [name, mail] of cases) {
    it(`is byte for byte nodemailer's own build: ${name}`, async () => {
      const composed = composeMessage(mail);
      const built = await nodemailerBuild(mail);
      expect(composed.raw.toString("latin1")).to.equal(built.toString("latin1"));
      expect(composed.messageId).to.equal("<fixed-id@example.com>");
      expect(composed.envelope).to.deep.equal(new MailComposer(mail).compile().getEnvelope());
    });
  }

  it("uses base64 and quoted-printable where nodemailer does", () => {
    const raw = composeMessage(cases[3][1]).raw.toString("latin1");
    expect(raw.match(/Content-Transfer-Encoding: \w+/g)).to.deep.equal(["Content-Transfer-Encoding: base64", "Content-Transfer-Encoding: base64"]);
    const html = composeMessage(cases[0][1]).raw.toString("latin1");
    expect(html).to.contain("Content-Transfer-Encoding: quoted-printable");
  });

  it("a part over 64 KB reads the same as nodemailer's (soft line breaks may fall elsewhere)", async () => {
    const mail = mailFor(hugeInsight());
    const composed = composeMessage(mail);
    expect(composed.raw.length).to.be.greaterThan(200_000);
    for (const line of composed.raw.toString("latin1").split("\r\n")) expect(line.length).to.be.at.most(998);
    const [ours, theirs] = await Promise.all([simpleParser(composed.raw), simpleParser(await nodemailerBuild(mail))]);
    expect(ours.subject).to.equal(theirs.subject);
    expect(ours.text).to.equal(theirs.text);
    expect(ours.html).to.equal(theirs.html);
    expect(ours.html).to.contain("Description &amp; &lt;markup&gt; that goes on.");
  });

  it("gives every mail its own Message-ID and the envelope of From and To", () => {
    const a = composeMessage({ from: "nodered@example.com", to: ["a@example.com", "B <b@example.com>"], subject: "s", text: "t", html: "<p>t</p>" });
    const b = composeMessage({ from: "nodered@example.com", to: ["a@example.com"], subject: "s", text: "t", html: "<p>t</p>" });
    expect(a.messageId).to.match(/^<[^<>@\s]+@example\.com>$/);
    expect(a.messageId).to.not.equal(b.messageId);
    expect(a.raw.toString()).to.contain(`Message-ID: ${a.messageId}\r\n`);
    expect(a.envelope).to.deep.equal({ from: "nodered@example.com", to: ["a@example.com", "b@example.com"] });
  });
});

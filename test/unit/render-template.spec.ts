import { expect } from "chai";
import fs from "node:fs";
import path from "node:path";
import { cseMetaFor } from "../../src/events/meta";
import type { EventTopic, Insight } from "../../src/events/types";
import { EMAIL_LIMITS } from "../../src/render/email";
import { HIPCHAT_MAX_CHARS } from "../../src/render/hipchat-html";
import { incidentSummary, PAGERDUTY_LIMITS } from "../../src/render/pagerduty-event";
import { SLACK_LIMITS } from "../../src/render/slack-blocks";
import { summaryOf } from "../../src/render/summary";
import { TEAMS_MAX_BYTES } from "../../src/render/teams-card";
import { compileTemplate, plainText, renderTemplate, TemplateError, templateView } from "../../src/render/template";
import { DEFAULT_TEMPLATES } from "../../src/render/template-defaults";
import { TRUNCATION_MARKER, truncateMarkup } from "../../src/render/truncate";
import { emailOf } from "../../src/targets/email";
import { hipChatRequest } from "../../src/targets/hipchat";
import { pagerDutyRequest } from "../../src/targets/pagerduty";
import { slackRequest } from "../../src/targets/slack";
import { teamsRequest } from "../../src/targets/teams";
import type { DeliveryEvent } from "../../src/targets/types";
import { closedModernInsight, hugeInsight, modernInsight, ruleAutoDisabledPayload, sensorOfflinePayload } from "../fakes/insights";

const UI = "https://service.sumologic.com";

function eventOf(topic: EventTopic, payload: object): DeliveryEvent {
  return { topic, payload: payload as Insight, cse: cseMetaFor(topic, payload as Insight, { uiUrl: UI }) };
}
const created = (insight: Insight = modernInsight()) => eventOf("insight.created", insight);

/** Renders `source` for `event` as plain text. */
function plain(source: string, event: DeliveryEvent = created()): string {
  return renderTemplate(compileTemplate(source)!, templateView(event, summaryOf(event)), plainText);
}

function problem(source: string): TemplateError {
  try {
    compileTemplate(source);
  } catch (error) {
    expect(error).to.be.instanceOf(TemplateError);
    return error as TemplateError;
  }
  throw new Error(`${JSON.stringify(source)} parsed`);
}

/** An Insight whose every text tries to be markup or a template. */
function hostileInsight(): Insight {
  return modernInsight({
    name: "<script>alert(1)</script> {{cse.key}} {{{link}}} <!channel> & <@U0123|x> *bold*",
    description: "}}{{#insight}}{{/insight}} <b>&amp;</b>\u0000\u001b[31m",
    severity: "HIGH",
  });
}

const BAD_INSIGHT_TEXT = /<script|<!channel>|<@U0123|<b>&/;

const slack = (event: DeliveryEvent, template: string) =>
  JSON.parse(slackRequest(event, { channel: "C1", apiUrl: "https://slack.example/api", apiKey: "k", template: compileTemplate(template) }).body as string);
const hipchat = (event: DeliveryEvent, template: string) =>
  JSON.parse(hipChatRequest(event, { server: "https://hipchat.example", room: "SOC", apiKey: "k", template: compileTemplate(template) }).body as string);
const teams = (event: DeliveryEvent, template: string, format: "adaptive" | "messagecard" = "adaptive") =>
  teamsRequest(event, { format, url: "https://teams.example/hook", template: compileTemplate(template) }).body as string;
const pagerduty = (event: DeliveryEvent, template: string, apiVersion: "v1" | "v2" = "v2") =>
  JSON.parse(pagerDutyRequest(event, { apiVersion, apiUrl: "https://events.example", serviceKey: "k", template: compileTemplate(template) }).body as string);
const mail = (event: DeliveryEvent, subject: string, template: string) =>
  emailOf(event, { recipients: ["soc@example.com"], smtp: undefined as any, subject: compileTemplate(subject), template: compileTemplate(template) });

describe("message templates: parsing", () => {
  it("an empty or blank template is no template (the default text)", () => {
    for (const source of [undefined, null, "", "  \n\t", 42]) expect(compileTemplate(source)).to.equal(undefined);
  });

  it("a template that does not parse names the line and the problem", () => {
    expect(problem("first\nsecond {{#insight}}\nthird").message).to.equal('line 2: unclosed section "insight"');
    expect(problem("a\nb\nc {{severity").message).to.equal("line 3: unclosed tag");
    expect(problem("{{#a}}\n{{/b}}").message).to.equal('line 2: unclosed section "a"');
    expect(problem("a\n\n{{/b}}").message).to.equal('line 3: unopened section "b"');
    expect(problem("ok\n{{> header}}").message).to.equal("line 2: partials are not supported ({{> header}})");
    expect(problem("x\n{{=<%=}}x").message).to.equal("line 2: invalid tags: <%");
  });
});

describe("message templates: the view (SPEC §8)", () => {
  it("holds the Insight's fields, entity, tactics, link, severity, resolution, payload and msg.cse", () => {
    const event = eventOf("insight.closed", closedModernInsight());
    const text = plain(
      "{{event}}|{{insight.readableId}}|{{entity.type}}={{entity.value}}|{{entity}}|{{tactics}}|{{#tacticList}}{{id}}:{{name}};{{/tacticList}}|{{link}}|{{severity}}|{{resolution}}|{{payload.id}}|{{cse.key}}|{{readableId}}|{{title}}",
      event,
    );
    const insight = event.payload as Insight;
    expect(text.split("|")).to.deep.equal([
      "insight.closed",
      insight.readableId,
      "_ip=10.0.0.5",
      "10.0.0.5",
      "Initial Access, Command and Control",
      "TA0001:Initial Access;TA0011:Command and Control;",
      `${UI}/sec/insight/${insight.id}`,
      "HIGH",
      "Resolved",
      insight.id,
      `${insight.id}:insight.closed`,
      insight.readableId,
      `${insight.readableId}: ${insight.name}`,
    ]);
  });

  it("holds the sensor and the rule of those events, and no insight", () => {
    const sensor = eventOf("sensor.offline", sensorOfflinePayload());
    expect(plain("{{event}}: {{sensor.sensorName}} in {{sensor.sensorZone}}, last seen {{time}}{{#insight}}!{{/insight}}", sensor)).to.equal(
      "sensor.offline: edge-sensor-7 in dmz, last seen 2026-11-28 02:00:00 UTC",
    );
    const rule = eventOf("rule.autoDisabled", ruleAutoDisabledPayload());
    expect(plain("{{#rule}}{{ruleName}}: {{reason}}{{/rule}}{{^insight}} (no Insight){{/insight}}", rule)).to.equal(
      "Noisy login rule: more than 100000 signals in one hour (no Insight)",
    );
  });

  it("prints a missing value as nothing, never undefined, null or [object Object]", () => {
    const text = plain("[{{nothing}}|{{insight.nothing.deeper}}|{{sensor.sensorName}}|{{insight.status}}|{{insight.closedBy}}|{{.}}|{{insight}}]");
    expect(text).to.equal("[||||||]");
    expect(plain("{{#insight}}{{entity}}{{/insight}} {{insight.entity}} {{payload.entity}}")).to.equal("10.0.0.5 10.0.0.5 10.0.0.5");
    expect(plain("{{insight.tags}}")).to.equal((modernInsight().tags as string[]).join(", "));
  });

  it("reaches no function: prototypes, constructors and array methods print nothing and run nothing", () => {
    const text = plain(
      "{{insight.constructor}}{{insight.constructor.constructor}}{{insight.toString}}{{insight.__proto__}}{{insight.signals.map}}" +
        "{{#insight.signals.map}}x{{/insight.signals.map}}{{#insight.constructor.constructor}}return 1{{/insight.constructor.constructor}}{{#cse.hasOwnProperty}}y{{/cse.hasOwnProperty}}",
    );
    expect(text).to.equal("");
  });

  it("never evaluates Insight text as a template", () => {
    const event = created(hostileInsight());
    const text = plain("{{insight.name}}|{{{insight.description}}}", event);
    expect(text).to.contain("{{cse.key}} {{{link}}}").and.contain("}}{{#insight}}{{/insight}}");
    expect(text).not.to.contain(event.cse.key);
  });

  it("copes with cycles, deep nesting and odd values in the payload", () => {
    const insight: any = modernInsight();
    insight.self = insight;
    insight.when = new Date(Date.UTC(2026, 10, 28));
    insight.nan = Number.NaN;
    insight.fn = () => "ran";
    let deep: any = "bottom";
    for (let i = 0; i < 200; i++) deep = { d: deep };
    insight.deep = deep;
    expect(plain("{{insight.self.self.readableId}} {{insight.when}} [{{insight.nan}}{{insight.fn}}] {{insight.deep.d.d.d}}", created(insight))).to.equal(
      "INSIGHT-1234 2026-11-28T00:00:00.000Z [] ",
    );
  });
});

describe("message templates: escaping per target", () => {
  const TEMPLATE = "A {{insight.name}} B {{{insight.name}}} C {{&insight.name}}";

  it("Slack: &, < and > escaped in {{x}}, {{{x}}} and {{&x}}; the template itself is mrkdwn; text alone, no blocks", () => {
    const body = slack(created(hostileInsight()), `*Alert* <{{link}}|open>\n${TEMPLATE}`);
    expect(body).to.not.have.property("blocks");
    expect(body.channel).to.equal("C1");
    expect(body.text).to.match(/^\*Alert\* <https:\/\/service\.sumologic\.com\/sec\/insight\/[^|>]+\|open>\n/);
    expect(body.text).not.to.match(BAD_INSIGHT_TEXT);
    const escaped = "&lt;script&gt;alert(1)&lt;/script&gt; {{cse.key}} {{{link}}} &lt;!channel&gt; &amp; &lt;@U0123|x&gt; *bold*";
    expect(body.text.split("\n")[1]).to.equal(`A ${escaped} B ${escaped} C ${escaped}`);
  });

  it("HipChat: HTML-escaped in every form (line breaks as <br>); the template itself is HTML", () => {
    const body = hipchat(created(hostileInsight()), `<b>{{severity}}</b> ${TEMPLATE}<br>{{insight.description}}`);
    expect(body.message_format).to.equal("html");
    expect(body.message.startsWith("<b>HIGH</b> A &lt;script&gt;alert(1)&lt;/script&gt;")).to.equal(true);
    expect(body.message).not.to.match(BAD_INSIGHT_TEXT);
    expect(body.message).to.contain("&lt;b&gt;&amp;amp;&lt;/b&gt;");
    expect(body.message.match(/&lt;script&gt;/g)).to.have.length(3);
    expect(hipchat(created(modernInsight({ description: "one\ntwo" })), "{{insight.description}}").message).to.equal("one<br>two");
  });

  it("e-mail: subject and text as written (plain), the HTML body the same text escaped", () => {
    const m = mail(created(hostileInsight()), "[{{severity}}] {{{insight.name}}}\nBcc: x@example.com", `${TEMPLATE}\n`);
    expect(m.subject).to.equal("[HIGH] <script>alert(1)</script> {{cse.key}} {{{link}}} <!channel> & <@U0123|x> *bold* Bcc: x@example.com");
    const name = hostileInsight().name;
    expect(m.text).to.equal(`A ${name} B ${name} C ${name}\n`);
    expect(m.html).not.to.match(BAD_INSIGHT_TEXT);
    expect(m.html).to.contain("A &lt;script&gt;alert(1)&lt;/script&gt;").and.contain("white-space:pre-wrap");
  });

  it("PagerDuty and Teams: plain text as written, inside valid JSON", () => {
    const event = created(hostileInsight());
    const name = hostileInsight().name as string;
    expect(pagerduty(event, "{{severity}}: {{{insight.name}}}").payload.summary).to.equal(`HIGH: ${name}`);
    expect(pagerduty(event, "{{severity}}: {{insight.name}}", "v1").description).to.equal(`HIGH: ${name}`);
    const card = JSON.parse(teams(event, "**{{severity}}** {{insight.name}}"));
    const content = card.attachments[0].content;
    expect(content.body).to.deep.equal([{ type: "TextBlock", text: `**HIGH** ${name}`, wrap: true }]);
    expect(content.actions[0]).to.include({ type: "Action.OpenUrl", url: event.cse.url });
    const legacy = JSON.parse(teams(event, "{{severity}} {{insight.name}}", "messagecard"));
    expect(legacy).to.include({ "@type": "MessageCard", text: `HIGH ${name}` });
  });

  it("PagerDuty: an Insight closing still resolves its incident, with the template as the v1 description", () => {
    const closed = eventOf("insight.closed", closedModernInsight());
    expect(pagerduty(closed, "closed: {{readableId}}")).to.deep.equal({ routing_key: "k", event_action: "resolve", dedup_key: "INSIGHT-1234" });
    expect(pagerduty(closed, "closed: {{readableId}}", "v1").description).to.equal("closed: INSIGHT-1234");
  });

  it("a template that renders blank sends the default text instead of an empty message", () => {
    const rule = eventOf("rule.autoDisabled", ruleAutoDisabledPayload());
    const onlyInsights = "{{#insight}}{{readableId}}{{/insight}}";
    expect(slack(rule, onlyInsights).text).to.contain("Noisy login rule");
    expect(slack(rule, onlyInsights).blocks).to.be.an("array");
    expect(pagerduty(rule, onlyInsights).payload.summary).to.equal(incidentSummary(summaryOf(rule)));
    expect(hipchat(rule, onlyInsights).message).to.contain("Noisy login rule");
    expect(JSON.parse(teams(rule, onlyInsights)).attachments[0].content.body.length).to.be.above(1);
    const m = mail(rule, onlyInsights, onlyInsights);
    expect(m.subject).to.equal("[Cloud SIEM] Rule automatically disabled: Noisy login rule");
    expect(m.text).to.contain("Reason:");
  });
});

describe("message templates: limits", () => {
  const EVERYTHING = "{{insight.name}} {{insight.description}} {{entity}} {{#insight.signals}}{{name}} {{/insight.signals}}";

  it("a huge Insight stays within every target's limit, values cut with the marker", () => {
    const event = created(hugeInsight());
    const text = slack(event, `*{{severity}}* ${EVERYTHING}`).text as string;
    expect(text.length).to.be.at.most(SLACK_LIMITS.text);
    expect(text).to.contain(TRUNCATION_MARKER).and.match(/^\*HIGH\* Initial Access &amp; &lt;Command/);
    expect(text).not.to.match(/&(a|am|l|g)?…/);
    const html = hipchat(event, `<b>x</b>${EVERYTHING}`).message as string;
    expect(html.length).to.be.at.most(HIPCHAT_MAX_CHARS);
    expect(html).not.to.match(/<[^>]*$|&(a|am|l|g)?…/);
    expect(pagerduty(event, EVERYTHING).payload.summary.length).to.be.at.most(PAGERDUTY_LIMITS.summary);
    for (const format of ["adaptive", "messagecard"] as const) expect(Buffer.byteLength(teams(event, EVERYTHING, format))).to.be.at.most(TEAMS_MAX_BYTES);
    const m = mail(event, EVERYTHING, EVERYTHING);
    expect(m.subject.length).to.be.at.most(EMAIL_LIMITS.subject);
    expect(m.text.length).to.be.at.most(EMAIL_LIMITS.body);
  });

  it("a template whose own text is too long is cut, never inside a tag or an entity", () => {
    const event = created();
    const long = `${"<b>bold</b> &amp; ".repeat(1_000)}{{insight.name}}`;
    const html = hipchat(event, long).message as string;
    expect(html.length).to.be.at.most(HIPCHAT_MAX_CHARS);
    expect(html.endsWith(TRUNCATION_MARKER)).to.equal(true);
    expect(html.slice(0, -TRUNCATION_MARKER.length)).to.match(/(<\/b> |&amp; )$/);
    expect(Buffer.byteLength(teams(event, "x".repeat(40_000)))).to.be.at.most(TEAMS_MAX_BYTES);
    expect(truncateMarkup("ab <a href='x'>link</a>", 18)).to.equal(`ab ${TRUNCATION_MARKER}`);
    expect(truncateMarkup("abc &amp; defghijklmnop", 19)).to.equal(`abc ${TRUNCATION_MARKER}`);
  });
});

describe("message templates: the default templates", () => {
  const events = [
    eventOf("insight.created", modernInsight()),
    eventOf("insight.closed", closedModernInsight()),
    eventOf("sensor.offline", sensorOfflinePayload()),
    eventOf("rule.autoDisabled", ruleAutoDisabledPayload()),
  ];

  it("parse, and say what the default text says for every event type", () => {
    for (const event of events) {
      const s = summaryOf(event);
      const expected = [s.title, ...(s.entity ? [s.entity.value] : []), ...s.tactics];
      if (s.sensor) expected.push(s.sensor.zone, s.sensor.lastSeen);
      if (s.rule) expected.push(s.rule.reason);
      for (const [name, source] of Object.entries(DEFAULT_TEMPLATES)) {
        const text = plain(source, event);
        for (const part of name === "emailSubject" ? [s.title] : expected) expect(text, `${name} for ${event.topic}`).to.contain(part);
        // PagerDuty resolves the incident of a closed Insight instead of describing it.
        if (s.resolution && !["pagerduty", "emailSubject"].includes(name)) expect(text, `${name} for ${event.topic}`).to.contain(s.resolution);
        if (s.link && !["pagerduty", "emailSubject", "teams"].includes(name)) expect(text, `${name} for ${event.topic}`).to.contain(s.link);
      }
    }
  });

  it("the PagerDuty and e-mail subject defaults are today's texts exactly", () => {
    for (const event of events) {
      const s = summaryOf(event);
      expect(pagerduty(event, DEFAULT_TEMPLATES.pagerduty).payload?.summary ?? incidentSummary(s)).to.equal(incidentSummary(s));
      expect(mail(event, DEFAULT_TEMPLATES.emailSubject, "").subject).to.equal(mail(event, "", "").subject);
    }
  });
});

describe("message templates: the README's worked templates", () => {
  const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
  const [slackTemplate, emailTemplate, pagerDutyTemplate] = [...readme.matchAll(/```mustache\n([\s\S]*?)```/g)].map((m) => m[1]);
  const sensor = eventOf("sensor.offline", sensorOfflinePayload());
  const rule = eventOf("rule.autoDisabled", ruleAutoDisabledPayload());

  it("Slack: the template of the example flow", () => {
    const flow = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "examples", "Slack - a message in your own words (template).json"), "utf8"));
    expect(flow.find((n: any) => n.type === "cse-slack").template).to.equal(slackTemplate);
  });

  it("e-mail: says what happened for every event type", () => {
    const insight = mail(created(), "[{{severity}}{{^severity}}CSE{{/severity}}] {{title}}", emailTemplate);
    expect(insight.subject).to.equal("[HIGH] INSIGHT-1234: Initial Access with Command and Control");
    expect(insight.text).to.contain("Severity: HIGH    Status: New\nEntity:   10.0.0.5\nTactics:  Initial Access (TA0001)  Command and Control (TA0011)");
    expect(insight.text).to.contain("- Successful login from a new country [Initial Access]\n- Beacon to a known C2 domain [Command and Control]\n");
    expect(insight.text).to.contain(`Open in Cloud SIEM: ${UI}/sec/insight/`);
    expect(mail(sensor, "[{{severity}}{{^severity}}CSE{{/severity}}] {{title}}", emailTemplate).text).to.contain(
      "Sensor edge-sensor-7 (sensor-7) in zone dmz has not reported since 2026-11-28T02:00:00Z.",
    );
    expect(mail(rule, "", emailTemplate).text).to.contain("Rule Noisy login rule (MATCH-S00475) was disabled automatically: more than 100000 signals in one hour");
  });

  it("PagerDuty: the summaries the README promises", () => {
    expect(pagerduty(created(), pagerDutyTemplate.trim()).payload.summary).to.equal("[CSE][HIGH] INSIGHT-1234 10.0.0.5 Initial Access, Command and Control");
    expect(pagerduty(sensor, pagerDutyTemplate.trim()).payload.summary).to.equal("[CSE][OPS] sensor-offline edge-sensor-7 zone=dmz");
    expect(pagerduty(rule, pagerDutyTemplate.trim()).payload.summary).to.equal("[CSE][OPS] rule-disabled MATCH-S00475");
  });
});

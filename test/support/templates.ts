/** What the node specs send through a templated node: the example template and an Insight that fights it. */
import { expect } from "chai";
import { modernInsight } from "../fakes/insights";
import type { Insight } from "../../src/events/types";

/** The template of issue #13's "done when", usable on any summary node. */
export const EXAMPLE_TEMPLATE = "{{severity}} {{entity.value}}: {{insight.name}} ({{tactics}}) {{link}}";

/** One template for all three kinds of event, with a section each. */
export const EVERY_EVENT_TEMPLATE =
  "{{event}}|{{#insight}}{{readableId}}{{/insight}}{{#sensor}}{{sensorName}} in {{sensorZone}}{{/sensor}}{{#rule}}{{ruleName}}: {{reason}}{{/rule}}";

/** A template that does not parse: the section opened on line 2 is never closed. */
export const BROKEN_TEMPLATE = "{{severity}}\n{{#insight}}{{name}}\nend";
export const BROKEN_PROBLEM = 'line 2: unclosed section "insight"';

/**
 * For a node deployed with BROKEN_TEMPLATE in `field`: its status is red and names the field and line, and `msg`
 * sent to it reaches Catch refused, naming the node (`label`), the field and the problem.
 */
export async function expectBrokenTemplateRefused(
  node: any,
  caught: { until(count: number): Promise<any[]> },
  msg: object,
  field: string,
  label: string,
): Promise<void> {
  expect(node.status.args[0][0]).to.include({ fill: "red", shape: "ring" });
  expect(node.status.args[0][0].text).to.match(new RegExp(`^${field}: line 2: unclosed`));
  node.receive(msg);
  const [refused] = await caught.until(1);
  expect(refused.error.message).to.contain(`${label}: invalid configuration: ${field}: ${BROKEN_PROBLEM}`);
}

/** An Insight whose name is markup and a template of its own. */
export function hostileInsight(): Insight {
  return modernInsight({ name: "Beacon <b>to</b> C2 & {{cse.key}} {{{link}}}" });
}
export const HOSTILE_NAME = "Beacon <b>to</b> C2 & {{cse.key}} {{{link}}}";

/** The example template's text for `hostileInsight()`, with the Insight's name as the target shows it. */
export function exampleText(name: string, link: string): string {
  return `HIGH 10.0.0.5: ${name} (Initial Access, Command and Control) ${link}`;
}

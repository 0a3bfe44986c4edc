/**
 * The templates the editor's "Insert the default template" button starts from: today's default text of each
 * target, written as a Mustache template over the view of SPEC §8, for every event type. (An empty template
 * sends the built-in default itself, which also has Slack blocks, card facts and the like.)
 */

export const DEFAULT_TEMPLATES = {
  /** cse-slack `template`: mrkdwn. */
  slack: `*{{#insight}}{{headline}}: {{/insight}}{{title}}*
{{#severity}}
*Severity:* {{severity}}
{{/severity}}
{{#entity}}
*Entity:* {{entity}}
{{/entity}}
{{#tactics}}
*MITRE tactics:* {{tactics}}
{{/tactics}}
{{#resolution}}
*Resolution:* {{resolution}}
{{/resolution}}
{{#sensor}}
*Zone:* {{sensorZone}}
*Last seen:* {{time}}
{{/sensor}}
{{#rule}}
*Reason:* {{reason}}
{{/rule}}
{{#link}}
<{{link}}|Open in Cloud SIEM>
{{/link}}
`,
  /** cse-teams `template`: the card's text (Teams' Markdown subset); the card keeps its Open button. */
  teams: `**{{#insight}}{{headline}}: {{/insight}}{{title}}**

{{#severity}}
**Severity:** {{severity}}

{{/severity}}
{{#entity}}
**Entity:** {{entity}}

{{/entity}}
{{#tactics}}
**MITRE tactics:** {{tactics}}

{{/tactics}}
{{#resolution}}
**Resolution:** {{resolution}}

{{/resolution}}
{{#sensor}}
**Zone:** {{sensorZone}}

**Last seen:** {{time}}

{{/sensor}}
{{#rule}}
**Reason:** {{reason}}

{{/rule}}
`,
  /** cse-pagerduty `template`: the incident's one-line summary. */
  pagerduty:
    "{{title}}{{#entity}} on {{entity}}{{/entity}}{{#tactics}} ({{tactics}}){{/tactics}}" +
    "{{#sensor}} in zone {{sensorZone}}, last seen {{time}}{{/sensor}}{{#rule}} — {{reason}}{{/rule}}",
  /** cse-hipchat `template`: HTML. */
  hipchat: `<b>{{#insight}}{{headline}}: {{/insight}}{{title}}</b>
{{#severity}}
<br><b>Severity:</b> {{severity}}
{{/severity}}
{{#entity}}
<br><b>Entity:</b> {{entity}}
{{/entity}}
{{#tactics}}
<br><b>MITRE tactics:</b> {{tactics}}
{{/tactics}}
{{#resolution}}
<br><b>Resolution:</b> {{resolution}}
{{/resolution}}
{{#sensor}}
<br><b>Zone:</b> {{sensorZone}}<br><b>Last seen:</b> {{time}}
{{/sensor}}
{{#rule}}
<br><b>Reason:</b> {{reason}}
{{/rule}}
{{#link}}
<br><a href="{{link}}">Open in Cloud SIEM</a>
{{/link}}
`,
  /** cse-email `subject`. */
  emailSubject: "[Cloud SIEM] {{#insight}}{{headline}} {{/insight}}{{title}}",
  /** cse-email `template`: the text body (the HTML body is the same text, escaped). */
  email: `{{#insight}}{{headline}}: {{/insight}}{{title}}

{{#severity}}
Severity: {{severity}}
{{/severity}}
{{#entity}}
Entity: {{entity}}
{{/entity}}
{{#tactics}}
MITRE tactics: {{tactics}}
{{/tactics}}
{{#resolution}}
Resolution: {{resolution}}
{{/resolution}}
{{#sensor}}
Zone: {{sensorZone}}
Last seen: {{time}}
{{/sensor}}
{{#rule}}
Reason: {{reason}}
{{/rule}}
{{#link}}

Open in Cloud SIEM: {{link}}
{{/link}}
{{#insight.description}}

Description:
{{insight.description}}
{{/insight.description}}

-- Sumo Logic Cloud SIEM, {{time}}
`,
} as const;

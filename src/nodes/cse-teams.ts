import { ConfigError } from "../targets/types";
import { checkSecureUrl } from "../delivery/http";
import { TEAMS_FORMATS, teamsTarget, type TeamsConfig, type TeamsFormat } from "../targets/teams";
import { defineActionNode } from "./action-node";
import { templateProperty } from "./template-property";
import { DEFAULT_TEMPLATES } from "../render/template-defaults";

export = defineActionNode<TeamsConfig>({
  type: "cse-teams",
  target: teamsTarget,
  credentials: { url: { type: "password" } },
  // The editor's "Insert the default template" button reads this.
  settings: { cseTeamsDefaultTemplate: { value: DEFAULT_TEMPLATES.teams, exportable: true } },
  config(props, credentials) {
    const format = (props.format || "adaptive") as TeamsFormat;
    if (!TEAMS_FORMATS.includes(format)) throw new ConfigError("format", `must be one of ${TEAMS_FORMATS.join(", ")}`);
    const url = checkSecureUrl(credentials.url, "url");
    return { format, url: url.href, template: templateProperty(props, "template") };
  },
});

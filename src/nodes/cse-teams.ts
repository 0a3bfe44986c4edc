import { ConfigError } from "../targets/types";
import { checkSecureUrl } from "../delivery/http";
import { TEAMS_FORMATS, teamsTarget, type TeamsConfig, type TeamsFormat } from "../targets/teams";
import { defineActionNode } from "./action-node";

export = defineActionNode<TeamsConfig>({
  type: "cse-teams",
  target: teamsTarget,
  credentials: { url: { type: "password" } },
  config(props, credentials) {
    const format = (props.format || "adaptive") as TeamsFormat;
    if (!TEAMS_FORMATS.includes(format)) throw new ConfigError("format", `must be one of ${TEAMS_FORMATS.join(", ")}`);
    const url = checkSecureUrl(credentials.url, "url");
    return { format, url: url.href };
  },
});

import { ConfigError } from "../targets/types";
import { pagerDutyTarget, type PagerDutyConfig, type PagerDutyVersion } from "../targets/pagerduty";
import { checkSecureUrl } from "../delivery/http";
import { defineActionNode } from "./action-node";
import { templateProperty } from "./template-property";
import { DEFAULT_TEMPLATES } from "../render/template-defaults";

const VERSIONS: readonly PagerDutyVersion[] = ["v2", "v1"];

export = defineActionNode<PagerDutyConfig>({
  type: "cse-pagerduty",
  target: pagerDutyTarget,
  credentials: { serviceKey: { type: "password" } },
  // The editor's "Insert the default template" button reads this.
  settings: { csePagerdutyDefaultTemplate: { value: DEFAULT_TEMPLATES.pagerduty, exportable: true } },
  config(props, credentials) {
    const apiVersion = (props.apiVersion || "v2") as PagerDutyVersion;
    if (!VERSIONS.includes(apiVersion)) throw new ConfigError("apiVersion", `must be one of ${VERSIONS.join(", ")}`);
    const serviceKey = credentials.serviceKey?.trim();
    if (!serviceKey) throw new ConfigError("serviceKey", "is required (the integration key of a PagerDuty service)");
    const subdomain = typeof props.subdomain === "string" ? props.subdomain.trim().toLowerCase() : "";
    if (subdomain && !/^[a-z0-9][a-z0-9-]*(\.eu)?$/.test(subdomain)) {
      throw new ConfigError("subdomain", "must be the account's subdomain, like acme (acme.eu for an EU account)");
    }
    const apiUrl = checkSecureUrl(props.apiUrl || "https://events.pagerduty.com", "apiUrl").href.replace(/\/+$/, "");
    return { apiVersion, subdomain: subdomain || undefined, apiUrl, serviceKey, template: templateProperty(props, "template") };
  },
});

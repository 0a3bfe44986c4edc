import { compileTemplate, TemplateError, type MessageTemplate } from "../render/template";
import { ConfigError } from "../targets/types";

/**
 * A node's template property (SPEC §8), parsed at deploy: undefined when empty (the default text), else the
 * template; one that does not parse is a ConfigError naming the field and the line.
 */
export function templateProperty(props: Record<string, any>, field: string): MessageTemplate | undefined {
  try {
    return compileTemplate(props[field]);
  } catch (error) {
    if (error instanceof TemplateError) throw new ConfigError(field, error.message);
    throw error;
  }
}

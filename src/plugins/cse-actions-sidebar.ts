/**
 * The editor's "Cloud SIEM" sidebar tab (cse-actions-sidebar.html beside this file). Its data comes from the
 * operations admin API and comms topics that the action nodes register (src/ops); the runtime side of the plugin
 * only declares it.
 */
import type { NodeAPI } from "node-red";

export = function (RED: NodeAPI): void {
  (RED as any).plugins?.registerPlugin?.("cse-actions-sidebar", { type: "cse-actions-sidebar" });
};

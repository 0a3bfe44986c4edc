/* Editor helpers shared by every node of node-red-contrib-cse-actions (served at resources/<module>/). */
(function () {
  "use strict";
  if (window.CseActions) return;

  /** The values the dialog holds now: every property and credential of the type's definition. */
  function dialogValues(node, type) {
    var def = RED.nodes.getType(type);
    var properties = {};
    var credentials = {};
    Object.keys(def.defaults || {}).forEach(function (key) {
      var el = $("#node-input-" + key);
      if (!el.length) {
        properties[key] = node[key];
        return;
      }
      properties[key] = el.attr("type") === "checkbox" ? el.is(":checked") : el.val();
    });
    Object.keys(def.credentials || {}).forEach(function (key) {
      var el = $("#node-input-" + key);
      if (el.length) credentials[key] = el.val();
    });
    return { id: node.id, properties: properties, credentials: credentials };
  }

  /**
   * Wires the dialog's Test button (#node-cse-test): sends a sample Insight with the values in the
   * dialog through the node's real delivery path and shows the target's answer. A password field that
   * still shows the stored placeholder makes the server reuse the saved credential.
   */
  function testButton(node, type) {
    $("#node-cse-test").on("click", function () {
      var button = $(this).prop("disabled", true);
      $.ajax({
        url: "cse-actions/test/" + type,
        type: "POST",
        contentType: "application/json",
        data: JSON.stringify(dialogValues(node, type)),
      })
        .done(function (answer) {
          var text = (answer.ok ? "Test sent. " : "Test failed. ") + RED.utils.sanitize(String(answer.message || ""));
          RED.notify(text, { type: answer.ok ? "success" : "error", timeout: 10000 });
        })
        .fail(function (xhr) {
          var reason = (xhr.responseJSON && xhr.responseJSON.message) || String(xhr.responseText || xhr.statusText || "").slice(0, 200);
          RED.notify("Test failed: HTTP " + xhr.status + " " + RED.utils.sanitize(reason), "error");
        })
        .always(function () {
          button.prop("disabled", false);
        });
    });
  }

  window.CseActions = { dialogValues: dialogValues, testButton: testButton };
})();

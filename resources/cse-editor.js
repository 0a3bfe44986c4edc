/* Editor helpers shared by every node of node-red-contrib-cse-actions (served at resources/<module>/). */
/* global window, RED, $ */
(function () {
  "use strict";
  if (window.CseActions) return;

  var ENV_VAR = /^\$\{[A-Za-z_][A-Za-z0-9_]*\}$/;
  var LOOPBACK_HTTP = /^http:\/\/(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(:\d+)?(\/|$)/i;

  function text(v) {
    return String(v === undefined || v === null ? "" : v).trim();
  }

  /** `${NAME}`: Node-RED substitutes the environment variable at deploy, so the editor cannot judge it. */
  function isEnvVar(v) {
    return ENV_VAR.test(text(v));
  }

  /**
   * Validators for `defaults` (Node-RED 3+ style: (v, opt) → true or the message). Each factory takes the
   * field's label as the dialog shows it, so the message names what the user sees.
   */
  var validators = {
    /** A whole number above 0, like the runtime's timeout and attempts. Empty is left to `required`. */
    positiveInteger: function (label) {
      // eslint-disable-next-line @typescript-eslint/no-unused-vars -- (v, opt): Node-RED shows a returned message only for two-argument validators
      return function (v, opt) {
        var value = text(v);
        if (value === "" || isEnvVar(value)) return true;
        return (/^\d+$/.test(value) && Number(value) > 0) || label + " must be a positive whole number";
      };
    },
    /** A whole number, 0 or more. */
    wholeNumber: function (label, hint) {
      // eslint-disable-next-line @typescript-eslint/no-unused-vars -- (v, opt): Node-RED shows a returned message only for two-argument validators
      return function (v, opt) {
        var value = text(v);
        if (value === "" || isEnvVar(value)) return true;
        return /^\d+$/.test(value) || label + " must be a whole number" + (hint ? " " + hint : "");
      };
    },
    /** An https:// URL; plain http:// only to a loopback address (for testing). */
    secureUrl: function (label, example) {
      // eslint-disable-next-line @typescript-eslint/no-unused-vars -- (v, opt): Node-RED shows a returned message only for two-argument validators
      return function (v, opt) {
        var value = text(v);
        if (!value) return label + " is required" + (example ? " (e.g. " + example + ")" : "");
        if (isEnvVar(value) || /^https:\/\/[^\s/?#]+[^\s]*$/i.test(value) || LOOPBACK_HTTP.test(value)) return true;
        return label + " must be an https:// URL (http:// only to loopback, for testing)";
      };
    },
  };

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

  /** A read-only view of a preview's body with its size line. */
  function showPreview(type, answer) {
    var box = $("<div>");
    $("<p>").text(answer.message || "").appendTo(box);
    $("<pre>")
      .attr("id", "cse-preview-body")
      .css({ "max-height": "60vh", overflow: "auto", "white-space": "pre-wrap", "word-break": "break-all", "font-size": "12px", "user-select": "text" })
      .text(answer.body)
      .appendTo(box);
    box.dialog({
      title: "Preview: " + type + " (the sample Insight)",
      modal: true,
      width: Math.min(900, $(window).width() - 60),
      classes: { "ui-dialog": "cse-preview-dialog" },
      buttons: [{ text: "Close", click: function () { $(this).dialog("close"); } }],
      close: function () { box.dialog("destroy").remove(); },
    });
  }

  /**
   * Wires the dialog's Preview button (#node-cse-preview): shows the exact body the node would send for the
   * sample Insight with the values in the dialog, and its size against the target's limit. Sends nothing.
   */
  function previewButton(node, type) {
    $("#node-cse-preview").on("click", function () {
      var button = $(this).prop("disabled", true);
      $.ajax({
        url: "cse-actions/preview/" + type,
        type: "POST",
        contentType: "application/json",
        data: JSON.stringify(dialogValues(node, type)),
      })
        .done(function (answer) {
          if (answer.ok) showPreview(type, answer);
          else RED.notify("No preview. " + RED.utils.sanitize(String(answer.message || "")), "warning");
        })
        .fail(function (xhr) {
          var reason = (xhr.responseJSON && xhr.responseJSON.message) || String(xhr.responseText || xhr.statusText || "").slice(0, 200);
          RED.notify("Preview failed: HTTP " + xhr.status + " " + RED.utils.sanitize(reason), "error");
        })
        .always(function () {
          button.prop("disabled", false);
        });
    });
  }

  /** What every action node's dialog does on opening: spinners on the Advanced fields, Test and Preview buttons. */
  function actionDialog(node, type) {
    $("#node-input-timeout").spinner({ min: 1000, step: 1000 });
    $("#node-input-maxAttempts").spinner({ min: 1, max: 20 });
    testButton(node, type);
    previewButton(node, type);
  }

  window.CseActions = {
    actionDialog: actionDialog,
    dialogValues: dialogValues,
    testButton: testButton,
    previewButton: previewButton,
    isEnvVar: isEnvVar,
    validators: validators,
  };
})();

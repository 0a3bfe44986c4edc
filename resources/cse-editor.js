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

  /** The sample events Preview can render (the Test button always sends the sample Insight). */
  var SAMPLES = [
    { value: "insight", label: "Insight (insight.onDemand)" },
    { value: "sensor", label: "Network Sensor offline (sensor.offline)" },
    { value: "rule", label: "Rule automatically disabled (rule.autoDisabled)" },
  ];

  /** The open Preview (one at a time): it follows the dialog's edits until it or the node's dialog closes. */
  var openPreview = null;

  /**
   * Shows an answer of the preview route: the body and its size line, or what stops the node from sending. The
   * dialog opens with the first answer, so it never shows an empty body.
   */
  function showAnswer(preview, answer) {
    preview.message.text(answer.ok ? answer.message || "" : "Nothing would be sent:");
    preview.body.toggleClass("cse-preview-error", !answer.ok).css("color", answer.ok ? "" : "var(--red-ui-text-color-error, #d00)");
    preview.body.text(answer.ok ? answer.body : String(answer.message || "no preview for this node"));
    if (!preview.shown) {
      preview.shown = true;
      preview.open();
    }
  }

  /** Asks the runtime for the body the node would send for the chosen sample, with the values in the dialog now. */
  function refreshPreview(preview) {
    var values = dialogValues(preview.node, preview.type);
    values.sample = preview.select.val();
    var asked = (preview.asked = (preview.asked || 0) + 1);
    // Only the latest answer counts, and only while this Preview is still wanted.
    var current = function () {
      return asked === preview.asked && openPreview === preview;
    };
    $.ajax({ url: "cse-actions/preview/" + preview.type, type: "POST", contentType: "application/json", data: JSON.stringify(values) })
      .done(function (answer) {
        if (current()) showAnswer(preview, answer);
      })
      .fail(function (xhr) {
        var reason = (xhr.responseJSON && xhr.responseJSON.message) || String(xhr.responseText || xhr.statusText || "").slice(0, 200);
        if (current()) showAnswer(preview, { ok: false, message: "HTTP " + xhr.status + " " + reason });
      });
  }

  /** Refreshes an open Preview shortly after the last edit. */
  function previewFollowsEdits() {
    if (!openPreview) return;
    clearTimeout(openPreview.timer);
    openPreview.timer = setTimeout(function () {
      if (openPreview) refreshPreview(openPreview);
    }, 300);
  }

  function closePreview() {
    if (openPreview && openPreview.shown) openPreview.box.dialog("close");
    else openPreview = null;
  }
  // A Preview belongs to the node's dialog: it closes with it, for every action node.
  RED.events.on("editor:close", closePreview);

  /**
   * Opens (or refreshes) the Preview: a dialog beside the node's dialog that shows the exact body the node would
   * send for a sample event (the Insight, a sensor or a rule event) with the values in the dialog, its size against
   * the target's limit, or the error (a template that does not parse) instead. Sends nothing.
   */
  function showPreview(node, type) {
    if (openPreview && openPreview.node === node) return refreshPreview(openPreview);
    closePreview();
    var box = $("<div>");
    var row = $("<p>").appendTo(box);
    $("<label>").attr("for", "cse-preview-sample").css({ width: "auto", "margin-right": "8px" }).text("Sample event").appendTo(row);
    var select = $("<select>").attr("id", "cse-preview-sample").css("width", "auto").appendTo(row);
    SAMPLES.forEach(function (sample) {
      $("<option>").val(sample.value).text(sample.label).appendTo(select);
    });
    var preview = { node: node, type: type, box: box, select: select };
    preview.message = $("<p>").attr("id", "cse-preview-message").appendTo(box);
    preview.body = $("<pre>")
      .attr("id", "cse-preview-body")
      .css({ "max-height": "60vh", overflow: "auto", "white-space": "pre-wrap", "word-break": "break-all", "font-size": "12px", "user-select": "text" })
      .appendTo(box);
    select.on("change", function () {
      refreshPreview(preview);
    });
    openPreview = preview;
    preview.open = function () {
      box.dialog({
        title: "Preview: " + type,
        modal: false,
        width: Math.min(760, $(window).width() - 60),
        position: { my: "left top", at: "left+20 top+80", of: window },
        classes: { "ui-dialog": "cse-preview-dialog" },
        buttons: [{ text: "Close", click: function () { $(this).dialog("close"); } }],
        close: function () {
          if (openPreview === preview) openPreview = null;
          clearTimeout(preview.timer);
          box.dialog("destroy").remove();
        },
      });
    };
    refreshPreview(preview);
  }

  /** Wires the dialog's Preview button (#node-cse-preview). */
  function previewButton(node, type) {
    $("#node-cse-preview").on("click", function () {
      showPreview(node, type);
    });
  }

  /**
   * A message template field (`template`, or e-mail's body): Node-RED's code editor with Mustache (Handlebars)
   * highlighting in #node-input-<field>-editor, mirrored into the hidden #node-input-<field> so the dialog saves it
   * and Test and Preview send it. #node-cse-<field>-default inserts the default template; an open Preview follows
   * every edit.
   */
  function templateEditor(node, field, defaultTemplate) {
    var input = $("#node-input-" + field);
    var editor = RED.editor.createEditor({
      id: "node-input-" + field + "-editor",
      mode: "ace/mode/handlebars",
      value: input.val() || "",
      // Monaco's inline completions offer nothing for Mustache, and one still pending when the dialog closes fails
      // with "Model is disposed!".
      inlineSuggest: { enabled: false },
    });
    editor.getSession().on("change", function () {
      if (editor.cseClosed) return; // destroying the editor disposes its text first
      input.val(editor.getValue());
      previewFollowsEdits();
    });
    $("#node-cse-" + field + "-default").on("click", function () {
      editor.setValue(defaultTemplate || "", -1);
      editor.focus();
    });
    node.cseTemplateEditors = (node.cseTemplateEditors || []).concat([editor]);
    return editor;
  }

  /** A one-line template field (e-mail's subject): its default button, and an open Preview follows its edits. */
  function templateLine(field, defaultTemplate) {
    var input = $("#node-input-" + field).on("input change", previewFollowsEdits);
    $("#node-cse-" + field + "-default").on("click", function () {
      input.val(defaultTemplate || "").trigger("change");
    });
  }

  /**
   * What every action node's dialog does on opening: spinners on the Advanced fields, Test and Preview buttons, and
   * the code editors of `templates` ({field: default template}) for the summary nodes.
   */
  function actionDialog(node, type, templates) {
    $("#node-input-timeout").spinner({ min: 1000, step: 1000 });
    $("#node-input-maxAttempts").spinner({ min: 1, max: 20 });
    testButton(node, type);
    previewButton(node, type);
    Object.keys(templates || {}).forEach(function (field) {
      templateEditor(node, field, templates[field]);
    });
  }

  /** What the dialog of a node with template editors does when it closes (saved or cancelled). */
  function closeActionDialog(node) {
    (node.cseTemplateEditors || []).forEach(function (editor) {
      editor.cseClosed = true;
      editor.destroy();
    });
    delete node.cseTemplateEditors;
    closePreview();
  }

  window.CseActions = {
    actionDialog: actionDialog,
    closeActionDialog: closeActionDialog,
    templateLine: templateLine,
    dialogValues: dialogValues,
    testButton: testButton,
    previewButton: previewButton,
    isEnvVar: isEnvVar,
    validators: validators,
  };
})();

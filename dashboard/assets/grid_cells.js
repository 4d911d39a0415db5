/* Cell renderers of the Program Manager grid, registered for dash-ag-grid by name
 * (columnDefs: {"cellRenderer": "StatusBadge"}). React elements only: text is inserted
 * as text, never as HTML, and nothing is evaluated (the CSP has no 'unsafe-eval').
 * Colours come from the --dc-* custom properties in dashboard.css (a theme can re-map).
 */
(function () {
  "use strict";
  var components = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});

  function h() {
    return window.React.createElement.apply(null, arguments);
  }

  function slug(value) {
    return String(value || "none").toLowerCase().replace(/[^a-z0-9]+/g, "-");
  }

  // Run status (and a run's status): a coloured badge.
  components.StatusBadge = function (props) {
    if (!props.value) { return null; }
    return h("span", { className: "badge status-" + slug(props.value), title: props.value },
      props.value);
  };

  // Fatal flag: a red badge when fatal, a quiet dash otherwise.
  components.FatalBadge = function (props) {
    if (!props.value) { return null; }
    if (props.value === "NO_FATAL") {
      return h("span", { className: "quiet", title: "NO_FATAL" }, "no");
    }
    return h("span", { className: "badge status-fatal", title: props.value }, props.value);
  };

  // Disabled: a badge when yes.
  components.DisabledBadge = function (props) {
    if (props.value === "yes") {
      return h("span", { className: "badge status-disabled", title: "Disabled" }, "yes");
    }
    return h("span", { className: "quiet" }, props.value || "");
  };

  // Health: "ok" quietly, else the first verdict held as a badge, "+n" for the others
  // (all of them in the tooltip): narrow enough for the grid at 1366 px.
  components.HealthBadge = function (props) {
    if (!props.value) { return null; }
    if (props.value === "ok") {
      return h("span", { className: "quiet", title: "No health verdict" }, "ok");
    }
    var verdicts = String(props.value).split(", ");
    var more = verdicts.length > 1 ? " +" + (verdicts.length - 1) : "";
    return h("span", { className: "badge health-" + slug(verdicts[0]), title: props.value },
      verdicts[0].replace("_", " ") + more);
  };

  // An agent's state (Agents & queues): green online, red offline.
  components.AgentState = function (props) {
    if (!props.value) { return null; }
    var cls = props.value === "online" ? "status-completed" : "status-failed";
    return h("span", { className: "badge " + cls, title: props.value }, props.value);
  };

  // Progress: a bar filled to the API's percent, with "986/3000" on it.
  components.ProgressBar = function (props) {
    var data = props.data || {};
    if (!props.value) { return null; }
    var percent = typeof data.progress_percent === "number" ? data.progress_percent : null;
    var title = props.value + (percent === null ? "" : " (" + Math.round(percent) + "%)");
    return h("div", { className: "progress", title: title },
      h("div", { className: "progress-fill", style: { width: (percent || 0) + "%" } }),
      h("span", { className: "progress-text" }, props.value));
  };

  // A fraction (0-1, as the API gives rates) as a percentage: 0.667 -> "67%"; the
  // column still sorts on the number.
  components.Percent = function (props) {
    if (typeof props.value !== "number") { return null; }
    return h("span", { title: props.value.toFixed(3) }, Math.round(props.value * 100) + "%");
  };

  // A duration in seconds (a FunctionLog call's core runtime): "1.250 s"; a dash when the
  // row has none (an application log line). The column sorts on the number.
  components.Seconds = function (props) {
    if (typeof props.value !== "number") { return h("span", { className: "quiet" }, "—"); }
    return h("span", null, props.value.toFixed(3) + " s");
  };

  // Run strip: the app's last runs, oldest left, as coloured squares; a click opens the
  // run's logs on the app's page.
  components.RunStrip = function (props) {
    var runs = (props.data && props.data.runs) || [];
    return h("div", { className: "run-strip" }, runs.map(function (run) {
      return h("a", {
        key: run.id,
        className: "run-square status-" + slug(run.status),
        href: run.href,
        title: run.title,
        "data-status": run.status,
        "aria-label": run.title
      });
    }));
  };
})();

// The console's behaviour: load the server-rendered panels, refresh them when the stack
// changes (server-sent events), send the forms to the control API. Nothing here builds
// HTML from data: panels come escaped from the server, messages go in as text.
(() => {
  "use strict";
  const API = "/_understudy/v1";
  const UI = "/_understudy/ui";
  const panels = [...document.querySelectorAll("[data-panel]")];
  const tokenForm = document.getElementById("token-form");
  const filters = document.getElementById("request-filters");
  const live = document.getElementById("live");

  function token() {
    const m = document.cookie.match(/(?:^|; )understudy_admin_token=([^;]*)/);
    return m ? decodeURIComponent(m[1]) : "";
  }

  function headers(json) {
    const h = {};
    const t = token();
    if (t) h["X-Admin-Token"] = t;
    if (json) h["Content-Type"] = "application/json";
    return h;
  }

  function filterQuery() {
    const p = new URLSearchParams();
    for (const el of filters.elements) {
      if (el.name && el.value.trim()) p.set(el.name, el.value.trim());
    }
    return p.toString();
  }

  async function load(panel) {
    const name = panel.dataset.panel;
    const q = name === "requests" ? filterQuery() : "";
    const res = await fetch(UI + "/panels/" + name + (q ? "?" + q : ""), {
      headers: headers(false),
      credentials: "same-origin",
    });
    if (res.status === 401) tokenForm.hidden = false;
    const open = new Set([...panel.querySelectorAll("details[open]")].map((d) => d.dataset.key));
    // Server-rendered: every value in it was escaped there.
    panel.innerHTML = await res.text();
    for (const d of panel.querySelectorAll("details")) {
      if (open.has(d.dataset.key)) d.open = true;
    }
  }

  let loading = null;
  let again = false;
  function refresh() {
    if (loading) {
      again = true;
      return loading;
    }
    loading = Promise.all(
      panels.map((p) =>
        load(p).catch((e) => {
          p.textContent = "Cannot load this panel: " + e;
        })
      )
    ).finally(() => {
      loading = null;
      if (again) {
        again = false;
        refresh();
      }
    });
    return loading;
  }

  let source = null;
  function listen() {
    if (source) source.close();
    source = new EventSource(UI + "/events", { withCredentials: true });
    source.addEventListener("changed", () => {
      live.textContent = "live";
      refresh();
    });
    source.onopen = () => {
      live.textContent = "live";
    };
    source.onerror = () => {
      live.textContent = "reconnecting…";
    };
  }

  async function call(method, path, body, errorBox) {
    errorBox.textContent = "";
    const res = await fetch(API + path, {
      method,
      headers: headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
    if (!res.ok) {
      let message = res.status + " " + res.statusText;
      try {
        const answer = await res.json();
        if (answer && answer.error && answer.error.message) message = answer.error.message;
      } catch (_) {
        // Not JSON: the status says enough.
      }
      errorBox.textContent = message;
    }
    refresh();
    return res.ok;
  }

  tokenForm.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = document.getElementById("token").value;
    document.cookie =
      "understudy_admin_token=" + encodeURIComponent(value) + "; path=/_understudy; SameSite=Strict";
    tokenForm.hidden = true;
    listen();
    refresh();
  });

  let typing = null;
  for (const kind of ["input", "change"]) {
    filters.addEventListener(kind, () => {
      clearTimeout(typing);
      typing = setTimeout(refresh, 250);
    });
  }
  filters.addEventListener("submit", (ev) => ev.preventDefault());

  const faultError = document.getElementById("fault-error");
  document.getElementById("fault-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    let rule;
    try {
      rule = JSON.parse(document.getElementById("fault-json").value);
    } catch (e) {
      faultError.textContent = "Not JSON: " + e.message;
      return;
    }
    const service = document.getElementById("fault-service").value;
    let path = "/faults";
    if (service === "stack") {
      path += "?scope=stack";
    } else if (service && rule && typeof rule === "object" && !Array.isArray(rule)) {
      rule.match = Object.assign({}, rule.match, { service });
    }
    call("POST", path, rule, faultError);
  });
  document.getElementById("faults-clear").addEventListener("click", () => {
    call("DELETE", "/faults?scope=stack", undefined, faultError);
  });
  document.getElementById("faults").addEventListener("click", (ev) => {
    const button = ev.target.closest("button.delete-rule");
    if (button) call("DELETE", "/faults/" + encodeURIComponent(button.dataset.id), undefined, faultError);
  });

  const clockError = document.getElementById("clock-error");
  document.getElementById("clock-form").addEventListener("click", (ev) => {
    const button = ev.target.closest("button[data-clock]");
    if (!button) return;
    const seconds = Number(document.getElementById("clock-seconds").value);
    const what = button.dataset.clock;
    const bodies = {
      advance: { seconds },
      tick: { seconds },
      freeze: {},
      unfreeze: undefined,
      set: { now: document.getElementById("clock-at").value.trim() },
      reset: undefined,
    };
    call("POST", "/clock/" + what, bodies[what], clockError);
  });

  listen();
  refresh();
  // Time moves the clock and what it judges (a server leaving BUILD, a balancer leaving
  // PENDING_UPDATE) without any request: those two panels are read again now and then.
  setInterval(() => {
    for (const id of ["clock", "state"]) load(document.getElementById(id)).catch(() => {});
  }, 2000);
})();

// A stand-in for the TeamsJS library (`microsoftTeams` global) and for
// `fetch`, used by the browser tests in web.rs. It has the call shapes of
// @microsoft/teams-js 2.x: promise-returning `app.initialize`,
// `app.getContext` and `pages.getConfig`, and save and remove events with
// `notifySuccess` / `notifyFailure`.

let teams = null;
let fetchReplies = {};
let fetchRequests = [];

// Installs a fresh stand-in. `options` is a JSON string:
// { initializeError, context, config, setConfigError, webhookUrlAfterSetConfig }.
export function installTeams(optionsJson) {
  const options = JSON.parse(optionsJson);
  teams = {
    options,
    config: { ...(options.config || {}) },
    validity: [],
    setConfigCalls: [],
    saveHandler: null,
    removeHandler: null,
    themeHandler: null,
  };

  globalThis.microsoftTeams = {
    app: {
      initialize() {
        if (options.initializeError) {
          return Promise.reject(new Error(options.initializeError));
        }
        return Promise.resolve();
      },
      getContext() {
        return Promise.resolve(options.context || {});
      },
      getFrameContext() {
        const page = (options.context && options.context.page) || {};
        return page.frameContext || "settings";
      },
      registerOnThemeChangeHandler(handler) {
        teams.themeHandler = handler;
      },
    },
    pages: {
      getConfig() {
        return Promise.resolve({ ...teams.config });
      },
      config: {
        setValidityState(valid) {
          teams.validity.push(valid);
        },
        setConfig(instanceConfig) {
          teams.setConfigCalls.push(instanceConfig);
          if (options.setConfigError) {
            return Promise.reject(new Error(options.setConfigError));
          }
          Object.assign(teams.config, instanceConfig);
          if (options.webhookUrlAfterSetConfig) {
            teams.config.webhookUrl = options.webhookUrlAfterSetConfig;
          }
          return Promise.resolve();
        },
        registerOnSaveHandler(handler) {
          teams.saveHandler = handler;
        },
        registerOnRemoveHandler(handler) {
          teams.removeHandler = handler;
        },
      },
    },
  };
}

// Removes the `microsoftTeams` global, as when the script failed to load.
export function uninstallTeams() {
  delete globalThis.microsoftTeams;
}

// Replaces `fetch`. `repliesJson` maps a method to
// { status, body } or { networkError: true }.
export function replyToFetch(repliesJson) {
  fetchReplies = JSON.parse(repliesJson);
  fetchRequests = [];
  globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    const body = await request.text();
    fetchRequests.push({
      method: request.method,
      path: new URL(request.url).pathname,
      contentType: request.headers.get("content-type"),
      body,
    });

    const reply = fetchReplies[request.method];
    if (!reply || reply.networkError) {
      throw new TypeError("Failed to fetch");
    }
    const hasBody = reply.body !== undefined && reply.status !== 204;
    return new Response(hasBody ? reply.body : null, {
      status: reply.status,
      headers: { "content-type": reply.contentType || "application/json" },
    });
  };
}

export function fetchRequestsJson() {
  return JSON.stringify(fetchRequests);
}

export function validityStatesJson() {
  return JSON.stringify(teams.validity);
}

export function setConfigCallsJson() {
  return JSON.stringify(teams.setConfigCalls);
}

export function handlersRegistered() {
  return teams !== null && teams.saveHandler !== null && teams.removeHandler !== null;
}

// Plays Teams switching its theme to `name`.
export function changeTheme(name) {
  teams.themeHandler(name);
}

// Plays the user selecting Save; resolves with the page's notification as
// JSON: {"outcome": "success"} or {"outcome": "failure", "reason": "…"}.
export function clickSave(webhookUrl) {
  return new Promise((resolve) => {
    teams.saveHandler(notifyingEvent(resolve, webhookUrl ? { webhookUrl } : {}));
  });
}

// Plays the user removing the connector; resolves like clickSave.
export function clickRemove() {
  return new Promise((resolve) => {
    teams.removeHandler(notifyingEvent(resolve, undefined));
  });
}

function notifyingEvent(resolve, result) {
  let notified = false;
  const once = () => {
    if (notified) {
      throw new Error("The event may only notify success or failure once.");
    }
    notified = true;
  };
  return {
    result,
    notifySuccess() {
      once();
      resolve(JSON.stringify({ outcome: "success" }));
    },
    notifyFailure(reason) {
      once();
      resolve(JSON.stringify({ outcome: "failure", reason }));
    },
  };
}

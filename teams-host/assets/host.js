"use strict";

// Host side of the TeamsJS 2.x window.postMessage protocol, for one connector
// configuration page shown in an iframe of the configuration dialog.
//
// A request from the page is {id, uuidAsString, func, args}. A reply is
// {id, uuidAsString, args} with `id` and `uuidAsString` echoed. An event that
// the host starts is {func, args} and carries no id, because the library
// treats any message with a numeric id as a reply.

/** Time the page gets to respond to settings.save or settings.remove, as in Teams. */
const PAGE_RESPONSE_TIMEOUT_MS = 30000;

/** How often the channel view fetches new webhook posts. */
const REFRESH_INTERVAL_MS = 3000;

/** Runtime configuration sent in the initialize reply. */
const RUNTIME_CONFIG = JSON.stringify({
  apiVersion: 4,
  supports: { pages: { config: {} }, teamsCore: {} },
});

/** Client SDK version sent in the initialize reply. */
const CLIENT_SUPPORTED_SDK_VERSION = "2.0.1";

const TIMEOUT_REASON = "the configuration page did not answer within 30 seconds.";

const elements = {
  userName: document.getElementById("user-name"),
  teamName: document.getElementById("team-name"),
  channelName: document.getElementById("channel-name"),
  notice: document.getElementById("channel-notice"),
  addConnector: document.getElementById("add-connector"),
  noConnectors: document.getElementById("no-connectors"),
  connectors: document.getElementById("connectors"),
  dialog: document.getElementById("config-dialog"),
  dialogTitle: document.getElementById("dialog-title"),
  dialogDescription: document.getElementById("dialog-description"),
  dialogError: document.getElementById("dialog-error"),
  dialogProgress: document.getElementById("dialog-progress"),
  save: document.getElementById("dialog-save"),
  cancel: document.getElementById("dialog-cancel"),
  remove: document.getElementById("dialog-remove"),
};

/** Last response of GET /host/api/channel. */
let channel = null;

/** Whether the notice shows a failed refresh, which a later success clears. */
let noticeShowsRefreshError = false;

/**
 * State of the open configuration dialog, or null when it is closed.
 *
 * @type {null | {
 *   mode: "configure" | "remove",
 *   instance: object,
 *   isNew: boolean,
 *   opener: Element | null,
 *   initialized: boolean,
 *   valid: boolean,
 *   handlers: {save: boolean, remove: boolean},
 *   pendingSettings: object | null,
 *   waiting: null | {kind: string, resolve: Function, timer: number},
 *   busy: boolean,
 * }}
 */
let session = null;

// ---------------------------------------------------------------------------
// Host API

/** Error from the host API, with the HTTP status (0 when unreachable). */
class HostApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Sends a request to the host API and returns the parsed JSON body, or null. */
async function requestJson(method, path, body) {
  const init = { method, headers: { accept: "application/json" } };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(body);
  }

  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new HostApiError(
      0,
      "The local Teams host is not reachable. Check that it is still running.",
    );
  }

  if (!response.ok) {
    let message = `The local Teams host returned HTTP ${response.status}.`;
    try {
      const error = await response.json();
      if (error && typeof error.message === "string") {
        message = error.message;
      }
    } catch {
      // The body was not JSON, so the status line is all there is to show.
    }
    throw new HostApiError(response.status, message);
  }

  return response.status === 204 ? null : response.json();
}

function connectorPath(instanceId) {
  return `/host/api/connectors/${encodeURIComponent(instanceId)}`;
}

// ---------------------------------------------------------------------------
// Channel view

/** Fetches the channel and redraws what changed. */
async function refreshChannel() {
  channel = await requestJson("GET", "/host/api/channel");
  renderChannel();
}

function renderChannel() {
  const context = channel.context;
  elements.userName.textContent = context.userPrincipalName;
  elements.teamName.textContent = context.teamName;
  elements.channelName.textContent = context.channelName;
  document.title = `${context.channelName} (${context.teamName}) | Local Teams host`;

  const configured = channel.connectors.filter((c) => c.status === "configured");
  elements.noConnectors.hidden = configured.length > 0;
  renderConnectorList(configured);
}

/**
 * Updates ul#connectors in place: items whose data did not change are kept, so
 * a refresh neither moves the keyboard focus nor replaces elements under the
 * pointer.
 */
function renderConnectorList(connectors) {
  const list = elements.connectors;
  const focus = describeFocus(list);
  const current = new Map([...list.children].map((item) => [item.dataset.instanceId, item]));

  const items = connectors.map((connector) => {
    const signature = connectorSignature(connector);
    const existing = current.get(connector.instanceId);
    if (existing && existing.dataset.signature === signature) {
      return existing;
    }
    const item = buildConnectorItem(connector);
    item.dataset.signature = signature;
    return item;
  });

  const unchanged =
    items.length === list.children.length &&
    items.every((item, index) => item === list.children[index]);
  if (!unchanged) {
    list.replaceChildren(...items);
  }

  restoreFocus(list, focus);
}

function connectorSignature(connector) {
  const newest = connector.posts.length > 0 ? connector.posts[0].receivedAt : "";
  return JSON.stringify([connector.settings, connector.posts.length, newest]);
}

function buildConnectorItem(connector) {
  const settings = connector.settings || {};
  const name = displayName(connector);

  const item = element("li", { className: "connector" });
  item.dataset.instanceId = connector.instanceId;
  if (typeof settings.entityId === "string") {
    item.dataset.entityId = settings.entityId;
  }

  const head = element("div", { className: "connector-head" });
  head.append(element("h3", { className: "connector-name", textContent: name }));

  const actions = element("div", { className: "connector-actions" });
  const configure = element("button", {
    type: "button",
    className: "configure",
    textContent: "Configure",
  });
  configure.setAttribute("aria-label", `Configure ${name}`);
  const remove = element("button", { type: "button", className: "remove", textContent: "Remove" });
  remove.setAttribute("aria-label", `Remove ${name}`);
  actions.append(configure, remove);
  head.append(actions);
  item.append(head);

  item.append(buildPostsSection(connector));
  return item;
}

function buildPostsSection(connector) {
  const section = element("section", { className: "posts" });
  const count = connector.posts.length;
  section.append(
    element("h4", { textContent: count === 1 ? "1 webhook post" : `${count} webhook posts` }),
  );

  if (count === 0) {
    section.append(element("p", { className: "no-posts", textContent: "No posts received yet." }));
    return section;
  }

  const list = element("ol", { className: "post-list" });
  for (const post of connector.posts) {
    const item = element("li", { className: "post" });
    const time = element("time", { textContent: new Date(post.receivedAt).toLocaleString() });
    time.dateTime = post.receivedAt;
    item.append(
      time,
      element("pre", { className: "post-body", textContent: JSON.stringify(post.body, null, 2) }),
    );
    list.append(item);
  }
  section.append(list);
  return section;
}

function displayName(connector) {
  const configName = connector.settings && connector.settings.configName;
  return typeof configName === "string" && configName.trim() !== ""
    ? configName
    : "Unnamed connector";
}

function describeFocus(list) {
  const focused = document.activeElement;
  if (!focused || !list.contains(focused) || focused.tagName !== "BUTTON") {
    return null;
  }
  const item = focused.closest("li.connector");
  return item ? { instanceId: item.dataset.instanceId, className: focused.className } : null;
}

function restoreFocus(list, focus) {
  if (!focus || list.contains(document.activeElement)) {
    return;
  }
  const button = list.querySelector(
    `li.connector[data-instance-id="${CSS.escape(focus.instanceId)}"] button.${CSS.escape(focus.className)}`,
  );
  if (button) {
    button.focus();
  }
}

function setNotice(text) {
  elements.notice.textContent = text;
  noticeShowsRefreshError = false;
}

function findConnector(instanceId) {
  return channel.connectors.find((c) => c.instanceId === instanceId);
}

// ---------------------------------------------------------------------------
// Channel actions

async function addConnector() {
  setNotice("");
  elements.addConnector.disabled = true;
  try {
    const instance = await requestJson("POST", "/host/api/connectors");
    openDialog("configure", instance, true, elements.addConnector);
  } catch (error) {
    setNotice(`Unable to add a connector: ${error.message}`);
  } finally {
    elements.addConnector.disabled = false;
  }
}

function onConnectorListClick(event) {
  const button = event.target.closest("button");
  const item = button && button.closest("li.connector");
  if (!item) {
    return;
  }
  const connector = findConnector(item.dataset.instanceId);
  if (!connector) {
    setNotice("This connector no longer exists. The list has been refreshed.");
    refreshChannel().catch(showRefreshError);
    return;
  }

  setNotice("");
  if (button.classList.contains("configure")) {
    openDialog("configure", connector, false, button);
  } else if (button.classList.contains("remove")) {
    openDialog("remove", connector, false, button);
  }
}

// ---------------------------------------------------------------------------
// Configuration dialog

/** Opens the dialog; `opener` gets the focus back when the dialog closes. */
function openDialog(mode, instance, isNew, opener) {
  session = {
    mode,
    instance: structuredClone(instance),
    isNew,
    opener,
    initialized: false,
    valid: false,
    handlers: { save: false, remove: false },
    pendingSettings: null,
    waiting: null,
    busy: false,
  };

  const name = displayName(instance);
  const channelName = channel.context.channelName;
  if (mode === "remove") {
    elements.dialogTitle.textContent = `Remove ${name}`;
    elements.dialogDescription.textContent = `Remove asks the configuration page to clean up, then removes the connector from ${channelName}.`;
  } else {
    elements.dialogTitle.textContent = isNew ? `Add a connector to ${channelName}` : `Configure ${name}`;
    elements.dialogDescription.textContent =
      "Save becomes available once the configuration page reports that its settings are valid.";
  }
  elements.save.hidden = mode !== "configure";
  elements.remove.hidden = mode !== "remove";
  elements.dialogError.textContent = "";
  elements.dialogProgress.textContent = "";

  // A fresh iframe per dialog means a late message from a page of an earlier
  // dialog cannot reach this one: its window is no longer the frame's window.
  // Like the new Teams client, the dialog always loads the configuration URL,
  // never the contentUrl the page saved.
  const frame = newFrame();
  frame.src = channel.configPath;

  updateDialogButtons();
  elements.dialog.showModal();
}

function closeDialog() {
  const closing = session;
  session = null;
  if (closing && closing.waiting) {
    const waiting = closing.waiting;
    closing.waiting = null;
    clearTimeout(waiting.timer);
    waiting.resolve({ ok: false, cancelled: true });
  }

  elements.dialog.close();
  newFrame();

  const opener = closing && closing.opener;
  if (opener && opener.isConnected) {
    opener.focus();
  } else {
    elements.addConnector.focus();
  }
}

/** Replaces #config-frame with a new, empty iframe and returns it. */
function newFrame() {
  const old = document.getElementById("config-frame");
  const frame = element("iframe", { id: "config-frame", title: "Connector configuration page" });
  old.replaceWith(frame);
  return frame;
}

function frameWindow() {
  const frame = document.getElementById("config-frame");
  return frame ? frame.contentWindow : null;
}

function updateDialogButtons() {
  const busy = !session || session.waiting !== null || session.busy;
  elements.save.disabled = busy || session.mode !== "configure" || !session.valid;
  elements.remove.disabled = busy || session.mode !== "remove" || !session.handlers.remove;
  elements.dialog.setAttribute("aria-busy", String(Boolean(session) && busy));
}

function setDialogError(text) {
  elements.dialogError.textContent = text;
}

/**
 * Sends an event to the page and waits for its success or failure message.
 * Resolves to {ok: true}, {ok: false, reason, timedOut} or, when the dialog
 * closes first, {ok: false, cancelled: true}.
 */
function askPage(current, kind, func, args, progressText) {
  return new Promise((resolve) => {
    const timer = setTimeout(
      () => settle(current, kind, { ok: false, reason: TIMEOUT_REASON, timedOut: true }),
      PAGE_RESPONSE_TIMEOUT_MS,
    );
    current.waiting = { kind, resolve, timer };
    elements.dialogProgress.textContent = progressText;
    updateDialogButtons();
    sendEvent(func, args);
  });
}

/** Ends the wait started by askPage, if one of that kind is running. */
function settle(current, kind, outcome) {
  const waiting = current.waiting;
  if (!waiting || waiting.kind !== kind) {
    console.info(`Local Teams host: ignored a ${kind} result that no request was waiting for.`);
    return;
  }
  clearTimeout(waiting.timer);
  current.waiting = null;
  if (current === session) {
    elements.dialogProgress.textContent = "";
    updateDialogButtons();
  }
  waiting.resolve(outcome);
}

async function save() {
  const current = session;
  if (!current || current.mode !== "configure" || current.waiting || current.busy) {
    return;
  }
  setDialogError("");

  // Without a registered handler the library itself sends
  // settings.save.success at once, which would hide a page that saved nothing.
  if (!current.handlers.save) {
    setDialogError("Unable to save: the configuration page has not registered a save handler.");
    return;
  }

  const outcome = await askPage(
    current,
    "save",
    "settings.save",
    [{ webhookUrl: current.instance.webhookUrl }],
    "Waiting for the configuration page to save…",
  );
  if (outcome.cancelled || current !== session) {
    return;
  }
  if (!outcome.ok) {
    setDialogError(`Unable to save: ${outcome.reason}`);
    return;
  }
  if (!current.pendingSettings) {
    setDialogError(
      "Unable to save: the configuration page reported success without calling setConfig.",
    );
    return;
  }

  current.busy = true;
  updateDialogButtons();
  const instanceId = current.instance.instanceId;
  try {
    await requestJson("PUT", `${connectorPath(instanceId)}/settings`, current.pendingSettings);
  } catch (error) {
    current.busy = false;
    if (current === session) {
      setDialogError(`Unable to save: ${error.message}`);
      updateDialogButtons();
    }
    return;
  }

  current.opener = null;
  closeDialog();
  await refreshChannel().catch(showRefreshError);
  focusConnectorButton(instanceId, "configure");
}

async function removeConnector() {
  const current = session;
  if (!current || current.mode !== "remove" || current.waiting || current.busy) {
    return;
  }
  setDialogError("");

  const outcome = await askPage(
    current,
    "remove",
    "settings.remove",
    [],
    "Waiting for the configuration page to remove the connector…",
  );
  if (outcome.cancelled || current !== session) {
    return;
  }

  // Like Teams, the connector is removed even when the page reports a failure
  // or does not respond, because the user requested the removal.
  current.busy = true;
  updateDialogButtons();
  try {
    await requestJson("DELETE", connectorPath(current.instance.instanceId));
  } catch (error) {
    if (error.status !== 404) {
      current.busy = false;
      if (current === session) {
        setDialogError(`Unable to remove: ${error.message}`);
        updateDialogButtons();
      }
      return;
    }
  }

  // The connector's buttons are about to leave the list, so the focus goes to
  // Add connector instead.
  current.opener = null;
  closeDialog();
  if (!outcome.ok) {
    const name = displayName(current.instance);
    setNotice(
      outcome.timedOut
        ? `${name} was removed, but its configuration page did not answer within 30 seconds.`
        : `${name} was removed, but its configuration page reported a failure: ${outcome.reason}`,
    );
  }
  await refreshChannel().catch(showRefreshError);
}

async function cancel() {
  const current = session;
  if (!current) {
    return;
  }
  closeDialog();

  // A connector that was added but never saved does not stay in the channel.
  if (current.isNew && !current.instance.settings) {
    try {
      await requestJson("DELETE", connectorPath(current.instance.instanceId));
    } catch (error) {
      if (error.status !== 404) {
        setNotice(`Unable to discard the unsaved connector: ${error.message}`);
      }
    }
  }
  await refreshChannel().catch(showRefreshError);
}

function focusConnectorButton(instanceId, className) {
  const button = elements.connectors.querySelector(
    `li.connector[data-instance-id="${CSS.escape(instanceId)}"] button.${className}`,
  );
  (button || elements.addConnector).focus();
}

// ---------------------------------------------------------------------------
// TeamsJS messages

function onMessage(event) {
  const current = session;
  if (!current || event.source === null || event.source !== frameWindow()) {
    return;
  }
  if (event.origin !== location.origin) {
    console.warn(`Local Teams host: ignored a message from origin ${event.origin}.`);
    return;
  }

  const message = event.data;
  if (!message || typeof message !== "object" || typeof message.func !== "string") {
    return;
  }
  // TeamsJS queues every other request until initialize has a reply and drops
  // host messages that arrive earlier, so the host acts only after initialize.
  if (!current.initialized && message.func !== "initialize") {
    console.info(`Local Teams host: ignored ${message.func} received before initialize.`);
    return;
  }

  const handler = requestHandlers[message.func];
  if (!handler) {
    console.info(`Local Teams host: ignored unsupported call ${message.func}.`, message.args);
    return;
  }
  handler(current, message, Array.isArray(message.args) ? message.args : []);
}

/** Handlers of the page's requests, keyed by `func`. */
const requestHandlers = {
  initialize(current, message) {
    // A page that reloads inside the dialog starts over and registers again.
    current.initialized = true;
    current.valid = false;
    current.handlers = { save: false, remove: false };
    updateDialogButtons();
    reply(message, ["settings", "web", RUNTIME_CONFIG, CLIENT_SUPPORTED_SDK_VERSION]);
  },

  getContext(current, message) {
    reply(message, [flatContext(current)]);
  },

  "settings.getSettings"(current, message) {
    reply(message, [connectorSettings(current)]);
  },

  "settings.setSettings"(current, message, args) {
    const settings = args[0];
    if (!settings || typeof settings !== "object" || Array.isArray(settings)) {
      reply(message, [false, "setConfig needs an object with entityId, configName and contentUrl."]);
      return;
    }
    current.pendingSettings = structuredClone(settings);
    reply(message, [true]);
  },

  "settings.setValidityState"(current, message, args) {
    current.valid = args[0] === true;
    updateDialogButtons();
  },

  registerHandler(current, message, args) {
    const name = args[0];
    if (name === "save" || name === "remove") {
      current.handlers[name] = true;
      updateDialogButtons();
    }
  },

  "settings.save.success"(current) {
    settle(current, "save", { ok: true });
  },

  "settings.save.failure"(current, message, args) {
    settle(current, "save", { ok: false, reason: describeReason(args[0]) });
  },

  "settings.remove.success"(current) {
    settle(current, "remove", { ok: true });
  },

  "settings.remove.failure"(current, message, args) {
    settle(current, "remove", { ok: false, reason: describeReason(args[0]) });
  },
};

/** Builds the flat context that TeamsJS maps into app.Context. */
function flatContext(current) {
  const context = {
    ...channel.context,
    frameContext: "settings",
    hostClientType: "web",
    hostName: "Teams",
  };
  const saved = current.instance.settings;
  if (saved && typeof saved.entityId === "string") {
    context.entityId = saved.entityId;
  }
  return context;
}

/**
 * Builds the getConfig reply for a connector: the settings given to setConfig
 * in this dialog, else the saved ones, with the instance's webhook URL.
 */
function connectorSettings(current) {
  const source = current.pendingSettings || current.instance.settings || {};
  const settings = {};
  for (const key of ["entityId", "configName", "contentUrl"]) {
    if (source[key] !== undefined) {
      settings[key] = source[key];
    }
  }
  settings.webhookUrl = current.instance.webhookUrl;
  settings.appType = "teams";
  settings.userObjectId = channel.context.userObjectId;
  return settings;
}

function describeReason(reason) {
  if (typeof reason === "string" && reason.trim() !== "") {
    return reason;
  }
  if (reason === undefined || reason === null || reason === "") {
    return "the configuration page reported a failure without a reason.";
  }
  return JSON.stringify(reason);
}

function reply(request, args) {
  postToPage({ id: request.id, uuidAsString: request.uuidAsString, args });
}

function sendEvent(func, args) {
  postToPage({ func, args });
}

function postToPage(data) {
  const target = frameWindow();
  if (target) {
    target.postMessage(data, location.origin);
  }
}

// ---------------------------------------------------------------------------
// Start

function element(tag, properties) {
  return Object.assign(document.createElement(tag), properties);
}

function showRefreshError(error) {
  console.error("Local Teams host: refreshing the channel failed.", error);
  if (!elements.notice.textContent || noticeShowsRefreshError) {
    elements.notice.textContent = `Unable to load the channel: ${error.message}`;
    noticeShowsRefreshError = true;
  }
}

async function refreshInBackground() {
  if (document.hidden || !channel) {
    return;
  }
  try {
    await refreshChannel();
    if (noticeShowsRefreshError) {
      setNotice("");
    }
  } catch (error) {
    showRefreshError(error);
  }
}

async function start() {
  window.addEventListener("message", onMessage);
  elements.addConnector.addEventListener("click", addConnector);
  elements.connectors.addEventListener("click", onConnectorListClick);
  elements.save.addEventListener("click", save);
  elements.remove.addEventListener("click", removeConnector);
  elements.cancel.addEventListener("click", cancel);
  // Escape closes a modal dialog without a click on Cancel, so it must take
  // the same path, including discarding an unsaved connector.
  elements.dialog.addEventListener("cancel", (event) => {
    event.preventDefault();
    cancel();
  });

  try {
    await refreshChannel();
    elements.addConnector.disabled = false;
  } catch (error) {
    showRefreshError(error);
    // The first load failed, so keep trying until the host responds.
    const retry = setInterval(async () => {
      try {
        await refreshChannel();
        clearInterval(retry);
        setNotice("");
        elements.addConnector.disabled = false;
      } catch (retryError) {
        showRefreshError(retryError);
      }
    }, REFRESH_INTERVAL_MS);
  }

  setInterval(refreshInBackground, REFRESH_INTERVAL_MS);
}

start();

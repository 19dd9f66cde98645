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

/** How often the channel view fetches posts for a while after a sample event. */
const FAST_REFRESH_INTERVAL_MS = 1000;

/** How long the faster refresh lasts after a sample event is sent. */
const FAST_REFRESH_DURATION_MS = 30000;

/** Webhook behaviours of PUT /host/api/connectors/{id}/behavior, with their descriptions. */
const WEBHOOK_BEHAVIORS = [
  ["ok", "Deliver: 200 with body 1"],
  ["throttled-in-200", "Throttle, reported in a 200 body (HTTP error 429)"],
  ["too-many-requests", "Throttle: 429 Too Many Requests"],
  ["gone", "Gone: 410, as for a removed connector"],
  ["not-found", "Not found: 404, as for a deleted channel"],
  ["payload-too-large", "Payload too large: 413"],
  ["bad-request-in-200", "Reject, reported in a 200 body (HTTP error 400)"],
  ["server-error", "Server error: 500"],
  ["slow", "Slow: 200 with body 1 after 20 seconds"],
];

/** Reason phrases of the statuses a webhook responds with. */
const STATUS_TEXT = {
  200: "OK",
  400: "Bad Request",
  404: "Not Found",
  410: "Gone",
  413: "Payload Too Large",
  429: "Too Many Requests",
  500: "Internal Server Error",
};

/** Runtime configuration sent in the initialize reply. */
const RUNTIME_CONFIG = JSON.stringify({
  apiVersion: 4,
  supports: { pages: { config: {} }, teamsCore: {} },
});

/** Client SDK version sent in the initialize reply. */
const CLIENT_SUPPORTED_SDK_VERSION = "2.0.1";

const TIMEOUT_REASON = "the configuration page did not answer within 30 seconds.";

/** Teams themes that select#host-theme offers, by their TeamsJS names. */
const THEMES = ["default", "dark", "contrast"];

/** Locales that select#host-locale offers. */
const LOCALES = ["en-US", "de-DE", "ja-JP", "ar-SA", "fr-FR"];

/** localStorage keys of the host's theme and locale. */
const THEME_STORAGE_KEY = "localTeamsHost.theme";
const LOCALE_STORAGE_KEY = "localTeamsHost.locale";

/** Name of the <meta> element that marks the host's own error page in the frame. */
const ERROR_PAGE_META = "local-teams-host-error";

const elements = {
  theme: document.getElementById("host-theme"),
  locale: document.getElementById("host-locale"),
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
  sampleForm: document.getElementById("sample-event-form"),
  sampleKind: document.getElementById("sample-kind"),
  sampleTitle: document.getElementById("sample-title"),
  sampleDescription: document.getElementById("sample-description"),
  sampleSend: document.getElementById("sample-send"),
  sampleResult: document.getElementById("sample-result"),
};

/** Last response of GET /host/api/channel. */
let channel = null;

/** Whether the notice shows a failed refresh, which a later success clears. */
let noticeShowsRefreshError = false;

/** Time (ms since the epoch) until which the channel view refreshes faster. */
let fastRefreshUntil = 0;

/** Task id of the last sample "created" event, which "updated" events reuse. */
let lastSampleTaskId = null;

/**
 * Theme and locale that the host plays. The theme applies at once, to the host
 * page and to an open configuration page. The locale applies to the next
 * dialog, because the page reads it once at start.
 */
const display = {
  theme: storedChoice(THEME_STORAGE_KEY, THEMES),
  locale: storedChoice(LOCALE_STORAGE_KEY, LOCALES),
};

/**
 * State of the open configuration dialog, or null when it is closed.
 *
 * @type {null | {
 *   mode: "configure" | "remove",
 *   frameContext: "settings" | "remove",
 *   locale: string,
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
 * Updates ul#connectors in place: connector and post elements are kept and
 * updated, so a refresh neither moves the keyboard focus, nor closes an open
 * "Show JSON", nor replaces elements under the pointer.
 */
function renderConnectorList(connectors) {
  const list = elements.connectors;
  const current = new Map([...list.children].map((item) => [item.dataset.instanceId, item]));

  const items = connectors.map((connector) => {
    const item = current.get(connector.instanceId) || buildConnectorItem(connector);
    updateConnectorItem(item, connector);
    return item;
  });

  replaceChildrenIfChanged(list, items);
}

/** Builds the parts of a connector item that never change. */
function buildConnectorItem(connector) {
  const item = element("li", { className: "connector" });
  item.dataset.instanceId = connector.instanceId;

  const head = element("div", { className: "connector-head" });
  head.append(element("h3", { className: "connector-name" }));
  const actions = element("div", { className: "connector-actions" });
  actions.append(
    element("button", { type: "button", className: "configure", textContent: "Configure" }),
    element("button", { type: "button", className: "remove", textContent: "Remove" }),
  );
  head.append(actions);

  const behavior = element("div", { className: "connector-behavior" });
  const selectId = `behavior-${connector.instanceId}`;
  const label = element("label", { htmlFor: selectId, textContent: "Webhook responds with" });
  const select = element("select", { id: selectId, className: "behavior" });
  for (const [value, description] of WEBHOOK_BEHAVIORS) {
    select.append(element("option", { value, textContent: description }));
  }
  const status = element("span", { className: "behavior-status" });
  status.setAttribute("role", "status");
  status.setAttribute("aria-live", "polite");
  behavior.append(label, select, status);

  const posts = element("section", { className: "posts" });
  posts.append(
    element("h4", { className: "post-count" }),
    element("p", { className: "no-posts", textContent: "No posts received yet." }),
    element("ol", { className: "post-list" }),
  );

  item.append(head, behavior, posts);
  return item;
}

/** Copies a connector's name, webhook behaviour and posts into its item. */
function updateConnectorItem(item, connector) {
  const settings = connector.settings || {};
  const name = displayName(connector);
  if (typeof settings.entityId === "string") {
    item.dataset.entityId = settings.entityId;
  }
  item.querySelector(".connector-name").textContent = name;
  item.querySelector("button.configure").setAttribute("aria-label", `Configure ${name}`);
  item.querySelector("button.remove").setAttribute("aria-label", `Remove ${name}`);

  // While a change is being saved, the select shows the user's choice rather
  // than the value of a refresh that started before the change.
  const select = item.querySelector("select.behavior");
  if (!select.dataset.saving && select.value !== connector.behavior) {
    select.value = connector.behavior;
  }

  const posts = connector.posts;
  const rejected = posts.filter(isRejected).length;
  let count = posts.length === 1 ? "1 webhook post" : `${posts.length} webhook posts`;
  if (rejected > 0) {
    count += `, ${rejected} not delivered`;
  }
  item.querySelector(".post-count").textContent = count;
  item.querySelector(".no-posts").hidden = posts.length > 0;
  renderPostList(item.querySelector(".post-list"), posts);
}

/** Updates ol.post-list in place, keyed by post id; posts come newest first. */
function renderPostList(list, posts) {
  const current = new Map([...list.children].map((item) => [item.dataset.postId, item]));

  const items = posts.map((post) => {
    const signature = JSON.stringify(post.response);
    const existing = current.get(String(post.id));
    if (existing && existing.dataset.signature === signature) {
      return existing;
    }
    const item = buildPostItem(post);
    item.dataset.signature = signature;
    if (existing) {
      // The response changed: keep what the user opened and focused.
      item.querySelector("details").open = existing.querySelector("details").open;
      if (existing.contains(document.activeElement)) {
        existing.replaceWith(item);
        item.querySelector("summary").focus();
      }
    }
    return item;
  });

  replaceChildrenIfChanged(list, items);
}

function buildPostItem(post) {
  const item = element("li", { className: "post" });
  item.dataset.postId = String(post.id);
  item.dataset.behavior = post.behavior;
  item.dataset.responseState = post.response.state;
  if (post.response.state === "sent") {
    item.dataset.status = String(post.response.status);
  }
  item.classList.toggle("post-rejected", isRejected(post));

  const meta = element("div", { className: "post-meta" });
  const time = element("time", { textContent: new Date(post.receivedAt).toLocaleString() });
  time.dateTime = post.receivedAt;
  meta.append(time, buildResponse(post));
  item.append(meta);

  const details = element("details", { className: "post-json" });
  if (post.body !== null) {
    item.append(renderPostBody(post.body));
    details.append(
      element("summary", { textContent: "Show JSON" }),
      element("pre", { className: "post-body", textContent: JSON.stringify(post.body, null, 2) }),
    );
  } else if (post.bodyText !== null) {
    item.append(
      element("p", {
        className: "post-note",
        textContent: "The body is not JSON, so no card is shown.",
      }),
    );
    details.append(
      element("summary", { textContent: "Show body" }),
      element("pre", { className: "post-body", textContent: post.bodyText }),
    );
  } else {
    item.append(
      element("p", {
        className: "post-note",
        textContent: "The host did not read the body of this post.",
      }),
    );
    details.append(
      element("summary", { textContent: "Show JSON" }),
      element("p", { textContent: "There is no body to show." }),
    );
  }
  item.append(details);
  return item;
}

/** Returns span.post-response describing the host's response to the post. */
function buildResponse(post) {
  const response = post.response;
  const label = element("span", { className: "post-response" });

  if (response.state === "pending") {
    label.textContent = "Waiting: the slow webhook responds 20 seconds after the post.";
    return label;
  }
  if (response.state === "abandoned") {
    label.textContent = "Not delivered: the sender closed the connection before the slow response.";
    return label;
  }

  const status = `HTTP ${response.status} ${STATUS_TEXT[response.status] || ""}`.trim();
  if (isDelivered(post)) {
    label.textContent = `Delivered: responded ${status} with body 1.`;
    return label;
  }
  label.append(`Not delivered: responded ${status} with body `);
  label.append(element("q", { className: "post-response-body", textContent: response.body }));
  return label;
}

/** Checks whether the host responded 200 with body 1, as Teams does for a delivered message. */
function isDelivered(post) {
  const response = post.response;
  return response.state === "sent" && response.status === 200 && response.body === "1";
}

/** Checks whether the host responded other than 200 with body 1, or the sender left first. */
function isRejected(post) {
  return post.response.state !== "pending" && !isDelivered(post);
}

function replaceChildrenIfChanged(list, items) {
  const unchanged =
    items.length === list.children.length &&
    items.every((item, index) => item === list.children[index]);
  if (!unchanged) {
    list.replaceChildren(...items);
  }
}

function displayName(connector) {
  const configName = connector.settings && connector.settings.configName;
  return typeof configName === "string" && configName.trim() !== ""
    ? configName
    : "Unnamed connector";
}

async function onBehaviorChange(event) {
  const select = event.target.closest("select.behavior");
  const item = select && select.closest("li.connector");
  if (!item) {
    return;
  }
  const status = item.querySelector(".behavior-status");
  const behavior = select.value;

  select.dataset.saving = String(Number(select.dataset.saving || 0) + 1);
  status.textContent = "Saving…";
  try {
    await requestJson("PUT", `${connectorPath(item.dataset.instanceId)}/behavior`, { behavior });
    status.textContent = "Saved.";
  } catch (error) {
    status.textContent = `Unable to change the webhook behaviour: ${error.message}`;
  } finally {
    const saving = Number(select.dataset.saving) - 1;
    if (saving > 0) {
      select.dataset.saving = String(saving);
    } else {
      delete select.dataset.saving;
    }
  }
  await refreshChannel().catch(showRefreshError);
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
// Sample task events

/**
 * Sends a sample task event through POST /host/api/sample-event, which adds
 * the events API key and forwards it to the backend, and shows the response.
 */
async function sendSampleEvent(event) {
  event.preventDefault();
  const title = elements.sampleTitle.value;
  if (title.trim() === "") {
    elements.sampleResult.textContent = "Enter a task title, then send the event again.";
    elements.sampleTitle.focus();
    return;
  }

  const kind = elements.sampleKind.value;
  const taskId = kind === "updated" && lastSampleTaskId ? lastSampleTaskId : newTaskId();
  const sample = {
    kind,
    taskId,
    title,
    assignee: channel ? channel.context.userPrincipalName : undefined,
    dueDate: dateInDays(7),
    // The link leads back to this page, so that opening it contacts no other host.
    link: `${location.origin}/#task-${encodeURIComponent(taskId)}`,
  };
  const description = elements.sampleDescription.value;
  if (description.trim() !== "") {
    sample.description = description;
  }

  elements.sampleSend.disabled = true;
  elements.sampleResult.textContent = "Sending…";
  try {
    const accepted = await requestJson("POST", "/host/api/sample-event", sample);
    if (kind === "created") {
      lastSampleTaskId = taskId;
    }
    elements.sampleResult.textContent = describeAcceptedEvent(accepted, kind);
    fastRefreshUntil = Date.now() + FAST_REFRESH_DURATION_MS;
  } catch (error) {
    elements.sampleResult.textContent = `Event not sent: ${error.message}`;
  } finally {
    elements.sampleSend.disabled = false;
  }
  await refreshChannel().catch(showRefreshError);
}

function describeAcceptedEvent(accepted, kind) {
  const count = accepted && Number.isInteger(accepted.deliveries) ? accepted.deliveries : null;
  if (count === null) {
    return "Event accepted.";
  }
  if (count === 0) {
    return `Event accepted, but no delivery was queued: no connector gets task ${kind} events.`;
  }
  return count === 1
    ? "Event accepted: 1 delivery queued."
    : `Event accepted: ${count} deliveries queued.`;
}

function newTaskId() {
  // randomUUID exists only in secure contexts, which include 127.0.0.1 but
  // not a host reached on another address over http.
  const random = crypto.randomUUID
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
  return `sample-${random}`;
}

/** Returns the local date `days` from today as YYYY-MM-DD. */
function dateInDays(days) {
  const date = new Date();
  date.setDate(date.getDate() + days);
  const month = String(date.getMonth() + 1).padStart(2, "0");
  const day = String(date.getDate()).padStart(2, "0");
  return `${date.getFullYear()}-${month}-${day}`;
}

// ---------------------------------------------------------------------------
// Configuration dialog

/** Opens the dialog; `opener` gets the focus back when the dialog closes. */
function openDialog(mode, instance, isNew, opener) {
  session = {
    mode,
    // TeamsJS allows registerOnRemoveHandler, setValidityState and getConfig
    // in the remove frame context, so the page can show that it removes.
    frameContext: mode === "remove" ? "remove" : "settings",
    locale: display.locale,
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
  const current = session;
  frame.addEventListener("load", () => {
    if (current === session) {
      reportFrameProblem(frame);
    }
  });
  frame.src = channel.configPath;

  updateDialogButtons();
  elements.dialog.showModal();
}

/**
 * Shows in the dialog why the frame has no configuration page: the browser
 * could not load it, or the host's proxy sent its HTML error page.
 */
function reportFrameProblem(frame) {
  // A page from another origin, such as the browser's own network error page,
  // gives no document.
  const frameDocument = frame.contentDocument;
  if (!frameDocument) {
    setDialogError(
      "The configuration page could not be loaded. Check that the local Teams host is still running, then open the dialog again.",
    );
    return;
  }
  if (frameDocument.URL === "about:blank") {
    return;
  }

  const marker = frameDocument.querySelector(`meta[name="${ERROR_PAGE_META}"]`);
  if (!marker) {
    return;
  }
  frameDocument.documentElement.dataset.theme = display.theme;
  const message = frameDocument.getElementById("error-message");
  const detail = message ? message.textContent : `error ${marker.content}.`;
  setDialogError(`The configuration page could not be loaded: ${detail}`);
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
    reply(message, [current.frameContext, "web", RUNTIME_CONFIG, CLIENT_SUPPORTED_SDK_VERSION]);
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
    locale: current.locale,
    theme: display.theme,
    frameContext: current.frameContext,
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
// Theme and locale

/** Returns the stored choice if it is one of `allowed`, else the first of them. */
function storedChoice(key, allowed) {
  let value = null;
  try {
    value = localStorage.getItem(key);
  } catch {
    // Storage can be turned off in the browser; the host then starts with defaults.
  }
  return allowed.includes(value) ? value : allowed[0];
}

function storeChoice(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch (error) {
    console.warn(`Local Teams host: unable to remember ${key}.`, error);
  }
}

/** Restyles the host page, and the host's error page when the dialog shows one. */
function applyTheme() {
  document.documentElement.dataset.theme = display.theme;
  const frame = document.getElementById("config-frame");
  const frameDocument = frame && frame.contentDocument;
  if (frameDocument && frameDocument.querySelector(`meta[name="${ERROR_PAGE_META}"]`)) {
    frameDocument.documentElement.dataset.theme = display.theme;
  }
}

function onThemeChange() {
  if (!THEMES.includes(elements.theme.value)) {
    return;
  }
  display.theme = elements.theme.value;
  storeChoice(THEME_STORAGE_KEY, display.theme);
  applyTheme();

  // Like Teams, the host sends the new theme to an open page at once. A page
  // that has not sent initialize yet would drop the event, and it reads the
  // theme from getContext instead.
  if (session && session.initialized) {
    sendEvent("themeChange", [display.theme]);
  }
}

function onLocaleChange() {
  if (!LOCALES.includes(elements.locale.value)) {
    return;
  }
  display.locale = elements.locale.value;
  storeChoice(LOCALE_STORAGE_KEY, display.locale);
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

/** Refreshes the channel again and again, faster for a while after a sample event. */
function scheduleRefresh() {
  const delay = Date.now() < fastRefreshUntil ? FAST_REFRESH_INTERVAL_MS : REFRESH_INTERVAL_MS;
  setTimeout(async () => {
    await refreshInBackground();
    scheduleRefresh();
  }, delay);
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
  elements.theme.value = display.theme;
  elements.locale.value = display.locale;
  applyTheme();
  elements.theme.addEventListener("change", onThemeChange);
  elements.locale.addEventListener("change", onLocaleChange);

  window.addEventListener("message", onMessage);
  elements.addConnector.addEventListener("click", addConnector);
  elements.connectors.addEventListener("click", onConnectorListClick);
  elements.connectors.addEventListener("change", onBehaviorChange);
  elements.sampleForm.addEventListener("submit", sendSampleEvent);
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

  scheduleRefresh();
}

start();

"use strict";

// Renders the JSON body of a webhook post as a card, roughly as Teams shows
// it. Every text taken from a card is set with textContent, never innerHTML,
// so quotes and markup in a card show literally. Only http and https URLs
// become links, and images are never loaded, so a card cannot make the
// browser contact another host by itself.
//
// The script defines one global, renderPostBody, for host.js.

const renderPostBody = (() => {
  /** Content type of an Adaptive Card attachment. */
  const ADAPTIVE_CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive";

  /** Link text for an OpenUri or Action.OpenUrl action without a name. */
  const DEFAULT_LINK_TEXT = "Open task";

  /** Nesting depth of Adaptive Card containers beyond which nothing is drawn. */
  const MAX_CARD_DEPTH = 16;

  /**
   * Returns an element that shows a webhook post body: a MessageCard, the cards
   * of an Adaptive Card envelope, or pretty-printed JSON for any other shape.
   */
  function renderPostBody(body) {
    if (isObject(body) && body["@type"] === "MessageCard") {
      return renderMessageCard(body);
    }
    if (
      isObject(body) &&
      body.type === "message" &&
      Array.isArray(body.attachments) &&
      body.attachments.length > 0
    ) {
      const cards = cardElement("div", "cards");
      for (const attachment of body.attachments) {
        const isAdaptive =
          isObject(attachment) &&
          attachment.contentType === ADAPTIVE_CARD_CONTENT_TYPE &&
          isObject(attachment.content);
        cards.append(isAdaptive ? renderAdaptiveCard(attachment.content) : renderJson(attachment));
      }
      return cards;
    }
    return renderJson(body);
  }

  /** Returns a pre-formatted block with `value` as indented JSON. */
  function renderJson(value) {
    return cardElement("pre", "post-body", JSON.stringify(value, null, 2));
  }

  // ---------------------------------------------------------------------------
  // MessageCard (connectors and legacy incoming webhooks)

  function renderMessageCard(message) {
    const card = cardElement("article", "card message-card");
    const accent = themeColor(message.themeColor);
    if (accent) {
      card.style.setProperty("--card-accent", accent);
    }

    const sections = Array.isArray(message.sections) ? message.sections.filter(isObject) : [];
    const firstActivityTitle = sections.map((s) => text(s.activityTitle)).find(Boolean);
    const title = text(message.title) || firstActivityTitle || text(message.summary);
    if (title) {
      card.append(cardElement("h5", "card-title", title));
    }
    // NOTE: Teams formats Markdown in MessageCard text, but this view shows
    // the text as written.
    if (text(message.text)) {
      card.append(cardElement("p", "card-text", message.text));
    }

    for (const section of sections) {
      card.append(renderMessageCardSection(section, title));
    }

    const actions = renderMessageCardActions(message.potentialAction);
    if (actions) {
      card.append(actions);
    }
    return card;
  }

  function renderMessageCardSection(section, cardTitle) {
    const part = cardElement("section", "card-section");

    const activityTitle = text(section.activityTitle);
    if (activityTitle && activityTitle !== cardTitle) {
      part.append(cardElement("p", "card-section-title", activityTitle));
    }
    if (text(section.title)) {
      part.append(cardElement("p", "card-section-title", section.title));
    }
    if (text(section.activitySubtitle)) {
      part.append(cardElement("p", "card-subtitle", section.activitySubtitle));
    }
    for (const field of ["activityText", "text"]) {
      if (text(section[field])) {
        part.append(cardElement("p", "card-text", section[field]));
      }
    }

    if (Array.isArray(section.facts)) {
      const facts = section.facts.filter(isObject).map((f) => [f.name, f.value]);
      part.append(renderFacts(facts));
    }

    const actions = renderMessageCardActions(section.potentialAction);
    if (actions) {
      part.append(actions);
    }
    return part;
  }

  function renderMessageCardActions(actions) {
    if (!Array.isArray(actions) || actions.length === 0) {
      return null;
    }

    const container = cardElement("div", "card-actions");
    for (const action of actions.filter(isObject)) {
      const name = text(action.name) || DEFAULT_LINK_TEXT;
      if (action["@type"] !== "OpenUri") {
        container.append(unsupportedAction(name, action["@type"]));
        continue;
      }
      const targets = Array.isArray(action.targets) ? action.targets.filter(isObject) : [];
      const target = targets.find((t) => t.os === "default") || targets[0];
      container.append(renderLink(name, target && target.uri));
    }
    return container;
  }

  /** Returns a CSS color for a MessageCard themeColor such as `0076D7`, or null. */
  function themeColor(value) {
    const match = typeof value === "string" && /^#?([0-9a-fA-F]{6}|[0-9a-fA-F]{3})$/.exec(value);
    return match ? `#${match[1]}` : null;
  }

  // ---------------------------------------------------------------------------
  // Adaptive Card (Workflows webhooks)

  function renderAdaptiveCard(content) {
    const card = cardElement("article", "card adaptive-card");
    const state = { hasTitle: false };

    appendAdaptiveElements(card, content.body, state, 0);
    const actions = renderAdaptiveActions(content.actions);
    if (actions) {
      card.append(actions);
    }
    return card;
  }

  function appendAdaptiveElements(parent, elements, state, depth) {
    if (!Array.isArray(elements)) {
      return;
    }
    if (depth > MAX_CARD_DEPTH) {
      parent.append(cardElement("p", "card-unsupported", "Deeper nested elements are not shown."));
      return;
    }
    for (const item of elements.filter(isObject)) {
      appendAdaptiveElement(parent, item, state, depth);
    }
  }

  function appendAdaptiveElement(parent, item, state, depth) {
    switch (item.type) {
      case "TextBlock":
        parent.append(renderTextBlock(item, state));
        break;
      case "RichTextBlock": {
        const inlines = Array.isArray(item.inlines) ? item.inlines : [];
        const words = inlines.map((inline) =>
          isObject(inline) ? text(inline.text) : text(inline),
        );
        parent.append(cardElement("p", "card-text", words.join("")));
        break;
      }
      case "FactSet": {
        const facts = Array.isArray(item.facts) ? item.facts.filter(isObject) : [];
        parent.append(renderFacts(facts.map((f) => [f.title, f.value])));
        break;
      }
      case "Container":
      case "Column":
        appendAdaptiveElements(parent, item.items, state, depth + 1);
        break;
      case "ColumnSet":
        appendAdaptiveElements(parent, item.columns, state, depth + 1);
        break;
      case "ActionSet": {
        const actions = renderAdaptiveActions(item.actions);
        if (actions) {
          parent.append(actions);
        }
        break;
      }
      default: {
        // Images are left out on purpose: loading one would contact its host.
        const type = text(item.type) || "untyped";
        parent.append(
          cardElement("p", "card-unsupported", `An element of type ${type} is not shown here.`),
        );
      }
    }
  }

  /**
   * Renders a TextBlock. The first bold or large one is the card's title, as
   * Adaptive Cards have no title field of their own.
   */
  function renderTextBlock(block, state) {
    const weight = text(block.weight).toLowerCase();
    const size = text(block.size).toLowerCase();
    const isHeading =
      weight === "bolder" || size === "medium" || size === "large" || size === "extralarge";

    if (isHeading && !state.hasTitle) {
      state.hasTitle = true;
      return cardElement("h5", "card-title", text(block.text));
    }
    const paragraph = cardElement("p", "card-text", text(block.text));
    paragraph.classList.toggle("card-text-strong", weight === "bolder");
    paragraph.classList.toggle("card-text-subtle", block.isSubtle === true);
    return paragraph;
  }

  function renderAdaptiveActions(actions) {
    if (!Array.isArray(actions) || actions.length === 0) {
      return null;
    }

    const container = cardElement("div", "card-actions");
    for (const action of actions.filter(isObject)) {
      const name = text(action.title) || DEFAULT_LINK_TEXT;
      container.append(
        action.type === "Action.OpenUrl"
          ? renderLink(name, action.url)
          : unsupportedAction(name, action.type),
      );
    }
    return container;
  }

  // ---------------------------------------------------------------------------
  // Shared parts

  /** Returns a dl.card-facts of [name, value] pairs. */
  function renderFacts(facts) {
    const list = cardElement("dl", "card-facts");
    for (const [name, value] of facts) {
      const row = cardElement("div", "card-fact");
      row.append(cardElement("dt", "", factText(name)), cardElement("dd", "", factText(value)));
      list.append(row);
    }
    return list;
  }

  /**
   * Returns a.card-link opening `address` in a new tab, or a note saying why
   * there is no link when `address` is not an absolute http or https URL.
   */
  function renderLink(name, address) {
    const url = httpUrl(address);
    if (!url) {
      return cardElement(
        "span",
        "card-link-blocked",
        `${name}: no link, because only absolute http and https addresses open here.`,
      );
    }

    const link = cardElement("a", "card-link", name);
    link.href = url;
    link.title = url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    return link;
  }

  function unsupportedAction(name, type) {
    const kind = text(type) || "untyped";
    const note = `${name} (${kind} actions do not run here)`;
    return cardElement("span", "card-action-unsupported", note);
  }

  /** Returns `value` as an absolute http(s) URL string, or null. */
  function httpUrl(value) {
    if (typeof value !== "string") {
      return null;
    }
    try {
      const url = new URL(value);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch {
      return null;
    }
  }

  /** Returns a string field, or "" for any other value. */
  function text(value) {
    return typeof value === "string" ? value : "";
  }

  /** Returns a fact name or value as text; numbers and booleans are shown too. */
  function factText(value) {
    if (typeof value === "string") {
      return value;
    }
    return value === undefined || value === null ? "" : JSON.stringify(value);
  }

  function isObject(value) {
    return value !== null && typeof value === "object" && !Array.isArray(value);
  }

  function cardElement(tag, className, content) {
    const node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (content !== undefined) {
      node.textContent = content;
    }
    return node;
  }

  return renderPostBody;
})();

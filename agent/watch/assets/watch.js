// Polls /api/episodes and draws one card per episode. Every string comes from model output or
// files and is set as textContent, never as HTML.
"use strict";
(function () {
  const main = document.getElementById("episodes");
  const state = document.getElementById("state");
  const cards = new Map();

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function seconds(value) {
    return value < 60 ? value.toFixed(0) + " s" : Math.floor(value / 60) + " min " + (value % 60).toFixed(0) + " s";
  }

  function card(id) {
    if (cards.has(id)) return cards.get(id);
    const root = el("section", "episode");
    root.dataset.id = id;
    const parts = {
      root: root, title: el("h2"), facts: el("div", "facts"), frame: el("div", "frame"),
      img: el("img"), now: el("p", "now"), intent: el("p", "intent"), actions: el("ol", "actions"),
      problem: el("p", "problem"),
    };
    parts.img.alt = "latest frame";
    parts.frame.appendChild(parts.img);
    for (const key of ["title", "facts", "frame", "now", "intent", "actions", "problem"]) root.appendChild(parts[key]);
    cards.set(id, parts);
    return parts;
  }

  function draw(episode, now) {
    const c = card(episode.id);
    c.root.className = "episode " + (episode.live ? "live" : "finished");
    c.title.textContent = (episode.task ? episode.task + ": " : "") + episode.instruction;
    c.facts.replaceChildren();
    const status = el("span", "status status-" + episode.status, episode.status);
    if (episode.status_detail) status.title = episode.status_detail;
    c.facts.appendChild(status);
    c.facts.appendChild(el("span", "", episode.steps + " step(s) done"));
    if (episode.stand_in) c.facts.appendChild(el("span", "stand-in", "replies from " + episode.stand_in + " (no model)"));
    else c.facts.appendChild(el("span", "model", episode.model));
    c.facts.appendChild(el("span", "env", episode.env));
    if (episode.vnc) c.facts.appendChild(el("span", "vnc", "VNC " + episode.vnc));
    if (episode.score !== null) c.facts.appendChild(el("span", "score", "score " + episode.score));
    if (episode.frame) {
      const src = "/frame?episode=" + encodeURIComponent(episode.id) + "&name=" + encodeURIComponent(episode.frame);
      if (c.img.getAttribute("src") !== src) c.img.setAttribute("src", src);
      c.img.hidden = false;
    } else {
      c.img.hidden = true;
    }
    if (episode.thinking_since !== null) {
      c.now.textContent = "step " + (episode.steps + 1) + ": the model is thinking… " + seconds(Math.max(0, now - episode.thinking_since));
    } else if (episode.live && !episode.frame) {
      c.now.textContent = "starting: setting up the environment…";
    } else if (episode.live) {
      c.now.textContent = "step " + (episode.steps + 1) + ": acting…";
    } else {
      c.now.textContent = "ended: " + episode.status + (episode.answer ? " (" + episode.answer + ")" : "");
    }
    c.intent.textContent = episode.intent ? "step " + episode.steps + ": " + episode.intent : "";
    c.actions.replaceChildren(...episode.actions.map((text) => el("li", "", text)));
    c.problem.textContent = episode.error || "";
    return c.root;
  }

  async function poll() {
    try {
      const response = await fetch("/api/episodes", { cache: "no-store" });
      const body = await response.json();
      document.getElementById("title").textContent = body.title;
      const shown = body.episodes.map((episode) => draw(episode, body.now));
      main.replaceChildren(...shown);
      document.getElementById("empty").hidden = shown.length > 0;
      const live = body.episodes.filter((e) => e.live).length;
      state.textContent = live + " running · updated " + new Date(body.now * 1000).toLocaleTimeString();
    } catch (err) {
      state.textContent = "the command has ended (or cannot be reached): " + err;
    }
    setTimeout(poll, 1000);
  }
  poll();
})();

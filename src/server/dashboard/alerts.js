// The dashboard's Alerts panel: the alerts firing now, per pool and rule, with since when
// and the rule's sentence, and the latest resolutions. Derived from the event log
// (GET /v1/events: the alert loop records each firing and resolution as an event with code
// alert_firing:<rule> or alert_resolved:<rule>), read every 5 s. Apart from app.js so the
// two grow separately (it reads the API key the way app.js stores it).
(function () {
  'use strict';
  var REFRESH_MS = 5000;
  var list = document.getElementById('alerts-list');
  var scope = document.getElementById('alerts-scope');
  var card = document.getElementById('alerts-card');
  if (!list) return;

  function key() {
    var m = /(?:^|[#&])key=([^&]+)/.exec(location.hash);
    if (m) return decodeURIComponent(m[1]);
    try { return localStorage.getItem('tidepool.key') || ''; } catch (e) { return ''; }
  }

  function el(tag, cls, textValue) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (textValue !== undefined) e.textContent = textValue;
    return e;
  }

  function clock(ms) { return new Date(ms).toTimeString().slice(0, 8); }

  /** The latest transition per pool and rule, oldest first. */
  function latest(events) {
    var byKey = {};
    events.forEach(function (e) {
      var m = /^alert_(firing|resolved):(.+)$/.exec(e.code);
      if (!m) return;
      var k = e.pool + '\u0000' + m[2];
      var prev = byKey[k];
      var item = { pool: e.pool, rule: m[2], state: m[1], atMs: e.atMs, reason: e.reason, since: m[1] === 'firing' ? (prev && prev.state === 'firing' ? prev.since : e.atMs) : null };
      if (!prev || prev.atMs <= e.atMs) byKey[k] = item;
    });
    return Object.keys(byKey).map(function (k) { return byKey[k]; }).sort(function (a, b) { return a.atMs - b.atMs; });
  }

  function item(a, state, badge, when) {
    var li = el('li', 'event alert ' + state);
    li.dataset.rule = a.rule;
    li.appendChild(el('span', 'badge ' + badge, state));
    li.appendChild(el('span', 'pool', a.pool));
    li.appendChild(el('span', 'code', a.rule));
    li.appendChild(el('span', 't', when));
    li.appendChild(el('span', 'why', a.reason));
    return li;
  }

  function draw(events) {
    var items = latest(events);
    var firing = items.filter(function (a) { return a.state === 'firing'; });
    var resolved = items.filter(function (a) { return a.state === 'resolved'; }).slice(-5);
    list.textContent = '';
    card.classList.toggle('firing', firing.length > 0);
    scope.textContent = firing.length ? firing.length + ' firing' : 'none firing';
    if (!firing.length && !resolved.length) { list.appendChild(el('li', 'muted', 'no alert has fired in the last hour')); return; }
    firing.forEach(function (a) { list.appendChild(item(a, 'firing', 'dead', 'since ' + clock(a.since))); });
    resolved.forEach(function (a) { list.appendChild(item(a, 'resolved', 'succeeded', clock(a.atMs))); });
  }

  function refresh() {
    var k = key();
    fetch('/v1/events?limit=1000', { headers: k ? { authorization: 'Bearer ' + k } : {} })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body) draw(body.events || []); }, function () {})
      .finally(function () { setTimeout(refresh, REFRESH_MS); });
  }
  refresh();
})();

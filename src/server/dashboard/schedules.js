// The dashboard's Schedules panel: every schedule (GET /v1/schedules) with its cron, time
// zone, task type, next run (and how soon), last tick and its task, and which node's
// scheduler submits the ticks. Read every second; apart from app.js so the two grow
// separately (it reads the API key the way app.js stores it).
(function () {
  'use strict';
  var REFRESH_MS = 1000;
  var body = document.getElementById('schedules-body');
  var scope = document.getElementById('schedules-scope');
  if (!body) return;

  function key() {
    var m = /(?:^|[#&])key=([^&]+)/.exec(location.hash);
    if (m) return decodeURIComponent(m[1]);
    try { return localStorage.getItem('tidepool.key') || ''; } catch (e) { return ''; }
  }

  function cell(tag, cls, textValue) {
    var el = document.createElement(tag);
    if (cls) el.className = cls;
    if (textValue !== undefined) el.textContent = textValue;
    return el;
  }

  function iso(ms) { return new Date(ms).toISOString().replace('.000Z', 'Z'); }

  /** "in 4 s", "in 3 min", "in 5 h", "in 2 d" (or "due" once it passed). */
  function soon(ms, nowMs) {
    var d = ms - nowMs;
    if (d <= 0) return 'due';
    if (d < 60000) return 'in ' + Math.ceil(d / 1000) + ' s';
    if (d < 3600000) return 'in ' + Math.round(d / 60000) + ' min';
    if (d < 86400000) return 'in ' + Math.round(d / 3600000) + ' h';
    return 'in ' + Math.round(d / 86400000) + ' d';
  }

  function draw(list, scheduler) {
    var now = Date.now();
    body.textContent = '';
    scope.textContent = (list.length ? list.length + ' schedule' + (list.length === 1 ? '' : 's') : 'no schedules') + ' · ' + (scheduler ? 'ticks submitted by ' + scheduler.holder : 'no node holds the scheduler lease');
    if (!list.length) {
      var tr0 = cell('tr');
      var td0 = cell('td', 'muted', 'none yet: add one in the config (schedules), with POST /v1/schedules or tidepool schedules add');
      td0.colSpan = 7;
      tr0.appendChild(td0);
      body.appendChild(tr0);
      return;
    }
    list.forEach(function (s) {
      var tr = cell('tr');
      tr.dataset.schedule = s.name;
      tr.appendChild(cell('td', 'name', s.name));
      var cron = cell('td', 'cron');
      cron.appendChild(cell('code', '', s.cron));
      cron.appendChild(cell('small', 'muted', ' ' + s.timezone));
      tr.appendChild(cron);
      tr.appendChild(cell('td', '', s.type + (s.tenant !== 'default' ? ' · ' + s.tenant : '')));
      var next = cell('td', 'next-run');
      if (s.nextRunMs === null) next.textContent = 'never';
      else {
        next.appendChild(cell('b', 'soon', soon(s.nextRunMs, now)));
        next.appendChild(cell('small', 'muted', ' ' + iso(s.nextRunMs)));
      }
      tr.appendChild(next);
      var last = cell('td', 'last-tick', s.lastTickMs === null ? '–' : iso(s.lastTickMs));
      if (s.lastTaskId) {
        var a = cell('a', 'task link', ' ' + s.lastTaskId.slice(-8));
        a.href = '#task=' + encodeURIComponent(s.lastTaskId);
        a.dataset.task = s.lastTaskId;
        a.title = s.lastTaskId;
        last.appendChild(a);
      }
      tr.appendChild(last);
      tr.appendChild(cell('td', '', s.catchUp));
      tr.appendChild(cell('td', 'muted', s.source));
      body.appendChild(tr);
    });
  }

  function refresh() {
    var k = key();
    fetch('/v1/schedules', { headers: k ? { authorization: 'Bearer ' + k } : {} })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (b) { if (b) draw(b.schedules, b.scheduler); }, function () {})
      .then(function () { setTimeout(refresh, REFRESH_MS); });
  }
  refresh();
})();

// The Tidepool dashboard: subscribes to /v1/stream (server-sent events) and draws
// queue depth, workers, p95 wait and throughput per pool with echarts, the pools
// table, the workers and recent tasks, the scaling events with their reasons and, apart,
// the pool events (worker crashes, respawns, stalls, recycles, remote workers registering
// and failing: the event-log codes that start with `worker_`). Clicking a task opens its
// view: its log from GET /v1/tasks/{id}/logs, followed live (?follow=1) while it runs.
// No build step, no CDN.
(function () {
  'use strict';
  var MAX_POINTS = 600;
  var MAX_POOL_EVENTS = 300;
  var FINAL = ['succeeded', 'dead', 'cancelled'];
  var snapshots = [];
  /** Scaling decisions (and policy/bounds changes), without the worker events. */
  var events = [];
  /** Worker events of every pool, oldest first. */
  var poolEvents = [];
  var source = null;

  /** A worker event of the event log (pool-events.ts: every such code starts with worker_). */
  function isPoolEvent(e) { return /^worker_/.test(e.code); }

  function authHeaders() {
    var k = key();
    return k ? { authorization: 'Bearer ' + k } : {};
  }

  /** Keeps a pool <select> (first option: every pool) in step with the pools. */
  function syncPicker(select, names) {
    var have = Array.prototype.map.call(select.options, function (o) { return o.value; }).slice(1);
    if (have.join('\u0000') === names.join('\u0000')) return;
    var chosen = select.value;
    while (select.options.length > 1) select.remove(1);
    names.forEach(function (n) { var o = document.createElement('option'); o.value = n; o.textContent = n; select.appendChild(o); });
    select.value = names.indexOf(chosen) >= 0 ? chosen : '';
  }

  var charts = {
    depth: echarts.init(document.getElementById('chart-depth')),
    workers: echarts.init(document.getElementById('chart-workers')),
    wait: echarts.init(document.getElementById('chart-wait')),
    throughput: echarts.init(document.getElementById('chart-throughput')),
  };
  window.addEventListener('resize', function () { Object.values(charts).forEach(function (c) { c.resize(); }); });

  function baseOption(unit) {
    return {
      animation: false,
      grid: { left: 48, right: 16, top: 28, bottom: 28 },
      tooltip: { trigger: 'axis' },
      legend: { top: 0, type: 'scroll' },
      xAxis: { type: 'time', axisLabel: { hideOverlap: true } },
      yAxis: { type: 'value', minInterval: 1, axisLabel: { formatter: unit ? '{value} ' + unit : '{value}' } },
      series: [],
    };
  }
  charts.depth.setOption(baseOption(''));
  charts.workers.setOption(baseOption(''));
  charts.wait.setOption(baseOption('ms'));
  charts.throughput.setOption(baseOption('/min'));

  function poolNames() {
    var names = {};
    snapshots.forEach(function (s) { s.pools.forEach(function (p) { names[p.name] = true; }); });
    return Object.keys(names);
  }

  function perPool(field) {
    return poolNames().map(function (name) {
      return {
        name: name, type: 'line', showSymbol: false, smooth: false,
        data: snapshots.map(function (s) {
          var p = s.pools.find(function (x) { return x.name === name; });
          return [s.atMs, p ? Math.round(p[field] * 10) / 10 : null];
        }),
      };
    });
  }

  /** The pool the Workers chart shows ('' = the sum of all pools, labelled as such). */
  var workersPool = null;

  function summed(field) {
    return snapshots.map(function (s) {
      var pools = workersPool ? s.pools.filter(function (p) { return p.name === workersPool; }) : s.pools;
      return [s.atMs, pools.reduce(function (acc, p) { return acc + p[field]; }, 0)];
    });
  }

  /** Keeps the pool picker in step with the pools; the first pool is shown until one is picked. */
  function syncWorkersPicker() {
    var select = document.getElementById('workers-pool');
    var names = poolNames();
    syncPicker(select, names);
    if (workersPool === null && names.length) workersPool = names[0];
    select.value = workersPool || '';
    var last = snapshots.length ? snapshots[snapshots.length - 1] : null;
    var pool = last && workersPool ? last.pools.find(function (p) { return p.name === workersPool; }) : null;
    document.getElementById('workers-scope').textContent = workersPool
      ? 'pool ' + workersPool + (pool ? ' (bounds ' + pool.min + '..' + pool.max + ')' : '') + ': busy · idle · starting, and its target'
      : 'sum of all ' + names.length + ' pools: busy · idle · starting, and the sum of their targets';
  }
  document.getElementById('workers-pool').addEventListener('change', function (ev) {
    workersPool = ev.target.value;
    drawCharts();
  });

  function drawCharts() {
    syncWorkersPicker();
    charts.depth.setOption({ series: perPool('queueDepth') }, { replaceMerge: ['series'] });
    charts.wait.setOption({ series: perPool('p95WaitMs') }, { replaceMerge: ['series'] });
    charts.throughput.setOption({ series: perPool('throughputPerMin') }, { replaceMerge: ['series'] });
    var area = function (name, field, color) {
      return { name: name, type: 'line', stack: 'workers', areaStyle: { opacity: 0.55 }, showSymbol: false, step: 'end', color: color, data: summed(field) };
    };
    charts.workers.setOption({
      series: [
        area('busy', 'busy', '#1769aa'),
        area('idle', 'idle', '#8cc5ef'),
        area('starting', 'starting', '#f2b84b'),
        { name: workersPool ? 'target' : 'target (sum)', type: 'line', step: 'end', showSymbol: false, color: '#c0392b', lineStyle: { type: 'dashed', width: 2 }, data: summed('target') },
      ],
    }, { replaceMerge: ['series'] });
  }

  function text(tag, cls, content) {
    var el = document.createElement(tag);
    if (cls) el.className = cls;
    if (content !== undefined) el.textContent = content;
    return el;
  }

  function drawPools(snap) {
    var body = document.getElementById('pools-body');
    body.textContent = '';
    if (!snap.pools.length) {
      var tr0 = text('tr');
      var td0 = text('td', 'muted', 'no pools');
      td0.colSpan = 11;
      tr0.appendChild(td0);
      body.appendChild(tr0);
      return;
    }
    snap.pools.forEach(function (p) {
      var tr = text('tr');
      tr.dataset.pool = p.name;
      var cells = [
        text('b', '', p.name),
        text('span', 'badge ' + p.status, p.status.replace('_', ' ')),
        text('span', '', p.current + ' → ' + p.target),
        text('span', '', p.min + '..' + p.max),
        text('span', '', p.preset ? p.policy + '/' + p.preset : p.policy),
        text('span', '', String(p.queueDepth)),
        text('span', '', p.busy + ' / ' + p.idle),
        text('span', '', Math.round(p.p95WaitMs) + ' ms'),
        text('span', '', p.completed + ' / ' + p.failed),
        text('span', '', p.spend == null ? '-' : p.spend.toFixed(2) + ' (' + Math.round(p.workerSeconds) + ' worker-s, ' + p.starts + ' starts)'),
        text('span', 'badge ' + p.health, p.health),
      ];
      cells.forEach(function (c) { var td = text('td'); td.appendChild(c); tr.appendChild(td); });
      body.appendChild(tr);
    });
  }

  /** The workers list, as `tidepool top` shows it: from GET /v1/pools (task ids of the caller's tenant only). */
  var workersFetchedAtMs = 0;
  function refreshWorkers() {
    var now = Date.now();
    if (now - workersFetchedAtMs < 2000) return;
    workersFetchedAtMs = now;
    fetch('/v1/pools', { headers: authHeaders() })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body) drawWorkers(body.pools); }, function () {});
    fetch('/v1/nodes', { headers: authHeaders() })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body) drawNodes(body); }, function () {});
    refreshTasks();
  }

  /** The nodes (GET /v1/nodes): which leads, each one's pools with its workers and share. */
  function drawNodes(body) {
    var tbody = document.getElementById('nodes-body');
    tbody.textContent = '';
    var nodes = body.nodes || [];
    document.getElementById('nodes-scope').textContent = nodes.length === 1 && !body.leader
      ? 'this process runs alone (no store shared with other processes)'
      : nodes.length + ' live node' + (nodes.length === 1 ? '' : 's') + (body.leader ? '; leader ' + body.leader.id + ' (fencing token ' + body.leader.token + ')' : '; no leader right now (an election is under way)');
    nodes.forEach(function (n) {
      var tr = text('tr', n.self ? 'open' : '');
      var pools = (n.pools || []).map(function (p) {
        return p.name + ' ' + p.current + (p.share === null ? '' : ' / ' + p.share) + (p.cap < p.max ? ' (cap ' + p.cap + ')' : '') +
          (p.leaderBounds && (p.leaderBounds.min !== p.min || p.leaderBounds.max !== p.max) ? ' [bounds here ' + p.min + '..' + p.max + ', leader applies ' + p.leaderBounds.min + '..' + p.leaderBounds.max + ']' : '');
      }).join(' · ') || '–';
      [text('span', 'task', n.id + (n.self ? ' (this)' : '')), text('span', 'badge ' + (n.leader ? 'succeeded' : 'queued'), n.leader ? 'leader' : 'follower'), text('span', '', n.host), text('span', '', n.region || '–'),
        text('span', 'muted', n.version), text('span', 'muted', clock(n.startedAtMs)), text('span', 'muted', clock(n.lastSeenMs)), text('span', '', pools)]
        .forEach(function (c) { var td = text('td'); td.appendChild(c); tr.appendChild(td); });
      tbody.appendChild(tr);
    });
  }

  /** The tasks of one status (GET /v1/tasks lists oldest first: the longest running at the top). */
  function refreshTasks() {
    var status = document.getElementById('tasks-status').value;
    fetch('/v1/tasks?limit=12&status=' + encodeURIComponent(status), { headers: authHeaders() })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body && document.getElementById('tasks-status').value === status) drawTasks(body.tasks, status, body.nextCursor !== null); }, function () {});
  }
  document.getElementById('tasks-status').addEventListener('change', refreshTasks);

  /** A task id that opens the task's view when clicked. */
  function taskLink(id) {
    var a = text('a', 'task link', id);
    a.href = '#task=' + encodeURIComponent(id);
    a.dataset.task = id;
    return a;
  }

  function drawTasks(tasks, status, hasMore) {
    var body = document.getElementById('tasks-body');
    body.textContent = '';
    document.getElementById('tasks-count').textContent = (tasks.length ? (hasMore ? 'the first ' + tasks.length + ' ' : tasks.length + ' ') : 'no ') + status + ' task' + (tasks.length === 1 && !hasMore ? '' : 's') + ', oldest first; click one for its log';
    if (!tasks.length) { var tr0 = text('tr'); var td0 = text('td', 'muted', 'no ' + status + ' task'); td0.colSpan = 6; tr0.appendChild(td0); body.appendChild(tr0); return; }
    tasks.forEach(function (t) {
      var tr = text('tr', t.id === taskView.id ? 'open' : '');
      tr.dataset.task = t.id;
      [taskLink(t.id), text('span', '', t.type), text('span', 'badge ' + t.status, t.status), text('span', '', t.attempts + ' / ' + t.maxAttempts), text('span', 'task', t.workerId || '–'), text('span', 'muted', clock(t.updatedAtMs))]
        .forEach(function (c) { var td = text('td'); td.appendChild(c); tr.appendChild(td); });
      body.appendChild(tr);
    });
  }

  function drawWorkers(pools) {
    var body = document.getElementById('workers-body');
    body.textContent = '';
    var n = 0;
    pools.forEach(function (p) {
      (p.workers || []).forEach(function (w) {
        n++;
        if (n > 200) return;
        var tr = text('tr');
        tr.dataset.worker = w.id;
        [text('span', '', p.name), text('span', 'task', w.id), text('span', 'badge ' + w.status, w.status), w.taskId ? taskLink(w.taskId) : text('span', 'task', '–'), text('span', '', String(w.tasksDone)), text('span', 'muted', w.lastHeartbeatMs ? clock(w.lastHeartbeatMs) : '–')]
          .forEach(function (c, i) { var td = text('td', i === 3 ? 'task' : ''); td.appendChild(c); tr.appendChild(td); });
        body.appendChild(tr);
      });
    });
    document.getElementById('workers-count').textContent = n + ' worker' + (n === 1 ? '' : 's') + (n > 200 ? ', first 200 shown' : '') + ', as tidepool top shows them';
    if (!n) { var tr0 = text('tr'); var td0 = text('td', 'muted', 'no workers'); td0.colSpan = 6; tr0.appendChild(td0); body.appendChild(tr0); }
  }

  function drawSummary(snap) {
    if (!snap.tasks) return;
    ['queued', 'running', 'retrying', 'succeeded', 'dead'].forEach(function (k) {
      document.getElementById('s-' + k).textContent = String(snap.tasks[k] || 0);
    });
  }

  function clock(ms) {
    var d = new Date(ms);
    return d.toLocaleTimeString([], { hour12: false });
  }

  function drawEvents() {
    var list = document.getElementById('events');
    list.textContent = '';
    document.getElementById('events-count').textContent = events.length ? events.length + ' recent, newest first' : '';
    if (!events.length) { list.appendChild(text('li', 'muted', 'no scaling decision yet')); return; }
    events.slice().reverse().forEach(function (e) {
      var li = text('li', 'event ' + e.action);
      li.appendChild(text('span', 't', clock(e.atMs)));
      li.appendChild(text('span', 'pool', e.pool));
      li.appendChild(text('span', 'move', e.from + ' → ' + e.to + (e.action === 'scale_up' ? ' ▲' : e.action === 'scale_down' ? ' ▼' : '')));
      var why = text('span', 'why');
      why.appendChild(text('span', 'code', e.code));
      why.appendChild(document.createTextNode(' ' + e.reason));
      li.appendChild(why);
      list.appendChild(li);
    });
  }

  /** Worker events: counts per pool from the last snapshot, then the events, newest first. */
  var eventsPool = '';
  function drawPoolEvents() {
    var names = poolNames();
    var select = document.getElementById('pool-events-pool');
    syncPicker(select, names);
    eventsPool = select.value;
    var last = snapshots.length ? snapshots[snapshots.length - 1] : null;
    var counts = document.getElementById('pool-counts');
    counts.textContent = '';
    (last ? last.pools : []).filter(function (p) { return !eventsPool || p.name === eventsPool; }).forEach(function (p) {
      var row = text('div', 'pool-count');
      row.dataset.pool = p.name;
      row.appendChild(text('b', '', p.name));
      row.appendChild(text('span', 'muted', p.kind));
      var figure = function (n, one, many, bad) {
        var el = text('span', 'figure' + (bad && n > 0 ? ' bad' : ''));
        el.appendChild(text('b', '', String(n)));
        el.appendChild(document.createTextNode(' ' + (n === 1 ? one : many)));
        row.appendChild(el);
      };
      figure(p.crashes, 'crash', 'crashes', true);
      figure(p.startFailures, 'failed start', 'failed starts', true);
      figure(p.stalls, 'stall', 'stalls', true);
      figure(p.respawns, 'respawn', 'respawns');
      figure(p.recycles, 'recycle', 'recycles');
      if (p.respawnBackoffMs > 0) row.appendChild(text('span', 'figure bad', 'next respawn after ' + p.respawnBackoffMs + ' ms'));
      row.appendChild(text('span', 'badge ' + p.health, p.health));
      counts.appendChild(row);
    });
    var list = document.getElementById('pool-events');
    list.textContent = '';
    var shown = poolEvents.filter(function (e) { return !eventsPool || e.pool === eventsPool; });
    if (!shown.length) { list.appendChild(text('li', 'muted', 'no worker event' + (eventsPool ? ' in pool ' + eventsPool : '') + ' in the last hour')); return; }
    shown.slice().reverse().forEach(function (e) {
      var li = text('li', 'event pev ' + severity(e.code));
      li.dataset.code = e.code;
      li.appendChild(text('span', 't', clock(e.atMs)));
      li.appendChild(text('span', 'pool', e.pool));
      li.appendChild(text('span', 'code', e.code.replace(/^worker_/, '')));
      li.appendChild(text('span', 'why', e.reason));
      list.appendChild(li);
    });
  }
  document.getElementById('pool-events-pool').addEventListener('change', drawPoolEvents);

  function severity(code) {
    if (/crashed|failed|stalled/.test(code)) return 'bad';
    if (/respawn|registered/.test(code)) return 'good';
    return 'info';
  }

  function eventKey(e) { return e.atMs + '\u0000' + e.pool + '\u0000' + e.code + '\u0000' + e.reason; }

  /** Adds worker events (from the stream or the event log) once each, oldest first. */
  function addPoolEvents(list) {
    var seen = {};
    poolEvents.forEach(function (e) { seen[eventKey(e)] = true; });
    list.forEach(function (e) { if (isPoolEvent(e) && !seen[eventKey(e)]) { seen[eventKey(e)] = true; poolEvents.push(e); } });
    poolEvents.sort(function (a, b) { return a.atMs - b.atMs; });
    if (poolEvents.length > MAX_POOL_EVENTS) poolEvents = poolEvents.slice(-MAX_POOL_EVENTS);
  }

  /** The stream's hello holds the last 100 events of any kind: the event log has the hour's worker events. */
  function backfillPoolEvents() {
    fetch('/v1/events?limit=1000', { headers: authHeaders() })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body) { addPoolEvents(body.events); drawPoolEvents(); } }, function () {});
  }

  // ---- the task view: details and the log, followed while the task runs ----

  var taskView = { id: null, abort: null, retry: null, lastSeq: 0, attempt: null, lines: 0 };

  function openTask(id) {
    closeTask();
    taskView.id = id;
    var card = document.getElementById('task-view');
    card.hidden = false;
    document.getElementById('tv-id').textContent = id;
    document.getElementById('tv-status').className = 'badge';
    document.getElementById('tv-status').textContent = '…';
    document.getElementById('tv-meta').textContent = '';
    document.getElementById('tv-error').hidden = true;
    document.getElementById('tv-truncated').hidden = true;
    document.getElementById('tv-log').textContent = '';
    document.querySelectorAll('#tasks-body tr').forEach(function (tr) { tr.classList.toggle('open', tr.dataset.task === id); });
    card.scrollIntoView({ block: 'nearest' });
    loadTask(id).then(function (task) {
      if (!task || taskView.id !== id) return;
      if (FINAL.indexOf(task.status) >= 0) readLog(id);
      else followLog(id);
    });
  }

  function closeTask() {
    if (taskView.abort) taskView.abort.abort();
    if (taskView.retry) clearTimeout(taskView.retry);
    taskView = { id: null, abort: null, retry: null, lastSeq: 0, attempt: null, lines: 0 };
    document.getElementById('task-view').hidden = true;
    document.querySelectorAll('#tasks-body tr.open').forEach(function (tr) { tr.classList.remove('open'); });
  }

  /** GET /v1/tasks/{id}: the head of the view (status, type, attempts, worker, error). */
  function loadTask(id) {
    return fetch('/v1/tasks/' + encodeURIComponent(id), { headers: authHeaders() }).then(function (r) {
      if (r.status === 404) { showTaskError('no task ' + id + ' (or not one of this key\'s tenant)'); return null; }
      if (!r.ok) { showTaskError('reading the task failed: HTTP ' + r.status); return null; }
      return r.json();
    }).then(function (task) {
      if (task && taskView.id === id) drawTaskHead(task);
      return task;
    }, function () { showTaskError('the server does not answer'); return null; });
  }

  function drawTaskHead(t) {
    var status = document.getElementById('tv-status');
    status.className = 'badge ' + t.status;
    status.textContent = t.status;
    document.getElementById('tv-meta').textContent = t.type + ' · attempt ' + t.attempts + ' of ' + t.maxAttempts + (t.workerId ? ' · worker ' + t.workerId : '') + ' · created ' + clock(t.createdAtMs);
    if (t.error) showTaskError(t.error.code + ': ' + t.error.message);
    else document.getElementById('tv-error').hidden = true;
  }

  function showTaskError(msg) {
    var el = document.getElementById('tv-error');
    el.textContent = msg;
    el.hidden = false;
  }

  function setFollow(state, msg) {
    var el = document.getElementById('tv-follow');
    el.className = 'follow ' + state;
    el.textContent = msg;
  }

  function appendLine(l) {
    var log = document.getElementById('tv-log');
    var atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 8;
    if (log.firstChild && log.firstChild.classList && log.firstChild.classList.contains('muted')) log.textContent = '';
    if (l.attempt !== taskView.attempt) {
      if (taskView.attempt !== null && taskView.id) loadTask(taskView.id);
      taskView.attempt = l.attempt;
      log.appendChild(text('li', 'attempt', 'attempt ' + l.attempt));
    }
    var li = text('li', 'line ' + l.stream);
    var d = new Date(l.atMs);
    li.appendChild(text('span', 't', clock(l.atMs) + '.' + String(d.getMilliseconds()).padStart(3, '0')));
    li.appendChild(text('span', 'stream', l.stream));
    li.appendChild(text('span', 'text', l.text));
    log.appendChild(li);
    taskView.lines++;
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  function noLines() {
    var log = document.getElementById('tv-log');
    if (!taskView.lines) { log.textContent = ''; log.appendChild(text('li', 'muted', 'this task printed nothing')); }
  }

  /** An ended task: its whole log at once. */
  function readLog(id) {
    setFollow('', 'loading the log…');
    fetch('/v1/tasks/' + encodeURIComponent(id) + '/logs', { headers: authHeaders() })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(new Error('HTTP ' + r.status)); })
      .then(function (page) {
        if (taskView.id !== id) return;
        page.lines.forEach(appendLine);
        document.getElementById('tv-truncated').hidden = !page.truncated;
        noLines();
        setFollow('ended', taskView.lines + ' line' + (taskView.lines === 1 ? '' : 's') + '; the task has ended');
      }, function (err) { if (taskView.id === id) setFollow('down', 'reading the log failed: ' + err.message); });
  }

  /** A running task: ?follow=1 (server-sent events read through fetch, so the key goes in a header). */
  function followLog(id) {
    var ctl = new AbortController();
    taskView.abort = ctl;
    setFollow('live', 'following live…');
    var headers = authHeaders();
    if (taskView.lastSeq) headers['last-event-id'] = String(taskView.lastSeq);
    var hasEnded = false;
    fetch('/v1/tasks/' + encodeURIComponent(id) + '/logs?follow=1', { headers: headers, signal: ctl.signal }).then(function (res) {
      if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
      var reader = res.body.getReader();
      var decoder = new TextDecoder();
      var buf = '';
      var pump = function () {
        return reader.read().then(function (r) {
          if (r.done) return;
          buf += decoder.decode(r.value, { stream: true });
          var parts = buf.split('\n\n');
          buf = parts.pop();
          parts.forEach(function (block) { if (onMessage(id, block)) hasEnded = true; });
          return pump();
        });
      };
      return pump();
    }).then(function () {
      if (taskView.id !== id || hasEnded) return;
      reconnect(id, 'the stream closed; reconnecting…');
    }, function (err) {
      if (taskView.id !== id || ctl.signal.aborted) return;
      reconnect(id, 'following failed (' + err.message + '); reconnecting…');
    });
  }

  function reconnect(id, msg) {
    setFollow('down', msg);
    taskView.retry = setTimeout(function () { if (taskView.id === id) followLog(id); }, 2000);
  }

  /** One server-sent event of the log stream; true once it was the end. */
  function onMessage(id, block) {
    if (taskView.id !== id) return false;
    var event = 'message';
    var data = '';
    block.split('\n').forEach(function (line) {
      if (line.indexOf('event:') === 0) event = line.slice(6).trim();
      else if (line.indexOf('data:') === 0) data += line.slice(5).trim();
      else if (line.indexOf('id:') === 0) taskView.lastSeq = Number(line.slice(3).trim()) || taskView.lastSeq;
    });
    if (event === 'line') appendLine(JSON.parse(data));
    else if (event === 'truncated') document.getElementById('tv-truncated').hidden = false;
    else if (event === 'end') {
      var status = JSON.parse(data).status;
      noLines();
      setFollow('ended', 'ended: ' + status + ' · ' + taskView.lines + ' line' + (taskView.lines === 1 ? '' : 's'));
      loadTask(id);
      refreshTasks();
      return true;
    } else if (event === 'error') {
      setFollow('down', JSON.parse(data).message);
      return true;
    }
    return false;
  }

  document.addEventListener('click', function (ev) {
    var a = ev.target.closest ? ev.target.closest('[data-task]') : null;
    if (!a) return;
    ev.preventDefault();
    openTask(a.dataset.task);
  });
  document.getElementById('tv-close').addEventListener('click', closeTask);
  document.getElementById('task-open').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var id = document.getElementById('task-open-id').value.trim();
    if (id) openTask(id);
  });

  function setConn(state, msg) {
    var el = document.getElementById('conn');
    el.className = 'conn ' + state;
    document.getElementById('conn-text').textContent = msg;
  }

  function key() {
    var m = /(?:^|[#&])key=([^&]+)/.exec(location.hash);
    if (m) { try { localStorage.setItem('tidepool.key', decodeURIComponent(m[1])); } catch (e) {} return decodeURIComponent(m[1]); }
    try { return localStorage.getItem('tidepool.key') || ''; } catch (e) { return ''; }
  }

  function connect() {
    if (source) source.close();
    var k = key();
    source = new EventSource('/v1/stream' + (k ? '?key=' + encodeURIComponent(k) : ''));
    source.addEventListener('hello', function (m) {
      var hello = JSON.parse(m.data);
      snapshots = hello.history.slice(-MAX_POINTS);
      events = hello.events.filter(function (e) { return !isPoolEvent(e); });
      addPoolEvents(hello.events);
      backfillPoolEvents();
      setConn('live', 'live · every ' + hello.intervalMs + ' ms');
      document.getElementById('key-form').hidden = true;
      if (snapshots.length) { var last = snapshots[snapshots.length - 1]; drawPools(last); drawSummary(last); }
      drawCharts();
      drawEvents();
      drawPoolEvents();
    });
    source.addEventListener('snapshot', function (m) {
      var snap = JSON.parse(m.data);
      snapshots.push(snap);
      if (snapshots.length > MAX_POINTS) snapshots.shift();
      drawCharts();
      drawPools(snap);
      drawSummary(snap);
      drawPoolEvents();
      refreshWorkers();
      document.body.dataset.snapshots = String(snapshots.length);
    });
    source.addEventListener('scaling', function (m) {
      var e = JSON.parse(m.data);
      if (isPoolEvent(e)) { addPoolEvents([e]); drawPoolEvents(); return; }
      events.push(e);
      if (events.length > 200) events.shift();
      drawEvents();
    });
    source.onerror = function () {
      setConn('down', 'reconnecting…');
      // A 401 closes the stream for good: ask for a key.
      if (source.readyState === EventSource.CLOSED) {
        fetch('/v1/pools', { headers: k ? { authorization: 'Bearer ' + k } : {} }).then(function (r) {
          if (r.status === 401) { setConn('down', 'API key needed'); document.getElementById('key-form').hidden = false; }
          else setTimeout(connect, 2000);
        }, function () { setTimeout(connect, 2000); });
      }
    };
  }

  document.getElementById('key-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    try { localStorage.setItem('tidepool.key', document.getElementById('key-input').value); } catch (e) {}
    connect();
  });
  connect();
  var linked = /(?:^|[#&])task=([^&]+)/.exec(location.hash);
  if (linked) openTask(decodeURIComponent(linked[1]));
})();

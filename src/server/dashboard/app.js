// The Tidepool dashboard: subscribes to /v1/stream (server-sent events) and draws
// queue depth, workers, p95 wait and throughput per pool with echarts, the pools
// table and the scaling events with their reasons. No build step, no CDN.
(function () {
  'use strict';
  var MAX_POINTS = 600;
  var snapshots = [];
  var events = [];
  var source = null;

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
    var have = Array.prototype.map.call(select.options, function (o) { return o.value; }).slice(1);
    if (have.join('\u0000') !== names.join('\u0000')) {
      while (select.options.length > 1) select.remove(1);
      names.forEach(function (n) { var o = document.createElement('option'); o.value = n; o.textContent = n; select.appendChild(o); });
    }
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
    var k = key();
    fetch('/v1/pools', { headers: k ? { authorization: 'Bearer ' + k } : {} })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) { if (body) drawWorkers(body.pools); }, function () {});
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
        [text('span', '', p.name), text('span', 'task', w.id), text('span', 'badge ' + w.status, w.status), text('span', 'task', w.taskId || '–'), text('span', '', String(w.tasksDone)), text('span', 'muted', w.lastHeartbeatMs ? clock(w.lastHeartbeatMs) : '–')]
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
      events = hello.events.slice();
      setConn('live', 'live · every ' + hello.intervalMs + ' ms');
      document.getElementById('key-form').hidden = true;
      if (snapshots.length) { var last = snapshots[snapshots.length - 1]; drawPools(last); drawSummary(last); }
      drawCharts();
      drawEvents();
    });
    source.addEventListener('snapshot', function (m) {
      var snap = JSON.parse(m.data);
      snapshots.push(snap);
      if (snapshots.length > MAX_POINTS) snapshots.shift();
      drawCharts();
      drawPools(snap);
      drawSummary(snap);
      refreshWorkers();
      document.body.dataset.snapshots = String(snapshots.length);
    });
    source.addEventListener('scaling', function (m) {
      events.push(JSON.parse(m.data));
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
})();

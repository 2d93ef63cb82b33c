// The live dashboard's script: plain browser JavaScript, no build step. It reads one server-sent-event stream
// (/admin/stats/stream): a `history` event with the recent chart points, then a `frame` every second. Every value
// is put in the page as text (never as HTML), so names from the config cannot inject markup.
'use strict';

(() => {
  const MAX_POINTS = 300;
  const params = new URLSearchParams(location.search);
  const key = params.get('key');
  const withKey = (path) => (key ? `${path}${path.includes('?') ? '&' : '?'}key=${encodeURIComponent(key)}` : path);
  const $ = (id) => document.getElementById(id);

  // ---- formatting
  const num = (v, digits = 1) => {
    if (v === null || v === undefined || !Number.isFinite(v)) return '—';
    if (Math.abs(v) >= 1e6) return `${(v / 1e6).toFixed(digits)}M`;
    if (Math.abs(v) >= 1e4) return `${(v / 1e3).toFixed(digits)}k`;
    return Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(digits);
  };
  const ms = (s) => (s === null || s === undefined ? '—' : num(s * 1000, 0));
  const pct = (r) => (r === null || r === undefined || !Number.isFinite(r) ? '—' : `${(r * 100).toFixed(r >= 0.995 || r === 0 ? 0 : 1)}%`);
  const el = (tag, props = {}, children = []) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k === 'style') e.setAttribute('style', v);
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  };
  const fill = (tbody, rows) => tbody.replaceChildren(...rows);

  // ---- charts
  const palette = ['#3fb950', '#d29922', '#f85149', '#a371f7', '#58a6ff', '#39c5cf', '#db61a2'];
  const charts = [];
  const makeChart = (id, series, opts = {}) => {
    const host = $(id);
    const chart = new uPlot({
      width: Math.max(260, host.clientWidth),
      height: 200,
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [Math.min(0, min), Math.max(1, max * 1.1)] } },
      axes: [
        { stroke: '#8b98a5', grid: { stroke: '#26303b' }, ticks: { stroke: '#26303b' } },
        { stroke: '#8b98a5', grid: { stroke: '#26303b' }, ticks: { stroke: '#26303b' }, size: 64 },
      ],
      series: [{}, ...series.map((s, i) => ({ label: s.label, stroke: s.color ?? palette[i % palette.length], width: 1.5, dash: s.dash, spanGaps: true, value: (_u, v) => num(v) }))],
      ...opts,
    }, [[], ...series.map(() => [])], host);
    charts.push({ chart, host, pick: series.map((s) => s.pick) });
  };
  makeChart('chart-rps', [
    { label: 'admitted', pick: (p) => p.admitted, color: '#58a6ff', dash: [4, 4] },
    { label: 'ok', pick: (p) => p.ok, color: '#3fb950' },
    { label: 'shed', pick: (p) => p.shed, color: '#d29922' },
    { label: 'failed', pick: (p) => p.failed, color: '#f85149' },
    { label: 'retried', pick: (p) => p.retried, color: '#a371f7' },
  ]);
  const toMs = (v) => (v === null ? null : v * 1000);
  makeChart('chart-lat', [
    { label: 'p50', pick: (p) => toMs(p.p50) },
    { label: 'p95', pick: (p) => toMs(p.p95) },
    { label: 'p99', pick: (p) => toMs(p.p99) },
    { label: 'TTFT p50', pick: (p) => toMs(p.ttft50), dash: [4, 4] },
    { label: 'TTFT p95', pick: (p) => toMs(p.ttft95), dash: [4, 4] },
  ]);
  makeChart('chart-queue', [
    { label: 'queued', pick: (p) => p.queued, color: '#d29922' },
    { label: 'in flight', pick: (p) => p.inFlight, color: '#58a6ff' },
  ]);
  makeChart('chart-cap', [
    { label: 'demand', pick: (p) => p.demand, color: '#58a6ff' },
    { label: 'forecast', pick: (p) => p.forecast, color: '#a371f7', dash: [6, 4] },
    { label: 'capacity', pick: (p) => p.capacity, color: '#3fb950' },
  ]);
  makeChart('chart-tok', [{ label: 'tokens/min', pick: (p) => p.tokensPerMin, color: '#39c5cf' }]);

  let points = [];
  const redraw = () => {
    const xs = points.map((p) => p.t / 1000);
    for (const c of charts) c.chart.setData([xs, ...c.pick.map((f) => points.map(f))]);
  };
  const resize = () => {
    for (const c of charts) c.chart.setSize({ width: Math.max(260, c.host.clientWidth), height: window.innerWidth < 600 ? 160 : 200 });
  };
  window.addEventListener('resize', resize);

  // ---- panels
  const tile = (label, value, cls = '') => el('div', { class: 'tile' }, [el('div', { class: `v ${cls}`, text: value }), el('div', { class: 'k', text: label })]);
  const renderTiles = (f) => {
    const p = f.point;
    const answered = p.ok + p.failed;
    const util = f.forecast.utilization;
    $('tiles').replaceChildren(
      tile('requests / s', num(p.rps)),
      tile('admitted / s', num(p.admitted)),
      tile('success', pct(answered > 0 ? p.ok / answered : null), answered > 0 && p.ok / answered < 0.99 ? 'warn' : 'ok'),
      tile('shed / s', num(p.shed), p.shed > 0 ? 'warn' : ''),
      tile('failed / s', num(p.failed), p.failed > 0 ? 'bad' : ''),
      tile('retried / s', num(p.retried)),
      tile('latency p95 ms', ms(p.p95)),
      tile('TTFT p95 ms', ms(p.ttft95)),
      tile('in flight', num(p.inFlight)),
      tile('queued', num(p.queued), p.queued > 0 ? 'warn' : ''),
      tile('tokens / min', num(p.tokensPerMin)),
      tile('cache hit rate', pct(f.cacheHitRatio)),
      tile('prompt cache hit', pct(f.promptCacheHitRatio)),
      tile(`load in ${f.forecast.horizonS} s`, util === null ? '—' : pct(util), util === null ? '' : util >= 1 ? 'bad' : util >= 0.8 ? 'warn' : 'ok'),
    );
    $('horizon').textContent = String(f.forecast.horizonS);
  };

  const stateBadge = (u) => {
    if (u.drained) return el('span', { class: 'badge off', text: 'drained' });
    if (u.health === 'ejected') return el('span', { class: 'badge bad', text: 'ejected (breaker open)' });
    if (u.health === 'half_open') return el('span', { class: 'badge warn', text: 'half-open (probing)' });
    return el('span', { class: 'badge ok', text: 'healthy' });
  };
  const bar = (v, max) => el('div', { class: 'bar', title: `${v} of ${max}` }, [
    el('span', { style: `width:${max > 0 ? Math.min(100, (100 * v) / max) : 0}%` }),
    el('em', { text: `${v} / ${max}` }),
  ]);
  const adminPost = async (path) => {
    const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) } });
    if (!res.ok) {
      const body = await res.json().catch(() => ({}));
      window.alert(body?.error?.message ?? `${res.status}`);
    }
  };
  // Upstream rows are kept and updated in place (not rebuilt each frame), so a drain button stays the same element
  // between a press and its release and the click is never lost to a re-render.
  const upstreamRows = new Map();
  const renderUpstreams = (f) => {
    const rows = f.upstreams.map((u) => {
      let row = upstreamRows.get(u.name);
      if (row === undefined) {
        const cells = Array.from({ length: 7 }, () => el('td'));
        const button = el('button', { onclick: () => void adminPost(`/admin/upstreams/${encodeURIComponent(u.name)}/${button.dataset.action}`) });
        cells[6].append(button);
        row = { tr: el('tr', {}, cells), cells, button };
        upstreamRows.set(u.name, row);
      }
      const attempts = Object.entries(u.attempts).sort((a, b) => b[1] - a[1]).map(([o, r]) => `${o} ${num(r)}`).join(', ') || '—';
      const accounts = u.accounts.map((a) => `${a.name} ${a.inFlight}/${a.maxConcurrency}${a.restingMs > 0 ? ` resting ${Math.ceil(a.restingMs / 1000)}s` : ''}${a.disabledMs > 0 ? ' key refused' : ''}`).join(' · ');
      const [name, state, load, ttft, tries, accts] = row.cells;
      name.textContent = u.name;
      state.replaceChildren(stateBadge(u));
      load.replaceChildren(bar(u.inFlight, u.cap));
      ttft.textContent = num(u.latencyMs, 0);
      tries.textContent = attempts;
      accts.textContent = accounts;
      row.button.dataset.action = u.drained ? 'undrain' : 'drain';
      row.button.textContent = row.button.dataset.action;
      return row.tr;
    });
    // Upstreams gone after a config reload leave the table.
    const live = new Set(f.upstreams.map((u) => u.name));
    for (const name of upstreamRows.keys()) if (!live.has(name)) upstreamRows.delete(name);
    const body = $('upstreams').tBodies[0];
    if (rows.length !== body.children.length || rows.some((r, i) => body.children[i] !== r)) fill(body, rows);
  };
  const renderQueue = (f) => {
    fill($('queue').tBodies[0], ['high', 'normal', 'low'].map((p) => el('tr', {}, [
      el('td', { text: p }), el('td', { text: String(f.queue.depth[p] ?? 0) }), el('td', { text: `${ms(f.queue.waitP95S[p] ?? null)} ms` }),
    ])));
  };
  const renderReasons = (f) => {
    const rows = [];
    const add = (what, map, cls) => {
      for (const [why, r] of Object.entries(map).sort((a, b) => b[1] - a[1])) rows.push(el('tr', {}, [el('td', { class: cls, text: what }), el('td', { text: why }), el('td', { text: num(r, 2) })]));
    };
    add('shed', f.shedReasons, 'warn');
    add('answered', f.failures, 'bad');
    add('retried', f.retries, '');
    if (rows.length === 0) rows.push(el('tr', {}, [el('td', { class: 'muted', text: 'nothing shed, failed or retried in the last few seconds', colspan: '3' })]));
    fill($('reasons').tBodies[0], rows);
  };
  // "errors only" asks the request log (GET /admin/requests?errors=true), which holds more than a frame's last 25.
  let errorsOnly = [];
  const loadErrors = async () => {
    if (!$('errors-only').checked) return;
    const res = await fetch('/admin/requests?errors=true&limit=25', { headers: key ? { authorization: `Bearer ${key}` } : {} });
    if (res.ok) errorsOnly = (await res.json()).requests;
  };
  $('errors-only').addEventListener('change', () => void loadErrors());
  window.setInterval(() => void loadErrors(), 2000);
  const renderRecent = (f) => {
    const list = $('errors-only').checked ? errorsOnly : f.recent;
    fill($('recent').tBodies[0], list.map((r) => el('tr', {}, [
      el('td', { text: r.time.slice(11, 23) }),
      el('td', { class: r.status >= 500 ? 'bad' : r.status >= 400 ? 'warn' : 'ok', text: String(r.status) }),
      el('td', { text: r.code }),
      el('td', { text: r.model }),
      el('td', { text: r.upstream ?? '—' }),
      el('td', { text: String(r.attempts) }),
      el('td', { text: r.cache ?? '—' }),
      el('td', { text: num(r.ms, 0) }),
    ])));
  };
  const labelText = (l) => Object.entries(l).map(([k, v]) => `${k}=${v}`).join(' ') || '(no labels)';
  const open = new Set();
  const renderFamilies = (f) => {
    const nodes = f.families.map((fam) => {
      let rows;
      if (fam.type === 'counter') rows = fam.series.map((s) => [labelText(s.labels), `${num(s.perSecond, 2)}/s`, `total ${num(s.total, 0)}`]);
      else if (fam.type === 'gauge') rows = fam.series.map((s) => [labelText(s.labels), num(s.value, 2), '']);
      else rows = fam.series.map((s) => [labelText(s.labels), `p50 ${num(s.p50, 3)} · p95 ${num(s.p95, 3)} · p99 ${num(s.p99, 3)}`, `${num(s.perSecond, 2)}/s`]);
      const d = el('details', { title: fam.help }, [
        el('summary', { text: `${fam.name} (${fam.type}, ${fam.series.length} series)` }),
        el('table', {}, [el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', { text: c })))))]),
      ]);
      if (open.has(fam.name)) d.open = true;
      d.addEventListener('toggle', () => (d.open ? open.add(fam.name) : open.delete(fam.name)));
      return d;
    });
    $('families').replaceChildren(...nodes);
  };

  const render = (f) => {
    renderTiles(f);
    renderUpstreams(f);
    renderQueue(f);
    renderReasons(f);
    renderRecent(f);
    renderFamilies(f);
    const finishing = f.config.replacedStillFinishing > 0 ? ` · ${f.config.replacedStillFinishing} replaced config(s) finishing requests` : '';
    $('cfg').textContent = `config ${f.config.source} · loaded ${f.config.loadedAt.slice(11, 19)} UTC · reloads ${f.config.reloads}${finishing}`;
  };

  // ---- the stream
  const conn = $('conn');
  const es = new EventSource(withKey('/admin/stats/stream'));
  es.addEventListener('open', () => {
    conn.textContent = 'live';
    conn.className = 'badge ok';
  });
  es.addEventListener('error', () => {
    conn.textContent = 'reconnecting…';
    conn.className = 'badge warn';
  });
  es.addEventListener('history', (e) => {
    points = JSON.parse(e.data).points.slice(-MAX_POINTS);
    redraw();
  });
  es.addEventListener('frame', (e) => {
    const f = JSON.parse(e.data);
    const last = points[points.length - 1];
    if (last === undefined || last.t !== f.point.t) points.push(f.point);
    if (points.length > MAX_POINTS) points = points.slice(-MAX_POINTS);
    redraw();
    render(f);
    document.body.dataset.frames = String(Number(document.body.dataset.frames ?? 0) + 1);
  });
})();

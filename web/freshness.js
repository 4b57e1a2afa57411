// The freshness histogram (counts per bucket): seconds from a file change to its rows committed, as a bar chart
// (chart.js, loaded as a classic script before the page's modules) with the same counts as a table.
import { el, fill, num } from './dom.js';

let chart = null;

function label(le, prev) {
  const fmt = (v) => (v < 1 ? `${Math.round(v * 1000)} ms` : `${v} s`);
  if (le === null || le === undefined || !Number.isFinite(le)) return prev === null ? 'any' : `> ${fmt(prev)}`;
  return `≤ ${fmt(le)}`;
}

/** The bars: one per bucket, in order of its bound (the last bound, +Inf, arrives as null). */
function bars(freshness) {
  const bound = (b) => (b.le === null || b.le === undefined ? Infinity : b.le);
  const buckets = [...freshness.buckets].sort((a, b) => bound(a) - bound(b));
  return buckets.map((b, i) => ({ label: label(b.le, i === 0 ? null : buckets[i - 1].le), count: b.count }));
}

/** Renders `status.daemon.freshness`, or says that no daemon runs in this process. */
export function renderFreshness(daemon) {
  const canvas = document.getElementById('freshness-chart');
  document.getElementById('freshness-view').hidden = !daemon;
  if (!daemon) {
    fill('freshness-note', 'No daemon in this process: freshness is measured by ragsync watch DIR --serve.');
    return;
  }
  const f = daemon.freshness;
  const rows = bars(f);
  const mean = f.count > 0 ? ` · mean ${(f.sum / f.count).toFixed(2)} s` : '';
  fill('freshness-note', `${num(f.count)} documents synced since the daemon started${mean}.`);
  fill(
    'freshness-table',
    el(
      'table',
      {},
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'Change to indexed'), el('th', { scope: 'col' }, 'Documents'))),
      el(
        'tbody',
        {},
        rows.map((r) => el('tr', {}, el('td', {}, r.label), el('td', { class: 'num' }, num(r.count)))),
      ),
    ),
  );
  canvas.setAttribute('aria-label', `Freshness histogram: ${rows.map((r) => `${r.label}: ${r.count}`).join(', ')}`);
  draw(canvas, rows);
}

function draw(canvas, rows) {
  if (!window.Chart) {
    fill('freshness-note', 'The chart library did not load (/assets/vendor/chart.umd.min.js); the counts are in the table below.');
    return;
  }
  const labels = rows.map((r) => r.label);
  const data = rows.map((r) => r.count);
  if (chart) {
    chart.data.labels = labels;
    chart.data.datasets[0].data = data;
    chart.update('none');
    return;
  }
  chart = new window.Chart(canvas, {
    type: 'bar',
    data: { labels, datasets: [{ label: 'documents', data, backgroundColor: '#3b6fd8', borderRadius: 3 }] },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: false }, tooltip: { callbacks: { title: (items) => `change to indexed ${items[0].label}` } } },
      scales: {
        x: { title: { display: true, text: 'time from file change to rows committed' }, grid: { display: false } },
        y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'documents' } },
      },
    },
  });
}

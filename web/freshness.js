// The freshness histogram: seconds from a file change to its rows committed, as a bar chart
// (chart.js, loaded as a classic script before the page's modules) with the same counts as a table.
import { el, fill, num } from './dom.js';

let chart = null;

function label(le, prev) {
  const fmt = (v) => (v < 1 ? `${Math.round(v * 1000)} ms` : `${v} s`);
  if (le === null || le === undefined || !Number.isFinite(le)) return prev === null ? 'any' : `> ${fmt(prev)}`;
  return `≤ ${fmt(le)}`;
}

/**
 * Per-bucket counts. Prometheus buckets are cumulative (each counts every observation up to its
 * bound); a series that never decreases and ends at the total is read as such.
 */
function bars(freshness) {
  const buckets = [...freshness.buckets].sort((a, b) => (a.le ?? Infinity) - (b.le ?? Infinity));
  const counts = buckets.map((b) => b.count);
  const cumulative = counts.every((c, i) => i === 0 || c >= counts[i - 1]) && (counts.at(-1) ?? 0) <= freshness.count;
  const per = cumulative ? counts.map((c, i) => c - (i === 0 ? 0 : counts[i - 1])) : counts;
  const rows = buckets.map((b, i) => ({ label: label(b.le, i === 0 ? null : buckets[i - 1].le), count: per[i] }));
  const inBuckets = per.reduce((a, c) => a + c, 0);
  if (cumulative && freshness.count > inBuckets && rows.length > 0)
    rows.push({ label: label(null, buckets.at(-1).le), count: freshness.count - inBuckets });
  return rows;
}

/** Renders `status.daemon.freshness`, or says that no daemon runs in this process. */
export function renderFreshness(daemon) {
  const canvas = document.getElementById('freshness-chart');
  if (!daemon) {
    canvas.hidden = true;
    fill('freshness-note', 'No daemon in this process: freshness is measured by ragsync watch DIR --serve.');
    fill('freshness-table', '');
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
  canvas.hidden = false;
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

/**
 * The proxy's live status page (`GET /`): one self-contained HTML page that reads `/status` every
 * second and draws each source's condition, latency, head, lag and breaker. No external assets.
 */
export const statusPage = (chainId: number) => `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>outlast proxy · chain ${chainId}</title>
<meta name="viewport" content="width=device-width,initial-scale=1">
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#111;background:#fafafa}
h1{font-size:1.2rem}table{border-collapse:collapse;min-width:40rem}
th,td{padding:.35rem .7rem;border-bottom:1px solid #ddd;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.healthy{color:#0a7f2e}.degraded,.probing,.lagging,.unconfirmed{color:#b26a00}
.down,.lying,.forked,.wrong-chain,.rate-limited{color:#c01818;font-weight:600}
#head{margin:.5rem 0 1rem}
</style></head><body>
<h1>outlast proxy · chain ${chainId}</h1>
<div id="head">…</div>
<table><thead><tr><th>source</th><th>domain</th><th>condition</th><th>p50</th><th>p95</th>
<th>errors</th><th>requests</th><th>head</th><th>lag</th><th>breaker</th><th>last error</th></tr></thead>
<tbody id="rows"></tbody></table>
<p><a href="/status">/status</a> · <a href="/metrics">/metrics</a></p>
<script>
const esc = (v) => String(v ?? '–').replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c])
async function tick() {
  try {
    const s = await (await fetch('/status')).json()
    document.getElementById('head').textContent =
      (s.head ? 'head #' + s.head.number + (s.headConfirmed ? '' : ' (unconfirmed)') : 'head unknown') +
      ' · quorum ' + s.quorum.healthyDomains.length + '/' + s.quorum.domains + ' domains' + (s.quorum.met ? '' : ' (not met)')
    document.getElementById('rows').innerHTML = s.sources.map((x) =>
      '<tr><td>' + esc(x.name) + '</td><td>' + esc(x.domain) + '</td><td class="' + esc(x.condition) + '">' + esc(x.condition) +
      '</td><td class="n">' + esc(x.latency.p50) + '</td><td class="n">' + esc(x.latency.p95) + '</td><td class="n">' +
      Math.round(x.errorRate * 100) + '%</td><td class="n">' + x.requests + '</td><td class="n">' + esc(x.head) +
      '</td><td class="n">' + x.lag + '</td><td>' + esc(x.breaker) + '</td><td>' + esc(x.lastError) + '</td></tr>').join('')
  } catch (e) { document.getElementById('head').textContent = 'proxy unreachable' }
  setTimeout(tick, 1000)
}
tick()
</script></body></html>
`

/** A hand-written SVG bar chart of p99 per scenario and client, on a log scale. */
import { type ClientName, clientLabels } from './clients.ts'
import { fmtMs, RELIABLE, type Summary } from './report.ts'

const colors: Record<ClientName, string> = {
  outlast: '#2563eb',
  viem: '#f59e0b',
  'viem-rank': '#b45309',
  ethers: '#059669',
  floor: '#9ca3af',
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')

export function p99Chart(
  groups: readonly { title: string; short: string; rows: readonly Summary[] }[],
  clients: readonly ClientName[],
  subtitle: string,
): string {
  const bar = 13
  const gap = 22
  const groupWidth = clients.length * bar + gap
  const left = 92
  const top = 70
  const plotHeight = 360
  const bottom = 120
  const width = Math.max(1_000, left + groups.length * groupWidth + 90)
  const height = top + plotHeight + bottom
  const minLog = 0 // 1 ms
  const maxLog = 5 // 100 s
  const y = (ms: number) => {
    const v = Math.min(maxLog, Math.max(minLog, Math.log10(Math.max(ms, 1))))
    return top + plotHeight - ((v - minLog) / (maxLog - minLog)) * plotHeight
  }
  const out: string[] = []
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="chart-title" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="11">`,
    `<title id="chart-title">p99 latency per scenario and client, log scale: ${esc(subtitle)}</title>`,
    '<defs><pattern id="hatch" width="5" height="5" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="5" height="5" fill="white" fill-opacity="0.55"/><line x1="0" y1="0" x2="0" y2="5" stroke="black" stroke-width="1.2"/></pattern></defs>',
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${left}" y="24" font-size="16" font-weight="600">p99 latency per scenario and client (log scale; lower is better)</text>`,
    `<text x="${left}" y="42" fill="#555">${esc(subtitle)}</text>`,
  )
  // Legend
  let lx = left
  for (const c of clients) {
    out.push(
      `<rect x="${lx}" y="52" width="11" height="11" fill="${colors[c]}"/>`,
      `<text x="${lx + 15}" y="61">${esc(clientLabels[c])}</text>`,
    )
    lx += 30 + clientLabels[c].length * 6.2
  }
  out.push(
    `<rect x="${lx}" y="52" width="11" height="11" fill="#777"/><rect x="${lx}" y="52" width="11" height="11" fill="url(#hatch)"/>`,
    `<text x="${lx + 15}" y="61">hatched: under ${RELIABLE * 100} % right answers</text>`,
  )
  // Grid and axis
  for (let e = minLog; e <= maxLog; e++) {
    const ty = y(10 ** e)
    out.push(
      `<line x1="${left}" y1="${ty}" x2="${width - 20}" y2="${ty}" stroke="#e5e7eb"/>`,
      `<text x="${left - 6}" y="${ty + 4}" text-anchor="end" fill="#444">${esc(fmtMs(10 ** e).replace('.0 ms', ' ms'))}</text>`,
    )
  }
  const capY = y(30_000)
  out.push(
    `<line x1="${left}" y1="${capY}" x2="${width - 20}" y2="${capY}" stroke="#dc2626" stroke-dasharray="4 3"/>`,
    `<text x="${width - 22}" y="${capY - 4}" text-anchor="end" fill="#dc2626">30 s cap per request</text>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotHeight}" stroke="#444"/>`,
    `<line x1="${left}" y1="${top + plotHeight}" x2="${width - 20}" y2="${top + plotHeight}" stroke="#444"/>`,
  )
  groups.forEach((g, gi) => {
    const gx = left + gap / 2 + gi * groupWidth
    clients.forEach((c, ci) => {
      const s = g.rows.find((r) => r.client === c)
      if (!s || !Number.isFinite(s.p99)) return
      const x = gx + ci * bar
      const by = y(s.p99)
      const h = top + plotHeight - by
      const tip = `${g.title} · ${clientLabels[c]}: p99 ${fmtMs(s.p99)}, ${(100 * s.success).toFixed(1)} % right`
      out.push(
        `<rect x="${x}" y="${by}" width="${bar - 2}" height="${h}" fill="${colors[c]}"><title>${esc(tip)}</title></rect>`,
      )
      if (s.success < RELIABLE)
        out.push(`<rect x="${x}" y="${by}" width="${bar - 2}" height="${h}" fill="url(#hatch)"/>`)
      const label = fmtMs(s.p99).replace(' ms', '')
      out.push(
        `<text transform="translate(${x + bar / 2 + 2} ${by - 3}) rotate(-90)" font-size="9" fill="#333">${esc(label)}</text>`,
      )
    })
    const cx = gx + (clients.length * bar) / 2
    out.push(
      `<text transform="translate(${cx - 4} ${top + plotHeight + 14}) rotate(35)" font-size="11" fill="#111">${esc(g.short)}<title>${esc(g.title)}</title></text>`,
    )
  })
  out.push(
    `<text transform="translate(18 ${top + plotHeight / 2}) rotate(-90)" text-anchor="middle" fill="#444">p99 latency</text>`,
    '</svg>',
  )
  return `${out.join('\n')}\n`
}

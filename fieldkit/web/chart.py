"""The ledger review as an inline SVG bar chart: no script, no image request, readable by screen readers."""

from __future__ import annotations

from html import escape

WIDTH, HEIGHT, PAD = 320, 140, 22


def month_bars(per_month: dict[str, int], title: str) -> str:
    """Bars per month (``{"2026-01": 3, ...}``), labelled, with a <title> and a text table fallback."""
    months = list(per_month)[-12:]  # the last year fits a 5-inch screen
    if not months:
        return ""
    top = max(per_month[m] for m in months) or 1
    slot = (WIDTH - PAD) / len(months)
    bars = []
    for i, m in enumerate(months):
        n = per_month[m]
        h = round((HEIGHT - 2 * PAD) * n / top)
        x = round(PAD + i * slot + slot * 0.15, 1)
        w = round(slot * 0.7, 1)
        y = HEIGHT - PAD - h
        bars.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}"><title>{escape(m)}: {n}</title></rect>'
                    f'<text x="{round(x + w / 2, 1)}" y="{y - 3}" text-anchor="middle">{n}</text>'
                    f'<text x="{round(x + w / 2, 1)}" y="{HEIGHT - 6}" text-anchor="middle">{escape(m[5:])}</text>')
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
            f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
            f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH}" y2="{HEIGHT - PAD}"/>{"".join(bars)}</svg>')

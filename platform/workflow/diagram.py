"""A workflow drawn as inline SVG on the server: states in columns by their distance from the first state,
transitions as arrows. No script and no inline styles, so it renders under our CSP and on any phone."""
from __future__ import annotations

from flask_babel import gettext as _
from markupsafe import Markup, escape

W, H, GAP_X, GAP_Y, PAD = 150, 44, 70, 26, 16


def _layers(spec: dict) -> dict[str, int]:
    depth = {spec["initial"]: 0}
    frontier = [spec["initial"]]
    while frontier:
        nxt = []
        for code in frontier:
            for t in spec["transitions"]:
                if code in t["from"] and t["to"] not in depth:
                    depth[t["to"]] = depth[code] + 1
                    nxt.append(t["to"])
        frontier = nxt
    last = max(depth.values(), default=0)
    for state in spec["states"]:  # unreachable states go in a last column
        depth.setdefault(state["code"], last + 1)
    return depth


def render(spec: dict, current: str | None = None) -> Markup:
    depth = _layers(spec)
    columns: dict[int, list[dict]] = {}
    for state in spec["states"]:
        columns.setdefault(depth[state["code"]], []).append(state)
    pos = {}
    for col, states in columns.items():
        for row, state in enumerate(states):
            pos[state["code"]] = (PAD + col * (W + GAP_X), PAD + row * (H + GAP_Y))
    width = PAD * 2 + (max(columns) + 1) * (W + GAP_X) - GAP_X
    height = PAD * 2 + max(len(s) for s in columns.values()) * (H + GAP_Y) - GAP_Y + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="wf-diagram" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" data-testid="diagram">',
             '<defs><marker id="wf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
             'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#6c757d"/></marker></defs>']
    drawn = 0
    for t in spec["transitions"]:
        for source in t["from"]:
            if source not in pos or t["to"] not in pos:
                continue
            (x1, y1), (x2, y2) = pos[source], pos[t["to"]]
            if x2 > x1:
                sx, sy, ex, ey = x1 + W, y1 + H / 2, x2, y2 + H / 2
            elif x2 < x1:  # back edges run below the boxes
                sx, sy, ex, ey = x1 + W / 2, y1 + H, x2 + W / 2, y2 + H
            else:
                sx, sy, ex, ey = x1 + W / 2, y1 + H, x2 + W / 2, y2
            bend = 18 + (drawn % 3) * 8 if x2 <= x1 and source != t["to"] else 0
            mx, my = (sx + ex) / 2, (sy + ey) / 2 + bend
            parts.append(f'<path d="M{sx:.0f},{sy:.0f} Q{mx:.0f},{my + bend:.0f} {ex:.0f},{ey:.0f}" fill="none" '
                         f'stroke="#6c757d" stroke-width="1.4" marker-end="url(#wf-arrow)"/>')
            parts.append(f'<text x="{mx:.0f}" y="{my - 4:.0f}" font-size="11" text-anchor="middle" fill="#495057">'
                         f'{escape(t["label"])}{" ✓" if t.get("approval") else ""}</text>')
            drawn += 1
    for state in spec["states"]:
        x, y = pos[state["code"]]
        is_current = state["code"] == current
        fill = "#cfe2ff" if is_current else ("#e9ecef" if state.get("final") else "#ffffff")
        stroke = "#0d6efd" if is_current else "#495057"
        parts.append(f'<rect x="{x}" y="{y}" width="{W}" height="{H}" rx="8" fill="{fill}" stroke="{stroke}" '
                     f'stroke-width="{2.5 if is_current else 1.2}"/>')
        if state.get("final"):
            parts.append(f'<rect x="{x + 3}" y="{y + 3}" width="{W - 6}" height="{H - 6}" rx="6" fill="none" '
                         f'stroke="{stroke}" stroke-width="0.8"/>')
        label_y = y + 19 if state.get("deadline_hours") else y + H / 2 + 5
        parts.append(f'<text x="{x + W / 2}" y="{label_y}" font-size="13" text-anchor="middle" fill="#212529">'
                     f'{escape(state["label"])}</text>')
        if state.get("deadline_hours"):
            within = _("within %(hours)s h", hours=state["deadline_hours"])
            parts.append(f'<text x="{x + W / 2}" y="{y + 35}" font-size="10" text-anchor="middle" fill="#6c757d">'
                         f'{escape(within)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))

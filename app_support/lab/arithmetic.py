"""The lab's arithmetic as coloured grids: numbers in the cells while they fit, on hover when not.

A 15x15 window has 225 numbers: written out they overlap or run off a projector's screen. Each grid
is an HTML table as wide as its column; a CSS container query shows the numbers only where a cell
is wide enough to hold them, and every cell keeps its value as a tooltip. The colours say the same
thing without numbers: pixels in grey, weights and products blue (negative) to red (positive).
"""

from __future__ import annotations

import html

import numpy as np

from cnnviz import display

CELL_PX = 30  # a cell narrower than this shows no number (four characters at the grid's font size)
MAX_NUMBERED = 9  # larger grids are colours with numbers on hover: 3 x 11 x 11 numbers are not read

STYLE = """<style>
.cnv-grid-box { container-type: inline-size; width: 100%; min-width: 0; }
.cnv-grid-title { font-size: 0.8rem; font-weight: 600; margin: 0 0 2px 0; white-space: nowrap;
  overflow: hidden; text-overflow: ellipsis; }
table.cnv-grid { border-collapse: collapse; table-layout: fixed; width: 100%; margin: 0 0 6px 0; }
table.cnv-grid td { padding: 0; border: 1px solid rgba(128, 128, 128, 0.35); text-align: center;
  font-size: 0.72rem; line-height: 1; height: 1.7em; overflow: hidden; white-space: nowrap;
  font-variant-numeric: tabular-nums; }
table.cnv-grid td span { display: none; }
.cnv-grid-row { display: grid; gap: 12px; margin-bottom: 4px; }
table.cnv-grid td.cnv-pick { outline: 2px solid #ffd200; outline-offset: -2px; }
table.cnv-grid td.cnv-in { box-shadow: inset 0 0 0 2px #ffd200; }
</style>"""


def number(value: float) -> str:
    """Compact text for a cell: whole numbers as they are, others to three significant digits."""
    value = float(value) + 0.0  # -0.0 (from -1 x 0) reads as 0
    if value.is_integer() and abs(value) < 100_000:
        return str(int(value))
    return display.plain_number(value, 3)


def _colours(values: np.ndarray, kind: str) -> np.ndarray:
    """(h, w, 3) uint8 backgrounds: grey levels for pixels, a diverging map for signed numbers."""
    if kind == "pixels":
        grey = np.clip(np.round(values), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    limit = float(np.abs(values).max()) or 1.0
    return display.to_signed(values, limit=limit)


def grid_html(
    values: np.ndarray,
    title: str,
    *,
    kind: str = "signed",
    mark: tuple[int, int] | None = None,
    window: tuple[int, int, int, int] | None = None,
) -> str:
    """One (h, w) grid as an HTML table; `kind` is 'pixels' (0..255 greys) or 'signed'; `mark`
    outlines one cell (the winner of a max pool, say); `window` (top, left, height, width) rings the
    cells a kernel covers."""
    values = np.asarray(values, dtype=np.float64)
    colours = _colours(values, kind)
    rows = []
    for r in range(values.shape[0]):
        cells = []
        for c in range(values.shape[1]):
            red, green, blue = (int(v) for v in colours[r, c])
            ink = "#000" if 0.299 * red + 0.587 * green + 0.114 * blue > 140 else "#fff"
            text = number(values[r, c])
            inside = window is not None and 0 <= r - window[0] < window[2] and 0 <= c - window[1] < window[3]
            pick = ' class="cnv-pick"' if mark == (r, c) else ' class="cnv-in"' if inside else ""
            cells.append(
                f'<td{pick} style="background:rgb({red},{green},{blue});color:{ink}" '
                f'title="row {r}, column {c}: {text}"><span>{text}</span></td>'
            )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    width = values.shape[1]
    # Numbers appear once the table is wide enough for every cell to hold one (more specific than the
    # STYLE's hiding rule, which a later grid on the page repeats).
    rule = (
        f"@container (min-width: {CELL_PX * width}px) "
        f"{{ .cnv-grid-box table.cnv-w{width} td span {{ display: inline; }} }}"
    )
    return (
        f"<style>{rule}</style>"
        f'<div class="cnv-grid-box"><div class="cnv-grid-title">{html.escape(title)}</div>'
        f'<table class="cnv-grid cnv-w{width}">{"".join(rows)}</table></div>'
    )


def grid_row_html(grids: list[str], side: int, *, numbered_up_to: int = MAX_NUMBERED) -> str:
    """Grids side by side, wrapping onto the next line where a row of them would be too narrow for
    their numbers (a 7x7 kernel on a projector: two per line, not three unreadable ones). Grids wider
    than `numbered_up_to` cells are not given room for numbers (hover to read them)."""
    least = CELL_PX * side if side <= numbered_up_to else 140
    style = f"grid-template-columns: repeat(auto-fit, minmax(min(100%, {least}px), 1fr))"
    return f'<div class="cnv-grid-row" style="{style}">' + "".join(grids) + "</div>"


def grid_flow_html(grids: list[tuple[str, int]], *, cell_px: int = CELL_PX + 4) -> str:
    """Grids of different sizes at their natural width (`cell_px` per column, so their numbers show),
    side by side and wrapping to the next line: a 4x4 map is not stretched to a 11x11 one's width.
    `grids` holds (html, columns) pairs."""
    boxes = "".join(
        # at least as wide as a title like "4. Turned 180 degrees" (in rem: a projector's larger type too)
        f'<div style="width: max({cell_px * columns}px, 11rem); max-width: 100%; flex: 0 1 auto">{grid}</div>'
        for grid, columns in grids
    )
    return f'<div style="display: flex; flex-wrap: wrap; gap: 12px 20px; align-items: flex-start">{boxes}</div>'

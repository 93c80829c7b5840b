"""Measures every figure a lecture shows; runs inside the lecture's kernel, before its first cell.

tests/lecture_runner.py injects this file as an extra first cell and reads `_tdn_figures()` in an
extra last cell; neither stays in the executed notebook. It wraps matplotlib's
`FigureCanvasBase.print_figure`, which the inline backend calls for every PNG it displays, and
records, after the PNG is made:

- sha1: of the PNG's bytes, which finds the output (and so the cell) that shows it
- png: [width, height] of the image in pixels; dpi: the figure's dots per inch
- figure: [x0, y0, x1, y1] the figure's own bounds in pixels (before bbox_inches="tight" crops)
- texts: one dict per drawn, non-empty text: 'text', 'fontsize' (points) and 'bbox' in pixels

Tick labels of ticks outside their axis' view limits are never drawn, so they are left out.
"""


def _tdn_install_figure_probe():
    import hashlib
    import io
    import json
    import struct

    import matplotlib.text
    from matplotlib.backend_bases import FigureCanvasBase

    records = []
    original = FigureCanvasBase.print_figure

    def undrawn_tick_labels(fig) -> set:
        """ids of the tick labels matplotlib does not draw: their ticks lie outside the view limits."""
        hidden = set()
        for ax in fig.axes:
            for axis in (ax.xaxis, ax.yaxis):
                scale = axis.get_transform()  # compare in scaled units: a log axis spans decades
                lo, hi = sorted(scale.transform(axis.get_view_interval()))
                slack = 1e-9 * (hi - lo)
                for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                    loc = tick.get_loc()
                    if loc is None or not lo - slack <= scale.transform([loc])[0] <= hi + slack:
                        hidden.update({id(tick.label1), id(tick.label2)})
        return hidden

    def measure(fig, png: bytes) -> dict:
        width, height = struct.unpack(">II", png[16:24])
        # Lay the figure out again at its own size: bbox_inches="tight" drew it shifted, and axis
        # labels keep the pixel positions of the last draw.
        fig.draw_without_rendering()
        renderer = fig.canvas.get_renderer()
        hidden = undrawn_tick_labels(fig)
        texts = []
        for text in fig.findobj(matplotlib.text.Text):
            if id(text) in hidden or not text.get_visible() or not text.get_text().strip():
                continue
            box = text.get_window_extent(renderer)
            texts.append({"text": text.get_text(), "fontsize": float(text.get_fontsize()),
                          "bbox": [float(box.x0), float(box.y0), float(box.x1), float(box.y1)]})
        bounds = fig.bbox
        return {"sha1": hashlib.sha1(png).hexdigest(), "png": [width, height], "dpi": float(fig.dpi),
                "figure": [float(bounds.x0), float(bounds.y0), float(bounds.x1), float(bounds.y1)],
                "texts": texts}

    def print_figure(self, filename, *args, **kwargs):
        result = original(self, filename, *args, **kwargs)
        if isinstance(filename, io.BytesIO) and filename.getvalue()[:8] == b"\x89PNG\r\n\x1a\n":
            records.append(measure(self.figure, filename.getvalue()))
        return result

    FigureCanvasBase.print_figure = print_figure
    return lambda: json.dumps(records)


_tdn_figures = _tdn_install_figure_probe()
del _tdn_install_figure_probe

"""2D max-projection images of voxel grids, for galleries and frame strips.

A page can show many of these at once; browsers allow only a handful of WebGL contexts per
page, so galleries use images rather than 3D figures.
"""

import numpy as np
from plotly.colors import sample_colorscale, unlabel_rgb

from genlab.viz.look import COLORSCALE
from genlab.viz.mesh import check_grid

BACKGROUND = np.array([245, 246, 250], dtype=np.uint8)


def _colormap_table(name: str = COLORSCALE) -> np.ndarray:
    """Returns a uint8 (256, 3) lookup table for the Plotly colour scale `name`."""
    colours = sample_colorscale(name, list(np.linspace(0.0, 1.0, 256)))
    return np.array([unlabel_rgb(c) for c in colours], dtype=np.float64).round().astype(np.uint8)


_TABLE = _colormap_table()


def projection_image(grid, scale: int = 8, threshold: float = 0.05) -> np.ndarray:
    """Returns an RGB uint8 (H*scale, W*scale, 3) image: the grid's maximum along the depth axis.

    grid: (D, H, W) in [0, 1], in 3D MNIST's axis order: the image shows array axis 0 upwards
    and axis 2 to the right (as the 3D view faces it) and takes the maximum over axis 1.
    Values below `threshold` are background; the rest take the 3D view's colour scale.
    """
    grid = np.clip(check_grid(grid), 0.0, 1.0)
    projection = grid.max(axis=1)[::-1]                      # (D, W), axis 0 up
    rgb = _TABLE[np.rint(projection * 255).astype(np.int64)]
    rgb[projection < threshold] = BACKGROUND
    return np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)


def projection_grid(grids, columns: int = 8, scale: int = 6, gap: int = 4) -> np.ndarray:
    """Returns one RGB uint8 image tiling the projections of `grids` in rows of `columns`.

    grids: (N, D, H, W). Tiles are separated by `gap` white pixels; a short last row is
    padded with white.
    """
    grids = np.asarray(grids, dtype=np.float32)
    if len(grids) == 0:
        raise ValueError("no grids to show")
    tiles = [projection_image(g, scale=scale) for g in grids]
    height, width, _ = tiles[0].shape
    columns = max(1, min(columns, len(tiles)))
    rows = -(-len(tiles) // columns)
    image = np.full((rows * height + (rows - 1) * gap, columns * width + (columns - 1) * gap, 3),
                    255, dtype=np.uint8)
    for index, tile in enumerate(tiles):
        row, column = divmod(index, columns)
        top, left = row * (height + gap), column * (width + gap)
        image[top:top + height, left:left + width] = tile
    return image


def png_bytes(image: np.ndarray) -> bytes:
    """Returns `image` (H, W, 3) uint8 encoded as PNG."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()

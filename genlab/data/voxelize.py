"""The 3D MNIST procedure: 2D digits -> extruded point clouds -> voxel grids.

It follows the original 3D MNIST pipeline (daavoo/3DMNIST) step by step, so its output
matches the published vectors bit for bit:

1. Pad each 28x28 digit to 30x30. Every non-zero pixel (row x, column y), in row-major
   order, becomes the points of an extruded box: a front and a back 5x5 grid at z = +3 and
   z = -3 (x, y in [-0.5, 0.5] around the pixel) always, and a 5x30 side grid (z from -3
   to 3) on each side whose 4-neighbour pixel is empty, in the order top, bottom, left,
   right.
2. Shift all coordinates by the minimum of the axis with the largest range, divide by
   that range, then subtract the mean point.
3. Rotate 90 degrees about y: the row vector [x y z 1] times Ry(90), built with floating
   cos and sin (so tiny 6e-17 cross terms stay in, as in the original).
4. Voxelize over a cube bounding box centred on the points (no margin): n + 1 evenly
   spaced edges per axis, bin = searchsorted - 1 clipped to [0, n - 1], flat index
   iy + n * (ix + n * iz); count points per voxel and divide by the maximum count.

Everything is vectorised over digits. Floating-point order matters for exactness: the
mean is the sequential float64 sum numpy's `mean(axis=0)` takes, and every coordinate is
computed with the same operations as the original, in float64.

Speed: a point's coordinates are lattice values (quarter pixels in x and y, 30 z levels),
so each digit's transformed coordinates are small per-level tables; only the mean needs
the points one by one.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

GRID = 16  # the voxel grid size genlab uses everywhere: samples are GRID x GRID x GRID

# The extruded box around one pixel (step 1). x, y offsets are in quarter pixels; z is
# an index into Z_LEVELS. Each part lists its points in the original's order.
Z_LEVELS = np.linspace(-3, 3, 30)  # Z_LEVELS[0] == -3.0, Z_LEVELS[-1] == 3.0 exactly
_FIVE = np.arange(-2, 3)  # -0.5, -0.25, 0, 0.25, 0.5 pixel, in quarter pixels
_Z30 = np.arange(30)


def _part(x, y, k):
    """Returns the (x4, y4, k) points of one face grid, in the original's point order."""
    # The original builds each face with np.meshgrid(x, y, z).T.reshape(-1, 3); this
    # reproduces the resulting order: z outermost, then x, then y innermost.
    k, x, y = np.broadcast_arrays(*np.ix_(np.atleast_1d(k), np.atleast_1d(x), np.atleast_1d(y)))
    return np.stack([x.ravel(), y.ravel(), k.ravel()], 1)


# front, back, top (x - 0.5), bottom (x + 0.5), left (y - 0.5), right (y + 0.5)
_FRONT_BACK = np.concatenate([_part(_FIVE, _FIVE, 29), _part(_FIVE, _FIVE, 0)])  # (50, 3)
_SIDES = np.stack([
    _part(-2, _FIVE, _Z30), _part(2, _FIVE, _Z30), _part(_FIVE, -2, _Z30), _part(_FIVE, 2, _Z30),
])  # (4, 150, 3)

_LATTICE = 121  # quarter-pixel x (or y) positions in a 30x30 padded digit: -2 .. 118
_COS90 = np.cos(np.deg2rad(90.0))  # 6.123e-17, not 0: the original keeps it
_SIN90 = np.sin(np.deg2rad(90.0))


def voxelize_digits(images, resolution=GRID, rotate_deg=0.0, seed=0, jitter=0.0,
                    chunk_size=1000, workers=None, on_chunk=None) -> np.ndarray:
    """Returns float32 (N, r, r, r) voxel grids in [0, 1] for uint8 digits (N, 28, 28).

    `grids.reshape(N, -1)` rows are in the 3D MNIST vector order (index iy + r*(ix + r*iz),
    so the grid axes are (z, x, y)). With rotate_deg = 0 and jitter = 0 the result is the
    published 3D MNIST procedure exactly (see the module docstring).

    rotate_deg > 0: each digit's point cloud is also rotated about its centre by random
    angles, uniform in [-rotate_deg, rotate_deg] about each axis (x, then y, then z),
    before voxelizing. jitter > 0: every point moves by Gaussian noise with that standard
    deviation (in units of the normalised cloud, whose largest extent is 1). The angles
    are drawn from `np.random.default_rng(seed)`, the jitter per chunk from (seed, chunk
    start), so a seed gives the same grids every time.

    Digits are processed in chunks of chunk_size (bounding memory: about 0.3 GB per 1000)
    on `workers` threads (default: up to 2; numpy releases the GIL for the heavy work).
    on_chunk(count), if given, is called after each chunk with the number of digits it held
    (from the worker threads), for progress bars.
    """
    images = np.asarray(images)
    if images.ndim == 2:
        images = images[None]
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"voxelize_digits needs digits of shape (N, 28, 28), got {images.shape}")
    if int(resolution) < 1:
        raise ValueError(f"resolution must be at least 1, got {resolution}")
    n = int(resolution)
    ink = np.zeros((len(images), 30, 30), dtype=bool)
    ink[:, 1:-1, 1:-1] = images != 0
    empty = ~ink.any(axis=(1, 2))
    if empty.any():
        raise ValueError(f"digit {int(np.argmax(empty))} has no ink: nothing to voxelize")

    angles = np.deg2rad(np.random.default_rng(seed).uniform(-rotate_deg, rotate_deg, size=(len(ink), 3)))
    out = np.empty((len(images), n, n, n), dtype=np.float32)

    def run(start):
        chunk = slice(start, start + chunk_size)
        if rotate_deg > 0 or jitter > 0:
            rng = np.random.default_rng([seed, start])
            out[chunk] = _voxelize_random(ink[chunk], n, angles[chunk], jitter, rng)
        else:
            out[chunk] = _voxelize_exact(ink[chunk], n)
        if on_chunk is not None:
            on_chunk(len(ink[chunk]))

    starts = range(0, len(images), chunk_size)
    workers = min(len(starts), workers or min(2, os.cpu_count() or 1))
    if workers <= 1:
        for start in starts:
            run(start)
    else:
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, starts))
    return out


class _Clouds:
    """The canonical point clouds of a batch of padded digits, up to step 2.

    A point is a lattice site (x4, y4, k): x = x4 / 4, y = y4 / 4, z = Z_LEVELS[k]. For digit
    d, `x[d, x4 + 2]`, `y[d, y4 + 2]` and `z[d, k]` are its normalised, centred coordinates.
    """

    def __init__(self, ink):
        """ink: bool (B, 30, 30) padded digits."""
        b = len(ink)
        d, row, col = np.nonzero(ink)  # pixels in row-major order within each digit
        open_sides = (~ink[d, row - 1, col] * 1 + ~ink[d, row + 1, col] * 2
                      + ~ink[d, row, col - 1] * 4 + ~ink[d, row, col + 1] * 8)
        self.pixels = d, row, col, open_sides

        # The raw extent of each digit (step 2): x, y span the ink +- 0.5; z always -3..3.
        rows = np.where(ink.any(axis=2), np.arange(30), -1)
        cols = np.where(ink.any(axis=1), np.arange(30), -1)
        lo = np.stack([_first(rows) - 0.5, _first(cols) - 0.5, np.full(b, -3.0)], axis=1)
        hi = np.stack([rows.max(axis=1) + 0.5, cols.max(axis=1) + 0.5, np.full(b, 3.0)], axis=1)
        ranges = hi - lo
        axis = np.argmax(ranges, axis=1)
        shift = lo[np.arange(b), axis][:, None]
        scale = ranges[np.arange(b), axis][:, None]
        quarter = (np.arange(_LATTICE) - 2) * 0.25
        x = (quarter[None] - shift) / scale
        y = x  # x and y take the same quarter-pixel values
        z = (Z_LEVELS[None] - shift) / scale

        # Step 2's mean, bit for bit: numpy's mean(axis=0) adds the points one after another.
        self.n_points = np.bincount(d, weights=50 + 150 * _popcount(open_sides), minlength=b)
        sums = _sequential_sums(d, row, col, open_sides, shift[:, 0], scale[:, 0], z)
        means = sums / self.n_points[:, None]
        self.x = x - means[:, 0:1]
        self.y = y - means[:, 1:2]
        self.z = z - means[:, 2:3]


def _sequential_sums(d, row, col, open_sides, shift, scale, z):
    """Returns (B, 3) sums of each digit's normalised points, added one after another in order.

    Vectorised across digits: step j adds the points of every digit's j-th pixel, part by
    part (front and back, then each open side), as rows of a (rows, 3, digits) block whose
    first row is the running sum; `sum(axis=0)` over such a block adds row after row.
    """
    b = len(shift)
    n_pixels = np.bincount(d, minlength=b)
    order = np.argsort(-n_pixels, kind="stable")  # most pixels first: step j uses a prefix
    rank = np.empty(b, dtype=np.int64)
    rank[order] = np.arange(b)
    first = np.concatenate([[0], np.cumsum(n_pixels)[:-1]])
    column = np.arange(len(d)) - first[d]
    shape = (b, int(n_pixels.max()))
    rows, cols, opens = np.zeros(shape), np.zeros(shape), np.zeros(shape, dtype=np.int64)
    rows[rank[d], column] = row
    cols[rank[d], column] = col
    opens[rank[d], column] = open_sides
    shift, scale = shift[order], scale[order]
    z_levels = np.ascontiguousarray(z[order].T)  # (30, B)
    active = np.sort(n_pixels)[::-1]
    five = np.arange(-2, 3)[:, None]

    sums = np.zeros((3, b))  # a zero first row: 0.0 + v == v, as numpy's first add
    for j in range(shape[1]):
        n = int((active > j).sum())  # digits with more than j pixels
        # The 5 x and 5 y values of this pixel's points (quarter-pixel offsets -2..2).
        xv = ((4 * rows[:n, j] + five) * 0.25 - shift[:n]) / scale[:n]
        yv = ((4 * cols[:n, j] + five) * 0.25 - shift[:n]) / scale[:n]
        sums[:, :n] = _add_rows(sums[:, :n], xv, yv, z_levels[:, :n], _FRONT_BACK)
        for side in range(4):
            has = np.flatnonzero(opens[:n, j] >> side & 1)
            if len(has):
                sums[:, has] = _add_rows(sums[:, has], xv[:, has], yv[:, has],
                                         z_levels[:, has], _SIDES[side])
    return sums.T[rank]


def _add_rows(start, xv, yv, z_levels, template):
    """Returns start (3, n) plus each template point's (x, y, z) added one after another."""
    block = np.empty((len(template) + 1, 3, start.shape[1] + 1))
    block[:, :, -1] = 0.0  # a spare column keeps the reduction 2-D, hence sequential
    block[0, :, :-1] = start
    block[1:, 0, :-1] = xv[template[:, 0] + 2]
    block[1:, 1, :-1] = yv[template[:, 1] + 2]
    block[1:, 2, :-1] = z_levels[template[:, 2]]
    return block.sum(axis=0)[:, :-1]


def _popcount(bits):
    """Returns the number of set bits of each entry of a small non-negative int array."""
    return (bits & 1) + (bits >> 1 & 1) + (bits >> 2 & 1) + (bits >> 3 & 1)


def _first(index):
    """Returns the smallest non-negative entry of each row of an index array (B, 30)."""
    return np.where(index >= 0, index, 99).min(axis=1)


def _rotate_y90(x, z):
    """Returns (x', z') of the row vector [x y z 1] times Ry(90), as the original computes it."""
    # Ry = [[c, 0, -s, 0], [0, 1, 0, 0], [s, 0, c, 0], [0, 0, 0, 1]]; the y column is y.
    return x * _COS90 + z * _SIN90, x * -_SIN90 + z * _COS90


def _edges(lo, hi, n):
    """Returns (B, 3, n + 1) bin edges of a cube box centred on the points: np.linspace's arithmetic."""
    extent = hi - lo
    pad = extent.max(axis=1, keepdims=True) - extent
    start = lo - pad / 2
    stop = hi + pad / 2
    step = (stop - start) / n
    edges = np.arange(n + 1)[None, None, :] * step[..., None] + start[..., None]
    edges[..., -1] = stop
    return edges


def _bins(edges, values):
    """Returns searchsorted(edges, values) - 1 clipped to [0, n - 1], per digit: (B, n+1), (B, M) -> (B, M).

    Exact and vectorised: find the nearest edge from the uniform spacing, then compare with
    it, as searchsorted (side='left') would: a value equal to an edge goes to the bin below.
    """
    n = edges.shape[1] - 1
    start, stop = edges[:, :1], edges[:, -1:]
    nearest = np.clip(np.rint((values - start) / (stop - start) * n), 0, n).astype(np.int64)
    above = values > np.take_along_axis(edges, nearest, axis=1)
    return np.clip(nearest - 1 + above, 0, n - 1)


def _near_edge(edges, values, tolerance=1e-12):
    """Returns bool (B, M): values within `tolerance` of one of their digit's bin edges (B, n+1)."""
    n = edges.shape[1] - 1
    start, stop = edges[:, :1], edges[:, -1:]
    steps = (values - start) / (stop - start) * n
    return np.abs(steps - np.rint(steps)) * (stop - start) / n <= tolerance


def _normalise_counts(counts):
    """Returns float32 counts / max per digit: (B, n**3) -> (B, n, n, n) in (z, x, y) order."""
    counts = counts.astype(np.float64)
    grids = counts / counts.max(axis=1, keepdims=True)
    n = round(counts.shape[1] ** (1 / 3))
    return grids.astype(np.float32).reshape(len(counts), n, n, n)


def _voxelize_exact(ink, n):
    """Returns float32 (B, n, n, n): the published procedure for padded digits (B, 30, 30).

    Points are counted per lattice level rather than one by one: a point's voxel row iy
    depends only on its y4, and its (ix, iz) on its (x4, k).
    """
    b = len(ink)
    clouds = _Clouds(ink)
    rot_y = clouds.y  # (B, 121); y' = y

    # Which pixels have which sides open, and which lattice levels have points.
    top = ink & ~np.roll(ink, 1, axis=1)
    bottom = ink & ~np.roll(ink, -1, axis=1)
    left = ink & ~np.roll(ink, 1, axis=2)
    right = ink & ~np.roll(ink, -1, axis=2)
    x_front = _spread(ink.any(axis=2))  # x4 levels of front/back points (at k = 0, 29)
    x_side = (_spread(left.any(axis=2) | right.any(axis=2))  # x4 levels of side points
              | _at(top.any(axis=2), 0) | _at(bottom.any(axis=2), 4))
    y_used = _spread(ink.any(axis=1))
    at_ends = np.zeros(30, dtype=bool)
    at_ends[[0, -1]] = True
    xk_used = x_side[:, :, None] | x_front[:, :, None] & at_ends  # (B, 121, 30)

    # The cube box spans the points. z levels are 0.007 or more apart and x4 levels too,
    # far more than the 6e-17 rotation terms, so x' is lowest at k = 0 and highest at
    # k = 29 (both used on every x4 level in use), and z' is extreme on the outermost x4
    # levels (which always carry side points at every k).
    x_low = np.where(x_front, _rot_x_at(clouds, 0), np.inf).min(axis=1)
    x_high = np.where(x_front, _rot_x_at(clouds, 29), -np.inf).max(axis=1)
    top_x4 = np.argmax(x_front, axis=1)
    bottom_x4 = _LATTICE - 1 - np.argmax(x_front[:, ::-1], axis=1)
    z_low = _rot_z_at(clouds, bottom_x4).min(axis=1)
    z_high = _rot_z_at(clouds, top_x4).max(axis=1)
    lo = np.stack([x_low, _masked(rot_y, y_used, np.min), z_low], axis=1)
    hi = np.stack([x_high, _masked(rot_y, y_used, np.max), z_high], axis=1)
    edges = _edges(lo, hi, n)

    # x' = x*c + z and z' = -x + z*c: the 6e-17 terms shift a value by an ulp or so, which
    # changes its bin only next to a bin edge. So ix follows k and iz follows x4, except on
    # the lattice levels lying right at an edge, whose sites are binned one by one.
    ix_of_k = _bins(edges[:, 0], clouds.z)  # (B, 30)
    iz_of_x4 = _bins(edges[:, 2], -clouds.x)  # (B, 121)
    iy = _bins(edges[:, 1], rot_y)  # (B, 121)
    odd = xk_used & (_near_edge(edges[:, 0], clouds.z)[:, None, :]
                     | _near_edge(edges[:, 2], -clouds.x)[:, :, None])
    dd, xx, kk = np.nonzero(odd)
    odd_x, odd_z = _rotate_y90(clouds.x[dd, xx], clouds.z[dd, kk])
    ix_odd = _bins(edges[dd, 0], odd_x[:, None])[:, 0]
    iz_odd = _bins(edges[dd, 2], odd_z[:, None])[:, 0]

    # Points per (x4, voxel row iy), per z level: front/back points count at k = 0 and 29
    # only, side points at every k. A pixel column c covers y4 levels 4c .. 4c+4.
    onehot = np.eye(n)[iy]  # (B, 121, n)
    box = sum(onehot[:, dy:dy + 120:4] for dy in range(5))  # (B, 30, n): a pixel's 5 y4 sites
    edge_left, edge_right = onehot[:, 0:120:4], onehot[:, 4:124:4]  # its left / right y4 site
    front_rows = _spread_rows(ink * 1.0 @ box)
    side_rows = (_spread_rows(left @ edge_left + right @ edge_right)
                 + _at_rows(top @ box, 0) + _at_rows(bottom @ box, 4))  # (B, 121, n)

    # Count in the separable form, then move the points of the odd sites that land in
    # another voxel.
    every_k = np.eye(n)[ix_of_k].sum(axis=1)  # (B, n): how many z levels fall in each ix
    end_k = np.eye(n)[ix_of_k[:, [0, -1]]].sum(axis=1)
    slab = ((np.arange(b)[:, None] * n + iz_of_x4)[:, :, None] * n + np.arange(n)).ravel()  # (d, iz, iy)
    side_z = np.bincount(slab, side_rows.ravel(), minlength=b * n * n).reshape(b, n, 1, n)
    front_z = np.bincount(slab, front_rows.ravel(), minlength=b * n * n).reshape(b, n, 1, n)
    counts = side_z * every_k[:, None, :, None] + front_z * end_k[:, None, :, None]  # (B, iz, ix, iy)
    moves = (ix_odd != ix_of_k[dd, kk]) | (iz_odd != iz_of_x4[dd, xx])
    if moves.any():
        dd, xx, kk, ix_odd, iz_odd = (a[moves] for a in (dd, xx, kk, ix_odd, iz_odd))
        moved = side_rows[dd, xx] + front_rows[dd, xx] * at_ends[kk][:, None]  # (W, n)
        was = (dd * n + iz_of_x4[dd, xx]) * n + ix_of_k[dd, kk]
        now = (dd * n + iz_odd) * n + ix_odd
        flat = counts.reshape(-1, n)
        for column in range(n):
            flat[:, column] += (np.bincount(now, moved[:, column], minlength=len(flat))
                                - np.bincount(was, moved[:, column], minlength=len(flat)))
    return _normalise_counts(np.rint(counts).astype(np.int64).reshape(b, n**3))


def _rot_x_at(clouds, k):
    """Returns (B, 121): x' on every x4 level at z level k."""
    return _rotate_y90(clouds.x, clouds.z[:, k:k + 1])[0]


def _rot_z_at(clouds, x4):
    """Returns (B, 30): z' at every z level on x4 level x4 (B,) of each digit."""
    return _rotate_y90(clouds.x[np.arange(len(x4)), x4][:, None], clouds.z)[1]


def _spread(levels):
    """Returns bool (B, 121): x4 (or y4) levels covered by pixels' 5-point spans, from (B, 30)."""
    out = np.zeros((len(levels), _LATTICE), dtype=bool)
    for offset in range(5):
        out[:, offset:offset + 120:4] |= levels
    return out


def _at(levels, offset):
    """Returns bool (B, 121): the single x4 level at `offset` quarter pixels of each (B, 30) pixel row."""
    out = np.zeros((len(levels), _LATTICE), dtype=bool)
    out[:, offset:offset + 120:4] = levels
    return out


def _spread_rows(per_row):
    """Returns (B, 121, n): per-pixel-row counts (B, 30, n) added to the row's 5 x4 levels."""
    out = np.zeros((len(per_row), _LATTICE, per_row.shape[2]))
    for offset in range(5):
        out[:, offset:offset + 120:4] += per_row
    return out


def _at_rows(per_row, offset):
    """Returns (B, 121, n): per-pixel-row counts placed at one x4 level of each row."""
    out = np.zeros((len(per_row), _LATTICE, per_row.shape[2]))
    out[:, offset:offset + 120:4] = per_row
    return out


def _masked(values, used, reduce):
    """Returns reduce(values[d][used[d]]) for each digit d: (B, ...) arrays -> (B,)."""
    fill = np.inf if reduce is np.min else -np.inf
    return reduce(np.where(used, values, fill).reshape(len(values), -1), axis=1)


def _voxelize_random(ink, n, angles, jitter, rng):
    """Returns float32 (B, n, n, n): the procedure with a random rotation (and jitter) per digit.

    angles: (B, 3) radians. After step 3 a point (x4, y4, k) sits at (z[k], y[y4], -x[x4])
    (dropping the 6e-17 terms, which only matter for exact ties), so after a rotation R
    its coordinates are P[x4] + Q[k] + C[y4], with P = -R[:, 2] x, Q = R[:, 0] z and
    C = R[:, 1] y: three small tables per digit, summed per point. Bins come from
    arithmetic rather than searchsorted (ties have probability zero here).
    """
    b = len(ink)
    clouds = _Clouds(ink)
    matrix = rotation_matrices(angles)  # (B, 3, 3)
    p_table = -matrix[:, None, :, 2] * clouds.x[..., None]  # (B, 121, 3)
    q_table = matrix[:, None, :, 0] * clouds.z[..., None]  # (B, 30, 3)
    c_table = matrix[:, None, :, 1] * clouds.y[..., None]  # (B, 121, 3)

    # The cloud's box: its convex hull is spanned by the pixel boxes' corners, which are
    # points themselves (front and back grid corners), so 8 corners per pixel suffice.
    d, row, col, open_sides = clouds.pixels
    two = np.array([0, 4])
    corners = (p_table[d[:, None], 4 * row[:, None] + two][:, :, None, None]
               + q_table[:, [0, -1]][d][:, None, :, None]
               + c_table[d[:, None], 4 * col[:, None] + two][:, None, None, :]).reshape(len(d), 8, 3)
    lo = np.full((b, 3), np.inf)
    hi = np.full((b, 3), -np.inf)
    np.minimum.at(lo, d, corners.min(axis=1))
    np.maximum.at(hi, d, corners.max(axis=1))
    edges = _edges(lo, hi, n)
    start, stop = edges[:, :, 0], edges[:, :, -1]
    scale = n / (stop - start)  # (B, 3): coordinates -> bin units
    # The tables in bin units (float32 is plenty for binning); P carries the box start.
    p_bins = ((p_table - start[:, None]) * scale[:, None]).astype(np.float32)
    q_bins = (q_table * scale[:, None]).astype(np.float32)
    c_bins = (c_table * scale[:, None]).astype(np.float32)
    jitter_bins = (jitter * scale).astype(np.float32)

    # Each part of each pixel's box is an outer sum of a few table rows; count the points
    # of one part at a time.
    five = np.arange(5)
    x4 = 4 * row  # the pixel's first x4 level (x - 0.5), as a table index
    y4 = 4 * col
    counts = np.zeros(b * n**3, dtype=np.int64)
    for part in range(5):  # front and back together, then the four sides
        has = np.flatnonzero(open_sides >> (part - 1) & 1) if part else np.arange(len(d))
        dd, xs, ys = d[has][:, None], x4[has][:, None], y4[has][:, None]
        if part == 0:  # 5 x4 levels, k = 0 and 29, 5 y4 levels
            values = (p_bins[dd, xs + five][:, :, None, None] + q_bins[:, [0, -1]][d[has]][:, None, None]
                      + c_bins[dd, ys + five][:, None, :, None])
        elif part <= 2:  # top / bottom: one x4 level, every k, 5 y4 levels
            values = (p_bins[dd, xs + 4 * (part - 1)][:, :, None] + q_bins[d[has]][:, :, None]
                      + c_bins[dd, ys + five][:, None])
        else:  # left / right: 5 x4 levels, every k, one y4 level
            values = (p_bins[dd, xs + five][:, :, None] + q_bins[d[has]][:, None]
                      + c_bins[dd, ys + 4 * (part - 3)][:, :, None])
        values = values.reshape(len(has), -1, 3)
        if jitter > 0:
            values += rng.standard_normal(values.shape, dtype=np.float32) * jitter_bins[d[has]][:, None]
        index = values.astype(np.int32)  # truncation: floor for the (non-negative) values
        np.clip(index, 0, n - 1, out=index)
        voxel = index[..., 1] + n * (index[..., 0] + n * index[..., 2]) + (d[has] * n**3)[:, None].astype(np.int32)
        counts += np.bincount(voxel.ravel(), minlength=b * n**3)
    return _normalise_counts(counts.reshape(b, n**3))


def voxelize_points(clouds, resolution=GRID) -> np.ndarray:
    """Returns float32 (N, r, r, r) voxel grids of point clouds, a list of N arrays (P_i, 3).

    Step 4 of the procedure alone (cube box centred on the points, searchsorted bins,
    counts / max), for clouds that are already normalised and rotated, such as the
    Kaggle 3D MNIST point-cloud files.
    """
    n = int(resolution)
    sizes = np.array([len(cloud) for cloud in clouds])
    if len(clouds) == 0 or (sizes == 0).any():
        raise ValueError("voxelize_points needs at least one cloud, each with at least one point")
    points = np.concatenate([np.asarray(cloud, dtype=np.float64).reshape(-1, 3) for cloud in clouds])
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    lo = np.minimum.reduceat(points, starts, axis=0)
    hi = np.maximum.reduceat(points, starts, axis=0)
    edges = _edges(lo, hi, n)  # (N, 3, n + 1)
    owner = np.repeat(np.arange(len(clouds)), sizes)
    index = np.stack([_bin_points(edges[:, axis], owner, points[:, axis]) for axis in range(3)], axis=1)
    voxel = index[:, 1] + n * (index[:, 0] + n * index[:, 2]) + owner * n**3
    counts = np.bincount(voxel, minlength=len(clouds) * n**3).reshape(len(clouds), n**3)
    return _normalise_counts(counts)


def _bin_points(edges, owner, values):
    """Returns searchsorted(edges[owner], value) - 1 clipped to [0, n - 1] for each value (P,)."""
    n = edges.shape[1] - 1
    start, stop = edges[owner, 0], edges[owner, -1]
    nearest = np.clip(np.rint((values - start) / (stop - start) * n), 0, n).astype(np.int64)
    above = values > edges[owner, nearest]
    return np.clip(nearest - 1 + above, 0, n - 1)


def rotation_matrices(angles) -> np.ndarray:
    """Returns (B, 3, 3) matrices Rz @ Ry @ Rx for angles (B, 3) in radians about x, y, z."""
    cx, cy, cz = np.cos(angles).T
    sx, sy, sz = np.sin(angles).T
    one, zero = np.ones_like(cx), np.zeros_like(cx)
    rx = np.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], 1).reshape(-1, 3, 3)
    ry = np.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], 1).reshape(-1, 3, 3)
    rz = np.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], 1).reshape(-1, 3, 3)
    return rz @ ry @ rx

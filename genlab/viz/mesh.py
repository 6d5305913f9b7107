"""Triangle meshes of voxel grids: culled cube faces, or a smooth marching-cubes surface.

Vertices are in array-index coordinates: voxel `grid[a, b, c]` is the unit cube
[a, a+1] x [b, b+1] x [c, c+1]. `genlab.viz.figures` maps those axes onto the screen.
"""

from dataclasses import dataclass

import numpy as np

# For each of the six face directions (axis, +1/-1): the face's four corners, as offsets
# from the voxel's low corner, wound so that the right-hand normal points outwards.
_FACE_CORNERS = {}
for _axis in range(3):
    _u, _v = (_axis + 1) % 3, (_axis + 2) % 3
    for _sign in (1, -1):
        _square = [(0, 0), (1, 0), (1, 1), (0, 1)]
        if _sign < 0:
            _square = _square[::-1]
        _corners = np.zeros((4, 3), dtype=np.int64)
        _corners[:, _axis] = 1 if _sign > 0 else 0
        _corners[:, _u] = [du for du, _ in _square]
        _corners[:, _v] = [dv for _, dv in _square]
        _FACE_CORNERS[(_axis, _sign)] = _corners

# Two triangles per square face, over its corners 0..3.
_QUAD_TRIANGLES = np.array([[0, 1, 2], [0, 2, 3]], dtype=np.int64)


@dataclass(frozen=True)
class Mesh:
    """A triangle mesh with one colour value per vertex."""

    vertices: np.ndarray   # float32 (V, 3), array-index coordinates
    triangles: np.ndarray  # int32 (T, 3), indices into vertices
    values: np.ndarray     # float32 (V,), the voxel value each vertex is coloured by

    @property
    def is_empty(self) -> bool:
        return len(self.triangles) == 0


def _empty_mesh() -> Mesh:
    return Mesh(
        vertices=np.zeros((0, 3), np.float32),
        triangles=np.zeros((0, 3), np.int32),
        values=np.zeros((0,), np.float32),
    )


def check_grid(grid) -> np.ndarray:
    grid = np.asarray(grid, dtype=np.float32)
    if grid.ndim != 3:
        raise ValueError(f"expected a 3D voxel grid, got an array of shape {grid.shape}")
    return grid


def voxel_mesh(grid, threshold: float = 0.5) -> Mesh:
    """Returns the visible cube faces of the voxels at or above `threshold`.

    grid: (D, H, W) values in [0, 1]. A face is emitted only where the neighbouring voxel
    is below the threshold (or outside the grid), so interior faces are culled; each square
    face is two triangles with four vertices of its own, coloured by its voxel's value.
    Vectorised over the grid: one pass per face direction, no per-voxel Python loop.
    """
    grid = check_grid(grid)
    occupied = grid >= threshold
    padded = np.pad(occupied, 1, constant_values=False)
    inner = tuple(slice(1, -1) for _ in range(3))

    corner_blocks, value_blocks = [], []
    for (axis, sign), corners in _FACE_CORNERS.items():
        neighbour = list(inner)
        neighbour[axis] = slice(1 + sign, padded.shape[axis] - 1 + sign)
        exposed = occupied & ~padded[tuple(neighbour)]
        voxels = np.argwhere(exposed)                              # (F, 3)
        corner_blocks.append(voxels[:, None, :] + corners[None])    # (F, 4, 3)
        value_blocks.append(grid[exposed])                         # (F,)

    corners = np.concatenate(corner_blocks)
    if len(corners) == 0:
        return _empty_mesh()
    n_faces = len(corners)
    triangles = (np.arange(n_faces)[:, None, None] * 4 + _QUAD_TRIANGLES[None]).reshape(-1, 3)
    return Mesh(
        vertices=corners.reshape(-1, 3).astype(np.float32),
        triangles=triangles.astype(np.int32),
        values=np.repeat(np.concatenate(value_blocks), 4).astype(np.float32),
    )


def weld(mesh: Mesh) -> tuple[np.ndarray, np.ndarray]:
    """Returns (vertices (V', 3), triangles (T, 3)): the mesh with coincident vertices merged.

    A voxel mesh gives every square face four vertices of its own; welded, neighbouring faces
    share their corners, so the surface is one connected, closed skin. Triangles keep their
    order and winding, so per-triangle values still line up.
    """
    if mesh.is_empty:
        return mesh.vertices, mesh.triangles
    vertices, inverse = np.unique(mesh.vertices, axis=0, return_inverse=True)
    return vertices, inverse.reshape(-1)[mesh.triangles].astype(np.int32)


def surface_mesh(grid, threshold: float = 0.5) -> Mesh:
    """Returns the smooth iso-surface at `threshold` (marching cubes), closed at the grid's edges.

    grid: (D, H, W). The grid is padded with zeros so that shapes touching the border are
    closed and a full grid still has a surface; an empty grid (nothing at or above the
    threshold) gives an empty mesh. Vertices are shifted so the surface lines up with
    `voxel_mesh` (voxel centres at index + 0.5); each vertex is coloured by the largest
    value among the voxels around it.
    """
    # Imported here: they cost ~0.2 s, and 2D pictures (genlab.viz.images) need only check_grid.
    from scipy import ndimage
    from skimage import measure

    grid = check_grid(grid)
    padded = np.pad(grid, 1, constant_values=0.0)
    if not (padded.min() < threshold <= padded.max()):
        return _empty_mesh()
    if threshold == padded.max():
        threshold = np.nextafter(np.float32(threshold), np.float32(0))  # must be strictly inside
    vertices, triangles, _, _ = measure.marching_cubes(padded, level=threshold)
    nearby_max = ndimage.maximum_filter(padded, size=3)
    nearest = np.clip(np.rint(vertices).astype(np.int64), 0, np.array(padded.shape) - 1)
    values = nearby_max[nearest[:, 0], nearest[:, 1], nearest[:, 2]]
    return Mesh(
        vertices=(vertices - 0.5).astype(np.float32),
        triangles=triangles.astype(np.int32),
        values=values.astype(np.float32),
    )

"""The dense backward map of one frame: for every output pixel, where in the photo its colour comes from.

Inside the face every mesh triangle carries its own affine map (the face follows the mesh exactly, the
near side occluding the far side on a turn). Outside it the fitted 3-D head's visible points (``head_controls``:
the skull and hair over it, the temples, ears and neck) carry the head's motion, piecewise affine between them and
smoothed (``HeadMeshField``); rings around the face carry it on into the hair beyond the skull and the shoulders,
and it fades to nothing at the frame border, so the body and background stay put. Where no head could be fitted
a thin-plate spline through the rings alone does it (``TpsField``). What covers the face's edge in the photo (an
ear's front, an earring, hair) is carried by that field too once the head turns (``face_edge``): the face's
outermost triangles would stretch it.
Behind the skin, the eyes and the photo's mouth interior move rigidly with the skull (eyeballs and upper teeth
do not stretch when the lids or lips move).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import Delaunay

from ..geometry.raster import signed_areas
from ..geometry.rigid import kabsch
from ..rigs import mediapipe_topology as mt
from .face_edge import FaceEdge
from .framing import box_around
from .head_controls import CONTROL_SPACING_MM, HeadControls

RINGS = ((1.12, 1.0, 1.0, 0.7, 0.0, 0.5), (1.35, 1.0, 0.0, 0.4, 0.5, 0.3), (2.0, 0.5, 0.0, 0.0, 1.0, 0.15))
"""Control rings around the face outline: (scale about the face centre, share of the head's rigid motion,
share of the outline's own non-rigid motion above the mouth, and below it, depth, the part of the ring's share of
the head's motion it keeps below the chin). The first hugs the face so the skin just outside the outline moves
with it (no seam on a turn), the second carries the hair, ears and the skin under the chin, the third the outer
hair and shoulders, only where the photo shows the person.
Depth: how far each ring lies from the face outline's depth toward the head's centre. What a photo shows
beyond the face's outline (ears, the hair over the skull, the neck) is the head's silhouette, which lies about
as deep as its centre: a turn moves it sideways far less than the face. At the outline's depth (a card) a 25
degree turn swept the hair on the crown along with the face.
Below the chin: the neck turns less the lower it is. About half of the neck's axial rotation happens between the
first two vertebrae, behind the jaw (White and Panjabi, Clinical Biomechanics of the Spine), so the upper neck
under the jaw turns about half as far as the head, and the rest spreads over the lower vertebrae down to the
collar, which hardly turns. With the whole neck at 0.15 the jaw's edge dragged a diagonal crease across it on a
25 degree turn."""
RING_CLEARANCE = 1.5
"""A ring's point is left out where one of the fitted head's control points lies within this many of their spacings
(``CONTROL_SPACING_MM``): the head's shape moves the photo there, the ring only beyond the head."""
BORDER_ANCHORS_PER_SIDE = 16
GRID_CELLS = 32
MESH_CELLS = 128
"""Grid nodes across the frame at which the head's piecewise-affine field is evaluated, then smoothed and
upsampled: 4 output pixels apart at 512, well under the smoothing."""
MIN_AREA_SHARE = 0.1
"""A triangle of the head's field squeezed to less than this share of its area as photographed is left out."""
MESH_SMOOTHING_MM = 4.5
"""The Gaussian width (in the picture) over which the head's field is smoothed. Piecewise affine between its
control points, the field bends at the triangles' edges (a straight strand of hair or a collar kinked), and under
the chin, where the face's outline turns fully with the head and the neck's points half as far, it sheared a
line across the neck."""
TPS_REGULARISATION = 1e-4
EYE_LAYER_GROWTH = 1.15
TEAR_PX = 1.0
"""Where the map's second difference between neighbouring pixels exceeds this many source pixels, it tears: an
occlusion edge (on a turn the nose over the far cheek and nostril, sealed lips folded over one another, a lid over
the turned eye) or the face's outline against what lies beyond it. Inside a triangle the map is affine (no second
difference), and across the edge two triangles of one surface share it bends by far less."""


@dataclass
class FrameGeometry:
    """One frame's destination geometry in output pixels, kept for the mouth and eye painters."""

    dest: np.ndarray  # (V, 2) landmark positions
    photo_mouth_polygon: np.ndarray  # (K, 2) the photo's inner-lip loop moved with the skull
    turned: np.ndarray  # (V, 2) the photographed face moved by the head's rigid motion alone
    tears: tuple[np.ndarray, np.ndarray] = (np.zeros(0, np.int64), np.zeros(0, np.int64))
    """(rows, columns) of the pixels on either side of a tear in the map (``TEAR_PX``)."""


class TpsField:
    """A thin-plate spline through moving control points and fixed anchors (where it is zero), evaluated on a
    coarse grid and upsampled. The anchors' kernel parts are computed once."""

    def __init__(self, size: int, anchors: np.ndarray, cells: int = GRID_CELLS):
        self.size = size
        # grid nodes sit where cv2.resize samples them: node j of `cells` at output coordinate (j + 0.5)·size/cells
        nodes = (np.arange(cells) + 0.5) * size / cells
        gx, gy = np.meshgrid(nodes, nodes)
        self.cells = cells
        self.grid = np.column_stack([gx.ravel(), gy.ravel()]) / size
        self.anchors = anchors / size
        self._anchor_kernel = _tps_kernel(self.anchors, self.anchors)
        # the grid's sums in single precision: a thousandth of a pixel, at a third of the time (the logarithms)
        self._grid32 = self.grid.astype(np.float32)
        self._grid_anchor_kernel = _tps_kernel(self._grid32, self.anchors.astype(np.float32))

    def evaluate(self, controls: np.ndarray, values: np.ndarray) -> np.ndarray:
        """(size, size, 2) values interpolated from ``values`` (N, 2) at output-pixel ``controls`` (N, 2) and 0 at
        the anchors."""
        c = np.vstack([controls / self.size, self.anchors])
        m, n = len(controls), len(c)
        k = np.empty((n, n))
        k[:m] = _tps_kernel(c[:m], c)
        k[m:, :m] = k[:m, m:].T
        k[m:, m:] = self._anchor_kernel
        p = np.column_stack([np.ones(n), c])
        system = np.zeros((n + 3, n + 3))
        system[:n, :n] = k + TPS_REGULARISATION * np.eye(n)
        system[:n, n:] = p
        system[n:, :n] = p.T
        rhs = np.zeros((n + 3, 2))
        rhs[:m] = values
        coef = np.linalg.solve(system, rhs)
        w = coef[:n].astype(np.float32)
        coarse = _tps_kernel(self._grid32, c[:m].astype(np.float32)) @ w[:m] + self._grid_anchor_kernel @ w[m:]
        coarse += (coef[n] + self.grid @ coef[n + 1:]).astype(np.float32)
        coarse = coarse.reshape(self.cells, self.cells, 2)
        return cv2.resize(coarse, (self.size, self.size), interpolation=cv2.INTER_LINEAR)


class HeadMeshField:
    """The backward displacement through moving control points and fixed anchors, piecewise affine over their
    triangulation as photographed (Delaunay) and smoothed. Piecewise affine, not a spline: between the face's edge,
    which moves 30 pixels on a turn, and the ear beside it, which moves 5, a thin-plate spline overshot and the far
    ear bulged. Triangles are drawn far to near, so where a turn folds the far side of the head under the near
    side the near side wins. Evaluated on a coarse grid, smoothed (where folding left a node uncovered, its
    neighbours fill it) and upsampled."""

    def __init__(self, size: int, sources: np.ndarray, px_per_mm: float, cells: int = MESH_CELLS):
        self.size = size
        self.sources = sources.astype(np.float64)
        self.triangles = Delaunay(self.sources).simplices
        self._areas = signed_areas(self.sources[self.triangles])
        self.cells = cells
        self.step = size / cells
        nodes = (np.arange(cells) + 0.5) * self.step
        gx, gy = np.meshgrid(nodes, nodes)
        self._x, self._y = gx.astype(np.float32), gy.astype(np.float32)
        self.sigma = MESH_SMOOTHING_MM * px_per_mm / self.step
        self._ids = np.empty((cells, cells), np.int32)

    def evaluate(self, controls: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """(size, size, 2) displacements (source minus output pixel) for the control points at ``controls`` (N, 2
        output pixels, in the order of the sources) at ``depth`` (N,: larger is nearer the camera)."""
        corners = controls[self.triangles]
        affines, ok = _triangle_affines(corners, self.sources[self.triangles])
        # turned over (the far side of a fold) or crushed to a sliver, a triangle's map runs wild: its nodes are
        # filled from their neighbours instead
        ok &= signed_areas(corners) / self._areas > MIN_AREA_SHARE
        order = np.argsort(depth[self.triangles].mean(1))
        order = order[ok[order]]
        ids = self._ids
        ids.fill(-1)
        pts = np.round(corners[order] * (16.0 / self.step)).astype(np.int32)
        for f, c in zip(order.tolist(), pts, strict=True):
            cv2.fillConvexPoly(ids, c, f, cv2.LINE_8, 4)
        sx, sy = _piecewise_affine(self._x, self._y, ids, affines)
        covered = (ids >= 0).astype(np.float32)
        moved = np.stack([(sx - self._x) * covered, (sy - self._y) * covered, covered], axis=-1)
        moved = cv2.GaussianBlur(moved, (0, 0), self.sigma, borderType=cv2.BORDER_REPLICATE)
        field = moved[..., :2] / np.maximum(moved[..., 2:], 1e-6)
        return cv2.resize(field, (self.size, self.size), interpolation=cv2.INTER_LINEAR)


def _tps_kernel(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """U(r) = r² log r between point sets (N, 2) and (M, 2), computed as ½ r² log r² in their precision.

    In place: with a fresh array for every step the temporaries cost twice the arithmetic."""
    d2 = np.square(a[:, None, 0] - b[None, :, 0])
    d2 += np.square(a[:, None, 1] - b[None, :, 1])
    u = np.maximum(d2, d2.dtype.type(1e-20))
    np.log(u, out=u)
    u *= d2
    u *= 0.5
    return u


class PortraitWarp:
    """Backward maps for one photo: built once per photo, then ``frame_map`` per frame."""

    def __init__(self, src_px: np.ndarray, rest_m: np.ndarray, photo_m: np.ndarray, triangles: np.ndarray,
                 project, size: int, head_centre_m: np.ndarray, person_mask: np.ndarray | None = None,
                 head: HeadControls | None = None):
        """``src_px``: landmarks in output pixels as photographed; ``rest_m``/``photo_m``: the rig's rest and
        photographed vertices (metres); ``project``: rig metres -> output pixels; ``head_centre_m``: the head's
        pivot (rig metres), whose depth the head's silhouette has; ``person_mask``: (size, size) float, 1 on the
        person (hair and body follow the head there, the background does not); ``head``: the fitted 3-D head's
        control points outside the face (None: the rings alone)."""
        self.size = size
        self.src = src_px.astype(np.float64)
        self.rest = rest_m.astype(np.float64)
        self.photo = photo_m.astype(np.float64)
        self.project = project
        fans = {tuple(sorted(t)) for t in mt.eye_fans()}
        self.skin = np.array([t for t in triangles if tuple(sorted(t)) not in fans], dtype=np.int64)
        self._src_winding = np.sign(signed_areas(self.src[self.skin]))
        self._edges, self._edge_faces = _mesh_edges(self.skin)
        self.skull = np.array(mt.SKULL)
        self.oval = np.array(mt.FACE_OVAL)
        self.mouth_loop = np.array(mt.INNER_MOUTH_LOOP)
        self.eye_layers = {}  # side -> the photo's eye opening, grown a little (behind the lids)
        for s in ("R", "L"):
            loop = self.src[list(mt.EYE_LOOP[s])]
            centre = loop.mean(0)
            self.eye_layers[s] = centre + EYE_LAYER_GROWTH * (loop - centre)
        self.face_edge: FaceEdge | None = None
        """What covers the face's edge in the photo (``face_edge``), carried by the field outside the face on a turn;
        the renderer sets it once it knows the skin's colour."""
        self._init_rings(person_mask, float(head_centre_m[2]))
        self.head = head
        self.tps: TpsField | None = None
        self.head_field: HeadMeshField | None = None
        self.rings_kept = np.arange(len(self.ring_px))
        """The rings' points that carry the motion: all of them without a head; with one, the first ring (hugging
        the outline) and the others' points beyond the head."""
        if head is None:
            self.tps = TpsField(size, self.border)
        else:
            px_per_mm = float(np.linalg.norm(project(np.array([1e-3, 0.0, 0.0])) - project(np.zeros(3))))
            reach = RING_CLEARANCE * CONTROL_SPACING_MM * px_per_mm
            nearest = np.sqrt(np.square(self.ring_px[:, None] - head.src[None]).sum(-1).min(1))
            self.rings_kept = np.flatnonzero((nearest > reach) | (self.ring_index == 0))
            sources = np.vstack([self.src[self.oval], head.src, self.ring_px[self.rings_kept], self.border])
            self.head_field = HeadMeshField(size, sources, px_per_mm)
        self._ids = np.empty((size, size), np.int32)
        ys, xs = np.mgrid[0:size, 0:size]
        self._pix = np.stack([xs + 0.5, ys + 0.5], axis=-1).astype(np.float32)  # pixel centres
        self._pix_x, self._pix_y = np.ascontiguousarray(self._pix[..., 0]), np.ascontiguousarray(self._pix[..., 1])

    def _init_rings(self, person_mask: np.ndarray | None, centre_depth_m: float) -> None:
        src, photo = self.src, self.photo
        centre_px = src[self.oval].mean(0)
        centre_m = photo[self.oval].mean(0)
        mouth_y = src[[13, 14], 1].mean()
        chin_y = src[mt.CHIN, 1]
        rings_m, shares, follow = [], [], []
        for scale, head_share, follow_above, follow_below, depth, neck_share in RINGS:
            pts_m = centre_m + scale * (photo[self.oval] - centre_m)
            outline_z = photo[self.oval, 2]
            pts_m[:, 2] = outline_z + depth * np.minimum(centre_depth_m - outline_z, 0.0)
            pts_px = centre_px + scale * (src[self.oval] - centre_px)
            below = np.clip((pts_px[:, 1] - mouth_y) / max(1.3 * (chin_y - mouth_y), 1.0), 0.0, 1.0)
            share = head_share * (1.0 - (1.0 - neck_share) * below)
            if person_mask is not None and head_share < 1.0:
                xi = np.clip(pts_px[:, 0].astype(int), 0, self.size - 1)
                yi = np.clip(pts_px[:, 1].astype(int), 0, self.size - 1)
                share = share * person_mask[yi, xi]
            rings_m.append(pts_m)
            shares.append(share)
            follow.append(follow_above + (follow_below - follow_above) * np.clip(below * 3.0, 0.0, 1.0))
        ring_m, ring_px = np.vstack(rings_m), self.project(np.vstack(rings_m))
        inside = np.all((ring_px > 0.03 * self.size) & (ring_px < 0.97 * self.size), axis=1)
        self.ring_m, self.ring_px = ring_m[inside], ring_px[inside]
        self.ring_share = np.concatenate(shares)[inside]
        self.ring_follow = np.concatenate(follow)[inside]
        self.ring_oval = np.tile(np.arange(len(self.oval)), len(RINGS))[inside]
        self.ring_index = np.repeat(np.arange(len(RINGS)), len(self.oval))[inside]
        t = np.linspace(0, self.size, BORDER_ANCHORS_PER_SIDE + 1)[:-1]
        s = float(self.size)
        zero, full = np.zeros_like(t), np.full_like(t, s)
        self.border = np.vstack([np.column_stack([t, zero]), np.column_stack([full, t]),
                                 np.column_stack([s - t, full]), np.column_stack([zero, s - t])])

    # ---- per frame ---------------------------------------------------------------------------------------
    def frame_map(self, verts_m: np.ndarray, dest_m: np.ndarray) -> tuple[np.ndarray, FrameGeometry]:
        """The backward map (size, size, 2) in output-frame pixel coordinates (pixel edges at integers) for a
        frame whose rig vertices are ``verts_m`` (drives the skull) and whose drawn points are ``dest_m``."""
        rot, trans = kabsch(self.rest[self.skull], verts_m[self.skull])
        dest = self.project(dest_m)
        rigid_px = self.project(self.photo @ rot.T + trans)
        rigid = _fit_affine(self.src[self.skull], rigid_px[self.skull])

        # outside the face: backward displacements through the oval, the head's points, rings and border
        head_move = self.project(self.ring_m @ rot.T + trans) - self.ring_px
        oval_extra = (dest[self.oval] - self.src[self.oval]) - (rigid_px[self.oval] - self.src[self.oval])
        ring_dest = self.ring_px + self.ring_share[:, None] * head_move + self.ring_follow[:, None] * oval_extra[
            self.ring_oval]
        if self.head is not None and self.head_field is not None:
            head_m = self.head.posed(verts_m, rot, trans)
            kept = self.rings_kept
            controls = np.vstack([dest[self.oval], self.project(head_m), ring_dest[kept], self.border])
            depth = np.concatenate([dest_m[self.oval, 2], head_m[:, 2], self.ring_m[kept, 2],
                                    np.full(len(self.border), -np.inf)])  # the border's anchors behind all
            field = self.head_field.evaluate(controls, depth)
        else:
            assert self.tps is not None  # built wherever there is no head
            controls = np.vstack([dest[self.oval], ring_dest])
            sources = np.vstack([self.src[self.oval], self.ring_px])
            field = self.tps.evaluate(controls, sources - controls)
        backward = field
        backward += self._pix  # in place (the field is this frame's own array)

        # the face: behind-the-skin layers first, then skin triangles far to near, inside the face's box
        inv_rigid = _invert_affine(rigid)
        layers = []
        for s, grown in self.eye_layers.items():
            gaze = dest[mt.IRIS[s][0]] - _apply_affine(rigid, self.src[mt.IRIS[s][0]])
            layers.append((_apply_affine(rigid, grown) + gaze, _invert_affine(_shifted(rigid, gaze))))
        photo_mouth = _apply_affine(rigid, self.src[self.mouth_loop])
        layers.append((photo_mouth, inv_rigid))
        layers.append((dest[self.mouth_loop], inv_rigid))

        box = box_around(np.vstack([dest, photo_mouth]), 8, (self.size, self.size))
        if box is None:  # the face left the frame
            return backward, FrameGeometry(dest, photo_mouth, rigid_px)
        x0, y0, x1, y1 = box
        corner = np.array([x0, y0], np.float64)
        ids = self._ids[: y1 - y0, : x1 - x0]
        ids.fill(-1)
        affines = np.empty((len(layers) + len(self.skin), 2, 3), np.float32)
        for k, (poly, aff) in enumerate(layers):
            cv2.fillPoly(ids, [np.round((poly - corner) * 16).astype(np.int32)], k, cv2.LINE_8, 4)
            affines[k] = aff
        tri_dest = dest[self.skin]  # (F, 3, 2)
        n_layers = len(layers)
        affines[n_layers:], ok = _triangle_affines(tri_dest, self.src[self.skin])
        order = np.argsort(dest_m[self.skin, 2].mean(1))
        order = order[ok[order]]
        pts = np.round((tri_dest[order] - corner) * 16).astype(np.int32)
        # ids and corners gathered before the loop: indexing the arrays per triangle cost a quarter of its time
        for f, corners in zip((order + n_layers).tolist(), pts, strict=True):
            cv2.fillConvexPoly(ids, corners, f, cv2.LINE_8, 4)

        covered = ids >= 0
        alpha = _feather(covered, self.size)
        face_x, face_y = _piecewise_affine(self._pix_x[y0:y1, x0:x1], self._pix_y[y0:y1, x0:x1], ids, affines)
        region = backward[y0:y1, x0:x1]
        if self.face_edge is not None:
            turn_deg = float(np.degrees(np.arccos(np.clip((np.trace(rot) - 1.0) / 2.0, -1.0, 1.0))))
            given = self.face_edge.handed_over(face_x, face_y, region, turn_deg)
            if given is not None:
                alpha *= 1.0 - given
        for axis, face in enumerate((face_x, face_y)):  # in place: region + alpha * (face - region)
            current = region[..., axis]
            face -= current
            face *= alpha
            current += face
        return backward, FrameGeometry(dest, photo_mouth, rigid_px, self._tears(tri_dest, dest, backward, box))

    def _tears(self, tri_dest: np.ndarray, dest: np.ndarray, backward: np.ndarray, box: tuple[int, int, int, int]
               ) -> tuple[np.ndarray, np.ndarray]:
        """(rows, columns) of the pixels on either side of a tear in the frame's ``backward`` map, inside the
        face's ``box``. The map can only tear along the skin mesh's own edges where it has no neighbour (the
        outline, the eye and mouth openings over their layers) or where one side faces the camera and the other
        away (a fold: the turned nose's edge over the cheek); only near those edges, drawn at the frame's
        ``dest`` points, is the map's second difference taken (over the whole face it cost 2 ms a frame)."""
        facing = signed_areas(tri_dest) * self._src_winding > 0
        faces = self._edge_faces
        fold = (faces[:, 1] < 0) | (facing[faces[:, 0]] != facing[np.maximum(faces[:, 1], 0)])
        x0, y0, x1, y1 = box
        near = np.zeros((y1 - y0, x1 - x0), np.uint8)
        segments = np.round((dest[self._edges[fold]] - (x0, y0)) * 16).astype(np.int32)
        cv2.polylines(near, list(segments), False, 1, 1, cv2.LINE_8, 4)
        near = cv2.dilate(near, np.ones((3, 3), np.uint8))  # the pixels either side of each edge
        near[[0, -1]] = 0  # the second difference needs both neighbours
        near[:, [0, -1]] = 0
        rows, cols = np.divmod(np.flatnonzero(near), x1 - x0)
        size = self.size
        at = (rows + y0) * size + cols + x0
        # taken by flat index at once (a tenth of the time of (row, column) pairs): left, right, up, down, itself
        around = backward.reshape(-1, 2).take(at + np.array([[-1], [1], [-size], [size], [0]]), axis=0)
        bend = np.abs(around[[0, 2]] + around[[1, 3]] - 2.0 * around[4])  # (2 axes, n, 2)
        return np.divmod(at[(bend > TEAR_PX).any(axis=(0, 2))], size)


def _mesh_edges(triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The mesh's edges (E, 2) and the one or two triangles on either side of each (E, 2; -1 for none)."""
    pairs = np.sort(triangles[:, [[0, 1], [1, 2], [2, 0]]].reshape(-1, 2), axis=1)
    edges, first, inverse = np.unique(pairs, axis=0, return_index=True, return_inverse=True)
    owner = np.repeat(np.arange(len(triangles)), 3)
    faces = np.full((len(edges), 2), -1, np.int64)
    faces[:, 0] = owner[first]
    second = np.ones(len(pairs), bool)
    second[first] = False
    faces[inverse.ravel()[second], 1] = owner[second]
    return edges, faces


def _piecewise_affine(x: np.ndarray, y: np.ndarray, ids: np.ndarray, affines: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel's own affine map (``affines`` (K, 2, 3) by ``ids`` (h, w), -1 for none: any) at its centre
    (``x``, ``y``): the map's two coordinates (h, w).

    One coefficient at a time, gathered by ``take`` into arrays the arithmetic then reuses: gathering every
    pixel's whole (2, 3) block by fancy indexing, with a fresh array for each step, took twice as long."""
    which = np.maximum(ids, 0)
    coefficients = affines.reshape(-1, 6).T.copy()  # six contiguous tables
    out = []
    for axis in (0, 1):
        value, term, offset = (coefficients[3 * axis + k].take(which) for k in range(3))
        value *= x
        term *= y
        value += term
        value += offset
        out.append(value)
    return out[0], out[1]


def _feather(covered: np.ndarray, size: int) -> np.ndarray:
    sigma = 3.0 * size / 512
    core = cv2.erode(covered.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(np.float32)
    return np.maximum(cv2.GaussianBlur(core, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT), 0.0) * covered


def _triangle_affines(dest: np.ndarray, src: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-triangle (2, 3) affines taking destination points to source points, and which are usable.

    Written out (the edge matrix's 2x2 inverse) rather than as a batched solve: a frame has some 900 triangles,
    and LAPACK's per-matrix overhead cost more than the arithmetic."""
    e1, e2 = dest[:, 1] - dest[:, 0], dest[:, 2] - dest[:, 0]
    f1, f2 = src[:, 1] - src[:, 0], src[:, 2] - src[:, 0]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    ok = np.abs(det) > 1e-3  # twice the area in px²: collapsed triangles cover nothing
    inv_det = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    # linear part L = [f1 f2] [e1 e2]^-1, then the translation that takes the first corner to its source
    lx = (f1 * e2[:, 1:] - f2 * e1[:, 1:]) * inv_det[:, None]  # L's first column (x of the destination)
    ly = (f2 * e1[:, :1] - f1 * e2[:, :1]) * inv_det[:, None]  # L's second column (y)
    t = src[:, 0] - lx * dest[:, 0, :1] - ly * dest[:, 0, 1:]
    return np.stack([lx, ly, t], axis=-1).astype(np.float32), ok


def _fit_affine(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    m = np.column_stack([src, np.ones(len(src))])
    sol, *_ = np.linalg.lstsq(m, dst, rcond=None)
    return sol.T


def _invert_affine(a: np.ndarray) -> np.ndarray:
    inv = np.linalg.inv(np.vstack([a, [0.0, 0.0, 1.0]]))
    return inv[:2]


def _shifted(a: np.ndarray, offset: np.ndarray) -> np.ndarray:
    out = a.copy()
    out[:, 2] += offset
    return out


def _apply_affine(a: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ a[:, :2].T + a[:, 2]

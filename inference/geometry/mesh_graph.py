"""Which vertices of a triangle mesh share an edge: the mesh as a sparse graph."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import shortest_path


def edge_graph(triangles: np.ndarray, n_vertices: int) -> csr_matrix:
    """(n_vertices, n_vertices) symmetric 0/1 adjacency: 1 where two vertices share an edge of ``triangles``
    (T, 3)."""
    tris = np.asarray(triangles)
    edges = np.concatenate([tris[:, [0, 1]], tris[:, [1, 2]], tris[:, [2, 0]]])
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n_vertices, n_vertices)).tocsr()
    return ((graph + graph.T) > 0).astype(np.float64)


def hops_from(graph: csr_matrix, sources: np.ndarray) -> np.ndarray:
    """(n_vertices,) how many edges of ``graph`` (``edge_graph``) each vertex lies from the nearest of ``sources``
    (inf where none can be reached)."""
    return shortest_path(graph, unweighted=True, indices=np.asarray(sources)).min(axis=0)

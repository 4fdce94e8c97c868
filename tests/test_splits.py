"""Document groups for the splits: connected components of the links, named by their smallest member."""
from __future__ import annotations

import random

from stance.data.splits import _components


def _union_find_groups(nodes, edges):
    """Reference: the union-find the splits used before (the root is the smallest name in its set)."""
    parent = {}

    def find(x):
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for n in nodes:
        find(n)
    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {n: find(n) for n in parent}


def test_components_link_transitively_and_take_the_smallest_name():
    groups = _components(["doc:c", "doc:b", "doc:a", "doc:d"], [("doc:c", "title:x"), ("doc:b", "title:x"), ("doc:d", "doc:d")])
    assert groups == {"doc:c": "doc:b", "doc:b": "doc:b", "title:x": "doc:b", "doc:a": "doc:a", "doc:d": "doc:d"}
    assert _components([], []) == {}


def test_components_match_union_find_on_random_graphs():
    rng = random.Random(0)
    for _ in range(50):
        nodes = [f"doc:{rng.randrange(40):02d}" for _ in range(rng.randrange(1, 40))]
        pool = nodes + [f"title:{i}" for i in range(5)]
        edges = [(rng.choice(nodes), rng.choice(pool)) for _ in range(rng.randrange(0, 30))]
        assert _components(nodes, edges) == _union_find_groups(nodes, edges)

#!/usr/bin/env python3
"""check_cycles.py: no two files of a library call each other in a circle.

docs/architecture.md: inside a folder, files that need each other meet
through an interface (a table of function pointers, a shared helper file
that calls nothing back), never A calling B while B calls A. This reads the
symbols of every object file of the szarc libraries in a build tree (nm),
draws the graph "file A uses a function or object defined in file B" and
reports every cycle. (Between folders the include check of the build,
tools/gen/check_includes.cmake, keeps the uses pointing down.)

    tools/gen/check_cycles.py BUILD_DIR      exit 0: no cycle; 1: cycles listed
"""
import collections
import glob
import os
import subprocess
import sys


def symbols(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        part = line.split()
        if len(part) == 3 and part[1] in "TDBR":
            defined.add(part[2])
        elif len(part) == 2 and part[0] == "U":
            undefined.add(part[1])
    return defined, undefined


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    build = sys.argv[1]
    objs = []
    for folder in ("host/*", "archive", "verify", "verify/api"):
        objs += glob.glob(os.path.join(build, folder, "CMakeFiles", "szarc_*.dir", "*.o"))
    if not objs:
        print(f"check_cycles: no object files of the szarc libraries under {build}", file=sys.stderr)
        return 2
    defs, undefs = {}, {}
    for o in objs:
        rel = os.path.relpath(o, build)
        folder = rel.split("/CMakeFiles/")[0]
        name = folder + "/" + os.path.basename(o)[: -len(".o")]
        defs[name], undefs[name] = symbols(o)
    owner = {s: f for f, d in defs.items() for s in d}
    uses = collections.defaultdict(set)
    for f, u in undefs.items():
        for s in u:
            if s in owner and owner[s] != f:
                uses[f].add(owner[s])

    # Tarjan's strongly connected components: each of more than one file is a cycle.
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(uses[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(defs):
        if v not in index:
            visit(v)
    for c in cycles:
        edges = [f"{a} -> {b}" for a in c for b in sorted(uses[a]) if b in c]
        print("cycle: " + ", ".join(c) + "\n  " + "\n  ".join(edges))
    print(f"check_cycles: {len(defs)} files, {len(cycles)} cycles")
    return 1 if cycles else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks that no source file of a crate imports, directly or through others, a file that
imports it back.

    python3 .ci/import-cycles.py            # every crate of the workspace; exit 1 on a cycle
    python3 .ci/import-cycles.py --graph    # and print who imports whom

A file's imports are the module paths it names: `use crate::…`, `super::…`, `self::…`
(trees with braces expanded), paths written inline (`crate::store::Scope`), and, in a file
that declares child modules, the children it names by their bare name
(`servers::list_servers`). Each path goes to the file of the longest module it names, so
`crate::routes::wire::RenderBase` is an import of `routes/wire.rs` and `crate::NOT_FOUND`
one of `lib.rs`. Declaring a child (`mod x;`) is not an import; a file's own unit tests
(`use super::*` inside `mod tests`) are not either. Comments and string literals are
ignored.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = ["common", "identity-mock", "compute-mock", "lb-mock", "launcher", "test-support",
          "bench/driver"]


def strip(code):
    """The code without comments, string literals and char literals."""
    code = re.sub(r"/\*.*?\*/", " ", code, flags=re.S)
    code = re.sub(r'r(#*)".*?"\1', '""', code, flags=re.S)
    code = re.sub(r'"(?:\\.|[^"\\])*"', '""', code, flags=re.S)
    code = re.sub(r"'(?:\\.|[^'\\])'", "' '", code)
    return re.sub(r"//[^\n]*", "", code)


def without_test_modules(code):
    """The code without `#[cfg(test)] mod name { … }` blocks."""
    out, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{", code):
        if m.start() < i:
            continue
        out.append(code[i:m.start()])
        depth, j = 1, m.end()
        while j < len(code) and depth:
            depth += {"{": 1, "}": -1}.get(code[j], 0)
            j += 1
        i = j
    out.append(code[i:])
    return "".join(out)


def modules(src):
    """module path (tuple) -> file, for one crate's src/ (lib.rs or main.rs is the root)."""
    found = {}
    for dirpath, _, files in os.walk(src):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, src)[:-3].split(os.sep)
            if rel[-1] == "mod":
                rel = rel[:-1]
            if rel in (["lib"], ["main"]):
                rel = []
            key = tuple(rel)
            # A crate with both lib.rs and main.rs: the library is the root the others import.
            if key == () and key in found and name == "main.rs":
                continue
            found[key] = path
    return found


def expand_use(tree):
    """`a::{b, c::{d, e}}` -> ["a::b", "a::c::d", "a::c::e"]."""
    tree = tree.strip()
    m = re.match(r"^(.*?)::\{(.*)\}$", tree, flags=re.S)
    if not m:
        return [re.sub(r"\s+as\s+\w+$", "", tree)]
    prefix, inner = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += {"{": 1, "}": -1}.get(ch, 0)
        cur += ch
    parts.append(cur)
    out = []
    for p in parts:
        p = p.strip()
        if not p:
            continue
        if p == "self":
            out.append(prefix)
        else:
            out.extend(f"{prefix}::{x}" for x in expand_use(p))
    return out


def imports(key, code, mods):
    """The module paths `code` (of module `key`) names, as absolute tuples."""
    children = {k[-1] for k in mods if len(k) == len(key) + 1 and k[:len(key)] == key}
    paths = []
    for m in re.finditer(r"\buse\s+([^;]+);", code):
        paths.extend(expand_use(m.group(1)))
    paths.extend(m.group(0) for m in re.finditer(r"\b(?:crate|super|self)(?:::\w+)+", code))
    if children:
        names = "|".join(sorted(children))
        paths.extend(m.group(1) for m in re.finditer(rf"(?<![:\w])((?:{names})(?:::\w+)+)", code))
    out = []
    for p in paths:
        segs = [s for s in re.split(r"\s*::\s*", p.strip()) if s]
        if not segs:
            continue
        if segs[0] == "crate":
            base, rest = (), segs[1:]
        elif segs[0] in ("super", "self"):
            base = key if segs[0] == "self" else key[:-1]
            rest = segs[1:]
            while rest and rest[0] == "super":
                base, rest = base[:-1], rest[1:]
        elif segs[0] in children:
            base, rest = key, segs
        else:
            continue
        out.append(tuple(base) + tuple(rest))
    return out


def resolve(path, mods):
    """The module file a path lands in: its longest prefix that is a module."""
    for n in range(len(path), -1, -1):
        if path[:n] in mods:
            return path[:n]
    return None


def cycles(graph):
    """Strongly connected components with more than one file (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
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
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def main():
    show = "--graph" in sys.argv[1:]
    found = 0
    for crate in CRATES:
        src = os.path.join(ROOT, crate, "src")
        if not os.path.isdir(src):
            continue
        mods = modules(src)
        graph = {}
        for key, path in mods.items():
            with open(path, encoding="utf-8") as f:
                code = without_test_modules(strip(f.read()))
            targets = set()
            for p in imports(key, code, mods):
                t = resolve(p, mods)
                if t is not None and t != key:
                    targets.add(mods[t])
            graph[path] = sorted(targets)
        rel = lambda p: os.path.relpath(p, ROOT)
        if show:
            for f, ts in sorted(graph.items()):
                print(f"{rel(f)} -> {', '.join(rel(t) for t in ts) or '(nothing)'}")
        for comp in cycles(graph):
            found += 1
            print(f"import cycle in {crate}: " + " <-> ".join(rel(p) for p in comp))
            for a in comp:
                for b in graph[a]:
                    if b in comp:
                        print(f"    {rel(a)} imports {rel(b)}")
    files = sum(len(modules(os.path.join(ROOT, c, "src"))) for c in CRATES
                if os.path.isdir(os.path.join(ROOT, c, "src")))
    print(f"import cycles: {found} ({files} files of {len(CRATES)} crates read)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())

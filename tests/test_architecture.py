"""The apps depend on each other one way (STYLE.md, "Dependencies run one way").

Every import statement of our own packages is read with ``ast``: at the top of a module or
inside a function, ``import x``, ``from x import y`` and relative imports alike, migrations,
template tag libraries and management commands included. From them this checks that

- the kernel (irlearn's own modules: content, figures, markup, page cache...) imports no app;
- each app imports only the apps below it (ALLOWED, below): courses the procedure library,
  procedures and courses the image stacks, the newsletter the site pages, and every app the
  kernel, never the other way round;
- no two apps import each other, however long the way round;
- inside an app, no two modules import each other, however long the way round.

A failure names the import statements that make the offending chain, file and line.
A lower app that must show something from a higher one gets it through a template tag or a
registry the higher app fills in its AppConfig.ready() (the procedure page's modules).
"""

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["irlearn", "procedures", "courses"]

KERNEL = "irlearn"
# The project's wiring sits above everything: it may import any app, and no app imports it.
PROJECT = "project"
PROJECT_MODULES = {"irlearn.settings", "irlearn.urls", "irlearn.wsgi", "irlearn.asgi"}
APPS = [
    "irlearn.accounts",
    "irlearn.pages",
    "irlearn.newsletter",
    "irlearn.stacks",
    "procedures",
    "courses",
]

# What each app may import besides itself. The kernel imports no app. Accounts keep registries
# (the data export, account deletion) that higher apps fill, so those apps import accounts.
# The site pages import no other app: the search page and the demo seed read registries of the
# kernel (irlearn/search.py, irlearn/demo.py) that each app fills. The newsletter links to the
# privacy policy of the site pages.
ALLOWED = {
    KERNEL: set(),
    "irlearn.accounts": {KERNEL},
    # Image stacks are shown by procedures and courses, and know neither.
    "irlearn.stacks": {KERNEL},
    "procedures": {KERNEL, "irlearn.stacks"},
    "courses": {KERNEL, "irlearn.accounts", "procedures", "irlearn.stacks"},
    "irlearn.pages": {KERNEL},
    "irlearn.newsletter": {KERNEL, "irlearn.accounts", "irlearn.pages"},
    PROJECT: {KERNEL, *APPS},
}


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the first-party module imported
    path: str
    line: int
    statement: str

    def __str__(self):
        return f"{self.path}:{self.line} {self.source} -> {self.target}: {self.statement}"


def module_files() -> dict[str, Path]:
    """Every module of our packages, by dotted name."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


MODULES = module_files()


def _nearest_module(name: str) -> str | None:
    """``name`` if it is one of our modules, else the closest package of ours that holds it
    (``from courses.models import Course`` imports courses.models; ``Course`` is not a module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imports_of(module: str) -> list[Import]:
    path = MODULES[module]
    return imports_in(
        module, path.read_text(), str(path.relative_to(ROOT)), is_package=path.name == "__init__.py"
    )


def imports_in(module: str, source: str, path: str, *, is_package: bool) -> list[Import]:
    """The imports of our modules that ``source`` (the text of ``module``) makes, wherever they
    stand in it."""
    tree = ast.parse(source, filename=path)
    found = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module if is_package else module.rpartition(".")[0]
                for _ in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{node.module}" if node.module else package
            else:
                base = node.module
            # ``from courses import services`` imports the module courses.services.
            targets = [f"{base}.{alias.name}" for alias in node.names]
        for name in targets:
            target = _nearest_module(name)
            if target is not None and target != module:
                statement = " ".join(ast.get_source_segment(source, node).split())
                found.append(Import(module, target, path, node.lineno, statement))
    return found


IMPORTS = [found for module in MODULES for found in imports_of(module)]


def app_of(module: str) -> str:
    if module in PROJECT_MODULES:
        return PROJECT
    for app in APPS:
        if module == app or module.startswith(f"{app}."):
            return app
    return KERNEL


def cycles(edges: dict[str, dict[str, Import]]) -> dict[frozenset, list[Import]]:
    """Each group of nodes that reach each other (Tarjan's strongly connected components), with
    one cycle through it: the chain of import statements that goes round."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, {})):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(frozenset(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return {group: _cycle_through(group, edges) for group in groups}


def _cycle_through(group: set[str], edges) -> list[Import]:
    """The shortest way from the group's first node back to itself, inside the group."""
    start = min(group)
    paths = {start: []}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt, found in sorted(edges.get(node, {}).items()):
            if nxt == start:
                return [*paths[node], found]
            if nxt in group and nxt not in paths:
                paths[nxt] = [*paths[node], found]
                queue.append(nxt)
    raise AssertionError(f"no cycle through {group}")  # pragma: no cover


def describe(chain: list[Import], node=lambda module: module) -> str:
    """The cycle ``chain`` as its nodes (modules, or apps with ``node=app_of``), then the import
    statement of each step."""
    names = " -> ".join(node(name) for name in [chain[0].source, *(f.target for f in chain)])
    return "\n".join([names, *(f"    {found}" for found in chain)])


def app_edges() -> dict[str, dict[str, Import]]:
    edges = defaultdict(dict)
    for found in IMPORTS:
        source, target = app_of(found.source), app_of(found.target)
        if source != target:
            edges[source].setdefault(target, found)
    return edges


def module_edges(app: str) -> dict[str, dict[str, Import]]:
    edges = defaultdict(dict)
    for found in IMPORTS:
        if app_of(found.source) == app_of(found.target) == app:
            edges[found.source].setdefault(found.target, found)
    return edges


# Cycles being removed now, each the exact group of modules that import each other. A cycle
# that grows or shrinks, or a new one, still fails; once one is gone its xfail test says so.
# None at present.
KNOWN_CYCLES = {}


def test_the_walk_finds_our_modules_and_every_kind_of_import():
    assert {"irlearn.content", "procedures.models", "courses.templatetags.courses"} <= set(MODULES)
    source = """
import courses.models
from irlearn.content import Status
from irlearn.accounts import services
from . import tasks
from .models import User
from ..pagecache import register_content_models
from .. import markup


def ready():
    from procedures.models import Procedure
    import django.db
"""
    found = imports_in(
        "irlearn.accounts.apps", source, "irlearn/accounts/apps.py", is_package=False
    )

    assert [(f.line, f.target) for f in found] == [
        (2, "courses.models"),
        (3, "irlearn.content"),
        (4, "irlearn.accounts.services"),
        (5, "irlearn.accounts.tasks"),
        (6, "irlearn.accounts.models"),
        (7, "irlearn.pagecache"),
        (8, "irlearn.markup"),
        (12, "procedures.models"),
    ]
    assert str(found[2]) == (
        "irlearn/accounts/apps.py:4 irlearn.accounts.apps -> irlearn.accounts.services: "
        "from irlearn.accounts import services"
    )


def test_the_kernel_imports_no_app():
    offending = [
        str(found)
        for found in IMPORTS
        if app_of(found.source) == KERNEL and app_of(found.target) != KERNEL
    ]
    assert not offending, "The kernel imports an app:\n" + "\n".join(offending)


def test_the_procedure_library_imports_nothing_from_courses():
    offending = [
        str(found)
        for found in IMPORTS
        if app_of(found.source) == "procedures" and app_of(found.target) == "courses"
    ]
    assert not offending, "procedures imports courses:\n" + "\n".join(offending)


def test_each_app_imports_only_the_apps_below_it():
    offending = [
        str(found)
        for found in IMPORTS
        if app_of(found.target) not in {app_of(found.source), *ALLOWED[app_of(found.source)]}
    ]
    assert not offending, "Imports against the allowed direction:\n" + "\n".join(offending)


def test_no_two_apps_import_each_other():
    found = [describe(chain, node=app_of) for chain in cycles(app_edges()).values()]
    assert not found, "Apps that import each other:\n" + "\n\n".join(found)


@pytest.mark.parametrize("app", [KERNEL, *APPS])
def test_no_two_modules_of_an_app_import_each_other(app):
    found = [
        chain
        for group, chain in cycles(module_edges(app)).items()
        if group != KNOWN_CYCLES.get(app)
    ]
    assert not found, f"Modules of {app} that import each other:\n" + "\n\n".join(
        map(describe, found)
    )


def test_the_newsletter_known_cycle_is_gone():
    """Its tasks called sending and services, which enqueued those tasks from imports inside
    functions. The tasks now call only the worker side (engine, messages), and what enqueues
    them (services, scheduling) sits above them."""
    app = "irlearn.newsletter"
    found = cycles(module_edges(app))
    assert not found, "\n\n".join(map(describe, found.values()))

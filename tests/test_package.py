"""`make package` (scripts/package.py): what it leaves out of the layer is never imported.

Always (no network, under a second): the script reads runtime and architecture from
template.yaml, and nothing our code imports, lazily too, is in a distribution it excludes or a
path it trims. With a current host build (`make package` makes `.build/host`, the same layer for
this machine, from the code and template as they are now): each function's handlers, its
modules and everything our code imports (and the attributes it reads from imported modules:
kubernetes 37 loads its API classes on first access) load in an interpreter that sees only what
Lambda's would, the function folder then the layer's `python/` (`/opt/python`): neither this
machine's site-packages nor the runtime's boto3.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
HOST_BUILD = ROOT / ".build" / "host"
# Imported off Lambda only (chatops/bolt_app.py, without AWS_LAMBDA_FUNCTION_NAME): Chalice's CLI.
LOCAL_ONLY = ("slack_bolt.adapter.aws_lambda.local_lambda_client",)

PROBE = """
import importlib, json, pkgutil, sys
handlers, modules, names = json.loads(sys.argv[1])
failed = []

def attempt(label, load, *args):
    try:
        load(*args)
    except Exception as exc:
        failed.append(f"{label}: {type(exc).__name__}: {exc}")

def handler(spec):
    module, _, name = spec.rpartition(".")
    assert callable(getattr(importlib.import_module(module), name)), spec

def walk(name):
    module = importlib.import_module(name)
    for info in pkgutil.walk_packages(getattr(module, "__path__", []), name + ".", onerror=failed.append):
        attempt(info.name, importlib.import_module, info.name)

def resolve(dotted):  # a module, or an attribute of one: what `from a.b import c` or `b.c` reaches
    parts = dotted.split(".")
    found = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], 2):
        try:
            found = getattr(found, part)
        except AttributeError:
            found = importlib.import_module(".".join(parts[:i]))

for spec in handlers:
    attempt(spec, handler, spec)
for name in modules:
    attempt(name, walk, name)
for name in names:
    attempt(name, resolve, name)
print(json.dumps(failed))
"""


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("package_script", ROOT / "scripts" / "package.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


package = _script()


def _imports(path: Path) -> set[str]:
    """What the file or folder `path` imports, as dotted names (`from a import b` is `a.b`), lazy
    imports included, those under TYPE_CHECKING not; and `b.c` where `b` names an imported module."""
    found: set[str] = set()
    for file in [path] if path.is_file() else path.rglob("*.py"):
        tree = ast.parse(file.read_text())
        aliases: dict[str, str] = {}  # local name -> the module or attribute it is bound to
        nodes: list[ast.AST] = [tree]
        while nodes:
            node = nodes.pop()
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                continue
            if isinstance(node, ast.Import):
                for alias in node.names:
                    found.add(alias.name)
                    top = alias.name.split(".")[0]
                    aliases[alias.asname or top] = alias.name if alias.asname else top
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                for alias in node.names:
                    dotted = node.module if alias.name == "*" else f"{node.module}.{alias.name}"
                    found.add(dotted)
                    aliases[alias.asname or alias.name] = dotted
            nodes.extend(ast.iter_child_nodes(node))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                found.add(f"{aliases[node.value.id]}.{node.attr}")
    return found


def _third_party(names: set[str], ours: set[str]) -> list[str]:
    skip = set(sys.stdlib_module_names) | ours | {"__future__"}
    return sorted(n for n in names if n.split(".")[0] not in skip and not n.startswith(LOCAL_ONLY))


def test_runtime_and_architecture_come_from_the_template(tmp_path: Path) -> None:
    layers, functions = package.read_template()
    assert functions
    assert all(f.layers and f.runtime.startswith("python") for f in functions)
    assert {layer.architecture for layer in layers.values()} <= package.PLATFORMS.keys()

    mismatched = tmp_path / "template.yaml"
    mismatched.write_text(
        "Globals: {Function: {Runtime: python3.12, Architectures: [arm64], Layers: [!Ref L]}}\n"
        "Resources:\n"
        "  L: {Type: AWS::Serverless::LayerVersion, Properties: {ContentUri: l},"
        " Metadata: {BuildMethod: python3.12}}\n"  # SAM's default architecture: x86_64
        "  F: {Type: AWS::Serverless::Function, Properties: {CodeUri: f, Handler: app.handler}}\n"
    )
    with pytest.raises(SystemExit, match=r"F runs on python3\.12 arm64, its layer L is built for python3\.12 x86_64"):
        package.read_template(mismatched)


def test_our_code_imports_nothing_the_package_leaves_out() -> None:
    layers, functions = package.read_template()
    folders = {layer.content for layer in layers.values()} | {function.code for function in functions}
    distributions = importlib.metadata.packages_distributions()
    for name in set().union(*(_imports(folder) for folder in folders)):
        top = name.split(".")[0]
        dists = {re.sub(r"[-_.]+", "-", d).lower() for d in distributions.get(top, [top])}
        assert not dists & package.EXCLUDED, f"{name} is in {dists & package.EXCLUDED}, which the layer leaves out"
        for trimmed in package.TRIMMED:
            prefix = trimmed.replace("/", ".")
            assert name != prefix and not name.startswith(prefix + "."), f"{name} is trimmed from the layer"


def _modules(folder: Path) -> list[str]:
    return sorted(p.stem for p in folder.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file())


def _probe(
    python: str, path: list[Path], handlers: list[str], ours: list[str], imports: set[str]
) -> subprocess.Popen[str]:
    """Start PROBE on Lambda's path: `path[0]` is /var/task (and the working directory), then /opt/python."""
    argument = json.dumps([handlers, ours, _third_party(imports, set(ours))])
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": ":".join(map(str, path)),
        "AWS_LAMBDA_FUNCTION_NAME": "probe",  # as on Lambda: chatops then needs no Chalice CLI
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    command = [python, "-S", "-c", PROBE, argument]  # -S: no site-packages, only the path above
    return subprocess.Popen(command, cwd=path[0], env=env, stdout=subprocess.PIPE, text=True)


@pytest.fixture(scope="module")
def host_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make package`'s host build of the current code: reused when current, else built here (a few
    seconds with uv's cache). Without PyPI a laptop skips, saying so; under CI=true that fails."""
    if (HOST_BUILD / "manifest.json").is_file():
        manifest = json.loads((HOST_BUILD / "manifest.json").read_text())
        if manifest.get("sources") == package.sources(*package.read_template()):
            return HOST_BUILD
    script = Path(__file__).resolve().parents[1] / "scripts" / "package.py"
    pins = ROOT / ".build" / "lambda"
    steps = []
    if not (pins / "SharedLayer-requirements.txt").is_file():
        # The host build installs the versions the Lambda build resolved: make those first.
        pins = tmp_path_factory.mktemp("lambda-build")
        steps.append(["--platform", "lambda", "--out", str(pins)])
    out = tmp_path_factory.mktemp("host-build")
    steps.append(["--platform", "host", "--out", str(out), "--pins", str(pins)])
    for step in steps:
        built = subprocess.run([sys.executable, str(script), *step], capture_output=True, text=True, timeout=600)
        if built.returncode != 0:
            reason = f"could not build the artefacts (no PyPI?): {built.stderr.strip()[-300:]}"
            if os.environ.get("CI") == "true":
                pytest.fail(reason)
            pytest.skip(reason)
    return out


def test_the_handlers_import_from_the_built_artefacts(host_build: Path) -> None:
    manifest = json.loads((host_build / "manifest.json").read_text())
    python, layers = manifest["python"], manifest["layers"]
    sites = {name: host_build / layer["dir"] / "python" for name, layer in layers.items()}
    # Each layer once: all our modules in it, and what they import.
    probes: dict[str, subprocess.Popen[str]] = {}
    for name, site in sites.items():
        ours = layers[name]["modules"]
        imports = set().union(*(_imports(p) for p in site.iterdir() if p.stem in ours and p.suffix in ("", ".py")))
        probes[name] = _probe(python, [site], [], ours, imports)
    # Each function folder once: its handlers, its modules and what they import, over its layers.
    handlers: dict[tuple[str, tuple[str, ...]], list[str]] = {}
    for function in manifest["functions"].values():
        handlers.setdefault((function["code"], tuple(function["layers"])), []).append(function["handler"])
    for (code, refs), specs in handlers.items():
        folder = host_build / code
        path = [folder, *(sites[ref] for ref in refs)]
        probes[code] = _probe(python, path, specs, _modules(folder), _imports(folder))

    failed = {}
    for label, probe in probes.items():
        out, _ = probe.communicate(timeout=120)
        failed[label] = json.loads(out.splitlines()[-1]) if probe.returncode == 0 else [f"exit {probe.returncode}"]
    assert not {label: errors for label, errors in failed.items() if errors}

"""`make package`: the deployment artefacts SAM would upload, built without Docker, and their sizes.

Everything comes from template.yaml: each `AWS::Serverless::LayerVersion` (ContentUri, its
requirements.txt, the runtime and architecture in its build Metadata) and each
`AWS::Serverless::Function` (CodeUri, Handler, Runtime, Architectures and Layers after Globals;
every function must run on the runtime and architecture its layers are built for).

For each layer: resolve its requirements for Lambda's platform with uv (binary wheels only, so
nothing is compiled here), leave out the distributions no function imports (EXCLUDED), install
the rest with the ContentUri into `<layer>/python/` (Lambda's `/opt/python`), remove TRIMMED
paths and the RECORD lines that listed them. Each CodeUri is copied as SAM deploys it. Then
zips, and a table: each function's unzipped code plus its layers against Lambda's 250 MB; the
exit status is 1 if one is over BUDGET_MB.

`--platform host` builds the same for this machine and a local Python (the runtime's version if
it runs here, else this one), without zips: tests/test_package.py imports the handlers from it,
since aarch64 wheels cannot run here. `--no-trim` measures what the trimming saves.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import re
import shutil
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
MB = 2**20  # Lambda's "250 MB" is 262,144,000 bytes
LIMIT_MB = 250  # function code plus all its layers, unzipped
BUDGET_MB = 200  # fail here, not at deploy time: 50 MB for a new dependency or a version bump
PLATFORMS = {"arm64": "aarch64-manylinux2014", "x86_64": "x86_64-manylinux2014"}  # uv's --python-platform

# Distributions the layer's requirements pull in that no function imports.
EXCLUDED = {
    # Chalice's CLI and deployer. At run time only chalice.app is used, which imports the
    # standard library alone (Chalice's own deployments ship nothing else).
    "click", "inquirer", "blessed", "editor", "jinxed", "readchar", "runs", "wcwidth", "xmod",
    "pip", "setuptools", "wheel", "packaging",
    # kubernetes' asyncio client (kubernetes.aio, trimmed below); we use the sync client.
    "aiohttp", "aiohttp-retry", "aiohappyeyeballs", "aiosignal", "attrs", "frozenlist",
    "multidict", "propcache", "yarl",
}
# Paths under python/ that nothing imports: the asyncio client (39 MB); console scripts, which
# Lambda never puts on PATH from python/ and whose shebang names the build machine's Python; uv's lock.
TRIMMED = ["kubernetes/aio", "bin", ".lock"]


@dataclass(frozen=True)
class Layer:
    name: str
    content: Path
    runtime: str
    architecture: str


@dataclass(frozen=True)
class Function:
    name: str
    code: Path
    handler: str
    runtime: str
    architecture: str
    layers: tuple[str, ...]


def read_template(path: Path = ROOT / "template.yaml") -> tuple[dict[str, Layer], list[Function]]:
    template: dict[str, Any] = yaml.load(path.read_text(), Loader=_CfnLoader)  # a SafeLoader
    globals_ = (template.get("Globals") or {}).get("Function") or {}
    layers: dict[str, Layer] = {}
    functions: list[Function] = []
    for name, resource in template["Resources"].items():
        props, meta = resource.get("Properties") or {}, resource.get("Metadata") or {}
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            arch = meta.get("BuildArchitecture", "x86_64")  # SAM's default
            layers[name] = Layer(name, path.parent / props["ContentUri"], meta["BuildMethod"], arch)
        elif resource["Type"] == "AWS::Serverless::Function":
            merged = {key: _merged(globals_, props, key) for key in ("Runtime", "Architectures", "Layers")}
            architectures = merged["Architectures"] or ["x86_64"]
            if len(architectures) != 1:
                raise SystemExit(f"{name}: one architecture expected, got {architectures}")
            refs = tuple(layer["Ref"] for layer in merged["Layers"] or [] if isinstance(layer, dict) and "Ref" in layer)
            code = path.parent / props["CodeUri"]
            functions.append(Function(name, code, props["Handler"], merged["Runtime"], architectures[0], refs))
    for function in functions:
        for ref in function.layers:
            layer = layers[ref]
            if (layer.runtime, layer.architecture) != (function.runtime, function.architecture):
                raise SystemExit(
                    f"{function.name} runs on {function.runtime} {function.architecture}, "
                    f"its layer {ref} is built for {layer.runtime} {layer.architecture}"
                )
    return layers, functions


class _CfnLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms: `!Ref X` reads as {"Ref": "X"}, `!Sub s` as {"Fn::Sub": s}."""


def _short_form(loader: yaml.SafeLoader, tag: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {"Ref" if tag == "Ref" else f"Fn::{tag}": value}


_CfnLoader.add_multi_constructor("!", _short_form)


def _merged(globals_: dict[str, Any], props: dict[str, Any], key: str) -> Any:
    """SAM's Globals: a function's own value wins, except lists, which are concatenated."""
    own, shared = props.get(key), globals_.get(key)
    if isinstance(own, list) and isinstance(shared, list):
        return shared + own
    return shared if own is None else own


def host_python(runtime: str) -> str:
    """The runtime's Python if this machine runs it (`python3.12`), else the one running this script."""
    candidate = shutil.which(runtime)
    if candidate and subprocess.run([candidate, "-c", ""], capture_output=True, check=False).returncode == 0:
        return candidate
    return sys.executable


def _uv() -> str:
    found = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if not found:
        raise SystemExit("uv not found: run `make venv`")
    return found


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[=<>!~\[; ]", requirement, maxsplit=1)[0]).lower()


def build_layer(layer: Layer, out: Path, target: list[str], *, trim: bool, pins: Path | None = None) -> None:
    """Install `layer` into `out/<name>/python`: its ContentUri, then its requirements resolved
    for `target` minus EXCLUDED (or exactly the versions pinned in `pins/`), then trim."""
    site = out / layer.name / "python"
    shutil.copytree(layer.content, site, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    requirements = layer.content / "requirements.txt"
    pinned = out / f"{layer.name}-requirements.txt"  # what gets installed, for the record
    flags = [*target, "--only-binary", ":all:", "--quiet"]
    if pins:
        if not (pins / pinned.name).is_file():
            raise SystemExit(f"{pins / pinned.name} is missing: build for Lambda first")
        shutil.copyfile(pins / pinned.name, pinned)
    elif requirements.exists():
        compile_ = [_uv(), "pip", "compile", str(requirements), "--no-header", "--no-annotate", *flags]
        resolved = subprocess.run(compile_, check=True, capture_output=True, text=True).stdout.splitlines()
        kept = [line for line in resolved if line.strip() and not (trim and _name(line) in EXCLUDED)]
        pinned.write_text("\n".join(kept) + "\n")
    if pinned.exists():
        install = [_uv(), "pip", "install", "--target", str(site), "--no-deps", "-r", str(pinned), *flags]
        subprocess.run(install, check=True)
    if trim:
        for path in (site / relative for relative in TRIMMED):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        _drop_missing_from_records(site)


def _drop_missing_from_records(site: Path) -> None:
    """Keep each RECORD true to the files installed: drop the lines of files trimmed away."""
    for record in site.glob("*.dist-info/RECORD"):
        with record.open(newline="") as f:
            rows = list(csv.reader(f))
        kept = [row for row in rows if (site / row[0]).exists()]
        if len(kept) != len(rows):
            with record.open("w", newline="") as f:
                csv.writer(f, lineterminator="\n").writerows(kept)


def sources(layers: dict[str, Layer], functions: list[Function]) -> str:
    """A digest of what a build copies from the working tree: template, layer contents, code folders."""
    digest = hashlib.sha256()
    roots = {ROOT / "template.yaml", *(layer.content for layer in layers.values()), *(f.code for f in functions)}
    for root in sorted(roots):
        for file in [root] if root.is_file() else sorted(root.rglob("*")):
            if file.is_file() and "__pycache__" not in file.parts:
                digest.update(f"{file.relative_to(ROOT)}\0".encode() + file.read_bytes())
    return digest.hexdigest()


def size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _zip(folder: Path, archive: Path) -> int:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for file in sorted(f for f in folder.rglob("*") if f.is_file()):
            z.write(file, file.relative_to(folder))
    return archive.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--platform", choices=["lambda", "host"], default="lambda")
    parser.add_argument("--out", type=Path, help="default: .build/<platform>")
    parser.add_argument("--python", help="--platform host: the interpreter to build for")
    parser.add_argument("--pins", type=Path, help="install what the build there resolved (host: .build/lambda)")
    parser.add_argument("--no-trim", dest="trim", action="store_false", help="install everything, trim nothing")
    args = parser.parse_args(argv)
    out: Path = args.out or ROOT / ".build" / args.platform
    pins: Path | None = args.pins or (ROOT / ".build" / "lambda" if args.platform == "host" else None)
    layers, functions = read_template()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)

    manifest: dict[str, Any] = {
        "platform": args.platform,
        "trimmed": args.trim,
        "sources": sources(layers, functions),  # tests/test_package.py skips a stale host build
        "layers": {},
        "functions": {},
    }
    zipped: dict[str, int] = {}
    for layer in layers.values():
        if args.platform == "host":
            manifest["python"] = args.python or host_python(layer.runtime)
            target = ["--python", manifest["python"]]
        else:
            version = layer.runtime.removeprefix("python")
            target = ["--python-platform", PLATFORMS[layer.architecture], "--python-version", version]
        print(f"{layer.name} ({layer.runtime} {layer.architecture} on Lambda): uv {' '.join(target)}", flush=True)
        build_layer(layer, out, target, trim=args.trim, pins=pins)
        ours = [p.stem for p in layer.content.iterdir() if p.suffix == ".py" or (p / "__init__.py").is_file()]
        manifest["layers"][layer.name] = {"dir": layer.name, "modules": sorted(ours), "bytes": size(out / layer.name)}
        if args.platform == "lambda":
            zipped[layer.name] = _zip(out / layer.name, out / f"{layer.name}.zip")
    for function in functions:
        code = function.code.relative_to(ROOT)
        if not (out / code).exists():  # functions sharing a CodeUri share the folder
            shutil.copytree(function.code, out / code, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            if args.platform == "lambda":
                _zip(out / code, out / f"{str(code).replace('/', '-')}.zip")
        manifest["functions"][function.name] = {
            "code": str(code),
            "handler": function.handler,
            "layers": list(function.layers),
            "bytes": size(out / code),
        }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return report(manifest, zipped)


def report(manifest: dict[str, Any], zipped: dict[str, int]) -> int:
    """Print the sizes; 1 if a function with its layers is over BUDGET_MB."""

    def mb(n: int) -> str:
        return f"{n / MB:.2f} MB"

    for name, layer in manifest["layers"].items():
        extra = f", {mb(zipped[name])} zipped" if name in zipped else ""
        print(f"layer {name}: {mb(layer['bytes'])} unzipped{extra}")
    print(f"{'function':<24}{'code':>10}{'+ layers':>12}{'= total':>12}   limit {LIMIT_MB} MB, budget {BUDGET_MB} MB")
    over = False
    for name, function in manifest["functions"].items():
        layers = sum(manifest["layers"][ref]["bytes"] for ref in function["layers"])
        total = function["bytes"] + layers
        over |= total > BUDGET_MB * MB
        verdict = "OVER BUDGET" if total > BUDGET_MB * MB else f"{total / (LIMIT_MB * MB):.0%} of the limit"
        print(f"{name:<24}{mb(function['bytes']):>10}{mb(layers):>12}{mb(total):>12}   {verdict}")
    return int(over)


if __name__ == "__main__":
    sys.exit(main())

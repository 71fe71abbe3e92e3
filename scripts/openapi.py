"""`make openapi`: writes the API's OpenAPI document (layers/shared/idp/api/openapi.json) from the
functions' resolvers and template.yaml (idp_local.openapi). `--check` writes nothing and exits 1 when
the committed document is stale."""

from __future__ import annotations

import argparse
import sys

from idp_local.openapi import DOCUMENT, ROOT, build_document, render


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 if the committed document is stale")
    args = parser.parse_args()
    document = build_document()
    text = render(document)
    where = DOCUMENT.relative_to(ROOT)
    operations = sum(len(item) for item in document["paths"].values())
    if args.check:
        current = DOCUMENT.read_text(encoding="utf-8") if DOCUMENT.exists() else ""
        if current != text:
            print(f"{where} is stale: run `make openapi`", file=sys.stderr)
            return 1
        print(f"{where} is up to date ({operations} operations)")
        return 0
    DOCUMENT.write_text(text, encoding="utf-8")
    print(f"wrote {where}: {operations} operations, {len(document['components']['schemas'])} schemas")
    return 0


if __name__ == "__main__":
    sys.exit(main())

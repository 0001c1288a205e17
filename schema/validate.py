#!/usr/bin/env python3
"""Validate datapin.yaml / datapin.lock files against the JSON Schemas in this folder.

Usage: schema/validate.py FILE...   (a file named *.lock is checked against the lock schema)
Needs PyYAML and jsonschema (pip install pyyaml jsonschema). Exit 0 when every file is valid.
"""
import json
import pathlib
import sys

import jsonschema
import yaml

HERE = pathlib.Path(__file__).resolve().parent


def main(paths):
    schemas = {
        kind: json.loads((HERE / name).read_text())
        for kind, name in (("spec", "datapin.schema.json"), ("lock", "datapin.lock.schema.json"))
    }
    failures = 0
    for path in paths:
        kind = "lock" if path.endswith(".lock") else "spec"
        document = yaml.safe_load(pathlib.Path(path).read_text())
        validator = jsonschema.Draft202012Validator(schemas[kind])
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
        for error in errors:
            where = "/".join(str(p) for p in error.path) or "(top)"
            print(f"{path}: {where}: {error.message}")
        failures += bool(errors)
        if not errors:
            print(f"{path}: valid {kind}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

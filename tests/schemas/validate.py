"""Validates JSON documents against a JSON Schema (draft 7) with the Python
`jsonschema` package, the reference implementation most tools use.

    python3 tests/schemas/validate.py SCHEMA DOCUMENT...

Checks the schema itself first, then each document; prints every error with
its JSON path and exits 1 if any document is invalid, 2 on usage errors.
"""
import json
import sys

import jsonschema


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    invalid = 0
    for path in argv[2:]:
        with open(path, encoding="utf-8") as f:
            document = json.load(f)
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        for error in errors:
            where = "/".join(str(p) for p in error.absolute_path)
            print(f"{path}: /{where}: {error.message}")
        invalid += bool(errors)
        if not errors:
            print(f"{path}: valid")
    return 1 if invalid else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

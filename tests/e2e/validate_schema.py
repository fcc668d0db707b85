"""Validates vitals answers against docs/schema: validate_schema.py SCHEMA_DIR SCHEMA FILE...

Exits 0 when every FILE (a JSON answer) is valid against SCHEMA (health.v1.schema.json or
check.v1.schema.json); otherwise prints each violation and exits 1.
"""
import json
import pathlib
import sys
import warnings

import jsonschema

# RefResolver is deprecated in jsonschema 4.18 and later; Debian 12 has 4.10, without its
# replacement. The warning would mix with the verdict.
warnings.simplefilter("ignore", DeprecationWarning)


def main():
    schema_dir = pathlib.Path(sys.argv[1])
    store = {}
    for path in schema_dir.glob("*.schema.json"):
        schema = json.loads(path.read_text())
        store[schema["$id"]] = schema
    schema = json.loads((schema_dir / sys.argv[2]).read_text())
    resolver = jsonschema.RefResolver(base_uri=schema["$id"], referrer=schema, store=store)
    validator = jsonschema.Draft202012Validator(schema, resolver=resolver)
    bad = 0
    for name in sys.argv[3:]:
        for error in validator.iter_errors(json.loads(pathlib.Path(name).read_text())):
            print(f"{name}: {'/'.join(str(p) for p in error.absolute_path)}: {error.message}")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

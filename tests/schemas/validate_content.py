#!/usr/bin/env python3
"""Checks that the JSON Schemas in schemas/ and `backline check` agree.

1. Every schema in schemas/ is a valid draft 2020-12 schema.
2. Every shipped JSON file with a relative "$schema" key (found by walking the source tree,
   skipping build trees, node_modules, hidden folders and tests/) validates against the schema
   it names, after its // comments are stripped.
3. Each negative case of negative_cases.json changes one shipped file (in a temporary copy of
   knowledge/ and dialogs/); the schema must reject the changed file and `backline check` must
   exit 1 with the expected message (unless the case says the schema cannot see the problem).

usage: validate_content.py SOURCE_DIR BACKLINE_BINARY
Needs python3-jsonschema (Debian 12: 4.10).
"""
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile

import jsonschema

SKIP_DIRS = {"node_modules", "tests", "schemas", "third_party"}


def strip_comments(text):
    """Removes // line comments outside strings (JSON with comments, as the loaders read it)."""
    out = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            if c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif c == "/" and i + 1 < n and text[i + 1] == "/":
            while i < n and text[i] != "\n":
                i += 1
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def load_jsonc(path):
    with open(path, encoding="utf-8") as f:
        return json.loads(strip_comments(f.read()))


def validator_for(schema_path, cache={}):
    if schema_path not in cache:
        schema = load_jsonc(schema_path)
        cls = jsonschema.Draft202012Validator
        cls.check_schema(schema)
        cache[schema_path] = cls(schema, format_checker=jsonschema.FormatChecker())
    return cache[schema_path]


def errors_of(doc, schema_path):
    v = validator_for(schema_path)
    return sorted(v.iter_errors(doc), key=lambda e: list(e.absolute_path))


def describe(err):
    where = "/" + "/".join(str(p) for p in err.absolute_path)
    return f"{where}: {err.message}"


def shipped_files(root):
    """(path, schema path) for every JSON file with a relative $schema."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        dirnames[:] = sorted(
            d for d in dirnames
            if not d.startswith(".") and not d.startswith("build")
            and not (rel == "." and d in SKIP_DIRS) and d != "node_modules")
        for name in sorted(filenames):
            if not name.endswith(".json"):
                continue
            path = os.path.join(dirpath, name)
            try:
                doc = load_jsonc(path)
            except (ValueError, UnicodeDecodeError):
                continue  # not ours to judge: `backline check` reports content syntax errors
            if not isinstance(doc, dict) or not isinstance(doc.get("$schema"), str):
                continue
            ref = doc["$schema"]
            if "://" in ref:
                continue  # a schema itself, or a file pointing at a published schema
            found.append((path, os.path.normpath(os.path.join(dirpath, ref)), doc))
    return found


def resolve(doc, pointer):
    """(parent, key) of a JSON pointer."""
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]
    node = doc
    for p in parts[:-1]:
        node = node[int(p)] if isinstance(node, list) else node[p]
    last = parts[-1]
    return node, (int(last) if isinstance(node, list) else last)


def apply(doc, case):
    doc = copy.deepcopy(doc)
    parent, key = resolve(doc, case["pointer"])
    op = case["op"]
    if op == "set":
        parent[key] = case["value"]
    elif op == "rename":
        parent[case["to"]] = parent.pop(key)
    elif op == "append":
        parent[key].append(case["value"])
    else:
        raise ValueError("unknown op " + op)
    return doc


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    root, backline = sys.argv[1], sys.argv[2]
    failures = []

    schemas_dir = os.path.join(root, "schemas")
    schema_files = sorted(f for f in os.listdir(schemas_dir) if f.endswith(".schema.json"))
    for f in schema_files:
        try:
            validator_for(os.path.join(schemas_dir, f))
        except jsonschema.SchemaError as e:
            failures.append(f"schemas/{f}: not a valid draft 2020-12 schema: {e.message}")

    files = shipped_files(root)
    used = set()
    for path, schema, doc in files:
        rel = os.path.relpath(path, root)
        if not os.path.exists(schema):
            failures.append(f"{rel}: $schema names a missing file {doc['$schema']}")
            continue
        used.add(os.path.basename(schema))
        for err in errors_of(doc, schema):
            failures.append(f"{rel}: {describe(err)}")
    print(f"validated {len(files)} files with a $schema against {len(used)} schemas")
    # The shipped content must point at every content schema (the server configuration has
    # no shipped file).
    for name in ["faq", "synonyms", "language", "red_flags", "escalations", "flow", "intents",
                 "clinic", "topics"]:
        if f"{name}.schema.json" not in used:
            failures.append(f"no shipped file uses schemas/{name}.schema.json")

    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                           "negative_cases.json"), encoding="utf-8") as f:
        cases = json.load(f)["cases"]
    for case in cases:
        name = case["name"]
        with tempfile.TemporaryDirectory(prefix="backline-schema-") as tmp:
            for d in ("knowledge", "dialogs"):
                shutil.copytree(os.path.join(root, d), os.path.join(tmp, d))
            target = os.path.join(tmp, case["file"])
            original = load_jsonc(target)
            changed = apply(original, case)
            with open(target, "w", encoding="utf-8") as out:
                json.dump(changed, out, indent=2)
            schema = os.path.normpath(os.path.join(os.path.dirname(target),
                                                   original["$schema"]))
            schema = os.path.join(schemas_dir, os.path.basename(schema))
            errs = errors_of(changed, schema)
            if case.get("schema_rejects", True) and not errs:
                failures.append(f"case {name}: the schema accepts the change")
            if not case.get("schema_rejects", True) and errs:
                failures.append(f"case {name}: expected the schema to accept it, got "
                                + describe(errs[0]))
            run = subprocess.run(
                [backline, "check", "--kb", os.path.join(tmp, "knowledge"),
                 "--dialogs", os.path.join(tmp, "dialogs")],
                capture_output=True, text=True, timeout=300)
            if run.returncode != 1:
                failures.append(f"case {name}: backline check exited {run.returncode}, "
                                "expected 1")
            if case["check_says"] not in run.stdout:
                failures.append(f"case {name}: backline check did not say "
                                f"{case['check_says']!r}:\n{run.stdout[-2000:]}")
            print(f"case {name}: schema "
                  + (describe(errs[0]) if errs else "accepts (" + case.get("why", "") + ")")
                  + f"; check exit {run.returncode}")

    for f in failures:
        print("FAIL " + f)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

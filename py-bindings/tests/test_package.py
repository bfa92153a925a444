"""The package itself: stubs that match the compiled module, docstrings, doctests."""

from __future__ import annotations

import ast
import doctest
import inspect
from pathlib import Path

import seqlink
import seqlink._seqlink as compiled


def stub_names() -> dict[str, set[str]]:
    """Top-level names of _seqlink.pyi, each with the names of its members."""
    stub = Path(seqlink.__file__).with_name("_seqlink.pyi")
    names: dict[str, set[str]] = {}
    for node in ast.parse(stub.read_text()).body:
        if isinstance(node, ast.ClassDef):
            members = set()
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    members.add(item.name)
                elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    members.add(item.target.id)
            names[node.name] = members
        elif isinstance(node, ast.FunctionDef):
            names[node.name] = set()
    return names


def public(obj) -> set[str]:
    return {name for name in dir(obj) if not name.startswith("_")}


def test_the_stub_names_exactly_what_the_compiled_module_has():
    stubs = stub_names()
    assert set(stubs) == public(compiled)
    for name, members in stubs.items():
        obj = getattr(compiled, name)
        if inspect.isclass(obj):
            assert public(obj) == {m for m in members if not m.startswith("_")}, name


def test_py_typed_ships_with_the_package():
    assert Path(seqlink.__file__).with_name("py.typed").exists()


def test_everything_public_is_exported_and_documented():
    for name in seqlink.__all__:
        obj = getattr(seqlink, name)
        if inspect.ismodule(obj) or callable(obj):
            assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


def test_the_doctests_of_the_package_pass():
    for module in (seqlink, seqlink.errors, seqlink.types, seqlink.sync, seqlink.aio):
        failed, _ = doctest.testmod(module)
        assert failed == 0, module.__name__


def test_the_version_is_the_crates():
    cargo = (Path(__file__).resolve().parents[1] / "Cargo.toml").read_text()
    assert f'version = "{seqlink.__version__}"' in cargo


def test_every_method_and_attribute_of_the_compiled_classes_is_documented():
    undocumented = []
    for name in public(compiled):
        obj = getattr(compiled, name)
        if not inspect.isclass(obj):
            continue
        for attr in public(obj):
            doc = (getattr(inspect.getattr_static(obj, attr), "__doc__", None) or "").strip()
            if not doc or doc.startswith(("int(", "str(", "bytes(", "bool(", "tuple(")):
                undocumented.append(f"{name}.{attr}")
    assert undocumented == []


def stub_signatures() -> dict[str, inspect.Signature]:
    """`name` or `Class.method` of _seqlink.pyi, each with its signature (annotations left out)."""
    stub = Path(seqlink.__file__).with_name("_seqlink.pyi")
    namespace: dict = {}
    source = ast.parse(stub.read_text())
    found: dict[str, inspect.Signature] = {}

    def signature(node: ast.FunctionDef) -> inspect.Signature:
        for arg in node.args.posonlyargs + node.args.args + node.args.kwonlyargs:
            arg.annotation = None
        node.returns = None
        node.decorator_list = []
        node.body = [ast.Pass()]
        module = ast.Module(body=[node], type_ignores=[])
        exec(compile(ast.fix_missing_locations(module), "stub", "exec"), namespace)
        return inspect.signature(namespace[node.name])

    for node in source.body:
        if isinstance(node, ast.FunctionDef):
            found[node.name] = signature(node)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and not item.decorator_list and item.name != "__eq__":
                    found[f"{node.name}.{item.name}"] = signature(item)
    return found


def test_the_stub_signatures_are_the_compiled_ones():
    differ = []
    for name, expected in stub_signatures().items():
        obj = compiled
        for part in name.split("."):
            obj = getattr(obj, part)
        if name.endswith(".__init__"):
            obj = getattr(compiled, name.split(".")[0])
        try:
            actual = inspect.signature(obj)
        except ValueError:  # no text signature at runtime: nothing to compare
            continue
        if name.endswith(".__init__") or "." in name:
            expected = expected.replace(parameters=list(expected.parameters.values())[1:])
            if "." in name and not name.endswith(".__init__") and "self" in actual.parameters:
                actual = actual.replace(parameters=list(actual.parameters.values())[1:])
        if str(actual) != str(expected):
            differ.append(f"{name}: stub {expected}, runtime {actual}")
    assert differ == []


def test_all_names_every_public_name_of_the_package():
    public_names = {name for name in dir(seqlink) if not name.startswith("_")} - {"annotations"}
    assert public_names == set(seqlink.__all__)
    assert len(seqlink.__all__) == len(set(seqlink.__all__))

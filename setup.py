"""Packaging that pyproject.toml cannot say: every package below symkin/ (backends included, found,
never listed), and the top-level templates/ folder installed as symkin.templates."""

from setuptools import find_namespace_packages, find_packages, setup

setup(
    packages=[
        *find_packages(include=["symkin", "symkin.*"]),
        "symkin.templates",
        *(f"symkin.templates.{name}" for name in find_namespace_packages(where="templates")),
    ],
    package_dir={"symkin.templates": "templates"},
)

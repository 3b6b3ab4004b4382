import pathlib

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent

setup(
    name="nodenet_gevent",
    version="0.1.0",
    description="Node.js's net module for Python, on gevent: evented TCP and Unix sockets",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    packages=find_packages(include=["nodenet_gevent", "nodenet_gevent.*"]),
    python_requires=">=3.9",
    install_requires=["gevent>=21.1", "pyee>=9.0"],
    extras_require={
        "test": ["pytest>=7", "pytest-timeout>=2.1", "hypothesis>=6"],
    },
    classifiers=[
        "Development Status :: 3 - Alpha",
        "Framework :: gevent",
        "Intended Audience :: Developers",
        "License :: OSI Approved :: MIT License",
        "Operating System :: POSIX",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Topic :: Internet",
        "Topic :: System :: Networking",
    ],
)

import pathlib

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent

# The oldest gevent we support is the oldest release that has a binary wheel for
# the running Python and passes the whole suite there (tox's "floor" environments
# pin exactly these; keep the two lists in step).  Older gevents have no wheels for
# newer Pythons and would have to compile against a C API they predate.
GEVENT_FLOORS = [
    ("3.9", "21.1.2"),
    ("3.10", "21.12.0"),
    # 22.10.1 pins greenlet < 2, and greenlet before 2.0.1 leaks a 4 KiB page per finished
    # greenlet on Python 3.11 (greenlet#328; gevent#1924): a greenlet per connection.
    ("3.11", "22.10.2"),
    ("3.12", "23.9.0"),
    ("3.13", "24.10.1"),
]
GEVENT_REQUIRES = [
    'gevent>=%s; python_version == "%s"' % (floor, python) for python, floor in GEVENT_FLOORS[:-1]
] + ['gevent>=%s; python_version >= "%s"' % (GEVENT_FLOORS[-1][1], GEVENT_FLOORS[-1][0])]

setup(
    name="nodenet_gevent",
    version="0.1.0",
    description="Node.js's net module for Python, on gevent: evented TCP and Unix sockets",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license_expression="MIT",
    license_files=["LICENSE"],
    keywords="gevent node nodejs net tcp unix socket evented eventemitter pyee",
    packages=find_packages(include=["nodenet_gevent", "nodenet_gevent.*"]),
    package_data={"nodenet_gevent": ["py.typed"]},
    include_package_data=True,
    zip_safe=False,
    python_requires=">=3.9",
    # pyee's EventEmitter is subclassed and its _events/_lock/_add_event_handler
    # used directly (nodenet_gevent/emitter.py): 9.0 introduced that layout, and
    # 9.0.1 fixed listeners() raising KeyError for an event with no listener.
    # greenlet is gevent's; on 3.11 the leak above is greenlet's own, whatever the gevent.
    install_requires=GEVENT_REQUIRES + ['greenlet>=2.0.1; python_version == "3.11"', "pyee>=9.0.1"],
    extras_require={
        "test": ["pytest>=7", "pytest-timeout>=2.1", "hypothesis>=6.50", "trustme>=1.0"],
    },
    classifiers=[
        "Development Status :: 3 - Alpha",
        "Framework :: gevent",
        "Intended Audience :: Developers",
        "Operating System :: POSIX",
        "Operating System :: POSIX :: Linux",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3 :: Only",
        "Programming Language :: Python :: 3.9",
        "Programming Language :: Python :: 3.10",
        "Programming Language :: Python :: 3.11",
        "Programming Language :: Python :: 3.12",
        "Programming Language :: Python :: 3.13",
        "Programming Language :: Python :: Implementation :: CPython",
        "Topic :: Internet",
        "Topic :: Software Development :: Libraries :: Python Modules",
        "Topic :: System :: Networking",
        "Typing :: Typed",
    ],
)

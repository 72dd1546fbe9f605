"""hello.py - the smallest replkv Python program: open a standalone node,
set a key, read it back, close.

    make lib
    PYTHONPATH=bindings/python REPLKV_LIBRARY=build/libreplkv.so \
        python3 examples/hello.py
"""

import replkv


def main() -> int:
    node = replkv.Node()
    try:
        node.set("greeting", "hello, world")
        value = node.get("greeting")
        print(f"greeting = {value.decode()} (libreplkv {replkv.library_version()})")
        return 0 if value == b"hello, world" else 1
    finally:
        node.close()


if __name__ == "__main__":
    raise SystemExit(main())

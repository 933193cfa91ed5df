"""``python -m model.predict [--model PATH] [--number] FILE...``: classify image files, one JSON line each.

Each line is ``{"file", "digit", "confidence", "probabilities"}`` (digit null when the image has no ink),
or with ``--number`` (a whole number per file, see ``model/number.py``) ``{"file", "number", "digits":
[{"digit", "confidence", "box": [top, left, bottom, right]}]}`` (number null when there is no ink);
``{"file", "error"}`` for a file that cannot be read. The run goes on and exits 1 at the end if any file
failed, 2 if the model itself cannot be loaded.
"""

from __future__ import annotations

import argparse
import json
import sys

from model.preprocess import ImageError
from model.store import SHIPPED_MODEL, ModelFileError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m model.predict", description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(SHIPPED_MODEL), help="a .keras model (default: the shipped model)")
    parser.add_argument("--number", action="store_true",
                        help="each file is a whole number: split it into digits and read them left to right")
    parser.add_argument("files", nargs="+", metavar="FILE",
                        help="PNG, JPEG, BMP, GIF or TIFF images of one digit (or, with --number, of a number)")
    args = parser.parse_args(argv)

    from model.quiet_tensorflow import import_tensorflow_quietly

    import_tensorflow_quietly()  # deferred: TensorFlow import is slow, --help should not pay it
    from model.inference import Predictor
    from model.number import read_number

    try:
        predictor = Predictor.load(args.model)
    except ModelFileError as exc:
        print(json.dumps({"error": str(exc)}), flush=True)
        print(f"error: {exc}", file=sys.stderr)
        return 2
    failed = 0
    for name in args.files:
        try:
            answer = read_number(predictor, name) if args.number else predictor.predict(name)
            record = {"file": name, **answer.to_dict()}
        except ImageError as exc:
            record, failed = {"file": name, "error": str(exc)}, failed + 1
        print(json.dumps(record), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/windows: the collection by its fully qualified name, and hosts/winflow by file name."""

import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
COLLECTIONS = HERE.parents[1] / ".cache" / "collections"

for entry in (str(HERE), str(COLLECTIONS)):
    if entry not in sys.path:
        sys.path.insert(0, entry)

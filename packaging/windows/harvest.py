"""Write the WiX v4 fragment that installs every file of the PyInstaller folder.

    python packaging/windows/harvest.py dist/commonplace build/AppFiles.wxs

The fragment defines the component group AppFiles, one component per file
under INSTALLFOLDER, as Commonplace.wxs expects. Ids are derived from the
file's path, so they stay the same from one build to the next, and WiX
derives each component's GUID from its path the same way.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path, PureWindowsPath
from xml.sax.saxutils import quoteattr


def element_id(prefix: str, relative: str) -> str:
    """Return a WiX identifier (at most 72 characters) for a path in the folder."""
    digest = hashlib.sha256(relative.lower().encode()).hexdigest()[:24]
    return f"{prefix}{digest}"


def fragment(folder: Path) -> str:
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<Wix xmlns="http://wixtoolset.org/schemas/v4/wxs">',
        "  <Fragment>",
        '    <ComponentGroup Id="AppFiles" Directory="INSTALLFOLDER">',
    ]
    for path in sorted(folder.rglob("*")):
        if not path.is_file():
            continue
        relative = str(PureWindowsPath(path.relative_to(folder)))
        subdirectory = str(PureWindowsPath(relative).parent)
        attributes = f'Id="{element_id("c", relative)}"'
        if subdirectory != ".":
            attributes += f" Subdirectory={quoteattr(subdirectory)}"
        source = quoteattr(f"$(var.SourceDir)\\{relative}")
        lines.append(f"      <Component {attributes}>")
        lines.append(
            f'        <File Id="{element_id("f", relative)}" Source={source} />'
        )
        lines.append("      </Component>")
    lines += ["    </ComponentGroup>", "  </Fragment>", "</Wix>", ""]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    folder, output = Path(argv[0]), Path(argv[1])
    if (
        not (folder / "commonplace.exe").is_file()
        and not (folder / "commonplace").is_file()
    ):
        print(f"{folder} is not a PyInstaller folder of Commonplace.", file=sys.stderr)
        return 2
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(fragment(folder), encoding="utf-8")
    print(f"Wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

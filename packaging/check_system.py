"""Does this machine have the system libraries the window (Qt WebEngine) needs?

    python packaging/check_system.py [--mode auto|desktop|offscreen] [--warn] [--quiet]
                                     [--files FILE ...] [-- APP ARGS]

pip brings Qt and Chromium (PyQt6-Qt6, PyQt6-WebEngine-Qt6) but not the system libraries
they link to (NSS, ALSA, X11/xcb, EGL/GL, fontconfig...). This runs `ldd` on the PyQt6
files the window loads and, when some library is missing, says which and prints exactly
one line on stdout: `sudo apt-get install <Debian packages>`; explanations go to stderr.

What is checked:
- always (every window, offscreen too): the PyQt6 modules the app imports, Qt's
  QtWebEngineProcess helper and the offscreen platform plugin;
- for a desktop session (X11, and the fallback of a Wayland session): the xcb platform
  plugin, its GL integrations and input-context plugins;
- recommended on Wayland: the wayland platform plugin (Qt falls back to xcb without it);
- and that there is at least one font (fonts-dejavu-core otherwise): without any, the
  window opens but shows no text (seen on a minimal Debian 12).
`--mode auto` (default) picks from the environment: QT_QPA_PLATFORM if set, else desktop
when DISPLAY or WAYLAND_DISPLAY is set, else offscreen (a headless machine: then what a
desktop would also need is shown as a note). `--files` checks exactly the given files.

After `--` come the app's own arguments (`make run ARGS=...`): a command-line verb, or
--version/--help, opens no window, so nothing is checked; `--gui gtk` does not use Qt.

Exit status: 0 all present (or nothing to check: not Linux, no ldd, no PyQt6); 1 something
required is missing (with --warn: 0, and the message says "warning"). Stdlib only; one
`ldd` run, well under a second.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

# Every system library (soname) the checked files link to, directly or through another,
# and the Debian 12 package that ships it: ldd + dpkg -S on Debian 12; the four listed
# below the table were missing there and were read from their packages' file lists.
# Checked on a fresh `debootstrap --variant=minbase bookworm`: with exactly the packages
# this prints installed, the window opened offscreen and on Xvfb (xcb). Ubuntu 24.04
# renamed a few (libasound2t64, libglib2.0-0t64...): apt-get picks the new name for the old.
PACKAGES = {
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libGLX.so.0": "libglx0",
    "libGLdispatch.so.0": "libglvnd0",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libXau.so.6": "libxau6",
    "libXcomposite.so.1": "libxcomposite1",
    "libXdamage.so.1": "libxdamage1",
    "libXdmcp.so.6": "libxdmcp6",
    "libXext.so.6": "libxext6",
    "libXfixes.so.3": "libxfixes3",
    "libXrandr.so.2": "libxrandr2",
    "libXrender.so.1": "libxrender1",
    "libXtst.so.6": "libxtst6",
    "libasound.so.2": "libasound2",
    "libbrotlicommon.so.1": "libbrotli1",
    "libbrotlidec.so.1": "libbrotli1",
    "libbsd.so.0": "libbsd0",
    "libc.so.6": "libc6",
    "libcap.so.2": "libcap2",
    "libcom_err.so.2": "libcom-err2",
    "libdbus-1.so.3": "libdbus-1-3",
    "libdl.so.2": "libc6",
    "libdrm.so.2": "libdrm2",
    "libexpat.so.1": "libexpat1",
    "libffi.so.8": "libffi8",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libgbm.so.1": "libgbm1",
    "libgcc_s.so.1": "libgcc-s1",
    "libgcrypt.so.20": "libgcrypt20",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgpg-error.so.0": "libgpg-error0",
    "libgssapi_krb5.so.2": "libgssapi-krb5-2",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libk5crypto.so.3": "libk5crypto3",
    "libkeyutils.so.1": "libkeyutils1",
    "libkrb5.so.3": "libkrb5-3",
    "libkrb5support.so.0": "libkrb5support0",
    "liblz4.so.1": "liblz4-1",
    "liblzma.so.5": "liblzma5",
    "libm.so.6": "libc6",
    "libmd.so.0": "libmd0",
    "libnspr4.so": "libnspr4",
    "libnss3.so": "libnss3",
    "libnssutil3.so": "libnss3",
    "libpcre2-8.so.0": "libpcre2-8-0",
    "libplc4.so": "libnspr4",
    "libplds4.so": "libnspr4",
    "libpng16.so.16": "libpng16-16",
    "libpthread.so.0": "libc6",
    "libresolv.so.2": "libc6",
    "libsmime3.so": "libnss3",
    "libstdc++.so.6": "libstdc++6",
    "libsystemd.so.0": "libsystemd0",
    "libudev.so.1": "libudev1",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-egl.so.1": "libwayland-egl1",
    "libwayland-server.so.0": "libwayland-server0",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-dri3.so.0": "libxcb-dri3-0",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbfile.so.1": "libxkbfile1",
    "libz.so.1": "zlib1g",
    "libzstd.so.1": "libzstd1",
}
# Missing on the Debian 12 image this was written on: libxcb-icccm.so.4, libxcb-keysyms.so.1,
# libwayland-cursor.so.0, libwayland-egl.so.1.

CORE = [  # relative to the PyQt6 package folder
    "QtCore.abi3.so", "QtGui.abi3.so", "QtWidgets.abi3.so", "QtNetwork.abi3.so",
    "QtOpenGL.abi3.so", "QtOpenGLWidgets.abi3.so", "QtPrintSupport.abi3.so",
    "QtWebChannel.abi3.so", "QtWebEngineCore.abi3.so", "QtWebEngineWidgets.abi3.so",
    "Qt6/libexec/QtWebEngineProcess", "Qt6/plugins/platforms/libqoffscreen.so",
]
DESKTOP = [
    "Qt6/plugins/platforms/libqxcb.so",
    "Qt6/plugins/xcbglintegrations/libqxcb-egl-integration.so",
    "Qt6/plugins/xcbglintegrations/libqxcb-glx-integration.so",
    "Qt6/plugins/platforminputcontexts/libcomposeplatforminputcontextplugin.so",
    "Qt6/plugins/platforminputcontexts/libibusplatforminputcontextplugin.so",
]
WAYLAND = [
    "Qt6/plugins/platforms/libqwayland.so",
    "Qt6/plugins/wayland-shell-integration/libxdg-shell.so",
    "Qt6/plugins/wayland-graphics-integration-client/libqt-plugin-wayland-egl.so",
]

# Not a library, but as necessary: with no font at all (a minimal Debian/Ubuntu install,
# a container) the window opens and shows no text. Any font will do.
FONT_DIRS = ["/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts"]
FONT_SUFFIXES = (".ttf", ".otf", ".ttc", ".pfb", ".pfa", ".pcf", ".pcf.gz", ".otb")
NO_FONT = "a font (there is none: the page would show no text)"
EXTRA_PACKAGES = {NO_FONT: "fonts-dejavu-core"}

VERBS = {"status", "migrate", "rollback", "cleanup", "demo-library"}
OPTIONS_WITH_VALUE = {"--library", "--gui"}


def opens_qt_window(app_args: list[str]) -> tuple[bool, str]:
    """Would `python -m app APP_ARGS` open the Qt window? (False, why) when it would not."""
    i = 0
    while i < len(app_args):
        arg = app_args[i]
        if arg in ("-h", "--help", "--version"):
            return False, f"`{arg}` opens no window"
        if arg in OPTIONS_WITH_VALUE or any(arg.startswith(o + "=") for o in OPTIONS_WITH_VALUE):
            value = arg.split("=", 1)[1] if "=" in arg else (app_args[i + 1] if i + 1 < len(app_args) else "")
            if arg.startswith("--gui") and value == "gtk":
                return False, "--gui gtk does not use Qt (it needs Debian's python3-gi and gir1.2-webkit2-4.1)"
            i += 1 if "=" in arg else 2
            continue
        if not arg.startswith("-"):
            return False, f"`{arg}` is a command-line verb: no window"
        i += 1
    return True, ""


def pyqt6_folder() -> Path | None:
    spec = importlib.util.find_spec("PyQt6")  # finds the package without importing Qt
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def plan(mode: str, env: dict[str, str]) -> tuple[str, list[str], list[str]]:
    """(what, required files, recommended files) for the mode; auto reads the environment."""
    if mode == "auto":
        platform = env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
        if platform in ("offscreen", "minimal"):
            return f"QT_QPA_PLATFORM={platform}", CORE, []
        if platform == "xcb":
            return "QT_QPA_PLATFORM=xcb", CORE + DESKTOP, []
        if platform.startswith("wayland"):
            return f"QT_QPA_PLATFORM={platform}", CORE + WAYLAND, []
        wayland = bool(env.get("WAYLAND_DISPLAY")) or env.get("XDG_SESSION_TYPE") == "wayland"
        if env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
            return "desktop session", CORE + DESKTOP, WAYLAND if wayland else []
        return "no display (headless)", CORE, DESKTOP
    if mode == "desktop":
        return "desktop", CORE + DESKTOP, WAYLAND
    return "offscreen", CORE, []


def missing_libraries(ldd: str, files: list[Path]) -> dict[str, str]:
    """soname -> the first checked file that cannot load it (one ldd run for all files)."""
    files = [f for f in files if f.exists()]
    if not files:
        return {}
    proc = subprocess.run([ldd, *map(str, files)], capture_output=True, text=True, timeout=30,
                          env={**os.environ, "LC_ALL": "C"})
    missing: dict[str, str] = {}
    current = str(files[0])
    for line in proc.stdout.splitlines():
        if not line.startswith(("\t", " ")) and line.endswith(":"):
            current = line[:-1]
            continue
        match = re.match(r"\s*(\S+) => not found", line)
        if match:
            missing.setdefault(match.group(1), current)
    return missing


def has_a_font(dirs: list[str] | None = None) -> bool:
    """Is there any font file where fontconfig looks by default? Stops at the first one."""
    for folder in dirs if dirs is not None else FONT_DIRS:
        for _, _, names in os.walk(os.path.expanduser(folder)):
            if any(name.lower().endswith(FONT_SUFFIXES) for name in names):
                return True
    return False


def package_for(soname: str) -> str | None:
    if soname in PACKAGES:
        return PACKAGES[soname]
    if soname in EXTRA_PACKAGES:
        return EXTRA_PACKAGES[soname]
    if shutil.which("apt-file"):  # slow, and only with `apt-file update` done: unknown sonames only
        try:
            out = subprocess.run(["apt-file", "search", "-l", "-x", "/" + re.escape(soname) + "$"],
                                 capture_output=True, text=True, timeout=20).stdout.split()
        except (OSError, subprocess.TimeoutExpired):
            out = []
        if out:
            return out[0]
    return None


def describe(missing: dict[str, str], base: Path | None) -> tuple[list[str], list[str]]:
    """(lines to explain, packages to install)."""
    lines, packages = [], []
    for soname, needed_by in sorted(missing.items()):
        package = package_for(soname)
        where = needed_by
        if base is not None:
            try:
                where = str(Path(needed_by).relative_to(base.parent))
            except ValueError:
                pass
        lines.append(f"  {soname}  (Debian package: {package or 'unknown; try: apt-file search ' + soname})"
                     f", needed by {where}")
        if package and package not in packages:
            packages.append(package)
    return lines, packages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("auto", "desktop", "offscreen"), default="auto")
    parser.add_argument("--warn", action="store_true", help="report, but exit 0 (make setup, make test)")
    parser.add_argument("--quiet", action="store_true", help="print nothing when all is there, and no notes")
    parser.add_argument("--files", nargs="+", type=Path, help="check exactly these files")
    parser.add_argument("app_args", nargs="*", help="after --: the app's arguments (make run ARGS)")
    args = parser.parse_args(argv)
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))

    if args.files is None:
        window, why = opens_qt_window(args.app_args)
        if not window:
            say(f"check_system: nothing to check ({why}).")
            return 0
    if not sys.platform.startswith("linux"):
        say(f"check_system: not Linux ({sys.platform}): the Qt wheels bring what they need here; nothing to check.")
        return 0
    ldd = shutil.which("ldd")
    if ldd is None:
        say("check_system: no `ldd` on this machine, so the system libraries cannot be checked; skipped.")
        return 0

    base = None
    if args.files is not None:
        what, required, recommended = "the given files", list(args.files), []
    else:
        base = pyqt6_folder()
        if base is None:
            say("check_system: PyQt6 is not installed in this Python (make setup installs it); nothing to check.")
            return 0
        what, required_names, recommended_names = plan(args.mode, dict(os.environ))
        required = [base / name for name in required_names]
        recommended = [base / name for name in recommended_names if name not in required_names]
        absent = [str(p) for p in required if not p.exists()]
        if absent:
            say("check_system: note: not in this PyQt6 install (a different Qt version?): " + ", ".join(absent))

    missing = missing_libraries(ldd, required)
    if args.files is None and not has_a_font():
        missing[NO_FONT] = "fontconfig"
    optional = {k: v for k, v in missing_libraries(ldd, recommended).items() if k not in missing}

    if optional and not args.quiet:
        lines, packages = describe(optional, base)
        headline = ("a desktop session would also need" if what.startswith("no display")
                    else "recommended (Wayland), missing")
        say(f"check_system: note: {headline}:\n" + "\n".join(lines)
            + (f"\n  (sudo apt-get install {' '.join(packages)})" if packages else ""))
    if not missing:
        if not args.quiet:
            say(f"check_system: the window's system libraries are all there ({what}).")
        return 0

    lines, packages = describe(missing, base)
    level = "warning" if args.warn else "error"
    print(f"check_system: {level}: the window (Qt WebEngine, {what}) needs system libraries that "
          "pip cannot install, and these are missing:\n" + "\n".join(lines), file=sys.stderr)
    if packages:
        print("Install them (Debian/Ubuntu) with:", file=sys.stderr)
        print(f"sudo apt-get install {' '.join(packages)}", flush=True)
    print("The command line (status, migrate, rollback, cleanup) works without them.", file=sys.stderr)
    return 0 if args.warn else 1


if __name__ == "__main__":
    raise SystemExit(main())

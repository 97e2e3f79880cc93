/// The programs a desktop runs inside its session (all in the jail, as the session's user).
enum DesktopScripts {
    /// A command line word for bash, literally.
    static func quoted(_ word: String) -> String { "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" }

    static func startDisplay(_ info: DesktopInfo) -> String {
        "exec Xvfb \(info.display) -screen 0 \(info.width)x\(info.height)x\(info.depth) -nolisten tcp -noreset > /tmp/.corral-xvfb.log 2>&1"
    }

    static let displayLog = "tail -c 1500 /tmp/.corral-xvfb.log 2>/dev/null"

    /// A small window manager (title bars, moving, raising): programs that expect one place their
    /// windows and take the focus as on a real desktop.
    /// Its settings: a new window goes where the program asked or anywhere (twm's default is to wait
    /// for a click that places it, which no agent would know to give); fonts xfonts-base has (twm's
    /// default "variable" is not there, and twm exits without it).
    static let startWindowManager = "printf '%s\\n' 'RandomPlacement' 'UsePPosition \"on\"' 'NoGrabServer' 'DecorateTransients' "
        + "'TitleFont \"fixed\"' 'ResizeFont \"fixed\"' 'MenuFont \"fixed\"' 'IconFont \"fixed\"' 'IconManagerFont \"fixed\"' "
        + "> /tmp/.corral-twmrc && exec twm -f /tmp/.corral-twmrc > /tmp/.corral-twm.log 2>&1"

    /// The port of the desktop's VNC server, on the jail's own loopback (its network namespace):
    /// never a host port; Corral reaches it from inside the namespace (`SessionJail.connectLoopback`).
    static let viewerPort: UInt16 = 5900

    /// x11vnc serving the display to every viewer Corral connects (shared, no password: only Corral
    /// reaches it, behind its own key or a signed link; view-only viewers are enforced by Corral).
    static func startViewer(_ info: DesktopInfo) -> String {
        "exec x11vnc -display \(info.display) -rfbport \(viewerPort) -localhost -shared -forever -nopw -noxdamage "
            + "-noxrecord -nowf -quiet -o /tmp/.corral-x11vnc.log"
    }

    static let viewerLog = "tail -c 1500 /tmp/.corral-x11vnc.log 2>/dev/null"

    /// Prints the keysym names among its arguments that X does not know.
    static let unknownKeys = """
    import ctypes, sys
    x = ctypes.CDLL("libX11.so.6")
    x.XStringToKeysym.restype = ctypes.c_ulong
    x.XStringToKeysym.argtypes = [ctypes.c_char_p]
    print("\\n".join(k for k in sys.argv[1:] if x.XStringToKeysym(k.encode()) == 0))
    """

    /// `xwd -root` on stdin to PNG on stdout; arguments: x y width height scale (a region, 0 for
    /// "to the edge", scaled down by a whole factor).
    static let xwdToPNG = """
    import struct, sys, zlib
    data = sys.stdin.buffer.read()
    (header, _, fmt, _, width, height, _, byte_order, _, _, _, bpp, bpl, _, rmask, gmask, bmask, _, _, ncolors) = struct.unpack(">20I", data[:80])
    if bpp != 32 or fmt != 2:
        sys.exit("unsupported framebuffer: %d bits per pixel, format %d" % (bpp, fmt))
    offset = header + ncolors * 12
    x, y, w, h, scale = (int(v) for v in sys.argv[1:6])
    w = min(w or width, width - x)
    h = min(h or height, height - y)
    order = "<" if byte_order == 0 else ">"
    shift = lambda m: (m & -m).bit_length() - 1
    rs, gs, bs = shift(rmask), shift(gmask), shift(bmask)
    rows = []
    for row in range(y, y + h, scale):
        pixels = struct.unpack_from(order + "%dI" % width, data, offset + row * bpl)
        line = bytearray(b"\\0")
        for p in pixels[x:x + w:scale]:
            line += bytes(((p & rmask) >> rs, (p & gmask) >> gs, (p & bmask) >> bs))
        rows.append(bytes(line))
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xffffffff)
    out_w = len(range(x, x + w, scale))
    sys.stdout.buffer.write(b"\\x89PNG\\r\\n\\x1a\\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", out_w, len(rows), 8, 2, 0, 0, 0))
                            + chunk(b"IDAT", zlib.compress(b"".join(rows), 6)) + chunk(b"IEND", b""))
    """

    static func screenshot(_ region: DesktopRegion) -> String {
        "set -o pipefail; xwd -root -silent | python3 -I -c \(quoted(xwdToPNG)) \(region.x) \(region.y) \(region.width) \(region.height) \(region.scale) | base64 -w0"
    }

    /// Every window of the display with its absolute position (xwininfo's tree).
    static let windows = "xwininfo -root -tree"
}

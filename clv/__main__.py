import signal
import sys

from .cli import main, stop

# SIGTERM (`kill`, a scheduler's time limit) and Ctrl-C stop the run cleanly: see clv.cli.stop
signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)
sys.exit(main())

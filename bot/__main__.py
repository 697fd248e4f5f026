"""`python -m bot` runs the App's command line (serve by default)."""

import sys

from bot.cli import main

sys.exit(main())

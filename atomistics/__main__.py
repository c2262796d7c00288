import sys

from atomistics.cli import main

sys.exit(main())

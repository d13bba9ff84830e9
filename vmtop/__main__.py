import sys

from vmtop.cli import main

sys.exit(main())

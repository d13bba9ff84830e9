import sys

from vmtop.entry import main

sys.exit(main())

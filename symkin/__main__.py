import sys

from symkin.cli import main

sys.exit(main())

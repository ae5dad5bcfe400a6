import sys

from station.app import main

sys.exit(main())

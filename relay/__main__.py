import sys

from relay.app import main

sys.exit(main())

import sys

from listener.app import main

sys.exit(main())

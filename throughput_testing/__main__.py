import sys

from throughput_testing.app import main

sys.exit(main())

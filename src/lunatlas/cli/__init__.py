"""The ``lunatlas`` command line (click). Commands only wire library calls together."""

"""Tools around SRO Connect that never run in production: the Bot API emulator, the local demo,
the benchmarks, the NLU evaluation and the generated conversation doc. Not part of the wheel."""

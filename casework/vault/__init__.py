"""Keys and cryptography: the key ring, the one crypto façade, sealing, re-keying, access,
and the directory's MACs."""

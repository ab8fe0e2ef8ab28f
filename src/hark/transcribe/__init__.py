"""``hark transcribe``: the command (``command``), its local and remote modes, media, formats."""

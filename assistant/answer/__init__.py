"""Ask time, one module per step in the order they run: ``condense`` (a follow-up made
standalone), ``retrieve`` (search), ``evidence`` (the sentences that answer), ``prompts``,
``generate/``, ``cite`` (check, repair, drop, renumber), ``adequacy`` (does a sentence answer the
question), ``refusal`` and ``pipeline`` (the four steps in order)."""

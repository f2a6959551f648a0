"""The text toolkit: each small grammar the assistant relies on, defined once.

- :mod:`.cjk`: which characters are CJK ideographs, CJK text, or content characters;
- :mod:`.language`: whether a question is Chinese or English;
- :mod:`.markers`: the ``[n]`` citation-marker grammar;
- :mod:`.sentences`: sentence and clause splitting;
- :mod:`.words`: normalisation, character bigrams, stop words, jieba tokens, named items, place names;
- :mod:`.figures`: figures (numbers with units) and "does this clause state the asked figure".

The eval judge (``assistant/evaluation/judge.py``) keeps its own copies on purpose.
"""
